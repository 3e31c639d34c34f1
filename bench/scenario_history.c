/*
 * scenario history: what a connect costs a user whose channels hold a long
 * history — run against chatd on a seeded database (scenario seed, same
 * --prefix and --population), once without messages and once with, so the
 * two figures differ only in the history.
 *
 *   1. The --users measured users (the seed's first M) log in (/auth).
 *   2. --rounds bursts (after one unmeasured burst): all of them connect
 *      at once (one WebSocket each, no window) and the time from starting
 *      each TCP connect to the arrival of its channels_list is recorded;
 *      then they all close.
 *   3. --connections sockets over the same users, --connect-window
 *      handshakes in flight: connects/s (with auth: each handshake carries
 *      the JWT, which the server verifies, then reads the user's channels).
 *   4. With --db, a consistency check: for a few users, every entry of the
 *      channels_list chatd sent is compared with COUNTs over the stored rows
 *      (unread messages after the read mark, members, newest message id),
 *      and the list with the channels the seed put the user in.
 */
#define _GNU_SOURCE /* memmem */
#include "bench.h"
#include "dial.h"
#include "seed.h"
#include "seed_db.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES 4

typedef struct hist_run {
    size_t sample[SAMPLES]; /* user indexes whose list is checked */
    char *list[SAMPLES];    /* their first channels_list (malloc'd) */
} hist_run;

static void on_list(dial_set *d, size_t i, const char *p, size_t n) {
    hist_run *h = d->data;
    size_t u = d->s[i].user;
    for (int k = 0; k < SAMPLES; k++)
        if (h->sample[k] == u && !h->list[k]) h->list[k] = strndup(p, n);
}

static int settled(dial_set *d) {
    bench_progress("history: %zu/%zu up, %zu failed", d->up, d->n, d->failed);
    return dial_settled(d);
}

/* Number of a channels_list entry field that is a decimal string or an
 * integer; -1 when absent or null. */
static int64_t entry_num(json_t *e, const char *key) {
    json_t *v = json_object_get(e, key);
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
    return json_is_null(v) || !v ? 0 : -1;
}

/* Compares user u's channels_list with the database; adds to the check
 * object's counters, and keeps the first mismatch as text. */
static void check_user(const seed_plan *p, const seed_db_ops *ops, seed_db *db, size_t u,
                       const char *list, json_t *chk) {
    char name[40];
    users_name(name, sizeof name, p->prefix, u);
    json_t *j = json_loads(list, 0, NULL);
    json_t *chans = json_object_get(j, "channels");
    size_t want[1024];
    size_t nwant = seed_channels_of(p, u, want, 1024);
    int64_t entries = 0, bad = 0;
    char first[300] = "";
    if (json_array_size(chans) != nwant)
        snprintf(first, sizeof first, "%s: %zu channels listed, the seed gave %zu", name,
                 json_array_size(chans), nwant);
    bad += json_array_size(chans) != nwant;
    size_t i;
    json_t *e;
    json_array_foreach(chans, i, e) {
        const char *id = json_string_value(json_object_get(e, "channel_id"));
        if (!id) continue;
        entries++;
        int64_t got[3] = {entry_num(e, "unread_count"), entry_num(e, "member_count"),
                          entry_num(e, "last_message_id")};
        int64_t db_v[3] = {ops->count_unread(db, id, name), ops->count_members(db, id),
                           ops->newest_id(db, id)};
        static const char *const what[3] = {"unread_count", "member_count", "last_message_id"};
        for (int k = 0; k < 3; k++)
            if (got[k] != db_v[k]) {
                if (!first[0])
                    snprintf(first, sizeof first, "%s in %s: %s %lld, the database %lld", name, id,
                             what[k], (long long)got[k], (long long)db_v[k]);
                bad++;
            }
    }
    json_decref(j);
    json_object_set_new(chk, "users", json_integer(json_integer_value(json_object_get(chk, "users")) + 1));
    json_object_set_new(chk, "entries",
                        json_integer(json_integer_value(json_object_get(chk, "entries")) + entries));
    json_object_set_new(chk, "mismatches",
                        json_integer(json_integer_value(json_object_get(chk, "mismatches")) + bad));
    if (first[0] && !json_object_get(chk, "first_mismatch"))
        json_object_set_new(chk, "first_mismatch", json_string(first));
}

static json_t *check(const bench_opts *o, const seed_plan *p, hist_run *h) {
    const char *where;
    const seed_db_ops *ops = seed_db_for(o->db, &where);
    seed_db *db = ops ? ops->open(where, 0) : NULL;
    if (!db) return json_null();
    json_t *chk = json_pack("{s:i,s:i,s:i}", "users", 0, "entries", 0, "mismatches", 0);
    double t0 = bench_now_s();
    for (int k = 0; k < SAMPLES; k++) {
        int seen = 0;
        for (int i = 0; i < k; i++) seen |= h->sample[i] == h->sample[k];
        if (h->list[k] && !seen) check_user(p, ops, db, h->sample[k], h->list[k], chk);
    }
    json_object_set_new(chk, "seconds", json_real(bench_now_s() - t0));
    ops->close(db);
    return chk;
}

json_t *scenario_history(const bench_opts *o) {
    seed_plan p;
    if (seed_plan_init(&p, o->prefix, o->population, o->messages) != 0) return NULL;
    size_t nusers = (size_t)o->users, n = (size_t)o->connections;
    if (nusers < 1 || nusers > p.measured) {
        bench_log("history: --users must be 1..%zu (the seed's measured users)", p.measured);
        return NULL;
    }
    hist_run h = {{0, nusers / 3, 2 * nusers / 3, nusers - 1}, {0}};
    json_t *r = bench_result(o);
    json_object_set_new(r, "population", json_string(o->population));
    json_object_set_new(r, "users", json_integer((json_int_t)nusers));
    /* socket i is user i mod U: the bursts use the first U, connects/s all */
    dial_set d;
    users_result ur = {0};
    if (dial_login(&d, o, n > nusers ? n : nusers, nusers, 1, r, &ur) < 0) {
        if (d.s)
            bench_log("history: %zu of %zu users could not log in (last HTTP status %d): seeded?",
                      ur.failed, nusers, ur.last_status);
        dial_free(&d);
        json_decref(r);
        return NULL;
    }
    d.data = &h;

    /* bursts: every user at once */
    d.window = nusers;
    d.on_list = on_list;
    double worst = 0;
    for (int k = -1; k < o->rounds; k++) { /* round -1 warms up, unmeasured */
        if (k == 0) {
            stats_reset(&d.lat);
            d.failed = 0;
        }
        double t0 = bench_now_s();
        dial_open(&d, 0, nusers);
        dial_run_until(&d, settled, t0 + o->setup_timeout);
        double t = bench_now_s() - t0;
        if (k >= 0 && t > worst) worst = t;
        dial_close_all(&d);
        d.on_list = NULL;
    }
    bench_progress_done();
    json_object_set_new(r, "rounds", json_integer(o->rounds));
    json_object_set_new(r, "concurrent", json_integer((json_int_t)nusers));
    json_t *lat = json_object();
    bench_latency_json(lat, &d.lat);
    json_object_set_new(r, "connect_latency", lat);
    json_object_set_new(r, "slowest_round_s", json_real(worst));
    size_t failed = d.failed;
    json_object_set_new(r, "burst_failed", json_integer((json_int_t)failed));

    /* connects/s over the same users, a window of handshakes in flight */
    stats_reset(&d.lat);
    d.window = (size_t)o->connect_window;
    double t0 = bench_now_s();
    dial_open(&d, 0, n);
    dial_run_until(&d, settled, t0 + o->setup_timeout);
    double t = bench_now_s() - t0;
    bench_progress_done();
    json_object_set_new(r, "connections", json_integer((json_int_t)n));
    json_object_set_new(r, "connections_up", json_integer((json_int_t)d.up));
    json_object_set_new(r, "connects_per_s", json_real(t > 0 ? (double)d.up / t : 0));
    json_t *lat2 = json_object();
    bench_latency_json(lat2, &d.lat);
    json_object_set_new(r, "windowed_connect_latency", lat2);
    if (d.failed > failed) bench_log("history: %zu connects failed", d.failed);
    dial_close_all(&d);
    dial_free(&d);

    if (h.list[0]) {
        json_t *l = json_loads(h.list[0], 0, NULL);
        size_t nch = json_array_size(json_object_get(l, "channels"));
        json_object_set_new(r, "channels_per_user", json_integer((json_int_t)nch));
        json_decref(l);
    }
    if (o->db) json_object_set_new(r, "check", check(o, &p, &h));
    for (int k = 0; k < SAMPLES; k++) free(h.list[k]);
    return r;
}
