/*
 * seed_pg: seed_db over PostgreSQL (see seed_db.h). Messages go in with
 * COPY (text format, sent in 1 MiB pieces), everything else with prepared
 * statements, all in one transaction. In bulk mode the session skips
 * foreign-key triggers (session_replication_role = replica: the seed is
 * consistent by construction) and does not wait for the commit's flush.
 */
#include "seed_db.h"

#include "bench.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (1 << 20)

enum {
    Q_USER,
    Q_CHANNEL,
    Q_MEMBER,
    Q_CHAN_COUNTERS,
    Q_MEMBER_COUNTERS,
    Q_LAST_SEQ,
    Q_UNREAD,
    Q_MEMBERS,
    Q_NEWEST,
    Q__COUNT
};

static const char *const SQL[Q__COUNT] = {
    [Q_USER] = "INSERT INTO users(username, pw_hash, created_ms) VALUES($1, $2, $3)",
    [Q_CHANNEL] = "INSERT INTO channels(channel_id, name, is_direct, creator, created_ms,"
                  " member_count) VALUES($1, $2, false, $3, $4, $5)",
    [Q_MEMBER] = "INSERT INTO members(channel_id, user_id, is_admin, joined_ms)"
                 " VALUES($1, $2, $3, $4)",
    [Q_CHAN_COUNTERS] = "UPDATE channels SET last_seq = $2, last_message_id = $3, msg_count = $4"
                        " WHERE channel_id = $1",
    [Q_MEMBER_COUNTERS] = "UPDATE members SET own_count = $3, read_seq = $4, read_count = $5,"
                          " read_own = $6, last_read_message_id = $7, last_read_ms = $8"
                          " WHERE channel_id = $1 AND user_id = $2",
    [Q_LAST_SEQ] = "SELECT last_seq FROM channels WHERE channel_id = $1",
    [Q_UNREAD] = "SELECT count(*) FROM messages m JOIN members b ON b.channel_id = m.channel_id"
                 " WHERE b.channel_id = $1 AND b.user_id = $2 AND m.user_id <> $2"
                 " AND m.user_id <> 'system' AND m.seq > COALESCE((SELECT r.seq FROM messages r"
                 " WHERE r.message_id = b.last_read_message_id), 0)",
    [Q_MEMBERS] = "SELECT count(*) FROM members WHERE channel_id = $1",
    /* ids follow seq order: the newest is the last by seq (an index lookup) */
    [Q_NEWEST] = "SELECT COALESCE((SELECT message_id FROM messages WHERE channel_id = $1"
                 " ORDER BY seq DESC LIMIT 1), 0)",
};

struct seed_db {
    PGconn *c;
    int copying;
    char *buf;
    size_t len;
};

static int ok_result(seed_db *db, PGresult *r, const char *what) {
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return 0;
    const char *msg = PQresultErrorMessage(r);
    bench_log("pg: %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
    return -1;
}

static int exec(seed_db *db, const char *sql) {
    PGresult *r = PQexec(db->c, sql);
    int rc = ok_result(db, r, sql);
    PQclear(r);
    return rc;
}

static void db_close(seed_db *db) {
    if (!db) return;
    PQfinish(db->c);
    free(db->buf);
    free(db);
}

static seed_db *db_open(const char *where, int bulk) {
    seed_db *db = calloc(1, sizeof *db);
    if (!db || !(db->buf = malloc(COPY_CHUNK + 4096))) {
        free(db);
        return NULL;
    }
    db->c = PQconnectdb(where);
    if (PQstatus(db->c) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(db->c);
        bench_log("pg: connect: %.*s", (int)strcspn(msg, "\n"), msg);
        db_close(db);
        return NULL;
    }
    if (bulk) {
        exec(db, "SET synchronous_commit = off");
        if (exec(db, "SET session_replication_role = replica") != 0)
            bench_log("pg: foreign keys stay checked while seeding (not a superuser)");
    }
    for (int i = 0; i < Q__COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", i);
        PGresult *r = PQprepare(db->c, name, SQL[i], 0, NULL);
        int rc = ok_result(db, r, SQL[i]);
        PQclear(r);
        if (rc) {
            db_close(db);
            return NULL;
        }
    }
    return db;
}

/* Runs prepared q; returns its result (the caller clears it) or NULL. */
static PGresult *run(seed_db *db, int q, int n, const char *const *params) {
    char name[16];
    snprintf(name, sizeof name, "q%d", q);
    PGresult *r = PQexecPrepared(db->c, name, n, params, NULL, NULL, 0);
    if (ok_result(db, r, SQL[q]) == 0) return r;
    PQclear(r);
    return NULL;
}

static int run_cmd(seed_db *db, int q, int n, const char *const *params) {
    PGresult *r = run(db, q, n, params);
    PQclear(r);
    return r ? 0 : -1;
}

/* The single integer q returns; -1 after an error, -2 when there is no row. */
static int64_t one_int(seed_db *db, int q, int n, const char *const *params) {
    PGresult *r = run(db, q, n, params);
    if (!r) return -1;
    int64_t v = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -2;
    PQclear(r);
    return v;
}

static int flush_copy(seed_db *db) {
    if (db->len && PQputCopyData(db->c, db->buf, (int)db->len) != 1) {
        bench_log("pg: COPY: %s", PQerrorMessage(db->c));
        return -1;
    }
    db->len = 0;
    return 0;
}

/* Ends a COPY in progress (before any other statement). */
static int end_copy(seed_db *db) {
    if (!db->copying) return 0;
    db->copying = 0;
    if (flush_copy(db) || PQputCopyEnd(db->c, NULL) != 1) return -1;
    PGresult *r = PQgetResult(db->c);
    int rc = ok_result(db, r, "COPY messages");
    PQclear(r);
    while ((r = PQgetResult(db->c)))
        PQclear(r);
    return rc;
}

static int db_begin(seed_db *db) {
    return exec(db, "BEGIN");
}

static int db_commit(seed_db *db) {
    return end_copy(db) ? -1 : exec(db, "COMMIT");
}

static int db_user(seed_db *db, const char *name, const char *hash, int64_t ms) {
    char t[24];
    snprintf(t, sizeof t, "%" PRId64, ms);
    const char *p[] = {name, hash, t};
    return end_copy(db) ? -1 : run_cmd(db, Q_USER, 3, p);
}

static int db_channel(seed_db *db, const seed_channel *c) {
    char t[24], n[24];
    snprintf(t, sizeof t, "%" PRId64, c->created_ms);
    snprintf(n, sizeof n, "%zu", c->n);
    const char *p[] = {c->id, c->name, c->creator, t, n};
    return end_copy(db) ? -1 : run_cmd(db, Q_CHANNEL, 5, p);
}

static int db_member(seed_db *db, const seed_channel *c, const seed_member *m) {
    char t[24];
    snprintf(t, sizeof t, "%" PRId64, m->joined_ms);
    const char *p[] = {c->id, m->name, m->is_admin ? "true" : "false", t};
    return end_copy(db) ? -1 : run_cmd(db, Q_MEMBER, 4, p);
}

static int db_message(seed_db *db, const seed_channel *c, const seed_msg *m) {
    if (!db->copying) {
        PGresult *r = PQexec(db->c, "COPY messages(channel_id, seq, message_id, user_id, content,"
                                    " metadata, client_msg_id, created_ms, count_no, own_no)"
                                    " FROM STDIN");
        int ok = PQresultStatus(r) == PGRES_COPY_IN;
        if (!ok) ok_result(db, r, "COPY messages");
        PQclear(r);
        if (!ok) return -1;
        db->copying = 1;
    }
    /* text format: tab-separated, \N for NULL; seeded strings need no escaping */
    db->len += (size_t)snprintf(
        db->buf + db->len, 4096,
        "%s\t%" PRId64 "\t%" PRIu64 "\t%s\t%s\t{}\t\\N\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
        c->id, m->seq, m->id, m->user, m->content, m->created_ms, m->count_no, m->own_no);
    return db->len >= COPY_CHUNK ? flush_copy(db) : 0;
}

static int db_channel_counters(seed_db *db, const seed_channel *c) {
    char s[24], id[24], n[24];
    snprintf(s, sizeof s, "%" PRId64, c->last_seq);
    snprintf(id, sizeof id, "%" PRIu64, c->last_message_id);
    snprintf(n, sizeof n, "%" PRId64, c->msg_count);
    const char *p[] = {c->id, s, id, n};
    return end_copy(db) ? -1 : run_cmd(db, Q_CHAN_COUNTERS, 4, p);
}

static int db_member_counters(seed_db *db, const seed_channel *c, const seed_member *m) {
    char v[6][24];
    snprintf(v[0], 24, "%" PRId64, m->own_count);
    snprintf(v[1], 24, "%" PRId64, m->read_seq);
    snprintf(v[2], 24, "%" PRId64, m->read_count);
    snprintf(v[3], 24, "%" PRId64, m->read_own);
    snprintf(v[4], 24, "%" PRIu64, m->last_read_id);
    snprintf(v[5], 24, "%" PRId64, m->last_read_ms);
    int read = m->last_read_id != 0;
    const char *p[] = {
        c->id, m->name, v[0], v[1], v[2], v[3], read ? v[4] : NULL, read ? v[5] : NULL};
    return end_copy(db) ? -1 : run_cmd(db, Q_MEMBER_COUNTERS, 8, p);
}

static int64_t db_last_seq(seed_db *db, const char *ch) {
    const char *p[] = {ch};
    return end_copy(db) ? -1 : one_int(db, Q_LAST_SEQ, 1, p);
}

static int64_t db_unread(seed_db *db, const char *ch, const char *user) {
    const char *p[] = {ch, user};
    return one_int(db, Q_UNREAD, 2, p);
}

static int64_t db_members(seed_db *db, const char *ch) {
    const char *p[] = {ch};
    return one_int(db, Q_MEMBERS, 1, p);
}

static int64_t db_newest(seed_db *db, const char *ch) {
    const char *p[] = {ch};
    return one_int(db, Q_NEWEST, 1, p);
}

static int64_t db_backlog(seed_db *db) {
    return 0; /* the tsvector is written with the row */
}

const seed_db_ops seed_pg_ops = {
    "pg",        db_open,   db_begin,   db_commit,           db_user,
    db_channel,  db_member, db_message, db_channel_counters, db_member_counters,
    db_last_seq, db_unread, db_members, db_newest,           db_close,
    db_backlog,
};
