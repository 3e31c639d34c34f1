/*
 * test_chat: channels on the chat WebSocket (PROTOCOL.md section 2 and 4):
 * channels_list, create_channel (group and direct), join_channel,
 * leave_channel, the system notices they cause, access to direct channels,
 * and multi-device delivery. Messages themselves: test_messages.c.
 */
#include "integration/chatkit.h"

#include <string.h>

static void check_entry(json_t *e, const char *me, const char *type, const char *other) {
    assert_string_equal(jstr(e, "user_id"), me);
    if (!is_uuid(jstr(e, "channel_id"))) fail_msg("channel_id not a UUID: %s", jdump(e));
    jstr(e, "channel_name");
    assert_string_equal(jstr(e, "channel_type"), type);
    assert_int_equal(jbool(e, "is_direct"), strcmp(type, "direct") == 0);
    json_t *lra = json_object_get(e, "last_read_at");
    if (!lra || !(json_is_null(lra) || (json_is_string(lra) && is_iso_ms(json_string_value(lra)))))
        fail_msg("last_read_at must be null or ISO: %s", jdump(e));
    json_t *others = jarr(e, "other_participants");
    if (other && !jarr_has_str(others, other))
        fail_msg("other_participants lacks %s: %s", other, jdump(e));
    if (jarr_has_str(others, me)) fail_msg("other_participants lists myself: %s", jdump(e));
    jint(e, "unread_count");
    json_t *lm = json_object_get(e, "last_message_id"),
           *lr = json_object_get(e, "last_read_message_id");
    if (!lm || !(json_is_null(lm) || json_is_string(lm)))
        fail_msg("last_message_id must be string|null: %s", jdump(e));
    if (!lr || !(json_is_null(lr) || json_is_string(lr)))
        fail_msg("last_read_message_id must be string|null: %s", jdump(e));
}

static void test_channels_list_on_connect(void **state) {
    const char *a = new_user(H_SRV, "cl");
    tconn *c = chat_login(H_SRV, a);
    json_t *l = recv_type(c, "channels_list", H_TIMEOUT);
    assert_int_equal(json_array_size(jarr(l, "channels")), 0);

    const char *b = new_user(H_SRV, "cl");
    const char *id = create_group(c, "list test", (const char *[]){b, NULL});
    tconn_close(c);

    c = chat_login(H_SRV, a);
    l = recv_type(c, "channels_list", H_TIMEOUT);
    assert_int_equal(json_array_size(jarr(l, "channels")), 1);
    json_t *e = list_entry(l, id);
    if (!e) fail_msg("channels_list lacks %s: %s", id, jdump(l));
    check_entry(e, a, "group", b);
    assert_string_equal(jstr(e, "channel_name"), "list test");
    assert_int_equal(json_array_size(jarr(e, "other_participants")), 1);
    tconn_close(c);
}

static void test_create_group(void **state) {
    const char *a = new_user(H_SRV, "cg"), *b = new_user(H_SRV, "cg"), *c = new_user(H_SRV, "cg");
    tconn *ca = chat_login(H_SRV, a), *cb = chat_login(H_SRV, b), *cc = chat_login(H_SRV, c);
    drain(ca, 0);
    drain(cb, 0);
    drain(cc, 0);

    send_pack(ca, "{s:s,s:s,s:[s,s]}", "type", "create_channel", "name", "Team Room",
              "participants", b, c);
    json_t *cr = recv_type(ca, "channel_created", H_TIMEOUT);
    json_t *ch = jobj(cr, "channel");
    const char *id = jstr(ch, "channel_id");
    if (!is_uuid(id)) fail_msg("channel_id not a UUID: %s", jdump(cr));
    assert_string_equal(jstr(ch, "type"), "group");
    if (!is_iso_ms(jstr(ch, "created_at"))) fail_msg("created_at: %s", jdump(cr));
    json_t *md = jobj(ch, "metadata");
    assert_string_equal(jstr(md, "creator_id"), a);
    assert_string_equal(jstr(md, "name"), "Team Room");
    json_t *parts = jarr(ch, "participants");
    assert_int_equal(json_array_size(parts), 3);
    assert_true(jarr_has_str(parts, a) && jarr_has_str(parts, b) && jarr_has_str(parts, c));

    /* then channel_joined, after channel_created */
    json_t *j = recv_type(ca, "channel_joined", H_TIMEOUT);
    assert_string_equal(jstr(j, "channelId"), id);
    assert_int_equal(json_array_size(jarr(j, "messages")), 0);
    json_t *jp = jarr(j, "participants"), *p;
    size_t i;
    assert_int_equal(json_array_size(jp), 3);
    json_array_foreach(jp, i, p) {
        assert_string_equal(jstr(p, "channel_id"), id);
        const char *u = jstr(p, "user_id");
        if (!is_iso_ms(jstr(p, "joined_at"))) fail_msg("joined_at: %s", jdump(p));
        assert_string_equal(jstr(p, "role"), strcmp(u, a) == 0 ? "admin" : "member");
    }

    /* everyone's set of channels changed: fresh channels_list for all three */
    check_entry(list_entry(recv_list_with(ca, id), id), a, "group", b);
    check_entry(list_entry(recv_list_with(cb, id), id), b, "group", a);
    json_t *ec = list_entry(recv_list_with(cc, id), id);
    check_entry(ec, c, "group", b);
    assert_string_equal(jstr(ec, "channel_name"), "Team Room");
    assert_int_equal(json_array_size(jarr(ec, "other_participants")), 2);
    /* the others did not get channel_created/joined */
    recv_none_type(cb, "channel_created", 100);
    recv_none_type(cb, "channel_joined", 0);
    tconn_close(ca);
    tconn_close(cb);
    tconn_close(cc);
}

static void test_odd_names(void **state) {
    const char *names[] = {"with \"quotes\" and \\backslash\\",
                           "  spaces  around  ",
                           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                           "<script>alert(1)</script>",
                           "tab\there",
                           "x"};
    const char *a = new_user(H_SRV, "odd"), *b = new_user(H_SRV, "odd");
    tconn *ca = chat_login(H_SRV, a), *cb = chat_login(H_SRV, b);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        send_pack(ca, "{s:s,s:s,s:[s]}", "type", "create_channel", "name", names[i], "participants",
                  b);
        json_t *cr = recv_type(ca, "channel_created", H_TIMEOUT);
        json_t *ch = jobj(cr, "channel");
        assert_string_equal(jstr(jobj(ch, "metadata"), "name"), names[i]);
        const char *id = jstr(ch, "channel_id");
        json_t *e = list_entry(recv_list_with(cb, id), id);
        assert_string_equal(jstr(e, "channel_name"), names[i]);
    }
    /* 100-byte name is the limit, accepted */
    char n100[101];
    memset(n100, 'n', 100);
    n100[100] = '\0';
    send_pack(ca, "{s:s,s:s,s:[s]}", "type", "create_channel", "name", n100, "participants", b);
    assert_string_equal(
        jstr(jobj(jobj(recv_type(ca, "channel_created", H_TIMEOUT), "channel"), "metadata"),
             "name"),
        n100);
    tconn_close(ca);
    tconn_close(cb);
}

static void test_direct_channel(void **state) {
    const char *a = new_user(H_SRV, "dm"), *b = new_user(H_SRV, "dm"), *c = new_user(H_SRV, "dm");
    tconn *ca = chat_login(H_SRV, a), *cb = chat_login(H_SRV, b), *cc = chat_login(H_SRV, c);

    send_pack(ca, "{s:s,s:[s],s:s}", "type", "create_channel", "participants", b, "kind", "direct");
    json_t *ch = jobj(recv_type(ca, "channel_created", H_TIMEOUT), "channel");
    const char *id = jstr(ch, "channel_id");
    assert_string_equal(jstr(ch, "type"), "direct");
    json_t *parts = jarr(ch, "participants");
    assert_int_equal(json_array_size(parts), 2);
    assert_true(jarr_has_str(parts, a) && jarr_has_str(parts, b));
    recv_type(ca, "channel_joined", H_TIMEOUT);
    check_entry(list_entry(recv_list_with(cb, id), id), b, "direct", a);
    check_entry(list_entry(recv_list_with(ca, id), id), a, "direct", b);

    /* again, from either side: the same channel */
    send_pack(ca, "{s:s,s:[s],s:s}", "type", "create_channel", "participants", b, "kind", "direct");
    assert_string_equal(
        jstr(jobj(recv_type(ca, "channel_created", H_TIMEOUT), "channel"), "channel_id"), id);
    send_pack(cb, "{s:s,s:s,s:[s],s:s}", "type", "create_channel", "name", "ignored",
              "participants", a, "kind", "direct");
    assert_string_equal(
        jstr(jobj(recv_type(cb, "channel_created", H_TIMEOUT), "channel"), "channel_id"), id);

    /* exactly one other participant */
    send_pack(ca, "{s:s,s:[s,s],s:s}", "type", "create_channel", "participants", b, c, "kind",
              "direct");
    expect_error(ca, "invalid_field", "create_channel");
    send_pack(ca, "{s:s,s:[],s:s}", "type", "create_channel", "participants", "kind", "direct");
    expect_error(ca, "invalid_field", "create_channel");

    /* a third user may not open it */
    send_pack(cc, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    expect_error(cc, "forbidden", "join_channel");
    /* both participants may */
    send_pack(cb, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    assert_string_equal(jstr(recv_type(cb, "channel_joined", H_TIMEOUT), "channelId"), id);
    /* and the DM was not joined by c */
    drain(ca, 0);
    json_t *m = send_msg(ca, id, "dm only");
    check_message(m, id, a, "dm only");
    recv_msg(cb, id, "dm only");
    assert_null(try_recv_msg(cc, id, "dm only", 300));
    tconn_close(ca);
    tconn_close(cb);
    tconn_close(cc);
}

static void test_group_without_name(void **state) {
    const char *a = new_user(H_SRV, "nn"), *b = new_user(H_SRV, "nn");
    tconn *ca = chat_login(H_SRV, a);
    send_pack(ca, "{s:s,s:[s]}", "type", "create_channel", "participants", b);
    expect_error(ca, "invalid_field", "create_channel");
    send_pack(ca, "{s:s,s:s,s:[s]}", "type", "create_channel", "name", "", "participants", b);
    expect_error(ca, "invalid_field", "create_channel");
    recv_none_type(ca, "channel_created", 200);
    tconn_close(ca);
}

static void test_join_channel(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "jn");
    for (int i = 0; i < 55; i++)
        send_msg(m[0].c, id, hfmt("msg %d", i));

    const char *c = new_user(H_SRV, "jn");
    tconn *cc = chat_login(H_SRV, c);
    send_pack(cc, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    json_t *j = recv_type(cc, "channel_joined", H_TIMEOUT);
    assert_string_equal(jstr(j, "channelId"), id);
    json_t *msgs = jarr(j, "messages");
    assert_int_equal(json_array_size(msgs), 50);
    /* the last 50, oldest first: the last is "msg 54", or c's own join
     * notice right after it (it is stored before the reply is built) */
    json_t *last = json_array_get(msgs, 49);
    check_message(last, id, NULL, NULL);
    if (strcmp(jstr(last, "content"), "msg 54") != 0) {
        check_system(last, id, "user_joined", c);
        last = json_array_get(msgs, 48);
        assert_string_equal(jstr(last, "content"), "msg 54");
    }
    json_int_t prev = 0;
    size_t i;
    json_t *msg;
    json_array_foreach(msgs, i, msg) {
        json_int_t seq = jint(msg, "seq");
        if (i > 0 && seq != prev + 1)
            fail_msg("messages not gapless oldest first at %zu: %s", i, jdump(msg));
        prev = seq;
    }
    json_t *parts = jarr(j, "participants"), *p;
    assert_int_equal(json_array_size(parts), 3);
    int saw_c = 0;
    json_array_foreach(parts, i, p) if (strcmp(jstr(p, "user_id"), c) == 0) {
        saw_c = 1;
        assert_string_equal(jstr(p, "role"), "member");
        assert_true(is_iso_ms(jstr(p, "joined_at")));
    }
    assert_true(saw_c);

    /* the others are told, with a stored system notice */
    json_t *n0 = recv_system(m[0].c, id, "user_joined");
    check_system(n0, id, "user_joined", c);
    json_t *n1 = recv_system(m[1].c, id, "user_joined");
    assert_string_equal(jstr(n1, "message_id"), jstr(n0, "message_id"));
    /* c's set of channels changed */
    recv_list_with(cc, id);

    /* c is now a member: can send, everyone receives */
    send_msg(cc, id, "hello from c");
    recv_msg(m[0].c, id, "hello from c");
    recv_msg(m[1].c, id, "hello from c");

    /* joining again is not a new join: no second notice */
    send_pack(cc, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    recv_type(cc, "channel_joined", H_TIMEOUT);
    recv_none_type(m[0].c, "system", 300);
    tconn_close(cc);
}

static void test_leave_channel(void **state) {
    member m[3];
    const char *id = group_with(H_SRV, m, 3, "lv");
    send_pack(m[1].c, "{s:s,s:s}", "type", "leave_channel", "channelId", id);
    json_t *left = recv_type(m[1].c, "channel_left", H_TIMEOUT);
    assert_string_equal(jstr(left, "channelId"), id);
    recv_list_without(m[1].c, id);

    for (int i = 0; i < 3; i += 2) {
        json_t *n = recv_system(m[i].c, id, "user_left");
        check_system(n, id, "user_left", m[1].name);
    }
    assert_null(try_recv_type(m[1].c, "system", 200));

    /* the leaver no longer receives messages and may not send */
    send_msg(m[0].c, id, "after leave");
    recv_msg(m[2].c, id, "after leave");
    assert_null(try_recv_msg(m[1].c, id, "after leave", 300));
    send_pack(m[1].c, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content", "x");
    expect_error(m[1].c, "forbidden", "chat_message");

    /* the remaining members' lists no longer show the leaver */
    tconn *again = chat_login(H_SRV, m[0].name);
    json_t *e = list_entry(recv_type(again, "channels_list", H_TIMEOUT), id);
    assert_non_null(e);
    assert_false(jarr_has_str(jarr(e, "other_participants"), m[1].name));
    assert_true(jarr_has_str(jarr(e, "other_participants"), m[2].name));
    tconn_close(again);

    /* a group channel can be re-joined */
    send_pack(m[1].c, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    recv_type(m[1].c, "channel_joined", H_TIMEOUT);
    check_system(recv_system(m[0].c, id, "user_joined"), id, "user_joined", m[1].name);
    for (int i = 0; i < 3; i++)
        tconn_close(m[i].c);
}

static void test_multi_device(void **state) {
    const char *a = new_user(H_SRV, "md"), *b = new_user(H_SRV, "md");
    tconn *a1 = chat_login(H_SRV, a), *a2 = chat_login(H_SRV, a), *cb = chat_login(H_SRV, b);
    drain(a2, 0);

    /* a channel created on one device shows up on both */
    const char *id = create_group(a1, "multi", (const char *[]){b, NULL});
    recv_list_with(a1, id);
    recv_list_with(a2, id);
    recv_list_with(cb, id);

    /* messages from b reach both of a's devices */
    send_msg(cb, id, "to both");
    check_message(recv_msg(a1, id, "to both"), id, b, "to both");
    check_message(recv_msg(a2, id, "to both"), id, b, "to both");
    /* a's own message reaches a's other device too */
    json_t *e = send_msg(a1, id, "from a1");
    json_t *o = recv_msg(a2, id, "from a1");
    assert_string_equal(jstr(o, "message_id"), jstr(e, "message_id"));
    recv_msg(cb, id, "from a1");

    /* a channel b creates with a reaches both of a's devices */
    const char *id2 = create_group(cb, "by b", (const char *[]){a, NULL});
    recv_list_with(a1, id2);
    recv_list_with(a2, id2);

    /* closing one device does not affect the other */
    tconn_close(a1);
    send_msg(cb, id, "after close");
    recv_msg(a2, id, "after close");
    tconn_close(a2);
    tconn_close(cb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channels_list_on_connect),
        cmocka_unit_test(test_create_group),
        cmocka_unit_test(test_odd_names),
        cmocka_unit_test(test_direct_channel),
        cmocka_unit_test(test_group_without_name),
        cmocka_unit_test(test_join_channel),
        cmocka_unit_test(test_leave_channel),
        cmocka_unit_test(test_multi_device),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
