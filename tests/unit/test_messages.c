/*
 * Unit tests for chat/messages through the domain: chat_message delivered
 * exactly once to every socket of every member (one encoded buffer shared
 * by all), duplicates by client_msg_id, sockets closing while a message
 * commits, fetch_history paging, mark_channel_read receipts and unread
 * counts, every error, and commit-first: when the store fails a write the
 * sender gets `unavailable` and nobody sees anything. Real SQLite store,
 * local bus, sessions captured in memory (tests/unit/domain_test_util.h);
 * alice has two chat sockets, bob, carol and dave one each, and the
 * channel "team" is alice, bob and carol.
 */
#include "domain_test_util.h"

static dt_fixture fx;
static dt_cast k;
static tsession *a1, *a2, *b, *c, *d;
static char team[37];

static int setup(void **state) {
    dt_cast_open(&fx, &k, "chatd-messages-");
    a1 = k.a1, a2 = k.a2, b = k.b, c = k.c, d = k.d;
    snprintf(team, sizeof(team), "%s", dt_create_group(&fx, a1, "team", "\"bob\",\"carol\""));
    dt_settle(&fx);
    return 0;
}

static int teardown(void **state) {
    dt_cast_close(&fx, &k);
    return 0;
}

static const char *UNAVAILABLE = "storage is unavailable; nothing was changed, retry shortly";

static void say(tsession *t, const char *content) {
    dt_send(t, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", team,
            content);
}

/* t's last chat_message's message_id (copied). */
static const char *last_id(const tsession *t) {
    static char id[8][24];
    static int next;
    char *out = id[next++ % 8];
    snprintf(out, 24, "%s", dt_str(dt_last_of(t, "chat_message"), "message_id"));
    return out;
}

/* A new chat socket of user; its channels_list entry for the team. */
static json_t *fresh_entry(const char *user) {
    tsession *t = dt_login(&fx, k.dom, user, 0);
    dt_run_until_frames(&fx, t, 1);
    json_t *e = dt_list_entry(t, team);
    assert_non_null(e);
    domain_session_closed(k.dom, &t->s);
    return e;
}

static json_int_t unread(const char *user) {
    return json_integer_value(json_object_get(fresh_entry(user), "unread_count"));
}

/* ---- chat_message ---- */

static void test_delivered_once_to_every_member_socket(void **state) {
    dt_marks m = dt_mark(&fx);
    dt_send(a1,
            "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"hello\","
            "\"client_msg_id\":\"c-1\",\"metadata\":{\"k\":[1,2]}}",
            team);
    dt_settle(&fx);
    tsession *members[] = {a1, a2, b, c};
    rcbuf *shared = a1->frame[dt_from(&fx, &m, a1)];
    for (int i = 0; i < 4; i++) {
        dt_expect_types(&fx, &m, members[i], (const char *[]){"chat_message", NULL});
        /* encoded once: every socket holds the same buffer */
        assert_ptr_equal(members[i]->frame[dt_from(&fx, &m, members[i])], shared);
    }
    assert_int_equal(dt_since(&fx, &m, d), 0);
    json_t *msg = dt_last_of(b, "chat_message");
    assert_string_equal(dt_str(msg, "channel_id"), team);
    assert_string_equal(dt_str(msg, "user_id"), "alice");
    assert_string_equal(dt_str(msg, "sender_id"), "alice");
    assert_string_equal(dt_str(msg, "content"), "hello");
    assert_string_equal(dt_str(msg, "client_msg_id"), "c-1");
    assert_int_equal(json_integer_value(json_object_get(msg, "seq")), 1);
    assert_true(strtoull(dt_str(msg, "message_id"), NULL, 10) > 0);
    assert_int_equal(strlen(dt_str(msg, "created_at")), 24);
    json_t *want = json_loads("{\"k\":[1,2]}", 0, NULL);
    assert_true(json_equal(json_object_get(msg, "metadata"), want));
    json_decref(want);
    /* the next one takes the next seq */
    say(b, "hi alice");
    dt_settle(&fx);
    assert_int_equal(json_integer_value(json_object_get(dt_last_of(a2, "chat_message"), "seq")), 2);
}

/* A client_msg_id seen before: the original goes back to the sender only. */
static void test_duplicate_client_msg_id(void **state) {
    const char *fmt = "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\","
                      "\"client_msg_id\":\"c-7\"}";
    dt_send(a1, fmt, team, "first");
    dt_settle(&fx);
    const char *id = last_id(a1);
    dt_marks m = dt_mark(&fx);
    dt_send(a1, fmt, team, "resent");
    dt_settle(&fx);
    dt_expect_types(&fx, &m, a1, (const char *[]){"chat_message", NULL});
    json_t *msg = dt_last_of(a1, "chat_message");
    assert_string_equal(dt_str(msg, "content"), "first");
    assert_string_equal(dt_str(msg, "message_id"), id);
    assert_int_equal(dt_since(&fx, &m, a2) + dt_since(&fx, &m, b) + dt_since(&fx, &m, c), 0);
    /* the same id from another sender is another message */
    dt_send(b, fmt, team, "bob's own");
    dt_settle(&fx);
    assert_string_equal(dt_str(dt_last_of(c, "chat_message"), "content"), "bob's own");
}

static void test_message_errors(void **state) {
    char msg[160];
    const char *unknown = "123e4567-e89b-42d3-a456-426614174000";
    dt_send(a1, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"x\"}", unknown);
    snprintf(msg, sizeof(msg), "channel %s does not exist", unknown);
    dt_expect_error(a1, "not_found", "chat_message", msg);
    say(d, "let me in");
    snprintf(msg, sizeof(msg), "you are not a member of channel %s", team);
    dt_expect_error(d, "forbidden", "chat_message", msg);
    dt_send(a1, "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    const char *dm = dt_created_id(a1);
    dt_send(c, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"x\"}", dm);
    snprintf(msg, sizeof(msg), "channel %s is a direct channel between two other users", dm);
    dt_expect_error(c, "forbidden", "chat_message", msg);
    dt_send(a1, "{\"type\":\"chat_message\",\"channelId\":\"%s\"}", team);
    dt_expect_error(a1, "invalid_field", "chat_message", NULL);
    char big[4100];
    memset(big, 'x', 4001);
    big[4001] = '\0';
    say(a1, big);
    dt_expect_error(a1, "too_large", "chat_message", NULL);
    dt_settle(&fx);
    assert_int_equal(dt_count(b, "chat_message", 0), 0);
}

/* Sockets that close while a message commits are skipped; a sender that
 * closes does not stop its message. */
static void test_sockets_closing_meanwhile(void **state) {
    dt_marks m = dt_mark(&fx);
    say(a1, "one");
    say(b, "two");
    domain_session_closed(k.dom, &a2->s);
    domain_session_closed(k.dom, &b->s);               /* the sender of "two" */
    tsession *gone = dt_login(&fx, k.dom, "carol", 0); /* its channels_list is on the way */
    domain_session_closed(k.dom, &gone->s);
    dt_settle(&fx);
    assert_int_equal(gone->frames, 0);
    assert_int_equal(dt_since(&fx, &m, a2) + dt_since(&fx, &m, b), 0);
    assert_int_equal(dt_count(c, "chat_message", dt_from(&fx, &m, c)), 2);
    assert_int_equal(dt_count(a1, "chat_message", dt_from(&fx, &m, a1)), 2);
    assert_int_equal(dt_count(a1, "error", 0), 0);
}

/* ---- fetch_history ---- */

static json_t *history(tsession *t, const char *extra) {
    dt_marks m = dt_mark(&fx);
    dt_send(t, "{\"type\":\"fetch_history\",\"channelId\":\"%s\"%s}", team, extra);
    dt_settle(&fx);
    dt_expect_types(&fx, &m, t, (const char *[]){"history", NULL});
    json_t *h = dt_last_of(t, "history");
    assert_string_equal(dt_str(h, "channel_id"), team);
    return h;
}

/* Asserts a page holds exactly messages first..last (1-based) and its has_more. */
static void expect_page(json_t *h, char ids[][24], int first, int last, int has_more) {
    json_t *msgs = json_object_get(h, "messages");
    assert_int_equal(json_array_size(msgs), last - first + 1);
    for (int i = first; i <= last; i++) {
        json_t *msg = json_array_get(msgs, (size_t)(i - first));
        assert_string_equal(dt_str(msg, "message_id"), ids[i]);
        assert_int_equal(json_integer_value(json_object_get(msg, "seq")), i);
    }
    assert_int_equal(json_is_true(json_object_get(h, "has_more")), has_more);
}

static void test_history_paging(void **state) {
    char ids[6][24], cursor[64];
    for (int i = 1; i <= 5; i++) {
        char text[16];
        snprintf(text, sizeof(text), "m%d", i);
        say(a1, text);
        dt_settle(&fx);
        snprintf(ids[i], sizeof(ids[i]), "%s", last_id(a1));
    }
    expect_page(history(b, ""), ids, 1, 5, 0);
    expect_page(history(b, ",\"limit\":2"), ids, 4, 5, 1);
    snprintf(cursor, sizeof(cursor), ",\"before\":\"%s\",\"limit\":2", ids[4]);
    expect_page(history(b, cursor), ids, 2, 3, 1);
    snprintf(cursor, sizeof(cursor), ",\"before\":\"%s\",\"limit\":2", ids[2]);
    expect_page(history(b, cursor), ids, 1, 1, 0);
    snprintf(cursor, sizeof(cursor), ",\"after\":\"%s\",\"limit\":10", ids[1]);
    expect_page(history(b, cursor), ids, 2, 5, 0);
    snprintf(cursor, sizeof(cursor), ",\"after\":\"%s\",\"limit\":1", ids[3]);
    expect_page(history(b, cursor), ids, 4, 4, 1);
}

static void test_history_errors(void **state) {
    char msg[160];
    dt_send(b, "{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"before\":\"12345\"}", team);
    dt_settle(&fx);
    snprintf(msg, sizeof(msg), "the cursor message is not in channel %s", team);
    dt_expect_error(b, "not_found", "fetch_history", msg);
    dt_send(d, "{\"type\":\"fetch_history\",\"channelId\":\"%s\"}", team);
    snprintf(msg, sizeof(msg), "you are not a member of channel %s", team);
    dt_expect_error(d, "forbidden", "fetch_history", msg);
    dt_send(b, "{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"limit\":101}", team);
    dt_expect_error(b, "invalid_field", "fetch_history",
                    "\"limit\" must be an integer from 1 to 100");
    dt_send(b, "{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"before\":\"1\",\"after\":\"2\"}",
            team);
    dt_expect_error(b, "invalid_field", "fetch_history",
                    "\"before\" and \"after\" cannot both be given");
}

/* ---- mark_channel_read ---- */

/* Every chat socket of every member gets bob's receipt once. */
static void expect_receipt(const dt_marks *m, const char *id) {
    tsession *members[] = {a1, a2, b, c};
    for (int i = 0; i < 4; i++) {
        dt_expect_types(&fx, m, members[i], (const char *[]){"channel_read", NULL});
        json_t *r = dt_last_of(members[i], "channel_read");
        assert_string_equal(dt_str(r, "channel_id"), team);
        assert_string_equal(dt_str(r, "user_id"), "bob");
        assert_string_equal(dt_str(r, "last_read_message_id"), id);
        assert_int_equal(strlen(dt_str(r, "last_read_at")), 24);
    }
    assert_int_equal(dt_since(&fx, m, d), 0);
}

static void mark_read(tsession *t, const char *id) {
    if (id)
        dt_send(t, "{\"type\":\"mark_channel_read\",\"channelId\":\"%s\",\"message_id\":\"%s\"}",
                team, id);
    else
        dt_send(t, "{\"type\":\"mark_channel_read\",\"channelId\":\"%s\"}", team);
    dt_settle(&fx);
}

static void test_read_receipts_and_unread_counts(void **state) {
    char ids[4][24];
    for (int i = 1; i <= 3; i++) {
        say(a1, "news");
        dt_settle(&fx);
        snprintf(ids[i], sizeof(ids[i]), "%s", last_id(a1));
    }
    json_t *e = fresh_entry("bob");
    assert_int_equal(json_integer_value(json_object_get(e, "unread_count")), 3);
    assert_string_equal(dt_str(e, "last_message_id"), ids[3]);
    assert_true(json_is_null(json_object_get(e, "last_read_message_id")));
    assert_true(json_is_null(json_object_get(e, "last_read_at")));
    assert_int_equal(unread("alice"), 0); /* her own messages do not count */

    dt_marks m = dt_mark(&fx);
    mark_read(b, ids[2]);
    expect_receipt(&m, ids[2]);
    e = fresh_entry("bob");
    assert_int_equal(json_integer_value(json_object_get(e, "unread_count")), 1);
    assert_string_equal(dt_str(e, "last_read_message_id"), ids[2]);
    m = dt_mark(&fx); /* never backwards: the mark in effect is answered */
    mark_read(b, ids[1]);
    expect_receipt(&m, ids[2]);
    m = dt_mark(&fx); /* no id: the latest */
    mark_read(b, NULL);
    expect_receipt(&m, ids[3]);
    assert_int_equal(unread("bob"), 0);
    say(b, "read it all");
    dt_settle(&fx);
    assert_int_equal(unread("bob"), 0);
    assert_int_equal(unread("alice"), 1);
}

static void test_read_errors(void **state) {
    char msg[160];
    mark_read(b, "12345");
    snprintf(msg, sizeof(msg), "message 12345 is not in channel %s", team);
    dt_expect_error(b, "not_found", "mark_channel_read", msg);
    mark_read(d, NULL);
    snprintf(msg, sizeof(msg), "you are not a member of channel %s", team);
    dt_expect_error(d, "forbidden", "mark_channel_read", msg);
    assert_int_equal(dt_count(a1, "channel_read", 0), 0);
}

/* ---- commit first ---- */

static void test_failed_writes_show_nothing(void **state) {
    dt_fail(&fx, 1u << STORE_MSG_APPEND, STORE_EIO);
    dt_marks m = dt_mark(&fx);
    say(a1, "lost");
    dt_settle(&fx);
    dt_expect_types(&fx, &m, a1, (const char *[]){"error", NULL});
    dt_expect_error(a1, "unavailable", "chat_message", UNAVAILABLE);
    assert_int_equal(dt_since(&fx, &m, a2) + dt_since(&fx, &m, b) + dt_since(&fx, &m, c), 0);
    dt_fail(&fx, 0, 0);
    say(a1, "kept");
    dt_settle(&fx);
    char id[24];
    snprintf(id, sizeof(id), "%s", last_id(b));
    json_t *h = history(b, "");
    json_t *msgs = json_object_get(h, "messages");
    assert_int_equal(json_array_size(msgs), 1); /* nothing of "lost" was stored */
    assert_string_equal(dt_str(json_array_get(msgs, 0), "content"), "kept");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(msgs, 0), "seq")), 1);

    dt_fail(&fx, 1u << STORE_MARK_READ | 1u << STORE_HISTORY, STORE_EIO);
    m = dt_mark(&fx);
    mark_read(b, id);
    dt_expect_error(b, "unavailable", "mark_channel_read", UNAVAILABLE);
    assert_int_equal(dt_since(&fx, &m, a1) + dt_since(&fx, &m, c), 0);
    dt_send(b, "{\"type\":\"fetch_history\",\"channelId\":\"%s\"}", team);
    dt_settle(&fx);
    dt_expect_error(b, "unavailable", "fetch_history", UNAVAILABLE);
    dt_fail(&fx, 0, 0);
    assert_int_equal(unread("bob"), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delivered_once_to_every_member_socket, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_client_msg_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sockets_closing_meanwhile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_receipts_and_unread_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_writes_show_nothing, setup, teardown),
    };
    return cmocka_run_group_tests_name("messages", tests, NULL, NULL);
}
