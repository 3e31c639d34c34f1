/*
 * encode: every server -> client frame's payload, built as a jansson
 * object and dumped once into one rcbuf, with room in front for the
 * transport to frame it in place (see encode.h).
 *
 * Why a scratch buffer: jansson cannot tell the size of a dump without
 * doing it, and a sizing pass (json_dumpb(obj, NULL, 0)) serialises twice.
 * Instead we dump once into a per-thread scratch buffer that keeps its
 * capacity between calls, then copy the bytes once into an exactly-sized
 * rcbuf. A memcpy is far cheaper than a second serialisation, and the
 * rcbuf holds no slack.
 */
#include "proto/encode.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- small JSON builders ---- */

/*
 * A JSON string for s; NULL becomes null. Stored and validated strings are
 * UTF-8 already; should one not be, its non-ASCII bytes become '?' rather
 * than the field vanishing or the frame carrying invalid UTF-8 (close 1007).
 */
static json_t *jstr(const char *s) {
    if (!s) return json_null();
    json_t *v = json_string(s);
    if (v) return v;
    char *copy = strdup(s);
    if (!copy) abort();
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

static json_t *jtime(int64_t ms) {
    char iso[25];
    enc_iso_time(ms, iso);
    return json_string(iso);
}

/* A message id as a decimal string; 0 (none) becomes null. */
static json_t *jid(uint64_t id) {
    if (id == 0) return json_null();
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, id);
    return json_string(buf);
}

/* The stored serialised metadata object; {} when absent or unparsable. */
static json_t *jmetadata(const char *s) {
    if (!s || strcmp(s, "{}") == 0) return json_object();
    json_t *v = json_loads(s, JSON_ALLOW_NUL, NULL);
    if (v && json_is_object(v)) return v;
    json_decref(v);
    return json_object();
}

static void set(json_t *obj, const char *key, json_t *v) {
    json_object_set_new(obj, key, v);
}

/* A "\n"-joined list of names as a JSON array ([] for NULL). */
static json_t *jnames(const char *list) {
    json_t *arr = json_array();
    for (const char *p = list; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, n));
        p += n + (nl != NULL);
    }
    return arr;
}

static json_t *jreactions(const proto_msg *m) {
    json_t *arr = json_array();
    for (size_t i = 0; i < m->n_reactions; i++) {
        json_t *o = json_object();
        set(o, "emoji", jstr(m->reactions[i].emoji));
        set(o, "count", json_integer(m->reactions[i].count));
        set(o, "users", jnames(m->reactions[i].users));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The Message object of PROTOCOL.md (without "type"). */
static json_t *jmessage(const proto_msg *m, json_t *obj) {
    set(obj, "channel_id", jstr(m->channel_id));
    set(obj, "message_id", jid(m->id));
    set(obj, "user_id", jstr(m->user_id));
    set(obj, "sender_id", jstr(m->user_id));
    set(obj, "content", jstr(m->content));
    set(obj, "created_at", jtime(m->created_ms));
    set(obj, "metadata", jmetadata(m->metadata));
    set(obj, "seq", json_integer(m->seq));
    if (m->client_msg_id) set(obj, "client_msg_id", jstr(m->client_msg_id));
    /* protocol 1.1 */
    set(obj, "edited_at", m->edited_ms ? jtime(m->edited_ms) : json_null());
    set(obj, "deleted", json_boolean(m->deleted));
    set(obj, "reactions", jreactions(m));
    set(obj, "mentions", jnames(m->mentions));
    if (m->reply_to) {
        set(obj, "reply_to", jid(m->reply_to));
    } else {
        set(obj, "reply_count", json_integer(m->reply_count));
        set(obj, "last_reply_at", m->last_reply_ms ? jtime(m->last_reply_ms) : json_null());
    }
    return obj;
}

static json_t *jmessages(const proto_msg *msgs, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, jmessage(&msgs[i], json_object()));
    return arr;
}

static json_t *typed(const char *type) {
    json_t *obj = json_object();
    set(obj, "type", json_string(type));
    return obj;
}

typedef struct scratch {
    char *p;
    size_t len, cap;
} scratch;

/* Per thread (the loop thread in practice); capacity up to SCRATCH_KEEP is
 * kept between calls so the steady state does no allocation here. */
#define SCRATCH_KEEP (256 * 1024)
static _Thread_local scratch tls_scratch;

static int scratch_append(const char *buf, size_t size, void *data) {
    scratch *s = data;
    if (s->len + size > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + size)
            cap *= 2;
        char *p = realloc(s->p, cap);
        if (!p) abort();
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, buf, size);
    s->len += size;
    return 0;
}

/* Dumps obj once (counted) into a payload rcbuf, and releases obj. */
static rcbuf *finish(json_t *obj) {
    scratch *s = &tls_scratch;
    s->len = 0;
    atomic_fetch_add_explicit(&n_encodes, 1, memory_order_relaxed);
    if (json_dump_callback(obj, scratch_append, s, JSON_COMPACT) < 0)
        s->len = 0; /* cannot happen for objects we build; send an empty frame */
    json_decref(obj);
    rcbuf *b = rcbuf_copy(s->p, s->len);
    if (s->cap > SCRATCH_KEEP) { /* a rare huge frame: do not hold on to its memory */
        free(s->p);
        *s = (scratch){0};
    }
    return b;
}

/* ---- the frames ---- */

rcbuf *enc_chat_message(const proto_msg *m) {
    return finish(jmessage(m, typed("chat_message")));
}

static json_t *jsystem(const proto_msg *m) {
    json_t *obj = typed("system");
    set(obj, "channel_id", jstr(m->channel_id));
    set(obj, "content", jstr(m->content));
    set(obj, "created_at", jtime(m->created_ms));
    set(obj, "metadata", jmetadata(m->metadata));
    set(obj, "sender_id", json_string("system"));
    set(obj, "user_id", json_string("system"));
    set(obj, "message_id", jid(m->id));
    set(obj, "seq", json_integer(m->seq));
    return obj;
}

rcbuf *enc_system(const proto_msg *m) {
    return finish(jsystem(m));
}

rcbuf *enc_error(const proto_error *e) {
    json_t *obj = typed("error");
    set(obj, "error", jstr(e->message));
    set(obj, "code", json_string(proto_code_name(e->code)));
    set(obj, "request_type", e->request_type[0] ? jstr(e->request_type) : json_null());
    return finish(obj);
}

rcbuf *enc_channels_list(const char *user, const proto_channel_entry *e, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const proto_channel_entry *c = &e[i];
        json_t *o = json_object();
        set(o, "user_id", jstr(user));
        set(o, "channel_id", jstr(c->channel_id));
        set(o, "channel_name", jstr(c->name ? c->name : ""));
        set(o, "channel_type", json_string(c->is_direct ? "direct" : "group"));
        set(o, "is_direct", json_boolean(c->is_direct));
        set(o, "last_read_at", c->last_read_ms < 0 ? json_null() : jtime(c->last_read_ms));
        json_t *others = json_array();
        for (size_t j = 0; j < c->n_participants && json_array_size(others) < ENC_MAX_OTHERS; j++)
            if (c->participants[j] && (!user || strcmp(c->participants[j], user) != 0))
                json_array_append_new(others, jstr(c->participants[j]));
        set(o, "other_participants", others);
        set(o, "member_count", json_integer(c->member_count));
        set(o, "unread_count", json_integer(c->unread_count));
        set(o, "last_message_id", jid(c->last_message_id));
        set(o, "last_read_message_id", jid(c->last_read_message_id));
        set(o, "mention_count", json_integer(c->mention_count));
        json_array_append_new(arr, o);
    }
    json_t *obj = typed("channels_list");
    set(obj, "channels", arr);
    return finish(obj);
}

rcbuf *enc_channel_created(const char *channel_id, int is_direct, int64_t created_ms,
                           const char *creator, const char *name, const char *const *participants,
                           size_t n_participants) {
    json_t *md = json_object();
    set(md, "creator_id", jstr(creator));
    set(md, "name", jstr(name ? name : ""));
    json_t *parts = json_array();
    for (size_t i = 0; i < n_participants; i++)
        json_array_append_new(parts, jstr(participants[i]));
    json_t *ch = json_object();
    set(ch, "channel_id", jstr(channel_id));
    set(ch, "type", json_string(is_direct ? "direct" : "group"));
    set(ch, "created_at", jtime(created_ms));
    set(ch, "metadata", md);
    set(ch, "participants", parts);
    json_t *obj = typed("channel_created");
    set(obj, "channel", ch);
    return finish(obj);
}

rcbuf *enc_channel_joined(const char *channel_id, const proto_msg *msgs, size_t n_msgs,
                          const proto_member *members, size_t n_members) {
    json_t *parts = json_array();
    for (size_t i = 0; i < n_members; i++) {
        json_t *p = json_object();
        set(p, "channel_id", jstr(channel_id));
        set(p, "user_id", jstr(members[i].user_id));
        set(p, "joined_at", jtime(members[i].joined_ms));
        set(p, "role", json_string(members[i].is_admin ? "admin" : "member"));
        json_array_append_new(parts, p);
    }
    json_t *obj = typed("channel_joined");
    set(obj, "channelId", jstr(channel_id));
    set(obj, "messages", jmessages(msgs, n_msgs));
    set(obj, "participants", parts);
    return finish(obj);
}

rcbuf *enc_channel_left(const char *channel_id) {
    json_t *obj = typed("channel_left");
    set(obj, "channelId", jstr(channel_id));
    return finish(obj);
}

rcbuf *enc_channel_read(const char *channel_id, const char *user_id, uint64_t message_id,
                        int64_t at_ms) {
    json_t *obj = typed("channel_read");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "user_id", jstr(user_id));
    set(obj, "last_read_message_id", jid(message_id));
    set(obj, "last_read_at", jtime(at_ms));
    return finish(obj);
}

rcbuf *enc_history(const char *channel_id, const proto_msg *msgs, size_t n, int has_more) {
    json_t *obj = typed("history");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "messages", jmessages(msgs, n));
    set(obj, "has_more", json_boolean(has_more));
    return finish(obj);
}

rcbuf *enc_presence(const char *type, const enc_presence_entry *p, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set(o, "user_id", jstr(p[i].user_id));
        set(o, "status", jstr(p[i].status));
        set(o, "last_seen", jtime(p[i].last_seen_ms));
        json_array_append_new(arr, o);
    }
    json_t *obj = typed(type);
    set(obj, "presence", arr);
    return finish(obj);
}

/* ---- protocol 1.1 ---- */

static json_t *jupdated(const char *channel_id, uint64_t message_id, int64_t seq,
                        const char *user_id, const char *content, int64_t edited_ms,
                        const char *mentions, int deleted) {
    json_t *obj = typed("message_updated");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "message_id", jid(message_id));
    set(obj, "seq", json_integer(seq));
    set(obj, "user_id", jstr(user_id));
    set(obj, "content", jstr(deleted ? "" : content));
    set(obj, "edited_at", jtime(edited_ms));
    set(obj, "mentions", jnames(deleted ? NULL : mentions));
    if (deleted) set(obj, "deleted", json_true());
    return obj;
}

rcbuf *enc_message_updated(const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *user_id, const char *content, int64_t edited_ms,
                           const char *mentions) {
    return finish(jupdated(channel_id, message_id, seq, user_id, content, edited_ms, mentions, 0));
}

static json_t *jdeleted(const char *channel_id, uint64_t message_id, int64_t seq,
                        const char *deleted_by, int64_t at_ms) {
    json_t *obj = typed("message_deleted");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "message_id", jid(message_id));
    set(obj, "seq", json_integer(seq));
    set(obj, "deleted_by", jstr(deleted_by));
    set(obj, "deleted_at", jtime(at_ms));
    return obj;
}

rcbuf *enc_message_deleted(const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *deleted_by, int64_t at_ms) {
    return finish(jdeleted(channel_id, message_id, seq, deleted_by, at_ms));
}

static json_t *jreaction(const char *channel_id, uint64_t message_id, int64_t seq,
                         const char *user_id, const char *emoji, int add) {
    json_t *obj = typed("reaction");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "message_id", jid(message_id));
    set(obj, "seq", json_integer(seq));
    set(obj, "user_id", jstr(user_id));
    set(obj, "emoji", jstr(emoji));
    set(obj, "op", json_string(add ? "add" : "remove"));
    return obj;
}

rcbuf *enc_reaction(const char *channel_id, uint64_t message_id, int64_t seq, const char *user_id,
                    const char *emoji, int add) {
    return finish(jreaction(channel_id, message_id, seq, user_id, emoji, add));
}

rcbuf *enc_typing(const char *channel_id, const char *user_id, int expires_ms) {
    json_t *obj = typed("typing");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "user_id", jstr(user_id));
    set(obj, "expires_ms", json_integer(expires_ms));
    return finish(obj);
}

rcbuf *enc_changes(const char *channel_id, const proto_change *ev, size_t n, int has_more) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const proto_change *e = &ev[i];
        json_t *o;
        switch (e->kind) {
        case PROTO_CHANGE_MESSAGE:
            o = e->msg.user_id && strcmp(e->msg.user_id, "system") == 0
                    ? jsystem(&e->msg)
                    : jmessage(&e->msg, typed("chat_message"));
            break;
        case PROTO_CHANGE_EDIT:
            o = jupdated(channel_id, e->message_id, e->seq, e->user_id, e->content, e->at_ms,
                         e->mentions, e->deleted);
            break;
        case PROTO_CHANGE_DELETE:
            o = jdeleted(channel_id, e->message_id, e->seq, e->user_id, e->at_ms);
            break;
        default:
            o = jreaction(channel_id, e->message_id, e->seq, e->user_id, e->emoji,
                          e->kind == PROTO_CHANGE_REACT_ADD);
            break;
        }
        json_array_append_new(arr, o);
    }
    json_t *obj = typed("changes");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "events", arr);
    set(obj, "has_more", json_boolean(has_more));
    return finish(obj);
}

rcbuf *enc_thread(const char *channel_id, const proto_msg *root, const proto_msg *msgs, size_t n,
                  int has_more) {
    json_t *obj = typed("thread");
    set(obj, "channel_id", jstr(channel_id));
    set(obj, "root", jmessage(root, json_object()));
    set(obj, "replies", jmessages(msgs, n));
    set(obj, "has_more", json_boolean(has_more));
    return finish(obj);
}

rcbuf *enc_raw(const char *json, size_t len) {
    return rcbuf_copy(json, len);
}
