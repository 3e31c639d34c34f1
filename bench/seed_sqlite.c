/*
 * seed_sqlite: seed_db over SQLite (see seed_db.h). Prepared statements,
 * one transaction; in bulk mode no journal, synchronous off and a large
 * page cache while the seed is written, WAL again (as chatd runs it) on
 * close.
 */
#include "seed_db.h"

#include "bench.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum {
    Q_USER,
    Q_CHANNEL,
    Q_MEMBER,
    Q_MESSAGE,
    Q_CHAN_COUNTERS,
    Q_MEMBER_COUNTERS,
    Q_LAST_SEQ,
    Q_UNREAD,
    Q_MEMBERS,
    Q_NEWEST,
    Q_BACKLOG,
    Q__COUNT
};

static const char *const SQL[Q__COUNT] = {
    [Q_USER] = "INSERT INTO users(username, pw_hash, created_ms) VALUES(?1, ?2, ?3)",
    [Q_CHANNEL] = "INSERT INTO channels(channel_id, name, is_direct, creator, created_ms,"
                  " member_count) VALUES(?1, ?2, 0, ?3, ?4, ?5)",
    [Q_MEMBER] = "INSERT INTO members(channel_id, user_id, is_admin, joined_ms)"
                 " VALUES(?1, ?2, ?3, ?4)",
    [Q_MESSAGE] = "INSERT INTO messages(channel_id, seq, message_id, user_id, content, metadata,"
                  " client_msg_id, created_ms, count_no, own_no, own_prev)"
                  " VALUES(?1, ?2, ?3, ?4, ?5, '{}', NULL, ?6, ?7, ?8, ?9)",
    [Q_CHAN_COUNTERS] = "UPDATE channels SET last_seq = ?2, last_message_id = ?3, msg_count = ?4"
                        " WHERE channel_id = ?1",
    [Q_MEMBER_COUNTERS] = "UPDATE members SET own_count = ?3, read_seq = ?4, read_count = ?5,"
                          " read_own = ?6, last_read_message_id = ?7, last_read_ms = ?8,"
                          " own_seq = ?9"
                          " WHERE channel_id = ?1 AND user_id = ?2",
    [Q_LAST_SEQ] = "SELECT last_seq FROM channels WHERE channel_id = ?1",
    [Q_UNREAD] = "SELECT count(*) FROM messages m JOIN members b ON b.channel_id = m.channel_id"
                 " WHERE b.channel_id = ?1 AND b.user_id = ?2 AND m.user_id <> ?2"
                 " AND m.user_id <> 'system' AND m.seq > COALESCE((SELECT r.seq FROM messages r"
                 " WHERE r.message_id = b.last_read_message_id), 0)",
    [Q_MEMBERS] = "SELECT count(*) FROM members WHERE channel_id = ?1",
    /* ids follow seq order: the newest is the last by seq (an index lookup) */
    [Q_NEWEST] = "SELECT COALESCE((SELECT message_id FROM messages WHERE channel_id = ?1"
                 " ORDER BY seq DESC LIMIT 1), 0)",
    [Q_BACKLOG] = "SELECT count(*) FROM search_queue",
};

struct seed_db {
    sqlite3 *h;
    int bulk;
    sqlite3_stmt *q[Q__COUNT];
};

static int fail(seed_db *db, const char *what) {
    bench_log("sqlite: %s: %s", what, sqlite3_errmsg(db->h));
    return -1;
}

static int exec(seed_db *db, const char *sql) {
    return sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(db, sql);
}

static void db_close(seed_db *db) {
    if (!db) return;
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(db->q[i]);
    if (db->bulk) exec(db, "PRAGMA journal_mode = WAL");
    sqlite3_close(db->h);
    free(db);
}

static seed_db *db_open(const char *where, int bulk) {
    seed_db *db = calloc(1, sizeof *db);
    if (!db) return NULL;
    db->bulk = bulk;
    if (sqlite3_open_v2(where, &db->h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fail(db, where);
        db->bulk = 0;
        db_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db->h, 10000);
    if (bulk && (exec(db, "PRAGMA journal_mode = OFF") || exec(db, "PRAGMA synchronous = OFF") ||
                 exec(db, "PRAGMA cache_size = -1048576"))) {
        db_close(db);
        return NULL;
    }
    for (int i = 0; i < Q__COUNT; i++)
        if (sqlite3_prepare_v2(db->h, SQL[i], -1, &db->q[i], NULL) != SQLITE_OK) {
            fail(db, SQL[i]);
            db_close(db);
            return NULL;
        }
    return db;
}

static int db_begin(seed_db *db) {
    return exec(db, "BEGIN");
}

static int db_commit(seed_db *db) {
    return exec(db, "COMMIT");
}

/* Steps q (bound by the caller) to its end; 0 or -1. */
static int run(seed_db *db, int q) {
    sqlite3_stmt *s = db->q[q];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(db, SQL[q]);
}

/* The single integer q returns; -1 after an error, -2 when there is no row. */
static int64_t one_int(seed_db *db, int q) {
    sqlite3_stmt *s = db->q[q];
    int rc = sqlite3_step(s);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : rc == SQLITE_DONE ? -2 : -1;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (v == -1) fail(db, SQL[q]);
    return v;
}

static void text(sqlite3_stmt *s, int i, const char *t) {
    sqlite3_bind_text(s, i, t, -1, SQLITE_STATIC);
}

static int db_user(seed_db *db, const char *name, const char *hash, int64_t ms) {
    sqlite3_stmt *s = db->q[Q_USER];
    text(s, 1, name);
    text(s, 2, hash);
    sqlite3_bind_int64(s, 3, ms);
    return run(db, Q_USER);
}

static int db_channel(seed_db *db, const seed_channel *c) {
    sqlite3_stmt *s = db->q[Q_CHANNEL];
    text(s, 1, c->id);
    text(s, 2, c->name);
    text(s, 3, c->creator);
    sqlite3_bind_int64(s, 4, c->created_ms);
    sqlite3_bind_int64(s, 5, (int64_t)c->n);
    return run(db, Q_CHANNEL);
}

static int db_member(seed_db *db, const seed_channel *c, const seed_member *m) {
    sqlite3_stmt *s = db->q[Q_MEMBER];
    text(s, 1, c->id);
    text(s, 2, m->name);
    sqlite3_bind_int(s, 3, m->is_admin);
    sqlite3_bind_int64(s, 4, m->joined_ms);
    return run(db, Q_MEMBER);
}

static int db_message(seed_db *db, const seed_channel *c, const seed_msg *m) {
    sqlite3_stmt *s = db->q[Q_MESSAGE];
    text(s, 1, c->id);
    sqlite3_bind_int64(s, 2, m->seq);
    sqlite3_bind_int64(s, 3, (int64_t)m->id);
    text(s, 4, m->user);
    text(s, 5, m->content);
    sqlite3_bind_int64(s, 6, m->created_ms);
    sqlite3_bind_int64(s, 7, m->count_no);
    sqlite3_bind_int64(s, 8, m->own_no);
    sqlite3_bind_int64(s, 9, m->own_prev);
    return run(db, Q_MESSAGE);
}

static int db_channel_counters(seed_db *db, const seed_channel *c) {
    sqlite3_stmt *s = db->q[Q_CHAN_COUNTERS];
    text(s, 1, c->id);
    sqlite3_bind_int64(s, 2, c->last_seq);
    sqlite3_bind_int64(s, 3, (int64_t)c->last_message_id);
    sqlite3_bind_int64(s, 4, c->msg_count);
    return run(db, Q_CHAN_COUNTERS);
}

static int db_member_counters(seed_db *db, const seed_channel *c, const seed_member *m) {
    sqlite3_stmt *s = db->q[Q_MEMBER_COUNTERS];
    text(s, 1, c->id);
    text(s, 2, m->name);
    sqlite3_bind_int64(s, 3, m->own_count);
    sqlite3_bind_int64(s, 4, m->read_seq);
    sqlite3_bind_int64(s, 5, m->read_count);
    sqlite3_bind_int64(s, 6, m->read_own);
    sqlite3_bind_int64(s, 9, m->own_seq);
    if (m->last_read_id) {
        sqlite3_bind_int64(s, 7, (int64_t)m->last_read_id);
        sqlite3_bind_int64(s, 8, m->last_read_ms);
    }
    return run(db, Q_MEMBER_COUNTERS);
}

static int64_t db_last_seq(seed_db *db, const char *ch) {
    text(db->q[Q_LAST_SEQ], 1, ch);
    return one_int(db, Q_LAST_SEQ);
}

static int64_t db_unread(seed_db *db, const char *ch, const char *user) {
    text(db->q[Q_UNREAD], 1, ch);
    text(db->q[Q_UNREAD], 2, user);
    return one_int(db, Q_UNREAD);
}

static int64_t db_members(seed_db *db, const char *ch) {
    text(db->q[Q_MEMBERS], 1, ch);
    return one_int(db, Q_MEMBERS);
}

static int64_t db_newest(seed_db *db, const char *ch) {
    text(db->q[Q_NEWEST], 1, ch);
    return one_int(db, Q_NEWEST);
}

static int64_t db_backlog(seed_db *db) {
    return one_int(db, Q_BACKLOG);
}

const seed_db_ops seed_sqlite_ops = {
    "sqlite",    db_open,   db_begin,   db_commit,           db_user,
    db_channel,  db_member, db_message, db_channel_counters, db_member_counters,
    db_last_seq, db_unread, db_members, db_newest,           db_close,
    db_backlog,
};
