/*
 * store_sqlite_ckpt: the WAL checkpointer of the SQLite backend — a thread
 * with its own connection that copies the WAL back into the database file.
 *
 * Why a thread: SQLite's automatic checkpoint would run inside a commit on
 * the writer and stall every message queued behind it (tens of ms). So the
 * writer's autocheckpoint is off, and this thread runs PASSIVE checkpoints
 * (which never block the writer) every CKPT_MS.
 *
 * Why a gate: under steady load PASSIVE never catches up with the writer
 * (it copies what was there when it began while the writer adds more), so
 * the WAL is never reset and grows without bound: 800 MB in 10 s of
 * 1,000 direct-message pairs, every frame a new block the kernel zeroes,
 * every page-cache miss of the writer a search through a growing WAL
 * index. Past max_frames (store_config.wal_max_mb) the WAL must start over, which needs a
 * RESTART checkpoint: one moment with no write transaction. Left to
 * SQLite's busy handler, that moment never came (the writer takes the lock
 * again the instant it commits; the checkpoint waited its whole 5 s
 * timeout while the WAL grew). So the checkpointer raises the gate, the
 * writer waits at it before its next batch (store_sqlite__ckpt_gate) and
 * says it has arrived, the RESTART copies what PASSIVE left (little) and
 * the gate opens. The next write transaction then reuses the WAL file from
 * its start. The checkpointer starts the RESTART only once the writer is at
 * the gate: tried earlier, it would find the write lock held and sleep in
 * SQLite's busy handler (steps of up to 25 ms) while the writer waits.
 *
 * Threads: start/stop on the thread that owns the store; gate on the
 * writer only; the rest is this file's thread.
 */
#include "store/store_sqlite_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/alloc.h"

#define CKPT_MS 200
#define CKPT_MAX_FRAMES 32768 /* default: ~128 MiB of WAL with 4 KiB pages */
#define GATE_MAX_MS 1000      /* the writer never waits longer than this */
#define CATCH_UP_PASSES 2     /* PASSIVE runs just before the gate closes */

struct store_sqlite_ckpt {
    sqlite3 *db; /* the checkpointer's connection */
    pthread_t thread;
    pthread_mutex_t mu;     /* guards stop, gate and waiting */
    pthread_cond_t wake;    /* the checkpointer's timer and stop */
    pthread_cond_t open;    /* the gate opened */
    pthread_cond_t arrived; /* the writer is at the gate */
    int max_frames;         /* past this, the WAL starts over */
    int stop;
    int gate;    /* 1: the writer waits before its next batch (also read atomically) */
    int waiting; /* the writer is at the gate, holding no transaction */
};

static void deadline(struct timespec *t, long ms) {
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_nsec += ms * 1000000L;
    t->tv_sec += t->tv_nsec / 1000000000L;
    t->tv_nsec %= 1000000000L;
}

/* Raises the gate and waits (at most GATE_MAX_MS) until the writer is at it. */
static void close_gate(store_sqlite_ckpt *c) {
    struct timespec until;
    deadline(&until, GATE_MAX_MS);
    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->gate, 1, __ATOMIC_RELEASE);
    while (!c->waiting && !c->stop && pthread_cond_timedwait(&c->arrived, &c->mu, &until) == 0) {
    }
    pthread_mutex_unlock(&c->mu);
}

static void open_gate(store_sqlite_ckpt *c) {
    pthread_mutex_lock(&c->mu);
    __atomic_store_n(&c->gate, 0, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&c->open);
    pthread_mutex_unlock(&c->mu);
}

static void *ckpt_main(void *arg) {
    store_sqlite_ckpt *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec until;
        deadline(&until, CKPT_MS);
        pthread_cond_timedwait(&c->wake, &c->mu, &until);
        if (c->stop) break;
        pthread_mutex_unlock(&c->mu);
        int frames = 0, done = 0;
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
        if (frames < 0) /* this connection has not opened the WAL yet: a read does */
            sqlite3_exec(c->db, "PRAGMA schema_version", NULL, NULL, NULL);
        if (frames > c->max_frames) { /* load never lets PASSIVE catch up: start over */
            /* What the writer added meanwhile, copied while it still runs:
             * the gate then stays up only for the last few frames. */
            for (int i = 0; i < CATCH_UP_PASSES; i++)
                sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
            close_gate(c);
            sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, &frames, &done);
            open_gate(c);
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

void store_sqlite__ckpt_gate(store_sqlite_ckpt *c) {
    if (!c || !__atomic_load_n(&c->gate, __ATOMIC_ACQUIRE)) return;
    struct timespec until;
    deadline(&until, GATE_MAX_MS);
    pthread_mutex_lock(&c->mu);
    c->waiting = 1;
    pthread_cond_signal(&c->arrived);
    while (c->gate && pthread_cond_timedwait(&c->open, &c->mu, &until) == 0) {
    }
    c->waiting = 0;
    pthread_mutex_unlock(&c->mu);
}

store_sqlite_ckpt *store_sqlite__ckpt_start(sqlite3 *writer, const char *path, int max_frames) {
    if (sqlite3_exec(writer, "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) != SQLITE_OK)
        return NULL;
    store_sqlite_ckpt *c = xcalloc(1, sizeof *c);
    c->max_frames = max_frames > 0 ? max_frames : CKPT_MAX_FRAMES;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) goto fail;
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_exec(c->db, "PRAGMA schema_version", NULL, NULL, NULL); /* opens the WAL */
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->open, NULL);
    pthread_cond_init(&c->arrived, NULL);
    if (pthread_create(&c->thread, NULL, ckpt_main, c) == 0) return c;
    pthread_cond_destroy(&c->arrived);
    pthread_cond_destroy(&c->open);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
fail:
    sqlite3_close(c->db);
    free(c);
    return NULL;
}

void store_sqlite__ckpt_stop(store_sqlite_ckpt *c) {
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_broadcast(&c->wake);
    pthread_cond_broadcast(&c->arrived);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->arrived);
    pthread_cond_destroy(&c->open);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close(c->db);
    free(c);
}
