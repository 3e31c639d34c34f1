/*
 * msgs: the ring of recently shown messages and their handles. See msgs.h.
 * Lookups by id scan the ring: it holds a few thousand entries and they
 * happen once per typed command or incoming change, never per byte.
 */
#define _GNU_SOURCE
#include "cli/msgs.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t parse_id(const char *s) {
    if (!s || !*s || strlen(s) > 20) return 0;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v;
}

void cli_msgs_init(cli_msgs *t, size_t cap) {
    t->cap = cap ? cap : 1;
    t->ring = xcalloc(t->cap, sizeof *t->ring);
    t->next = 1;
}

static void entry_clear(cli_msg *m) {
    free(m->author);
    free(m->text);
    json_decref(m->reactions);
    json_decref(m->react_seq);
    memset(m, 0, sizeof *m);
}

void cli_msgs_free(cli_msgs *t) {
    for (size_t i = 0; i < t->cap; i++)
        entry_clear(&t->ring[i]);
    free(t->ring);
    memset(t, 0, sizeof *t);
}

cli_msg *cli_msgs_by_handle(cli_msgs *t, uint64_t handle) {
    if (handle == 0 || handle >= t->next) return NULL;
    cli_msg *m = &t->ring[handle % t->cap];
    return m->handle == handle ? m : NULL;
}

cli_msg *cli_msgs_by_id(cli_msgs *t, const char *channel, uint64_t id) {
    if (id == 0) return NULL;
    for (size_t i = 0; i < t->cap; i++) {
        cli_msg *m = &t->ring[i];
        if (m->handle && m->id == id && strcmp(m->channel, channel) == 0) return m;
    }
    return NULL;
}

cli_msg *cli_msgs_last(cli_msgs *t, const char *channel, const char *author) {
    cli_msg *best = NULL;
    for (size_t i = 0; i < t->cap; i++) {
        cli_msg *m = &t->ring[i];
        if (!m->handle || m->deleted || strcmp(m->channel, channel) != 0) continue;
        if (author && strcmp(m->author, author) != 0) continue;
        if (!best || m->id > best->id) best = m;
    }
    return best;
}

static void set_str(char **dst, const char *s) {
    free(*dst);
    *dst = xstrdup(s ? s : "");
}

cli_msg *cli_msgs_put(cli_msgs *t, const char *channel, json_t *msg) {
    uint64_t id = parse_id(json_string_value(json_object_get(msg, "message_id")));
    if (id == 0) return NULL;
    cli_msg *m = cli_msgs_by_id(t, channel, id);
    if (!m) {
        unsigned h = t->next++;
        m = &t->ring[h % t->cap];
        entry_clear(m);
        m->handle = h;
        snprintf(m->channel, sizeof m->channel, "%s", channel);
        m->id = id;
        m->reactions = json_array();
        m->react_seq = json_object();
    }
    set_str(&m->author, json_string_value(json_object_get(msg, "user_id")));
    set_str(&m->text, json_string_value(json_object_get(msg, "content")));
    m->deleted = json_is_true(json_object_get(msg, "deleted"));
    const char *ea = json_string_value(json_object_get(msg, "edited_at"));
    m->edited = ea != NULL;
    snprintf(m->edited_at, sizeof m->edited_at, "%s", ea ? ea : "");
    json_t *r = json_object_get(msg, "reactions");
    json_decref(m->reactions);
    m->reactions = json_is_array(r) && !m->deleted ? json_deep_copy(r) : json_array();
    uint64_t rt = parse_id(json_string_value(json_object_get(msg, "reply_to")));
    if (rt) m->reply_to = rt;
    json_t *rc = json_object_get(msg, "reply_count");
    if (json_is_integer(rc)) m->reply_count = (long)json_integer_value(rc);
    return m;
}

int cli_msgs_edit(cli_msg *m, const char *text, const char *edited_at) {
    int timed = edited_at && *edited_at && m->edited_at[0];
    if (m->deleted) return 0;
    if (timed ? strcmp(edited_at, m->edited_at) <= 0 : m->edited && strcmp(m->text, text) == 0)
        return 0;
    set_str(&m->text, text);
    m->edited = 1;
    snprintf(m->edited_at, sizeof m->edited_at, "%s", edited_at ? edited_at : "");
    return 1;
}

int cli_msgs_delete(cli_msg *m) {
    if (m->deleted) return 0;
    m->deleted = 1;
    set_str(&m->text, "");
    json_array_clear(m->reactions);
    return 1;
}

static json_t *find_emoji(const cli_msg *m, const char *emoji, size_t *index) {
    size_t i;
    json_t *r;
    json_array_foreach(m->reactions, i, r) {
        const char *e = json_string_value(json_object_get(r, "emoji"));
        if (e && strcmp(e, emoji) == 0) {
            if (index) *index = i;
            return r;
        }
    }
    return NULL;
}

static int users_index(json_t *users, const char *user) {
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u) {
        if (json_is_string(u) && strcmp(json_string_value(u), user) == 0) return (int)i;
    }
    return -1;
}

int cli_msgs_has_reacted(const cli_msg *m, const char *emoji, const char *user) {
    json_t *r = find_emoji(m, emoji, NULL);
    return r && users_index(json_object_get(r, "users"), user) >= 0;
}

/* 1 if seq is no newer than the last change applied to (emoji, user);
 * else records it. */
static int stale(cli_msg *m, const char *emoji, const char *user, uint64_t seq) {
    char *key = NULL;
    if (seq == 0) return 0;
    if (asprintf(&key, "%s %s", emoji, user) < 0) abort();
    json_t *last = json_object_get(m->react_seq, key);
    int old = json_is_integer(last) && (uint64_t)json_integer_value(last) >= seq;
    if (!old) json_object_set_new(m->react_seq, key, json_integer((json_int_t)seq));
    free(key);
    return old;
}

int cli_msgs_react(cli_msg *m, const char *emoji, const char *user, int add, uint64_t seq) {
    if (m->deleted || stale(m, emoji, user, seq)) return 0;
    size_t idx = 0;
    json_t *r = find_emoji(m, emoji, &idx);
    json_t *users = r ? json_object_get(r, "users") : NULL;
    int at = users ? users_index(users, user) : -1;
    /* the server lists the first users only: beyond them, trust the change */
    int listed_all =
        !r || (json_int_t)json_array_size(users) >= json_integer_value(json_object_get(r, "count"));
    if (add) {
        if (at >= 0) return 0;
        if (!r) {
            r = json_pack("{s:s, s:i, s:[]}", "emoji", emoji, "count", 0, "users");
            json_array_append_new(m->reactions, r);
            users = json_object_get(r, "users");
        } else if (!json_is_array(users)) {
            users = json_array();
            json_object_set_new(r, "users", users);
        }
        json_array_append_new(users, json_string(user));
        json_int_t n = json_integer_value(json_object_get(r, "count"));
        json_object_set_new(r, "count", json_integer(n + 1));
        return 1;
    }
    if (!r || (at < 0 && listed_all)) return 0;
    if (at >= 0) json_array_remove(users, (size_t)at);
    json_int_t n = json_integer_value(json_object_get(r, "count")) - 1;
    if (n <= 0)
        json_array_remove(m->reactions, idx);
    else
        json_object_set_new(r, "count", json_integer(n));
    return 1;
}
