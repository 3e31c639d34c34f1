/*
 * server: the TCP listener and the glue between connections and the
 * application. The application supplies a struct of callbacks; the server
 * owns sockets, parsing and write batching.
 */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/conn.h"

typedef struct server_handlers {
    void *data;
    /* A whole non-upgrade HTTP request. Must answer with conn_http_respond,
     * now or later (holding a conn_ref while waiting). */
    void (*http)(void *data, conn *c, http_req *req);
    /* An upgrade request. Must either call conn_ws_accept(c, endpoint) (now
     * or later) or answer with an HTTP error (e.g. 404). */
    void (*ws_upgrade)(void *data, conn *c, http_req *req);
    /* After the upgrade completed (101 sent). */
    void (*ws_open)(void *data, conn *c);
    /* A whole text message: valid UTF-8, <= max_message bytes. */
    void (*ws_message)(void *data, conn *c, const char *payload, size_t len);
    /* Any frame (incl. ping/pong) arrived: liveness. May be NULL. */
    void (*ws_activity)(void *data, conn *c);
    /* The WebSocket is going away (called once, before the conn is freed). */
    void (*ws_closed)(void *data, conn *c);
} server_handlers;

typedef struct server_limits {
    size_t max_message;     /* WebSocket message payload cap (64 KiB) */
    size_t max_queued;      /* per-connection unsent bytes before the peer is dropped */
} server_limits;

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_check_t flusher;
    server_handlers h;
    server_limits lim;
    conn *dirty;            /* connections with queued frames */
    conn **all;             /* every live conn (for shutdown) */
    size_t nall, allcap;
    int port;               /* bound port */
    int listening;
};

/* Binds host:port (port 0 = any free port; s->port tells). 0 or -errno. */
int server_start(server *s, uv_loop_t *loop, const char *host, int port,
                 const server_handlers *h, const server_limits *lim);
/* Stops accepting new connections. */
void server_stop_accepting(server *s);
/* Closes every WebSocket with `code` and drops HTTP connections. */
void server_close_all(server *s, uint16_t code, const char *reason);
/* Drops every connection now, without a close handshake. */
void server_abort_all(server *s);
/* Closes the listener and flusher handles (after close_all). */
void server_free(server *s);

/* internal, for conn.c */
void server__mark_dirty(server *s, conn *c);
void server__forget(server *s, conn *c);

#endif
