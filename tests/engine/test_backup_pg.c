/*
 * test_backup_pg: the PostgreSQL backup and restore of docs/OPERATIONS.md
 * ("Back up and restore"), on chatd's real schema through chatd's own
 * store. While a store is open on the database and writing (as a cluster
 * is), `pg_dump -Fc` takes a consistent snapshot; `pg_restore` into a new
 * database gives a database a new store opens (the migrations accept it)
 * and reads the accounts and the history back from, exactly as they were
 * at the dump: what was written after it is not there.
 */
#include "store/store_pg.h"

#define STORE_TEST_BACKEND store_pg_backend
#define STORE_TEST_COMMITS store_pg_commits
#define STORE_TEST_PAUSE store_pg_pause
#include "store_test_util.h"

#include "pgserver.h"

static pgserver srv;

static int group_setup(void **state) {
    return pgserver_init(&srv);
}

static int group_teardown(void **state) {
    pgserver_destroy(&srv);
    return 0;
}

static void open_db(fx *f, const char *db) {
    memset(f, 0, sizeof(*f));
    snprintf(f->path, sizeof f->path, "host=127.0.0.1 port=%d user=postgres dbname=%s", srv.port,
             db);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    fx_open(f);
}

static void close_db(fx *f) {
    fx_close(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static int sh(const char *cmd) {
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "test_backup_pg: `%s` failed (%d)\n", cmd, rc);
    return rc;
}

static void test_pg_dump_restore_round_trip(void **state) {
    char dir[160], cmd[600];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "chatd-pgbackup."));
    assert_int_equal(pgserver_exec(&srv, NULL, "CREATE DATABASE live"), 0);
    fx live;
    open_db(&live, "live");
    assert_int_equal(user_create(&live, "alice", "hash-a", 1000), STORE_OK);
    assert_int_equal(user_create(&live, "bob", "hash-b", 1001), STORE_OK);
    assert_int_equal(chan_create(&live, CH_A, "team", 0, 1002, ALICE_BOB), STORE_OK);
    for (int i = 1; i <= 20; i++)
        assert_int_equal(append(&live, CH_A, i % 2 ? "alice" : "bob", 100 + (uint64_t)i,
                                "backed up", NULL, NULL),
                         STORE_OK);

    /* the backup, taken while the store is open */
    snprintf(cmd, sizeof cmd,
             PGSERVER_BIN "/pg_dump -h 127.0.0.1 -p %d -U postgres -Fc -f %s/chatd.dump live",
             srv.port, dir);
    assert_int_equal(sh(cmd), 0);
    assert_int_equal(append(&live, CH_A, "alice", 121, "after the backup", NULL, NULL), STORE_OK);

    /* the restore, into a new database */
    assert_int_equal(pgserver_exec(&srv, NULL, "CREATE DATABASE restored"), 0);
    snprintf(cmd, sizeof cmd,
             PGSERVER_BIN "/pg_restore -h 127.0.0.1 -p %d -U postgres --no-owner -d restored "
                          "%s/chatd.dump",
             srv.port, dir);
    assert_int_equal(sh(cmd), 0);
    fx back;
    open_db(&back, "restored");
    store_op op;
    assert_int_equal(history(&back, &op, CH_A, 0, 0, 100), STORE_OK);
    assert_page(&op, 1, 20, 0); /* seqs 1..20, ids 101..120; not 121 */
    assert_string_equal(op.u.history.msgs[0].user_id, "alice");
    assert_string_equal(op.u.history.msgs[19].content, "backed up");
    store_op_clear(&op);
    memset(&op, 0, sizeof op);
    op.kind = STORE_USER_GET;
    op.u.user_get.username = "bob";
    assert_int_equal(run_op(&back, &op), STORE_OK);
    assert_string_equal(op.u.user_get.pw_hash, "hash-b");
    store_op_clear(&op);
    /* and it goes on from there: the next message is seq 21 */
    int64_t seq = 0;
    assert_int_equal(append(&back, CH_A, "bob", 122, "after the restore", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 21);
    close_db(&back);
    close_db(&live);
    svc_rmrf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_dump_restore_round_trip),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
