/*
 * store_sqlite: what the SQLite backend offers beyond store.h — for tests
 * and diagnostics only; the domain uses store_sqlite_backend through
 * store.h and never includes this header.
 */
#ifndef CHATD_STORE_SQLITE_H
#define CHATD_STORE_SQLITE_H

#include <stdint.h>

#include "store/store.h"

/* How many transactions the worker has committed since open (any thread). */
uint64_t store_sqlite_commits(store *s);

/* Tests: with pause=1, waits for the batch in progress to commit and holds
 * the worker (submits just queue up); pause=0 lets it go on, so everything
 * queued meanwhile forms the next batch (up to max_batch). Loop thread. */
void store_sqlite_pause(store *s, int pause);

/* Readiness (/ready): can a writer get the database at path within
 * timeout_ms? Opens its own connection (any thread; blocks). 0, or
 * CHATD_EIO with why set ("SQLite PATH: database is locked"). */
int store_sqlite_probe(const char *path, int timeout_ms, char *why, size_t whylen);

/* Tools that write messages straight into the file (bench seeds): indexes
 * every queued text for search (store_sqlite_index.c) in one transaction,
 * on a connection of its own, while no chatd uses the file. 0 or
 * CHATD_EIO. */
int store_sqlite_index_file(const char *path);

#endif
