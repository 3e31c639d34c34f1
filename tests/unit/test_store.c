/*
 * Unit tests for the store contract (src/store/store.h) on the SQLite
 * backend: real database files in a fresh temporary directory per test, the
 * real worker thread, a real libuv loop delivering done() callbacks.
 */
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
#include "store/store_sqlite.h"

#define CH_A "11111111-1111-4111-8111-111111111111"
#define CH_B "22222222-2222-4222-8222-222222222222"
#define CH_C "33333333-3333-4333-8333-333333333333"

static const store_backend *B = &store_sqlite_backend;

typedef struct fx {
    char dir[64];
    char path[128];
    uv_loop_t loop;
    store *s;
} fx;

/* ---- fixture ---------------------------------------------------------- */

static void fx_open(fx *f) {
    store_config cfg = {.path = f->path, .fsync = 1, .max_batch = 0};
    assert_int_equal(B->open(&f->s, &cfg, &f->loop), STORE_OK);
    assert_non_null(f->s);
}

/* close() then let the loop finish closing the store's async handle. */
static void fx_close(fx *f) {
    B->close(f->s);
    f->s = NULL;
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/chatd.db", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    fx_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char p[160];
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

/* ---- op helpers ------------------------------------------------------- */

static void count_done(store_op *op) {
    (*(int *)op->data)++;
}

/* Submits op and runs the loop until its done() has run. */
static int run_op(fx *f, store_op *op) {
    int n = 0;
    op->done = count_done;
    op->data = &n;
    B->submit(f->s, op);
    while (n == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(n, 1);
    return op->status;
}

static int user_create(fx *f, const char *name, const char *hash, int64_t ms) {
    store_op op = {.kind = STORE_USER_CREATE};
    op.u.user_create.username = name;
    op.u.user_create.pw_hash = hash;
    op.u.user_create.created_ms = ms;
    return run_op(f, &op);
}

/* members: NULL-terminated; the first is the creator (admin). */
static int chan_create(fx *f, const char *ch, const char *name, int is_direct, int64_t ms,
                       const char **members) {
    store_member m[8];
    size_t n = 0;
    for (; members[n]; n++) {
        assert_true(n < 8);
        m[n] = (store_member){.user_id = (char *)members[n], .is_admin = n == 0, .joined_ms = ms};
    }
    store_op op = {.kind = STORE_CHANNEL_CREATE};
    snprintf(op.u.channel_create.channel_id, 37, "%s", ch);
    op.u.channel_create.name = name;
    op.u.channel_create.is_direct = is_direct;
    op.u.channel_create.creator = members[0];
    op.u.channel_create.created_ms = ms;
    op.u.channel_create.members = m;
    op.u.channel_create.n_members = n;
    return run_op(f, &op);
}

static void fill_append(store_op *op, const char *ch, const char *user, uint64_t id,
                        const char *content, const char *cmid) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_MSG_APPEND;
    store_msg *m = &op->u.msg_append.msg;
    snprintf(m->channel_id, sizeof m->channel_id, "%s", ch);
    m->id = id;
    m->created_ms = (int64_t)id;
    m->user_id = (char *)user;
    m->content = (char *)content;
    m->metadata = "{\"k\":1}";
    m->client_msg_id = (char *)cmid;
}

/* Appends and returns the status; *seq gets the assigned seq. */
static int append(fx *f, const char *ch, const char *user, uint64_t id, const char *content,
                  const char *cmid, int64_t *seq) {
    store_op op;
    fill_append(&op, ch, user, id, content, cmid);
    int st = run_op(f, &op);
    if (seq) *seq = op.u.msg_append.msg.seq;
    store_op_clear(&op);
    return st;
}

static int member_add(fx *f, const char *ch, const char *user, int64_t ms, int *added) {
    store_op op = {.kind = STORE_MEMBER_ADD};
    snprintf(op.u.member_add.channel_id, 37, "%s", ch);
    op.u.member_add.user_id = user;
    op.u.member_add.joined_ms = ms;
    int st = run_op(f, &op);
    if (added) *added = op.u.member_add.added;
    return st;
}

static int member_remove(fx *f, const char *ch, const char *user) {
    store_op op = {.kind = STORE_MEMBER_REMOVE};
    snprintf(op.u.member_remove.channel_id, 37, "%s", ch);
    op.u.member_remove.user_id = user;
    return run_op(f, &op);
}

static int mark(fx *f, const char *ch, const char *user, uint64_t id, int64_t at, store_op *op) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_MARK_READ;
    snprintf(op->u.mark_read.channel_id, 37, "%s", ch);
    op->u.mark_read.user_id = user;
    op->u.mark_read.message_id = id;
    op->u.mark_read.at_ms = at;
    return run_op(f, op);
}

static int history(fx *f, store_op *op, const char *ch, uint64_t before, uint64_t after,
                   int limit) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_HISTORY;
    snprintf(op->u.history.channel_id, 37, "%s", ch);
    op->u.history.before = before;
    op->u.history.after = after;
    op->u.history.limit = limit;
    return run_op(f, op);
}

static int channels_for(fx *f, store_op *op, const char *user) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_CHANNELS_FOR_USER;
    op->u.channels_for_user.user_id = user;
    return run_op(f, op);
}

/* Asserts a history page holds exactly ids first..first+n-1 (ids 100+seq). */
static void assert_page(store_op *op, int64_t first_seq, size_t n, int has_more) {
    assert_int_equal(op->status, STORE_OK);
    assert_int_equal(op->u.history.n_msgs, n);
    assert_int_equal(op->u.history.has_more, has_more);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(op->u.history.msgs[i].seq, first_seq + (int64_t)i);
        assert_int_equal(op->u.history.msgs[i].id, 100 + first_seq + (int64_t)i);
    }
}

static const char *ALICE_BOB[] = {"alice", "bob", NULL};

/* ---- tests ------------------------------------------------------------ */

static void test_users(void **state) {
    fx *f = *state;
    assert_int_equal(user_create(f, "alice", "$argon2id$h1", 111), STORE_OK);
    assert_int_equal(user_create(f, "alice", "$argon2id$h2", 222), STORE_EEXIST);

    store_op op = {.kind = STORE_USER_GET};
    op.u.user_get.username = "alice";
    assert_int_equal(run_op(f, &op), STORE_OK);
    assert_string_equal(op.u.user_get.pw_hash, "$argon2id$h1");
    assert_int_equal(op.u.user_get.created_ms, 111);
    store_op_clear(&op);
    assert_null(op.u.user_get.pw_hash);
    store_op_clear(&op); /* twice is harmless */

    store_op miss = {.kind = STORE_USER_GET};
    miss.u.user_get.username = "nobody";
    assert_int_equal(run_op(f, &miss), STORE_ENOTFOUND);
    assert_null(miss.u.user_get.pw_hash);
}

static void test_channels_and_members(void **state) {
    fx *f = *state;
    int added = -1;
    assert_int_equal(chan_create(f, CH_A, "general", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_A, "again", 0, 1001, ALICE_BOB), STORE_EEXIST);

    assert_int_equal(member_add(f, CH_A, "carol", 2000, &added), STORE_OK);
    assert_int_equal(added, 1);
    assert_int_equal(member_add(f, CH_A, "carol", 3000, &added), STORE_OK);
    assert_int_equal(added, 0); /* already in: the old row stays */
    assert_int_equal(member_add(f, CH_B, "carol", 3000, &added), STORE_ENOTFOUND);

    store_op op;
    assert_int_equal(channels_for(f, &op, "carol"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 1);
    store_channel_entry *e = &op.u.channels_for_user.entries[0];
    assert_string_equal(e->channel_id, CH_A);
    assert_string_equal(e->name, "general");
    assert_int_equal(e->n_participants, 3);
    assert_string_equal(e->participants[0], "alice");
    assert_string_equal(e->participants[1], "bob");
    assert_string_equal(e->participants[2], "carol");
    store_op_clear(&op);
    assert_null(op.u.channels_for_user.entries);

    assert_int_equal(member_remove(f, CH_A, "carol"), STORE_OK);
    assert_int_equal(member_remove(f, CH_A, "carol"), STORE_ENOTFOUND);
    assert_int_equal(channels_for(f, &op, "carol"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 0);
    store_op_clear(&op);
}

/* A channel whose member list names a user twice is stored once, whole. */
static void test_channel_create_duplicate_member(void **state) {
    fx *f = *state;
    const char *dup[] = {"alice", "bob", "bob", NULL};
    assert_int_equal(chan_create(f, CH_A, "g", 0, 1000, dup), STORE_OK);
    store_op op;
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 1);
    assert_int_equal(op.u.channels_for_user.entries[0].n_participants, 2);
    store_op_clear(&op);
}

static void test_append_seq(void **state) {
    fx *f = *state;
    int64_t seq = 0;
    assert_int_equal(append(f, CH_A, "alice", 1, "x", NULL, &seq), STORE_ENOTFOUND);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(append(f, CH_A, "alice", 100 + i, "hi", NULL, &seq), STORE_OK);
        assert_int_equal(seq, i);
    }
    assert_int_equal(append(f, CH_B, "bob", 200, "other", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 1); /* per channel */
    /* a reused message id fails that op alone and burns no seq */
    assert_int_equal(append(f, CH_A, "alice", 101, "again", NULL, &seq), STORE_EIO);
    assert_int_equal(append(f, CH_A, "alice", 104, "next", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 4);
}

static void test_dedup_across_batches(void **state) {
    fx *f = *state;
    int64_t seq;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "original", "c-1", &seq), STORE_OK);
    assert_int_equal(seq, 1);

    char *mine = strdup("retry");
    store_op op;
    fill_append(&op, CH_A, "alice", 102, mine, "c-1");
    assert_int_equal(run_op(f, &op), STORE_EDUP);
    store_msg *m = &op.u.msg_append.msg;
    assert_int_equal(op.u.msg_append.owned__, 1);
    assert_int_equal(m->id, 101);
    assert_int_equal(m->seq, 1);
    assert_int_equal(m->created_ms, 101);
    assert_string_equal(m->channel_id, CH_A);
    assert_string_equal(m->user_id, "alice");
    assert_string_equal(m->content, "original");
    assert_string_equal(m->metadata, "{\"k\":1}");
    assert_string_equal(m->client_msg_id, "c-1");
    assert_ptr_not_equal(m->content, mine);
    store_op_clear(&op);
    assert_ptr_equal(m->content, mine); /* the caller's string is back */
    assert_int_equal(op.u.msg_append.owned__, 0);
    free(mine);

    /* same client id: other user, other channel -> distinct messages */
    assert_int_equal(append(f, CH_A, "bob", 103, "bob's", "c-1", &seq), STORE_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(append(f, CH_B, "alice", 104, "b", "c-1", &seq), STORE_OK);
    assert_int_equal(seq, 1);
    /* the duplicate burned no seq */
    assert_int_equal(append(f, CH_A, "alice", 105, "new", "c-2", &seq), STORE_OK);
    assert_int_equal(seq, 3);
}

static int order_log[2048];
static int order_n;

static void log_done(store_op *op) {
    order_log[order_n++] = (int)(intptr_t)op->data;
}

static void test_dedup_inside_one_batch(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = store_sqlite_commits(f->s);

    store_op ops[3];
    fill_append(&ops[0], CH_A, "alice", 101, "first", "same");
    fill_append(&ops[1], CH_A, "alice", 102, "second", "same");
    fill_append(&ops[2], CH_A, "alice", 103, "third", NULL);
    order_n = 0;
    store_sqlite_pause(f->s, 1);
    for (int i = 0; i < 3; i++) {
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    store_sqlite_pause(f->s, 0);
    while (order_n < 3)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(store_sqlite_commits(f->s) - c0, 1);

    assert_int_equal(ops[0].status, STORE_OK);
    assert_int_equal(ops[0].u.msg_append.msg.seq, 1);
    assert_int_equal(ops[1].status, STORE_EDUP);
    assert_int_equal(ops[1].u.msg_append.msg.id, 101);
    assert_string_equal(ops[1].u.msg_append.msg.content, "first");
    assert_int_equal(ops[2].status, STORE_OK);
    assert_int_equal(ops[2].u.msg_append.msg.seq, 2);
    for (int i = 0; i < 3; i++)
        store_op_clear(&ops[i]);
}

static void test_group_commit(void **state) {
    enum { N = 1000 };
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = store_sqlite_commits(f->s);

    store_op *ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    order_n = 0;
    for (int i = 0; i < N; i++) { /* the loop does not run meanwhile */
        fill_append(&ops[i], CH_A, i % 2 ? "alice" : "bob", 1000 + (uint64_t)i, "m", NULL);
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    while (order_n < N)
        uv_run(&f->loop, UV_RUN_ONCE);

    uint64_t commits = store_sqlite_commits(f->s) - c0;
    assert_true(commits >= 1);
    assert_true(commits < 50); /* first op alone at worst, then big batches */
    for (int i = 0; i < N; i++) {
        assert_int_equal(order_log[i], i); /* done() in submission order */
        assert_int_equal(ops[i].status, STORE_OK);
        assert_int_equal(ops[i].u.msg_append.msg.seq, i + 1); /* gapless */
    }
    free(ops);

    /* paused: exactly one transaction for a whole queue */
    c0 = store_sqlite_commits(f->s);
    store_op more[10];
    order_n = 0;
    store_sqlite_pause(f->s, 1);
    for (int i = 0; i < 10; i++) {
        fill_append(&more[i], CH_A, "alice", 5000 + (uint64_t)i, "m", NULL);
        more[i].done = log_done;
        more[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &more[i]);
    }
    store_sqlite_pause(f->s, 0);
    while (order_n < 10)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(store_sqlite_commits(f->s) - c0, 1);
    assert_int_equal(more[9].u.msg_append.msg.seq, N + 10);
}

/* max_batch caps how many ops share a transaction. */
static void test_max_batch(void **state) {
    fx *f = *state;
    fx_close(f);
    store_config cfg = {.path = f->path, .fsync = 0, .max_batch = 4};
    assert_int_equal(B->open(&f->s, &cfg, &f->loop), STORE_OK);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = store_sqlite_commits(f->s);
    store_op ops[10];
    order_n = 0;
    store_sqlite_pause(f->s, 1);
    for (int i = 0; i < 10; i++) {
        fill_append(&ops[i], CH_A, "alice", 100 + (uint64_t)i, "m", NULL);
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    store_sqlite_pause(f->s, 0);
    while (order_n < 10)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(store_sqlite_commits(f->s) - c0, 3); /* 4 + 4 + 2 */
    for (int i = 0; i < 10; i++)
        assert_int_equal(ops[i].u.msg_append.msg.seq, i + 1);
}

/* Ten messages 1..10 in CH_A with ids 101..110. */
static void ten_messages(fx *f) {
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(append(f, CH_A, "alice", 100 + (uint64_t)i, "m", NULL, NULL), STORE_OK);
}

static void test_history(void **state) {
    fx *f = *state;
    store_op op;
    ten_messages(f);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 900, "elsewhere", NULL, NULL), STORE_OK);

    history(f, &op, CH_A, 0, 0, 3); /* newest three */
    assert_page(&op, 8, 3, 1);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 0, 100);
    assert_page(&op, 1, 10, 0);
    assert_string_equal(op.u.history.msgs[0].content, "m");
    assert_string_equal(op.u.history.msgs[0].user_id, "alice");
    assert_null(op.u.history.msgs[0].client_msg_id);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 0, 10); /* exactly all: nothing older */
    assert_page(&op, 1, 10, 0);
    store_op_clear(&op);

    history(f, &op, CH_A, 108, 0, 3); /* before seq 8 */
    assert_page(&op, 5, 3, 1);
    store_op_clear(&op);
    history(f, &op, CH_A, 103, 0, 5); /* before seq 3: only 1, 2 */
    assert_page(&op, 1, 2, 0);
    store_op_clear(&op);
    history(f, &op, CH_A, 104, 0, 3); /* exactly 1..3 remain */
    assert_page(&op, 1, 3, 0);
    store_op_clear(&op);
    history(f, &op, CH_A, 101, 0, 3);
    assert_page(&op, 1, 0, 0);
    store_op_clear(&op);

    history(f, &op, CH_A, 0, 102, 3); /* after seq 2 */
    assert_page(&op, 3, 3, 1);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 107, 3); /* exactly 8..10 remain */
    assert_page(&op, 8, 3, 0);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 110, 3);
    assert_page(&op, 11, 0, 0);
    store_op_clear(&op);

    assert_int_equal(history(f, &op, CH_A, 900, 0, 3), STORE_ENOTFOUND); /* other channel */
    assert_null(op.u.history.msgs);
    assert_int_equal(history(f, &op, CH_A, 0, 999, 3), STORE_ENOTFOUND);
    assert_int_equal(history(f, &op, CH_C, 0, 0, 3), STORE_ENOTFOUND);
}

static void test_read_marks(void **state) {
    fx *f = *state;
    store_op op;
    ten_messages(f);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 900, "elsewhere", NULL, NULL), STORE_OK);

    assert_int_equal(mark(f, CH_A, "bob", 105, 5000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 105);
    assert_int_equal(op.u.mark_read.moved, 1);
    assert_int_equal(op.u.mark_read.last_read_ms, 5000);

    /* older: the mark stays where it was and is reported */
    assert_int_equal(mark(f, CH_A, "bob", 103, 6000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 105);
    assert_int_equal(op.u.mark_read.moved, 0);
    assert_int_equal(op.u.mark_read.last_read_ms, 5000);
    /* the same one again: no change either */
    assert_int_equal(mark(f, CH_A, "bob", 105, 6500, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.moved, 0);
    assert_int_equal(op.u.mark_read.last_read_ms, 5000);

    /* 0 = latest */
    assert_int_equal(mark(f, CH_A, "bob", 0, 7000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 110);
    assert_int_equal(op.u.mark_read.moved, 1);
    assert_int_equal(op.u.mark_read.last_read_ms, 7000);

    assert_int_equal(mark(f, CH_A, "bob", 900, 7000, &op), STORE_ENOTFOUND); /* other channel */
    assert_int_equal(mark(f, CH_A, "bob", 12345, 7000, &op), STORE_ENOTFOUND);
    assert_int_equal(mark(f, CH_A, "mallory", 0, 7000, &op), STORE_ENOTFOUND); /* not a member */
    assert_int_equal(mark(f, CH_C, "bob", 0, 7000, &op), STORE_ENOTFOUND);

    /* empty channel: nothing to mark */
    assert_int_equal(chan_create(f, CH_C, "c", 0, 1002, ALICE_BOB), STORE_OK);
    assert_int_equal(mark(f, CH_C, "bob", 0, 8000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 0);
    assert_int_equal(op.u.mark_read.moved, 0);
    assert_int_equal(op.u.mark_read.last_read_ms, -1);
}

static store_channel_entry *entry(store_op *op, const char *ch) {
    for (size_t i = 0; i < op->u.channels_for_user.n_entries; i++)
        if (strcmp(op->u.channels_for_user.entries[i].channel_id, ch) == 0)
            return &op->u.channels_for_user.entries[i];
    fail_msg("channel %s not listed", ch);
    return NULL;
}

static void test_unread_counts(void **state) {
    fx *f = *state;
    store_op op, m;
    /* created out of id order: listing follows created_ms */
    assert_int_equal(chan_create(f, CH_B, "later", 0, 2000, ALICE_BOB), STORE_OK);
    const char *dm[] = {"bob", "alice", NULL};
    assert_int_equal(chan_create(f, CH_A, "", 1, 1000, dm), STORE_OK);
    assert_int_equal(chan_create(f, CH_C, "empty", 0, 3000, ALICE_BOB), STORE_OK);

    assert_int_equal(append(f, CH_B, "alice", 101, "a1", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "alice", 102, "a2", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 103, "b1", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "system", 104, "carol joined", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "alice", 105, "a3", NULL, NULL), STORE_OK);

    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 3);
    store_channel_entry *e = op.u.channels_for_user.entries;
    assert_string_equal(e[0].channel_id, CH_A);
    assert_string_equal(e[1].channel_id, CH_B);
    assert_string_equal(e[2].channel_id, CH_C);
    assert_int_equal(e[0].is_direct, 1);
    assert_string_equal(e[0].name, "");
    assert_int_equal(e[0].last_message_id, 0);
    assert_int_equal(e[0].unread_count, 0);
    assert_string_equal(e[0].participants[0], "bob");
    assert_int_equal(e[1].is_direct, 0);
    assert_string_equal(e[1].name, "later");
    assert_int_equal(e[1].last_message_id, 105);
    assert_int_equal(e[1].last_read_message_id, 0);
    assert_int_equal(e[1].last_read_ms, -1);
    assert_int_equal(e[1].unread_count, 3); /* a1 a2 a3: not own, not system */
    assert_int_equal(e[1].n_participants, 2);
    store_op_clear(&op);

    assert_int_equal(mark(f, CH_B, "bob", 102, 9000, &m), STORE_OK);
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    e = entry(&op, CH_B);
    assert_int_equal(e->unread_count, 1); /* a3 */
    assert_int_equal(e->last_read_message_id, 102);
    assert_int_equal(e->last_read_ms, 9000);
    store_op_clear(&op);

    assert_int_equal(channels_for(f, &op, "alice"), STORE_OK);
    assert_int_equal(entry(&op, CH_B)->unread_count, 1); /* b1 only */
    store_op_clear(&op);

    assert_int_equal(mark(f, CH_B, "bob", 0, 9500, &m), STORE_OK);
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(entry(&op, CH_B)->unread_count, 0);
    store_op_clear(&op);

    assert_int_equal(channels_for(f, &op, "nobody"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 0);
    store_op_clear(&op);
}

/* A read in the same batch sees the writes queued before it. */
static void test_read_sees_earlier_writes_in_batch(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = store_sqlite_commits(f->s);
    store_op w, r;
    fill_append(&w, CH_A, "alice", 101, "fresh", NULL);
    memset(&r, 0, sizeof r);
    r.kind = STORE_HISTORY;
    snprintf(r.u.history.channel_id, 37, "%s", CH_A);
    r.u.history.limit = 10;
    order_n = 0;
    w.done = r.done = log_done;
    w.data = (void *)0;
    r.data = (void *)1;
    store_sqlite_pause(f->s, 1);
    B->submit(f->s, &w);
    B->submit(f->s, &r);
    store_sqlite_pause(f->s, 0);
    while (order_n < 2)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(store_sqlite_commits(f->s) - c0, 1);
    assert_int_equal(order_log[0], 0);
    assert_int_equal(order_log[1], 1);
    assert_int_equal(r.status, STORE_OK);
    assert_int_equal(r.u.history.n_msgs, 1);
    assert_string_equal(r.u.history.msgs[0].content, "fresh");
    store_op_clear(&r);
}

/* A failing transaction stores nothing of its batch and fails all of it. */
static void test_failed_transaction_rolls_back(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 100, "before", "k0", NULL), STORE_OK);

    /* A trigger (from another connection) aborts the whole transaction. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TRIGGER boom BEFORE INSERT ON messages"
                     " WHEN NEW.content = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END",
                     NULL, NULL, NULL),
        SQLITE_OK);

    store_op ops[4];
    fill_append(&ops[0], CH_A, "alice", 101, "ok", "k1");
    fill_append(&ops[1], CH_A, "alice", 102, "dup", "k1"); /* EDUP of ops[0] */
    fill_append(&ops[2], CH_A, "alice", 103, "boom", NULL);
    fill_append(&ops[3], CH_A, "alice", 104, "after", NULL);
    order_n = 0;
    store_sqlite_pause(f->s, 1);
    for (int i = 0; i < 4; i++) {
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    store_sqlite_pause(f->s, 0);
    while (order_n < 4)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ops[i].status, STORE_EIO);
        assert_int_equal(ops[i].u.msg_append.owned__, 0);
    }
    assert_string_equal(ops[1].u.msg_append.msg.content, "dup"); /* caller's again */

    assert_int_equal(sqlite3_exec(db, "DROP TRIGGER boom", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* nothing of the batch is stored: the retry is no duplicate, seq is gapless */
    int64_t seq;
    assert_int_equal(append(f, CH_A, "alice", 101, "ok", "k1", &seq), STORE_OK);
    assert_int_equal(seq, 2);
    store_op h;
    history(f, &h, CH_A, 0, 0, 10);
    assert_int_equal(h.u.history.n_msgs, 2);
    store_op_clear(&h);
}

/* close() commits what is queued, runs the done()s itself; later submits
 * get STORE_ECLOSED. */
static store_op late;
static int late_done;
static store *closing_store;

static void count_late(store_op *op) {
    late_done++;
}

static void submit_late(store_op *op) {
    order_log[order_n++] = (int)(intptr_t)op->data;
    if (op->data == (void *)4) {
        memset(&late, 0, sizeof late);
        late.kind = STORE_USER_GET;
        late.u.user_get.username = "alice";
        late.done = count_late;
        B->submit(closing_store, &late);
    }
}

static void test_close_flushes_queue(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    store_op ops[5];
    order_n = 0;
    late_done = 0;
    closing_store = f->s;
    for (int i = 0; i < 5; i++) {
        fill_append(&ops[i], CH_A, "alice", 100 + (uint64_t)i, "queued", NULL);
        ops[i].done = submit_late;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    B->close(f->s); /* no loop run between the submits and close */
    f->s = NULL;
    assert_int_equal(order_n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(order_log[i], i);
        assert_int_equal(ops[i].status, STORE_OK);
        assert_int_equal(ops[i].u.msg_append.msg.seq, i + 1);
    }
    assert_int_equal(late_done, 1);
    assert_int_equal(late.status, STORE_ECLOSED);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);

    fx_open(f);
    store_op h;
    history(f, &h, CH_A, 0, 0, 10);
    assert_int_equal(h.u.history.n_msgs, 5);
    store_op_clear(&h);
}

typedef struct loaded {
    int users, channels, members;
    char names[8][16];
    int bob_admin;
    int64_t bob_joined;
    int direct_seen;
} loaded;

static void on_user(void *data, const char *username) {
    loaded *l = data;
    snprintf(l->names[l->users++ % 8], 16, "%s", username);
}

static void on_channel(void *data, const char *channel_id, const char *name, int is_direct,
                       const char *creator, int64_t created_ms) {
    loaded *l = data;
    l->channels++;
    if (strcmp(channel_id, CH_B) == 0) {
        assert_int_equal(is_direct, 1);
        assert_string_equal(creator, "bob");
        assert_int_equal(created_ms, 2000);
        assert_string_equal(name, "");
        l->direct_seen = 1;
    }
}

static void on_member(void *data, const char *channel_id, const store_member *m) {
    loaded *l = data;
    l->members++;
    if (strcmp(channel_id, CH_A) == 0 && strcmp(m->user_id, "bob") == 0) {
        l->bob_admin = m->is_admin;
        l->bob_joined = m->joined_ms;
    }
}

static void test_persistence_and_load(void **state) {
    fx *f = *state;
    store_op op;
    assert_int_equal(user_create(f, "alice", "h-a", 10), STORE_OK);
    assert_int_equal(user_create(f, "bob", "h-b", 20), STORE_OK);
    assert_int_equal(user_create(f, "carol", "h-c", 30), STORE_OK);
    assert_int_equal(chan_create(f, CH_A, "general", 0, 1000, ALICE_BOB), STORE_OK);
    const char *dm[] = {"bob", "carol", NULL};
    assert_int_equal(chan_create(f, CH_B, NULL, 1, 2000, dm), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "one", "k1", NULL), STORE_OK);
    assert_int_equal(append(f, CH_A, "bob", 102, "two", NULL, NULL), STORE_OK);
    assert_int_equal(mark(f, CH_A, "alice", 102, 5000, &op), STORE_OK);

    fx_close(f);
    fx_open(f);

    loaded l = {0};
    store_load_cbs cbs = {.data = &l, .user = on_user, .channel = on_channel, .member = on_member};
    assert_int_equal(B->load(f->s, &cbs), STORE_OK);
    assert_int_equal(l.users, 3);
    assert_string_equal(l.names[0], "alice");
    assert_string_equal(l.names[2], "carol");
    assert_int_equal(l.channels, 2);
    assert_int_equal(l.members, 4);
    assert_int_equal(l.direct_seen, 1);
    assert_int_equal(l.bob_admin, 0);
    assert_int_equal(l.bob_joined, 1000);

    /* everything is still there and the store keeps working */
    assert_int_equal(user_create(f, "alice", "x", 1), STORE_EEXIST);
    int64_t seq;
    assert_int_equal(append(f, CH_A, "alice", 150, "retry", "k1", &seq), STORE_EDUP);
    assert_int_equal(append(f, CH_A, "alice", 103, "three", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 2);
    assert_int_equal(entry(&op, CH_A)->unread_count, 2); /* alice's one and three */
    store_op_clear(&op);
    assert_int_equal(channels_for(f, &op, "alice"), STORE_OK);
    assert_int_equal(entry(&op, CH_A)->last_read_message_id, 102);
    assert_int_equal(entry(&op, CH_A)->last_read_ms, 5000);
    assert_int_equal(entry(&op, CH_A)->unread_count, 0);
    store_op_clear(&op);

    /* the schema version is recorded */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A database written by a newer chatd is refused, not misread. */
static void test_refuses_newer_schema(void **state) {
    fx *f = *state;
    fx_close(f);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store_config cfg = {.path = f->path, .fsync = 1};
    store *s = (store *)1;
    assert_int_equal(B->open(&s, &cfg, &f->loop), STORE_EIO);
    assert_null(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels_and_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_create_duplicate_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_across_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_inside_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_sees_earlier_writes_in_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_transaction_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
