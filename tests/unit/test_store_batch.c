/*
 * Unit tests for what only the SQLite store has: the checkpointer, a failed
 * transaction rolling back its whole batch, and refusing a newer schema.
 * The op contract and the batching tests shared with PostgreSQL
 * (store_contract.h) run on SQLite in test_store.c. Fixture and helpers:
 * store_test_util.h.
 */
#include <sqlite3.h>
#include <sys/stat.h>

#include "proto/search_query.h"
#include "store_test_util.h"

/* done() callbacks record their op's index here, in call order. */
static int order_log[16];
static int order_n;

static void log_done(store_op *op) {
    order_log[order_n++] = (int)(intptr_t)op->data;
}

/* Submits n appends to CH_A by alice (ids id0, id0 + 1, ...), each
 * counting itself into *done when it completes. */
static void submit_appends(fx *f, store_op *ops, int n, uint64_t id0, const char *text, int *done) {
    for (int i = 0; i < n; i++) {
        fill_append(&ops[i], CH_A, "alice", id0 + (uint64_t)i, text, NULL);
        ops[i].done = count_done;
        ops[i].data = done;
        B->submit(f->s, &ops[i]);
    }
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
    submit_appends(f, ops, N, 9000, big, &done);
    while (done < N)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < N; i++)
        assert_int_equal(ops[i].status, STORE_OK);
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

/* Under load that never lets up, the WAL still starts over: the writer
 * waits at the checkpointer's gate while a RESTART runs (store_sqlite_ckpt.c).
 * Without the gate the RESTART waited out its busy timeout while the writer
 * kept the lock, and the WAL grew with everything written (800 MB in 10 s
 * of chat-bench's direct messages). */
static void test_wal_restarts_under_load(void **state) {
    enum { N = 60000 }; /* ~130 MB of WAL frames: four times the restart point */
    fx *f = *state;
    fx_close(f);
    store_config cfg = {.path = f->path, .fsync = 1, .wal_max_mb = 32};
    assert_int_equal(B->open(&f->s, &cfg, &f->loop), STORE_OK);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    static char big[2048];
    memset(big, 'y', sizeof big - 1);
    store_op *ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    int done = 0;
    submit_appends(f, ops, N, 20000, big, &done); /* all queued: the writer never idles */
    while (done < N)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < N; i++)
        assert_int_equal(ops[i].status, STORE_OK);
    free(ops);
    /* The WAL header's checkpoint sequence number counts the times the
     * WAL started over (big-endian, bytes 12-15). */
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    FILE *w = fopen(wal, "rb");
    assert_non_null(w);
    unsigned char hdr[16];
    assert_int_equal(fread(hdr, 1, sizeof hdr, w), sizeof hdr);
    fclose(w);
    uint32_t restarts =
        (uint32_t)hdr[12] << 24 | (uint32_t)hdr[13] << 16 | (uint32_t)hdr[14] << 8 | hdr[15];
    printf("the WAL started over %u times during %d appends of 2 KiB in one stream\n", restarts, N);
    assert_true(restarts >= 1);
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

/* One batch: PER rounds of one append to each of chans channels (bob
 * sends the third round); after round 0 bob marks channel 0 read, after
 * round 1 alice edits her first message in channel 1, after round 2 bob
 * marks channel 2 read. Then checks seqs, the marks, the edit's seq, unread
 * counts (which need bob's own-message counts) and the rows written back. */
static void batch_counters(fx *f, int chans) {
    enum { PER = 3, MAX_CHANS = 1030 };
    char ids[MAX_CHANS][37];
    assert_true(chans <= MAX_CHANS);
    for (int c = 0; c < chans; c++) {
        snprintf(ids[c], sizeof ids[c], "%08x-1111-4111-8111-11111111%04d", c + 1, chans);
        assert_int_equal(chan_create(f, ids[c], "c", 0, 1000, ALICE_BOB), STORE_OK);
    }
    int n = chans * PER + 3, k = 0, done = 0;
    store_op *ops = calloc((size_t)n, sizeof(*ops));
    assert_non_null(ops);
    uint64_t base = 100000 * (uint64_t)chans, id = base, first_in_1 = 0;
    for (int r = 0; r < PER; r++) {
        for (int c = 0; c < chans; c++, k++) {
            fill_append(&ops[k], ids[c], r == 2 ? "bob" : "alice", ++id, "m", NULL);
            if (r == 0 && c == 1) first_in_1 = id;
        }
        if (r == 0) { /* bob reads channel 0 up to its latest, mid-batch */
            ops[k].kind = STORE_MARK_READ;
            snprintf(ops[k].u.mark_read.channel_id, 37, "%s", ids[0]);
            ops[k].u.mark_read.user_id = "bob";
            ops[k].u.mark_read.at_ms = 5000;
            k++;
        }
        if (r == 1) { /* alice edits her first message in channel 1 */
            ops[k].kind = STORE_MSG_EDIT;
            snprintf(ops[k].u.change.channel_id, 37, "%s", ids[1]);
            ops[k].u.change.message_id = first_in_1;
            ops[k].u.change.user_id = "alice";
            ops[k].u.change.content = "m2";
            ops[k].u.change.at_ms = 6000;
            k++;
        }
        if (r == 2) { /* bob, having just sent, marks channel 2 read */
            ops[k].kind = STORE_MARK_READ;
            snprintf(ops[k].u.mark_read.channel_id, 37, "%s", ids[2]);
            ops[k].u.mark_read.user_id = "bob";
            ops[k].u.mark_read.at_ms = 7000;
            k++;
        }
    }
    assert_int_equal(k, n);
    fx_pause(f, 1);
    for (int i = 0; i < n; i++) {
        ops[i].done = count_done;
        ops[i].data = &done;
        B->submit(f->s, &ops[i]);
    }
    fx_pause(f, 0);
    while (done < n)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < n; i++)
        assert_int_equal(ops[i].status, STORE_OK);
    assert_int_equal(ops[chans].u.mark_read.message_id, base + 1); /* channel 0's latest then */
    assert_int_equal(ops[2 * chans + 1].u.change.seq, 3);          /* after two messages */
    for (int i = 0; i < n; i++)
        store_op_clear(&ops[i]);
    free(ops);

    for (int c = 0; c < chans; c++) {
        store_op h;
        history(f, &h, ids[c], 0, 0, 10);
        assert_int_equal(h.u.history.n_msgs, PER);
        for (size_t i = 0; i < PER; i++) /* channel 1 has the edit's seq between */
            assert_int_equal(h.u.history.msgs[i].seq, (int64_t)i + 1 + (c == 1 && i == 2));
        store_op_clear(&h);
    }
    store_op l;
    assert_int_equal(channels_for(f, &l, "bob"), STORE_OK);
    assert_int_equal(entry(&l, ids[0])->unread_count, 1); /* alice's second, after the mark */
    assert_int_equal(entry(&l, ids[1])->unread_count, 2); /* alice's two (one edited) */
    assert_int_equal(entry(&l, ids[chans - 1])->last_message_id, base + (uint64_t)(PER * chans));
    assert_int_equal(entry(&l, ids[2])->unread_count, 0); /* read after his own message */
    store_op_clear(&l);
    /* and the rows written back are what the next batch continues from */
    assert_int_equal(append(f, ids[2], "alice", base + 99998, "more", NULL, NULL), STORE_OK);
    assert_int_equal(channels_for(f, &l, "bob"), STORE_OK);
    assert_int_equal(entry(&l, ids[2])->unread_count, 1);
    store_op_clear(&l);
    int64_t seq;
    assert_int_equal(append(f, ids[0], "alice", base + 99999, "next", NULL, &seq), STORE_OK);
    assert_int_equal(seq, PER + 1);
}

/* Appends keep their channel's counters in memory for the batch
 * (store_sqlite_counters.c): with a read mark and an edit between them,
 * in a few channels and in more channels than the cache holds, every seq
 * stays gapless, the mark and the edit see the appends before them, and
 * the rows written back at COMMIT say what each channel holds. */
static void test_batch_counters(void **state) {
    batch_counters(*state, 3);
    batch_counters(*state, 1030); /* more than the cache holds (1,024) */
}

/* One batch in which bob and alice take turns (a1 b1 a2 b2 a3 b3 a4), and
 * then bob's read mark at a2: his own messages after it are found by
 * walking back the chain each append stored from the batch's counters
 * (messages.own_prev), so unread is a3 and a4 only. */
static void test_batch_own_chain(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    store_op ops[7];
    int done = 0;
    fx_pause(f, 1);
    for (int i = 0; i < 7; i++) {
        fill_append(&ops[i], CH_A, i % 2 ? "bob" : "alice", 500 + (uint64_t)i, "m", NULL);
        ops[i].done = count_done;
        ops[i].data = &done;
        B->submit(f->s, &ops[i]);
    }
    fx_pause(f, 0);
    while (done < 7)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(ops[i].status, STORE_OK);
        store_op_clear(&ops[i]);
    }
    store_op m;
    assert_int_equal(mark(f, CH_A, "bob", 502, 9000, &m), STORE_OK); /* a2 */
    store_op l;
    assert_int_equal(channels_for(f, &l, "bob"), STORE_OK);
    assert_int_equal(entry(&l, CH_A)->unread_count, 2);
    store_op_clear(&l);
    assert_int_equal(mark(f, CH_A, "bob", 505, 9001, &m), STORE_OK); /* b3 */
    assert_int_equal(channels_for(f, &l, "bob"), STORE_OK);
    assert_int_equal(entry(&l, CH_A)->unread_count, 1);
    store_op_clear(&l);
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

/* ---- the search queue (store_sqlite_index.c) ---- */

static int64_t sql_int(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static void open_lagging(fx *f) {
    fx_close(f);
    store_config cfg = {.path = f->path, .fsync = 0, .search_lag = 1000000};
    assert_int_equal(B->open(&f->s, &cfg, &f->loop), STORE_OK);
}

static void submit_search(fx *f, store_op *op, const search_query *q, int *done) {
    memset(op, 0, sizeof *op);
    op->kind = STORE_SEARCH;
    op->u.search.user_id = "alice";
    op->u.search.q = q;
    op->u.search.limit = 50;
    op->done = count_done;
    op->data = done;
    B->submit(f->s, op);
}

/* Appends only queue their text; a search in the same batch as the appends
 * (no idle moment in between to index them) still finds every one. */
static void test_search_indexes_the_queue_first(void **state) {
    enum { N = 40 };
    fx *f = *state;
    open_lagging(f);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    search_query q;
    assert_int_equal(search_query_parse("zqxqueued", 9, &q), 0);
    store_op ops[N], s;
    int done = 0;
    fx_pause(f, 1); /* everything below forms one batch */
    submit_appends(f, ops, N, 7000, "a zqxqueued text", &done);
    submit_search(f, &s, &q, &done);
    uint64_t commits = fx_commits(f);
    fx_pause(f, 0);
    while (done < N + 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(fx_commits(f), commits + 1); /* one batch */
    assert_int_equal(s.status, STORE_OK);
    assert_int_equal(s.u.search.n_msgs, N);
    assert_int_equal(s.u.search.msgs[0].id, 7000 + N - 1); /* newest first */
    store_op_clear(&s);
    for (int i = 0; i < N; i++)
        store_op_clear(&ops[i]);
}

/* Left alone, the writer indexes the queue in the background: it empties,
 * and the index holds every text. */
static void test_queue_indexed_in_background(void **state) {
    enum { N = 1000 };
    fx *f = *state;
    open_lagging(f);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    store_op *ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    int done = 0;
    submit_appends(f, ops, N, 8000, "background zqxlater", &done);
    while (done < N)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < N; i++)
        store_op_clear(&ops[i]);
    free(ops);
    int64_t left = -1;
    for (int i = 0; i < 200 && left != 0; i++) { /* at most a second of quiet, then chunks */
        usleep(50 * 1000);
        left = sql_int(f->path, "SELECT count(*) FROM search_queue");
    }
    assert_int_equal(left, 0);
    assert_int_equal(
        sql_int(f->path, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zqxlater'"),
        N);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_is_checkpointed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_restarts_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_transaction_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_own_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search_indexes_the_queue_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_indexed_in_background, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
