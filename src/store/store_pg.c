/*
 * store_pg: the cluster's store backend — PostgreSQL 15 through libpq,
 * shared by every chat server of the cluster.
 *
 * Same model as store_sqlite: one worker thread owns the connection, takes
 * everything queued (up to max_batch ops), runs it in ONE transaction with
 * prepared statements and commits once (group commit), then hands the batch
 * back to the loop through uv_async, where done() runs in submission order.
 * A commit waits for the server's WAL flush, so batching is what lets
 * throughput grow with load.
 *
 * Several servers write to one database. Per-channel seqs stay gapless and
 * unique because each append takes its seq with UPDATE channels ... RETURNING
 * under the channel's row lock, held to commit; each batch first locks all
 * the channels it appends to in id order, so writers never deadlock.
 *
 * Connection loss (PostgreSQL restarted, network): the batch in flight fails
 * with STORE_EIO and the connection is dropped; the next batch reconnects.
 * While reconnecting fails, attempts are spaced by a doubling backoff and
 * the batches in between fail at once with STORE_EIO, so nothing hangs.
 *
 * Threads, queue and completion hand-back are store_worker's (shared with
 * the SQLite backend). The connection is the worker's, except in load()
 * while the worker is paused.
 *
 * The SQL lives in store_pg_schema.c and store_pg_ops.c.
 */
#include "store/store_pg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "core/log.h"
#include "core/alloc.h"
#include "core/err.h"
#include "core/metrics.h"
#include "store/store_pg_int.h"
#include "store/store_worker.h"

#define BACKOFF_MIN_S 0.05
#define BACKOFF_MAX_S 2.0
/* Appends per pipeline round trip: bounded so that neither side's socket
 * buffer can fill while the other waits (libpq's blocking-mode caveat). */
#define PIPELINE_MAX 64

struct store {
    char *conninfo; /* may hold a password: never logged */
    int fsync;
    store_worker *w;

    /* Worker only (or load() while the worker is paused). */
    PGconn *conn;     /* NULL while disconnected */
    double retry_at;  /* no connect attempt before this (monotonic s) */
    double backoff_s; /* the wait after the next failed attempt */

    uint64_t commits;  /* atomic: transactions committed */
    uint64_t connects; /* atomic: successful connects */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the connection --------------------------------------------------- */

static void conn_drop(store *s) {
    PQfinish(s->conn); /* NULL is fine */
    s->conn = NULL;
}

/* A usable connection, or NULL while the server cannot be reached. */
static PGconn *conn_get(store *s) {
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK) return s->conn;
    conn_drop(s);
    double now = now_s();
    if (now < s->retry_at) return NULL; /* fail fast until the backoff ends */
    s->conn = store_pg__connect(s->conninfo, s->fsync);
    if (s->conn) {
        s->backoff_s = BACKOFF_MIN_S;
        __atomic_add_fetch(&s->connects, 1, __ATOMIC_RELAXED);
        return s->conn;
    }
    s->retry_at = now + s->backoff_s;
    s->backoff_s = s->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : s->backoff_s * 2;
    return NULL;
}

/* BEGIN on a usable connection. A connection that died while idle (the
 * server restarted) shows it only now, before anything of the batch ran,
 * so one fresh connection is tried. NULL when there is none. */
static PGconn *begin(store *s) {
    PGconn *c = conn_get(s);
    if (!c || store_pg__cmd(c, "BEGIN") == 0) return c;
    if (PQstatus(c) == CONNECTION_OK) return NULL; /* a live server said no */
    conn_drop(s);
    c = conn_get(s);
    return c && store_pg__cmd(c, "BEGIN") == 0 ? c : NULL;
}

/* ---- batches ---------------------------------------------------------- */

/* Runs a batch in one transaction. Worker thread. */
static void run_batch(void *backend, store_op *ops, unsigned n) {
    store *s = backend;
    double t0 = now_s();
    PGconn *c = begin(s);
    int fatal = !c || store_pg__lock_channels(c, ops) != 0;

    for (store_op *op = ops; op && !fatal;) {
        /* Appends in a row go in one pipeline; others one at a time. */
        int k = 0;
        store_op *next = op;
        while (next && next->kind == STORE_MSG_APPEND && k < PIPELINE_MAX) {
            next = next->next__;
            k++;
        }
        if (k > 1) {
            fatal = store_pg__append_run(c, op, k) != STORE_OK;
            op = next;
            continue;
        }
        int r = store_pg__exec_op(c, op);
        if (r == STORE_PG__FATAL)
            fatal = 1;
        else
            op->status = r;
        op = op->next__;
    }
    /* A COMMIT whose answer is lost may still have committed; the ops then
     * report STORE_EIO and a retry finds its client_msg_id (STORE_EDUP). */
    if (!fatal && store_pg__cmd(c, "COMMIT") != 0) fatal = 1;
    if (fatal) {
        if (c && PQpipelineStatus(c) != PQ_PIPELINE_OFF) {
            conn_drop(s); /* results may be pending: start afresh */
        } else if (c && PQstatus(c) == CONNECTION_OK) {
            if (PQtransactionStatus(c) != PQTRANS_IDLE && store_pg__cmd(c, "ROLLBACK") != 0)
                conn_drop(s);
        } else if (c) {
            log_warn("store_pg: connection lost; reconnecting on the next batch");
            conn_drop(s);
        }
        store_worker_fail_batch(ops);
        return;
    }
    __atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
    metrics_commit(now_s() - t0, n);
}

/* ---- the backend ------------------------------------------------------ */

static void pg_submit(store *s, store_op *op) {
    store_worker_submit(s->w, op);
}

void store_pg_pause(store *s, int pause) {
    store_worker_pause(s->w, pause);
}

static int pg_load(store *s, const store_load_cbs *cbs) {
    store_pg_pause(s, 1); /* the connection is ours until resumed */
    PGconn *c = conn_get(s);
    int r = c ? store_pg__load(c, cbs) : STORE_EIO;
    if (r != STORE_OK && c && PQstatus(c) != CONNECTION_OK) conn_drop(s);
    store_pg_pause(s, 0);
    return r;
}

static void after_join(void *backend) {
    conn_drop(backend);
}

static void pg_close(store *s) {
    if (store_worker_stop(s->w, after_join) != 0) return; /* from a done() of this close */
    free(s->conninfo);
    free(s);
}

static int pg_open(store **out, const store_config *cfg, uv_loop_t *loop) {
    *out = NULL;
    if (!PQisthreadsafe()) return STORE_EIO;
    store *s = calloc(1, sizeof(*s));
    if (!s) return STORE_EIO;
    s->fsync = cfg->fsync;
    s->backoff_s = BACKOFF_MIN_S;
    s->conninfo = strdup(cfg->path ? cfg->path : "");
    if (!s->conninfo) goto fail_free;
    /* At start-up an unreachable or newer database is an error, not a retry. */
    if (!conn_get(s)) goto fail_free;
    if (store_worker_start(&s->w, loop, cfg->max_batch, run_batch, NULL, s) != 0) goto fail_conn;
    *out = s;
    return STORE_OK;

fail_conn:
    conn_drop(s);
fail_free:
    free(s->conninfo);
    free(s);
    return STORE_EIO;
}

int store_pg_probe(const char *conninfo, int timeout_s, char *why, size_t whylen) {
    size_t n = strlen(conninfo) + 32;
    char *withtimeout = xmalloc(n);
    snprintf(withtimeout, n, "%s connect_timeout=%d", conninfo, timeout_s);
    PGconn *pg = PQconnectdb(withtimeout);
    explicit_bzero(withtimeout, n); /* it holds the password */
    free(withtimeout);
    PGresult *res = PQstatus(pg) == CONNECTION_OK ? PQexec(pg, "SELECT 1") : NULL;
    int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        const char *msg = PQerrorMessage(pg);
        snprintf(why, whylen, "PostgreSQL: %.*s", (int)strcspn(msg, "\n"), msg);
    }
    PQclear(res);
    PQfinish(pg);
    return ok ? 0 : CHATD_EIO;
}

uint64_t store_pg_commits(store *s) {
    return __atomic_load_n(&s->commits, __ATOMIC_RELAXED);
}

uint64_t store_pg_connects(store *s) {
    return __atomic_load_n(&s->connects, __ATOMIC_RELAXED);
}

const store_backend store_pg_backend = {
    .name = "pg",
    .open = pg_open,
    .load = pg_load,
    .submit = pg_submit,
    .close = pg_close,
};
