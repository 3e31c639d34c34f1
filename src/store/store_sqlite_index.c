/*
 * store_sqlite_index: keeping the full-text search index (messages_fts) —
 * indexing queued texts off the append path, and erasing removed words.
 *
 * Indexing: an FTS5 insert (tokenizing, three prefix indexes) costs the
 * writer about twice what storing the message does, so an append only
 * queues the message id (search_queue, by trigger; migration 6). The
 * writer indexes the queue in chunks of its own transactions when it has
 * nothing else to do (store_sqlite__index_chunk from the worker's idle
 * hook), past a backlog of --search-lag texts after every batch, and all
 * of it, inside the search's own transaction, before a search: results are
 * exact, and only a search right after a long burst at full write capacity
 * waits for the catch-up.
 *
 * Erasing: FTS5 only marks removed words deleted; they leave the file when
 * their segment is rewritten (SQLite 3.40 has no FTS5 secure-delete).
 * search_purge counts texts removed (an edit's old text, a deletion) and
 * those purged; store_sqlite__purge_step rewrites the index after them.
 *
 * Worker thread only (or a connection nobody else uses).
 */
#include <stdio.h>

#include "core/err.h"
#include "store/store_sqlite.h"
#include "store/store_sqlite_int.h"

/* ---- indexing the queue ---- */

int64_t store_sqlite__index_step(sqlite3_stmt **st, int n) {
    sqlite3_stmt *add = st[SQ_INDEX_ADD], *take = st[SQ_INDEX_TAKE];
    sqlite3_bind_int(add, 1, n);
    sqlite3_bind_int(take, 1, n);
    int64_t taken = -1;
    if (store_sqlite__run(add) == SQLITE_OK && store_sqlite__run(take) == SQLITE_OK)
        taken = sqlite3_changes64(sqlite3_db_handle(take));
    return taken;
}

int store_sqlite__index_all(sqlite3_stmt **st) {
    int64_t taken;
    while ((taken = store_sqlite__index_step(st, STORE_SQLITE__INDEX_CHUNK)) > 0)
        ;
    return taken == 0 ? 0 : -1;
}

int64_t store_sqlite__index_chunk(sqlite3_stmt **st, int n, int fsync) {
    sqlite3 *db = sqlite3_db_handle(st[SQ_INDEX_TAKE]);
    /* Losing an index chunk to a power cut loses nothing: its queue rows
     * come back with it. The next durable commit syncs the log anyway. */
    if (fsync) sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    int64_t taken = -1;
    if (store_sqlite__run(st[SQ_BEGIN]) == SQLITE_OK) {
        taken = store_sqlite__index_step(st, n);
        if (taken < 0 || store_sqlite__run(st[SQ_COMMIT]) != SQLITE_OK) {
            taken = -1;
            if (!sqlite3_get_autocommit(db)) store_sqlite__run(st[SQ_ROLLBACK]);
        }
    }
    if (fsync) sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    return taken;
}

int64_t store_sqlite__index_backlog(sqlite3_stmt **st) {
    sqlite3_stmt *s = st[SQ_INDEX_COUNT];
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}

int store_sqlite_index_file(const char *path) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st[SQ__COUNT];
    if (store_sqlite__open_db(path, 0, &db) != 0) return CHATD_EIO;
    int r = -1;
    if (store_sqlite__prepare(db, st) == 0) {
        if (store_sqlite__run(st[SQ_BEGIN]) == SQLITE_OK) {
            r = store_sqlite__index_all(st);
            if (r == 0 && store_sqlite__run(st[SQ_COMMIT]) != SQLITE_OK) r = -1;
            if (r != 0 && !sqlite3_get_autocommit(db)) store_sqlite__run(st[SQ_ROLLBACK]);
        }
        store_sqlite__finalize(st);
    }
    sqlite3_close(db);
    return r == 0 ? 0 : CHATD_EIO;
}

/* ---- erasing removed words from the index ---- */

/* An index of at most this many blocks (4 KiB pages of FTS5 data) is
 * rewritten at once; a larger one PURGE_PAGES per batch. */
#define PURGE_AT_ONCE 4096
#define PURGE_PAGES 64

static int64_t one_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int run_txn(sqlite3 *db, const char *sql) {
    char buf[256];
    snprintf(buf, sizeof buf, "BEGIN IMMEDIATE; %s; COMMIT", sql);
    if (sqlite3_exec(db, buf, NULL, NULL, NULL) == SQLITE_OK) return 0;
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int store_sqlite__purge_step(sqlite3 *db, store_sqlite__purge *p) {
    int pages = p->pages ? p->pages : PURGE_PAGES;
    if (p->merges_left == 0) {
        int64_t erased = one_int(db, "SELECT erased FROM search_purge");
        int64_t purged = one_int(db, "SELECT purged FROM search_purge");
        if (erased < 0 || purged < 0) return -1;
        if (erased == purged) return 0; /* nothing removed since the last rewrite */
        p->target = erased;
        int64_t blocks = one_int(db, "SELECT count(*) FROM messages_fts_data");
        if (blocks < 0) return -1;
        if (blocks <= (p->at_once ? p->at_once : PURGE_AT_ONCE)) {
            char sql[160];
            snprintf(sql, sizeof sql,
                     "INSERT INTO messages_fts(messages_fts) VALUES('optimize');"
                     " UPDATE search_purge SET purged = %lld",
                     (long long)p->target);
            return run_txn(db, sql);
        }
        /* a negative merge takes every segment: one pass rewrites them all */
        p->merges_left = (int)(blocks / pages) + 2;
    }
    char merge[96];
    snprintf(merge, sizeof merge,
             "INSERT INTO messages_fts(messages_fts, rank) VALUES('merge', -%d)", pages);
    if (run_txn(db, merge) != 0) return -1;
    if (--p->merges_left == 0) {
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE search_purge SET purged = %lld", (long long)p->target);
        return run_txn(db, sql);
    }
    return 0;
}
