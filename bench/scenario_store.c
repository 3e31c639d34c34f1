/*
 * scenario store: the store (src/store, store.h) on its own, no server:
 * --channels channels of one member each (created through the store, as
 * chatd does), then MSG_APPEND ops round-robin over them, --window of them
 * in flight, each completion submitting the next — what chatd's loop does
 * when senders keep it busy, minus the network. The backend commits them
 * in groups (one transaction per batch) with fsync on: SQLite's
 * synchronous = FULL, PostgreSQL's synchronous_commit = on. --db names the
 * database (sqlite:FILE or pg:CONNINFO), empty or seeded (scenario seed),
 * so the same figure can be had with and without a long history. Texts
 * left unindexed by an earlier run are indexed before the measurement.
 */
#include "bench.h"
#include "seed_db.h"
#include "stats.h"
#include "users.h"

#include "core/clock.h"
#include "core/snowflake.h"
#include "core/uuid.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct append_op {
    store_op op;
    uint64_t t_submit;
    struct run *run;
} append_op;

typedef struct run {
    const store_backend *b;
    store *st;
    snowflake ids;
    size_t nchannels, next;
    char (*chan)[37];
    char (*user)[40];
    char *content;
    int active; /* completions submit the next */
    uint64_t t_meas, t_end;
    uint64_t done, done_win, failed, inflight;
    int first_status;
    stats_hist lat;
} run;

static void submit_append(run *r, append_op *a);

static void append_done(store_op *op) {
    append_op *a = op->data;
    run *r = a->run;
    uint64_t now = bench_now_ns();
    r->inflight--;
    if (op->status == STORE_OK) {
        r->done++;
        if (now >= r->t_meas && now < r->t_end) { /* completed while measuring */
            r->done_win++;
            stats_record(&r->lat, now - a->t_submit);
        }
    } else {
        r->failed++;
        if (!r->first_status) r->first_status = op->status;
    }
    store_op_clear(op);
    if (r->active) submit_append(r, a);
}

static void submit_append(run *r, append_op *a) {
    size_t k = r->next++ % r->nchannels;
    memset(&a->op, 0, sizeof a->op);
    a->op.kind = STORE_MSG_APPEND;
    a->op.done = append_done;
    a->op.data = a;
    proto_msg *m = &a->op.u.msg_append.msg;
    int64_t now = clock_now_ms();
    m->id = snowflake_next(&r->ids, now);
    m->created_ms = now;
    memcpy(m->channel_id, r->chan[k], 37);
    m->user_id = r->user[k];
    m->content = r->content;
    m->metadata = "{}";
    a->t_submit = bench_now_ns();
    r->inflight++;
    r->b->submit(r->st, &a->op);
}

/* ---- set-up: users and channels through the store, one op at a time ---- */

static int g_setup_status;
static int g_setup_done;

static void setup_done(store_op *op) {
    g_setup_status = op->status;
    g_setup_done = 1;
}

static int submit_wait(run *r, store_op *op) {
    g_setup_done = 0;
    op->done = setup_done;
    r->b->submit(r->st, op);
    while (!g_setup_done)
        uv_run(uv_default_loop(), UV_RUN_ONCE);
    store_op_clear(op);
    return g_setup_status;
}

static int make_channels(run *r, const bench_opts *o) {
    for (size_t k = 0; k < r->nchannels; k++) {
        users_name(r->user[k], sizeof r->user[k], o->prefix, k);
        store_op op = {.kind = STORE_USER_CREATE};
        op.u.user_create.username = r->user[k];
        op.u.user_create.pw_hash = "not-a-login";
        op.u.user_create.created_ms = clock_now_ms();
        int st = submit_wait(r, &op);
        if (st != STORE_OK && st != STORE_EEXIST) return st;
        uuid_v4(r->chan[k]);
        proto_member me = {.user_id = r->user[k], .is_admin = 1, .joined_ms = clock_now_ms()};
        store_op ch = {.kind = STORE_CHANNEL_CREATE};
        memcpy(ch.u.channel_create.channel_id, r->chan[k], 37);
        ch.u.channel_create.name = r->user[k];
        ch.u.channel_create.creator = r->user[k];
        ch.u.channel_create.created_ms = me.joined_ms;
        ch.u.channel_create.members = &me;
        ch.u.channel_create.n_members = 1;
        if ((st = submit_wait(r, &ch)) != STORE_OK) return st;
    }
    return STORE_OK;
}

/* Waits, running the loop, until the database's search backlog is gone:
 * the store's own indexer takes it while nothing is appended. Texts an
 * earlier run left unindexed (chatd's durable run on the same data, say)
 * would otherwise be indexed inside this run's measurement, as soon as the
 * backlog passes search_lag, and charged to its appends. The backlog found
 * (-1: unknown), and *secs the wait. */
#define SETTLE_MAX_S 300
static int64_t settle_search(const bench_opts *o, double *secs) {
    const char *where;
    const seed_db_ops *ops = seed_db_for(o->db, &where);
    seed_db *db = ops ? ops->open(where, 0) : NULL;
    double t0 = bench_now_s();
    int64_t first = db ? ops->search_backlog(db) : -1;
    for (int64_t n = first; n > 0 && bench_now_s() - t0 < SETTLE_MAX_S;) {
        bench_progress("store: %lld texts left to index from before", (long long)n);
        for (uint64_t until = bench_now_ns() + 100000000ull; bench_now_ns() < until;) {
            uv_run(uv_default_loop(), UV_RUN_NOWAIT);
            usleep(10000);
        }
        n = ops->search_backlog(db);
    }
    if (db) ops->close(db);
    *secs = bench_now_s() - t0;
    return first;
}

static void on_tick(uv_timer_t *t) {
    run *r = t->data;
    bench_progress("store: %llu appended, %llu in flight, %llu failed", (unsigned long long)r->done,
                   (unsigned long long)r->inflight, (unsigned long long)r->failed);
}

json_t *scenario_store(const bench_opts *o) {
    const char *where;
    run r = {0};
    r.b = seed_store_for(o->db, &where);
    if (!r.b) return NULL;
    uv_loop_t *loop = uv_default_loop();
    /* search_lag: chatd's default (--search-lag) */
    store_config cfg = {.path = where, .fsync = 1, .search_lag = 1000000};
    if (r.b->open(&r.st, &cfg, loop) != 0) {
        bench_log("store: cannot open %s", o->db);
        return NULL;
    }
    snowflake_init(&r.ids, 7);
    r.nchannels = (size_t)o->channels;
    r.chan = calloc(r.nchannels, sizeof *r.chan);
    r.user = calloc(r.nchannels, sizeof *r.user);
    r.content = malloc((size_t)o->content_bytes + 1);
    append_op *ops = calloc((size_t)o->window, sizeof *ops);
    if (!r.chan || !r.user || !r.content || !ops) abort();
    memset(r.content, 'x', (size_t)o->content_bytes);
    r.content[o->content_bytes] = '\0';

    json_t *res = NULL;
    int st = make_channels(&r, o);
    if (st != STORE_OK) {
        bench_log("store: set-up failed (status %d)", st);
        goto out;
    }
    double settle_s;
    int64_t backlog = settle_search(o, &settle_s);
    bench_progress_done();
    uv_timer_t tick;
    uv_timer_init(loop, &tick);
    tick.data = &r;
    uv_timer_start(&tick, on_tick, 200, 200);
    uint64_t t0 = bench_now_ns();
    r.t_meas = t0 + (uint64_t)(o->warmup * 1e9);
    r.t_end = r.t_meas + (uint64_t)(o->duration * 1e9);
    r.active = 1;
    for (int i = 0; i < o->window; i++) {
        ops[i].run = &r;
        submit_append(&r, &ops[i]);
    }
    while (bench_now_ns() < r.t_meas)
        uv_run(loop, UV_RUN_ONCE);
    double cpu0 = bench_cpu_s(0);
    while (bench_now_ns() < r.t_end)
        uv_run(loop, UV_RUN_ONCE);
    double cpu1 = bench_cpu_s(0);
    r.active = 0;
    while (r.inflight)
        uv_run(loop, UV_RUN_ONCE);
    bench_progress_done();
    uv_close((uv_handle_t *)&tick, NULL);

    res = json_object();
    json_object_set_new(res, "scenario", json_string("store"));
    json_object_set_new(res, "db", json_string(r.b->name));
    json_object_set_new(res, "fsync", json_true());
    json_object_set_new(res, "channels", json_integer(o->channels));
    json_object_set_new(res, "window", json_integer(o->window));
    json_object_set_new(res, "content_bytes", json_integer(o->content_bytes));
    json_object_set_new(res, "duration_s", json_real(o->duration));
    json_object_set_new(res, "search_backlog_before", json_integer((json_int_t)backlog));
    json_object_set_new(res, "search_settle_s", json_real(settle_s));
    json_object_set_new(res, "appends_per_s", json_real((double)r.done_win / o->duration));
    json_object_set_new(res, "appended", json_integer((json_int_t)r.done));
    json_object_set_new(res, "failed", json_integer((json_int_t)r.failed));
    if (r.failed) json_object_set_new(res, "first_status", json_integer(r.first_status));
    /* this process: the store's worker thread and the loop (all of it is the store) */
    json_object_set_new(res, "cpu_us_per_append",
                        r.done_win ? json_real((cpu1 - cpu0) * 1e6 / (double)r.done_win)
                                   : json_null());
    json_t *lat = json_object();
    bench_latency_json(lat, &r.lat);
    json_object_set_new(res, "append_latency", lat);
out:
    r.b->close(r.st);
    uv_run(loop, UV_RUN_NOWAIT);
    free(ops);
    free(r.chan);
    free(r.user);
    free(r.content);
    return res;
}
