/*
 * request: turns one client frame into a typed request or a precise error.
 *
 * Why a pre-scan before jansson: two things must be decided on the raw
 * bytes. (1) Nesting depth: jansson would happily build 2048 levels, so we
 * refuse anything deeper than lim->max_depth before it allocates a node.
 * (2) Lone UTF-16 surrogate escapes (\ud800): RFC 8259 grammar allows them,
 * but jansson fails the whole parse, which would make a bad `content` look
 * like bad JSON. The pre-scan rewrites each lone surrogate escape to \u0000
 * in a private copy; we parse with JSON_ALLOW_NUL and every string field
 * getter rejects an embedded NUL as invalid_field. So a NUL, escaped or
 * from a surrogate, is always an invalid_field naming its field.
 *
 * JSON null for an optional field means "absent" (JavaScript clients send
 * it); for a required field it is ill-typed (invalid_field).
 *
 * The frames clients send most (FLAT_TYPES) are first tried with
 * proto/flatjson.h, which reads a flat object in one pass without a tree;
 * the field getters below read either form, so the rules and the error
 * words are the same whichever parser read the frame.
 */
#include "proto/request.h"
#include "core/alloc.h"
#include "proto/flatjson.h"
#include "proto/request_int.h"

/* The getters are shared with request_manage.c (request_int.h). */
#define fail proto__fail
#define is_absent proto__is_absent
#define get_str proto__get_str
#define get_channel_id proto__get_channel_id
#define get_msg_id proto__get_msg_id
#define get_user_list proto__get_user_list

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const proto_code_names[PROTO_CODE_COUNT] = {
    "bad_json",  "unknown_type", "invalid_field", "not_found", "forbidden",
    "too_large", "rate_limited", "unavailable",   "internal",
};

const char *proto_code_name(proto_code c) {
    if ((unsigned)c >= PROTO_CODE_COUNT) return "internal";
    return proto_code_names[c];
}

void proto_limits_default(proto_limits *l) {
    l->max_content = 4000;
    l->max_name = 100;
    l->max_participants = 1000;
    l->max_metadata = 4096;
    l->max_client_msg_id = 128;
    l->max_subscribe = 1000;
    l->max_depth = 16;
}

/* ---- validation helpers ---- */

bool proto_valid_username(const char *s, size_t len) {
    if (!s || len < 1 || len > 32) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool proto_valid_uuid(const char *s, size_t len) {
    if (!s || len != 36) return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!is_hex((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

uint64_t proto_parse_id(const char *s, size_t len) {
    if (!s || len < 1 || len > 20) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0; /* overflow */
        v = v * 10 + d;
    }
    return v;
}

/* ---- error reporting ---- */

/* Length of s[0..len) cut back so it does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len) {
    size_t i = len;
    while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || (unsigned char)s[i - 1] < 0x80)
        return len; /* ends on ASCII, or only stray continuation bytes */
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    return (len - i + 1 >= need) ? len : i - 1;
}

static void copy_cut(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap) len = cap - 1;
    len = utf8_cut(src, len);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

int proto__fail(proto_error *err, proto_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof err->message)
        err->message[utf8_cut(err->message, sizeof err->message - 1)] = '\0';
    err->code = code;
    return -1;
}

/* A short, printable excerpt of a client string for an error message. */
static const char *excerpt(const char *s, size_t len, char out[48]) {
    size_t n = 0;
    for (size_t i = 0; i < len && n < 40; i++)
        out[n++] = (s[i] == '\0' || s[i] == '"' || s[i] == '\\' || (unsigned char)s[i] < 0x20)
                       ? '?'
                       : s[i];
    out[utf8_cut(out, n)] = '\0';
    if (n == 40 && len > 40) strcpy(out + strlen(out), "...");
    return out;
}

/* ---- pre-scan: depth and lone surrogates ---- */

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!is_hex(c)) return 0;
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    *out = v;
    return 1;
}

/*
 * Returns 0, or -1 when nesting exceeds max_depth. *fixed is NULL, or a
 * malloc'd copy of the payload with lone surrogate escapes turned into
 * \u0000 (the caller frees it).
 */
static int prescan(const char *p, size_t len, int max_depth, char **fixed) {
    int depth = 0, in_str = 0;
    *fixed = NULL;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!in_str) {
            if (c == '"') {
                in_str = 1;
            } else if (c == '{' || c == '[') {
                if (++depth > max_depth) {
                    free(*fixed);
                    *fixed = NULL;
                    return -1;
                }
            } else if (c == '}' || c == ']') {
                if (depth > 0) depth--;
            }
            continue;
        }
        if (c == '"') {
            in_str = 0;
            continue;
        }
        if (c != '\\') continue;
        unsigned cp, lo;
        if (i + 5 < len && p[i + 1] == 'u' && hex4(p + i + 2, &cp)) {
            int lone = 0;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (i + 11 < len && p[i + 6] == '\\' && p[i + 7] == 'u' && hex4(p + i + 8, &lo) &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    i += 11; /* a valid pair */
                    continue;
                }
                lone = 1;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                lone = 1;
            }
            if (lone) {
                if (!*fixed) {
                    *fixed = xmalloc(len ? len : 1);
                    memcpy(*fixed, p, len);
                }
                memcpy(*fixed + i + 2, "0000", 4);
            }
            i += 5;
        } else {
            i++; /* skip the escaped character */
        }
    }
    return 0;
}

/* ---- field getters: each returns 0, or fails with a message naming the key ---- */

typedef proto__ctx ctx;

int proto__is_absent(json_t *v) {
    return v == NULL || json_is_null(v);
}

enum { F_ABSENT, F_STRING, F_OTHER };

/* What the frame has under key: F_ABSENT (missing or null), F_STRING (*s,
 * *n) or F_OTHER; from whichever parser read it. */
static int field(const ctx *c, const char *key, const char **s, size_t *n) {
    if (c->flat) {
        const flatjson_field *f = flatjson_get(c->flat, key);
        if (!f || f->kind == FLATJSON_NULL) return F_ABSENT;
        if (f->kind != FLATJSON_STRING) return F_OTHER;
        *s = f->str;
        *n = f->len;
        return F_STRING;
    }
    json_t *v = json_object_get(c->root, key);
    if (is_absent(v)) return F_ABSENT;
    if (!json_is_string(v)) return F_OTHER;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return F_STRING;
}

/* Required (opt=0) or optional string without NUL. *out NULL when absent. */
int proto__get_str(ctx *c, const char *key, int opt, const char **out, size_t *len) {
    const char *s = NULL;
    size_t n = 0;
    int kind = field(c, key, &s, &n);
    *out = NULL;
    *len = 0;
    if (kind == F_ABSENT) {
        if (opt) return 0;
        return fail(c->err, PROTO_INVALID_FIELD, "\"%s\" is missing (a string is required)", key);
    }
    if (kind != F_STRING) return fail(c->err, PROTO_INVALID_FIELD, "\"%s\" must be a string", key);
    if (memchr(s, '\0', n))
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"%s\" contains a NUL character or a lone UTF-16 surrogate escape", key);
    *out = s;
    *len = n;
    return 0;
}

int proto__get_channel_id(ctx *c, char out[37]) {
    const char *s;
    size_t n;
    if (get_str(c, "channelId", 0, &s, &n) < 0) return -1;
    if (!proto_valid_uuid(s, n))
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"channelId\" must be a channel id (a UUID like "
                    "123e4567-e89b-42d3-a456-426614174000)");
    for (int i = 0; i < 36; i++)
        out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] | 0x20) : s[i];
    out[36] = '\0';
    return 0;
}

/* Optional decimal message id string; 0 when absent. */
int proto__get_msg_id(ctx *c, const char *key, uint64_t *out) {
    const char *s;
    size_t n;
    *out = 0;
    if (get_str(c, key, 1, &s, &n) < 0) return -1;
    if (!s) return 0;
    *out = proto_parse_id(s, n);
    if (*out == 0)
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"%s\" must be a message id (a non-zero decimal string)", key);
    return 0;
}

typedef struct name_pos {
    const char *s;
    size_t pos;
} name_pos;

static int cmp_name_pos(const void *a, const void *b) {
    const name_pos *x = a, *y = b;
    int r = strcmp(x->s, y->s);
    return r ? r : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Removes duplicates from v[0..n), keeping first occurrences in order. */
static size_t dedupe(const char **v, size_t n) {
    if (n < 2) return n;
    name_pos *np = malloc(n * sizeof *np);
    unsigned char *drop = calloc(n, 1);
    if (!np || !drop) abort();
    for (size_t i = 0; i < n; i++)
        np[i] = (name_pos){v[i], i};
    qsort(np, n, sizeof *np, cmp_name_pos);
    for (size_t i = 1; i < n; i++)
        if (strcmp(np[i].s, np[i - 1].s) == 0)
            drop[np[i].pos] = 1; /* sorted by (name, position): the first one stays */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop[i]) v[m++] = v[i];
    free(np);
    free(drop);
    return m;
}

/*
 * An array of usernames under `key`. Missing: empty when opt, else an
 * error. Returns 0 and a malloc'd, de-duplicated array (NULL when empty).
 */
int proto__get_user_list(ctx *c, const char *key, int opt, size_t max, const char ***out,
                         size_t *n_out) {
    json_t *arr = json_object_get(c->root, key);
    *out = NULL;
    *n_out = 0;
    if (is_absent(arr)) {
        if (opt) return 0;
        return fail(c->err, PROTO_INVALID_FIELD, "\"%s\" is missing (an array of usernames)", key);
    }
    if (!json_is_array(arr))
        return fail(c->err, PROTO_INVALID_FIELD, "\"%s\" must be an array of usernames", key);
    size_t n = json_array_size(arr);
    if (n > max)
        return fail(c->err, PROTO_TOO_LARGE, "\"%s\" has %zu entries; at most %zu are allowed", key,
                    n, max);
    if (n == 0) return 0;
    const char **v = malloc(n * sizeof *v);
    if (!v) abort();
    char bad[140] = "";
    size_t bad_len = 0, n_bad = 0;
    int more = 0; /* some invalid names did not fit in `bad` */
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_string(e)) {
            free(v);
            return fail(c->err, PROTO_INVALID_FIELD,
                        "\"%s\" must contain only strings (entry %zu is not)", key, i);
        }
        v[i] = json_string_value(e);
        size_t len = json_string_length(e);
        if (!proto_valid_username(v[i], len)) {
            char ex[48];
            int w = snprintf(bad + bad_len, sizeof bad - bad_len, "%s\"%s\"", n_bad ? ", " : "",
                             excerpt(v[i], len, ex));
            if (w > 0 && bad_len + (size_t)w < sizeof bad) {
                bad_len += (size_t)w;
            } else {
                bad[bad_len] = '\0';
                more = 1;
            }
            n_bad++;
        }
    }
    if (n_bad) {
        free(v);
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"%s\" has %zu invalid username%s: %s%s (a username is 1-32 of "
                    "A-Z a-z 0-9 _ . -)",
                    key, n_bad, n_bad == 1 ? "" : "s", bad, more ? ", ..." : "");
    }
    *n_out = dedupe(v, n);
    *out = v;
    return 0;
}

/* ---- one decoder per type ---- */

static int dec_create(ctx *c, request *r) {
    const char *kind, *name;
    size_t kind_len, name_len;
    if (get_str(c, "kind", 1, &kind, &kind_len) < 0) return -1;
    if (kind && strcmp(kind, "group") != 0 && strcmp(kind, "direct") != 0)
        return fail(c->err, PROTO_INVALID_FIELD, "\"kind\" must be \"group\" or \"direct\"");
    r->u.create.is_direct = kind && strcmp(kind, "direct") == 0;

    if (get_str(c, "name", 1, &name, &name_len) < 0) return -1;
    if (name && name_len > c->lim->max_name)
        return fail(c->err, PROTO_TOO_LARGE, "\"name\" is %zu bytes; at most %zu are allowed",
                    name_len, c->lim->max_name);
    if (name && name_len == 0) name = NULL;
    if (!name && !r->u.create.is_direct)
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"name\" is missing or empty (a group channel needs a name)");
    r->u.create.name = name;

    json_t *priv = json_object_get(c->root, "private");
    if (!is_absent(priv) && !json_is_boolean(priv))
        return fail(c->err, PROTO_INVALID_FIELD, "\"private\" must be true or false");
    r->u.create.is_private = json_is_true(priv);
    if (r->u.create.is_private && r->u.create.is_direct)
        return fail(c->err, PROTO_INVALID_FIELD, "only group channels can be private");

    if (get_user_list(c, "participants", 0, c->lim->max_participants, &r->u.create.participants,
                      &r->u.create.n_participants) < 0)
        return -1;
    /* The creator may be listed; so a direct channel names 1 or 2 users. */
    if (r->u.create.is_direct &&
        (r->u.create.n_participants == 0 || r->u.create.n_participants > 2)) {
        free(r->u.create.participants);
        r->u.create.participants = NULL;
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"participants\" of a direct channel must name exactly one other user");
    }
    return 0;
}

/* 1 when any string inside v contains a NUL (a \u0000, or a lone surrogate
 * rewritten by prescan). Depth is bounded by the prescan. */
static int has_nul(json_t *v) {
    const char *key;
    json_t *e;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_STRING:
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    case JSON_OBJECT:
        json_object_foreach(v, key, e) {
            if (has_nul(e)) return 1;
        }
        return 0;
    case JSON_ARRAY:
        json_array_foreach(v, i, e) {
            if (has_nul(e)) return 1;
        }
        return 0;
    default:
        return 0;
    }
}

/* "content" under the chat_message rules. */
static int get_content(ctx *c, const char **out, size_t *len) {
    const char *s;
    size_t n;
    if (get_str(c, "content", 0, &s, &n) < 0) return -1;
    if (n == 0) return fail(c->err, PROTO_INVALID_FIELD, "\"content\" is empty");
    if (n > c->lim->max_content)
        return fail(c->err, PROTO_TOO_LARGE, "\"content\" is %zu bytes; at most %zu are allowed", n,
                    c->lim->max_content);
    *out = s;
    *len = n;
    return 0;
}

static int dec_chat(ctx *c, request *r) {
    const char *s;
    size_t n;
    if (get_channel_id(c, r->u.chat.channel_id) < 0 ||
        get_content(c, &r->u.chat.content, &r->u.chat.content_len) < 0 ||
        get_msg_id(c, "reply_to", &r->u.chat.reply_to) < 0)
        return -1;

    if (get_str(c, "client_msg_id", 1, &s, &n) < 0) return -1;
    if (s && n == 0) return fail(c->err, PROTO_INVALID_FIELD, "\"client_msg_id\" is empty");
    if (s && n > c->lim->max_client_msg_id)
        return fail(c->err, PROTO_TOO_LARGE,
                    "\"client_msg_id\" is %zu bytes; at most %zu are allowed", n,
                    c->lim->max_client_msg_id);
    r->u.chat.client_msg_id = s;

    const char *ms;
    size_t mn;
    json_t *md = c->root ? json_object_get(c->root, "metadata") : NULL;
    if (c->flat ? field(c, "metadata", &ms, &mn) == F_ABSENT : is_absent(md)) {
        r->u.chat.metadata = xstrdup("{}");
    } else if (c->flat || !json_is_object(md)) { /* a flat frame holds no object */
        return fail(c->err, PROTO_INVALID_FIELD, "\"metadata\" must be a JSON object");
    } else if (has_nul(md)) {
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"metadata\" contains a NUL character or a lone UTF-16 surrogate escape");
    } else {
        r->u.chat.metadata = json_dumps(md, JSON_COMPACT);
        if (r->u.chat.metadata && strlen(r->u.chat.metadata) > c->lim->max_metadata) {
            size_t len = strlen(r->u.chat.metadata);
            free(r->u.chat.metadata);
            r->u.chat.metadata = NULL;
            return fail(c->err, PROTO_TOO_LARGE,
                        "\"metadata\" is %zu bytes serialised; at most %zu are allowed", len,
                        c->lim->max_metadata);
        }
    }
    if (!r->u.chat.metadata) abort(); /* out of memory */
    return 0;
}

static int dec_history(ctx *c, request *r) {
    if (get_channel_id(c, r->u.history.channel_id) < 0 ||
        get_msg_id(c, "before", &r->u.history.before) < 0 ||
        get_msg_id(c, "after", &r->u.history.after) < 0)
        return -1;
    if (r->u.history.before && r->u.history.after)
        return fail(c->err, PROTO_INVALID_FIELD, "\"before\" and \"after\" cannot both be given");
    json_t *lim = json_object_get(c->root, "limit");
    r->u.history.limit = 50;
    if (!is_absent(lim)) {
        json_int_t v = json_is_integer(lim) ? json_integer_value(lim) : 0;
        if (v < 1 || v > 100)
            return fail(c->err, PROTO_INVALID_FIELD, "\"limit\" must be an integer from 1 to 100");
        r->u.history.limit = (int)v;
    }
    return 0;
}

/* Optional integer `key` in [lo, hi]; *out keeps its default when absent. */
static int get_int(ctx *c, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    json_t *v = json_object_get(c->root, key);
    if (is_absent(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(c->err, PROTO_INVALID_FIELD, "\"%s\" must be an integer from %lld to %lld", key,
                    (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

/* A required message id under "message_id". */
static int get_target(ctx *c, uint64_t *out) {
    if (get_msg_id(c, "message_id", out) < 0) return -1;
    if (*out == 0)
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"message_id\" is missing (a message id string is required)");
    return 0;
}

static int dec_changes(ctx *c, request *r) {
    int64_t after = -1, limit = 100;
    if (get_channel_id(c, r->u.changes.channel_id) < 0) return -1;
    if (get_int(c, "after_seq", 0, INT64_MAX / 2, &after) < 0) return -1;
    if (after < 0)
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"after_seq\" is missing (an integer, 0 for the beginning)");
    if (get_int(c, "limit", 1, 500, &limit) < 0) return -1;
    r->u.changes.after_seq = after;
    r->u.changes.limit = (int)limit;
    return 0;
}

bool proto_valid_emoji(const char *s, size_t len) {
    if (!s || len < 1 || len > PROTO_MAX_EMOJI) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b == ' ' || (b >= 0x09 && b <= 0x0d)) return 0;
        /* Unicode White_Space beyond ASCII, as UTF-8: U+0085, U+00A0,
         * U+1680, U+2000..200A, U+2028, U+2029, U+202F, U+205F, U+3000 */
        if (b == 0xC2 && i + 1 < len &&
            ((unsigned char)s[i + 1] == 0x85 || (unsigned char)s[i + 1] == 0xA0))
            return 0;
        if (b == 0xE1 && i + 2 < len && (unsigned char)s[i + 1] == 0x9A &&
            (unsigned char)s[i + 2] == 0x80)
            return 0;
        if (b == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80) {
            unsigned char t = (unsigned char)s[i + 2];
            if (t <= 0x8A || t == 0xA8 || t == 0xA9 || t == 0xAF) return 0;
        }
        if (b == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x81 &&
            (unsigned char)s[i + 2] == 0x9F)
            return 0;
        if (b == 0xE3 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x80)
            return 0;
    }
    return 1;
}

static int dec_change(ctx *c, request *r) {
    if (get_channel_id(c, r->u.change.channel_id) < 0 || get_target(c, &r->u.change.message_id) < 0)
        return -1;
    if (r->type == REQ_EDIT_MESSAGE)
        return get_content(c, &r->u.change.content, &r->u.change.content_len);
    if (r->type != REQ_REACT) return 0;
    const char *s;
    size_t n;
    if (get_str(c, "emoji", 0, &s, &n) < 0) return -1;
    if (!proto_valid_emoji(s, n))
        return fail(c->err, PROTO_INVALID_FIELD,
                    "\"emoji\" must be 1 to %d bytes of UTF-8 without whitespace", PROTO_MAX_EMOJI);
    r->u.change.emoji = s;
    if (get_str(c, "op", 1, &s, &n) < 0) return -1;
    if (s && strcmp(s, "add") != 0 && strcmp(s, "remove") != 0)
        return fail(c->err, PROTO_INVALID_FIELD, "\"op\" must be \"add\" or \"remove\"");
    r->u.change.add = !s || strcmp(s, "add") == 0;
    return 0;
}

static int dec_thread(ctx *c, request *r) {
    int64_t limit = 50;
    if (get_channel_id(c, r->u.thread.channel_id) < 0 ||
        get_target(c, &r->u.thread.message_id) < 0 ||
        get_msg_id(c, "after", &r->u.thread.after) < 0 || get_int(c, "limit", 1, 100, &limit) < 0)
        return -1;
    r->u.thread.limit = (int)limit;
    return 0;
}

static int dec_status(ctx *c, request *r) {
    const char *s;
    size_t n;
    if (get_str(c, "status", 0, &s, &n) < 0) return -1;
    if (proto_status_parse(s, n, &r->u.status.status) == 0) return 0;
    return fail(c->err, PROTO_INVALID_FIELD,
                "\"status\" must be one of online, away, busy, offline");
}

/* ---- dispatch ---- */

static const struct {
    const char *name;
    req_type type;
    int chat, presence; /* valid on that endpoint */
} types[] = {
    {"create_channel", REQ_CREATE_CHANNEL, 1, 0},
    {"join_channel", REQ_JOIN_CHANNEL, 1, 0},
    {"leave_channel", REQ_LEAVE_CHANNEL, 1, 0},
    {"chat_message", REQ_CHAT_MESSAGE, 1, 0},
    {"mark_channel_read", REQ_MARK_READ, 1, 0},
    {"fetch_history", REQ_FETCH_HISTORY, 1, 0},
    {"status_update", REQ_STATUS_UPDATE, 0, 1},
    {"heartbeat", REQ_HEARTBEAT, 1, 1},
    {"subscribe", REQ_SUBSCRIBE, 0, 1},
    {"fetch_changes", REQ_FETCH_CHANGES, 1, 0},
    {"typing", REQ_TYPING, 1, 0},
    {"edit_message", REQ_EDIT_MESSAGE, 1, 0},
    {"delete_message", REQ_DELETE_MESSAGE, 1, 0},
    {"react", REQ_REACT, 1, 0},
    {"fetch_thread", REQ_FETCH_THREAD, 1, 0},
    {"search", REQ_SEARCH, 1, 0},
    {"list_channels", REQ_LIST_CHANNELS, 1, 0},
    {"add_members", REQ_ADD_MEMBERS, 1, 0},
    {"remove_member", REQ_REMOVE_MEMBER, 1, 0},
    {"set_role", REQ_SET_ROLE, 1, 0},
    {"update_channel", REQ_UPDATE_CHANNEL, 1, 0},
};

static int dec_body(ctx *c, request *r) {
    switch (r->type) {
    case REQ_CREATE_CHANNEL:
        return dec_create(c, r);
    case REQ_JOIN_CHANNEL:
    case REQ_LEAVE_CHANNEL:
        return get_channel_id(c, r->u.channel.channel_id);
    case REQ_CHAT_MESSAGE:
        return dec_chat(c, r);
    case REQ_MARK_READ:
        if (get_channel_id(c, r->u.mark_read.channel_id) < 0) return -1;
        return get_msg_id(c, "message_id", &r->u.mark_read.message_id);
    case REQ_FETCH_HISTORY:
        return dec_history(c, r);
    case REQ_STATUS_UPDATE:
        return dec_status(c, r);
    case REQ_HEARTBEAT:
        return 0;
    case REQ_SUBSCRIBE:
        return get_user_list(c, "userIds", 0, c->lim->max_subscribe, &r->u.subscribe.user_ids,
                             &r->u.subscribe.n);
    case REQ_FETCH_CHANGES:
        return dec_changes(c, r);
    case REQ_TYPING:
        return get_channel_id(c, r->u.channel.channel_id);
    case REQ_EDIT_MESSAGE:
    case REQ_DELETE_MESSAGE:
    case REQ_REACT:
        return dec_change(c, r);
    case REQ_FETCH_THREAD:
        return dec_thread(c, r);
    default:
        return proto__dec_manage(c, r);
    }
    return fail(c->err, PROTO_INTERNAL, "unhandled request type");
}

/* The types decoded from a flatjson read when the frame is flat. */
static int flat_type(const char *t) {
    return strcmp(t, "chat_message") == 0 || strcmp(t, "typing") == 0 ||
           strcmp(t, "mark_channel_read") == 0 || strcmp(t, "heartbeat") == 0;
}

/* Decodes the typed body of a frame that parsed; on failure frees what
 * the frame holds (root or flat buffer, as req->root__/flat__). */
static int decode_parsed(ctx *c, proto_endpoint ep, request *req) {
    proto_error *err = c->err;
    const char *tname;
    size_t tlen;
    if (get_str(c, "type", 0, &tname, &tlen) < 0) {
        request_free(req);
        return -1;
    }
    copy_cut(err->request_type, sizeof err->request_type, tname, tlen);
    size_t i;
    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(tname, types[i].name) == 0) break;
    if (i == sizeof types / sizeof types[0] ||
        !(ep == PROTO_EP_CHAT ? types[i].chat : types[i].presence)) {
        char ex[48];
        fail(err, PROTO_UNKNOWN_TYPE, "unknown message type \"%s\" on the %s endpoint",
             excerpt(tname, tlen, ex), ep == PROTO_EP_CHAT ? "chat" : "presence");
        request_free(req);
        return -1;
    }
    req->type = types[i].type;
    req->type_name = tname;
    if (dec_body(c, req) < 0) {
        request_free(req);
        return -1;
    }
    return 0;
}

int request_decode(const char *payload, size_t len, proto_endpoint ep, const proto_limits *lim,
                   request *req, proto_error *err) {
    proto_limits defaults;
    if (!lim) {
        proto_limits_default(&defaults);
        lim = &defaults;
    }
    memset(req, 0, sizeof *req);
    memset(err, 0, sizeof *err);
    if (!payload || len == 0)
        return fail(err, PROTO_BAD_JSON, "the frame is empty (expected a JSON object)");

    flatjson fj;
    if (flatjson_parse(&fj, payload, len) == 0) {
        const flatjson_field *t = flatjson_get(&fj, "type");
        if (t && t->kind == FLATJSON_STRING && flat_type(t->str)) {
            req->flat__ = fj.buf;
            ctx c = {NULL, &fj, lim, err};
            return decode_parsed(&c, ep, req);
        }
        flatjson_free(&fj); /* another type: the full parser */
    }

    char *fixed;
    if (prescan(payload, len, lim->max_depth, &fixed) < 0)
        return fail(err, PROTO_BAD_JSON, "the JSON is nested deeper than %d levels",
                    lim->max_depth);
    json_error_t jerr;
    json_t *root = json_loadb(fixed ? fixed : payload, len, JSON_ALLOW_NUL, &jerr);
    free(fixed);
    if (!root)
        return fail(err, PROTO_BAD_JSON, "the frame is not valid JSON: %s (at byte %d)", jerr.text,
                    jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, PROTO_BAD_JSON, "the frame must be a JSON object");
    }

    req->root__ = root;
    ctx c = {root, NULL, lim, err};
    return decode_parsed(&c, ep, req);
}

void request_free(request *req) {
    if (!req || (!req->root__ && !req->flat__)) return;
    switch (req->type) {
    case REQ_CREATE_CHANNEL:
        free(req->u.create.participants);
        break;
    case REQ_CHAT_MESSAGE:
        free(req->u.chat.metadata);
        break;
    case REQ_SUBSCRIBE:
        free(req->u.subscribe.user_ids);
        break;
    default:
        proto__free_manage(req);
        break;
    }
    json_decref(req->root__);
    free(req->flat__);
    memset(req, 0, sizeof *req);
}

void request_peek_type(const char *payload, size_t len, char *out, size_t cap) {
    request r;
    proto_error e;
    if (cap == 0) return;
    /* The decoder fills request_type as soon as it has read "type", even
     * when the rest of the frame is wrong. */
    if (request_decode(payload, len, PROTO_EP_CHAT, NULL, &r, &e) == 0) {
        copy_cut(out, cap, r.type_name, strlen(r.type_name));
        request_free(&r);
    } else {
        copy_cut(out, cap, e.request_type, strlen(e.request_type));
    }
}
