/*
 * server: the TCP listener and the glue between connections and the
 * application. The application supplies a struct of callbacks; the server
 * owns sockets, parsing, write batching, the connection caps and timeouts.
 *
 * Every loop turn ends (in a uv_check handle) with, in order and until
 * nothing is left: parsing input that was held behind a response or an
 * upgrade, closing connections that were aborted during the turn (their
 * ws_closed handler runs here, never inside the code that aborted them),
 * and flushing every connection with queued frames in one writev each.
 */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/strmap.h"
#include "net/conn.h"
#include "net/tls.h"

typedef struct server_handlers {
    void *data;
    /* A whole non-upgrade HTTP request. Must answer with conn_http_send,
     * now or later (holding a conn_ref while waiting). */
    void (*http)(void *data, conn *c, http_req *req);
    /* An upgrade request. Must either call conn_ws_accept(c, endpoint) (now
     * or later) or answer with an HTTP error (e.g. 404). */
    void (*ws_upgrade)(void *data, conn *c, http_req *req);
    /* A whole text message: valid UTF-8, <= max_message bytes. */
    void (*ws_message)(void *data, conn *c, const char *payload, size_t len);
    /* A ping: 1 to answer it, 0 when the peer is over its budget. May be
     * NULL (always answer). */
    int (*ws_ping)(void *data, conn *c);
    /* Any frame (incl. ping/pong) arrived: liveness. May be NULL. */
    void (*ws_activity)(void *data, conn *c);
    /* The WebSocket is going away (called once, at a safe point of the
     * loop turn, before the conn is freed). */
    void (*ws_closed)(void *data, conn *c);
} server_handlers;

typedef struct server_limits {
    size_t max_message;     /* WebSocket message payload cap (64 KiB) */
    size_t max_queued;      /* memory queued to one connection before it is dropped (16 MiB) */
    size_t read_pause;      /* stop reading a connection above this much queued (1 MiB) */
    size_t max_connections; /* all sockets; at the cap the oldest not yet upgraded is dropped */
    size_t max_pending_per_addr; /* sockets not yet upgraded per peer address (256) */
    uint64_t handshake_ms;       /* a request must complete within this (also idle keep-alive) */
    uint64_t ping_ms;            /* WebSocket silence before a ping; twice = dead (0 = never) */
} server_limits;

/* Fills the defaults above (max_connections: 100,000). */
void server_limits_default(server_limits *l);

/* A peer address and how many of its sockets are open / not yet upgraded. */
struct server_addr {
    unsigned conns, pending;
    char ip[46];
};

struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_check_t turn_end; /* the end-of-turn work described above */
    uv_timer_t sweeper;  /* once a second: timeouts and pings */
    server_handlers h;
    server_limits lim;
    conn *dirty;                     /* connections with queued frames */
    conn *doomed;                    /* aborted, to be closed at the end of the turn */
    conn *resumed;                   /* held input to parse at the end of the turn */
    conn *http_oldest, *http_newest; /* HTTP-state connections, oldest first */
    conn **all;                      /* every live conn */
    size_t nall, allcap;
    strmap addrs;     /* ip -> server_addr* */
    uint64_t refused; /* connections refused or evicted by the caps */
    int port;         /* bound port */
    int listening;
    tls_ctx *tls; /* TLS listener when set (borrowed): see server_use_tls */
};

/* Binds host:port (port 0 = any free port; s->port tells). 0 or -errno. */
int server_start(server *s, uv_loop_t *loop, const char *host, int port, const server_handlers *h,
                 const server_limits *lim);
/* Makes it a TLS listener: every connection accepted from now on speaks
 * TLS with t (borrowed: it must outlive the server; reloading t changes
 * the certificate of later handshakes). Call right after server_start,
 * before the loop runs. */
void server_use_tls(server *s, tls_ctx *t);
/* Stops accepting new connections. */
void server_stop_accepting(server *s);
/* Closes every WebSocket with `code` and drops HTTP connections. */
void server_close_all(server *s, uint16_t code, const char *reason);
/* Drops every connection now, without a close handshake. */
void server_abort_all(server *s);
/* Closes the listener and the server's handles (after close_all). */
void server_free(server *s);

/* internal, for conn.c */
void server__mark_dirty(server *s, conn *c);
void server__doom(server *s, conn *c);
void server__resume(server *s, conn *c);
void server__forget(server *s, conn *c);
void server__upgraded(server *s, conn *c);
void server__read_start(server *s, conn *c);
const char *server__peer(const conn *c);

#endif
