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
    /* protocol 1.1 (store_pg_changes.c) */
    PQ_CHAN_NEXT_SEQ,
    PQ_MSG_STATE,
    PQ_MEMBER_IS_ADMIN,
    PQ_MSG_EDIT,
    PQ_MSG_ERASE,
    PQ_CHANGES_ERASE,
    PQ_REACTIONS_ERASE,
    PQ_CHANGE_INSERT,
    PQ_REACTION_HAS,
    PQ_REACTION_ADD,
    PQ_REACTION_DEL,
    PQ_MSG_KINDS_ADD,
    PQ_REACTIONS_OF,
    PQ_CHG_MSGS,
    PQ_CHG_ROWS,
    PQ_MSG_FULL,
    PQ_THREAD,
    PQ_MENTIONS_DROP,
    PQ_MENTIONS_ADD,
    PQ_MENTIONS_READ,
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

/* ---- helpers of the op files (store_pg_ops.c, store_pg_changes.c) ---- */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text of an integer parameter. */
typedef struct num {
    char s[24];
} num;

static inline num i64(int64_t v) {
    num n;
    snprintf(n.s, sizeof n.s, "%" PRId64, v);
    return n;
}

static inline num u64(uint64_t v) {
    num n;
    snprintf(n.s, sizeof n.s, "%" PRIu64, v);
    return n;
}

/* A channel id is a char[37]; never read past it even if unterminated. */
typedef struct chan {
    char s[37];
} chan;

static inline chan chan_of(const char *ch) {
    chan c;
    snprintf(c.s, sizeof c.s, "%.*s", 36, ch);
    return c;
}

static inline int64_t get_i64(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static inline uint64_t get_u64(const PGresult *r, int row, int col) {
    return PQgetisnull(r, row, col) ? 0 : strtoull(PQgetvalue(r, row, col), NULL, 10);
}

static inline int get_bool(const PGresult *r, int row, int col) {
    return PQgetvalue(r, row, col)[0] == 't';
}

/* malloc'd copy of a value; *ok = 0 when out of memory. NULL stays NULL. */
static inline char *dup_val(const PGresult *r, int row, int col, int *ok) {
    if (PQgetisnull(r, row, col)) return NULL;
    char *d = strdup(PQgetvalue(r, row, col));
    if (!d) *ok = 0;
    return d;
}

/* Runs a statement with only single-row lookups in mind: the result, or
 * NULL on error. */
#define EXEC(c, st, ...)                                                                           \
    store_pg__exec((c), (st), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)),       \
                   (const char *[]){__VA_ARGS__})

/* Fills m from MSG_COLS starting at column c. 0, or -1 when out of memory. */
int store_pg__read_msg(const PGresult *r, int row, int c, proto_msg *m);
/* Fills the reactions of msgs[0..n) in one query. STORE_OK, STORE_EIO or FATAL. */
int store_pg__reactions(PGconn *c, proto_msg *msgs, size_t n);
/* MSG_APPEND's part in reply and mention bookkeeping is in PQ_MSG_APPEND;
 * mark_read moved from old_seq to new_seq: the mention count follows. */
int store_pg__mentions_read(PGconn *c, const char *ch, const char *user, int64_t old_seq,
                            int64_t new_seq);
/* Runs the protocol 1.1 ops (EDIT, DELETE, REACT, CHANGES, THREAD). */
int store_pg__exec_change(PGconn *c, store_op *op);

/* Streams users, channels and members to cbs in one read transaction. */
int store_pg__load(PGconn *c, const store_load_cbs *cbs);

#endif
