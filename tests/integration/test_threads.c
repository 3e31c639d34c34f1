/*
 * test_threads: protocol 1.1's replies, threads and mentions over real
 * sockets (PROTOCOL.md section 6): chat_message with reply_to (a reply to
 * a reply joins the root's thread), reply_count / last_reply_at on roots,
 * fetch_thread with its paging and errors, the @name rule's members-only
 * mentions list, and mention_count in channels_list as messages arrive,
 * are edited, deleted and read.
 */
#include "integration/chatkit.h"

#include <string.h>

static void close_all(member *m, int n) {
    for (int i = 0; i < n; i++)
        tconn_close(m[i].c);
}

static json_t *reply(tconn *c, const char *ch, const char *to, const char *content) {
    send_pack(c, "{s:s,s:s,s:s,s:s}", "type", "chat_message", "channelId", ch, "content", content,
              "reply_to", to);
    return recv_msg(c, ch, content);
}

static json_t *thread(tconn *c, const char *ch, const char *id, const char *after, int limit) {
    json_t *req =
        json_pack("{s:s,s:s,s:s}", "type", "fetch_thread", "channelId", ch, "message_id", id);
    if (after) json_object_set_new(req, "after", json_string(after));
    if (limit) json_object_set_new(req, "limit", json_integer(limit));
    char *text = json_dumps(req, JSON_COMPACT);
    send_text(c, text, strlen(text));
    free(text);
    json_decref(req);
    json_t *r = recv_type(c, "thread", H_TIMEOUT);
    assert_string_equal(jstr(r, "channel_id"), ch);
    return r;
}

static json_t *history_entry(tconn *c, const char *ch, const char *id) {
    json_t *all = fetch_all(c, ch);
    for (size_t i = 0; i < json_array_size(all); i++)
        if (!strcmp(jstr(json_array_get(all, i), "message_id"), id)) return json_array_get(all, i);
    fail_msg("%s not in history", id);
    return NULL;
}

static void test_replies_and_threads(void **state) {
    member m[2];
    const char *ch = group_with(H_SRV, m, 2, "th");
    const char *root = jstr(send_msg(m[0].c, ch, "root"), "message_id");
    json_t *r1 = reply(m[1].c, ch, root, "first reply");
    assert_string_equal(jstr(r1, "reply_to"), root);
    assert_null(json_object_get(r1, "reply_count"));
    /* everyone sees it as a reply */
    assert_string_equal(jstr(recv_msg(m[0].c, ch, "first reply"), "reply_to"), root);
    /* a reply to the reply attaches to the root */
    json_t *r2 = reply(m[0].c, ch, jstr(r1, "message_id"), "second reply");
    assert_string_equal(jstr(r2, "reply_to"), root);
    const char *plain = jstr(send_msg(m[0].c, ch, "not in the thread"), "message_id");

    json_t *h = history_entry(m[1].c, ch, root);
    assert_int_equal(jint(h, "reply_count"), 2);
    assert_string_equal(jstr(h, "last_reply_at"), jstr(r2, "created_at"));

    json_t *t = thread(m[1].c, ch, root, NULL, 0);
    assert_string_equal(jstr(jobj(t, "root"), "message_id"), root);
    assert_int_equal(jint(jobj(t, "root"), "reply_count"), 2);
    json_t *rs = jarr(t, "replies");
    assert_int_equal(json_array_size(rs), 2);
    assert_string_equal(jstr(json_array_get(rs, 0), "content"), "first reply");
    assert_string_equal(jstr(json_array_get(rs, 1), "content"), "second reply");
    assert_false(jbool(t, "has_more"));
    /* paged; asked by a reply's id, the thread of its root */
    t = thread(m[1].c, ch, jstr(r2, "message_id"), NULL, 1);
    assert_string_equal(jstr(jobj(t, "root"), "message_id"), root);
    assert_int_equal(json_array_size(jarr(t, "replies")), 1);
    assert_true(jbool(t, "has_more"));
    t = thread(m[1].c, ch, root, jstr(r1, "message_id"), 1);
    assert_string_equal(jstr(json_array_get(jarr(t, "replies"), 0), "content"), "second reply");
    assert_false(jbool(t, "has_more"));
    /* after the last reply: none */
    t = thread(m[1].c, ch, root, jstr(r2, "message_id"), 0);
    assert_int_equal(json_array_size(jarr(t, "replies")), 0);
    /* a message without replies is a thread of none */
    t = thread(m[1].c, ch, plain, NULL, 0);
    assert_string_equal(jstr(jobj(t, "root"), "message_id"), plain);
    assert_int_equal(json_array_size(jarr(t, "replies")), 0);
    assert_null(json_object_get(jobj(t, "root"), "reply_count")); /* no replies: no counts */

    /* errors */
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "chat_message", "channelId", ch, "content", "x",
              "reply_to", "12345");
    expect_error(m[0].c, "not_found", "chat_message");
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "chat_message", "channelId", ch, "content", "x",
              "reply_to", "nope");
    expect_error(m[0].c, "invalid_field", "chat_message");
    const char *gone = jstr(send_msg(m[0].c, ch, "to be deleted"), "message_id");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "delete_message", "channelId", ch, "message_id",
              gone);
    recv_type(m[0].c, "message_deleted", H_TIMEOUT);
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "chat_message", "channelId", ch, "content", "x",
              "reply_to", gone);
    expect_error(m[0].c, "forbidden", "chat_message");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "fetch_thread", "channelId", ch, "message_id",
              "999");
    expect_error(m[0].c, "not_found", "fetch_thread");
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "fetch_thread", "channelId", ch, "message_id",
              root, "after", gone);
    expect_error(m[0].c, "not_found", "fetch_thread"); /* not a reply of that thread */
    send_pack(m[0].c, "{s:s,s:s,s:s,s:i}", "type", "fetch_thread", "channelId", ch, "message_id",
              root, "limit", 101);
    expect_error(m[0].c, "invalid_field", "fetch_thread");
    send_pack(m[0].c, "{s:s,s:s}", "type", "fetch_thread", "channelId", ch);
    expect_error(m[0].c, "invalid_field", "fetch_thread");
    tconn *x = chat_login(H_SRV, new_user(H_SRV, "tx"));
    send_pack(x, "{s:s,s:s,s:s}", "type", "fetch_thread", "channelId", ch, "message_id", root);
    expect_error(x, "forbidden", "fetch_thread");
    tconn_close(x);
    /* the refused replies stored nothing: the root still has 2 */
    assert_int_equal(jint(history_entry(m[1].c, ch, root), "reply_count"), 2);
    close_all(m, 2);
}

static json_int_t mention_count(chatd_srv *s, const char *user, const char *ch) {
    tconn *c = chat_login(s, user);
    json_int_t n = jint(list_entry(recv_type(c, "channels_list", H_TIMEOUT), ch), "mention_count");
    tconn_close(c);
    return n;
}

static void test_mentions(void **state) {
    member m[3];
    const char *ch = group_with(H_SRV, m, 3, "mn");
    const char *outsider = new_user(H_SRV, "mo");
    const char *text = hfmt("hi @%s, @%s and @%s. also @%s again, mail x@%s", m[1].name, outsider,
                            m[2].name, m[1].name, m[0].name);
    json_t *e = send_msg(m[0].c, ch, text);
    json_t *mn = jarr(e, "mentions");
    if (json_array_size(mn) != 2) fail_msg("want 2 mentions: %s", jdump(e));
    assert_string_equal(json_string_value(json_array_get(mn, 0)), m[1].name);
    assert_string_equal(json_string_value(json_array_get(mn, 1)), m[2].name);
    assert_int_equal(json_array_size(jarr(recv_msg(m[1].c, ch, text), "mentions")), 2);

    assert_int_equal(mention_count(H_SRV, m[1].name, ch), 1);
    assert_int_equal(mention_count(H_SRV, m[2].name, ch), 1);
    assert_int_equal(mention_count(H_SRV, m[0].name, ch), 0);

    /* an edit that drops bob */
    const char *id = jstr(e, "message_id");
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "edit_message", "channelId", ch, "message_id",
              id, "content", hfmt("only @%s", m[2].name));
    json_t *u = recv_type(m[1].c, "message_updated", H_TIMEOUT);
    assert_int_equal(json_array_size(jarr(u, "mentions")), 1);
    assert_string_equal(json_string_value(json_array_get(jarr(u, "mentions"), 0)), m[2].name);
    assert_int_equal(mention_count(H_SRV, m[1].name, ch), 0);
    assert_int_equal(mention_count(H_SRV, m[2].name, ch), 1);

    /* read: gone; mentioned again: back; deleted: gone */
    send_pack(m[2].c, "{s:s,s:s}", "type", "mark_channel_read", "channelId", ch);
    recv_type(m[2].c, "channel_read", H_TIMEOUT);
    assert_int_equal(mention_count(H_SRV, m[2].name, ch), 0);
    const char *again = jstr(send_msg(m[1].c, ch, hfmt("@%s!", m[2].name)), "message_id");
    assert_int_equal(mention_count(H_SRV, m[2].name, ch), 1);
    send_pack(m[1].c, "{s:s,s:s,s:s}", "type", "delete_message", "channelId", ch, "message_id",
              again);
    recv_type(m[1].c, "message_deleted", H_TIMEOUT);
    assert_int_equal(mention_count(H_SRV, m[2].name, ch), 0);
    close_all(m, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replies_and_threads),
        cmocka_unit_test(test_mentions),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
