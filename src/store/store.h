/*
 * store: where every user, channel, membership, read mark and message is
 * kept durably. The domain (src/chat) talks only to this interface; the
 * backend (SQLite in the embedded shape, PostgreSQL in the cluster) is a
 * struct of function pointers chosen once at start-up.
 *
 * Model: the caller fills a store_op and submits it. The backend runs ops
 * on its own worker thread, in submission order, and commits many of them
 * in one transaction (group commit: this is chatd's "message batching").
 * When the transaction holding an op has committed (or failed), op->done is
 * called ON THE LOOP THREAD. An op's results are valid from then on.
 *
 * Ownership: the caller owns the op and every input string in it, and must
 * keep them alive until done() runs. Output fields allocated by the backend
 * are released with store_op_clear(), which the caller calls (typically in
 * done) before freeing the op itself.
 *
 * Errors: op->status is 0 on success or a STORE_E* code below. On an error
 * other than STORE_EDUP no output field is set. A transaction that fails
 * fails every op in it with STORE_EIO (nothing of it was stored).
 */
#ifndef CHATD_STORE_H
#define CHATD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/types.h"

typedef struct uv_loop_s uv_loop_t;

enum {
    STORE_OK = CHATD_OK,
    STORE_ENOTFOUND = CHATD_ENOTFOUND, /* user/channel/message cursor not found */
    STORE_EEXIST = CHATD_EEXIST,       /* username taken */
    STORE_EDUP = CHATD_EDUP, /* MSG_APPEND: client_msg_id seen before; msg holds the original */
    STORE_EIO = CHATD_EIO,   /* the backend failed (disk, connection): retry later */
    STORE_ECLOSED = CHATD_ECLOSED, /* submitted after close began */
    STORE_ESTALE = CHATD_ESTALE,   /* MSG_APPEND: the channel has a newer message id (newest_id) */
};

typedef enum store_op_kind {
    STORE_USER_CREATE,
    STORE_USER_GET,
    STORE_CHANNEL_CREATE,
    STORE_MEMBER_ADD,
    STORE_MEMBER_REMOVE,
    STORE_MSG_APPEND,
    STORE_MARK_READ,
    STORE_HISTORY,
    STORE_CHANNELS_FOR_USER,
    STORE_CHANNEL_GET,
    /* protocol 1.1: changes of a channel (store_*_changes.c) */
    STORE_MSG_EDIT,
    STORE_MSG_DELETE,
    STORE_REACT,
    STORE_CHANGES,
    STORE_THREAD,
    /* protocol 1.1: channel management, directory, search (store_*_manage.c) */
    STORE_MEMBERS_ADD,
    STORE_SET_ROLE,
    STORE_CHANNEL_UPDATE,
    STORE_DIRECTORY,
    STORE_SEARCH,
} store_op_kind;

typedef struct search_query search_query; /* proto/search_query.h */

/* Why a change op (EDIT, DELETE, REACT) stored nothing although the
 * message exists: checked in the same transaction as the write. */
typedef enum store_refusal {
    STORE_REFUSE_NONE,
    STORE_REFUSE_NOT_AUTHOR, /* EDIT: not the author; DELETE: neither author nor admin */
    STORE_REFUSE_SYSTEM,     /* a system notice */
    STORE_REFUSE_DELETED,    /* EDIT, REACT: the message is deleted */
    STORE_REFUSE_FULL,       /* REACT: PROTO_MAX_REACTION_KINDS distinct emoji already */
    STORE_REFUSE_NO_PARENT,  /* MSG_APPEND: reply_to is not a message of the channel */
} store_refusal;

/* Most events one STORE_CHANGES op returns, and the most text (content,
 * mentions, metadata bytes) a page holds: a page that would pass it ends
 * early (at least one event) with has_more set, so that no reply grows
 * past a few MiB however long the messages. */
#define STORE_MAX_CHANGES 500
#define STORE_CHANGES_TEXT_MAX (256 * 1024)

/* Members listed per channel in a channels_list (the first to join): a
 * channel may have any number, the list stays small. */
#define STORE_LIST_MEMBERS 101

typedef struct store_op store_op;
typedef void (*store_done_cb)(store_op *op);

struct store_op {
    store_op_kind kind;
    int status;         /* out: STORE_OK or STORE_E* */
    store_done_cb done; /* called on the loop thread */
    void *data;         /* caller's */
    store_op *next__;   /* backend's queue link */
    union {
        /* STORE_EEXIST when the username is taken. */
        struct {
            const char *username;
            const char *pw_hash;
            int64_t created_ms;
        } user_create;
        /* STORE_ENOTFOUND when there is no such user. */
        struct {
            const char *username;
            char *pw_hash;      /* out, malloc */
            int64_t created_ms; /* out */
        } user_get;
        /* The channel and its members, all or nothing; STORE_EEXIST when the id
         * is taken, or when dm_key is given and a direct channel with that
         * key exists (existing_id then names it). A user listed twice is
         * stored once. */
        struct {
            char channel_id[37];
            const char *name; /* NULL = "" (direct channels need none) */
            int is_direct;
            const char *dm_key;   /* direct: the pair "a\nb" (sorted), unique; else NULL */
            char existing_id[37]; /* out, with STORE_EEXIST for a taken dm_key */
            const char *creator;
            int64_t created_ms;
            const proto_member *members; /* creator included, as admin */
            size_t n_members;
            int is_private; /* a private group: not in the directory, no joining */
        } channel_create;
        /* STORE_ENOTFOUND when the channel does not exist. */
        struct {
            char channel_id[37];
            const char *user_id;
            int is_admin;
            int64_t joined_ms;
            int added; /* out: 1 if newly a member, 0 if already one (row kept) */
        } member_add;
        /* STORE_ENOTFOUND when the user was not a member. A channel always
         * keeps an admin: when no admin remains but members do, the
         * longest-standing member (joined_ms, then insertion order) becomes
         * one in the same transaction, and promoted names them. */
        struct {
            char channel_id[37];
            const char *user_id;
            char promoted[33]; /* out: "" or the member made admin */
        } member_remove;
        /* seq = the channel's last seq + 1, in the same transaction.
         * STORE_ENOTFOUND when the channel does not exist; STORE_EDUP when this
         * user already sent client_msg_id in this channel (checked within a
         * batch too); STORE_EIO for a message id stored before; STORE_ESTALE
         * (nothing stored, no seq taken) when msg.message_id is not greater
         * than the channel's newest message id, which newest_id then holds:
         * ids follow seq order even when several servers write one channel
         * (the caller picks a greater id and submits again). */
        struct {
            /* in: every field but seq (metadata NULL = "{}"); out: seq, or on
             * STORE_EDUP the original message (the strings are then replaced
             * by backend-owned copies). */
            proto_msg msg;
            uint64_t newest_id; /* out, with STORE_ESTALE */
            /* msg.reply_to (in): the message replied to; out: its thread's
             * root (a reply to a reply joins the root's thread), whose
             * reply_count and last_reply_ms the append advances. With
             * STORE_OK and refused STORE_REFUSE_DELETED (that message is
             * deleted) or STORE_REFUSE_NO_PARENT (not a message of the
             * channel) nothing is stored. msg.mentions (in) is stored with
             * the message and counted for each member it names. */
            int refused;
            int owned__;        /* backend: strings in msg are its own */
            proto_msg caller__; /* backend: the caller's strings, put back by store_op_clear */
        } msg_append;
        /* STORE_ENOTFOUND when the user is not a member, or message_id is not
         * a message of this channel. */
        struct {
            char channel_id[37];
            const char *user_id;
            uint64_t message_id; /* in: 0 = latest; out: the mark in effect (0 if none) */
            int64_t at_ms;       /* in: now */
            /* out: a mark never moves backwards; when the requested one is not
             * newer than the current one, the current one is kept and returned. */
            int moved;            /* out: 1 if the mark advanced (and at_ms was stored) */
            int64_t last_read_ms; /* out: when the mark in effect was set, -1 = never */
        } mark_read;
        /* before: the newest `limit` older than the cursor; after: the oldest
         * `limit` newer than it; neither: the newest `limit`. has_more: more
         * remain beyond the page in that direction (none: older ones exist).
         * STORE_ENOTFOUND for an unknown channel or a cursor not in it. */
        struct {
            char channel_id[37];
            uint64_t before, after; /* message id cursors; 0 = none (at most one set;
                                     * if both are, `before` wins) */
            int limit;              /* 1..100 (clamped to it) */
            proto_msg *msgs;        /* out: oldest first, backend-owned */
            size_t n_msgs;
            int has_more;
        } history;
        /* Every channel the user is in, oldest first (by created_ms). */
        struct {
            const char *user_id;
            proto_channel_entry *entries; /* out, backend-owned */
            size_t n_entries;
        } channels_for_user;
        /* One channel and its members (oldest member first), as load() would
         * stream them: a cluster chat server refreshes its in-memory cache
         * with it on a miss. STORE_ENOTFOUND when there is no such channel. */
        struct {
            char channel_id[37];
            char *name;            /* out, backend-owned ("" when none) */
            int is_direct;         /* out */
            char *creator;         /* out, backend-owned */
            int64_t created_ms;    /* out */
            proto_member *members; /* out, backend-owned (user_id strings too) */
            size_t n_members;
            int is_private; /* out */
            char *topic;    /* out, backend-owned ("" when none) */
        } channel_get;
        /* EDIT, DELETE, REACT of message_id in channel_id by user_id. Each
         * takes the channel's next seq (in the transaction that writes it)
         * unless it changes nothing. STORE_ENOTFOUND when the message is not
         * in the channel (DELETE: or is deleted already). With STORE_OK,
         * refused != STORE_REFUSE_NONE means nothing was stored; seq 0
         * means nothing changed (REACT: added twice, removed when absent).
         * DELETE erases the text: content, metadata, mentions, every edit's
         * text and the reactions are gone from storage. */
        struct {
            char channel_id[37];
            uint64_t message_id;
            const char *user_id;
            const char *content;  /* EDIT */
            const char *mentions; /* EDIT: "\n"-joined members mentioned, NULL = none */
            const char *emoji;    /* REACT */
            int add;              /* REACT: 1 add, 0 remove */
            int64_t at_ms;
            int64_t seq;  /* out */
            int refused;  /* out: store_refusal */
            char *author; /* out (STORE_OK, EDIT/DELETE): the message's sender, backend-owned */
            char *old_mentions; /* out (EDIT, DELETE): who the text mentioned before */
        } change;
        /* Every stored change with after_seq < seq <= after_seq + limit, in
         * seq order (the sequence is gapless). STORE_ENOTFOUND for an unknown
         * channel. */
        struct {
            char channel_id[37];
            int64_t after_seq;
            int limit;            /* 1..STORE_MAX_CHANGES (clamped) */
            proto_change *events; /* out, backend-owned */
            size_t n_events;
            int has_more; /* out: the channel has changes past the page */
        } changes;
        /* A thread: its root and the oldest `limit` replies after the reply
         * `after` (0 = from the first). STORE_ENOTFOUND when message_id is
         * not a message of the channel, or after not a reply in the thread.
         * A message that is itself a reply names its root's thread. */
        struct {
            char channel_id[37];
            uint64_t message_id;
            uint64_t after;
            int limit;       /* 1..100 (clamped) */
            proto_msg root;  /* out, backend-owned */
            proto_msg *msgs; /* out: oldest first, backend-owned */
            size_t n_msgs;
            int has_more;
        } thread;
        /* add_members: every user in one transaction. STORE_ENOTFOUND when
         * the channel does not exist (nobody added). */
        struct {
            char channel_id[37];
            const char *const *user_ids; /* existing users, distinct */
            size_t n;
            int64_t joined_ms;
            unsigned char *added; /* caller's array of n; out: 1 = newly a member */
        } members_add;
        /* STORE_ENOTFOUND when the user is not a member of the channel. */
        struct {
            char channel_id[37];
            const char *user_id;
            int is_admin;
        } set_role;
        /* STORE_ENOTFOUND when the channel does not exist. */
        struct {
            char channel_id[37];
            const char *name;  /* NULL = unchanged */
            const char *topic; /* NULL = unchanged */
        } channel_update;
        /* Public group channels ordered by name (bytewise), then id;
         * STORE_ENOTFOUND when `after` names no channel. */
        struct {
            const char *user_id;      /* for is_member */
            const char *query;        /* ASCII lower case substring of the name; NULL = all */
            char after[37];           /* "" = from the start; else after that channel's place */
            int limit;                /* 1..100 */
            proto_dir_entry *entries; /* out, backend-owned */
            size_t n_entries;
            int has_more;
        } directory;
        /* Messages matching q (search_query.h) in the channels the user is
         * a member of (or only channel_id, when set), newest first; system
         * notices and deleted messages (content "") never match. */
        struct {
            const char *user_id;
            char channel_id[37]; /* "" = all the user's channels */
            const search_query *q;
            uint64_t before; /* 0 = none: only message ids below it */
            int limit;       /* 1..50 */
            proto_msg *msgs; /* out: newest first, backend-owned */
            size_t n_msgs;
            int has_more;
        } search;
    } u;
};

/* Called once per row by store_backend.load at start-up (loop thread). */
typedef struct store_load_cbs {
    void *data;
    void (*user)(void *data, const char *username);
    void (*channel)(void *data, const char *channel_id, const char *name, int is_direct,
                    const char *creator, int64_t created_ms);
    void (*member)(void *data, const char *channel_id, const proto_member *m);
    /* After channel(), protocol 1.1 attributes; may be NULL. */
    void (*channel_ext)(void *data, const char *channel_id, int is_private, const char *topic);
} store_load_cbs;

/* Ops per transaction at most, by default. A commit writes every page the
 * batch dirtied once, however many of its messages share the page: with
 * messages spread over many channels (1,000 direct-message pairs) nearly
 * each message dirties pages of its own in every index, so at 1,024 a
 * batch wrote ~2 pages per message; at 8,192 the writer's CPU per message
 * fell ~12% and its throughput rose ~15% (issue #16). Under light load
 * batches stay small (the worker takes what is queued), so this bounds
 * only a backlog's commit, at tens of ms. */
#define STORE_MAX_BATCH 8192

typedef struct store_config {
    const char *path; /* SQLite: database file; PG: conninfo */
    int fsync;        /* 1: every commit is durable on disk before done() */
    int max_batch;    /* most ops per transaction (0: STORE_MAX_BATCH) */
    /* SQLite: texts appended but not yet indexed for search before the
     * writer indexes after every commit, not only when idle (0: always;
     * store_sqlite_index.c). PostgreSQL indexes as it writes. */
    int64_t search_lag;
    /* SQLite: WAL size (MiB) past which the checkpointer makes it start over
     * (0: 128; store_sqlite_ckpt.c). */
    int wal_max_mb;
} store_config;

typedef struct store store;

typedef struct store_backend {
    const char *name;
    /* Opens (creating/migrating the schema), starts the worker. 0 or STORE_E*. */
    int (*open)(store **out, const store_config *cfg, uv_loop_t *loop);
    /* Streams every user, channel and membership to cbs. Before serving. */
    int (*load)(store *s, const store_load_cbs *cbs);
    /* Queues op; done() always runs later on the loop thread, even on error. */
    void (*submit)(store *s, store_op *op);
    /* Commits everything submitted, runs the remaining done()s (on the calling
     * thread, which must be the loop thread; submits made from them complete
     * with STORE_ECLOSED), stops the worker and frees its resources. The
     * store's own memory goes with its uv_async handle: the caller runs the
     * loop once more (uv_run, as it does anyway to close its other handles).
     * `s` must not be used after close returns. May be called from a done(). */
    void (*close)(store *s);
} store_backend;

extern const store_backend store_sqlite_backend;
/* PostgreSQL 15 via libpq; store_config.path is a libpq conninfo string. */
extern const store_backend store_pg_backend;

/* Releases backend-owned outputs of a completed op (not the op itself) and
 * sets them to NULL/0; calling it twice is harmless. For MSG_APPEND after
 * STORE_EDUP it also puts the caller's own input strings back into msg, so
 * the caller may free them from the op as it would after a normal append. */
void store_op_clear(store_op *op);

/* Frees the backend-owned strings and reactions of one message (not m
 * itself) and zeroes those fields. */
void store_msg_free(proto_msg *m);

/* For backends: adds one (emoji, user) reaction row to m, rows coming in
 * order of use, so emoji keep the order of their first row and each lists
 * at most PROTO_REACTION_USERS users. 0, or -1 when out of memory. */
int store_reaction_row(proto_msg *m, const char *emoji, const char *user);
/* For backends: puts the n events of a CHANGES op in seq order and cuts
 * the page at STORE_CHANGES_TEXT_MAX (setting has_more). */
void store_changes_finish(store_op *op);
/* For backends: the next name of a "\n"-joined list at *p (advanced past
 * it); its length in *len. NULL at the end. */
const char *store_list_next(const char **p, size_t *len);

#endif
