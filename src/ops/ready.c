/*
 * ready: the /ready probes (see ready.h). Each probe opens its own short
 * connection instead of borrowing the role's: a readiness check must not
 * queue behind (or disturb) the store's group commits or the bus's
 * traffic, and a fresh connection is what a restarted process would get.
 * The one exception is ZooKeeper, whose session state is the truth (a new
 * session per probe would cost the ensemble more than it tells).
 */
#include "ops/ready.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "engine/backends.h"
#include "ops/endpoints.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"

#define READY_CACHE_MS 1000
#define SQLITE_PROBE_MS 1000
#define REDIS_PROBE_MS 1000
#define PG_PROBE_S 2
#define KAFKA_PROBE_MS 2000

enum { CHECK_STORE, CHECK_REDIS, CHECK_BUS, CHECK_DISCOVERY, CHECK_COUNT };
static const char *const check_names[CHECK_COUNT] = {"store", "redis", "bus", "discovery"};

typedef struct check {
    int used;
    int ok;
    char detail[256]; /* why not, in a sentence */
} check;

struct ready {
    uv_loop_t *loop;
    ready_config cfg;
    uv_work_t work;
    int running, freeing;
    uint64_t done_ms;           /* when the last run ended (0: never) */
    check checks[CHECK_COUNT];  /* the last run's results (loop thread) */
    check scratch[CHECK_COUNT]; /* the worker's, while running */
    rd_kafka_t *kafka;          /* the Kafka probe's client (worker thread only) */
    conn **waiting;
    size_t nwaiting, capwaiting;
};

/* ---- probes (worker thread) ---- */

static void probe_pg(const chatd_config *cfg, check *c) {
    char *conninfo = backends_pg_conninfo(cfg); /* holds the password: wiped below */
    if (!conninfo) {
        snprintf(c->detail, sizeof(c->detail), "PostgreSQL: no usable --pg or db_password.txt");
        return;
    }
    c->ok = store_pg_probe(conninfo, PG_PROBE_S, c->detail, sizeof(c->detail)) == 0;
    explicit_bzero(conninfo, strlen(conninfo));
    free(conninfo);
}

static void probe_redis(const redis_link_config *cfg, check *c) {
    redisContext *ctx = NULL;
    c->ok = redis_link_connect_sync(cfg, REDIS_PROBE_MS, &ctx, c->detail, sizeof(c->detail)) == 0;
    if (ctx) redisFree(ctx);
}

static void run_probes(uv_work_t *w) {
    ready *r = w->data;
    check *c = r->scratch;
    memset(r->scratch, 0, sizeof(r->scratch));
    if (r->cfg.sqlite_path || r->cfg.pg) {
        c[CHECK_STORE].used = 1;
        if (r->cfg.sqlite_path)
            c[CHECK_STORE].ok =
                store_sqlite_probe(r->cfg.sqlite_path, SQLITE_PROBE_MS, c[CHECK_STORE].detail,
                                   sizeof(c[CHECK_STORE].detail)) == 0;
        else
            probe_pg(r->cfg.pg, &c[CHECK_STORE]);
    }
    if (r->cfg.redis) {
        c[CHECK_REDIS].used = 1;
        probe_redis(r->cfg.redis, &c[CHECK_REDIS]);
    }
    if (r->cfg.kafka) {
        c[CHECK_BUS].used = 1;
        c[CHECK_BUS].ok = kafka_link_probe(&r->kafka, r->cfg.kafka, KAFKA_PROBE_MS,
                                           c[CHECK_BUS].detail, sizeof(c[CHECK_BUS].detail)) == 0;
    } else if (r->cfg.bus_redis && r->cfg.redis) {
        c[CHECK_BUS] = c[CHECK_REDIS];
    }
}

/* ---- answers (loop thread) ---- */

static void answer(ready *r, conn *c) {
    json_t *checks = json_object(), *down = json_array();
    for (int i = 0; i < CHECK_COUNT; i++) {
        if (!r->checks[i].used) continue;
        json_object_set_new(checks, check_names[i],
                            json_string(r->checks[i].ok ? "ok" : r->checks[i].detail));
        if (!r->checks[i].ok) json_array_append_new(down, json_string(check_names[i]));
    }
    int ok = json_array_size(down) == 0;
    json_t *body = json_pack("{s:s,s:o}", "status", ok ? "ready" : "unavailable", "checks", checks);
    if (ok)
        json_decref(down);
    else
        json_object_set_new(body, "unavailable", down);
    ops_respond_json(c, ok ? 200 : 503, body);
}

static void free_ready(ready *r) {
    if (r->kafka) rd_kafka_destroy(r->kafka);
    for (size_t i = 0; i < r->nwaiting; i++)
        conn_unref(r->waiting[i]);
    free(r->waiting);
    free(r);
}

static void probes_done(uv_work_t *w, int status) {
    ready *r = w->data;
    r->running = 0;
    if (r->freeing) {
        free_ready(r);
        return;
    }
    memcpy(r->checks, r->scratch, sizeof(r->checks));
    if (r->cfg.dsb && r->cfg.disc) {
        check *c = &r->checks[CHECK_DISCOVERY];
        c->used = 1;
        c->ok = !r->cfg.dsb->connected || r->cfg.dsb->connected(r->cfg.disc);
        if (!c->ok) snprintf(c->detail, sizeof(c->detail), "%s: not connected", r->cfg.dsb->name);
    }
    if (status != 0) { /* cancelled: say so rather than "ready" */
        r->checks[CHECK_STORE].used = 1;
        r->checks[CHECK_STORE].ok = 0;
        snprintf(r->checks[CHECK_STORE].detail, sizeof(r->checks[0].detail), "probe cancelled");
    }
    r->done_ms = clock_mono_ms();
    for (size_t i = 0; i < r->nwaiting; i++) {
        answer(r, r->waiting[i]);
        conn_unref(r->waiting[i]);
    }
    r->nwaiting = 0;
}

ready *ready_new(uv_loop_t *loop, const ready_config *cfg) {
    ready *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->loop = loop;
    r->cfg = *cfg;
    r->work.data = r;
    return r;
}

void ready_handle(ready *r, conn *c) {
    if (r->done_ms && clock_mono_ms() - r->done_ms < READY_CACHE_MS && !r->running) {
        answer(r, c);
        return;
    }
    if (r->nwaiting == r->capwaiting) {
        r->capwaiting = r->capwaiting ? 2 * r->capwaiting : 8;
        r->waiting = xrealloc(r->waiting, r->capwaiting * sizeof(*r->waiting));
    }
    conn_ref(c);
    r->waiting[r->nwaiting++] = c;
    if (r->running) return;
    r->running = 1;
    if (uv_queue_work(r->loop, &r->work, run_probes, probes_done) != 0)
        probes_done(&r->work, UV_ECANCELED);
}

void ready_free(ready *r) {
    if (!r) return;
    if (r->running)
        r->freeing = 1;
    else
        free_ready(r);
}
