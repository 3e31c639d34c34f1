/*
 * metrics: process-wide counters for GET /metrics (Prometheus text format).
 * Updates are atomic, so worker threads (the store) may record too.
 */
#ifndef CHATD_METRICS_H
#define CHATD_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Why the server itself closed a connection (abuse and liveness). */
typedef enum metrics_drop {
    METRICS_DROP_REFUSED,     /* at accept: a connection cap */
    METRICS_DROP_EVICTED,     /* at the connection cap: the oldest handshake made room */
    METRICS_DROP_HANDSHAKE,   /* no complete request in time, or idle keep-alive */
    METRICS_DROP_SLOW_READER, /* over its queue cap */
    METRICS_DROP_DEAD_PEER,   /* no answer to the server's ping */
    METRICS_DROP_TLS,         /* a failed TLS handshake or a TLS protocol error */
    METRICS_DROP_COUNT
} metrics_drop;

void metrics_conn_open(int presence); /* a WebSocket became live */
void metrics_conn_dropped(metrics_drop why);
void metrics_conn_close(int presence);
void metrics_msg_in(void);        /* a client frame was accepted */
void metrics_msg_out(uint64_t n); /* n frames queued to sockets */
/* Error frames sent, by error code (0..METRICS_MAX_CODES-1; the protocol's
 * codes). metrics_error_names labels them for rendering (the protocol layer
 * knows the names; core does not): call it once at start-up. */
#define METRICS_MAX_CODES 16
void metrics_error(unsigned code);
void metrics_error_names(const char *const *names, unsigned n);
void metrics_http(int status);                       /* an HTTP response was sent */
void metrics_commit(double seconds, unsigned n_ops); /* one store transaction */
/* A cluster bus payload was dropped: forged = it failed the HMAC check,
 * else it was authentic but malformed. _count reads the counter back. */
void metrics_bus_rejected(int forged);
uint64_t metrics_bus_rejected_count(int forged);

/* Renders all metrics in Prometheus text format; caller frees. */
char *metrics_render(size_t *len);

#endif
