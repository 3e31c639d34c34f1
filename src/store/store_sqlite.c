/*
 * store_sqlite: the embedded shape's store backend — one SQLite file in WAL
 * mode, written by one worker thread.
 *
 * Why a worker: a COMMIT with synchronous=FULL waits for fsync, which must
 * never block the event loop. Why group commit: an fsync costs the same for
 * one message as for a thousand, so the worker takes everything queued (up
 * to max_batch ops), runs it in ONE transaction and commits once. Throughput
 * then grows with load instead of being capped at one fsync per message.
 *
 * Threads: the loop thread submits (queue under `mu`, wake the worker with
 * `cv`); the worker runs batches and moves them to the completed list, then
 * pokes `async`. uv_async coalesces wake-ups, so the async callback drains
 * the whole completed list, calling done() in submission order. The sqlite3
 * connection is used by the worker only, except by load() while the worker
 * is parked (both sides agree through `mu`).
 *
 * Checkpoints: SQLite's automatic WAL checkpoint would run inside a commit on
 * the worker and stall every message queued behind it (tens of ms). The
 * writer's autocheckpoint is off; a checkpointer thread with its own
 * connection runs PASSIVE checkpoints (which never block the writer) every
 * CKPT_MS, and a RESTART one only when the WAL has grown past CKPT_MAX_FRAMES.
 *
 * The SQL lives in store_sqlite_schema.c and store_sqlite_ops.c.
 */
#include "store/store_sqlite.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "core/metrics.h"
#include "store/store_sqlite_int.h"

#define CKPT_MS 200
#define CKPT_MAX_FRAMES 8192 /* ~32 MiB of WAL with 4 KiB pages */

struct store {
    sqlite3 *db;
    sqlite3 *ckdb;         /* the checkpointer's connection */
    pthread_t ckthread;
    int ckstop;            /* guarded by mu; signalled on cv */
    sqlite3_stmt *st[SQ__COUNT];
    uv_loop_t *loop;
    uv_async_t async;
    pthread_t thread;
    int max_batch;

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

    uint64_t commits; /* atomic: transactions committed */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
    int fatal = store_sqlite__run(s->st[SQ_BEGIN]) != SQLITE_OK;

    for (store_op *op = ops; op && !fatal; op = op->next__) {
        int r = store_sqlite__exec_op(s->st, op);
        /* An error may also have ended the transaction behind our back
         * (I/O, disk full, RAISE(ROLLBACK)): the rest must not autocommit. */
        if (r == STORE_SQLITE__FATAL || sqlite3_get_autocommit(s->db))
            fatal = 1;
        else
            op->status = r;
    }
    if (!fatal && store_sqlite__run(s->st[SQ_COMMIT]) != SQLITE_OK) fatal = 1;
    if (fatal) {
        /* Some errors (disk full, I/O) have already rolled SQLite back. */
        if (!sqlite3_get_autocommit(s->db)) store_sqlite__run(s->st[SQ_ROLLBACK]);
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

static void *checkpointer_main(void *arg) {
    store *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->ckstop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CKPT_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
        if (s->ckstop) break;
        pthread_mutex_unlock(&s->mu);
        int frames = 0, done = 0;
        sqlite3_wal_checkpoint_v2(s->ckdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
        if (frames < 0) /* this connection has not opened the WAL yet: a read does */
            sqlite3_exec(s->ckdb, "PRAGMA schema_version", NULL, NULL, NULL);
        if (frames > CKPT_MAX_FRAMES) /* load never lets PASSIVE catch up: make room */
            sqlite3_wal_checkpoint_v2(s->ckdb, NULL, SQLITE_CHECKPOINT_RESTART, &frames, &done);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int checkpointer_start(store *s, const char *path) {
    if (sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->ckdb, flags, NULL) != SQLITE_OK) {
        sqlite3_close(s->ckdb);
        s->ckdb = NULL;
        return -1;
    }
    sqlite3_busy_timeout(s->ckdb, 5000);
    sqlite3_exec(s->ckdb, "PRAGMA schema_version", NULL, NULL, NULL); /* opens the WAL */
    if (pthread_create(&s->ckthread, NULL, checkpointer_main, s) != 0) {
        sqlite3_close(s->ckdb);
        s->ckdb = NULL;
        return -1;
    }
    return 0;
}

static void checkpointer_stop(store *s) {
    if (!s->ckdb) return;
    pthread_mutex_lock(&s->mu);
    s->ckstop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->ckthread, NULL);
    sqlite3_close(s->ckdb);
    s->ckdb = NULL;
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
    free(s);
}

static void sqlite_submit(store *s, store_op *op) {
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

void store_sqlite_pause(store *s, int pause) {
    pthread_mutex_lock(&s->mu);
    s->parked = pause;
    while (pause && s->busy)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int sqlite_load(store *s, const store_load_cbs *cbs) {
    store_sqlite_pause(s, 1); /* the connection is ours until resumed */
    int r = store_sqlite__load(s->st, cbs);
    store_sqlite_pause(s, 0);
    return r;
}

static void sqlite_close(store *s) {
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
    checkpointer_stop(s);
    /* Fold the WAL into the database so the next start reads one file. */
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    store_sqlite__finalize(s->st);
    sqlite3_close(s->db);
    s->db = NULL;

    drain(s); /* also the ECLOSED ops submitted by these done()s */
    s->closed = 1;
    uv_close((uv_handle_t *)&s->async, on_closed);
}

static int sqlite_open(store **out, const store_config *cfg, uv_loop_t *loop) {
    *out = NULL;
    if (!sqlite3_threadsafe()) return STORE_EIO;
    store *s = calloc(1, sizeof(*s));
    if (!s) return STORE_EIO;
    s->loop = loop;
    s->max_batch = cfg->max_batch > 0 ? cfg->max_batch : 1024;
    if (store_sqlite__open_db(cfg->path, cfg->fsync, &s->db) != 0) goto fail_free;
    if (store_sqlite__prepare(s->db, s->st) != 0) goto fail_db;
    if (pthread_mutex_init(&s->mu, NULL) != 0) goto fail_stmts;
    if (pthread_cond_init(&s->cv, NULL) != 0) goto fail_mutex;
    if (uv_async_init(loop, &s->async, on_async) != 0) goto fail_cond;
    s->async.data = s;
    if (checkpointer_start(s, cfg->path) != 0 ||
        pthread_create(&s->thread, NULL, worker_main, s) != 0) {
        checkpointer_stop(s);
        store_sqlite__finalize(s->st);
        sqlite3_close(s->db);
        uv_close((uv_handle_t *)&s->async, on_closed); /* frees s */
        return STORE_EIO;
    }
    *out = s;
    return STORE_OK;

fail_cond:
    pthread_cond_destroy(&s->cv);
fail_mutex:
    pthread_mutex_destroy(&s->mu);
fail_stmts:
    store_sqlite__finalize(s->st);
fail_db:
    sqlite3_close(s->db);
fail_free:
    free(s);
    return STORE_EIO;
}

uint64_t store_sqlite_commits(store *s) {
    return __atomic_load_n(&s->commits, __ATOMIC_RELAXED);
}

const store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .load = sqlite_load,
    .submit = sqlite_submit,
    .close = sqlite_close,
};
