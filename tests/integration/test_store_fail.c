/*
 * test_store_fail: a membership change the store could not make leaves no
 * trace (issue #10 finding 7). The test holds a write lock on chatd's
 * SQLite database, so every transaction chatd tries fails after its busy
 * timeout; join, leave and create must then answer `unavailable` and change
 * nothing — not in the store, and not in what the server does afterwards
 * (deliveries, permissions, channel lists), before and after a restart.
 */
#include "integration/chatkit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *lock_store(chatd_srv *s) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(hfmt("%s/data/chatd.db", s->dir), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_store(sqlite3 *db) {
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* chatd waits 5 s for a lock before it gives up on a transaction. */
#define LOCKED_TIMEOUT 9000

static void test_failed_join_leaves_no_trace(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const char *a = new_user(s, "sf"), *b = new_user(s, "sf");
    tconn *ca = chat_login(s, a), *cb = chat_login(s, b);
    const char *g = create_group(ca, "locked", (const char *[]){NULL});
    drain(cb, 200);

    sqlite3 *db = lock_store(s);
    send_pack(cb, "{s:s, s:s}", "type", "join_channel", "channelId", g);
    json_t *e = recv_type(cb, "error", LOCKED_TIMEOUT);
    assert_string_equal(jstr(e, "code"), "unavailable");
    assert_string_equal(jstr(e, "request_type"), "join_channel");
    unlock_store(db);

    /* b is not a member: no delivery, no posting, no history, no list */
    send_msg(ca, g, "after the failed join");
    recv_none_type(cb, "chat_message", 500);
    send_pack(cb, "{s:s, s:s, s:s}", "type", "chat_message", "channelId", g, "content", "hi");
    expect_error(cb, "forbidden", "chat_message");
    send_pack(cb, "{s:s, s:s}", "type", "fetch_history", "channelId", g);
    expect_error(cb, "forbidden", "fetch_history");
    recv_none_type(cb, "channels_list", 0);

    /* ... nor after a restart */
    tconn_close(ca);
    tconn_close(cb);
    assert_int_equal(chatd_stop(s), 0);
    chatd_restart(s);
    cb = chat_login(s, b);
    json_t *list = recv_type(cb, "channels_list", 0);
    assert_null(list_entry(list, g));
    tconn_close(cb);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_failed_leave_leaves_no_trace(void **state) {
    chatd_srv *s = chatd_start(NULL);
    member m[2];
    const char *g = group_with(s, m, 2, "sl");

    sqlite3 *db = lock_store(s);
    send_pack(m[1].c, "{s:s, s:s}", "type", "leave_channel", "channelId", g);
    json_t *e = recv_type(m[1].c, "error", LOCKED_TIMEOUT);
    assert_string_equal(jstr(e, "code"), "unavailable");
    assert_string_equal(jstr(e, "request_type"), "leave_channel");
    unlock_store(db);

    /* still a member: gets messages, may post, nobody was told it left */
    recv_none_type(m[1].c, "channel_left", 0);
    send_msg(m[0].c, g, "still with us?");
    recv_msg(m[1].c, g, "still with us?");
    send_msg(m[1].c, g, "yes");
    recv_msg(m[0].c, g, "yes");
    recv_none_type(m[0].c, "system", 300);

    tconn_close(m[0].c);
    tconn_close(m[1].c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_restart(s);
    tconn *c = chat_login(s, m[1].name);
    assert_non_null(list_entry(recv_type(c, "channels_list", 0), g));
    tconn_close(c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_failed_create_leaves_no_trace(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const char *a = new_user(s, "sc"), *b = new_user(s, "sc");
    tconn *ca = chat_login(s, a), *cb = chat_login(s, b);
    drain(cb, 200);

    sqlite3 *db = lock_store(s);
    send_pack(ca, "{s:s, s:s, s:[s]}", "type", "create_channel", "name", "ghost", "participants",
              b);
    json_t *e = recv_type(ca, "error", LOCKED_TIMEOUT);
    assert_string_equal(jstr(e, "code"), "unavailable");
    assert_string_equal(jstr(e, "request_type"), "create_channel");
    /* a direct channel too */
    send_pack(ca, "{s:s, s:s, s:[s]}", "type", "create_channel", "kind", "direct", "participants",
              b);
    recv_type(ca, "error", LOCKED_TIMEOUT);
    unlock_store(db);

    recv_none_type(cb, "channels_list", 500);
    recv_none_type(ca, "channel_created", 0);
    /* the direct channel can be made now, and is new */
    send_pack(ca, "{s:s, s:s, s:[s]}", "type", "create_channel", "kind", "direct", "participants",
              b);
    recv_type(ca, "channel_created", H_TIMEOUT);
    tconn_close(ca);
    tconn_close(cb);
    ca = chat_login(s, a);
    json_t *list = recv_type(ca, "channels_list", 0);
    assert_int_equal(json_array_size(jarr(list, "channels")), 1); /* the direct one only */
    tconn_close(ca);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_join_leaves_no_trace),
        cmocka_unit_test(test_failed_leave_leaves_no_trace),
        cmocka_unit_test(test_failed_create_leaves_no_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
