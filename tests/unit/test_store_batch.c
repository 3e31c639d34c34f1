/*
 * Unit tests for the SQLite store's batching and lifecycle
 * (src/store/store.h, store_sqlite.h): group commit and max_batch, dedup
 * and read-after-write inside one batch, a failed transaction rolling back
 * its whole batch, close() flushing the queue, persistence across a
 * reopen, and refusing a newer schema. Fixture and helpers:
 * store_test_util.h; the op contract is in test_store.c.
 */
#include <sys/stat.h>

#include "store_test_util.h"

/* done() callbacks record their op's index here, in call order. */
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

/* The checkpointer folds the WAL into the database file while the store
 * runs (the writer's own autocheckpoint is off): without it the WAL would
 * grow for ever and the database file would stay empty. */
static void test_wal_is_checkpointed(void **state) {
    enum { N = 3000 };
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    store_op *ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    int done = 0;
    for (int i = 0; i < N; i++) {
        fill_append(&ops[i], CH_A, "alice", 9000 + (uint64_t)i, big, NULL);
        ops[i].done = count_done;
        ops[i].data = &done;
        B->submit(f->s, &ops[i]);
    }
    while (done < N)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < N; i++) assert_int_equal(ops[i].status, STORE_OK);
    free(ops);
    struct stat db;
    for (int i = 0; i < 100; i++) { /* the checkpointer runs every 200 ms */
        assert_int_equal(stat(f->path, &db), 0);
        if (db.st_size > 4 * 1024 * 1024) break;
        usleep(20 * 1000);
    }
    printf("database file after %d appends of 2 KiB: %lld bytes\n", N, (long long)db.st_size);
    assert_true(db.st_size > 4 * 1024 * 1024);
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
        cmocka_unit_test_setup_teardown(test_dedup_inside_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_is_checkpointed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_sees_earlier_writes_in_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_transaction_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence_and_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
