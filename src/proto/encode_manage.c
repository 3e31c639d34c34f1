/*
 * encode_manage: the protocol 1.1 frames of search, the channel directory
 * and channel management, and the metadata of the management notices
 * (PROTOCOL.md section 6). One encode per frame, as in encode.c.
 */
#include <stdlib.h>

#include "proto/encode_int.h"

rcbuf *enc_search_results(const char *query, const proto_msg *msgs, size_t n, int has_more) {
    json_t *obj = enc__typed("search_results");
    json_object_set_new(obj, "query", enc__jstr(query));
    json_object_set_new(obj, "messages", enc__jmessages(msgs, n));
    json_object_set_new(obj, "has_more", json_boolean(has_more));
    return enc__finish(obj);
}

rcbuf *enc_channel_directory(const proto_dir_entry *e, size_t n, int has_more) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "channel_id", enc__jstr(e[i].channel_id));
        json_object_set_new(o, "name", enc__jstr(e[i].name ? e[i].name : ""));
        json_object_set_new(o, "topic", enc__jstr(e[i].topic ? e[i].topic : ""));
        json_object_set_new(o, "member_count", json_integer(e[i].member_count));
        json_object_set_new(o, "created_at", enc__jtime(e[i].created_ms));
        json_object_set_new(o, "is_member", json_boolean(e[i].is_member));
        json_array_append_new(arr, o);
    }
    json_t *obj = enc__typed("channel_directory");
    json_object_set_new(obj, "channels", arr);
    json_object_set_new(obj, "has_more", json_boolean(has_more));
    return enc__finish(obj);
}

/* Dumps and releases a metadata object (not a frame: not counted). */
static char *dump(json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) abort(); /* out of memory */
    return s;
}

static json_t *meta(const char *event, const char *by) {
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "by", enc__jstr(by));
    return o;
}

char *enc_meta_members_added(const char *const *users, size_t n, const char *by) {
    json_t *o = meta("members_added", by), *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, enc__jstr(users[i]));
    json_object_set_new(o, "user_ids", arr);
    return dump(o);
}

char *enc_meta_member_removed(const char *user, const char *by) {
    json_t *o = meta("member_removed", by);
    json_object_set_new(o, "user_id", enc__jstr(user));
    return dump(o);
}

char *enc_meta_role_changed(const char *user, int is_admin, const char *by) {
    json_t *o = meta("role_changed", by);
    json_object_set_new(o, "user_id", enc__jstr(user));
    json_object_set_new(o, "role", json_string(is_admin ? "admin" : "member"));
    return dump(o);
}

char *enc_meta_channel_updated(const char *name, const char *topic, const char *by) {
    json_t *o = meta("channel_updated", by);
    json_object_set_new(o, "name", enc__jstr(name));
    json_object_set_new(o, "topic", enc__jstr(topic));
    return dump(o);
}
