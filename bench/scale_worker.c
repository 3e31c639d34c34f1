/*
 * scale_worker: one generator process of scenario scale (see scale.h):
 * logs its users in (each /auth names the chat server to dial), opens their
 * sockets, joins them to the channel with a window of joins in flight, and
 * records when each socket gets the message. The control pipe is watched
 * by the same libuv loop as the sockets, so they stay served (pings
 * answered) however long the other workers take.
 */
#define _GNU_SOURCE /* memmem */
#include "scale.h"

#include "dial.h"
#include "users.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOINS_IN_FLIGHT 256

enum { S_JOIN_SENT = 1, S_JOINED = 2, S_GOT = 4 };
enum { P_LOGIN, P_CONNECT, P_JOIN, P_WAIT, P_DONE };

typedef struct worker {
    const bench_opts *o;
    dial_set d;
    char **tokens;
    struct sockaddr_in *at;
    size_t n;
    uint8_t *st;
    int phase, in, out, closing, reported;
    char channel[40];
    size_t next_join, inflight, joined, join_failed;
    uint64_t got, errors, last_ns;
    stats_hist lat;
    uv_poll_t ctl;
    uv_timer_t check;
    char line[SCALE_LINE];
    size_t llen;
} worker;

static void say(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(worker *w, const char *fmt, ...) {
    char buf[SCALE_LINE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof buf - 1) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t k = write(w->out, buf + off, (size_t)(n - off));
        if (k <= 0) return;
        off += (int)k;
    }
}

static void pump_joins(worker *w) {
    char frame[128];
    int len = snprintf(frame, sizeof frame, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}",
                       w->channel);
    while (w->inflight < JOINS_IN_FLIGHT && w->next_join < w->n) {
        size_t i = w->next_join++;
        if (w->d.s[i].state != DIAL_UP) continue;
        if (wsconn_send_text(&w->d.s[i].ws, frame, (size_t)len) < 0) {
            w->join_failed++;
            continue;
        }
        w->st[i] |= S_JOIN_SENT;
        w->inflight++;
    }
}

static void on_frame(dial_set *d, size_t i, char *p, size_t n) {
    worker *w = d->data;
    const char *t = memmem(p, n, "\"content\":\"T", 12);
    if (t && memmem(p, n, "\"type\":\"chat_message\"", 21)) {
        if (w->st[i] & S_GOT) return; /* at-least-once: a repeat is no new delivery */
        uint64_t now = bench_now_ns(), sent = strtoull(t + 12, NULL, 10);
        w->st[i] |= S_GOT;
        w->got++;
        if (now > w->last_ns) w->last_ns = now;
        if (now >= sent) stats_record(&w->lat, now - sent);
        return;
    }
    int joined = memmem(p, n, "\"type\":\"channel_joined\"", 23) != NULL;
    int error = !joined && memmem(p, n, "\"type\":\"error\"", 14) != NULL;
    if (error) w->errors++;
    if ((joined || error) && (w->st[i] & S_JOIN_SENT) && !(w->st[i] & S_JOINED)) {
        w->st[i] |= S_JOINED;
        w->inflight--;
        if (joined)
            w->joined++;
        else
            w->join_failed++;
        pump_joins(w);
    }
}

static void report_up(worker *w) {
    char ports[SCALE_LINE / 2] = "";
    size_t len = 0;
    int seen[BENCH_MAX_SERVERS * 4] = {0};
    size_t count[BENCH_MAX_SERVERS * 4] = {0};
    int nports = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (w->d.s[i].state != DIAL_UP) continue;
        int port = ntohs(w->at[i].sin_port), k = 0;
        while (k < nports && seen[k] != port)
            k++;
        if (k == nports && nports < (int)(sizeof seen / sizeof seen[0])) seen[nports++] = port;
        if (k < nports) count[k]++;
    }
    for (int k = 0; k < nports && len + 32 < sizeof ports; k++)
        len += (size_t)snprintf(ports + len, sizeof ports - len, "%s%d:%zu", k ? "," : "", seen[k],
                                count[k]);
    if (w->d.up < w->n)
        bench_log("scale worker %d: %zu of %zu sockets did not come up (last HTTP status %d, last "
                  "error %s)",
                  (int)getpid(), w->n - w->d.up, w->n, w->d.last_http_status,
                  w->d.last_err ? uv_strerror(w->d.last_err) : "none");
    say(w, "up %zu %zu %s", w->d.up, w->n - w->d.up, len ? ports : "-");
}

static void report_got(worker *w) {
    if (w->reported) return;
    w->reported = 1;
    char *h = stats_to_text(&w->lat);
    say(w, "got %llu %llu %llu %s", (unsigned long long)w->got, (unsigned long long)w->last_ns,
        (unsigned long long)w->errors, h ? h : "0 0 0 0");
    free(h);
}

/* Advances when the current step is over (100 ms ticker). */
static void on_check(uv_timer_t *t) {
    worker *w = t->data;
    if (w->phase == P_CONNECT && dial_settled(&w->d)) {
        w->phase = P_WAIT; /* until "join" */
        report_up(w);
    } else if (w->phase == P_CONNECT) { /* where a connect phase that does not settle stands */
        bench_progress("scale worker %d: %zu up, %zu connecting, %zu queued, %zu waiting to retry, "
                       "%zu lost",
                       (int)getpid(), w->d.up, w->d.connecting, w->d.qlen, w->d.waiting, w->d.lost);
    } else if (w->phase == P_JOIN) {
        bench_progress("scale worker %d: %zu joined, %zu failed, %zu in flight, %zu to go",
                       (int)getpid(), w->joined, w->join_failed, w->inflight, w->n - w->next_join);
    }
    if (w->phase == P_JOIN && w->next_join >= w->n && w->inflight == 0) {
        w->phase = P_WAIT;
        say(w, "joined %zu %zu %llu", w->joined, w->join_failed, (unsigned long long)w->errors);
    } else if (w->phase == P_WAIT && w->joined && w->got >= w->joined) {
        report_got(w);
    }
}

static void on_line(worker *w, char *line) {
    if (strcmp(line, "connect") == 0) {
        w->phase = P_CONNECT;
        dial_open(&w->d, 0, w->n);
    } else if (strcmp(line, "join -") == 0) { /* seeded: every socket is a member */
        w->joined = w->d.up;
        w->phase = P_WAIT;
        say(w, "joined %zu 0 0", w->joined);
    } else if (strncmp(line, "join ", 5) == 0) {
        snprintf(w->channel, sizeof w->channel, "%s", line + 5);
        w->phase = P_JOIN;
        pump_joins(w);
    } else if (strcmp(line, "report") == 0) {
        report_got(w);
    } else if (strcmp(line, "close") == 0) {
        w->closing = 1;
        uv_stop(w->d.loop);
    }
}

static void on_ctl(uv_poll_t *h, int status, int events) {
    worker *w = h->data;
    ssize_t k = status < 0 ? -1 : read(w->in, w->line + w->llen, sizeof w->line - 1 - w->llen);
    if (k < 0 && status >= 0 && (errno == EAGAIN || errno == EINTR))
        return;   /* libuv made it non-blocking */
    if (k <= 0) { /* the coordinator is gone */
        w->closing = 1;
        uv_stop(w->d.loop);
        return;
    }
    w->llen += (size_t)k;
    char *nl;
    while ((nl = memchr(w->line, '\n', w->llen))) {
        *nl = '\0';
        on_line(w, w->line);
        size_t used = (size_t)(nl + 1 - w->line);
        memmove(w->line, nl + 1, w->llen - used);
        w->llen -= used;
    }
    if (w->llen == sizeof w->line - 1) w->llen = 0; /* an over-long line: drop it */
}

int scale_worker_main(const bench_opts *o, size_t first, size_t n, int ctl_in, int ctl_out) {
    /* the coordinator may have used the default loop (the seed opens the
     * store on it): its epoll instance must not be shared with the child */
    uv_loop_fork(uv_default_loop());
    worker *w = calloc(1, sizeof *w);
    if (!w) return 1;
    w->o = o;
    w->n = n;
    w->in = ctl_in;
    w->out = ctl_out;
    w->tokens = calloc(n, sizeof *w->tokens);
    w->at = calloc(n, sizeof *w->at);
    w->st = calloc(n, 1);
    if (!w->tokens || !w->at || !w->st || dial_init(&w->d, o, n, w->tokens, w->at, n) < 0) {
        say(w, "login 0 %zu", n);
        return 1;
    }
    w->d.data = w;
    w->d.on_frame = on_frame;
    users_result ur;
    users_login(w->d.loop, &o->dst, o->host, o->prefix, o->password, first, n, o->db != NULL,
                o->concurrency, o->setup_timeout, w->tokens, w->at, &ur);
    if (ur.failed)
        bench_log("scale worker %d: %zu of %zu users could not log in (last HTTP status %d)",
                  (int)getpid(), ur.failed, n, ur.last_status);
    say(w, "login %zu %zu", ur.ok, ur.failed);
    uv_poll_init(w->d.loop, &w->ctl, ctl_in);
    w->ctl.data = w;
    uv_poll_start(&w->ctl, UV_READABLE, on_ctl);
    uv_timer_init(w->d.loop, &w->check);
    w->check.data = w;
    uv_timer_start(&w->check, on_check, 100, 100);
    while (!w->closing)
        uv_run(w->d.loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&w->ctl, NULL);
    uv_close((uv_handle_t *)&w->check, NULL);
    dial_close_all(&w->d);
    dial_free(&w->d);
    for (size_t i = 0; i < n; i++)
        free(w->tokens[i]);
    free(w->tokens);
    free(w->at);
    free(w->st);
    free(w);
    return 0;
}
