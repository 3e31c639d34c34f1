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
 * Threads: as in store_sqlite.c — the loop thread submits (queue under
 * `mu`, wake the worker with `cv`); the worker runs batches, moves them to
 * the completed list and pokes `async`. The connection is the worker's,
 * except in load() while the worker is parked.
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
#include "core/metrics.h"
#include "store/store_pg_int.h"

#define BACKOFF_MIN_S 0.05
#define BACKOFF_MAX_S 2.0
/* Appends per pipeline round trip: bounded so that neither side's socket
 * buffer can fill while the other waits (libpq's blocking-mode caveat). */
#define PIPELINE_MAX 64

struct store {
    char *conninfo; /* may hold a password: never logged */
    int fsync;
    uv_loop_t *loop;
    uv_async_t async;
    pthread_t thread;
    int max_batch;

    /* Worker only (or load() while the worker is parked). */
    PGconn *conn;     /* NULL while disconnected */
    double retry_at;  /* no connect attempt before this (monotonic s) */
    double backoff_s; /* the wait after the next failed attempt */

    pthread_mutex_t mu;                /* guards everything down to `closing` */
    pthread_cond_t cv;                 /* broadcast on any change below */
    store_op *queue_head, *queue_tail; /* submitted, not yet run */
    store_op *done_head, *done_tail;   /* run, done() not yet called */
    int stopping;                      /* worker: run what is queued, then exit */
    int parked;                        /* load() or a test holds the worker: start no batch */
    int busy;                          /* the worker is running a batch */
    int closing;                       /* close() began: submits complete with ECLOSED */

    /* Loop thread only. */
    store_op *draining; /* taken from done_head, done() not yet called */
    int closed;         /* close() has run every done() */

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

/* Appends the list first..last to a queue (head, tail). Caller holds mu. */
static void list_append(store_op **head, store_op **tail, store_op *first, store_op *last) {
    last->next__ = NULL;
    if (*tail)
        (*tail)->next__ = first;
    else
        *head = first;
    *tail = last;
}

/* A failed transaction stored nothing: drop whatever the ops produced. */
static void fail_batch(store_op *ops) {
    for (store_op *op = ops; op; op = op->next__) {
        store_op_clear(op);
        if (op->kind == STORE_MSG_APPEND)
            op->u.msg_append.msg.seq = 0;
        else if (op->kind == STORE_MEMBER_ADD)
            op->u.member_add.added = 0;
        else if (op->kind == STORE_MARK_READ)
            op->u.mark_read.moved = 0;
        op->status = STORE_EIO;
    }
}

/* Runs a batch in one transaction. Worker thread, mu not held. */
static void run_batch(store *s, store_op *ops, unsigned n) {
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
        fail_batch(ops);
        return;
    }
    __atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
    metrics_commit(now_s() - t0, n);
}

static void *worker_main(void *arg) {
    store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while ((!s->queue_head || s->parked) && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->queue_head) break; /* stopping, and everything is committed */

        /* Take up to max_batch ops off the front of the queue. */
        store_op *first = s->queue_head, *last = first;
        unsigned n = 1;
        while (last->next__ && n < (unsigned)s->max_batch) {
            last = last->next__;
            n++;
        }
        s->queue_head = last->next__;
        if (!s->queue_head) s->queue_tail = NULL;
        last->next__ = NULL;
        s->busy = 1;
        pthread_mutex_unlock(&s->mu);

        run_batch(s, first, n);

        pthread_mutex_lock(&s->mu);
        s->busy = 0;
        list_append(&s->done_head, &s->done_tail, first, last);
        pthread_cond_broadcast(&s->cv); /* load() may wait for idle */
        uv_async_send(&s->async);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Calls done() for every completed op, in order. Loop thread. A done() may
 * call close(), which finishes this drain itself; stop then. */
static void drain(store *s) {
    for (;;) {
        if (!s->draining) {
            pthread_mutex_lock(&s->mu);
            s->draining = s->done_head;
            s->done_head = s->done_tail = NULL;
            pthread_mutex_unlock(&s->mu);
            if (!s->draining) return;
        }
        store_op *op = s->draining;
        s->draining = op->next__;
        op->next__ = NULL;
        if (op->done) op->done(op);
        if (s->closed) return;
    }
}

static void on_async(uv_async_t *h) {
    drain(h->data);
}

static void on_closed(uv_handle_t *h) {
    store *s = h->data;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->conninfo);
    free(s);
}

/* ---- the backend ------------------------------------------------------ */

static void pg_submit(store *s, store_op *op) {
    op->next__ = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        op->status = STORE_ECLOSED;
        list_append(&s->done_head, &s->done_tail, op, op);
        if (!s->closed) uv_async_send(&s->async); /* close()'s own drain may also take it */
    } else {
        list_append(&s->queue_head, &s->queue_tail, op, op);
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
}

void store_pg_pause(store *s, int pause) {
    pthread_mutex_lock(&s->mu);
    s->parked = pause;
    while (pause && s->busy)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int pg_load(store *s, const store_load_cbs *cbs) {
    store_pg_pause(s, 1); /* the connection is ours until resumed */
    PGconn *c = conn_get(s);
    int r = c ? store_pg__load(c, cbs) : STORE_EIO;
    if (r != STORE_OK && c && PQstatus(c) != CONNECTION_OK) conn_drop(s);
    store_pg_pause(s, 0);
    return r;
}

static void pg_close(store *s) {
    pthread_mutex_lock(&s->mu);
    if (s->closing) { /* close() from a done() that close() is running */
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->closing = 1;
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);

    pthread_join(s->thread, NULL); /* it commits the queue first */
    conn_drop(s);

    drain(s); /* also the ECLOSED ops submitted by these done()s */
    s->closed = 1;
    uv_close((uv_handle_t *)&s->async, on_closed);
}

static int pg_open(store **out, const store_config *cfg, uv_loop_t *loop) {
    *out = NULL;
    if (!PQisthreadsafe()) return STORE_EIO;
    store *s = calloc(1, sizeof(*s));
    if (!s) return STORE_EIO;
    s->loop = loop;
    s->fsync = cfg->fsync;
    s->max_batch = cfg->max_batch > 0 ? cfg->max_batch : 1024;
    s->backoff_s = BACKOFF_MIN_S;
    s->conninfo = strdup(cfg->path ? cfg->path : "");
    if (!s->conninfo) goto fail_free;
    /* At start-up an unreachable or newer database is an error, not a retry. */
    if (!conn_get(s)) goto fail_free;
    if (pthread_mutex_init(&s->mu, NULL) != 0) goto fail_conn;
    if (pthread_cond_init(&s->cv, NULL) != 0) goto fail_mutex;
    if (uv_async_init(loop, &s->async, on_async) != 0) goto fail_cond;
    s->async.data = s;
    if (pthread_create(&s->thread, NULL, worker_main, s) != 0) {
        conn_drop(s);
        uv_close((uv_handle_t *)&s->async, on_closed); /* frees s */
        return STORE_EIO;
    }
    *out = s;
    return STORE_OK;

fail_cond:
    pthread_cond_destroy(&s->cv);
fail_mutex:
    pthread_mutex_destroy(&s->mu);
fail_conn:
    conn_drop(s);
fail_free:
    free(s->conninfo);
    free(s);
    return STORE_EIO;
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
