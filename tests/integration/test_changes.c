/*
 * test_changes: protocol 1.1's changes of messages over real sockets
 * (PROTOCOL.md section 6): edit_message, delete_message, react, and the
 * one gapless seq they share with messages; fetch_changes, including a
 * client that is away while OLD messages are edited, deleted and reacted
 * to and catches up on every change exactly once, in order; typing; every
 * error and permission rule; and that deleted text is erased from storage
 * (the SQLite file, or the PostgreSQL tables in cluster mode).
 * Threads and mentions: test_threads.c.
 */
#define _GNU_SOURCE /* memmem */
#include "integration/chatkit.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "integration/hcluster.h"

static void close_all(member *m, int n) {
    for (int i = 0; i < n; i++)
        tconn_close(m[i].c);
}

typedef struct want {
    const char *type, *message_id;
} want;

static int pred_about(json_t *f, const void *ctx) {
    const want *w = ctx;
    json_t *t = json_object_get(f, "type"), *id = json_object_get(f, "message_id");
    return json_is_string(t) && !strcmp(json_string_value(t), w->type) && json_is_string(id) &&
           !strcmp(json_string_value(id), w->message_id);
}

/* The next frame of this type about message id. */
static json_t *recv_about(tconn *c, const char *type, const char *id) {
    want w = {type, id};
    return recv_match(c, pred_about, &w, H_TIMEOUT, hfmt("%s about %s", type, id));
}

static void edit(tconn *c, const char *ch, const char *id, const char *content) {
    send_pack(c, "{s:s,s:s,s:s,s:s}", "type", "edit_message", "channelId", ch, "message_id", id,
              "content", content);
}

static void del(tconn *c, const char *ch, const char *id) {
    send_pack(c, "{s:s,s:s,s:s}", "type", "delete_message", "channelId", ch, "message_id", id);
}

static void react(tconn *c, const char *ch, const char *id, const char *emoji, const char *op) {
    if (op)
        send_pack(c, "{s:s,s:s,s:s,s:s,s:s}", "type", "react", "channelId", ch, "message_id", id,
                  "emoji", emoji, "op", op);
    else
        send_pack(c, "{s:s,s:s,s:s,s:s}", "type", "react", "channelId", ch, "message_id", id,
                  "emoji", emoji);
}

static json_t *fetch_changes(tconn *c, const char *ch, json_int_t after, int limit) {
    if (limit)
        send_pack(c, "{s:s,s:s,s:I,s:i}", "type", "fetch_changes", "channelId", ch, "after_seq",
                  after, "limit", limit);
    else
        send_pack(c, "{s:s,s:s,s:I}", "type", "fetch_changes", "channelId", ch, "after_seq", after);
    json_t *r = recv_type(c, "changes", H_TIMEOUT);
    assert_string_equal(jstr(r, "channel_id"), ch);
    return r;
}

/* The message with id in a history reply. */
static json_t *in_history(tconn *c, const char *ch, const char *id) {
    json_t *all = fetch_all(c, ch);
    for (size_t i = 0; i < json_array_size(all); i++)
        if (!strcmp(jstr(json_array_get(all, i), "message_id"), id)) return json_array_get(all, i);
    fail_msg("message %s not in the history of %s", id, ch);
    return NULL;
}

/* ---- edit ---- */

static void test_edit(void **state) {
    member m[3];
    const char *ch = group_with(H_SRV, m, 3, "ed");
    json_t *orig = send_msg(m[0].c, ch, "helo @nobody");
    const char *id = jstr(orig, "message_id");
    for (int i = 1; i < 3; i++)
        recv_msg(m[i].c, ch, "helo @nobody");
    /* the new Message fields, on a fresh message: none applies, none is sent */
    static const char *const v11[] = {"edited_at",   "deleted",       "reactions", "mentions",
                                      "reply_count", "last_reply_at", "reply_to"};
    for (size_t i = 0; i < sizeof v11 / sizeof v11[0]; i++)
        if (json_object_get(orig, v11[i]))
            fail_msg("%s on a fresh message: %s", v11[i], jdump(orig));

    edit(m[0].c, ch, id, hfmt("hello @%s", m[1].name));
    for (int i = 0; i < 3; i++) {
        json_t *u = recv_about(m[i].c, "message_updated", id);
        assert_string_equal(jstr(u, "channel_id"), ch);
        assert_int_equal(jint(u, "seq"), jint(orig, "seq") + 1);
        assert_string_equal(jstr(u, "user_id"), m[0].name);
        assert_string_equal(jstr(u, "content"), hfmt("hello @%s", m[1].name));
        if (!is_iso_ms(jstr(u, "edited_at"))) fail_msg("edited_at: %s", jdump(u));
        json_t *mn = jarr(u, "mentions");
        assert_int_equal(json_array_size(mn), 1);
        assert_string_equal(json_string_value(json_array_get(mn, 0)), m[1].name);
    }
    json_t *h = in_history(m[2].c, ch, id);
    assert_string_equal(jstr(h, "content"), hfmt("hello @%s", m[1].name));
    if (!is_iso_ms(jstr(h, "edited_at"))) fail_msg("edited_at in history: %s", jdump(h));

    /* only the author */
    edit(m[1].c, ch, id, "mine now");
    expect_error(m[1].c, "forbidden", "edit_message");
    /* content rules as for chat_message */
    edit(m[0].c, ch, id, "");
    expect_error(m[0].c, "invalid_field", "edit_message");
    char big[4002];
    memset(big, 'x', 4001);
    big[4001] = '\0';
    edit(m[0].c, ch, id, big);
    expect_error(m[0].c, "too_large", "edit_message");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "edit_message", "channelId", ch, "content", "x");
    expect_error(m[0].c, "invalid_field", "edit_message"); /* no message_id */
    edit(m[0].c, ch, "123", "x");
    expect_error(m[0].c, "not_found", "edit_message");
    edit(m[0].c, ch, "abc", "x");
    expect_error(m[0].c, "invalid_field", "edit_message");
    edit(m[0].c, "00000000-0000-4000-8000-000000000000", id, "x");
    expect_error(m[0].c, "not_found", "edit_message");
    /* a notice is nobody's to edit */
    send_pack(m[2].c, "{s:s,s:s}", "type", "leave_channel", "channelId", ch);
    json_t *left = recv_system(m[0].c, ch, "user_left");
    edit(m[0].c, ch, jstr(left, "message_id"), "x");
    expect_error(m[0].c, "forbidden", "edit_message");
    /* a non-member: forbidden */
    edit(m[2].c, ch, id, "x");
    expect_error(m[2].c, "forbidden", "edit_message");
    /* nothing of the refused edits was stored */
    assert_string_equal(jstr(in_history(m[0].c, ch, id), "content"), hfmt("hello @%s", m[1].name));
    close_all(m, 3);
}

/* ---- delete ---- */

static void test_delete(void **state) {
    member m[3];
    const char *ch = group_with(H_SRV, m, 3, "de");
    const char *a = jstr(send_msg(m[0].c, ch, "alice's"), "message_id");
    const char *b = jstr(send_msg(m[1].c, ch, "bob's"), "message_id");
    const char *b2 = jstr(send_msg(m[1].c, ch, "bob's second"), "message_id");
    react(m[2].c, ch, b, "+1", NULL);
    recv_about(m[1].c, "reaction", b);

    /* not the author, not an admin */
    del(m[2].c, ch, a);
    expect_error(m[2].c, "forbidden", "delete_message");
    /* the author */
    del(m[1].c, ch, b);
    json_int_t seq = 0;
    for (int i = 0; i < 3; i++) {
        json_t *d = recv_about(m[i].c, "message_deleted", b);
        assert_string_equal(jstr(d, "channel_id"), ch);
        assert_string_equal(jstr(d, "deleted_by"), m[1].name);
        if (!is_iso_ms(jstr(d, "deleted_at"))) fail_msg("deleted_at: %s", jdump(d));
        if (i && jint(d, "seq") != seq) fail_msg("seq differs: %s", jdump(d));
        seq = jint(d, "seq");
    }
    /* twice: not_found */
    del(m[1].c, ch, b);
    expect_error(m[1].c, "not_found", "delete_message");
    /* the channel's creator is its admin: may delete others' messages */
    del(m[0].c, ch, b2);
    assert_string_equal(jstr(recv_about(m[1].c, "message_deleted", b2), "deleted_by"), m[0].name);

    /* a tombstone in history: no text, no metadata, no reactions */
    json_t *t = in_history(m[2].c, ch, b);
    assert_true(jbool(t, "deleted"));
    assert_string_equal(jstr(t, "content"), "");
    assert_int_equal(json_object_size(jobj(t, "metadata")), 0);
    assert_null(json_object_get(t, "reactions")); /* its reactions went with it */
    assert_null(json_object_get(in_history(m[2].c, ch, a), "deleted"));
    /* nothing more happens to it */
    edit(m[1].c, ch, b, "back");
    expect_error(m[1].c, "forbidden", "edit_message");
    react(m[2].c, ch, b, "+1", NULL);
    expect_error(m[2].c, "forbidden", "react");
    /* notices cannot be deleted */
    send_pack(m[2].c, "{s:s,s:s}", "type", "leave_channel", "channelId", ch);
    json_t *left = recv_system(m[0].c, ch, "user_left");
    del(m[0].c, ch, jstr(left, "message_id"));
    expect_error(m[0].c, "forbidden", "delete_message");
    del(m[0].c, ch, "999");
    expect_error(m[0].c, "not_found", "delete_message");
    send_pack(m[0].c, "{s:s,s:s}", "type", "delete_message", "channelId", ch);
    expect_error(m[0].c, "invalid_field", "delete_message");
    close_all(m, 3);
}

/* ---- reactions ---- */

static void test_react(void **state) {
    member m[3];
    const char *ch = group_with(H_SRV, m, 3, "re");
    const char *id = jstr(send_msg(m[0].c, ch, "react to me"), "message_id");
    const char *thumbs = "\xf0\x9f\x91\x8d";

    react(m[1].c, ch, id, thumbs, NULL); /* op defaults to add */
    json_int_t seq = 0;
    for (int i = 0; i < 3; i++) {
        json_t *r = recv_about(m[i].c, "reaction", id);
        assert_string_equal(jstr(r, "user_id"), m[1].name);
        assert_string_equal(jstr(r, "emoji"), thumbs);
        assert_string_equal(jstr(r, "op"), "add");
        seq = jint(r, "seq");
    }
    /* adding it again changes nothing and sends nothing: the next reaction
     * anyone sees is the following one */
    react(m[1].c, ch, id, thumbs, "add");
    react(m[2].c, ch, id, "+1", "remove"); /* never added: nothing */
    react(m[2].c, ch, id, "+1", "add");
    react(m[2].c, ch, id, thumbs, "add");
    for (int i = 0; i < 3; i++) {
        /* two frames, in seq order (also in a cluster: one channel's
         * records reach every server in order) */
        json_t *r[2] = {recv_about(m[i].c, "reaction", id), recv_about(m[i].c, "reaction", id)};
        if (strcmp(jstr(r[0], "emoji"), "+1") || strcmp(jstr(r[0], "user_id"), m[2].name) ||
            jint(r[0], "seq") != seq + 1 || strcmp(jstr(r[1], "emoji"), thumbs) ||
            strcmp(jstr(r[1], "user_id"), m[2].name) || jint(r[1], "seq") != seq + 2)
            fail_msg("want +1 then the thumb from %s at %lld, %lld:\n%s\n%s", m[2].name,
                     (long long)seq + 1, (long long)seq + 2, jdump(r[0]), jdump(r[1]));
    }
    /* the message carries them, ordered by first use */
    json_t *h = in_history(m[0].c, ch, id);
    json_t *rs = jarr(h, "reactions");
    assert_int_equal(json_array_size(rs), 2);
    assert_string_equal(jstr(json_array_get(rs, 0), "emoji"), thumbs);
    assert_int_equal(jint(json_array_get(rs, 0), "count"), 2);
    json_t *users = jarr(json_array_get(rs, 0), "users");
    assert_string_equal(json_string_value(json_array_get(users, 0)), m[1].name);
    assert_string_equal(json_string_value(json_array_get(users, 1)), m[2].name);
    assert_string_equal(jstr(json_array_get(rs, 1), "emoji"), "+1");

    react(m[1].c, ch, id, thumbs, "remove");
    json_t *r = recv_about(m[0].c, "reaction", id);
    assert_string_equal(jstr(r, "op"), "remove");
    assert_string_equal(jstr(r, "user_id"), m[1].name);
    assert_string_equal(jstr(recv_about(m[1].c, "reaction", id), "op"), "remove");

    /* the emoji rules */
    react(m[1].c, ch, id, "a b", NULL);
    expect_error(m[1].c, "invalid_field", "react");
    react(m[1].c, ch, id, "", NULL);
    expect_error(m[1].c, "invalid_field", "react");
    react(m[1].c, ch, id, "123456789012345678901234567890123", NULL);
    expect_error(m[1].c, "invalid_field", "react");
    react(m[1].c, ch, id, "x", "toggle");
    expect_error(m[1].c, "invalid_field", "react");
    react(m[1].c, ch, "42", "x", NULL);
    expect_error(m[1].c, "not_found", "react");

    /* at most 50 different emoji on one message */
    for (int i = 2; i < 50; i++)
        react(m[1].c, ch, id, hfmt("e%d", i), NULL);
    char got[50] = {0};
    for (int i = 2; i < 50; i++) { /* each once, in any order */
        int e = atoi(jstr(recv_about(m[1].c, "reaction", id), "emoji") + 1);
        if (e < 2 || e >= 50 || got[e]++) fail_msg("reaction e%d unexpected or twice", e);
    }
    react(m[1].c, ch, id, "one-too-many", NULL);
    expect_error(m[1].c, "too_large", "react");
    react(m[0].c, ch, id, "e2", NULL); /* one already there: fine */
    int mine = 0;
    for (int i = 2; i <= 50; i++) { /* bob's 48 and then ours, as m[0] saw them */
        json_t *x = recv_about(m[0].c, "reaction", id);
        if (!strcmp(jstr(x, "user_id"), m[0].name)) {
            assert_string_equal(jstr(x, "emoji"), "e2");
            mine++;
        }
    }
    assert_int_equal(mine, 1);
    close_all(m, 3);
}

/* ---- fetch_changes ---- */

/* Bob is away while old messages are edited, deleted and reacted to; back,
 * fetch_changes gives him every change exactly once, in order, as Alice
 * saw them live. */
static void test_fetch_changes_after_reconnect(void **state) {
    member m[2];
    const char *ch = group_with(H_SRV, m, 2, "fc");
    const char *ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = jstr(send_msg(m[0].c, ch, hfmt("old %d", i)), "message_id");
        recv_msg(m[1].c, ch, hfmt("old %d", i));
    }
    json_t *h = fetch_history(m[1].c, ch, NULL, NULL, 0);
    json_t *msgs = jarr(h, "messages");
    json_int_t last = jint(json_array_get(msgs, json_array_size(msgs) - 1), "seq");
    tconn_close(m[1].c); /* bob goes away, having seen up to `last` */

    json_t *live[6];
    edit(m[0].c, ch, ids[0], "old 0, fixed");
    live[0] = recv_about(m[0].c, "message_updated", ids[0]);
    react(m[0].c, ch, ids[1], "+1", NULL);
    live[1] = recv_about(m[0].c, "reaction", ids[1]);
    del(m[0].c, ch, ids[2]);
    live[2] = recv_about(m[0].c, "message_deleted", ids[2]);
    live[3] = send_msg(m[0].c, ch, "new one");
    react(m[0].c, ch, ids[1], "+1", "remove");
    live[4] = recv_about(m[0].c, "reaction", ids[1]);
    edit(m[0].c, ch, ids[0], "old 0, fixed twice");
    live[5] = recv_about(m[0].c, "message_updated", ids[0]);

    m[1].c = chat_login(H_SRV, m[1].name);
    json_t *r = fetch_changes(m[1].c, ch, last, 0);
    json_t *ev = jarr(r, "events");
    assert_false(jbool(r, "has_more"));
    if (json_array_size(ev) != 6) fail_msg("want 6 events: %s", jdump(r));
    for (size_t i = 0; i < 6; i++) {
        json_t *e = json_array_get(ev, i);
        assert_int_equal(jint(e, "seq"), last + 1 + (json_int_t)i);
        if (!json_equal(e, live[i]))
            fail_msg("event %zu differs from the live frame:\n%s\n%s", i, jdump(e), jdump(live[i]));
    }
    /* paged: limit 4, then from the last seq of the page */
    r = fetch_changes(m[1].c, ch, last, 4);
    assert_int_equal(json_array_size(jarr(r, "events")), 4);
    assert_true(jbool(r, "has_more"));
    r = fetch_changes(m[1].c, ch, last + 4, 4);
    assert_int_equal(json_array_size(jarr(r, "events")), 2);
    assert_false(jbool(r, "has_more"));
    assert_int_equal(jint(json_array_get(jarr(r, "events"), 0), "seq"), last + 5);
    /* nothing after the last */
    r = fetch_changes(m[1].c, ch, last + 6, 0);
    assert_int_equal(json_array_size(jarr(r, "events")), 0);

    /* from the start: the deleted message's chat_message comes back erased;
     * the edited one as first sent, its edits after it */
    r = fetch_changes(m[1].c, ch, 0, 500);
    ev = jarr(r, "events");
    for (size_t i = 0; i < json_array_size(ev); i++) {
        json_t *e = json_array_get(ev, i);
        assert_int_equal(jint(e, "seq"), (json_int_t)i + 1); /* gapless */
        if (strcmp(jstr(e, "type"), "chat_message")) continue;
        if (!strcmp(jstr(e, "message_id"), ids[2])) {
            assert_string_equal(jstr(e, "content"), "");
            assert_true(jbool(e, "deleted"));
        } else if (!strcmp(jstr(e, "message_id"), ids[0])) {
            assert_string_equal(jstr(e, "content"), "old 0");
        }
    }
    close_all(m, 2);
}

static void test_fetch_changes_errors(void **state) {
    member m[2];
    const char *ch = group_with(H_SRV, m, 2, "fe");
    tconn *x = chat_login(H_SRV, new_user(H_SRV, "fx"));
    send_pack(m[0].c, "{s:s,s:s}", "type", "fetch_changes", "channelId", ch);
    expect_error(m[0].c, "invalid_field", "fetch_changes"); /* after_seq is required */
    send_pack(m[0].c, "{s:s,s:s,s:i}", "type", "fetch_changes", "channelId", ch, "after_seq", -1);
    expect_error(m[0].c, "invalid_field", "fetch_changes");
    send_pack(m[0].c, "{s:s,s:s,s:i,s:i}", "type", "fetch_changes", "channelId", ch, "after_seq", 0,
              "limit", 0);
    expect_error(m[0].c, "invalid_field", "fetch_changes");
    send_pack(m[0].c, "{s:s,s:s,s:i,s:i}", "type", "fetch_changes", "channelId", ch, "after_seq", 0,
              "limit", 501);
    expect_error(m[0].c, "invalid_field", "fetch_changes");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "fetch_changes", "channelId", ch, "after_seq", "0");
    expect_error(m[0].c, "invalid_field", "fetch_changes");
    send_pack(x, "{s:s,s:s,s:i}", "type", "fetch_changes", "channelId", ch, "after_seq", 0);
    expect_error(x, "forbidden", "fetch_changes");
    send_pack(x, "{s:s,s:s,s:i}", "type", "fetch_changes", "channelId",
              "00000000-0000-4000-8000-000000000000", "after_seq", 0);
    expect_error(x, "not_found", "fetch_changes");
    /* limit 500 is allowed */
    json_t *r = fetch_changes(m[0].c, ch, 0, 500);
    assert_false(jbool(r, "has_more"));
    tconn_close(x);
    close_all(m, 2);
}

/* ---- typing ---- */

static int pred_typing_or_msg(json_t *f, const void *ctx) {
    const char *t = json_string_value(json_object_get(f, "type"));
    return t && (!strcmp(t, "typing") || !strcmp(t, "chat_message"));
}

static void test_typing(void **state) {
    member m[3];
    const char *ch = group_with(H_SRV, m, 3, "ty");
    send_pack(m[0].c, "{s:s,s:s}", "type", "typing", "channelId", ch);
    send_pack(m[0].c, "{s:s,s:s}", "type", "typing", "channelId", ch); /* within 2 s: dropped */
    send_msg(m[0].c, ch, "typed");
    for (int i = 1; i < 3; i++) {
        json_t *t = recv_match(m[i].c, pred_typing_or_msg, NULL, H_TIMEOUT, "typing");
        assert_string_equal(jstr(t, "type"), "typing");
        assert_string_equal(jstr(t, "channel_id"), ch);
        assert_string_equal(jstr(t, "user_id"), m[0].name);
        assert_int_equal(jint(t, "expires_ms"), 6000);
        assert_null(json_object_get(t, "seq")); /* not stored */
        /* the second one was dropped: next comes the message */
        t = recv_match(m[i].c, pred_typing_or_msg, NULL, H_TIMEOUT, "the message");
        assert_string_equal(jstr(t, "type"), "chat_message");
    }
    /* not to the typist's own sockets */
    assert_int_equal(backlog_count(m[0].c, "typing"), 0);
    /* others may type meanwhile (the limit is per user) */
    send_pack(m[1].c, "{s:s,s:s}", "type", "typing", "channelId", ch);
    assert_string_equal(jstr(recv_type(m[0].c, "typing", H_TIMEOUT), "user_id"), m[1].name);
    /* not stored: the seq goes on from the message */
    json_t *r = fetch_changes(m[0].c, ch, 0, 500);
    json_t *ev = jarr(r, "events");
    for (size_t i = 0; i < json_array_size(ev); i++)
        assert_string_not_equal(jstr(json_array_get(ev, i), "type"), "typing");
    /* non-member, unknown channel, bad id */
    tconn *x = chat_login(H_SRV, new_user(H_SRV, "tx"));
    send_pack(x, "{s:s,s:s}", "type", "typing", "channelId", ch);
    expect_error(x, "forbidden", "typing");
    send_pack(x, "{s:s,s:s}", "type", "typing", "channelId", "nope");
    expect_error(x, "invalid_field", "typing");
    tconn_close(x);
    close_all(m, 3);
}

/* ---- unread counts ---- */

static void test_unread_skips_deleted(void **state) {
    member m[2];
    const char *ch = group_with(H_SRV, m, 2, "un");
    const char *a = jstr(send_msg(m[0].c, ch, "one"), "message_id");
    send_msg(m[0].c, ch, "two");
    const char *mine = jstr(send_msg(m[1].c, ch, "mine"), "message_id");
    react(m[0].c, ch, a, "+1", NULL);
    recv_about(m[0].c, "reaction", a);
    edit(m[0].c, ch, a, "one, edited");
    recv_about(m[0].c, "message_updated", a);
    tconn *b = chat_login(H_SRV, m[1].name);
    json_t *e = list_entry(recv_type(b, "channels_list", H_TIMEOUT), ch);
    assert_int_equal(jint(e, "unread_count"), 2); /* the edit and reaction are not counted */
    tconn_close(b);
    del(m[0].c, ch, a);
    recv_about(m[0].c, "message_deleted", a);
    del(m[1].c, ch, mine);
    recv_about(m[1].c, "message_deleted", mine);
    b = chat_login(H_SRV, m[1].name);
    e = list_entry(recv_type(b, "channels_list", H_TIMEOUT), ch);
    assert_int_equal(jint(e, "unread_count"), 1);
    tconn_close(b);
    close_all(m, 2);
}

/* ---- erased from storage ---- */

/* 1 when any file under dir holds needle. */
static int dir_holds(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    struct dirent *e;
    int found = 0;
    size_t nl = strlen(needle);
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        FILE *f = fopen(hfmt("%s/%s", dir, e->d_name), "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)n + 1);
        size_t got = fread(buf, 1, (size_t)n, f);
        fclose(f);
        found = got >= nl && memmem(buf, got, needle, nl) != NULL;
        free(buf);
    }
    closedir(d);
    return found;
}

/* Rows of the cluster's PostgreSQL that hold needle anywhere: every table
 * of the schema, each row as text (indexes of the text included, when they
 * are tables or columns). */
static long pg_rows_holding(chatd_srv *s, const char *needle) {
    int port = hcluster_engine_port(s->cluster, "postgres");
    PGconn *pg = PQconnectdb(hfmt("host=127.0.0.1 port=%d user=postgres", port));
    if (PQstatus(pg) != CONNECTION_OK) fail_msg("PostgreSQL: %s", PQerrorMessage(pg));
    PGresult *t = PQexec(pg, "SELECT quote_ident(table_name) FROM information_schema.tables"
                             " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    if (PQresultStatus(t) != PGRES_TUPLES_OK) fail_msg("tables: %s", PQerrorMessage(pg));
    long n = 0;
    const char *params[1] = {needle};
    for (int i = 0; i < PQntuples(t); i++) {
        const char *q =
            hfmt("SELECT count(*) FROM %s t WHERE strpos(t::text, $1) > 0", PQgetvalue(t, i, 0));
        PGresult *r = PQexecParams(pg, q, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", q, PQerrorMessage(pg));
        n += strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    PQclear(t);
    PQfinish(pg);
    return n;
}

static void test_deleted_text_erased(void **state) {
    chatd_srv *s = H_SRV;
    int embedded = !s->cluster;
    if (embedded) s = chatd_start(NULL); /* a server of its own, to stop and read its files */
    member m[2];
    const char *ch = group_with(s, m, 2, "er");
    const char *kept = hfmt("kept-%s-marker", m[0].name);
    const char *gone1 = hfmt("first-%s-secret", m[0].name);
    const char *gone2 = hfmt("second-%s-secret", m[0].name);
    /* one word of each text too, as any index of words would keep it */
    const char *word1 = hfmt("zqxfirst%lldword", (long long)now_ms());
    const char *word2 = hfmt("zqxsecond%lldword", (long long)now_ms());
    /* long texts: a row that shrinks in place would leave most of them
     * behind in the page's free space unless it is zeroed */
    char pad[801];
    memset(pad, 'p', 800);
    pad[800] = '\0';
    send_msg(m[0].c, ch, kept);
    const char *id = jstr(send_msg(m[0].c, ch, hfmt("%s %s %s", gone1, word1, pad)), "message_id");
    edit(m[0].c, ch, id, hfmt("%s %s %s", gone2, word2, pad));
    recv_about(m[1].c, "message_updated", id);
    del(m[0].c, ch, id);
    recv_about(m[1].c, "message_deleted", id);
    close_all(m, 2);
    if (embedded) {
        /* stopped: the WAL is checkpointed into the database file */
        assert_int_equal(chatd_stop(s), 0);
        const char *data = hfmt("%s/data", s->dir);
        assert_true(dir_holds(data, kept)); /* the search can find text */
        assert_false(dir_holds(data, gone1));
        assert_false(dir_holds(data, gone2));
        assert_false(dir_holds(data, word1));
        assert_false(dir_holds(data, word2));
        chatd_free(s);
    } else {
        assert_true(pg_rows_holding(s, kept) >= 1); /* the search can find text */
        assert_int_equal(pg_rows_holding(s, gone1), 0);
        assert_int_equal(pg_rows_holding(s, gone2), 0);
        assert_int_equal(pg_rows_holding(s, word1), 0);
        assert_int_equal(pg_rows_holding(s, word2), 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_react),
        cmocka_unit_test(test_fetch_changes_after_reconnect),
        cmocka_unit_test(test_fetch_changes_errors),
        cmocka_unit_test(test_typing),
        cmocka_unit_test(test_unread_skips_deleted),
        cmocka_unit_test(test_deleted_text_erased),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
