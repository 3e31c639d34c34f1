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
#include "dial.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_started(dial_set *d) {
    bench_progress("connections: %zu/%zu up, %zu failed, %zu in flight", d->up, d->n, d->failed,
                   d->connecting);
    return dial_settled(d);
}

static double g_hold_until;
static int hold_over(dial_set *d) {
    bench_progress("connections: holding %zu, lost %zu, %.0f s left", d->up, d->lost,
                   g_hold_until - bench_now_s());
    return bench_now_s() >= g_hold_until;
}

json_t *scenario_connections(const bench_opts *o) {
    size_t n = (size_t)o->connections;
    size_t nusers = o->users > 0 && (size_t)o->users < n ? (size_t)o->users : n;
    json_t *r = bench_result(o);
    json_object_set_new(r, "connections_requested", json_integer((json_int_t)n));
    json_object_set_new(r, "users", json_integer((json_int_t)nusers));
    dial_set d;
    users_result ur = {0};
    if (dial_login(&d, o, n, nusers, 0, r, &ur) < 0 && !d.s) {
        bench_log("connections: out of memory");
        json_decref(r);
        return NULL;
    }
    if (ur.ok == 0)
        bench_log("connections: no user could log in (last HTTP status %d)", ur.last_status);

    long rss0 = o->server_pid > 0 ? bench_rss_kib(o->server_pid) : -1;
    double t0 = bench_now_s();
    dial_open(&d, 0, n);
    dial_run_until(&d, all_started, t0 + o->setup_timeout);
    double t_up = bench_now_s() - t0;
    bench_progress_done();
    if (d.failed)
        bench_log("connections: %zu failed (last HTTP status %d, last error %s)", d.failed,
                  d.last_http_status, d.last_err ? uv_strerror(d.last_err) : "none");
    size_t up = d.up;
    /* let the server finish what the last handshakes started before reading RSS */
    g_hold_until = bench_now_s() + 1.0;
    dial_run_until(&d, hold_over, g_hold_until);
    long rss1 = o->server_pid > 0 ? bench_rss_kib(o->server_pid) : -1;
    d.lost = 0;
    g_hold_until = bench_now_s() + o->hold;
    dial_run_until(&d, hold_over, g_hold_until);
    bench_progress_done();
    long rss2 = o->server_pid > 0 ? bench_rss_kib(o->server_pid) : -1;

    json_object_set_new(r, "connections_up", json_integer((json_int_t)up));
    json_object_set_new(r, "connections_failed", json_integer((json_int_t)d.failed));
    json_object_set_new(r, "lost_during_hold", json_integer((json_int_t)d.lost));
    json_object_set_new(r, "connect_s", json_real(t_up));
    json_object_set_new(r, "connects_per_s", json_real(t_up > 0 ? (double)up / t_up : 0));
    json_t *lat = json_object();
    bench_latency_json(lat, &d.lat);
    json_object_set_new(r, "connect_latency", lat);
    json_object_set_new(r, "hold_s", json_real(o->hold));
    json_object_set_new(r, "server_rss_before_kib", rss0 >= 0 ? json_integer(rss0) : json_null());
    json_object_set_new(r, "server_rss_up_kib", rss1 >= 0 ? json_integer(rss1) : json_null());
    json_object_set_new(r, "server_rss_end_kib", rss2 >= 0 ? json_integer(rss2) : json_null());
    if (rss0 >= 0 && rss1 >= 0 && up > 0)
        json_object_set_new(r, "rss_per_connection_bytes",
                            json_real((double)(rss1 - rss0) * 1024.0 / (double)up));
    else
        json_object_set_new(r, "rss_per_connection_bytes", json_null());

    dial_close_all(&d);
    dial_free(&d);
    return r;
}
