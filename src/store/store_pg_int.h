/*
 * store_pg internals shared by store_pg.c (worker thread, queue, group
 * commit, reconnect), store_pg_schema.c (connect, migrations, statement
 * texts) and store_pg_ops.c (one function per op).
 * Not for use outside src/store.
 */
#ifndef CHATD_STORE_PG_INT_H
#define CHATD_STORE_PG_INT_H

#include <libpq-fe.h>

#include "store/store.h"

/* Every statement the backend runs, prepared once per connection under
 * the name "s<index>". */
enum store_pg__stmt {
    PQ_LOCK_CHANNELS,
    PQ_USER_INSERT,
    PQ_USER_GET,
    PQ_CHAN_INSERT,
    PQ_CHAN_BY_DM,
    PQ_CHAN_MEMBERS_ADD,
    PQ_CHAN_GET,
    PQ_CHAN_LAST_SEQ,
    PQ_MEMBER_INSERT,
    PQ_MEMBER_ADD,
    PQ_MEMBER_DELETE,
    PQ_MEMBERS_FULL,
    PQ_MSG_APPEND,
    PQ_MEMBER_MARK,
    PQ_MEMBER_SET_MARK,
    PQ_MSG_SEQ,
    PQ_MSG_OWN_AT,
    PQ_HIST_BEFORE,
    PQ_HIST_AFTER,
    PQ_CHANNELS_OF_USER,
    PQ_PARTICIPANTS_OF_USER,
    PQ_LOAD_USERS,
    PQ_LOAD_CHANNELS,
    PQ_LOAD_MEMBERS,
    PQ_SEARCH_ALL,
    PQ_SEARCH_CHAN,
    PQ__COUNT
};

/* An op's result that means "the transaction itself is broken". */
#define STORE_PG__FATAL (-100)

/* How many schema migrations this chatd knows (schema_migrations.version
 * of the newest). */
extern const int store_pg__schema_version;

/* Connects (connect_timeout 5 s unless conninfo sets one), applies the
 * migrations (serialised between servers by an advisory lock), sets
 * synchronous_commit = off when !fsync and prepares every statement.
 * Returns the connection, or NULL (nothing left open). */
PGconn *store_pg__connect(const char *conninfo, int fsync);

/* Runs prepared statement `st` with text parameters (NULL = SQL NULL).
 * Returns the result when it is PGRES_COMMAND_OK or PGRES_TUPLES_OK, else
 * NULL (the transaction is then broken). Caller PQclear()s. */
PGresult *store_pg__exec(PGconn *c, int st, int n, const char *const *params);

/* The same for a statement given as text (prepared for this one use). */
PGresult *store_pg__exec_text(PGconn *c, const char *text, int n, const char *const *params);

/* Fills m from the MSG_COLS of row `row` starting at column col. 0, or -1
 * when out of memory (m is then left with no strings). */
int store_pg__read_msg(const PGresult *r, int row, int col, proto_msg *m);

/* store_pg_manage.c: the ops of channel management, the directory and
 * search (STORE_MEMBERS_ADD .. STORE_SEARCH), as exec_op. */
int store_pg__exec_manage(PGconn *c, store_op *op);
/* After a member left: when no admin remains but members do, makes the
 * longest-standing one admin and names them in op->u.member_remove.promoted.
 * STORE_OK or FATAL. */
int store_pg__keep_admin(PGconn *c, store_op *op);

/* Runs a parameterless command (BEGIN, COMMIT, ...). 0 or -1. */
int store_pg__cmd(PGconn *c, const char *sql);

/* Takes the row locks of every channel the batch appends to, in channel id
 * order: writers on several servers then never deadlock, and every later
 * statement of the transaction sees what earlier lock holders committed.
 * 0 or STORE_PG__FATAL. */
int store_pg__lock_channels(PGconn *c, store_op *ops);

/* Runs one op inside the open transaction. Returns the op's status
 * (STORE_OK, STORE_E*), or STORE_PG__FATAL when the transaction must be
 * rolled back. On anything but STORE_OK/STORE_EDUP no output is left set. */
int store_pg__exec_op(PGconn *c, store_op *op);

/* Runs the n consecutive MSG_APPEND ops from `first` in pipeline mode:
 * all sent, then all results read, one round trip instead of n. Sets each
 * op's status; STORE_OK, or STORE_PG__FATAL when the transaction is broken
 * (the connection may then still be in pipeline mode: drop it). */
int store_pg__append_run(PGconn *c, store_op *first, int n);

/* Streams users, channels and members to cbs in one read transaction. */
int store_pg__load(PGconn *c, const store_load_cbs *cbs);

#endif
