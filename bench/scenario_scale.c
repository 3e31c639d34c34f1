/*
 * scenario scale: --connections authenticated sockets held across a
 * cluster (or one chatd), more than one process may hold, spread over
 * --processes generator processes (scale.h); all of them join one channel
 * (a big one: joins are not pushed to everyone), then one message to it and
 * the time until the last socket has it.
 *
 * The coordinator (this process) owns one more user, the channel's creator
 * and the message's sender, over a blocking client (net/client.h): it
 * creates the channel, forks the workers, steps them through login,
 * connect, join, waits --hold seconds (a cluster's chat servers re-read a
 * channel's members after --cache-ttl-ms, 5 s by default), sends the
 * message and collects when each worker's sockets got it. With
 * --server-pid PID@PORT for each chat server it reports each one's RSS
 * growth per socket it holds (RSS with every socket up less RSS after the
 * logins, before any socket).
 *
 * With --db (the cluster's PostgreSQL, pg:CONNINFO) the users and their
 * membership are seeded instead (seed.h, population "N:1:0:1:0": one big
 * channel of all N users), and there is no join step: user 0, the
 * channel's creator, sends the message. That is for a cluster, where a
 * join_channel costs the joining server a re-read of the channel's whole
 * member list (and every other chat server one more, on the membership
 * event), so N joins cost O(N^2) there.
 */
#define _GNU_SOURCE /* memmem */
#include "bench.h"
#include "scale.h"
#include "seed.h"
#include "seed_db.h"
#include "stats.h"
#include "users.h"

#include "net/client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_PROCESS 16000
#define WAIT_MS 30000

typedef struct child {
    pid_t pid;
    int to, from; /* pipe ends: commands out, lines in */
    char buf[SCALE_LINE];
    size_t len;
    char *reply; /* the line of the step waited for (malloc'd) */
} child;

typedef struct coord {
    const bench_opts *o;
    child *c;
    int n;
    wsc *owner;
    uint64_t echo_ns; /* when the sender's own echo arrived */
} coord;

/* ---- the sender: a blocking client ---- */

static json_t *post(const bench_opts *o, const char *path, const char *name, int *status) {
    char body[256];
    int len =
        snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, o->password);
    client_response r;
    *status = 0;
    if (client_http_request(NULL, o->host, o->port, "POST", path, body, (size_t)len, 10000, &r) < 0)
        return NULL;
    *status = r.status;
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    client_response_free(&r);
    return j;
}

/* Waits (up to ms) for a frame holding needle; returns it (malloc'd) or NULL. */
static char *await_frame(wsc *w, const char *needle, int ms) {
    uint64_t end = bench_now_ns() + (uint64_t)ms * 1000000u;
    while (bench_now_ns() < end) {
        wsc_msg m;
        int rc = wsc_recv(w, 100, &m);
        if (rc < 0) return NULL;
        if (rc == 0) continue;
        if (m.opcode == 1 && strstr(m.data, needle)) return m.data;
        wsc_msg_free(&m);
    }
    return NULL;
}

/* Logs the sender in and dials its chat server; unless channel is given
 * (seeded), creates the channel and writes its id. 0 or -1 after a message. */
static int open_sender(coord *k, char channel[40]) {
    const bench_opts *o = k->o;
    char name[40];
    if (channel[0])
        users_name(name, sizeof name, o->prefix, 0);
    else
        snprintf(name, sizeof name, "%sowner", o->prefix);
    int st;
    json_decref(post(o, "/register", name, &st));
    json_t *a = post(o, "/auth", name, &st);
    const char *tok = json_string_value(json_object_get(a, "sessionToken"));
    json_t *chat = json_object_get(json_object_get(a, "servers"), "chat");
    const char *host = json_string_value(json_object_get(chat, "host"));
    json_t *pv = json_object_get(chat, "port");
    int port = json_is_string(pv) ? atoi(json_string_value(pv)) : (int)json_integer_value(pv);
    char path[1024];
    snprintf(path, sizeof path, "/chat?token=%s", tok ? tok : "");
    k->owner = tok ? wsc_connect(NULL, host ? host : o->host, port > 0 ? port : o->port, path, NULL,
                                 10000, &st)
                   : NULL;
    json_decref(a);
    if (!k->owner) {
        bench_log("scale: the sender could not log in or connect (HTTP %d)", st);
        return -1;
    }
    char *f = await_frame(k->owner, "\"channels_list\"", 10000);
    free(f);
    if (channel[0]) return f ? 0 : -1;
    char req[200];
    int len = snprintf(req, sizeof req,
                       "{\"type\":\"create_channel\",\"name\":\"%s-everyone\",\"participants\":[]}",
                       o->prefix);
    f = f && wsc_send_text(k->owner, req, (size_t)len) == 0
            ? await_frame(k->owner, "\"channel_created\"", 10000)
            : NULL;
    const char *id = f ? strstr(f, "\"channel_id\":\"") : NULL;
    if (id) snprintf(channel, 40, "%.36s", id + 14);
    free(f);
    if (!id) bench_log("scale: the channel could not be created");
    return id ? 0 : -1;
}

/* Reads what the sender got (pings answered); notes the echo. */
static void drain_sender(coord *k) {
    wsc_msg m;
    while (k->owner && wsc_recv(k->owner, 0, &m) == 1) {
        if (!k->echo_ns && m.opcode == 1 && strstr(m.data, "\"content\":\"T"))
            k->echo_ns = bench_now_ns();
        wsc_msg_free(&m);
    }
}

/* The seeded alternative to joins: N users, one channel of all of them
 * (seed.h); writes the channel's id. The seed's JSON, or NULL. */
static json_t *seed_members(const bench_opts *o, size_t n, char channel[40]) {
    char pop[64];
    snprintf(pop, sizeof pop, "%zu:1:0:1:0", n);
    seed_plan p;
    if (seed_plan_init(&p, o->prefix, pop, "0:0") != 0) return NULL;
    seed_channel c;
    seed_channel_at(&p, 0, &c);
    snprintf(channel, 40, "%s", c.id);
    json_t *r = json_object();
    if (seed_run(o->db, o->prefix, o->password, pop, "0:0", r) == 0) return r;
    json_decref(r);
    return NULL;
}

/* ---- the workers ---- */

static void tell(coord *k, int i, const char *line) {
    size_t n = strlen(line);
    if (k->c[i].to < 0 || write(k->c[i].to, line, n) != (ssize_t)n ||
        write(k->c[i].to, "\n", 1) != 1) {
        close(k->c[i].to);
        k->c[i].to = -1;
    }
}

static void tell_all(coord *k, const char *line) {
    for (int i = 0; i < k->n; i++)
        tell(k, i, line);
}

/* Collects each worker's next line starting with word (into reply) until
 * all have answered or ms passed; returns how many answered. keep: the
 * replies already there count (a second call for late workers). */
static int await_all(coord *k, const char *word, int ms, int keep) {
    size_t wl = strlen(word);
    int have = 0;
    for (int i = 0; i < k->n; i++) {
        if (keep && k->c[i].reply) {
            have++;
            continue;
        }
        free(k->c[i].reply);
        k->c[i].reply = NULL;
    }
    uint64_t end = bench_now_ns() + (uint64_t)ms * 1000000u;
    while (have < k->n && bench_now_ns() < end) {
        struct pollfd p[BENCH_MAX_SERVERS * 4];
        for (int i = 0; i < k->n; i++)
            p[i] = (struct pollfd){k->c[i].from, POLLIN, 0};
        drain_sender(k);
        if (poll(p, (nfds_t)k->n, 50) <= 0) continue;
        for (int i = 0; i < k->n; i++) {
            child *c = &k->c[i];
            if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
            ssize_t r = read(c->from, c->buf + c->len, sizeof c->buf - 1 - c->len);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) { /* the worker is gone: say how, once */
                int st = 0;
                usleep(100000);
                pid_t w = waitpid(c->pid, &st, WNOHANG);
                bench_log("scale: worker %d (pid %d) is gone (%s %d)", i, (int)c->pid,
                          w != c->pid       ? "still running"
                          : WIFSIGNALED(st) ? "signal"
                                            : "exit",
                          w != c->pid       ? 0
                          : WIFSIGNALED(st) ? WTERMSIG(st)
                                            : WEXITSTATUS(st));
                close(c->from);
                c->from = -1;
                if (!c->reply) c->reply = strdup("gone"), have++;
                continue;
            }
            c->len += (size_t)r;
            char *nl;
            while ((nl = memchr(c->buf, '\n', c->len))) {
                *nl = '\0';
                if (!c->reply && strncmp(c->buf, word, wl) == 0 && c->buf[wl] == ' ') {
                    c->reply = strdup(c->buf + wl + 1);
                    have++;
                }
                size_t used = (size_t)(nl + 1 - c->buf);
                memmove(c->buf, nl + 1, c->len - used);
                c->len -= used;
            }
        }
    }
    return have;
}

/* Sum of field f (0-based, numbers) over the replies. */
static unsigned long long sum_field(coord *k, int f) {
    unsigned long long s = 0;
    for (int i = 0; i < k->n; i++) {
        const char *p = k->c[i].reply;
        for (int j = 0; p && j < f; j++)
            p = strchr(p, ' '), p = p ? p + 1 : NULL;
        if (p) s += strtoull(p, NULL, 10);
    }
    return s;
}

static int start_workers(coord *k, size_t total) {
    size_t per = (total + (size_t)k->n - 1) / (size_t)k->n;
    fflush(NULL);
    for (int i = 0; i < k->n; i++) {
        int down[2], up[2];
        if (pipe(down) < 0 || pipe(up) < 0) return -1;
        size_t first = (size_t)i * per, n = first >= total        ? 0
                                            : total - first < per ? total - first
                                                                  : per;
        pid_t pid = fork();
        if (pid < 0) return -1;
        if (pid == 0) {
            close(down[1]);
            close(up[0]);
            for (int j = 0; j < i; j++)
                close(k->c[j].to), close(k->c[j].from);
            if (k->owner) close(wsc_fd(k->owner));
            _exit(scale_worker_main(k->o, first, n, down[0], up[1]));
        }
        close(down[0]);
        close(up[1]);
        k->c[i].pid = pid;
        k->c[i].to = down[1];
        k->c[i].from = up[0];
    }
    return 0;
}

/* ---- figures ---- */

/* Sockets each chat server port holds, from the "up" replies. */
static size_t sockets_on(coord *k, int port) {
    size_t n = 0;
    for (int i = 0; i < k->n; i++) {
        const char *p = k->c[i].reply;
        for (int f = 0; p && f < 2; f++)
            p = strchr(p, ' '), p = p ? p + 1 : NULL;
        while (p && *p && *p != '-') {
            int pt = atoi(p);
            const char *colon = strchr(p, ':');
            if (!colon) break;
            if (pt == port) n += strtoull(colon + 1, NULL, 10);
            p = strchr(colon, ',');
            p = p ? p + 1 : NULL;
        }
    }
    return n;
}

static json_t *servers_json(coord *k, const long *rss0) {
    const bench_opts *o = k->o;
    json_t *a = json_array();
    for (int i = 0; i < o->nservers; i++) {
        long rss1 = bench_rss_kib(o->server_pids[i]);
        size_t socks = o->server_ports[i] ? sockets_on(k, o->server_ports[i]) : 0;
        json_t *s = json_pack("{s:i,s:i}", "pid", o->server_pids[i], "port", o->server_ports[i]);
        json_object_set_new(s, "sockets", json_integer((json_int_t)socks));
        json_object_set_new(s, "rss_before_kib",
                            rss0[i] >= 0 ? json_integer(rss0[i]) : json_null());
        json_object_set_new(s, "rss_up_kib", rss1 >= 0 ? json_integer(rss1) : json_null());
        json_object_set_new(s, "rss_per_socket_bytes",
                            socks && rss0[i] >= 0 && rss1 >= 0
                                ? json_real((double)(rss1 - rss0[i]) * 1024.0 / (double)socks)
                                : json_null());
        json_array_append_new(a, s);
    }
    return a;
}

/* Merges the "got" replies: deliveries, the last arrival, latencies. */
static void deliveries_json(coord *k, json_t *r, uint64_t t_send, unsigned long long joined) {
    stats_hist *all = calloc(1, sizeof *all), *one = calloc(1, sizeof *one);
    unsigned long long got = 0, last = 0, errors = 0;
    for (int i = 0; all && one && i < k->n; i++) {
        unsigned long long g, l, e;
        int used = 0;
        const char *p = k->c[i].reply;
        if (!p || sscanf(p, "%llu %llu %llu %n", &g, &l, &e, &used) != 3) continue;
        got += g;
        errors += e;
        if (l > last) last = l;
        if (stats_from_text(one, p + used) == 0) stats_merge(all, one);
    }
    json_object_set_new(r, "deliveries", json_integer((json_int_t)got));
    json_object_set_new(r, "missing", json_integer((json_int_t)(joined > got ? joined - got : 0)));
    json_object_set_new(r, "errors", json_integer((json_int_t)errors));
    json_object_set_new(r, "last_delivery_ms",
                        got && last > t_send ? json_real((double)(last - t_send) / 1e6)
                                             : json_null());
    json_object_set_new(r, "sender_echo_ms",
                        k->echo_ns ? json_real((double)(k->echo_ns - t_send) / 1e6) : json_null());
    json_t *lat = json_object();
    if (all) bench_latency_json(lat, all);
    json_object_set_new(r, "delivery_latency", lat);
    free(all);
    free(one);
}

static double step(coord *k, json_t *r, const char *cmd, const char *word, const char *key,
                   int keep) {
    double t0 = bench_now_s();
    if (cmd) tell_all(k, cmd);
    int have = await_all(k, word, (int)(k->o->setup_timeout * 1000), keep);
    double s = bench_now_s() - t0;
    json_object_set_new(r, key, json_real(s));
    if (have < k->n)
        bench_log("scale: %d of %d workers did not answer \"%s\"", k->n - have, k->n, word);
    return s;
}

json_t *scenario_scale(const bench_opts *o) {
    size_t total = (size_t)o->connections;
    coord k = {.o = o};
    k.n = o->processes > 0 ? o->processes : (int)((total + PER_PROCESS - 1) / PER_PROCESS);
    if (k.n < 1 || k.n > BENCH_MAX_SERVERS * 4) {
        bench_log("scale: --processes must be 1..%d", BENCH_MAX_SERVERS * 4);
        return NULL;
    }
    k.c = calloc((size_t)k.n, sizeof *k.c);
    char channel[40] = "";
    json_t *seeded = o->db ? seed_members(o, total, channel) : NULL;
    if (!k.c || (o->db && !seeded) || open_sender(&k, channel) < 0 ||
        start_workers(&k, total) < 0) {
        json_decref(seeded);
        if (k.owner) wsc_close(k.owner, 1000);
        free(k.c);
        return NULL;
    }
    json_t *r = bench_result(o);
    json_object_set_new(r, "processes", json_integer(k.n));
    json_object_set_new(r, "connections_requested", json_integer((json_int_t)total));
    json_object_set_new(r, "membership", json_string(seeded ? "seeded" : "joined"));
    if (seeded) json_object_set_new(r, "seed", seeded);

    step(&k, r, NULL, "login", "login_s", 0);
    json_object_set_new(r, "logged_in", json_integer((json_int_t)sum_field(&k, 0)));
    long rss0[BENCH_MAX_SERVERS];
    for (int i = 0; i < o->nservers; i++)
        rss0[i] = bench_rss_kib(o->server_pids[i]);
    step(&k, r, "connect", "up", "connect_s", 0);
    unsigned long long up = sum_field(&k, 0);
    json_object_set_new(r, "connections_up", json_integer((json_int_t)up));
    json_object_set_new(r, "connects_per_s",
                        json_real((double)up / json_real_value(json_object_get(r, "connect_s"))));
    json_object_set_new(r, "servers", servers_json(&k, rss0));
    char cmd[64];
    snprintf(cmd, sizeof cmd, "join %s", seeded ? "-" : channel); /* "-": members already */
    step(&k, r, cmd, "joined", "join_s", 0);
    unsigned long long joined = sum_field(&k, 0);
    json_object_set_new(r, "joined", json_integer((json_int_t)joined));
    json_object_set_new(r, "join_failed", json_integer((json_int_t)sum_field(&k, 1)));
    json_object_set_new(r, "channel_members",
                        json_integer((json_int_t)(seeded ? total : joined + 1)));

    for (double end = bench_now_s() + o->hold; bench_now_s() < end;) {
        drain_sender(&k);
        usleep(50000);
    }
    char msg[256];
    uint64_t t_send = bench_now_ns();
    int len = snprintf(msg, sizeof msg,
                       "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"T%llu:0:"
                       "one message to everyone\"}",
                       channel, (unsigned long long)t_send);
    wsc_send_text(k.owner, msg, (size_t)len);
    /* each worker says when all its sockets have it; the late ones are asked */
    if (await_all(&k, "got", WAIT_MS, 0) < k.n) step(&k, r, "report", "got", "report_s", 1);
    deliveries_json(&k, r, t_send, joined);

    tell_all(&k, "close");
    for (int i = 0; i < k.n; i++) {
        close(k.c[i].to);
        close(k.c[i].from);
        free(k.c[i].reply);
        int st;
        for (int t = 0; t < 300 && waitpid(k.c[i].pid, &st, WNOHANG) == 0; t++)
            usleep(100000);
        if (kill(k.c[i].pid, 0) == 0) {
            kill(k.c[i].pid, SIGKILL);
            waitpid(k.c[i].pid, &st, 0);
        }
    }
    wsc_close(k.owner, 1000);
    free(k.c);
    return r;
}
