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
    SQ_MEMBER_OWN_INC,
    SQ_MEMBER_MARK,
    SQ_MEMBER_SET_MARK,
    SQ_MSG_BY_CLIENT_ID,
    SQ_MSG_INSERT,
    SQ_MSG_BY_ID,
    SQ_MSG_ID_USED,
    SQ_MSG_LATEST,
    SQ_MSG_OWN_AT,
    SQ_HIST_BEFORE,
    SQ_HIST_AFTER,
    SQ_CHANNELS_OF_USER,
    SQ_MEMBERS_OF,
    SQ_LOAD_USERS,
    SQ_LOAD_CHANNELS,
    SQ_LOAD_MEMBERS,
    SQ_SEARCH_ALL,
    SQ_SEARCH_CHAN,
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

/* Fills m from a row of MSG_COLS (store_sqlite_schema.c). 0, or -1 when
 * out of memory (m is then left with no strings). */
int store_sqlite__read_msg(sqlite3_stmt *s, proto_msg *m);

/* store_sqlite_manage.c: the ops of channel management, the directory and
 * search (STORE_MEMBERS_ADD .. STORE_SEARCH), as exec_op. */
int store_sqlite__exec_manage(sqlite3_stmt **st, store_op *op);
/* After a member left: when no admin remains but members do, makes the
 * longest-standing one admin and names them in op->u.member_remove.promoted.
 * STORE_OK or FATAL. */
int store_sqlite__keep_admin(sqlite3_stmt **st, store_op *op);

/* Erasing removed words from the search index (store_sqlite_manage.c).
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

/* Streams users, channels and members to cbs in one read transaction. */
int store_sqlite__load(sqlite3_stmt **st, const store_load_cbs *cbs);

#endif
