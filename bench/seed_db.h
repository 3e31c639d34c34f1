/*
 * seed_db: the two databases a seed (seed.h) is written into and checked
 * against, behind one interface: SQLite (seed_sqlite.c: prepared inserts in
 * one transaction, synchronous off and no journal while seeding only) and
 * PostgreSQL (seed_pg.c: COPY in one transaction, foreign-key triggers off
 * while seeding only). The schema is chatd's own: scenario_seed creates it
 * by opening the store (store.h) first.
 *
 * Writing: begin, then rows in any order the caller likes except that a
 * channel's messages come before its counters, then commit. The row
 * functions take the closed-form rows of seed.h as they are.
 *
 * Checking (independent of the counters): COUNTs over the stored rows, for
 * comparing with what chatd's channels_list says.
 *
 * Every function returns 0 (or a count) on success and -1 after logging
 * the database's message.
 */
#ifndef BENCH_SEED_DB_H
#define BENCH_SEED_DB_H

#include "seed.h"

#include <jansson.h>
#include <stdint.h>

typedef struct seed_db seed_db;

typedef struct seed_db_ops {
    const char *name;
    /* where: a file (SQLite) or a libpq conninfo. bulk: set up for
     * writing a seed (fast and not crash-safe until close). */
    seed_db *(*open)(const char *where, int bulk);
    int (*begin)(seed_db *db);
    int (*commit)(seed_db *db);
    int (*user)(seed_db *db, const char *name, const char *pw_hash, int64_t created_ms);
    int (*channel)(seed_db *db, const seed_channel *c); /* counters zero */
    int (*member)(seed_db *db, const seed_channel *c, const seed_member *m);
    int (*message)(seed_db *db, const seed_channel *c, const seed_msg *m);
    /* Sets the channel's and one member's counters to their values with
     * every message stored. */
    int (*channel_counters)(seed_db *db, const seed_channel *c);
    int (*member_counters)(seed_db *db, const seed_channel *c, const seed_member *m);
    /* The channel's last_seq (>= 0), or -2 when there is no such channel. */
    int64_t (*last_seq)(seed_db *db, const char *channel_id);
    /* Checks: others' non-system messages after user's read mark (found
     * through last_read_message_id); members; newest message id (0: none). */
    int64_t (*count_unread)(seed_db *db, const char *channel_id, const char *user);
    int64_t (*count_members)(seed_db *db, const char *channel_id);
    int64_t (*newest_id)(seed_db *db, const char *channel_id);
    void (*close)(seed_db *db);
    /* Texts stored but not yet in the search index (SQLite indexes them
     * after the commit, from search_queue); 0 where indexing is part of
     * the insert (PostgreSQL). */
    int64_t (*search_backlog)(seed_db *db);
} seed_db_ops;

extern const seed_db_ops seed_sqlite_ops;
extern const seed_db_ops seed_pg_ops;

/* "sqlite:PATH" or "pg:CONNINFO": the ops, and *where = the rest. NULL
 * after a message when spec is neither. */
const seed_db_ops *seed_db_for(const char *spec, const char **where);

/* Writes a seed into spec (scenario_seed.c): the schema, then the
 * population unless the database holds it, then the messages unless it
 * holds them; adds what it did to r. 0, or -1 after a message. */
int seed_run(const char *spec, const char *prefix, const char *password, const char *population,
             const char *messages, json_t *r);

/* The store backend (store.h) for the same spec, for creating the schema
 * and for the store scenario; NULL when spec is neither. */
struct store_backend;
const struct store_backend *seed_store_for(const char *spec, const char **where);

#endif
