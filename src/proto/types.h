/*
 * types: the domain's own data as the protocol carries it — a message, a
 * member of a channel, an entry of a user's channel list. The store keeps
 * them, the domain moves them, the encoder turns them into JSON; none of
 * those layers owns their definition, so it lives here, below all three.
 * Ownership of the strings inside is stated by whoever hands one out.
 */
#ifndef CHATD_PROTO_TYPES_H
#define CHATD_PROTO_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* The WebSocket endpoints: /chat and /presence (PROTOCOL.md sections 2, 3). */
typedef enum proto_endpoint { PROTO_EP_CHAT, PROTO_EP_PRESENCE } proto_endpoint;

/* A user's presence status (PROTOCOL.md section 3). */
typedef enum proto_status {
    PROTO_ONLINE,
    PROTO_AWAY,
    PROTO_BUSY,
    PROTO_OFFLINE,
    PROTO_STATUS_COUNT
} proto_status;

/* "online", "away", "busy", "offline" ("offline" for anything else). */
const char *proto_status_name(proto_status s);
/* Parses s[0..len) exactly: 0 and *out, or -1. */
int proto_status_parse(const char *s, size_t len, proto_status *out);

/* A user's presence as some store last knew it. */
typedef struct proto_presence {
    int known; /* 0: the store has nothing for this user */
    proto_status status;
    int64_t seen_ms; /* when that status was seen */
} proto_presence;

/* One message (or system notice), as stored and as sent. Strings are
 * NUL-terminated. */
typedef struct proto_msg {
    uint64_t id;         /* Snowflake, assigned by the caller before APPEND */
    int64_t seq;         /* per-channel 1,2,3.. assigned by the store at commit */
    int64_t created_ms;  /* ms since epoch */
    char channel_id[37]; /* UUID text */
    char *user_id;       /* sender; "system" for notices */
    char *content;
    char *metadata;      /* serialised JSON object, "{}" when none */
    char *client_msg_id; /* NULL when the sender gave none */
} proto_msg;

typedef struct proto_member {
    char *user_id;
    int is_admin; /* role: admin (creator) or member */
    int64_t joined_ms;
} proto_member;

/* One entry of a user's channels_list. */
typedef struct proto_channel_entry {
    char channel_id[37];
    char *name;
    int is_direct;
    int64_t last_read_ms;          /* -1 = never read */
    uint64_t last_read_message_id; /* 0 = none */
    uint64_t last_message_id;      /* 0 = channel empty */
    int64_t unread_count;          /* others' non-system messages after the mark */
    int64_t member_count;
    char *topic;         /* "" when none (protocol 1.1) */
    int is_private;      /* a private group (protocol 1.1) */
    char **participants; /* the first members to join (a bounded page), the
                            user among them or not */
    size_t n_participants;
} proto_channel_entry;

/* One entry of a channel_directory (protocol 1.1): a public group. */
typedef struct proto_dir_entry {
    char channel_id[37];
    char *name;
    char *topic;
    int64_t member_count;
    int64_t created_ms;
    int is_member; /* the asking user is a member */
} proto_dir_entry;

#endif
