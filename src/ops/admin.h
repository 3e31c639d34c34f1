/*
 * admin: the admin listener (--admin-port, --admin-host, default
 * 127.0.0.1): /metrics, /health and /ready on a port of their own, so that
 * monitoring can be reached by the operator's network only while the public
 * port faces clients. It serves those three GETs and nothing else (404;
 * no WebSockets). With it, the public port stops serving /metrics and
 * /ready (src/api).
 *
 * Lifetime: the listener's handles live in the admin object, so it is
 * freed only after the loop has closed them (app.c's shutdown order):
 * admin_abort, then close every handle and run the loop, then admin_free.
 */
#ifndef CHATD_OPS_ADMIN_H
#define CHATD_OPS_ADMIN_H

#include <stdint.h>
#include <uv.h>

#include "ops/ready.h"

typedef struct admin_config {
    const char *role;    /* for /health; borrowed */
    uint64_t started_ms; /* clock_mono_ms() at start, for /health's uptime */
    ready *ready;        /* borrowed; NULL: /ready answers 404 */
} admin_config;

typedef struct admin admin;

/* Listens on host:port (0 = any free port). 0, or a negative libuv error.
 * *out is set in both cases (NULL only when out of memory): a listener
 * that failed may still be closing, so it is freed the same way. */
int admin_start(admin **out, uv_loop_t *loop, const char *host, int port, const admin_config *cfg);
/* The bound port. */
int admin_port(const admin *a);
/* Stops accepting and drops every connection. */
void admin_abort(admin *a);
/* Frees a, once the loop has closed its handles. NULL is fine. */
void admin_free(admin *a);

#endif
