/*
 * encode_manage: the protocol 1.1 frames of search, the channel directory
 * and channel management, and the metadata of the management notices
 * (PROTOCOL.md section 6). One pass per frame with encode.c's writer; the
 * notices' metadata (stored, not sent as is) is built with jansson.
 */
#include <jansson.h>
#include <stdlib.h>

#include "proto/encode_int.h"

rcbuf *enc_search_results(const char *query, const proto_msg *msgs, size_t n, int has_more) {
    jsonw *w = enc__begin("search_results");
    enc__kstr(w, "query", query);
    enc__kmessages(w, "messages", msgs, n);
    enc__kbool(w, "has_more", has_more);
    return enc__finish(w);
}

rcbuf *enc_channel_directory(const proto_dir_entry *e, size_t n, int has_more) {
    jsonw *w = enc__begin("channel_directory");
    jsonw_key(w, "channels");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(w);
        enc__kstr(w, "channel_id", e[i].channel_id);
        enc__kstr(w, "name", e[i].name ? e[i].name : "");
        enc__kstr(w, "topic", e[i].topic ? e[i].topic : "");
        enc__kint(w, "member_count", e[i].member_count);
        enc__ktime(w, "created_at", e[i].created_ms);
        enc__kbool(w, "is_member", e[i].is_member);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    enc__kbool(w, "has_more", has_more);
    return enc__finish(w);
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
    json_object_set_new(o, "by", json_string(by));
    return o;
}

char *enc_meta_members_added(const char *const *users, size_t n, const char *by) {
    json_t *o = meta("members_added", by), *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(users[i]));
    json_object_set_new(o, "user_ids", arr);
    return dump(o);
}

char *enc_meta_member_removed(const char *user, const char *by) {
    json_t *o = meta("member_removed", by);
    json_object_set_new(o, "user_id", json_string(user));
    return dump(o);
}

char *enc_meta_role_changed(const char *user, int is_admin, const char *by) {
    json_t *o = meta("role_changed", by);
    json_object_set_new(o, "user_id", json_string(user));
    json_object_set_new(o, "role", json_string(is_admin ? "admin" : "member"));
    return dump(o);
}

char *enc_meta_channel_updated(const char *name, const char *topic, const char *by) {
    json_t *o = meta("channel_updated", by);
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "topic", json_string(topic));
    return dump(o);
}
