/*
 * Shared fixture and op helpers for the store unit tests: store_contract.h
 * (the op contract and batching, run against every backend), test_store.c
 * (SQLite), test_store_batch.c (SQLite specifics), test_store_pg.c
 * (PostgreSQL). Header-only because each tests/unit/test_*.c is linked
 * alone with the library: every helper is static inline.
 *
 * The backend under test is SQLite unless the including file defines
 * STORE_TEST_BACKEND (with STORE_TEST_COMMITS and STORE_TEST_PAUSE, the
 * backend's test hooks) and provides its own setup/teardown that fill
 * fx.path (a file name or a conninfo) and call fx_open.
 *
 * Each test gets a fresh database, the real worker thread and a real libuv
 * loop delivering done() callbacks.
 */
#ifndef CHATD_STORE_TEST_UTIL_H
#define CHATD_STORE_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "store/store.h"
#include "svcutil.h"
#include "store/store_sqlite.h"

#ifndef STORE_TEST_BACKEND
#define STORE_TEST_BACKEND store_sqlite_backend
#define STORE_TEST_COMMITS store_sqlite_commits
#define STORE_TEST_PAUSE store_sqlite_pause
#define STORE_TEST_SQLITE_FIXTURE 1
#endif

#define CH_A "11111111-1111-4111-8111-111111111111"
#define CH_B "22222222-2222-4222-8222-222222222222"
#define CH_C "33333333-3333-4333-8333-333333333333"

static const store_backend *B = &STORE_TEST_BACKEND;

typedef struct fx {
    char dir[128];
    char path[256]; /* SQLite: the database file; PostgreSQL: the conninfo */
    uv_loop_t loop;
    store *s;
} fx;

/* ---- fixture ---------------------------------------------------------- */

static inline void fx_open_cfg(fx *f, int fsync, int max_batch) {
    store_config cfg = {.path = f->path, .fsync = fsync, .max_batch = max_batch};
    assert_int_equal(B->open(&f->s, &cfg, &f->loop), STORE_OK);
    assert_non_null(f->s);
}

static inline void fx_open(fx *f) {
    fx_open_cfg(f, 1, 0);
}

/* close() then let the loop finish closing the store's async handle. */
static inline void fx_close(fx *f) {
    B->close(f->s);
    f->s = NULL;
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

/* Transactions committed so far; hold (1) or release (0) the worker. */
static inline uint64_t fx_commits(fx *f) {
    return STORE_TEST_COMMITS(f->s);
}

static inline void fx_pause(fx *f, int pause) {
    STORE_TEST_PAUSE(f->s, pause);
}

#ifdef STORE_TEST_SQLITE_FIXTURE
static inline int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_non_null(svc_mkdtemp(f->dir, sizeof f->dir, "test_store."));
    snprintf(f->path, sizeof f->path, "%s/chatd.db", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    fx_open(f);
    *state = f;
    return 0;
}

static inline int teardown(void **state) {
    fx *f = *state;
    char p[300];
    if (f->s) fx_close(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}
#endif

/* ---- op helpers ------------------------------------------------------- */

static inline void count_done(store_op *op) {
    (*(int *)op->data)++;
}

/* Submits op and runs the loop until its done() has run. */
static inline int run_op(fx *f, store_op *op) {
    int n = 0;
    op->done = count_done;
    op->data = &n;
    B->submit(f->s, op);
    while (n == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(n, 1);
    return op->status;
}

static inline int user_create(fx *f, const char *name, const char *hash, int64_t ms) {
    store_op op = {.kind = STORE_USER_CREATE};
    op.u.user_create.username = name;
    op.u.user_create.pw_hash = hash;
    op.u.user_create.created_ms = ms;
    return run_op(f, &op);
}

/* members: NULL-terminated; the first is the creator (admin). */
static inline int chan_create(fx *f, const char *ch, const char *name, int is_direct, int64_t ms,
                              const char **members) {
    proto_member m[8];
    size_t n = 0;
    for (; members[n]; n++) {
        assert_true(n < 8);
        m[n] = (proto_member){.user_id = (char *)members[n], .is_admin = n == 0, .joined_ms = ms};
    }
    store_op op = {.kind = STORE_CHANNEL_CREATE};
    snprintf(op.u.channel_create.channel_id, 37, "%.36s", ch);
    op.u.channel_create.name = name;
    op.u.channel_create.is_direct = is_direct;
    op.u.channel_create.creator = members[0];
    op.u.channel_create.created_ms = ms;
    op.u.channel_create.members = m;
    op.u.channel_create.n_members = n;
    return run_op(f, &op);
}

static inline void fill_append(store_op *op, const char *ch, const char *user, uint64_t id,
                               const char *content, const char *cmid) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_MSG_APPEND;
    proto_msg *m = &op->u.msg_append.msg;
    snprintf(m->channel_id, sizeof m->channel_id, "%.36s", ch);
    m->id = id;
    m->created_ms = (int64_t)id;
    m->user_id = (char *)user;
    m->content = (char *)content;
    m->metadata = "{\"k\":1}";
    m->client_msg_id = (char *)cmid;
}

/* Appends and returns the status; *seq gets the assigned seq. */
static inline int append(fx *f, const char *ch, const char *user, uint64_t id, const char *content,
                         const char *cmid, int64_t *seq) {
    store_op op;
    fill_append(&op, ch, user, id, content, cmid);
    int st = run_op(f, &op);
    if (seq) *seq = op.u.msg_append.msg.seq;
    store_op_clear(&op);
    return st;
}

static inline int member_add(fx *f, const char *ch, const char *user, int64_t ms, int *added) {
    store_op op = {.kind = STORE_MEMBER_ADD};
    snprintf(op.u.member_add.channel_id, 37, "%.36s", ch);
    op.u.member_add.user_id = user;
    op.u.member_add.joined_ms = ms;
    int st = run_op(f, &op);
    if (added) *added = op.u.member_add.added;
    return st;
}

static inline int member_remove(fx *f, const char *ch, const char *user) {
    store_op op = {.kind = STORE_MEMBER_REMOVE};
    snprintf(op.u.member_remove.channel_id, 37, "%.36s", ch);
    op.u.member_remove.user_id = user;
    return run_op(f, &op);
}

static inline int mark(fx *f, const char *ch, const char *user, uint64_t id, int64_t at,
                       store_op *op) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_MARK_READ;
    snprintf(op->u.mark_read.channel_id, 37, "%.36s", ch);
    op->u.mark_read.user_id = user;
    op->u.mark_read.message_id = id;
    op->u.mark_read.at_ms = at;
    return run_op(f, op);
}

static inline int history(fx *f, store_op *op, const char *ch, uint64_t before, uint64_t after,
                          int limit) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_HISTORY;
    snprintf(op->u.history.channel_id, 37, "%.36s", ch);
    op->u.history.before = before;
    op->u.history.after = after;
    op->u.history.limit = limit;
    return run_op(f, op);
}

static inline int channel_get(fx *f, store_op *op, const char *ch) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_CHANNEL_GET;
    snprintf(op->u.channel_get.channel_id, 37, "%.36s", ch);
    return run_op(f, op);
}

static inline int channels_for(fx *f, store_op *op, const char *user) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_CHANNELS_FOR_USER;
    op->u.channels_for_user.user_id = user;
    return run_op(f, op);
}

/* Asserts a history page holds exactly ids first..first+n-1 (ids 100+seq). */
static inline void assert_page(store_op *op, int64_t first_seq, size_t n, int has_more) {
    assert_int_equal(op->status, STORE_OK);
    assert_int_equal(op->u.history.n_msgs, n);
    assert_int_equal(op->u.history.has_more, has_more);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(op->u.history.msgs[i].seq, first_seq + (int64_t)i);
        assert_int_equal(op->u.history.msgs[i].id, 100 + first_seq + (int64_t)i);
    }
}

static const char *ALICE_BOB[] = {"alice", "bob", NULL};

static inline proto_channel_entry *entry(store_op *op, const char *ch) {
    for (size_t i = 0; i < op->u.channels_for_user.n_entries; i++)
        if (strcmp(op->u.channels_for_user.entries[i].channel_id, ch) == 0)
            return &op->u.channels_for_user.entries[i];
    fail_msg("channel %s not listed", ch);
    return NULL;
}

#endif
