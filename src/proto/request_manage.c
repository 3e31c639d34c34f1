/*
 * request_manage: decoders of the protocol 1.1 requests for search, the
 * channel directory and channel management (PROTOCOL.md section 6). Like
 * request.c, everything that can be decided from the frame alone is
 * decided here: sizes, shapes, the search query's syntax.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "proto/request_int.h"
#include "proto/search_query.h"

int proto__get_limit(proto__ctx *c, const char *key, int lo, int hi, int def, int *out) {
    json_t *v = json_object_get(c->root, key);
    *out = def;
    if (proto__is_absent(v)) return 0;
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : (json_int_t)lo - 1;
    if (n < lo || n > hi)
        return proto__fail(c->err, PROTO_INVALID_FIELD, "\"%s\" must be an integer from %d to %d",
                           key, lo, hi);
    *out = (int)n;
    return 0;
}

static int dec_search(proto__ctx *c, request *r) {
    const char *s;
    size_t n;
    if (proto__get_str(c, "query", 0, &s, &n) < 0) return -1;
    if (n == 0 || n > SEARCH_QUERY_MAX)
        return proto__fail(c->err, PROTO_INVALID_FIELD,
                           "\"query\" is %zu bytes; it must be 1 to %d bytes", n, SEARCH_QUERY_MAX);
    r->u.search.query = s;
    const char *ch;
    size_t chn;
    if (proto__get_str(c, "channelId", 1, &ch, &chn) < 0) return -1;
    if (ch && proto__get_channel_id(c, r->u.search.channel_id) < 0) return -1;
    if (proto__get_msg_id(c, "before", &r->u.search.before) < 0 ||
        proto__get_limit(c, "limit", 1, PROTO_SEARCH_LIMIT, 20, &r->u.search.limit) < 0)
        return -1;
    search_query *q = xmalloc(sizeof(*q));
    if (search_query_parse(s, n, q) != 0) {
        free(q);
        return proto__fail(c->err, PROTO_INVALID_FIELD,
                           "\"query\" has no word to search for (words are letters, digits and "
                           "non-ASCII characters)");
    }
    r->u.search.q = q;
    return 0;
}

static int dec_directory(proto__ctx *c, request *r) {
    const char *s;
    size_t n;
    if (proto__get_str(c, "query", 1, &s, &n) < 0) return -1;
    if (s && n > c->lim->max_name)
        return proto__fail(c->err, PROTO_TOO_LARGE,
                           "\"query\" is %zu bytes; at most %zu are allowed (a channel name's "
                           "limit)",
                           n, c->lim->max_name);
    const char *after;
    size_t an;
    if (proto__get_str(c, "after", 1, &after, &an) < 0) return -1;
    if (after) {
        if (!proto_valid_uuid(after, an))
            return proto__fail(c->err, PROTO_INVALID_FIELD,
                               "\"after\" must be a channel id (a UUID)");
        for (size_t i = 0; i < 36; i++)
            r->u.directory.after[i] =
                (char)((after[i] >= 'A' && after[i] <= 'F') ? (after[i] | 0x20) : after[i]);
        r->u.directory.after[36] = '\0';
    }
    if (proto__get_limit(c, "limit", 1, PROTO_DIRECTORY_LIMIT, 50, &r->u.directory.limit) < 0)
        return -1;
    if (s && n) { /* case-insensitive for ASCII letters, as both stores compare */
        char *low = xstrndup(s, n);
        for (char *p = low; *p; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p | 0x20);
        r->u.directory.query = low;
    }
    return 0;
}

static int get_user(proto__ctx *c, const char *key, const char **out) {
    size_t n;
    if (proto__get_str(c, key, 0, out, &n) < 0) return -1;
    if (!proto_valid_username(*out, n))
        return proto__fail(c->err, PROTO_INVALID_FIELD,
                           "\"%s\" must be a username (1-32 of A-Z a-z 0-9 _ . -)", key);
    return 0;
}

static int dec_add_members(proto__ctx *c, request *r) {
    if (proto__get_channel_id(c, r->u.add_members.channel_id) < 0 ||
        proto__get_user_list(c, "userIds", 0, c->lim->max_participants, &r->u.add_members.user_ids,
                             &r->u.add_members.n) < 0)
        return -1;
    if (r->u.add_members.n == 0)
        return proto__fail(c->err, PROTO_INVALID_FIELD, "\"userIds\" is empty (name someone)");
    return 0;
}

static int dec_set_role(proto__ctx *c, request *r) {
    const char *role;
    size_t n;
    if (proto__get_channel_id(c, r->u.member.channel_id) < 0 ||
        get_user(c, "userId", &r->u.member.user_id) < 0 ||
        proto__get_str(c, "role", 0, &role, &n) < 0)
        return -1;
    if (strcmp(role, "admin") != 0 && strcmp(role, "member") != 0)
        return proto__fail(c->err, PROTO_INVALID_FIELD, "\"role\" must be \"admin\" or \"member\"");
    r->u.member.is_admin = strcmp(role, "admin") == 0;
    return 0;
}

static int dec_update(proto__ctx *c, request *r) {
    const char *name, *topic;
    size_t nn, tn;
    if (proto__get_channel_id(c, r->u.update.channel_id) < 0 ||
        proto__get_str(c, "name", 1, &name, &nn) < 0 ||
        proto__get_str(c, "topic", 1, &topic, &tn) < 0)
        return -1;
    if (!name && !topic)
        return proto__fail(c->err, PROTO_INVALID_FIELD,
                           "give \"name\", \"topic\" or both (nothing to change)");
    if (name && nn == 0)
        return proto__fail(c->err, PROTO_INVALID_FIELD,
                           "\"name\" is empty (a group channel needs a name)");
    if (name && nn > c->lim->max_name)
        return proto__fail(c->err, PROTO_TOO_LARGE,
                           "\"name\" is %zu bytes; at most %zu are allowed", nn, c->lim->max_name);
    if (topic && tn > PROTO_MAX_TOPIC)
        return proto__fail(c->err, PROTO_TOO_LARGE,
                           "\"topic\" is %zu bytes; at most %d are allowed", tn, PROTO_MAX_TOPIC);
    r->u.update.name = name;
    r->u.update.topic = topic;
    return 0;
}

int proto__dec_manage(proto__ctx *c, request *r) {
    switch (r->type) {
    case REQ_SEARCH:
        return dec_search(c, r);
    case REQ_LIST_CHANNELS:
        return dec_directory(c, r);
    case REQ_ADD_MEMBERS:
        return dec_add_members(c, r);
    case REQ_REMOVE_MEMBER:
        if (proto__get_channel_id(c, r->u.member.channel_id) < 0) return -1;
        return get_user(c, "userId", &r->u.member.user_id);
    case REQ_SET_ROLE:
        return dec_set_role(c, r);
    case REQ_UPDATE_CHANNEL:
        return dec_update(c, r);
    default:
        return proto__fail(c->err, PROTO_INTERNAL, "unhandled request type");
    }
}

void proto__free_manage(request *r) {
    switch (r->type) {
    case REQ_SEARCH:
        free(r->u.search.q);
        break;
    case REQ_LIST_CHANNELS:
        free((char *)r->u.directory.query);
        break;
    case REQ_ADD_MEMBERS:
        free(r->u.add_members.user_ids);
        break;
    default:
        break;
    }
}
