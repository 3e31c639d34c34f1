/*
 * ready: readiness (GET /ready) — can this process do its work now? It is
 * when every engine it depends on answers:
 *
 *   store      SQLite: the database takes a write lock (BEGIN IMMEDIATE,
 *              1 s; a database locked by another process, or read-only,
 *              fails); PostgreSQL: a new connection runs SELECT 1 (2 s)
 *   redis      a new connection logs in (redis_password.txt) and PINGs (1 s)
 *   bus        Kafka: the brokers answer a metadata request (2 s); Redis
 *              Streams: the redis check
 *   discovery  the ZooKeeper session is connected
 *
 * 200 {"status":"ready","checks":{"store":"ok",...}}, or 503
 * {"status":"unavailable","unavailable":["store"],"checks":{"store":
 * "SQLite ...: database is locked",...}} naming what is not. Liveness is
 * /health: a process that is not ready is still alive.
 *
 * The probes block, so they run on libuv's thread pool, one run at a time;
 * requests that arrive meanwhile wait for that run, and a result less than
 * a second old is reused (a probe storm cannot load the engines).
 *
 * Threads: every function on the loop thread. Ownership: the config's
 * pointers are borrowed and must outlive the ready object.
 */
#ifndef CHATD_OPS_READY_H
#define CHATD_OPS_READY_H

#include <uv.h>

#include "core/config.h"
#include "discovery/discovery.h"
#include "engine/kafka_link.h"
#include "engine/redis_link.h"
#include "net/conn.h"

typedef struct ready_config {
    const char *sqlite_path;        /* the embedded store's database, or NULL */
    const chatd_config *pg;         /* the store is PostgreSQL: --pg and --secrets, or NULL */
    const redis_link_config *redis; /* Redis this process uses, or NULL */
    const kafka_link_config *kafka; /* the Kafka bus, or NULL */
    int bus_redis;                  /* the bus is Redis Streams (the redis check) */
    const discovery_backend *dsb;   /* discovery, or NULL */
    discovery *disc;
} ready_config;

typedef struct ready ready;

/* NULL only when out of memory. */
ready *ready_new(uv_loop_t *loop, const ready_config *cfg);
/* Answers GET /ready on c, now or when the probes are done. */
void ready_handle(ready *r, conn *c);
/* Frees r; a probe run still in flight frees it when it ends (the loop
 * must run on, as it does at shutdown), without answering its waiters.
 * NULL is fine. */
void ready_free(ready *r);

#endif
