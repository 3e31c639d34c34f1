/*
 * store_sqlite_manage: the SQLite side of protocol 1.1's channel
 * management (add members, roles, name and topic), the channel directory
 * and full-text search. Run on the worker thread inside the batch's
 * transaction, like store_sqlite_ops.c. Management and the directory are
 * rare, so their statements are prepared per use; search's are kept in
 * the connection's table (SQ_SEARCH_*, store_sqlite_schema.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/search_query.h"
#include "store/store_sqlite_int.h"

static sqlite3_stmt *prep(sqlite3_stmt **st, const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(sqlite3_db_handle(st[SQ_BEGIN]), sql, -1, &s, NULL) != SQLITE_OK) {
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

static void bind_chan(sqlite3_stmt *s, int i, const char *ch) {
    sqlite3_bind_text(s, i, ch, (int)strnlen(ch, 36), SQLITE_STATIC);
}

static void bind_opt(sqlite3_stmt *s, int i, const char *str) {
    if (str)
        sqlite3_bind_text(s, i, str, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static char *dup_col(sqlite3_stmt *s, int i, int *ok) {
    const unsigned char *t = sqlite3_column_text(s, i);
    char *d = strdup(t ? (const char *)t : "");
    if (!d) *ok = 0;
    return d;
}

/* Runs a one-shot UPDATE; its changed rows, or -1. */
static int update(sqlite3_stmt *s) {
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    int n = rc == SQLITE_DONE ? sqlite3_changes(sqlite3_db_handle(s)) : -1;
    sqlite3_finalize(s);
    return n;
}

int store_sqlite__keep_admin(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = prep(st, "UPDATE members SET is_admin = 1 WHERE rowid = ("
                               "  SELECT rowid FROM members WHERE channel_id = ?1"
                               "  ORDER BY joined_ms, rowid LIMIT 1)"
                               " AND NOT EXISTS (SELECT 1 FROM members"
                               "  WHERE channel_id = ?1 AND is_admin = 1)"
                               " RETURNING user_id");
    if (!s) return STORE_SQLITE__FATAL;
    bind_chan(s, 1, op->u.member_remove.channel_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(op->u.member_remove.promoted, sizeof op->u.member_remove.promoted, "%s",
                 (const char *)sqlite3_column_text(s, 0));
    while (rc == SQLITE_ROW) /* RETURNING: run the statement to its end */
        rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? STORE_OK : STORE_SQLITE__FATAL;
}

/* Inserts every user (existing rows kept); added[i] says who is new. */
static int members_insert(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = st[SQ_MEMBER_INSERT];
    int64_t added = 0;
    for (size_t i = 0; i < op->u.members_add.n; i++) {
        bind_chan(s, 1, op->u.members_add.channel_id);
        bind_opt(s, 2, op->u.members_add.user_ids[i]);
        sqlite3_bind_int(s, 3, 0);
        sqlite3_bind_int64(s, 4, op->u.members_add.joined_ms);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return STORE_ENOTFOUND;
        if (rc != SQLITE_DONE)
            return (rc & 0xff) == SQLITE_CONSTRAINT ? STORE_EIO : STORE_SQLITE__FATAL;
        op->u.members_add.added[i] = sqlite3_changes(sqlite3_db_handle(s)) > 0;
        added += op->u.members_add.added[i];
    }
    s = st[SQ_CHAN_MEMBERS_ADD];
    bind_chan(s, 1, op->u.members_add.channel_id);
    sqlite3_bind_int64(s, 2, added);
    return store_sqlite__run(s) == SQLITE_OK ? STORE_OK : STORE_SQLITE__FATAL;
}

/* All or nothing, without failing the rest of the batch. */
static int op_members_add(sqlite3_stmt **st, store_op *op) {
    if (store_sqlite__run(st[SQ_SAVEPOINT]) != SQLITE_OK) return STORE_SQLITE__FATAL;
    int status = members_insert(st, op);
    if (status != STORE_OK && status != STORE_SQLITE__FATAL) {
        memset(op->u.members_add.added, 0, op->u.members_add.n);
        if (store_sqlite__run(st[SQ_ROLLBACK_TO]) != SQLITE_OK) return STORE_SQLITE__FATAL;
    }
    if (status != STORE_SQLITE__FATAL && store_sqlite__run(st[SQ_RELEASE]) != SQLITE_OK)
        return STORE_SQLITE__FATAL;
    return status;
}

static int op_set_role(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s =
        prep(st, "UPDATE members SET is_admin = ?3 WHERE channel_id = ?1 AND user_id = ?2");
    if (!s) return STORE_SQLITE__FATAL;
    bind_chan(s, 1, op->u.set_role.channel_id);
    bind_opt(s, 2, op->u.set_role.user_id);
    sqlite3_bind_int(s, 3, op->u.set_role.is_admin ? 1 : 0);
    int n = update(s);
    return n < 0 ? STORE_SQLITE__FATAL : n == 0 ? STORE_ENOTFOUND : STORE_OK;
}

static int op_channel_update(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = prep(st, "UPDATE channels SET name = COALESCE(?2, name),"
                               " topic = COALESCE(?3, topic) WHERE channel_id = ?1");
    if (!s) return STORE_SQLITE__FATAL;
    bind_chan(s, 1, op->u.channel_update.channel_id);
    bind_opt(s, 2, op->u.channel_update.name);
    bind_opt(s, 3, op->u.channel_update.topic);
    int n = update(s);
    return n < 0 ? STORE_SQLITE__FATAL : n == 0 ? STORE_ENOTFOUND : STORE_OK;
}

/* ---- directory ---- */

/* The name of the `after` channel into *name (malloc'd). 1 found, 0 not, <0. */
static int after_name(sqlite3_stmt **st, const char *id, char **name) {
    sqlite3_stmt *s = prep(st, "SELECT name FROM channels WHERE channel_id = ?1");
    if (!s) return -1;
    bind_chan(s, 1, id);
    int rc = sqlite3_step(s), ok = 1;
    if (rc == SQLITE_ROW) *name = dup_col(s, 0, &ok);
    sqlite3_finalize(s);
    if (!ok) return -1;
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void free_dir(proto_dir_entry *e, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].topic);
    }
    free(e);
}

static int op_directory(sqlite3_stmt **st, store_op *op) {
    char *aname = NULL;
    if (op->u.directory.after[0]) {
        int r = after_name(st, op->u.directory.after, &aname);
        if (r < 0) return STORE_SQLITE__FATAL;
        if (r == 0) return STORE_ENOTFOUND;
    }
    int limit = op->u.directory.limit < 1     ? 1
                : op->u.directory.limit > 100 ? 100
                                              : op->u.directory.limit;
    /* Bytewise order (BINARY), as PostgreSQL's COLLATE "C"; lower() is
     * ASCII-only in SQLite, as translate() there. */
    sqlite3_stmt *s = prep(st, "SELECT c.channel_id, c.name, c.topic, c.member_count, c.created_ms,"
                               " EXISTS (SELECT 1 FROM members m WHERE m.channel_id = c.channel_id"
                               "   AND m.user_id = ?1)"
                               " FROM channels c WHERE c.is_direct = 0 AND c.is_private = 0"
                               " AND (?2 IS NULL OR instr(lower(c.name), ?2) > 0)"
                               " AND (?3 IS NULL OR c.name > ?3 OR (c.name = ?3 AND"
                               "   c.channel_id > ?4))"
                               " ORDER BY c.name, c.channel_id LIMIT ?5");
    if (!s) {
        free(aname);
        return STORE_SQLITE__FATAL;
    }
    bind_opt(s, 1, op->u.directory.user_id);
    bind_opt(s, 2, op->u.directory.query);
    bind_opt(s, 3, aname);
    bind_opt(s, 4, aname ? op->u.directory.after : NULL);
    sqlite3_bind_int(s, 5, limit + 1);
    proto_dir_entry *es = calloc((size_t)limit + 1, sizeof(*es));
    size_t n = 0;
    int rc = SQLITE_NOMEM, ok = es != NULL;
    while (ok && (rc = sqlite3_step(s)) == SQLITE_ROW && n < (size_t)limit + 1) {
        proto_dir_entry *e = &es[n++];
        snprintf(e->channel_id, sizeof e->channel_id, "%s",
                 (const char *)sqlite3_column_text(s, 0));
        e->name = dup_col(s, 1, &ok);
        e->topic = dup_col(s, 2, &ok);
        e->member_count = sqlite3_column_int64(s, 3);
        e->created_ms = sqlite3_column_int64(s, 4);
        e->is_member = sqlite3_column_int(s, 5);
    }
    sqlite3_finalize(s);
    free(aname);
    if (!ok || (rc != SQLITE_DONE && rc != SQLITE_ROW)) {
        free_dir(es, n);
        return ok ? STORE_SQLITE__FATAL : STORE_EIO;
    }
    op->u.directory.has_more = n > (size_t)limit;
    if (n > (size_t)limit) {
        free(es[limit].name);
        free(es[limit].topic);
        n = (size_t)limit;
    }
    op->u.directory.entries = es;
    op->u.directory.n_entries = n;
    return STORE_OK;
}

/* ---- search ---- */

static int op_search(sqlite3_stmt **st, store_op *op) {
    char match[SEARCH_RENDER_MAX];
    /* Results are exact: the texts still queued are indexed first. */
    if (store_sqlite__index_all(st) != 0) return STORE_SQLITE__FATAL;
    if (!op->u.search.q || search_query_fts5(op->u.search.q, match, sizeof match) < 0)
        return STORE_EIO;
    int limit = op->u.search.limit < 1 ? 1 : op->u.search.limit > 50 ? 50 : op->u.search.limit;
    int one = op->u.search.channel_id[0] != '\0';
    sqlite3_stmt *s = st[one ? SQ_SEARCH_CHAN : SQ_SEARCH_ALL];
    sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2,
                       op->u.search.before && op->u.search.before <= (uint64_t)INT64_MAX
                           ? (sqlite3_int64)op->u.search.before
                           : INT64_MAX);
    bind_opt(s, 3, op->u.search.user_id);
    sqlite3_bind_int(s, 4, limit + 1);
    if (one) bind_chan(s, 5, op->u.search.channel_id);

    proto_msg *msgs = calloc((size_t)limit + 1, sizeof(*msgs));
    size_t n = 0;
    int rc = SQLITE_NOMEM, status = msgs ? STORE_OK : STORE_EIO;
    while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW && n < (size_t)limit + 1) {
        if (store_sqlite__read_msg(s, &msgs[n]) != 0)
            status = STORE_EIO;
        else
            n++;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    /* A failed read ends neither the transaction nor the batch. */
    if (status == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STORE_EIO;
    /* Hand the rows over so that one function frees them. */
    op->u.search.msgs = msgs;
    op->u.search.n_msgs = n;
    if (status != STORE_OK) {
        store_op_clear(op);
        return status;
    }
    op->u.search.has_more = n > (size_t)limit;
    if (n > (size_t)limit) { /* the probe row goes */
        op->u.search.n_msgs = (size_t)limit;
        store_msg_free(&msgs[limit]);
    }
    /* Messages in their current state: with their reactions */
    status = store_sqlite__reactions(st, msgs, op->u.search.n_msgs);
    if (status != STORE_OK) store_op_clear(op);
    return status;
}

int store_sqlite__exec_manage(sqlite3_stmt **st, store_op *op) {
    switch (op->kind) {
    case STORE_MEMBERS_ADD:
        return op_members_add(st, op);
    case STORE_SET_ROLE:
        return op_set_role(st, op);
    case STORE_CHANNEL_UPDATE:
        return op_channel_update(st, op);
    case STORE_DIRECTORY:
        return op_directory(st, op);
    case STORE_SEARCH:
        return op_search(st, op);
    default:
        return STORE_EIO;
    }
}
