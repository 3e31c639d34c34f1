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
 *   4. History reads, each measured user on its socket, one after another
 *      in the first big channel: the newest 50 (fetch_history), and, when
 *      the seed (--messages) gave the user a read mark, what a reconnecting
 *      client fetches (`after` its mark, 100) and an older page (`before`
 *      the channel's middle message, 100): latency of each kind.
 *   5. With --db, a consistency check: for a few users, every entry of the
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

enum { READ_NEWEST, READ_AFTER, READ_BEFORE, READ_KINDS };
static const char *const READ_KEY[READ_KINDS] = {"newest_50", "after_mark_100",
                                                 "before_middle_100"};

typedef struct hist_run {
    size_t sample[SAMPLES]; /* user indexes whose list is checked */
    char *list[SAMPLES];    /* their first channels_list (malloc'd) */
    /* reads */
    const seed_plan *plan;
    seed_channel chan;  /* the first big channel */
    uint8_t *next_read; /* per user: the kind to send next (READ_KINDS: done) */
    uint64_t *t_sent;
    size_t reads_done, read_errors;
    stats_hist read_lat[READ_KINDS];
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

/* Sends user i's next history read, skipping kinds it has no cursor for;
 * marks it done after the last. */
static void send_read(dial_set *d, size_t i) {
    hist_run *h = d->data;
    seed_member m;
    seed_member_at(h->plan, &h->chan, i, &m); /* big channel: member i is user i */
    for (; h->next_read[i] < READ_KINDS; h->next_read[i]++) {
        char frame[256], cursor[64] = "";
        int k = h->next_read[i];
        if (k == READ_AFTER && m.last_read_id)
            snprintf(cursor, sizeof cursor, ",\"after\":\"%llu\",\"limit\":100",
                     (unsigned long long)m.last_read_id);
        if (k == READ_BEFORE && h->chan.msgs >= 2) {
            seed_msg mid;
            seed_msg_at(h->plan, &h->chan, h->chan.msgs / 2, &mid);
            snprintf(cursor, sizeof cursor, ",\"before\":\"%llu\",\"limit\":100",
                     (unsigned long long)mid.id);
        }
        if (k != READ_NEWEST && !cursor[0]) continue;
        int n = snprintf(frame, sizeof frame, "{\"type\":\"fetch_history\",\"channelId\":\"%s\"%s}",
                         h->chan.id, k == READ_NEWEST ? ",\"limit\":50" : cursor);
        h->t_sent[i] = bench_now_ns();
        if (wsconn_send_text(&d->s[i].ws, frame, (size_t)n) == 0) return;
        h->read_errors++;
    }
    h->reads_done++;
}

static void on_read_reply(dial_set *d, size_t i, char *p, size_t n) {
    hist_run *h = d->data;
    int k = h->next_read[i];
    if (k >= READ_KINDS) return;
    static const char HISTORY[] = "\"type\":\"history\"";
    if (memmem(p, n, HISTORY, sizeof HISTORY - 1)) {
        stats_record(&h->read_lat[k], bench_now_ns() - h->t_sent[i]);
    } else if (memmem(p, n, "\"type\":\"error\"", 14)) {
        h->read_errors++;
    } else {
        return; /* something else (a pushed list) */
    }
    h->next_read[i]++;
    send_read(d, i);
}

static int reads_over(dial_set *d) {
    hist_run *h = d->data;
    bench_progress("history: reads %zu/%zu users done", h->reads_done, d->nusers);
    return h->reads_done >= d->nusers;
}

/* Step 4: every user connected, its reads one after another. */
static void reads(dial_set *d, const bench_opts *o, json_t *r) {
    hist_run *h = d->data;
    size_t u = d->nusers;
    h->next_read = calloc(u, 1);
    h->t_sent = calloc(u, sizeof *h->t_sent);
    if (!h->next_read || !h->t_sent) abort();
    seed_channel_at(h->plan, 0, &h->chan);
    d->window = (size_t)o->connect_window;
    dial_open(d, 0, u);
    dial_run_until(d, settled, bench_now_s() + o->setup_timeout);
    d->on_frame = on_read_reply;
    for (size_t i = 0; i < u; i++) {
        if (d->s[i].state == DIAL_UP)
            send_read(d, i);
        else
            h->reads_done++, h->read_errors++;
    }
    dial_run_until(d, reads_over, bench_now_s() + o->setup_timeout);
    bench_progress_done();
    json_t *j = json_object();
    for (int k = 0; k < READ_KINDS; k++) {
        json_t *l = json_object();
        bench_latency_json(l, &h->read_lat[k]);
        json_object_set_new(j, READ_KEY[k], l);
    }
    json_object_set_new(j, "errors", json_integer((json_int_t)h->read_errors));
    json_object_set_new(r, "history_reads", j);
    d->on_frame = NULL;
    dial_close_all(d);
    free(h->next_read);
    free(h->t_sent);
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
    json_object_set_new(chk, "users",
                        json_integer(json_integer_value(json_object_get(chk, "users")) + 1));
    json_object_set_new(
        chk, "entries",
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
        for (int i = 0; i < k; i++)
            seen |= h->sample[i] == h->sample[k];
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
    hist_run *hp = calloc(1, sizeof *hp); /* a few histograms: not on the stack */
    if (!hp) return NULL;
    hist_run h0 = {{0, nusers / 3, 2 * nusers / 3, nusers - 1}, {0}, .plan = &p};
    *hp = h0;
    hist_run *h = hp;
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
        free(h);
        return NULL;
    }
    d.data = h;

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
    reads(&d, o, r);
    dial_free(&d);

    if (h->list[0]) {
        json_t *l = json_loads(h->list[0], 0, NULL);
        size_t nch = json_array_size(json_object_get(l, "channels"));
        json_object_set_new(r, "channels_per_user", json_integer((json_int_t)nch));
        json_decref(l);
    }
    if (o->db) json_object_set_new(r, "check", check(o, &p, h));
    for (int k = 0; k < SAMPLES; k++)
        free(h->list[k]);
    free(h);
    return r;
}
