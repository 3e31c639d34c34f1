/*
 * scenario loopback: what the kernel charges for one delivery on this
 * machine, with no chat server at all. It is the floor under every fan-out
 * latency figure: a server that writes a message to M member sockets pays
 * M times this, whatever its own code costs.
 *
 * One thread writes frame-sized records to --members loopback TCP sockets
 * (TCP_NODELAY, as chatd's sockets), one socket after another, paced at
 * 50 rounds a second so nothing queues; another thread reads them all
 * with epoll. The writer's own CPU time (RUSAGE_THREAD: on loopback the
 * receiver's TCP processing runs in the writer's system call) divided by
 * the writes is the cost of one unbatched delivery. The same is measured
 * with 10 frames in one write, which is what a busy server's per-socket
 * queue gives it.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { ROUNDS_PER_S = 50, BATCH = 10 };

typedef struct reader {
    int epfd;
    volatile int stop;
} reader;

static void *read_all(void *arg) {
    reader *r = arg;
    struct epoll_event ev[256];
    static char buf[1 << 16];
    while (!r->stop) {
        int n = epoll_wait(r->epfd, ev, 256, 50);
        for (int i = 0; i < n; i++)
            while (read(ev[i].data.fd, buf, sizeof buf) > 0) {
            }
    }
    return NULL;
}

static double thread_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Connects n socket pairs over 127.0.0.1; w[i] is the accepted (server)
 * side, r[i] the client side, non-blocking and registered with epfd. */
static int pairs(int n, int *w, int *r, int epfd) {
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) < 0) {
        if (ls >= 0) close(ls);
        return -1;
    }
    int one = 1, rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        r[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (r[i] < 0 || connect(r[i], (struct sockaddr *)&a, sizeof a) < 0 ||
            (w[i] = accept(ls, NULL, NULL)) < 0) {
            rc = -1;
            break;
        }
        setsockopt(w[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = r[i]};
        fcntl(r[i], F_SETFL, fcntl(r[i], F_GETFL) | O_NONBLOCK);
        epoll_ctl(epfd, EPOLL_CTL_ADD, r[i], &ev);
    }
    close(ls);
    return rc;
}

/* Writes `frames` frames of `size` bytes in one write to each socket per
 * round, for `seconds`; returns the writer's CPU µs per frame, or -1. */
static double measure(const int *w, int n, size_t size, int frames, double seconds) {
    size_t len = size * (size_t)frames;
    char *buf = malloc(len);
    if (!buf) return -1;
    memset(buf, 'x', len);
    int rounds = (int)(seconds * ROUNDS_PER_S);
    double t0 = bench_now_s(), c0 = thread_cpu_s();
    long writes = 0;
    for (int k = 0; k < rounds; k++) {
        double due = t0 + (double)k / ROUNDS_PER_S;
        while (bench_now_s() < due)
            usleep(200);
        for (int i = 0; i < n; i++)
            if (write(w[i], buf, len) == (ssize_t)len) writes++;
        bench_progress("loopback: %d frame(s) per write, round %d/%d", frames, k + 1, rounds);
    }
    double cpu = thread_cpu_s() - c0;
    free(buf);
    bench_progress_done();
    return writes ? cpu * 1e6 / ((double)writes * frames) : -1;
}

json_t *scenario_loopback(const bench_opts *o) {
    int n = o->members;
    size_t size = (size_t)o->content_bytes + 160; /* a chat_message frame around that content */
    int *w = calloc((size_t)n, sizeof *w), *r = calloc((size_t)n, sizeof *r);
    reader rd = {.epfd = epoll_create1(0)};
    pthread_t th;
    json_t *res = NULL;
    for (int i = 0; w && r && i < n; i++)
        w[i] = r[i] = -1;
    if (!w || !r || rd.epfd < 0 || pairs(n, w, r, rd.epfd) < 0) {
        bench_log("loopback: could not connect %d socket pairs: %s", n, strerror(errno));
        goto out;
    }
    if (pthread_create(&th, NULL, read_all, &rd) != 0) {
        bench_log("loopback: no reader thread");
        goto out;
    }
    double one = measure(w, n, size, 1, o->duration);
    double batched = measure(w, n, size, BATCH, o->duration);
    rd.stop = 1;
    pthread_join(th, NULL);
    res = json_object();
    json_object_set_new(res, "scenario", json_string("loopback"));
    json_object_set_new(res, "sockets", json_integer(n));
    json_object_set_new(res, "frame_bytes", json_integer((json_int_t)size));
    json_object_set_new(res, "us_per_delivery_unbatched", json_real(one));
    json_object_set_new(res, "us_per_delivery_batched", json_real(batched));
    json_object_set_new(res, "batch_frames", json_integer(BATCH));
    json_object_set_new(res, "fanout_write_ms", json_real(one * n / 1000.0));
    json_object_set_new(res, "unbatched_deliveries_per_core_s", json_real(one > 0 ? 1e6 / one : 0));
out:
    for (int i = 0; w && r && i < n; i++) {
        if (w[i] >= 0) close(w[i]);
        if (r[i] >= 0) close(r[i]);
    }
    if (rd.epfd >= 0) close(rd.epfd);
    free(w);
    free(r);
    return res;
}
