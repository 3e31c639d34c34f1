/*
 * request: decodes and validates one client frame (a JSON text payload)
 * into a typed request, or a precise error (PROTOCOL.md section 2 "Errors"
 * and section 4). Pure: no I/O, no domain state. Knowing whether a channel
 * exists or a user is a member is the domain's job; everything that can be
 * decided from the frame alone is decided here.
 *
 * Ownership: a decoded request points into req->root__ (a jansson value)
 * or req->flat__ (proto/flatjson.h's text buffer, for the frequent flat
 * frames); request_free() releases it. On error nothing needs freeing.
 */
#ifndef CHATD_REQUEST_H
#define CHATD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/types.h"

typedef struct json_t json_t;

/* Error codes of PROTOCOL.md. */
typedef enum proto_code {
    PROTO_BAD_JSON,
    PROTO_UNKNOWN_TYPE,
    PROTO_INVALID_FIELD,
    PROTO_NOT_FOUND,
    PROTO_FORBIDDEN,
    PROTO_TOO_LARGE,
    PROTO_RATE_LIMITED,
    PROTO_UNAVAILABLE,
    PROTO_INTERNAL,
    PROTO_CODE_COUNT
} proto_code;

/* "bad_json", "unknown_type", ... (the array is indexed by proto_code) */
const char *proto_code_name(proto_code c);
extern const char *const proto_code_names[PROTO_CODE_COUNT];

typedef struct proto_limits {
    size_t max_content;       /* bytes, default 4000 */
    size_t max_name;          /* bytes, default 100 */
    size_t max_participants;  /* default 1000 */
    size_t max_metadata;      /* serialised bytes, default 4096 */
    size_t max_client_msg_id; /* bytes, default 128 */
    size_t max_subscribe;     /* userIds per subscribe, default 1000 */
    int max_depth;            /* JSON nesting, default 16 */
} proto_limits;

void proto_limits_default(proto_limits *l);

typedef enum req_type {
    REQ_CREATE_CHANNEL,
    REQ_JOIN_CHANNEL,
    REQ_LEAVE_CHANNEL,
    REQ_CHAT_MESSAGE,
    REQ_MARK_READ,
    REQ_FETCH_HISTORY,
    REQ_STATUS_UPDATE, /* presence endpoint */
    REQ_HEARTBEAT,     /* presence endpoint (also accepted on chat) */
    REQ_SUBSCRIBE,     /* presence endpoint */
    /* protocol 1.1 (chat endpoint) */
    REQ_FETCH_CHANGES,
    REQ_TYPING, /* u.channel */
    REQ_EDIT_MESSAGE,
    REQ_DELETE_MESSAGE,
    REQ_REACT,
    REQ_FETCH_THREAD,
    /* protocol 1.1 (request_manage.c) */
    REQ_SEARCH,
    REQ_LIST_CHANNELS,
    REQ_ADD_MEMBERS,
    REQ_REMOVE_MEMBER,
    REQ_SET_ROLE,
    REQ_UPDATE_CHANNEL,
} req_type;

/* Protocol 1.1 sizes (PROTOCOL.md section 6). */
#define PROTO_MAX_TOPIC 250       /* bytes of a channel topic */
#define PROTO_SEARCH_LIMIT 50     /* most search results per page (default 20) */
#define PROTO_DIRECTORY_LIMIT 100 /* most channel_directory entries per page (default 50) */

typedef struct search_query search_query; /* proto/search_query.h */

typedef struct request {
    req_type type;
    const char *type_name; /* the "type" string as sent */
    json_t *root__;
    char *flat__;
    union {
        struct {
            const char *name;          /* NULL when absent or "" (allowed for direct only) */
            const char **participants; /* malloc'd array of pointers into root__ */
            size_t n_participants;     /* as sent, duplicates removed, creator may appear */
            int is_direct;
            int is_private; /* "private": true (groups only) */
        } create;
        struct {
            char channel_id[37];
        } channel; /* join, leave */
        struct {
            char channel_id[37];
            const char *content;
            size_t content_len;
            char *metadata;            /* serialised compact JSON object, malloc'd; "{}" default */
            const char *client_msg_id; /* NULL when absent */
            uint64_t reply_to;         /* 0 when absent */
        } chat;
        struct {
            char channel_id[37];
            uint64_t message_id; /* 0 = latest */
        } mark_read;
        struct {
            char channel_id[37];
            uint64_t before, after;
            int limit;
        } history;
        struct {
            proto_status status;
        } status;
        struct {
            char channel_id[37];
            int64_t after_seq; /* >= 0 */
            int limit;         /* 1..500, default 100 */
        } changes;
        /* edit_message, delete_message, react */
        struct {
            char channel_id[37];
            uint64_t message_id;
            const char *content; /* edit: rules of chat_message content */
            size_t content_len;
            const char *emoji; /* react: 1..PROTO_MAX_EMOJI bytes, no whitespace */
            int add;           /* react: 1 add (default), 0 remove */
        } change;
        struct {
            char channel_id[37];
            uint64_t message_id;
            uint64_t after; /* 0 = from the first reply */
            int limit;      /* 1..100, default 50 */
        } thread;
        struct {
            const char **user_ids;
            size_t n;
        } subscribe;
        struct {
            search_query *q;     /* malloc'd, freed by request_free unless taken */
            const char *query;   /* as sent */
            char channel_id[37]; /* "" = every channel of the user */
            uint64_t before;     /* 0 = none */
            int limit;
        } search;
        struct {
            const char *query; /* ASCII-lower-cased copy (malloc'd); NULL = none */
            char after[37];    /* "" = from the start */
            int limit;
        } directory;
        struct {
            char channel_id[37];
            const char **user_ids; /* malloc'd array of pointers into root__ */
            size_t n;
        } add_members;
        struct {
            char channel_id[37];
            const char *user_id;
            int is_admin; /* set_role: "admin" */
        } member;         /* remove_member, set_role */
        struct {
            char channel_id[37];
            const char *name;  /* NULL = unchanged */
            const char *topic; /* NULL = unchanged; "" clears it */
        } update;
    } u;
} request;

typedef struct proto_error {
    proto_code code;
    char message[256];     /* human sentence naming the problem */
    char request_type[64]; /* the frame's "type" when it was a string (even an
                              unknown one; cut to fit), else "" */
} proto_error;

/*
 * Decodes payload[0..len) (already valid UTF-8) for the given endpoint.
 * Returns 0 and fills *req (free with request_free), or -1 and fills *err.
 * Rules: empty payload or non-object JSON -> bad_json; missing "type" ->
 * invalid_field... see PROTOCOL.md section 4. Channel ids must be UUIDs
 * (any version, lower/upper hex; stored lower-case). Message id cursors are
 * decimal strings of a non-zero uint64. Usernames follow the username rule.
 * Also: nesting deeper than lim->max_depth -> bad_json; a string field
 * holding a NUL (\u0000) or a lone surrogate escape -> invalid_field naming
 * it; JSON null for an optional field means absent; unknown fields and
 * duplicate keys (last wins) are accepted. lim NULL means the defaults.
 */
int request_decode(const char *payload, size_t len, proto_endpoint ep, const proto_limits *lim,
                   request *req, proto_error *err);
void request_free(request *req);
/* The frame's "type" string (cut to fit out), or "" when it has none: for
 * errors about a frame that is not decoded otherwise (rate limiting). */
void request_peek_type(const char *payload, size_t len, char *out, size_t cap);

/* An emoji of a reaction: 1..PROTO_MAX_EMOJI bytes (valid UTF-8 assumed),
 * no whitespace (ASCII or Unicode White_Space). */
bool proto_valid_emoji(const char *s, size_t len);

/* Validation predicates shared with HTTP handlers: true when valid. */
bool proto_valid_username(const char *s, size_t len);
bool proto_valid_uuid(const char *s, size_t len);
/* Parses a decimal message id string; 0 on failure (0 is never a valid id). */
uint64_t proto_parse_id(const char *s, size_t len);

#endif
