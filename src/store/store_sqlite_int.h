/*
 * store_sqlite internals shared by store_sqlite.c (worker thread, queue,
 * group commit), store_sqlite_schema.c (schema, pragmas, statement texts)
 * and store_sqlite_ops.c (one function per op).
 * Not for use outside src/store.
 */
#ifndef CHATD_STORE_SQLITE_INT_H
#define CHATD_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store.h"

/* Every statement the backend runs, prepared once per connection. */
enum store_sqlite__stmt {
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,
    SQ_USER_INSERT,
    SQ_USER_GET,
    SQ_CHAN_INSERT,
    SQ_CHAN_BY_DM,
    SQ_CHAN_LAST_SEQ,
    SQ_CHAN_SET_SEQ,
    SQ_CHAN_MEMBERS_ADD,
    SQ_MEMBER_INSERT,
    SQ_MEMBER_DELETE,
    SQ_MEMBER_OWN_GET,
    SQ_MEMBER_OWN_SET,
    SQ_MEMBER_MARK,
    SQ_MEMBER_SET_MARK,
    SQ_MSG_BY_CLIENT_ID,
    SQ_MSG_INSERT,
    SQ_MSG_BY_ID,
    SQ_MSG_ID_USED,
    SQ_MSG_LATEST,
    SQ_MSG_OWN_PREV,
    SQ_HIST_BEFORE,
    SQ_HIST_AFTER,
    SQ_CHANNELS_OF_USER,
    SQ_MEMBERS_OF,
    /* protocol 1.1 (store_sqlite_changes.c) */
    SQ_CHAN_NEXT_SEQ,
    SQ_MSG_STATE,
    SQ_MEMBER_IS_ADMIN,
    SQ_MSG_EDIT,
    SQ_MSG_ERASE,
    SQ_CHANGES_ERASE,
    SQ_REACTIONS_ERASE,
    SQ_CHANGE_INSERT,
    SQ_REACTION_HAS,
    SQ_REACTION_ADD,
    SQ_REACTION_DEL,
    SQ_MSG_KINDS_ADD,
    SQ_REACTIONS_OF,
    SQ_CHG_MSGS,
    SQ_CHG_ROWS,
    SQ_MSG_FULL,
    SQ_THREAD,
    SQ_ROOT_REPLY,
    SQ_MENTION_ADD,
    SQ_MENTION_COUNT_ADD,
    SQ_MENTIONS_UNCOUNT,
    SQ_MENTIONS_DROP,
    SQ_MENTIONS_READ,
    SQ_LOAD_USERS,
    SQ_LOAD_CHANNELS,
    SQ_LOAD_MEMBERS,
    SQ_SEARCH_ALL,
    SQ_SEARCH_CHAN,
    SQ_INDEX_ADD,
    SQ_INDEX_TAKE,
    SQ_INDEX_COUNT,
    SQ__COUNT
};

/* An op's result that means "the transaction itself is broken". */
#define STORE_SQLITE__FATAL (-100)

/* Opens path, applies the pragmas and the schema migrations. 0 or STORE_EIO
 * (then *out is NULL). */
int store_sqlite__open_db(const char *path, int fsync, sqlite3 **out);

/* Prepares every statement into st (SQ__COUNT slots). 0 or STORE_EIO; on
 * failure the ones prepared are finalized. */
int store_sqlite__prepare(sqlite3 *db, sqlite3_stmt **st);
void store_sqlite__finalize(sqlite3_stmt **st);

/* Runs one statement without results (BEGIN, COMMIT, ...). SQLite rc. */
int store_sqlite__run(sqlite3_stmt *stmt);

/* Runs one op inside the open transaction. Returns the op's status
 * (STORE_OK, STORE_E*), or STORE_SQLITE__FATAL when the transaction must be
 * rolled back. On anything but STORE_OK/STORE_EDUP no output is left set. */
int store_sqlite__exec_op(sqlite3_stmt **st, store_op *op);

/* Helpers of store_sqlite_ops.c shared with store_sqlite_changes.c. */
void store_sqlite__done(sqlite3_stmt *s); /* reset + clear bindings */
void store_sqlite__bind_chan(sqlite3_stmt *s, int i, const char *ch);
void store_sqlite__bind_str(sqlite3_stmt *s, int i, const char *str); /* NULL = SQL NULL */
/* malloc'd copy of a text column; *ok = 0 when out of memory. NULL stays NULL. */
char *store_sqlite__dup_col(sqlite3_stmt *s, int i, int *ok);
/* Fills m from a row of MSG_COLS. 0, or -1 when out of memory (no strings left). */
int store_sqlite__read_msg(sqlite3_stmt *s, proto_msg *m);
/* Fills the reactions of msgs[0..n) (those with any). STORE_OK, STORE_EIO or FATAL. */
int store_sqlite__reactions(sqlite3_stmt **st, proto_msg *msgs, size_t n);
/* Stores the mentions of a new message (seq, sender) and counts them for
 * each member named but the sender. 0 or FATAL. */
int store_sqlite__mentions_add(sqlite3_stmt **st, const char *ch, const char *mentions,
                               const char *sender, int64_t seq, uint64_t message_id);
/* MSG_APPEND with reply_to: normalises it to the root and checks it.
 * STORE_OK (and *refused), or FATAL. */
int store_sqlite__reply_check(sqlite3_stmt **st, store_op *op);
/* After a stored reply: the root's reply_count and last_reply_ms. 0 or FATAL. */
int store_sqlite__reply_count(sqlite3_stmt **st, const proto_msg *m);
/* mark_read moved from seq old_seq to new_seq: the member's mention count follows. */
int store_sqlite__mentions_read(sqlite3_stmt **st, const char *ch, const char *user,
                                int64_t old_seq, int64_t new_seq);
/* Runs the protocol 1.1 ops (EDIT, DELETE, REACT, CHANGES, THREAD). */
int store_sqlite__exec_change(sqlite3_stmt **st, store_op *op);

/* A channel's counters for the batch being run (store_sqlite_counters.c):
 * last seq, newest message id and countable messages, each pointer may be
 * NULL; 1 found, 0 no such channel, negative error. Only MSG_APPEND calls
 * ctr_set and own_next (the rows are written back by ctr_flush, before any
 * other op and before COMMIT: 0 or FATAL); ctr_drop forgets them when the
 * batch fails. */
typedef struct store_sqlite_ctr store_sqlite_ctr;
store_sqlite_ctr *store_sqlite__ctr_new(void); /* aborts on OOM */
void store_sqlite__ctr_free(store_sqlite_ctr *c);
/* The cache of the batch this thread runs next (run_batch, worker thread). */
void store_sqlite__ctr_use(store_sqlite_ctr *c);
int store_sqlite__ctr_get(sqlite3_stmt **st, const char *ch, int64_t *last, uint64_t *newest,
                          int64_t *count);
int store_sqlite__ctr_set(sqlite3_stmt **st, const char *ch, int64_t last, uint64_t newest,
                          int64_t count);
int store_sqlite__ctr_flush(sqlite3_stmt **st);
/* A member's own counters in a channel as this batch has them: own_count
 * (its countable messages) and own_seq (the seq of the latest, 0 none).
 * own_get: 1 found, 0 user is no member (*own = *seq = 0), or FATAL.
 * own_set (after the message is stored): 0 or FATAL. */
int store_sqlite__own_get(sqlite3_stmt **st, const char *ch, const char *user, int64_t *own,
                          int64_t *seq);
int store_sqlite__own_set(sqlite3_stmt **st, const char *ch, const char *user, int64_t own,
                          int64_t seq);
void store_sqlite__ctr_drop(void);

/* store_sqlite_manage.c: the ops of channel management, the directory and
 * search (STORE_MEMBERS_ADD .. STORE_SEARCH), as exec_op. */
int store_sqlite__exec_manage(sqlite3_stmt **st, store_op *op);
/* After a member left: when no admin remains but members do, makes the
 * longest-standing one admin and names them in op->u.member_remove.promoted.
 * STORE_OK or FATAL. */
int store_sqlite__keep_admin(sqlite3_stmt **st, store_op *op);

/* The search index (store_sqlite_index.c). Worker thread only. */
/* Texts indexed per transaction when the writer is idle, and per step of
 * a catch-up. */
#define STORE_SQLITE__INDEX_CHUNK 256
/* Inside the open transaction: indexes the n oldest queued texts and takes
 * them off the queue. How many were taken (< n: the queue is empty), or -1
 * on an SQLite error. */
int64_t store_sqlite__index_step(sqlite3_stmt **st, int n);
/* Inside the open transaction: indexes the whole queue (before a search).
 * 0 or -1. */
int store_sqlite__index_all(sqlite3_stmt **st);
/* index_step in a transaction of its own, committed without waiting for
 * the disk when fsync is on (a lost chunk is queued again). Taken, or -1. */
int64_t store_sqlite__index_chunk(sqlite3_stmt **st, int n, int fsync);
/* How many texts are queued, or -1. */
int64_t store_sqlite__index_backlog(sqlite3_stmt **st);

/* Erasing removed words from the search index (store_sqlite_index.c).
 * Worker thread only. */
typedef struct store_sqlite__purge {
    int64_t target;  /* texts removed when the rewrite under way began */
    int merges_left; /* of the rewrite under way; 0: none */
    int at_once;     /* blocks rewritten at once; 0: PURGE_AT_ONCE (tests set them) */
    int pages;       /* pages merged per step; 0: PURGE_PAGES */
} store_sqlite__purge;
/* Called after each committed batch: when texts were removed since the
 * last rewrite, rewrites the index so that their words leave the file:
 * at once when it is small ('optimize'), else PURGE_PAGES pages per batch
 * ('merge' over every segment) until one whole pass is done. Runs its own
 * transactions; 0, or -1 on an SQLite error (the next batch retries). */
int store_sqlite__purge_step(sqlite3 *db, store_sqlite__purge *p);

/* The WAL checkpointer (store_sqlite_ckpt.c): a thread with its own
 * connection to path; the WAL starts over past max_frames frames (0: a
 * default). start turns the writer's autocheckpoint off; NULL on failure. gate: the writer calls it
 * before each batch; it returns at once, or when a pending WAL restart is done (at most a second).
 * stop joins the thread and frees it (NULL is ignored). */
typedef struct store_sqlite_ckpt store_sqlite_ckpt;
store_sqlite_ckpt *store_sqlite__ckpt_start(sqlite3 *writer, const char *path, int max_frames);
void store_sqlite__ckpt_gate(store_sqlite_ckpt *c);
void store_sqlite__ckpt_stop(store_sqlite_ckpt *c);

/* Streams users, channels and members to cbs in one read transaction. */
int store_sqlite__load(sqlite3_stmt **st, const store_load_cbs *cbs);

#endif
