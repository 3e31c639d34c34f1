/*
 * Unit tests for the PostgreSQL store (src/store/store_pg*.c) against a
 * real, private PostgreSQL 15 started once for this program
 * (tests/pgserver.h); each test gets a fresh database.
 *
 * The whole contract of store_contract.h (the same tests SQLite passes),
 * then what only a shared server has: two stores (two chat servers)
 * appending to one channel at once keep seqs gapless and unique, and
 * client_msg_id dedup holds across them; a server restart fails the ops
 * caught in it with STORE_EIO and the store recovers by itself; a failing
 * statement rolls back the whole batch; the schema version is recorded and
 * a newer one refused; and a rough group-commit throughput figure.
 */
#include "store/store_pg.h"
#include "store/store_pg_int.h" /* store_pg__schema_version */

#define STORE_TEST_BACKEND store_pg_backend
#define STORE_TEST_COMMITS store_pg_commits
#define STORE_TEST_PAUSE store_pg_pause
#include "store_contract.h"
#include "store_contract_changes.h"

#include <time.h>

#include "pgserver.h"

static pgserver srv;
static int n_dbs;

static int group_setup(void **state) {
    return pgserver_init(&srv);
}

static int group_teardown(void **state) {
    pgserver_destroy(&srv);
    return 0;
}

/* A fresh database per test; fx.dir holds its name. */
static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char sql[192];
    snprintf(f->dir, sizeof f->dir, "t%d", ++n_dbs);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->dir);
    assert_int_equal(pgserver_exec(&srv, NULL, sql), 0);
    snprintf(f->path, sizeof f->path, "host=127.0.0.1 port=%d user=postgres dbname=%s", srv.port,
             f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    fx_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    if (f->s) fx_close(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* One number from the test's database, straight through libpq. */
static long long scalar(fx *f, const char *sql) {
    PGconn *c = PQconnectdb(f->path);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_up(store_op *op) {
    (*(int *)op->data)++;
}

/* A second store (another chat server) on the same database and loop. */
static store *open_second(fx *f, int max_batch) {
    store *s2 = NULL;
    store_config cfg = {.path = f->path, .fsync = 1, .max_batch = max_batch};
    assert_int_equal(B->open(&s2, &cfg, &f->loop), STORE_OK);
    return s2;
}

static void close_second(fx *f, store *s2) {
    B->close(s2);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the async handle's close callback */
}

/* ---- two servers ------------------------------------------------------ */

static void test_two_servers_append_to_one_channel(void **state) {
    enum { N = 400 };
    fx *f = *state;
    fx_close(f);
    fx_open_cfg(f, 1, 8); /* small batches: many interleaved transactions */
    store *s2 = open_second(f, 8);
    store *ss[2] = {f->s, s2};
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);

    static store_op ops[2][N];
    int done = 0;
    for (int i = 0; i < N; i++) /* alternate, so both workers run at once */
        for (int k = 0; k < 2; k++) {
            fill_append(&ops[k][i], CH_A, k ? "bob" : "alice", 1000 + (uint64_t)(k * N + i), "m",
                        NULL);
            ops[k][i].done = count_up;
            ops[k][i].data = &done;
            B->submit(ss[k], &ops[k][i]);
        }
    while (done < 2 * N)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_true(store_pg_commits(f->s) > 10 && store_pg_commits(s2) > 10);

    /* Each append either took the next seq or, when the other server had
     * meanwhile stored a greater id, was refused with STORE_ESTALE (ids
     * follow seq order) and took none. */
    static char seen[2 * N + 1];
    memset(seen, 0, sizeof seen);
    int ok = 0;
    for (int k = 0; k < 2; k++) {
        int64_t prev = 0;
        for (int i = 0; i < N; i++) {
            if (ops[k][i].status == STORE_ESTALE) continue;
            int64_t seq = ops[k][i].u.msg_append.msg.seq;
            assert_int_equal(ops[k][i].status, STORE_OK);
            assert_true(seq >= 1 && seq <= 2 * N);
            assert_int_equal(seen[seq], 0); /* unique */
            seen[seq] = 1;
            assert_true(seq > prev); /* one server's commits come in its submission order */
            prev = seq;
            ok++;
        }
    }
    assert_true(ok >= N); /* at least every append of whichever ran ahead */
    /* ok unique values in 1..ok: gapless. The stored rows agree, and their
     * ids rise with seq. */
    assert_int_equal(scalar(f, "SELECT count(*) FROM messages"), ok);
    assert_int_equal(scalar(f, "SELECT max(seq) FROM messages"), ok);
    assert_int_equal(scalar(f, "SELECT last_seq FROM channels"), ok);
    assert_int_equal(scalar(f, "SELECT count(*) FROM (SELECT message_id < lag(message_id)"
                               " OVER (ORDER BY seq) AS down FROM messages) t WHERE down"),
                     0);
    close_second(f, s2);
}

/* Protocol 1.1 across servers: two servers change the same messages at
 * once — both delete each one (exactly one succeeds, the other finds it
 * gone), both react to it (before the deletion: stored; after: refused) —
 * and every change that was stored took its own seq, gaplessly after the
 * messages', with no text of a deleted message left. */
static void test_two_servers_change_one_channel(void **state) {
    enum { N = 40 };
    fx *f = *state;
    fx_close(f);
    fx_open_cfg(f, 1, 4);
    store *s2 = open_second(f, 4);
    store *ss[2] = {f->s, s2};
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(append(f, CH_A, "alice", 1000 + (uint64_t)i, "secret text", NULL, NULL),
                         STORE_OK);

    static store_op ops[2][N][2];
    int done = 0;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 2; j++) { /* k = server; j: 0 react, 1 delete */
                store_op *op = &ops[k][i][j];
                memset(op, 0, sizeof *op);
                op->kind = j ? STORE_MSG_DELETE : STORE_REACT;
                snprintf(op->u.change.channel_id, 37, "%s", CH_A);
                op->u.change.message_id = 1000 + (uint64_t)i;
                op->u.change.user_id = j || k == 0 ? "alice" : "bob";
                op->u.change.emoji = "+1";
                op->u.change.add = 1;
                op->u.change.at_ms = 5000;
                op->done = count_up;
                op->data = &done;
                B->submit(ss[k], op);
            }
    while (done < 2 * N * 2)
        uv_run(&f->loop, UV_RUN_ONCE);

    static char seen[N * 5 + 1];
    memset(seen, 0, sizeof seen);
    int stored = 0;
    for (int i = 0; i < N; i++) {
        int deleted = 0;
        for (int k = 0; k < 2; k++) {
            store_op *del = &ops[k][i][1], *re = &ops[k][i][0];
            if (del->status == STORE_OK) {
                assert_int_equal(del->u.change.refused, STORE_REFUSE_NONE);
                deleted++;
            } else {
                assert_int_equal(del->status, STORE_ENOTFOUND); /* the other was first */
            }
            assert_int_equal(re->status, STORE_OK);
            if (re->u.change.refused) assert_int_equal(re->u.change.refused, STORE_REFUSE_DELETED);
            for (int j = 0; j < 2; j++) {
                int64_t seq = ops[k][i][j].u.change.seq;
                if (!seq) continue;
                assert_true(seq > N && seq <= N * 5);
                assert_int_equal(seen[seq], 0);
                seen[seq] = 1;
                stored++;
            }
            store_op_clear(del);
        }
        assert_int_equal(deleted, 1);
    }
    assert_int_equal(scalar(f, "SELECT last_seq FROM channels"), N + stored);
    assert_int_equal(scalar(f, "SELECT count(*) FROM changes"), stored);
    assert_int_equal(scalar(f, "SELECT max(seq) FROM changes"), N + stored);
    assert_int_equal(scalar(f, "SELECT count(*) FROM changes WHERE kind = 2"), N);
    assert_int_equal(scalar(f, "SELECT count(*) FROM messages WHERE content <> '' OR NOT deleted"),
                     0);
    assert_int_equal(scalar(f, "SELECT count(*) FROM reactions"), 0);
    close_second(f, s2);
}

static void test_dedup_across_servers(void **state) {
    enum { N = 100 };
    fx *f = *state;
    store *s2 = open_second(f, 4);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "original", "c-1", NULL), STORE_OK);

    /* a retry that lands on the other server finds the original */
    store_op op;
    int done = 0;
    fill_append(&op, CH_A, "alice", 102, "retry", "c-1");
    op.done = count_up;
    op.data = &done;
    B->submit(s2, &op);
    while (!done)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(op.status, STORE_EDUP);
    assert_int_equal(op.u.msg_append.msg.id, 101);
    assert_int_equal(op.u.msg_append.msg.seq, 1);
    assert_string_equal(op.u.msg_append.msg.content, "original");
    store_op_clear(&op);

    /* both servers get the same client ids at the same time */
    static store_op ops[2][N];
    static char cmid[N][16];
    store *ss[2] = {f->s, s2};
    done = 0;
    for (int i = 0; i < N; i++) {
        snprintf(cmid[i], sizeof cmid[i], "r-%d", i);
        for (int k = 0; k < 2; k++) {
            /* ids rise pair by pair, as two servers' clocks would make them */
            fill_append(&ops[k][i], CH_A, "alice", 1000 + (uint64_t)(2 * i + k), "m", cmid[i]);
            ops[k][i].done = count_up;
            ops[k][i].data = &done;
            B->submit(ss[k], &ops[k][i]);
        }
    }
    while (done < 2 * N)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < N; i++) {
        proto_msg *a = &ops[0][i].u.msg_append.msg, *b = &ops[1][i].u.msg_append.msg;
        int oks = (ops[0][i].status == STORE_OK) + (ops[1][i].status == STORE_OK);
        int dups = (ops[0][i].status == STORE_EDUP) + (ops[1][i].status == STORE_EDUP);
        assert_int_equal(oks, 1); /* exactly one stored, the other told so */
        assert_int_equal(dups, 1);
        assert_int_equal(a->id, b->id); /* the EDUP one carries the original */
        assert_int_equal(a->seq, b->seq);
        store_op_clear(&ops[0][i]);
        store_op_clear(&ops[1][i]);
    }
    /* no duplicate burned a seq */
    assert_int_equal(scalar(f, "SELECT count(*) FROM messages"), N + 1);
    assert_int_equal(scalar(f, "SELECT last_seq FROM channels"), N + 1);
    close_second(f, s2);
}

/* ---- failures --------------------------------------------------------- */

static void test_restart_fails_then_recovers(void **state) {
    fx *f = *state;
    int64_t seq;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "before", NULL, &seq), STORE_OK);
    uint64_t connects = store_pg_connects(f->s);

    /* a batch queued when the server goes away fails, all of it */
    store_op ops[5];
    for (int i = 0; i < 5; i++)
        fill_append(&ops[i], CH_A, "alice", 200 + (uint64_t)i, "lost", NULL);
    order_n = 0;
    fx_pause(f, 1);
    for (int i = 0; i < 5; i++) {
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    pgserver_stop(&srv, SIGINT); /* fast shutdown, as pg_ctl restart does */
    fx_pause(f, 0);
    while (order_n < 5)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ops[i].status, STORE_EIO);

    /* while it is down, ops fail at once rather than hang */
    double t0 = now_s();
    assert_int_equal(append(f, CH_A, "alice", 300, "down", NULL, NULL), STORE_EIO);
    assert_int_equal(append(f, CH_A, "alice", 301, "down", NULL, NULL), STORE_EIO);
    assert_true(now_s() - t0 < 2.0);

    assert_int_equal(pgserver_start(&srv), 0);
    int st = STORE_EIO;
    uint64_t id = 400;
    for (double end = now_s() + 10; st == STORE_EIO && now_s() < end; id++) {
        st = append(f, CH_A, "alice", id, "after", NULL, &seq);
        if (st == STORE_EIO) pgserver__sleep_ms(20); /* the reconnect backoff */
    }
    assert_int_equal(st, STORE_OK);
    assert_int_equal(seq, 2); /* nothing of the failed ops was stored */
    assert_true(store_pg_connects(f->s) > connects);
    store_op h;
    history(f, &h, CH_A, 0, 0, 10);
    assert_int_equal(h.u.history.n_msgs, 2);
    assert_string_equal(h.u.history.msgs[1].content, "after");
    store_op_clear(&h);
}

/* A failing statement (here: a trigger) fails and rolls back its batch. */
static void test_failed_transaction_rolls_back(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 100, "before", "k0", NULL), STORE_OK);
    assert_int_equal(
        pgserver_exec(&srv, f->dir,
                      "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$"
                      " BEGIN IF NEW.content = 'boom' THEN RAISE EXCEPTION 'boom'; END IF;"
                      " RETURN NEW; END $$;"
                      "CREATE TRIGGER boom BEFORE INSERT ON messages"
                      " FOR EACH ROW EXECUTE FUNCTION boom()"),
        0);
    uint64_t connects = store_pg_connects(f->s);

    store_op ops[4];
    fill_append(&ops[0], CH_A, "alice", 101, "ok", "k1");
    fill_append(&ops[1], CH_A, "alice", 102, "dup", "k1"); /* EDUP of ops[0] */
    fill_append(&ops[2], CH_A, "alice", 103, "boom", NULL);
    fill_append(&ops[3], CH_A, "alice", 104, "after", NULL);
    run_held(f, ops, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ops[i].status, STORE_EIO);
        assert_int_equal(ops[i].u.msg_append.owned__, 0);
        assert_int_equal(ops[i].u.msg_append.msg.seq, 0);
    }
    assert_string_equal(ops[1].u.msg_append.msg.content, "dup"); /* caller's again */
    assert_int_equal(pgserver_exec(&srv, f->dir, "DROP TRIGGER boom ON messages"), 0);

    /* nothing of the batch is stored: the retry is no duplicate, seq is gapless */
    int64_t seq;
    assert_int_equal(append(f, CH_A, "alice", 101, "ok", "k1", &seq), STORE_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(store_pg_connects(f->s), connects); /* the connection stayed */
}

/* ---- schema ----------------------------------------------------------- */

static void test_schema_version(void **state) {
    fx *f = *state;
    assert_int_equal(scalar(f, "SELECT max(version) FROM schema_migrations"),
                     store_pg__schema_version);
    fx_close(f);
    fx_open(f); /* a second open applies nothing more */
    assert_int_equal(scalar(f, "SELECT count(*) FROM schema_migrations"), store_pg__schema_version);
    fx_close(f);

    /* a database written by a newer chatd is refused, not misread */
    assert_int_equal(
        pgserver_exec(&srv, f->dir, "INSERT INTO schema_migrations(version) VALUES (99)"), 0);
    store_config cfg = {.path = f->path, .fsync = 1};
    store *s = (store *)1;
    assert_int_equal(B->open(&s, &cfg, &f->loop), STORE_EIO);
    assert_null(s);

    /* and so is a server nobody listens on */
    char bad[128];
    snprintf(bad, sizeof bad, "host=127.0.0.1 port=%d user=postgres connect_timeout=2",
             svc_free_port());
    cfg.path = bad;
    s = (store *)1;
    assert_int_equal(B->open(&s, &cfg, &f->loop), STORE_EIO);
    assert_null(s);
}

/* ---- a figure --------------------------------------------------------- */

static void test_group_commit_throughput(void **state) {
    enum { N = 20000, CHANNELS = 10 };
    fx *f = *state;
    char ids[CHANNELS][37];
    for (int c = 0; c < CHANNELS; c++) {
        snprintf(ids[c], sizeof ids[c], "%08d-1111-4111-8111-111111111111", c % 100);
        assert_int_equal(chan_create(f, ids[c], "c", 0, 1000 + c, ALICE_BOB), STORE_OK);
    }
    store_op *ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    int done = 0;
    uint64_t c0 = fx_commits(f);
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        fill_append(&ops[i], ids[i % CHANNELS], "alice", 10000 + (uint64_t)i,
                    "a message of typical size, some forty bytes", NULL);
        ops[i].done = count_up;
        ops[i].data = &done;
        B->submit(f->s, &ops[i]);
    }
    while (done < N)
        uv_run(&f->loop, UV_RUN_ONCE);
    double dt = now_s() - t0;
    uint64_t commits = fx_commits(f) - c0;
    for (int i = 0; i < N; i++)
        assert_int_equal(ops[i].status, STORE_OK);
    assert_int_equal(ops[N - 1].u.msg_append.msg.seq, N / CHANNELS);
    assert_true(commits < N / 100); /* batches, not one transaction per append */
    print_message("pg group commit: %d appends in %.2f s = %.0f appends/s, %llu transactions\n", N,
                  dt, N / dt, (unsigned long long)commits);
    free(ops);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        STORE_CONTRACT_TESTS(setup, teardown),
        STORE_CONTRACT_BATCH_TESTS(setup, teardown),
        STORE_CHANGES_CONTRACT_TESTS(setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_servers_append_to_one_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_across_servers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_servers_change_one_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_fails_then_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_transaction_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_throughput, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
