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

/* One emoji's reactions on a message (protocol 1.1). */
#define PROTO_MAX_EMOJI 32          /* bytes of UTF-8, no whitespace */
#define PROTO_MAX_REACTION_KINDS 50 /* distinct emoji per message */
#define PROTO_REACTION_USERS 20     /* names listed per emoji (count says how many) */
typedef struct proto_reaction {
    char emoji[PROTO_MAX_EMOJI + 1];
    int64_t count;
    char *users; /* the first PROTO_REACTION_USERS reactors, "\n"-joined */
} proto_reaction;

/* One message (or system notice), as stored and as sent. Strings are
 * NUL-terminated. The fields after client_msg_id are protocol 1.1's
 * (zero/NULL when not applicable). */
typedef struct proto_msg {
    uint64_t id;         /* Snowflake, assigned by the caller before APPEND */
    int64_t seq;         /* per-channel 1,2,3.. assigned by the store at commit */
    int64_t created_ms;  /* ms since epoch */
    char channel_id[37]; /* UUID text */
    char *user_id;       /* sender; "system" for notices */
    char *content;
    char *metadata;            /* serialised JSON object, "{}" when none */
    char *client_msg_id;       /* NULL when the sender gave none */
    int64_t edited_ms;         /* 0 = never edited */
    int deleted;               /* erased: content "" and metadata "{}" */
    uint64_t reply_to;         /* the thread's root, 0 = not a reply */
    int64_t reply_count;       /* on roots */
    int64_t last_reply_ms;     /* 0 = no reply */
    char *mentions;            /* mentioned members, "\n"-joined; NULL = none */
    proto_reaction *reactions; /* by each emoji's first use */
    size_t n_reactions;
} proto_msg;

/* What a stored change of a channel is (protocol 1.1 "one sequence"). */
typedef enum proto_change_kind {
    PROTO_CHANGE_MESSAGE, /* a message or system notice: msg */
    PROTO_CHANGE_EDIT,
    PROTO_CHANGE_DELETE,
    PROTO_CHANGE_REACT_ADD,
    PROTO_CHANGE_REACT_REMOVE,
} proto_change_kind;

/* One stored change, as fetch_changes replays it. */
typedef struct proto_change {
    proto_change_kind kind;
    int64_t seq;
    proto_msg msg;       /* MESSAGE: the message as first sent (content "" once deleted) */
    uint64_t message_id; /* the others: the message changed */
    char *user_id;       /* editor, deleter or reactor */
    char *content;       /* EDIT: the text it set ("" once the message is deleted) */
    char *mentions;      /* EDIT: as in proto_msg */
    char emoji[PROTO_MAX_EMOJI + 1]; /* REACT_* */
    int64_t at_ms;
    int deleted; /* EDIT: the message has been deleted since */
} proto_change;

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
    int64_t mention_count; /* messages after the mark that mention the user */
    char *topic;           /* "" when none (protocol 1.1) */
    int is_private;        /* a private group (protocol 1.1) */
    char **participants;   /* the first members to join (a bounded page), the
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
