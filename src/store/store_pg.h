/*
 * store_pg: what the PostgreSQL backend offers beyond store.h — for tests
 * and diagnostics only; the domain uses store_pg_backend through store.h
 * and never includes this header.
 */
#ifndef CHATD_STORE_PG_H
#define CHATD_STORE_PG_H

#include <stdint.h>

#include "store/store.h"

/* How many transactions the worker has committed since open (any thread). */
uint64_t store_pg_commits(store *s);

/* How many times the worker has (re)connected, the first one at open
 * included (any thread). */
uint64_t store_pg_connects(store *s);

/* Tests: with pause=1, waits for the batch in progress to finish and holds
 * the worker (submits just queue up); pause=0 lets it go on, so everything
 * queued meanwhile forms the next batch (up to max_batch). Loop thread. */
void store_pg_pause(store *s, int pause);

/* Readiness (/ready): does the server at conninfo answer a query within
 * timeout_s? Its own connection (any thread; blocks). 0, or CHATD_EIO
 * with why set (libpq's first line). */
int store_pg_probe(const char *conninfo, int timeout_s, char *why, size_t whylen);

#endif
