/*
 * chatkit: see chatkit.h.
 */
#include "integration/chatkit.h"

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
    return recv_match(c, pred_list_with, channel_id, H_TIMEOUT,
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
    for (int i = 1; i < n; i++) others[i - 1] = m[i].name;
    others[n - 1] = NULL;
    const char *id = create_group(m[0].c, hfmt("group %s", m[0].name), others);
    for (int i = 0; i < n; i++) recv_list_with(m[i].c, id);
    for (int i = 0; i < n; i++) drain(m[i].c, 0);
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
