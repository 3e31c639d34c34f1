/*
 * scenario connections: N idle, authenticated WebSockets on /chat, held
 * for T seconds. A socket counts as up once the server's first frame
 * (channels_list) arrived: it passed auth and the server set it up.
 * Reports the connect rate and, with --server-pid, the server's resident
 * memory per connection: (VmRSS when all are up - VmRSS before) / N.
 * Users are logged in before the "before" reading, so user records do
 * not count against connections.
 */
#include "bench.h"
#include "users.h"
#include "wsconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct idle_conn {
    wsconn ws;
    uint8_t up, done;
} idle_conn;

typedef struct idle_set {
    const bench_opts *o;
    uv_loop_t *loop;
    idle_conn *c;
    char **tokens;
    size_t n, nusers, next, connecting, up, failed, lost;
    int holding, last_http_status, last_err;
} idle_set;

static void start_more(idle_set *s);

static void on_open(wsconn *w) {
    (void)w;
}

static void on_text(wsconn *w, char *p, size_t n) {
    idle_set *s = w->user;
    idle_conn *c = &s->c[w->id];
    if (c->up) return;
    c->up = 1;
    s->up++;
    s->connecting--;
    start_more(s);
}

static void on_close(wsconn *w, int err, int http_status) {
    idle_set *s = w->user;
    idle_conn *c = &s->c[w->id];
    if (c->done) return;
    c->done = 1;
    if (!c->up) {
        s->connecting--;
        s->failed++;
        if (http_status) s->last_http_status = http_status;
        if (err) s->last_err = err;
        start_more(s);
    } else if (s->holding) {
        s->lost++;
    }
}

static const wsconn_cbs CBS = {on_open, on_text, on_close};

static void start_more(idle_set *s) {
    while (s->connecting < (size_t)s->o->connect_window && s->next < s->n) {
        size_t i = s->next++;
        const char *tok = s->tokens[i % s->nusers];
        char path[1024];
        snprintf(path, sizeof path, "/chat?token=%s", tok ? tok : "");
        s->c[i].ws.user = s;
        s->c[i].ws.id = (uint32_t)i;
        int rc = wsconn_open(s->loop, &s->c[i].ws, &s->o->dst, bench_source(s->o, i), s->o->host,
                             path, &CBS);
        if (rc < 0) {
            s->c[i].done = 1;
            s->failed++;
            s->last_err = rc;
            continue;
        }
        s->connecting++;
    }
}

static void on_tick(uv_timer_t *t) {
    (void)t;
}

static void run_until(idle_set *s, int (*done)(idle_set *), double deadline) {
    while (!done(s) && bench_now_s() < deadline) uv_run(s->loop, UV_RUN_ONCE);
}

static int all_started(idle_set *s) {
    bench_progress("connections: %zu/%zu up, %zu failed, %zu in flight", s->up, s->n, s->failed,
                   s->connecting);
    return s->next >= s->n && s->connecting == 0;
}

static double g_hold_until;
static int hold_over(idle_set *s) {
    bench_progress("connections: holding %zu, lost %zu, %.0f s left", s->up - s->lost, s->lost,
                   g_hold_until - bench_now_s());
    return bench_now_s() >= g_hold_until;
}

static int all_closed(idle_set *s) {
    for (size_t i = 0; i < s->n; i++)
        if (s->c[i].ws.state != WSCONN_IDLE) return 0;
    return 1;
}

json_t *scenario_connections(const bench_opts *o) {
    idle_set s = {0};
    s.o = o;
    s.loop = uv_default_loop();
    s.n = (size_t)o->connections;
    s.nusers = o->users > 0 && (size_t)o->users < s.n ? (size_t)o->users : s.n;
    s.c = calloc(s.n, sizeof *s.c);
    s.tokens = calloc(s.nusers, sizeof *s.tokens);
    if (!s.c || !s.tokens) {
        bench_log("connections: out of memory");
        free(s.c);
        free(s.tokens);
        return NULL;
    }
    uv_timer_t tick;
    uv_timer_init(s.loop, &tick);
    uv_timer_start(&tick, on_tick, 100, 100);

    json_t *r = json_object();
    json_object_set_new(r, "scenario", json_string("connections"));
    json_object_set_new(r, "url", json_string(o->url));
    json_object_set_new(r, "connections_requested", json_integer((json_int_t)s.n));
    json_object_set_new(r, "users", json_integer((json_int_t)s.nusers));
    users_result ur;
    users_login(s.loop, &o->dst, o->host, o->prefix, o->password, 0, s.nusers, o->concurrency,
                o->setup_timeout, s.tokens, NULL, &ur);
    json_object_set_new(r, "login_s", json_real(ur.seconds));
    if (ur.ok == 0) bench_log("connections: no user could log in (last HTTP status %d)", ur.last_status);

    long rss0 = o->server_pid > 0 ? bench_rss_kib(o->server_pid) : -1;
    double t0 = bench_now_s();
    start_more(&s);
    run_until(&s, all_started, t0 + o->setup_timeout);
    double t_up = bench_now_s() - t0;
    bench_progress_done();
    if (s.failed) bench_log("connections: %zu failed (last HTTP status %d, last error %s)", s.failed,
                            s.last_http_status, s.last_err ? uv_strerror(s.last_err) : "none");
    /* let the server finish what the last handshakes started before reading RSS */
    double settle = bench_now_s() + 1.0;
    g_hold_until = settle;
    run_until(&s, hold_over, settle);
    long rss1 = o->server_pid > 0 ? bench_rss_kib(o->server_pid) : -1;

    s.holding = 1;
    g_hold_until = bench_now_s() + o->hold;
    run_until(&s, hold_over, g_hold_until);
    bench_progress_done();
    long rss2 = o->server_pid > 0 ? bench_rss_kib(o->server_pid) : -1;

    json_object_set_new(r, "connections_up", json_integer((json_int_t)s.up));
    json_object_set_new(r, "connections_failed", json_integer((json_int_t)s.failed));
    json_object_set_new(r, "lost_during_hold", json_integer((json_int_t)s.lost));
    json_object_set_new(r, "connect_s", json_real(t_up));
    json_object_set_new(r, "connects_per_s", json_real(t_up > 0 ? (double)s.up / t_up : 0));
    json_object_set_new(r, "hold_s", json_real(o->hold));
    json_object_set_new(r, "server_rss_before_kib", rss0 >= 0 ? json_integer(rss0) : json_null());
    json_object_set_new(r, "server_rss_up_kib", rss1 >= 0 ? json_integer(rss1) : json_null());
    json_object_set_new(r, "server_rss_end_kib", rss2 >= 0 ? json_integer(rss2) : json_null());
    if (rss0 >= 0 && rss1 >= 0 && s.up > 0)
        json_object_set_new(r, "rss_per_connection_bytes",
                            json_real((double)(rss1 - rss0) * 1024.0 / (double)s.up));
    else
        json_object_set_new(r, "rss_per_connection_bytes", json_null());

    s.holding = 0;
    for (size_t i = 0; i < s.n; i++) wsconn_close(&s.c[i].ws);
    run_until(&s, all_closed, bench_now_s() + 10);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(s.loop, UV_RUN_NOWAIT);
    for (size_t i = 0; i < s.nusers; i++) free(s.tokens[i]);
    free(s.tokens);
    free(s.c);
    return r;
}
