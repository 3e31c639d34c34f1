/*
 * api: the HTTP API — POST /auth, POST /register, GET /health,
 * GET /metrics (PROTOCOL.md section 1), and the browser client's files
 * (web/web.h) on a server that answers /auth. Password hashing and checking run
 * on libuv's thread pool; user records come from the store.
 */
#ifndef CHATD_API_H
#define CHATD_API_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "auth/password.h"
#include "net/conn.h"
#include "store/store.h"
#include "web/web.h"

typedef struct domain domain;

/* A service instance handed to clients by /auth. */
typedef struct api_instance {
    char host[256];
    int port;
    unsigned id;
} api_instance;

typedef struct api_config {
    const uint8_t *jwt_key;     /* borrowed; outlives the api */
    size_t jwt_key_len;
    int64_t token_ttl_s;
    password_params pw;
    const char *role;           /* for /health */
    /* Picks the chat and presence instances for a client; returns 0, or -1
     * when none is available (-> 503). */
    int (*pick)(void *data, api_instance *chat, api_instance *presence);
    void *pick_data;
    web_config web;             /* the browser client, served where /auth is */
} api_config;

typedef struct api api;

api *api_new(const api_config *cfg, uv_loop_t *loop, const store_backend *sb, store *st,
             domain *d);
void api_free(api *a);
/* Handles one HTTP request (answers now or later). */
void api_handle(api *a, conn *c, http_req *req);
/* Periodic housekeeping. */
void api_tick(api *a);

#endif
