/*
 * api: the HTTP API — POST /auth, POST /register, GET /health,
 * GET /metrics and GET /ready (PROTOCOL.md section 1; the last two move to
 * the admin port when there is one, src/ops), and the browser client's
 * files (web/web.h) on a server that answers /auth. Password hashing and
 * checking run on libuv's thread pool through a bounded, per-address fair queue
 * (hashq.h); user records come from the store. Logins are throttled by
 * username and by client address, registrations by a global rate.
 */
#ifndef CHATD_API_H
#define CHATD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auth/password.h"
#include "net/conn.h"
#include "store/store.h"
#include "web/web.h"

typedef struct domain domain;
typedef struct keyring keyring;
typedef struct ready ready;

/* A service instance handed to clients by /auth. */
typedef struct api_instance {
    char host[256];
    int port;
    unsigned id;
    bool tls; /* it speaks wss:// ("tls": true in /auth's answer) */
} api_instance;

typedef struct api_config {
    const keyring *keys; /* JWT keys (auth/keyring.h); borrowed, outlives the api */
    int64_t token_ttl_s;
    password_params pw;
    const char *role; /* for /health */
    /* Picks the chat and presence instances for a client; returns 0, or -1
     * when none is available (-> 503). */
    int (*pick)(void *data, api_instance *chat, api_instance *presence);
    void *pick_data;
    /* abuse limits (docs/OPERATIONS.md "Limits and abuse") */
    unsigned hash_workers;       /* password hashes at once */
    size_t max_hash_queue;       /* hashes waiting, in all: beyond, 503 */
    double register_per_sec;     /* accounts created per second, in all: beyond, 429 */
    unsigned auth_fail_per_addr; /* failed /auth per client address per minute: beyond, 429 */
    int trust_proxy;             /* the client address is the last X-Forwarded-For entry */
    web_config web;              /* the browser client, served where /auth is */
    /* operations (src/ops) */
    ready *ready;      /* answers /ready; borrowed; NULL: 404 */
    int ops_elsewhere; /* an admin port serves /metrics and /ready: 404 here */
} api_config;

typedef struct api api;

api *api_new(const api_config *cfg, uv_loop_t *loop, const store_backend *sb, store *st, domain *d);
void api_free(api *a);
/* Handles one HTTP request (answers now or later). */
void api_handle(api *a, conn *c, http_req *req);
/* Periodic housekeeping. */
void api_tick(api *a);
/* A reload: takes cfg's token_ttl_s, abuse limits (hash queue, register
 * rate, failed logins per address) and trust_proxy; the rest of cfg is
 * ignored. Requests in progress keep the limits they started with. */
void api_set_limits(api *a, const api_config *cfg);

#endif
