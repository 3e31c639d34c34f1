/*
 * Unit tests for store/store_sqlite_walbuf: the VFS that gathers WAL frame
 * writes. Real SQLite databases in a temp dir: what one connection commits
 * through the VFS another connection (the default VFS, as the checkpointer
 * uses) reads back whole, also after transactions larger than the page
 * cache (SQLite then writes frames mid-transaction and rewrites some in
 * place); a process killed right after a commit leaves that commit on
 * disk; and the writes reaching the file are far fewer than SQLite's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store_sqlite_walbuf.h"
#include "svcutil.h"

typedef struct fx {
    char dir[512];
    char path[600];
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_non_null(svc_mkdtemp(f->dir, sizeof f->dir, "test_walbuf."));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void exec_ok(sqlite3 *db, const char *sql) {
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) fail_msg("%s: %s", sql, err ? err : "?");
}

static int64_t int_of(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The writer as the store opens it with fsync on: WAL, synchronous FULL. */
static sqlite3 *open_writer(const char *path, int cache_pages) {
    const char *vfs = store_sqlite_walbuf_vfs();
    assert_non_null(vfs);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    exec_ok(db, "PRAGMA journal_mode = WAL");
    exec_ok(db, "PRAGMA synchronous = FULL");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", cache_pages);
    exec_ok(db, sql);
    exec_ok(db, "CREATE TABLE IF NOT EXISTS t(k INTEGER PRIMARY KEY, v BLOB, n INTEGER)");
    return db;
}

static sqlite3 *open_reader(const char *path) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

/* Each commit, also one of 20,000 rows through a 20-page cache (frames
 * written mid-transaction, then updated again: rewritten in place), is
 * read back whole by another connection, and the database checks out. */
static void test_commits_read_back_whole(void **state) {
    fx *f = *state;
    sqlite3 *w = open_writer(f->path, 20), *r = open_reader(f->path);
    int64_t rows = 0;
    for (int round = 1; round <= 5; round++) {
        int n = round == 3 ? 20000 : 500 * round;
        char sql[256];
        exec_ok(w, "BEGIN");
        snprintf(sql, sizeof sql,
                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %d)"
                 " INSERT INTO t(v, n) SELECT randomblob(200), %d FROM c",
                 n, round);
        exec_ok(w, sql);
        snprintf(sql, sizeof sql, "UPDATE t SET n = n + 100 WHERE n = %d", round);
        exec_ok(w, sql);
        exec_ok(w, "COMMIT");
        rows += n;
        assert_int_equal(int_of(r, "SELECT count(*) FROM t"), rows);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE n = %d", round + 100);
        assert_int_equal(int_of(r, sql), n);
    }
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(r, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(r);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
}

/* A commit that fits the page cache (the store's case: a 64 MiB cache)
 * writes its frames in runs: the file sees a small part of SQLite's
 * writes. */
static void test_frames_written_in_runs(void **state) {
    fx *f = *state;
    sqlite3 *w = open_writer(f->path, 2000);
    walbuf_stats before = store_sqlite_walbuf_stats();
    exec_ok(w, "BEGIN");
    exec_ok(w, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000)"
               " INSERT INTO t(v, n) SELECT randomblob(200), 1 FROM c");
    exec_ok(w, "COMMIT");
    walbuf_stats after = store_sqlite_walbuf_stats();
    uint64_t in = after.writes_in - before.writes_in, out = after.writes_out - before.writes_out;
    assert_true(in > 300);     /* two a page, ~170 pages */
    assert_true(out * 8 < in); /* 64 KiB a write: 15 frames, 30 of SQLite's writes */
    sqlite3 *r = open_reader(f->path);
    assert_int_equal(int_of(r, "SELECT count(*) FROM t"), 3000);
    sqlite3_close(r);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
}

/* With synchronous OFF or NORMAL a commit does not sync, yet it is on the
 * file when COMMIT returns: another connection reads it at once. Small
 * commits, each far smaller than the buffer. (Flushed only at a sync, the
 * reader found the frames the wal-index promised missing from the file:
 * the checkpointer's "disk I/O error", SQLITE_IOERR_SHORT_READ.) */
static void test_commit_visible_without_sync(void **state) {
    fx *f = *state;
    const char *modes[] = {"PRAGMA synchronous = OFF", "PRAGMA synchronous = NORMAL"};
    sqlite3 *w = open_writer(f->path, 2000), *r = open_reader(f->path);
    int64_t rows = 0;
    for (int m = 0; m < 2; m++) {
        exec_ok(w, modes[m]);
        for (int i = 0; i < 20; i++) {
            exec_ok(w, "INSERT INTO t(v, n) VALUES(randomblob(100), 7)");
            rows++;
            assert_int_equal(int_of(r, "SELECT count(*) FROM t"), rows);
            assert_int_equal(int_of(r, "SELECT sum(length(v)) FROM t"), rows * 100);
        }
    }
    sqlite3_close(r);
    assert_int_equal(sqlite3_close(w), SQLITE_OK);
}

/* A child commits and reports each commit on a pipe; it is killed
 * (SIGKILL: no close, nothing flushed by an exit) in the middle of its
 * work. Every commit it reported is in the database. */
static void test_killed_writer_keeps_its_commits(void **state) {
    fx *f = *state;
    sqlite3_close(open_writer(f->path, 20)); /* the table */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        sqlite3 *w = open_writer(f->path, 20);
        for (int i = 1;; i++) {
            exec_ok(w, "BEGIN");
            exec_ok(w, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                       " WHERE x < 300) INSERT INTO t(v, n) SELECT randomblob(100), 1 FROM c");
            exec_ok(w, "COMMIT");
            if (write(p[1], &i, sizeof i) != (ssize_t)sizeof i) _exit(1);
        }
    }
    close(p[1]);
    int last = 0, got;
    while (last < 40 && read(p[0], &got, sizeof got) == (ssize_t)sizeof got)
        last = got;
    kill(pid, SIGKILL);
    while (read(p[0], &got, sizeof got) == (ssize_t)sizeof got)
        last = got; /* reported before it died */
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(last >= 40);
    sqlite3 *r = open_reader(f->path);
    int64_t n = int_of(r, "SELECT count(*) FROM t");
    assert_true(n >= (int64_t)last * 300);
    assert_int_equal(n % 300, 0); /* whole transactions only */
    sqlite3_close(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commits_read_back_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_written_in_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_visible_without_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_writer_keeps_its_commits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
