/*
 * test_manage: protocol 1.1 channel management over real sockets
 * (PROTOCOL.md section 6): private channels, the channel directory
 * (list_channels), add_members, remove_member, set_role, update_channel,
 * every one's notices, errors and permission rules, and the last admin
 * leaving. In cluster mode the users' sockets are spread over the chat
 * servers, so a removed member is refused by a server other than the one
 * that removed them.
 */
#include "integration/chatkit.h"

#include <string.h>

static void close_all(member *m, int n) {
    for (int i = 0; i < n; i++)
        tconn_close(m[i].c);
}

static json_t *users_arr(const char *const *names) {
    json_t *a = json_array();
    for (size_t i = 0; names[i]; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static const char *create_private(tconn *c, const char *name, const char *const *participants) {
    send_pack(c, "{s:s,s:s,s:o,s:b}", "type", "create_channel", "name", name, "participants",
              users_arr(participants), "private", 1);
    json_t *cr = recv_type(c, "channel_created", H_TIMEOUT);
    const char *id = jstr(jobj(cr, "channel"), "channel_id");
    recv_type(c, "channel_joined", H_TIMEOUT);
    return id;
}

static void add_members(tconn *c, const char *id, const char *const *names) {
    send_pack(c, "{s:s,s:s,s:o}", "type", "add_members", "channelId", id, "userIds",
              users_arr(names));
}

static json_t *list_channels(tconn *c, const char *query, const char *after, int limit) {
    json_t *req = json_pack("{s:s}", "type", "list_channels");
    if (query) json_object_set_new(req, "query", json_string(query));
    if (after) json_object_set_new(req, "after", json_string(after));
    if (limit) json_object_set_new(req, "limit", json_integer(limit));
    char *txt = json_dumps(req, JSON_COMPACT);
    send_text(c, txt, strlen(txt));
    free(txt);
    json_decref(req);
    return recv_type(c, "channel_directory", H_TIMEOUT);
}

/* Asserts the notice is a stored system message with this event. */
static json_t *expect_notice(tconn *c, const char *id, const char *event, const char *content) {
    json_t *n = recv_system(c, id, event);
    assert_string_equal(jstr(n, "user_id"), "system");
    assert_string_equal(jstr(n, "sender_id"), "system");
    if (!is_decimal_id(jstr(n, "message_id"))) fail_msg("no message_id: %s", jdump(n));
    assert_true(jint(n, "seq") > 0);
    if (content) assert_string_equal(jstr(n, "content"), content);
    return n;
}

static json_t *dir_entry(json_t *dir, const char *id) {
    json_t *arr = jarr(dir, "channels"), *e;
    size_t i;
    json_array_foreach(arr, i, e) {
        if (!strcmp(jstr(e, "channel_id"), id)) return e;
    }
    return NULL;
}

/* ---- private channels ---- */

static void test_private_channel(void **state) {
    member m[3];
    for (int i = 0; i < 3; i++) {
        m[i].name = new_user(H_SRV, "pv");
        m[i].c = chat_login(H_SRV, m[i].name);
    }
    const char *others[] = {m[1].name, NULL};
    const char *name = hfmt("secret %s", m[0].name);
    const char *id = create_private(m[0].c, name, others);
    json_t *e = list_entry(recv_list_with(m[1].c, id), id);
    assert_true(jbool(e, "private"));
    assert_string_equal(jstr(e, "topic"), "");
    assert_int_equal(jint(e, "member_count"), 2);

    /* an outsider can neither join nor find it */
    send_pack(m[2].c, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    expect_error(m[2].c, "forbidden", "join_channel");
    json_t *dir = list_channels(m[2].c, name, NULL, 0);
    assert_null(dir_entry(dir, id));
    /* ... nor search in it, nor write */
    send_pack(m[2].c, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content", "x");
    expect_error(m[2].c, "forbidden", "chat_message");

    /* a member who is not admin may not add people to a private channel */
    const char *add[] = {m[2].name, NULL};
    add_members(m[1].c, id, add);
    expect_error(m[1].c, "forbidden", "add_members");
    /* the admin may; the added user then is a member */
    add_members(m[0].c, id, add);
    expect_notice(m[1].c, id, "members_added", hfmt("%s added %s", m[0].name, m[2].name));
    recv_list_with(m[2].c, id);
    send_pack(m[2].c, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    recv_type(m[2].c, "channel_joined", H_TIMEOUT);

    /* private only for groups; a boolean */
    send_pack(m[0].c, "{s:s,s:[s],s:s,s:b}", "type", "create_channel", "participants", m[1].name,
              "kind", "direct", "private", 1);
    expect_error(m[0].c, "invalid_field", "create_channel");
    send_pack(m[0].c, "{s:s,s:s,s:[s],s:s}", "type", "create_channel", "name", "x", "participants",
              m[1].name, "private", "yes");
    expect_error(m[0].c, "invalid_field", "create_channel");
    close_all(m, 3);
}

/* ---- the directory ---- */

static void test_directory(void **state) {
    member m[2];
    for (int i = 0; i < 2; i++) {
        m[i].name = new_user(H_SRV, "dir");
        m[i].c = chat_login(H_SRV, m[i].name);
    }
    /* a tag of our own keeps other tests' channels out of the listing */
    const char *tag = hfmt("zq%s", m[0].name);
    const char *none[] = {NULL};
    const char *one[] = {m[1].name, NULL};
    const char *b = create_group(m[0].c, hfmt("B-%s", tag), none);
    const char *a = create_group(m[0].c, hfmt("a-%s", tag), one);
    const char *c2 = create_group(m[0].c, hfmt("C-%s", tag), none);
    const char *priv = create_private(m[0].c, hfmt("A-%s-private", tag), none);
    (void)priv;

    /* bytewise by name: "B-" < "C-" < "a-"; case-insensitive substring */
    json_t *dir = list_channels(m[1].c, tag, NULL, 0);
    json_t *arr = jarr(dir, "channels");
    assert_int_equal(json_array_size(arr), 3);
    assert_false(jbool(dir, "has_more"));
    assert_string_equal(jstr(json_array_get(arr, 0), "channel_id"), b);
    assert_string_equal(jstr(json_array_get(arr, 1), "channel_id"), c2);
    assert_string_equal(jstr(json_array_get(arr, 2), "channel_id"), a);
    json_t *ea = json_array_get(arr, 2);
    assert_string_equal(jstr(ea, "name"), hfmt("a-%s", tag));
    assert_string_equal(jstr(ea, "topic"), "");
    assert_int_equal(jint(ea, "member_count"), 2);
    assert_true(jbool(ea, "is_member"));
    assert_false(jbool(json_array_get(arr, 0), "is_member"));
    if (!is_iso_ms(jstr(ea, "created_at"))) fail_msg("created_at: %s", jdump(ea));
    /* the query ignores ASCII case */
    char upper[64];
    snprintf(upper, sizeof upper, "%s", tag);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
    assert_int_equal(json_array_size(jarr(list_channels(m[1].c, upper, NULL, 0), "channels")), 3);

    /* paging: limit and after */
    dir = list_channels(m[1].c, tag, NULL, 2);
    assert_int_equal(json_array_size(jarr(dir, "channels")), 2);
    assert_true(jbool(dir, "has_more"));
    dir = list_channels(m[1].c, tag, c2, 2);
    assert_int_equal(json_array_size(jarr(dir, "channels")), 1);
    assert_string_equal(jstr(json_array_get(jarr(dir, "channels"), 0), "channel_id"), a);
    assert_false(jbool(dir, "has_more"));

    /* errors */
    send_pack(m[1].c, "{s:s,s:i}", "type", "list_channels", "limit", 0);
    expect_error(m[1].c, "invalid_field", "list_channels");
    send_pack(m[1].c, "{s:s,s:i}", "type", "list_channels", "limit", 101);
    expect_error(m[1].c, "invalid_field", "list_channels");
    send_pack(m[1].c, "{s:s,s:s}", "type", "list_channels", "after", "nope");
    expect_error(m[1].c, "invalid_field", "list_channels");
    send_pack(m[1].c, "{s:s,s:s}", "type", "list_channels", "after",
              "123e4567-e89b-42d3-a456-426614174000");
    expect_error(m[1].c, "not_found", "list_channels");
    char longq[102];
    memset(longq, 'q', 101);
    longq[101] = '\0';
    send_pack(m[1].c, "{s:s,s:s}", "type", "list_channels", "query", longq);
    expect_error(m[1].c, "too_large", "list_channels");
    close_all(m, 2);
}

/* ---- add_members ---- */

static void test_add_members(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "add");
    const char *x = new_user(H_SRV, "addx"), *y = new_user(H_SRV, "addy");
    tconn *cx = chat_login(H_SRV, x), *cy = chat_login(H_SRV, y);

    /* any member of a public channel may add */
    const char *two[] = {x, y, NULL};
    add_members(m[1].c, id, two);
    json_t *n =
        expect_notice(m[0].c, id, "members_added", hfmt("%s added %s, %s", m[1].name, x, y));
    json_t *md = jobj(n, "metadata");
    assert_string_equal(jstr(md, "by"), m[1].name);
    assert_int_equal(json_array_size(jarr(md, "user_ids")), 2);
    assert_true(jarr_has_str(jarr(md, "user_ids"), x));
    assert_true(jarr_has_str(jarr(md, "user_ids"), y));
    expect_notice(m[1].c, id, "members_added", NULL);
    /* the added users: a fresh channels_list, the notice, and they may write */
    json_t *e = list_entry(recv_list_with(cx, id), id);
    assert_int_equal(jint(e, "member_count"), 4);
    recv_list_with(cy, id);
    expect_notice(cx, id, "members_added", NULL);
    send_msg(cx, id, "hello from x");

    /* already members: nobody new, no notice, no error */
    add_members(m[0].c, id, two);
    const char *me[] = {m[0].name, NULL};
    add_members(m[0].c, id, me);
    recv_none_type(m[0].c, "system", 300);
    recv_none_type(m[0].c, "error", 0);

    /* unknown users: not_found naming them, nobody added */
    const char *z = new_user(H_SRV, "addz");
    const char *mixed[] = {z, "nobody_xyz_1", "nobody_xyz_2", NULL};
    add_members(m[0].c, id, mixed);
    json_t *err = expect_error(m[0].c, "not_found", "add_members");
    if (!strstr(jstr(err, "error"), "nobody_xyz_1") || !strstr(jstr(err, "error"), "nobody_xyz_2"))
        fail_msg("error does not name the unknown users: %s", jdump(err));
    tconn *cz = chat_login(H_SRV, z);
    send_pack(cz, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content", "x");
    expect_error(cz, "forbidden", "chat_message");

    /* shapes and permissions */
    send_pack(m[0].c, "{s:s,s:s,s:[]}", "type", "add_members", "channelId", id, "userIds");
    expect_error(m[0].c, "invalid_field", "add_members");
    send_pack(m[0].c, "{s:s,s:s,s:[s]}", "type", "add_members", "channelId", id, "userIds",
              "bad name!");
    expect_error(m[0].c, "invalid_field", "add_members");
    json_t *many = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(many, json_string(hfmt("u%d", i)));
    send_pack(m[0].c, "{s:s,s:s,s:o}", "type", "add_members", "channelId", id, "userIds", many);
    expect_error(m[0].c, "too_large", "add_members");
    add_members(cz, id, me); /* not a member */
    expect_error(cz, "forbidden", "add_members");
    add_members(m[0].c, "123e4567-e89b-42d3-a456-426614174000", me);
    expect_error(m[0].c, "not_found", "add_members");
    /* a direct channel has no members to manage */
    send_pack(m[0].c, "{s:s,s:[s],s:s}", "type", "create_channel", "participants", z, "kind",
              "direct");
    const char *dm =
        jstr(jobj(recv_type(m[0].c, "channel_created", H_TIMEOUT), "channel"), "channel_id");
    add_members(m[0].c, dm, two);
    expect_error(m[0].c, "forbidden", "add_members");
    tconn_close(cx);
    tconn_close(cy);
    tconn_close(cz);
    close_all(m, 2);
}

/* ---- remove_member ---- */

static void test_remove_member(void **state) {
    member m[3];
    const char *id = group_with(H_SRV, m, 3, "rm");
    /* only an admin; never yourself; only members */
    send_pack(m[1].c, "{s:s,s:s,s:s}", "type", "remove_member", "channelId", id, "userId",
              m[2].name);
    expect_error(m[1].c, "forbidden", "remove_member");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "remove_member", "channelId", id, "userId",
              m[0].name);
    expect_error(m[0].c, "forbidden", "remove_member");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "remove_member", "channelId", id, "userId",
              "not_a_member_x");
    expect_error(m[0].c, "not_found", "remove_member");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "remove_member", "channelId", id, "userId", "a b");
    expect_error(m[0].c, "invalid_field", "remove_member");

    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "remove_member", "channelId", id, "userId",
              m[2].name);
    json_t *n =
        expect_notice(m[1].c, id, "member_removed", hfmt("%s removed %s", m[0].name, m[2].name));
    assert_string_equal(jstr(jobj(n, "metadata"), "user_id"), m[2].name);
    assert_string_equal(jstr(jobj(n, "metadata"), "by"), m[0].name);
    expect_notice(m[0].c, id, "member_removed", NULL);
    /* the removed user: channel_left, a list without it, and refused from then on */
    json_t *left = recv_type(m[2].c, "channel_left", H_TIMEOUT);
    assert_string_equal(jstr(left, "channelId"), id);
    recv_list_without(m[2].c, id);
    send_pack(m[2].c, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content", "x");
    expect_error(m[2].c, "forbidden", "chat_message");
    send_pack(m[2].c, "{s:s,s:s}", "type", "fetch_history", "channelId", id);
    expect_error(m[2].c, "forbidden", "fetch_history");
    /* a second connection of the removed user, opened now, is refused too */
    tconn *again = chat_login(H_SRV, m[2].name);
    send_pack(again, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content", "y");
    expect_error(again, "forbidden", "chat_message");
    tconn_close(again);
    /* the others do not hear from them */
    send_msg(m[1].c, id, "still here");
    recv_none_type(m[2].c, "chat_message", 200);
    close_all(m, 3);
}

/* ---- set_role, update_channel, the last admin ---- */

static void test_roles(void **state) {
    member m[3];
    const char *id = group_with(H_SRV, m, 3, "role");
    send_pack(m[1].c, "{s:s,s:s,s:s,s:s}", "type", "set_role", "channelId", id, "userId", m[2].name,
              "role", "admin");
    expect_error(m[1].c, "forbidden", "set_role");
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "set_role", "channelId", id, "userId", m[2].name,
              "role", "owner");
    expect_error(m[0].c, "invalid_field", "set_role");
    /* the only admin cannot step down */
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "set_role", "channelId", id, "userId", m[0].name,
              "role", "member");
    expect_error(m[0].c, "forbidden", "set_role");

    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "set_role", "channelId", id, "userId", m[1].name,
              "role", "admin");
    json_t *n = expect_notice(m[2].c, id, "role_changed",
                              hfmt("%s made %s an admin", m[0].name, m[1].name));
    assert_string_equal(jstr(jobj(n, "metadata"), "role"), "admin");
    assert_string_equal(jstr(jobj(n, "metadata"), "user_id"), m[1].name);
    assert_string_equal(jstr(jobj(n, "metadata"), "by"), m[0].name);
    /* the new admin may now act; the old one may step down */
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "set_role", "channelId", id, "userId", m[0].name,
              "role", "member");
    expect_notice(m[2].c, id, "role_changed", hfmt("%s made %s a member", m[0].name, m[0].name));
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "topic", "t");
    expect_error(m[0].c, "forbidden", "update_channel");

    /* the roles show in channel_joined */
    send_pack(m[2].c, "{s:s,s:s}", "type", "join_channel", "channelId", id);
    json_t *j = recv_type(m[2].c, "channel_joined", H_TIMEOUT);
    json_t *p;
    size_t i;
    json_array_foreach(jarr(j, "participants"), i, p) {
        const char *want = !strcmp(jstr(p, "user_id"), m[1].name) ? "admin" : "member";
        assert_string_equal(jstr(p, "role"), want);
    }

    /* the last admin leaves: the longest-standing member becomes admin */
    send_pack(m[1].c, "{s:s,s:s}", "type", "leave_channel", "channelId", id);
    recv_type(m[1].c, "channel_left", H_TIMEOUT);
    n = expect_notice(m[2].c, id, "role_changed", NULL);
    const char *heir = jstr(jobj(n, "metadata"), "user_id");
    assert_string_equal(jstr(jobj(n, "metadata"), "by"), "system");
    assert_string_equal(jstr(jobj(n, "metadata"), "role"), "admin");
    /* m[0] and m[2] joined in the same millisecond: insertion order (m[0] first) */
    assert_string_equal(heir, m[0].name);
    assert_string_equal(jstr(n, "content"), hfmt("%s is now an admin", heir));
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "topic", "ok");
    expect_notice(m[2].c, id, "channel_updated", NULL);
    close_all(m, 3);
}

static void test_update_channel(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "upd");
    send_pack(m[1].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "topic", "x");
    expect_error(m[1].c, "forbidden", "update_channel");
    send_pack(m[0].c, "{s:s,s:s}", "type", "update_channel", "channelId", id);
    expect_error(m[0].c, "invalid_field", "update_channel");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "name", "");
    expect_error(m[0].c, "invalid_field", "update_channel");
    char topic[252];
    memset(topic, 't', 251);
    topic[251] = '\0';
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "topic", topic);
    expect_error(m[0].c, "too_large", "update_channel");
    topic[250] = '\0'; /* 250 bytes: the limit */
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "topic", topic);
    json_t *n = expect_notice(m[1].c, id, "channel_updated", NULL);
    assert_string_equal(jstr(jobj(n, "metadata"), "topic"), topic);
    assert_string_equal(jstr(jobj(n, "metadata"), "name"), hfmt("group %s", m[0].name));

    const char *nm = hfmt("renamed \"%s\" \xc3\xa9", m[0].name);
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "name", nm,
              "topic", "");
    n = expect_notice(m[1].c, id, "channel_updated",
                      hfmt("%s renamed the channel to %s and cleared the topic", m[0].name, nm));
    assert_string_equal(jstr(jobj(n, "metadata"), "name"), nm);
    assert_string_equal(jstr(jobj(n, "metadata"), "topic"), "");
    assert_string_equal(jstr(jobj(n, "metadata"), "by"), m[0].name);
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "update_channel", "channelId", id, "topic",
              "the plan");
    expect_notice(m[1].c, id, "channel_updated", hfmt("%s set the topic: the plan", m[0].name));

    /* the new name and topic everywhere: channels_list, directory, history */
    tconn *again = chat_login(H_SRV, m[1].name);
    json_t *e = list_entry(recv_list_with(again, id), id);
    assert_string_equal(jstr(e, "channel_name"), nm);
    assert_string_equal(jstr(e, "topic"), "the plan");
    assert_false(jbool(e, "private"));
    json_t *d = dir_entry(list_channels(again, m[0].name, NULL, 0), id);
    if (!d) fail_msg("renamed channel not in the directory");
    assert_string_equal(jstr(d, "topic"), "the plan");
    json_t *all = fetch_all(again, id);
    size_t notices = 0, i;
    json_t *msg;
    json_array_foreach(all, i, msg) {
        notices += !strcmp(jstr(msg, "user_id"), "system") &&
                   !strcmp(jstr(jobj(msg, "metadata"), "event"), "channel_updated");
    }
    assert_int_equal(notices, 3);
    tconn_close(again);
    close_all(m, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_private_channel), cmocka_unit_test(test_directory),
        cmocka_unit_test(test_add_members),     cmocka_unit_test(test_remove_member),
        cmocka_unit_test(test_roles),           cmocka_unit_test(test_update_channel),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
