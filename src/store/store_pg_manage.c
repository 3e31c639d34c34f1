/*
 * store_pg_manage: the PostgreSQL side of protocol 1.1's channel
 * management (add members, roles, name and topic), the channel directory
 * and full-text search; the same contract as store_sqlite_manage.c. Run on
 * the worker thread inside the batch's transaction. As in store_pg_ops.c,
 * expected outcomes are rows or row counts, never SQL errors (an error
 * aborts the whole transaction).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/search_query.h"
#include "store/store_pg_int.h"

#define RUN(c, text, ...)                                                                          \
    store_pg__exec_text((c), (text),                                                               \
                        (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)),             \
                        (const char *[]){__VA_ARGS__})

static long changed(PGresult *r) {
    return strtol(PQcmdTuples(r), NULL, 10);
}

int store_pg__keep_admin(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.member_remove.channel_id);
    PGresult *r = RUN(c,
                      "UPDATE members SET is_admin = true WHERE channel_id = $1 AND user_id = ("
                      "  SELECT user_id FROM members WHERE channel_id = $1"
                      "  ORDER BY joined_ms, ord LIMIT 1)"
                      " AND NOT EXISTS (SELECT 1 FROM members WHERE channel_id = $1 AND is_admin)"
                      " RETURNING user_id",
                      ch.s);
    if (!r) return STORE_PG__FATAL;
    if (PQntuples(r) == 1)
        snprintf(op->u.member_remove.promoted, sizeof op->u.member_remove.promoted, "%s",
                 PQgetvalue(r, 0, 0));
    PQclear(r);
    return STORE_OK;
}

/* Member rows cannot fail (ON CONFLICT), and a missing channel is missing
 * for the first user already: all or nothing without a savepoint. */
static int op_members_add(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.members_add.channel_id);
    num at = i64(op->u.members_add.joined_ms);
    for (size_t i = 0; i < op->u.members_add.n; i++) {
        if (!op->u.members_add.user_ids[i]) return STORE_PG__FATAL;
        PGresult *r = store_pg__exec(
            c, PQ_MEMBER_ADD, 4, (const char *[]){ch.s, op->u.members_add.user_ids[i], "f", at.s});
        if (!r) return STORE_PG__FATAL;
        int found = PQntuples(r) == 1 && strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0;
        op->u.members_add.added[i] =
            PQntuples(r) == 1 && strtoll(PQgetvalue(r, 0, 1), NULL, 10) > 0;
        PQclear(r);
        if (!found) {
            memset(op->u.members_add.added, 0, op->u.members_add.n);
            return STORE_ENOTFOUND; /* nothing was inserted: the first one fails already */
        }
    }
    return STORE_OK;
}

static int op_set_role(PGconn *c, store_op *op) {
    if (!op->u.set_role.user_id) return STORE_EIO;
    PGresult *r = RUN(c,
                      "UPDATE members SET is_admin = $3::boolean"
                      " WHERE channel_id = $1 AND user_id = $2",
                      chan_of(op->u.set_role.channel_id).s, op->u.set_role.user_id,
                      op->u.set_role.is_admin ? "t" : "f");
    if (!r) return STORE_PG__FATAL;
    long n = changed(r);
    PQclear(r);
    return n > 0 ? STORE_OK : STORE_ENOTFOUND;
}

static int op_channel_update(PGconn *c, store_op *op) {
    PGresult *r = RUN(c,
                      "UPDATE channels SET name = COALESCE($2, name),"
                      " topic = COALESCE($3, topic) WHERE channel_id = $1",
                      chan_of(op->u.channel_update.channel_id).s, op->u.channel_update.name,
                      op->u.channel_update.topic);
    if (!r) return STORE_PG__FATAL;
    long n = changed(r);
    PQclear(r);
    return n > 0 ? STORE_OK : STORE_ENOTFOUND;
}

/* ---- directory ---- */

static int op_directory(PGconn *c, store_op *op) {
    char *aname = NULL;
    int ok = 1;
    if (op->u.directory.after[0]) {
        PGresult *r =
            RUN(c, "SELECT name FROM channels WHERE channel_id = $1", op->u.directory.after);
        if (!r) return STORE_PG__FATAL;
        if (PQntuples(r) == 1) aname = dup_val(r, 0, 0, &ok);
        PQclear(r);
        if (!ok) return STORE_EIO;
        if (!aname) return STORE_ENOTFOUND;
    }
    int limit = op->u.directory.limit < 1     ? 1
                : op->u.directory.limit > 100 ? 100
                                              : op->u.directory.limit;
    num lim = i64(limit + 1);
    /* Bytewise order and ASCII-only folding, as SQLite compares. */
    PGresult *r =
        RUN(c,
            "SELECT c.channel_id, c.name, c.topic, c.member_count, c.created_ms,"
            " EXISTS (SELECT 1 FROM members m WHERE m.channel_id = c.channel_id"
            "   AND m.user_id = $1::text)"
            " FROM channels c WHERE NOT c.is_direct AND NOT c.is_private"
            " AND ($2::text IS NULL OR strpos(translate(c.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
            "   'abcdefghijklmnopqrstuvwxyz'), $2::text) > 0)"
            " AND ($3::text IS NULL OR c.name COLLATE \"C\" > $3::text OR"
            "   (c.name = $3::text AND c.channel_id COLLATE \"C\" > $4::text))"
            " ORDER BY c.name COLLATE \"C\", c.channel_id COLLATE \"C\" LIMIT $5::int",
            op->u.directory.user_id, op->u.directory.query, aname,
            aname ? op->u.directory.after : NULL, lim.s);
    free(aname);
    if (!r) return STORE_PG__FATAL;
    size_t n = (size_t)PQntuples(r);
    proto_dir_entry *es = calloc(n ? n : 1, sizeof(*es));
    ok = es != NULL;
    for (size_t i = 0; i < n && ok; i++) {
        int row = (int)i;
        snprintf(es[i].channel_id, sizeof es[i].channel_id, "%s", PQgetvalue(r, row, 0));
        es[i].name = dup_val(r, row, 1, &ok);
        es[i].topic = dup_val(r, row, 2, &ok);
        es[i].member_count = strtoll(PQgetvalue(r, row, 3), NULL, 10);
        es[i].created_ms = strtoll(PQgetvalue(r, row, 4), NULL, 10);
        es[i].is_member = PQgetvalue(r, row, 5)[0] == 't';
    }
    PQclear(r);
    /* Hand the rows over so that one function frees them. */
    op->u.directory.entries = es;
    op->u.directory.n_entries = es ? n : 0;
    if (!ok) {
        store_op_clear(op);
        return STORE_EIO;
    }
    op->u.directory.has_more = n > (size_t)limit;
    if (n > (size_t)limit) {
        free(es[limit].name);
        free(es[limit].topic);
        op->u.directory.n_entries = (size_t)limit;
    }
    return STORE_OK;
}

/* ---- search ---- */

#define SEARCH_TIMEOUT "'2s'"

static int op_search(PGconn *c, store_op *op) {
    char tsq[SEARCH_RENDER_MAX];
    if (!op->u.search.q || search_query_tsquery(op->u.search.q, tsq, sizeof tsq) < 0 ||
        !op->u.search.user_id)
        return STORE_EIO;
    int limit = op->u.search.limit < 1 ? 1 : op->u.search.limit > 50 ? 50 : op->u.search.limit;
    uint64_t before = op->u.search.before && op->u.search.before <= (uint64_t)INT64_MAX
                          ? op->u.search.before
                          : (uint64_t)INT64_MAX;
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, before);
    num lim = i64(limit + 1);
    chan ch = chan_of(op->u.search.channel_id);
    int one = ch.s[0] != '\0';
    /* A search that runs long must not hold up the appends queued behind
     * it on this connection: it gets SEARCH_TIMEOUT, inside a savepoint,
     * so that running out fails the search alone (STORE_EIO). And it is
     * planned for its own words each time: a generic plan of the prepared
     * statement, blind to how common they are, read every row holding two
     * common words of a phrase (seconds at a million messages). */
    if (store_pg__cmd(c, "SAVEPOINT search; SET LOCAL statement_timeout = " SEARCH_TIMEOUT
                         "; SET LOCAL plan_cache_mode = force_custom_plan") != 0)
        return STORE_PG__FATAL;
    PGresult *r = store_pg__exec(c, one ? PQ_SEARCH_CHAN : PQ_SEARCH_ALL, one ? 5 : 4,
                                 (const char *[]){tsq, b, op->u.search.user_id, lim.s, ch.s});
    if (!r) /* the settings go back with the savepoint */
        return store_pg__cmd(c, "ROLLBACK TO SAVEPOINT search") == 0 ? STORE_EIO : STORE_PG__FATAL;
    if (store_pg__cmd(c, "SET LOCAL statement_timeout TO DEFAULT;"
                         " SET LOCAL plan_cache_mode TO DEFAULT; RELEASE SAVEPOINT search") != 0) {
        PQclear(r);
        return STORE_PG__FATAL;
    }
    size_t n = (size_t)PQntuples(r);
    proto_msg *msgs = calloc(n ? n : 1, sizeof(*msgs));
    int status = msgs ? STORE_OK : STORE_EIO;
    size_t got = 0;
    for (; status == STORE_OK && got < n; got++)
        if (store_pg__read_msg(r, (int)got, 0, &msgs[got]) != 0) status = STORE_EIO;
    PQclear(r);
    op->u.search.msgs = msgs;
    op->u.search.n_msgs = status == STORE_OK ? got : (got ? got - 1 : 0);
    if (status != STORE_OK) {
        store_op_clear(op);
        return status;
    }
    op->u.search.has_more = n > (size_t)limit;
    if (n > (size_t)limit) {
        store_msg_free(&msgs[limit]);
        op->u.search.n_msgs = (size_t)limit;
    }
    /* Messages in their current state: with their reactions */
    int st = store_pg__reactions(c, msgs, op->u.search.n_msgs);
    if (st != STORE_OK) {
        store_op_clear(op);
        return st;
    }
    return STORE_OK;
}

int store_pg__exec_manage(PGconn *c, store_op *op) {
    switch (op->kind) {
    case STORE_MEMBERS_ADD:
        return op_members_add(c, op);
    case STORE_SET_ROLE:
        return op_set_role(c, op);
    case STORE_CHANNEL_UPDATE:
        return op_channel_update(c, op);
    case STORE_DIRECTORY:
        return op_directory(c, op);
    case STORE_SEARCH:
        return op_search(c, op);
    default:
        return STORE_EIO;
    }
}
