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
 * Threads, queue and completion hand-back are store_worker's (shared with
 * the PostgreSQL backend); this file runs a batch as one SQLite
 * transaction. The sqlite3 connection is used by the worker only, except
 * by load() while the worker is paused.
 *
 * Checkpoints are a thread of their own (store_sqlite_ckpt.c); before each
 * batch the writer passes its gate, where it waits while the WAL restarts.
 *
 * Search indexing is the writer's background work (store_sqlite_index.c):
 * index_idle() while nothing is queued and the machine has CPU to spare,
 * index_lag() after a batch when more than cfg->search_lag texts wait.
 *
 * The SQL lives in store_sqlite_schema.c and store_sqlite_ops.c.
 */
#include "store/store_sqlite.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#include "core/alloc.h"
#include "core/cpufree.h"
#include "core/err.h"
#include "core/metrics.h"
#include "store/store_sqlite_int.h"
#include "store/store_worker.h"

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[SQ__COUNT];
    store_worker *w;
    store_sqlite_ctr *ctr; /* counters cached for the batch (worker thread) */

    store_sqlite_ckpt *ckpt; /* the WAL checkpointer (store_sqlite_ckpt.c) */

    uint64_t commits;          /* atomic: transactions committed */
    store_sqlite__purge purge; /* worker only */

    /* The search queue (store_sqlite_index.c). Worker only. */
    int fsync;
    int64_t lag;      /* --search-lag */
    int64_t backlog;  /* texts queued, at most: appends counted, indexing subtracted */
    double batch_end; /* when the last batch committed (now_s) */
    cpufree cpu;      /* unused CPU, for index_idle() */
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Indexes up to n queued texts in a transaction of their own and keeps
 * the backlog count. 1 when texts may be left. */
static int index_some(store *s, int64_t n) {
    int64_t taken = store_sqlite__index_chunk(s->st, (int)n, s->fsync);
    if (taken < 0) return 0; /* retried after the next batch */
    s->backlog = taken < n ? 0 : s->backlog - taken;
    return s->backlog > 0;
}

/* The worker's idle step: one chunk of the search queue, with CPU nobody
 * else wants. While the machine has less than INDEX_FREE_CORES of unused
 * CPU (the loop thread, or anything else, is busy), indexing waits, so that
 * it never slows the messages themselves down; after INDEX_QUIET_MS
 * without a batch it runs anyway. The backlog stays bounded by
 * index_lag(). */
#define INDEX_FREE_CORES 0.5
#define INDEX_CPU_MS 100 /* how often unused CPU is measured */
#define INDEX_QUIET_MS 1000
static int index_idle(void *backend) {
    store *s = backend;
    if (s->backlog <= 0) return -1;
    double quiet_ms = (now_s() - s->batch_end) * 1000;
    if (quiet_ms < INDEX_QUIET_MS && cpufree_cores(&s->cpu, INDEX_CPU_MS) < INDEX_FREE_CORES)
        return INDEX_CPU_MS;
    return index_some(s, STORE_SQLITE__INDEX_CHUNK) ? 0 : -1;
}

/* After a batch: past the allowed lag, the excess is indexed now. */
static void index_lag(store *s, const store_op *ops) {
    for (const store_op *op = ops; op; op = op->next__)
        if (op->kind == STORE_MSG_APPEND && op->status == STORE_OK) s->backlog++;
    int64_t excess = s->backlog - s->lag;
    while (excess > 0 && index_some(s, excess < INT32_MAX ? excess : INT32_MAX))
        excess = s->backlog - s->lag;
}

/* Runs a batch in one transaction. Worker thread. */
static void run_batch(void *backend, store_op *ops, unsigned n) {
    store *s = backend;
    double t0 = now_s();
    store_sqlite__ctr_use(s->ctr);
    store_sqlite__ckpt_gate(s->ckpt); /* a WAL restart may be waiting for a quiet moment */
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
    if (!fatal && store_sqlite__ctr_flush(s->st) != 0) fatal = 1;
    if (!fatal && store_sqlite__run(s->st[SQ_COMMIT]) != SQLITE_OK) fatal = 1;
    if (fatal) {
        store_sqlite__ctr_drop();
        /* Some errors (disk full, I/O) have already rolled SQLite back. */
        if (!sqlite3_get_autocommit(s->db)) store_sqlite__run(s->st[SQ_ROLLBACK]);
        store_worker_fail_batch(ops);
        return;
    }
    __atomic_add_fetch(&s->commits, 1, __ATOMIC_RELAXED);
    metrics_commit(now_s() - t0, n);
    index_lag(s, ops);
    s->batch_end = now_s();
    store_sqlite__purge_step(s->db, &s->purge); /* a failure is retried after the next batch */
}

static void sqlite_submit(store *s, store_op *op) {
    store_worker_submit(s->w, op);
}

void store_sqlite_pause(store *s, int pause) {
    store_worker_pause(s->w, pause);
}

static int sqlite_load(store *s, const store_load_cbs *cbs) {
    store_sqlite_pause(s, 1); /* the connection is ours until resumed */
    int r = store_sqlite__load(s->st, cbs);
    store_sqlite_pause(s, 0);
    return r;
}

/* The worker has committed everything and exited: close the database. */
static void close_db(void *backend) {
    store *s = backend;
    store_sqlite__ckpt_stop(s->ckpt);
    s->ckpt = NULL;
    /* Fold the WAL into the database so the next start reads one file. */
    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    store_sqlite__finalize(s->st);
    sqlite3_close(s->db);
    s->db = NULL;
}

static void sqlite_close(store *s) {
    if (store_worker_stop(s->w, close_db) != 0) return; /* from a done() of this close */
    store_sqlite__ctr_free(s->ctr);
    free(s);
}

static int sqlite_open(store **out, const store_config *cfg, uv_loop_t *loop) {
    *out = NULL;
    if (!sqlite3_threadsafe()) return STORE_EIO;
    store *s = calloc(1, sizeof(*s));
    if (!s) return STORE_EIO;
    if (store_sqlite__open_db(cfg->path, cfg->fsync, &s->db) != 0) goto fail_free;
    if (store_sqlite__prepare(s->db, s->st) != 0) goto fail_db;
    s->ctr = store_sqlite__ctr_new();
    s->fsync = cfg->fsync;
    s->lag = cfg->search_lag > 0 ? cfg->search_lag : 0;
    s->backlog = store_sqlite__index_backlog(s->st); /* left by the last run */
    if (s->backlog < 0) goto fail_stmts;
    s->ckpt = store_sqlite__ckpt_start(s->db, cfg->path, cfg->wal_max_mb * 256); /* 4 KiB pages */
    if (!s->ckpt) goto fail_stmts;
    if (store_worker_start(&s->w, loop, cfg->max_batch, run_batch, index_idle, s) != 0)
        goto fail_ckpt;
    *out = s;
    return STORE_OK;

fail_ckpt:
    store_sqlite__ckpt_stop(s->ckpt);
fail_stmts:
    store_sqlite__ctr_free(s->ctr);
    store_sqlite__finalize(s->st);
fail_db:
    sqlite3_close(s->db);
fail_free:
    free(s);
    return STORE_EIO;
}

int store_sqlite_probe(const char *path, int timeout_ms, char *why, size_t whylen) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, timeout_ms);
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) snprintf(why, whylen, "SQLite %s: %s", path, sqlite3_errstr(rc));
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : CHATD_EIO;
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
