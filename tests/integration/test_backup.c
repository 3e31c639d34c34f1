/*
 * test_backup: the SQLite backup and restore of docs/OPERATIONS.md ("Back
 * up and restore"), as an operator would do it. While chatd runs and
 * takes messages, `sqlite3 chatd.db ".backup FILE"` (SQLite's online
 * backup) copies the database; the copy, put alone into a new data
 * directory, starts a new chatd that logs the same users in and serves
 * the same history (same ids, same seqs), and nothing written after the
 * backup.
 */
#include "integration/chatkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "svcutil.h"

static void test_sqlite_online_backup_restores(void **state) {
    char dir[256];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "chatd-backup."));
    chatd_srv *s = chatd_start(NULL);
    member m[2];
    const char *g = group_with(s, m, 2, "bk");
    json_t *sent[10];
    for (int i = 0; i < 10; i++)
        sent[i] = send_msg(m[i % 2].c, g, hfmt("before the backup %d", i));

    const char *cmd = hfmt("sqlite3 '%s/data/chatd.db' \".backup '%s/chatd.db'\"", s->dir, dir);
    assert_int_equal(system(cmd), 0);
    send_msg(m[0].c, g, "after the backup");

    /* restore: the copy alone in a new data directory */
    const char *data = hfmt("%s/data", dir);
    assert_int_equal(mkdir(data, 0700), 0);
    assert_int_equal(rename(hfmt("%s/chatd.db", dir), hfmt("%s/chatd.db", data)), 0);
    chatd_srv *r = chatd_start((const char *[]){"--data", data, NULL});
    tconn *c = chat_login(r, m[1].name); /* the account came back */
    json_t *hist = fetch_all(c, g);
    size_t k = 0;
    for (size_t i = 0; i < json_array_size(hist); i++) {
        json_t *msg = json_array_get(hist, i);
        if (strcmp(jstr(msg, "user_id"), "system") == 0) continue; /* notices, if any */
        if (k >= 10) fail_msg("more than the backup held: %s", jdump(msg));
        assert_string_equal(jstr(msg, "message_id"), jstr(sent[k], "message_id"));
        assert_int_equal(jint(msg, "seq"), jint(sent[k], "seq"));
        assert_string_equal(jstr(msg, "content"), hfmt("before the backup %d", (int)k));
        k++;
    }
    assert_int_equal(k, 10);
    /* and it goes on from there */
    send_msg(c, g, "after the restore");
    tconn_close(c);
    tconn_close(m[0].c);
    tconn_close(m[1].c);
    assert_int_equal(chatd_stop(r), 0);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(r);
    chatd_free(s);
    svc_rmrf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_online_backup_restores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
