/*
 * chatkit: see chatkit.h.
 */
#include "integration/chatkit.h"

#include <stdlib.h>
#include <string.h>

static int str_eq(json_t *o, const char *key, const char *want) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

json_t *list_entry(json_t *list, const char *channel_id) {
    json_t *chans = json_object_get(list, "channels"), *e;
    size_t i;
    json_array_foreach(chans, i, e) if (str_eq(e, "channel_id", channel_id)) return e;
    return NULL;
}

static int pred_list_with(json_t *f, const void *ctx) {
    return str_eq(f, "type", "channels_list") && list_entry(f, ctx) != NULL;
}

static int pred_list_without(json_t *f, const void *ctx) {
    return str_eq(f, "type", "channels_list") && list_entry(f, ctx) == NULL;
}

json_t *recv_list_with(tconn *c, const char *channel_id) {
    return recv_list_with_in(c, channel_id, H_TIMEOUT);
}

json_t *recv_list_with_in(tconn *c, const char *channel_id, int timeout_ms) {
    return recv_match(c, pred_list_with, channel_id, timeout_ms,
                      hfmt("channels_list with %s", channel_id));
}

json_t *recv_list_without(tconn *c, const char *channel_id) {
    return recv_match(c, pred_list_without, channel_id, H_TIMEOUT,
                      hfmt("channels_list without %s", channel_id));
}

struct msg_key {
    const char *channel, *content;
};

static int pred_msg(json_t *f, const void *ctx) {
    const struct msg_key *k = ctx;
    return str_eq(f, "type", "chat_message") && str_eq(f, "channel_id", k->channel) &&
           str_eq(f, "content", k->content);
}

json_t *try_recv_msg(tconn *c, const char *channel_id, const char *content, int timeout_ms) {
    struct msg_key k = {channel_id, content};
    return try_recv_match(c, pred_msg, &k, timeout_ms);
}

json_t *recv_msg(tconn *c, const char *channel_id, const char *content) {
    struct msg_key k = {channel_id, content};
    return recv_match(c, pred_msg, &k, H_TIMEOUT, hfmt("chat_message \"%.40s\"", content));
}

static int pred_system(json_t *f, const void *ctx) {
    const struct msg_key *k = ctx; /* content = event */
    json_t *md = json_object_get(f, "metadata");
    return str_eq(f, "type", "system") && str_eq(f, "channel_id", k->channel) &&
           str_eq(md, "event", k->content);
}

json_t *recv_system(tconn *c, const char *channel_id, const char *event) {
    struct msg_key k = {channel_id, event};
    return recv_match(c, pred_system, &k, H_TIMEOUT, hfmt("system %s notice", event));
}

const char *group_with(chatd_srv *s, member *m, int n, const char *prefix) {
    const char *others[64];
    assert_true(n >= 1 && n < 64);
    for (int i = 0; i < n; i++) {
        m[i].name = new_user(s, prefix);
        m[i].c = chat_login(s, m[i].name);
    }
    for (int i = 1; i < n; i++)
        others[i - 1] = m[i].name;
    others[n - 1] = NULL;
    const char *id = create_group(m[0].c, hfmt("group %s", m[0].name), others);
    for (int i = 0; i < n; i++)
        recv_list_with(m[i].c, id);
    for (int i = 0; i < n; i++)
        drain(m[i].c, 0);
    return id;
}

void check_message(json_t *m, const char *channel_id, const char *sender, const char *content) {
    assert_string_equal(jstr(m, "channel_id"), channel_id);
    const char *id = jstr(m, "message_id");
    if (!is_decimal_id(id)) fail_msg("message_id is not a decimal id string: %s", jdump(m));
    if (sender) assert_string_equal(jstr(m, "user_id"), sender);
    assert_string_equal(jstr(m, "sender_id"), jstr(m, "user_id"));
    if (content) assert_string_equal(jstr(m, "content"), content);
    if (!is_iso_ms(jstr(m, "created_at"))) fail_msg("created_at not ISO ms: %s", jdump(m));
    jobj(m, "metadata");
    if (jint(m, "seq") < 1) fail_msg("seq < 1: %s", jdump(m));
}

void check_system(json_t *m, const char *channel_id, const char *event, const char *user) {
    assert_string_equal(jstr(m, "channel_id"), channel_id);
    assert_string_equal(jstr(m, "sender_id"), "system");
    assert_string_equal(jstr(m, "user_id"), "system");
    if (!is_iso_ms(jstr(m, "created_at"))) fail_msg("created_at not ISO ms: %s", jdump(m));
    json_t *md = jobj(m, "metadata");
    assert_string_equal(jstr(md, "event"), event);
    assert_string_equal(jstr(md, "user_id"), user);
    if (strcmp(event, "user_left") == 0)
        assert_string_equal(jstr(m, "content"), hfmt("%s has left the channel", user));
    else
        jstr(m, "content");
    /* system notices are stored messages: they carry an id and a seq */
    if (!is_decimal_id(jstr(m, "message_id"))) fail_msg("system notice id: %s", jdump(m));
    if (jint(m, "seq") < 1) fail_msg("system notice seq: %s", jdump(m));
}

/* ---- create / send / history ---- */
static int pred_joined(json_t *f, const void *ctx) {
    return str_eq(f, "type", "channel_joined") && str_eq(f, "channelId", ctx);
}

const char *create_group(tconn *c, const char *name, const char *const *participants) {
    json_t *arr = json_array();
    for (size_t i = 0; participants && participants[i]; i++)
        json_array_append_new(arr, json_string(participants[i]));
    send_pack(c, "{s:s,s:s,s:o}", "type", "create_channel", "name", name, "participants", arr);
    json_t *cr = recv_type(c, "channel_created", H_TIMEOUT);
    const char *id = jstr(jobj(cr, "channel"), "channel_id");
    recv_match(c, pred_joined, id, H_TIMEOUT, "channel_joined for the new channel");
    return id;
}

json_t *send_msg(tconn *c, const char *channel_id, const char *content) {
    send_pack(c, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", channel_id, "content",
              content);
    return recv_msg(c, channel_id, content);
}

static int pred_history(json_t *f, const void *ctx) {
    return str_eq(f, "type", "history") && str_eq(f, "channel_id", ctx);
}

json_t *fetch_history(tconn *c, const char *channel_id, const char *before, const char *after,
                      int limit) {
    json_t *req = json_pack("{s:s,s:s}", "type", "fetch_history", "channelId", channel_id);
    if (before) json_object_set_new(req, "before", json_string(before));
    if (after) json_object_set_new(req, "after", json_string(after));
    if (limit) json_object_set_new(req, "limit", json_integer(limit));
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    harness__keep_str(s);
    send_text(c, s, strlen(s));
    return recv_match(c, pred_history, channel_id, 5000, "history reply");
}

json_t *fetch_all(tconn *c, const char *channel_id) {
    json_t *all = harness__keep_json(json_array());
    const char *before = NULL;
    for (int pages = 0; pages < 10000; pages++) {
        json_t *h = fetch_history(c, channel_id, before, NULL, 100);
        json_t *msgs = jarr(h, "messages");
        json_t *page = json_copy(msgs);
        json_array_extend(page, all);
        json_array_clear(all);
        json_array_extend(all, page);
        json_decref(page);
        if (!jbool(h, "has_more") || json_array_size(msgs) == 0) break;
        before = jstr(json_array_get(msgs, 0), "message_id");
    }
    return all;
}

struct who_status {
    const char *user, *status;
};

static int pred_presence(json_t *f, const void *ctx) {
    const struct who_status *w = ctx;
    json_t *t = json_object_get(f, "type"), *e;
    size_t i;
    if (!json_is_string(t) || strcmp(json_string_value(t), "presence_update") != 0) return 0;
    json_array_foreach(json_object_get(f, "presence"), i, e) {
        json_t *u = json_object_get(e, "user_id"), *st = json_object_get(e, "status");
        if (json_is_string(u) && !strcmp(json_string_value(u), w->user) &&
            (!w->status || (json_is_string(st) && !strcmp(json_string_value(st), w->status))))
            return 1;
    }
    return 0;
}

json_t *try_recv_presence(tconn *c, const char *user, const char *status, int timeout_ms) {
    struct who_status w = {user, status};
    return try_recv_match(c, pred_presence, &w, timeout_ms);
}
