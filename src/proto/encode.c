/*
 * encode: every server -> client frame's payload, written in one pass
 * (proto/jsonw.h, no tree of allocations) into a per-thread scratch buffer
 * that keeps its capacity between calls, then copied once into an
 * exactly-sized rcbuf with room in front for the transport to frame it in
 * place (see encode.h).
 *
 * Why not jansson: building a json_t tree allocates per field and dumps it
 * in a second pass; for a chat_message that was ~15 us of the loop
 * thread's time per message (issue #16), this is well under one. jansson
 * still checks stored metadata before it is spliced into a frame (a
 * shared database is not trusted).
 */
#include "proto/encode.h"
#include "proto/encode_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/jsonw.h"

static _Atomic uint64_t n_encodes;

uint64_t enc_count(void) {
    return atomic_load_explicit(&n_encodes, memory_order_relaxed);
}

/* ---- time ---- */

static void put_digits(char *p, long v, int width) {
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void enc_iso_time(int64_t ms, char out[25]) {
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) { /* floor division for times before 1970 */
        frac += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        memcpy(out, "1970-01-01T00:00:00.000Z", 25);
        return;
    }
    memcpy(out, "0000-00-00T00:00:00.000Z", 25);
    put_digits(out, tm.tm_year + 1900, 4);
    put_digits(out + 5, tm.tm_mon + 1, 2);
    put_digits(out + 8, tm.tm_mday, 2);
    put_digits(out + 11, tm.tm_hour, 2);
    put_digits(out + 14, tm.tm_min, 2);
    put_digits(out + 17, tm.tm_sec, 2);
    put_digits(out + 20, (long)frac, 3);
}

/* ---- the writer, its fields ---- */

/* Per thread (the loop thread in practice); capacity up to SCRATCH_KEEP is
 * kept between frames so the steady state does no allocation here. */
#define SCRATCH_KEEP (256 * 1024)
static _Thread_local jsonw tls_w;

/* Starts a frame: {"type":type (none when type is NULL). */
static jsonw *begin(const char *type) {
    jsonw *w = &tls_w;
    jsonw_reset(w);
    jsonw_obj_begin(w);
    if (type) {
        jsonw_key(w, "type");
        jsonw_str(w, type);
    }
    return w;
}

/* Ends the frame (counted) and copies it into a payload rcbuf. */
static rcbuf *finish(jsonw *w) {
    jsonw_obj_end(w);
    atomic_fetch_add_explicit(&n_encodes, 1, memory_order_relaxed);
    rcbuf *b = rcbuf_copy(w->p, w->len);
    if (w->cap > SCRATCH_KEEP) jsonw_free(w); /* a rare huge frame: do not keep its memory */
    return b;
}

static void kstr(jsonw *w, const char *key, const char *s) {
    jsonw_key(w, key);
    jsonw_str(w, s);
}

static void kint(jsonw *w, const char *key, int64_t v) {
    jsonw_key(w, key);
    jsonw_int(w, v);
}

static void kbool(jsonw *w, const char *key, bool v) {
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

static void time_value(jsonw *w, int64_t ms) {
    char iso[25];
    enc_iso_time(ms, iso);
    jsonw_strn(w, iso, 24);
}

static void ktime(jsonw *w, const char *key, int64_t ms) {
    jsonw_key(w, key);
    time_value(w, ms);
}

/* A time, or null when ms is `none`. */
static void ktime_or_null(jsonw *w, const char *key, int64_t ms, int64_t none) {
    jsonw_key(w, key);
    if (ms == none)
        jsonw_null(w);
    else
        time_value(w, ms);
}

/* A message id as a decimal string; 0 (none) becomes null. */
static void kid(jsonw *w, const char *key, uint64_t id) {
    jsonw_key(w, key);
    if (id == 0) {
        jsonw_null(w);
        return;
    }
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRIu64, id);
    jsonw_strn(w, buf, (size_t)n);
}

/* The stored serialised metadata object, as it is when it parses as a JSON
 * object; {} when absent or not one. */
static void kmetadata(jsonw *w, const char *s) {
    jsonw_key(w, "metadata");
    if (!s || strcmp(s, "{}") == 0) {
        jsonw_raw(w, "{}", 2);
        return;
    }
    json_t *v = json_loads(s, JSON_ALLOW_NUL, NULL);
    if (v && json_is_object(v))
        jsonw_raw(w, s, strlen(s));
    else
        jsonw_raw(w, "{}", 2);
    json_decref(v);
}

/* A "\n"-joined list of names as a JSON array ([] for NULL). */
static void knames(jsonw *w, const char *key, const char *list) {
    jsonw_key(w, key);
    jsonw_arr_begin(w);
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        jsonw_strn(w, p, n);
        p += n + (nl != NULL);
    }
    jsonw_arr_end(w);
}

static void kreactions(jsonw *w, const proto_msg *m) {
    jsonw_key(w, "reactions");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < m->n_reactions; i++) {
        jsonw_obj_begin(w);
        kstr(w, "emoji", m->reactions[i].emoji);
        kint(w, "count", m->reactions[i].count);
        knames(w, "users", m->reactions[i].users);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* The Message object's fields of PROTOCOL.md (no braces, no "type"). */
static void message_fields(jsonw *w, const proto_msg *m) {
    kstr(w, "channel_id", m->channel_id);
    kid(w, "message_id", m->id);
    kstr(w, "user_id", m->user_id);
    kstr(w, "sender_id", m->user_id);
    kstr(w, "content", m->content);
    ktime(w, "created_at", m->created_ms);
    kmetadata(w, m->metadata);
    kint(w, "seq", m->seq);
    if (m->client_msg_id) kstr(w, "client_msg_id", m->client_msg_id);
    /* protocol 1.1's fields, each absent when it does not apply (PROTOCOL.md
     * §6): a new message, the frame every member gets, carries none of
     * them, which keeps the fan-out's bytes per delivery those of 1.0. */
    if (m->edited_ms) ktime(w, "edited_at", m->edited_ms);
    if (m->deleted) kbool(w, "deleted", true);
    if (m->n_reactions) kreactions(w, m);
    if (m->mentions && *m->mentions) knames(w, "mentions", m->mentions);
    if (m->reply_to) {
        kid(w, "reply_to", m->reply_to);
    } else if (m->reply_count) {
        kint(w, "reply_count", m->reply_count);
        ktime_or_null(w, "last_reply_at", m->last_reply_ms, 0);
    }
}

/* "key":[Message...] */
static void kmessages(jsonw *w, const char *key, const proto_msg *msgs, size_t n) {
    jsonw_key(w, key);
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(w);
        message_fields(w, &msgs[i]);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
}

/* ---- the frames ---- */

rcbuf *enc_chat_message(const proto_msg *m) {
    jsonw *w = begin("chat_message");
    message_fields(w, m);
    return finish(w);
}

static void system_fields(jsonw *w, const proto_msg *m) {
    kstr(w, "channel_id", m->channel_id);
    kstr(w, "content", m->content);
    ktime(w, "created_at", m->created_ms);
    kmetadata(w, m->metadata);
    kstr(w, "sender_id", "system");
    kstr(w, "user_id", "system");
    kid(w, "message_id", m->id);
    kint(w, "seq", m->seq);
}

rcbuf *enc_system(const proto_msg *m) {
    jsonw *w = begin("system");
    system_fields(w, m);
    return finish(w);
}

rcbuf *enc_error(const proto_error *e) {
    jsonw *w = begin("error");
    kstr(w, "error", e->message);
    kstr(w, "code", proto_code_name(e->code));
    kstr(w, "request_type", e->request_type[0] ? e->request_type : NULL);
    return finish(w);
}

rcbuf *enc_channels_list(const char *user, const proto_channel_entry *e, size_t n) {
    jsonw *w = begin("channels_list");
    jsonw_key(w, "channels");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        const proto_channel_entry *c = &e[i];
        jsonw_obj_begin(w);
        kstr(w, "user_id", user);
        kstr(w, "channel_id", c->channel_id);
        kstr(w, "channel_name", c->name ? c->name : "");
        kstr(w, "channel_type", c->is_direct ? "direct" : "group");
        kbool(w, "is_direct", c->is_direct);
        ktime_or_null(w, "last_read_at", c->last_read_ms < 0 ? -1 : c->last_read_ms, -1);
        jsonw_key(w, "other_participants");
        jsonw_arr_begin(w);
        size_t others = 0;
        for (size_t j = 0; j < c->n_participants && others < ENC_MAX_OTHERS; j++)
            if (c->participants[j] && (!user || strcmp(c->participants[j], user) != 0)) {
                jsonw_str(w, c->participants[j]);
                others++;
            }
        jsonw_arr_end(w);
        kint(w, "member_count", c->member_count);
        kstr(w, "topic", c->topic ? c->topic : "");
        kbool(w, "private", c->is_private);
        kint(w, "unread_count", c->unread_count);
        kid(w, "last_message_id", c->last_message_id);
        kid(w, "last_read_message_id", c->last_read_message_id);
        kint(w, "mention_count", c->mention_count);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    return finish(w);
}

rcbuf *enc_channel_created(const char *channel_id, int is_direct, int64_t created_ms,
                           const char *creator, const char *name, const char *const *participants,
                           size_t n_participants) {
    jsonw *w = begin("channel_created");
    jsonw_key(w, "channel");
    jsonw_obj_begin(w);
    kstr(w, "channel_id", channel_id);
    kstr(w, "type", is_direct ? "direct" : "group");
    ktime(w, "created_at", created_ms);
    jsonw_key(w, "metadata");
    jsonw_obj_begin(w);
    kstr(w, "creator_id", creator);
    kstr(w, "name", name ? name : "");
    jsonw_obj_end(w);
    jsonw_key(w, "participants");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n_participants; i++)
        jsonw_str(w, participants[i]);
    jsonw_arr_end(w);
    jsonw_obj_end(w);
    return finish(w);
}

rcbuf *enc_channel_joined(const char *channel_id, const proto_msg *msgs, size_t n_msgs,
                          const proto_member *members, size_t n_members) {
    jsonw *w = begin("channel_joined");
    kstr(w, "channelId", channel_id);
    kmessages(w, "messages", msgs, n_msgs);
    jsonw_key(w, "participants");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n_members; i++) {
        jsonw_obj_begin(w);
        kstr(w, "channel_id", channel_id);
        kstr(w, "user_id", members[i].user_id);
        ktime(w, "joined_at", members[i].joined_ms);
        kstr(w, "role", members[i].is_admin ? "admin" : "member");
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    return finish(w);
}

rcbuf *enc_channel_left(const char *channel_id) {
    jsonw *w = begin("channel_left");
    kstr(w, "channelId", channel_id);
    return finish(w);
}

rcbuf *enc_channel_read(const char *channel_id, const char *user_id, uint64_t message_id,
                        int64_t at_ms) {
    jsonw *w = begin("channel_read");
    kstr(w, "channel_id", channel_id);
    kstr(w, "user_id", user_id);
    kid(w, "last_read_message_id", message_id);
    ktime(w, "last_read_at", at_ms);
    return finish(w);
}

rcbuf *enc_history(const char *channel_id, const proto_msg *msgs, size_t n, int has_more) {
    jsonw *w = begin("history");
    kstr(w, "channel_id", channel_id);
    kmessages(w, "messages", msgs, n);
    kbool(w, "has_more", has_more);
    return finish(w);
}

rcbuf *enc_presence(const char *type, const enc_presence_entry *p, size_t n) {
    jsonw *w = begin(type);
    jsonw_key(w, "presence");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_obj_begin(w);
        kstr(w, "user_id", p[i].user_id);
        kstr(w, "status", p[i].status);
        ktime(w, "last_seen", p[i].last_seen_ms);
        jsonw_obj_end(w);
    }
    jsonw_arr_end(w);
    return finish(w);
}

/* ---- protocol 1.1 ---- */

static void updated_fields(jsonw *w, const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *user_id, const char *content, int64_t edited_ms,
                           const char *mentions, int deleted) {
    kstr(w, "channel_id", channel_id);
    kid(w, "message_id", message_id);
    kint(w, "seq", seq);
    kstr(w, "user_id", user_id);
    kstr(w, "content", deleted ? "" : content);
    ktime(w, "edited_at", edited_ms);
    knames(w, "mentions", deleted ? NULL : mentions);
    if (deleted) kbool(w, "deleted", true);
}

rcbuf *enc_message_updated(const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *user_id, const char *content, int64_t edited_ms,
                           const char *mentions) {
    jsonw *w = begin("message_updated");
    updated_fields(w, channel_id, message_id, seq, user_id, content, edited_ms, mentions, 0);
    return finish(w);
}

static void deleted_fields(jsonw *w, const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *deleted_by, int64_t at_ms) {
    kstr(w, "channel_id", channel_id);
    kid(w, "message_id", message_id);
    kint(w, "seq", seq);
    kstr(w, "deleted_by", deleted_by);
    ktime(w, "deleted_at", at_ms);
}

rcbuf *enc_message_deleted(const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *deleted_by, int64_t at_ms) {
    jsonw *w = begin("message_deleted");
    deleted_fields(w, channel_id, message_id, seq, deleted_by, at_ms);
    return finish(w);
}

static void reaction_fields(jsonw *w, const char *channel_id, uint64_t message_id, int64_t seq,
                            const char *user_id, const char *emoji, int add) {
    kstr(w, "channel_id", channel_id);
    kid(w, "message_id", message_id);
    kint(w, "seq", seq);
    kstr(w, "user_id", user_id);
    kstr(w, "emoji", emoji);
    kstr(w, "op", add ? "add" : "remove");
}

rcbuf *enc_reaction(const char *channel_id, uint64_t message_id, int64_t seq, const char *user_id,
                    const char *emoji, int add) {
    jsonw *w = begin("reaction");
    reaction_fields(w, channel_id, message_id, seq, user_id, emoji, add);
    return finish(w);
}

rcbuf *enc_typing(const char *channel_id, const char *user_id, int expires_ms) {
    jsonw *w = begin("typing");
    kstr(w, "channel_id", channel_id);
    kstr(w, "user_id", user_id);
    kint(w, "expires_ms", expires_ms);
    return finish(w);
}

/* One event of a changes frame: the frame as it was pushed live. */
static void change_event(jsonw *w, const char *channel_id, const proto_change *e) {
    jsonw_obj_begin(w);
    switch (e->kind) {
    case PROTO_CHANGE_MESSAGE:
        if (e->msg.user_id && strcmp(e->msg.user_id, "system") == 0) {
            kstr(w, "type", "system");
            system_fields(w, &e->msg);
        } else {
            kstr(w, "type", "chat_message");
            message_fields(w, &e->msg);
        }
        break;
    case PROTO_CHANGE_EDIT:
        kstr(w, "type", "message_updated");
        updated_fields(w, channel_id, e->message_id, e->seq, e->user_id, e->content, e->at_ms,
                       e->mentions, e->deleted);
        break;
    case PROTO_CHANGE_DELETE:
        kstr(w, "type", "message_deleted");
        deleted_fields(w, channel_id, e->message_id, e->seq, e->user_id, e->at_ms);
        break;
    default:
        kstr(w, "type", "reaction");
        reaction_fields(w, channel_id, e->message_id, e->seq, e->user_id, e->emoji,
                        e->kind == PROTO_CHANGE_REACT_ADD);
        break;
    }
    jsonw_obj_end(w);
}

rcbuf *enc_changes(const char *channel_id, const proto_change *ev, size_t n, int has_more) {
    jsonw *w = begin("changes");
    kstr(w, "channel_id", channel_id);
    jsonw_key(w, "events");
    jsonw_arr_begin(w);
    for (size_t i = 0; i < n; i++)
        change_event(w, channel_id, &ev[i]);
    jsonw_arr_end(w);
    kbool(w, "has_more", has_more);
    return finish(w);
}

rcbuf *enc_thread(const char *channel_id, const proto_msg *root, const proto_msg *msgs, size_t n,
                  int has_more) {
    jsonw *w = begin("thread");
    kstr(w, "channel_id", channel_id);
    jsonw_key(w, "root");
    jsonw_obj_begin(w);
    message_fields(w, root);
    jsonw_obj_end(w);
    kmessages(w, "replies", msgs, n);
    kbool(w, "has_more", has_more);
    return finish(w);
}

rcbuf *enc_raw(const char *json, size_t len) {
    return rcbuf_copy(json, len);
}

/* ---- shared with encode_manage.c (encode_int.h) ---- */

jsonw *enc__begin(const char *type) {
    return begin(type);
}

rcbuf *enc__finish(jsonw *w) {
    return finish(w);
}

void enc__kstr(jsonw *w, const char *key, const char *s) {
    kstr(w, key, s);
}

void enc__kint(jsonw *w, const char *key, int64_t v) {
    kint(w, key, v);
}

void enc__kbool(jsonw *w, const char *key, bool v) {
    kbool(w, key, v);
}

void enc__ktime(jsonw *w, const char *key, int64_t ms) {
    ktime(w, key, ms);
}

void enc__kmessages(jsonw *w, const char *key, const proto_msg *msgs, size_t n) {
    kmessages(w, key, msgs, n);
}
