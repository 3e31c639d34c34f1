/*
 * test_messages: messages on the chat WebSocket (PROTOCOL.md section 2, 4):
 * chat_message delivery and fields, per-channel seq, client_msg_id
 * de-duplication, read receipts and unread counts, fetch_history paging,
 * and that non-members are refused.
 */
#include "integration/chatkit.h"

#include <string.h>

static void close_all(member *m, int n) {
    for (int i = 0; i < n; i++)
        tconn_close(m[i].c);
}

static void test_chat_message_delivery(void **state) {
    member m[3];
    const char *id = group_with(H_SRV, m, 3, "dl");

    send_json(m[0].c,
              "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"hi all\","
              "\"metadata\":{\"k\":[1,2],\"s\":\"v\"}}",
              id);
    json_t *echo = recv_msg(m[0].c, id, "hi all");
    check_message(echo, id, m[0].name, "hi all");
    json_t *want_md = json_pack("{s:[i,i],s:s}", "k", 1, 2, "s", "v");
    if (!json_equal(jobj(echo, "metadata"), want_md))
        fail_msg("metadata not echoed: %s", jdump(echo));
    json_decref(want_md);
    for (int i = 1; i < 3; i++) {
        json_t *d = recv_msg(m[i].c, id, "hi all");
        check_message(d, id, m[0].name, "hi all");
        assert_string_equal(jstr(d, "message_id"), jstr(echo, "message_id"));
        assert_int_equal(jint(d, "seq"), jint(echo, "seq"));
        assert_true(json_equal(jobj(d, "metadata"), jobj(echo, "metadata")));
    }

    /* no metadata -> {} */
    json_t *e2 = send_msg(m[1].c, id, "plain");
    check_message(e2, id, m[1].name, "plain");
    assert_int_equal(json_object_size(jobj(e2, "metadata")), 0);
    assert_null(json_object_get(e2, "client_msg_id"));
    /* ids grow */
    assert_true(strtoull(jstr(e2, "message_id"), NULL, 10) >
                strtoull(jstr(echo, "message_id"), NULL, 10));

    /* unicode and JSON escapes survive the round trip */
    const char *odd = "quote \" backslash \\ newline \n caf\xc3\xa9 \xf0\x9f\x98\x80 \\u0000-free";
    send_msg(m[2].c, id, odd);
    check_message(recv_msg(m[0].c, id, odd), id, m[2].name, odd);

    /* 4000 bytes is the limit: accepted */
    char big[4001];
    memset(big, 'z', 4000);
    big[4000] = '\0';
    send_msg(m[0].c, id, big);
    recv_msg(m[1].c, id, big);
    close_all(m, 3);
}

static void test_seq_gapless(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "sq");
    json_int_t s0 = jint(send_msg(m[0].c, id, "one"), "seq");
    assert_int_equal(jint(send_msg(m[1].c, id, "two"), "seq"), s0 + 1);
    assert_int_equal(jint(send_msg(m[0].c, id, "three"), "seq"), s0 + 2);
    /* a system notice takes a seq too */
    const char *c = new_user(H_SRV, "sq");
    tconn *cc = chat_login(H_SRV, c);
    send_pack(cc, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    recv_type(cc, "channel_joined", H_TIMEOUT);
    json_t *sys = recv_system(m[0].c, id, "user_joined");
    assert_int_equal(jint(sys, "seq"), s0 + 3);
    assert_int_equal(jint(send_msg(cc, id, "four"), "seq"), s0 + 4);

    /* the whole channel's history is 1..n without gaps, ids increasing */
    json_t *all = fetch_all(m[0].c, id), *msg;
    size_t i;
    unsigned long long prev = 0;
    json_array_foreach(all, i, msg) {
        if (jint(msg, "seq") != (json_int_t)i + 1)
            fail_msg("history seq at %zu is not %zu: %s", i, i + 1, jdump(all));
        unsigned long long mid = strtoull(jstr(msg, "message_id"), NULL, 10);
        assert_true(mid > prev);
        prev = mid;
    }
    assert_int_equal(json_array_size(all), s0 + 4);
    /* messages from two senders on two connections keep one order: a
     * second channel starts again at 1 */
    const char *id2 = create_group(m[1].c, "second", (const char *[]){m[0].name, NULL});
    assert_int_equal(jint(send_msg(m[1].c, id2, "first of second"), "seq"), 1);
    tconn_close(cc);
    close_all(m, 2);
}

static void test_client_msg_id_dedup(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "dd");
    const char *fmt = "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\","
                      "\"client_msg_id\":\"%s\"}";
    send_json(m[0].c, fmt, id, "once", "cm-1");
    json_t *e1 = recv_msg(m[0].c, id, "once");
    assert_string_equal(jstr(e1, "client_msg_id"), "cm-1");
    json_t *d1 = recv_msg(m[1].c, id, "once");
    assert_string_equal(jstr(d1, "client_msg_id"), "cm-1");

    /* the repeat (even with other content) returns the original */
    send_json(m[0].c, fmt, id, "once", "cm-1");
    json_t *e2 = recv_msg(m[0].c, id, "once");
    assert_string_equal(jstr(e2, "message_id"), jstr(e1, "message_id"));
    assert_int_equal(jint(e2, "seq"), jint(e1, "seq"));
    send_json(m[0].c, fmt, id, "changed", "cm-1");
    json_t *e3 = recv_type(m[0].c, "chat_message", H_TIMEOUT);
    assert_string_equal(jstr(e3, "message_id"), jstr(e1, "message_id"));
    assert_string_equal(jstr(e3, "content"), "once");
    /* the other member got it once */
    recv_none_type(m[1].c, "chat_message", 400);

    /* another id, or another user with the same id, is a new message */
    send_json(m[0].c, fmt, id, "second", "cm-2");
    json_t *e4 = recv_msg(m[0].c, id, "second");
    assert_int_equal(jint(e4, "seq"), jint(e1, "seq") + 1);
    send_json(m[1].c, fmt, id, "by b", "cm-1");
    json_t *e5 = recv_msg(m[1].c, id, "by b");
    assert_int_equal(jint(e5, "seq"), jint(e1, "seq") + 2);

    json_t *all = fetch_all(m[0].c, id);
    assert_int_equal(json_array_size(all), 3);
    close_all(m, 2);
}

static void test_mark_read_and_unread(void **state) {
    member m[3];
    const char *id = group_with(H_SRV, m, 3, "rd");
    send_msg(m[0].c, id, "r1");
    json_t *last = send_msg(m[0].c, id, "r2");
    recv_msg(m[1].c, id, "r2");

    /* unread before any mark: 2 */
    tconn *b2 = chat_login(H_SRV, m[1].name);
    json_t *e = list_entry(recv_type(b2, "channels_list", H_TIMEOUT), id);
    assert_int_equal(jint(e, "unread_count"), 2);
    assert_string_equal(jstr(e, "last_message_id"), jstr(last, "message_id"));
    tconn_close(b2);

    send_pack(m[1].c, "{s:s,s:s}", "type", "mark_channel_read", "channelId", id);
    for (int i = 0; i < 3; i++) {
        json_t *r = recv_type(m[i].c, "channel_read", H_TIMEOUT);
        assert_string_equal(jstr(r, "channel_id"), id);
        assert_string_equal(jstr(r, "user_id"), m[1].name);
        assert_string_equal(jstr(r, "last_read_message_id"), jstr(last, "message_id"));
        if (!is_iso_ms(jstr(r, "last_read_at"))) fail_msg("last_read_at: %s", jdump(r));
    }

    /* after the mark: 2 from others count; own messages and notices do not */
    send_msg(m[0].c, id, "r3");
    send_msg(m[2].c, id, "r4");
    send_msg(m[1].c, id, "own");
    const char *d = new_user(H_SRV, "rd");
    tconn *cd = chat_login(H_SRV, d);
    send_pack(cd, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    recv_type(cd, "channel_joined", H_TIMEOUT);
    recv_system(m[1].c, id, "user_joined");
    b2 = chat_login(H_SRV, m[1].name);
    e = list_entry(recv_type(b2, "channels_list", H_TIMEOUT), id);
    assert_int_equal(jint(e, "unread_count"), 2);
    assert_string_equal(jstr(e, "last_read_message_id"), jstr(last, "message_id"));
    if (!is_iso_ms(jstr(e, "last_read_at"))) fail_msg("last_read_at: %s", jdump(e));
    tconn_close(b2);

    /* mark with an explicit message id */
    json_t *first = json_array_get(fetch_all(m[2].c, id), 0);
    send_pack(m[2].c, "{s:s,s:s,s:s}", "type", "mark_channel_read", "channelId", id, "message_id",
              jstr(first, "message_id"));
    json_t *r = recv_type(m[0].c, "channel_read", H_TIMEOUT);
    assert_string_equal(jstr(r, "user_id"), m[2].name);
    assert_string_equal(jstr(r, "last_read_message_id"), jstr(first, "message_id"));
    recv_type(cd, "channel_read", H_TIMEOUT); /* the new member is a member too */
    tconn_close(cd);
    close_all(m, 3);
}

static void expect_page(json_t *h, json_t *all, size_t from, size_t n, int has_more) {
    json_t *msgs = jarr(h, "messages");
    if (json_array_size(msgs) != n)
        fail_msg("page has %zu messages, expected %zu: %s", json_array_size(msgs), n, jdump(h));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(jstr(json_array_get(msgs, i), "message_id"),
                            jstr(json_array_get(all, from + i), "message_id"));
    if (jbool(h, "has_more") != has_more) fail_msg("has_more should be %d: %s", has_more, jdump(h));
}

static void test_history_paging(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "hp");
    for (int i = 1; i <= 7; i++)
        send_msg(m[i % 2].c, id, hfmt("h%d", i));
    json_t *all = fetch_all(m[1].c, id);
    size_t n = json_array_size(all);
    assert_true(n >= 7);
    for (int i = 0; i < 7; i++) {
        json_t *msg = json_array_get(all, n - 7 + (size_t)i);
        check_message(msg, id, m[(i + 1) % 2].name, hfmt("h%d", i + 1));
    }
    const char *idk[16];
    for (size_t i = 0; i < n && i < 16; i++)
        idk[i] = jstr(json_array_get(all, i), "message_id");

    expect_page(fetch_history(m[0].c, id, NULL, NULL, 3), all, n - 3, 3, 1);
    expect_page(fetch_history(m[0].c, id, NULL, NULL, 0), all, 0, n, 0); /* default 50 */
    expect_page(fetch_history(m[0].c, id, idk[n - 3], NULL, 3), all, n - 6, 3, n > 6);
    expect_page(fetch_history(m[0].c, id, idk[1], NULL, 3), all, 0, 1, 0);
    expect_page(fetch_history(m[0].c, id, idk[0], NULL, 3), all, 0, 0, 0);
    expect_page(fetch_history(m[0].c, id, NULL, idk[0], 3), all, 1, 3, 1);
    expect_page(fetch_history(m[0].c, id, NULL, idk[n - 2], 3), all, n - 1, 1, 0);
    expect_page(fetch_history(m[0].c, id, NULL, idk[n - 1], 3), all, n, 0, 0);
    expect_page(fetch_history(m[0].c, id, NULL, idk[n - 4], 3), all, n - 3, 3, 0);
    expect_page(fetch_history(m[0].c, id, NULL, NULL, 100), all, 0, n, 0);

    /* 60 more messages: default page is 50, limit 100 gets all */
    for (int i = 0; i < 60; i++)
        send_msg(m[0].c, id, hfmt("more %d", i));
    json_t *h = fetch_history(m[1].c, id, NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(h, "messages")), 50);
    assert_true(jbool(h, "has_more"));
    assert_string_equal(jstr(json_array_get(jarr(h, "messages"), 49), "content"), "more 59");
    h = fetch_history(m[1].c, id, NULL, NULL, 100);
    assert_int_equal(json_array_size(jarr(h, "messages")), n + 60 > 100 ? 100 : n + 60);
    close_all(m, 2);
}

static void test_non_member_forbidden(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "fb");
    send_msg(m[0].c, id, "secret");
    const char *x = new_user(H_SRV, "fb");
    tconn *cx = chat_login(H_SRV, x);

    send_pack(cx, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content", "intrude");
    expect_error(cx, "forbidden", "chat_message");
    send_pack(cx, "{s:s,s:s}", "type", "fetch_history", "channelId", id);
    expect_error(cx, "forbidden", "fetch_history");
    send_pack(cx, "{s:s,s:s}", "type", "mark_channel_read", "channelId", id);
    expect_error(cx, "forbidden", "mark_channel_read");
    recv_none_type(m[0].c, "chat_message", 200);
    recv_none_type(m[0].c, "channel_read", 0);

    /* a DM of two others: forbidden for everything */
    send_pack(m[0].c, "{s:s,s:[s],s:s}", "type", "create_channel", "participants", m[1].name,
              "kind", "direct");
    const char *dm =
        jstr(jobj(recv_type(m[0].c, "channel_created", H_TIMEOUT), "channel"), "channel_id");
    send_msg(m[0].c, dm, "private");
    const char *reqs[] = {"join_channel", "fetch_history", "mark_channel_read"};
    for (size_t i = 0; i < 3; i++) {
        send_pack(cx, "{s:s,s:s}", "type", reqs[i], "channelId", dm);
        expect_error(cx, "forbidden", reqs[i]);
    }
    send_pack(cx, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", dm, "content", "x");
    expect_error(cx, "forbidden", "chat_message");

    /* nothing stored */
    assert_int_equal(json_array_size(fetch_all(m[0].c, id)), 1);
    assert_int_equal(json_array_size(fetch_all(m[0].c, dm)), 1);
    tconn_close(cx);
    close_all(m, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_message_delivery), cmocka_unit_test(test_seq_gapless),
        cmocka_unit_test(test_client_msg_id_dedup),   cmocka_unit_test(test_mark_read_and_unread),
        cmocka_unit_test(test_history_paging),        cmocka_unit_test(test_non_member_forbidden),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
