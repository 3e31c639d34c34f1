/*
 * conn: one client TCP connection on libuv — the thin I/O layer around its
 * protocol core (wire.h). It reads into the server's shared buffer, lets
 * the wire parse it in place and hands the wire's events to the server's
 * handlers; it queues shared rcbuf frames and flushes them with ONE writev
 * per connection per loop turn, from the server's check handle.
 *
 * Nothing here re-enters its caller. Sending, closing and aborting only
 * mark the connection: a connection over its memory cap, or aborted by the
 * application in the middle of a fan-out, is closed later in the same loop
 * turn by the server (the way Redis frees clients asynchronously), so a
 * caller iterating over sessions never sees one vanish under it. Input
 * that waits behind an upgrade or an HTTP response is parsed later in the
 * loop turn too, never from inside conn_ws_accept or conn_http_send.
 *
 * Lifetime: a conn is reference counted. The socket holds one reference;
 * anything that keeps a conn pointer across an asynchronous step (a store
 * op, a password hash) takes another with conn_ref and drops it with
 * conn_unref. Sending to a closing conn is a harmless no-op.
 *
 * Back-pressure: every queued frame is charged its real memory (the buffer
 * and its bookkeeping), in flight or not. Above server_limits.read_pause
 * the connection stops reading (its peer's further input waits in the
 * kernel) until the queue drains to half; above max_queued it is dropped.
 * Of several pings waiting for an answer only the newest is answered.
 *
 * TLS (a listener given a tls_ctx): bytes read are decrypted into a
 * shared plaintext buffer and parsed there like plain input; at flush the
 * queued frames are sealed into records and the ciphertext is written
 * instead (one writev still). Frames stay encoded once; only the cipher
 * runs per connection.
 */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/rcbuf.h"
#include "net/http.h"
#include "net/tls.h"
#include "net/wire.h"

typedef struct server server;
typedef struct server_addr server_addr;

typedef enum conn_state {
    CONN_HTTP,    /* reading HTTP requests */
    CONN_WS,      /* WebSocket open */
    CONN_CLOSING, /* close frame queued, or aborted: input ignored, sends dropped */
    CONN_CLOSED,  /* uv_close called */
} conn_state;

typedef struct conn {
    uv_tcp_t tcp;
    server *srv;
    conn_state state;
    unsigned refs;
    int endpoint;  /* WebSocket endpoint id from the router */
    void *user;    /* the application's per-connection object */
    wire w;        /* the protocol core: all input state */
    tls_conn *tls; /* TLS state (owned) on a TLS listener, else NULL */

    /* write side */
    rcbuf **q; /* queued frames (one reference each) */
    unsigned qlen, qcap;
    rcbuf **inflight; /* frames of the write in progress */
    unsigned nflight, flightcap;
    size_t queued_mem;  /* memory charged for queued + in-flight frames */
    size_t flight_mem;  /* the in-flight part of it */
    rcbuf *pong;        /* answer to the newest unanswered ping, not yet queued */
    uv_timer_t *linger; /* bounds the wait for the peer after our close */
    /* No write or shutdown request lives here: a write the socket takes at
     * once needs none, and the rare others (a partial write, the half-close)
     * allocate theirs and free it in its callback, so an idle connection
     * carries neither (~270 bytes of the struct). */

    /* flags */
    unsigned writing : 1; /* a uv_write (of the in-flight frames) is pending */
    unsigned dirty : 1, close_after_flush : 1, shut : 1;
    unsigned doomed : 1;  /* aborted: the server closes it later this loop turn */
    unsigned resume : 1;  /* queued for parsing held input */
    unsigned pumping : 1; /* inside the parse loop */
    unsigned read_paused : 1;
    unsigned pinged : 1; /* a server ping is unanswered */

    /* server bookkeeping */
    struct conn *next_dirty, *next_resume, *next_doomed;
    struct conn *prev_http, *next_http; /* oldest-first list of HTTP-state conns */
    server_addr *addr;                  /* peer address entry while in HTTP state (pending cap) */
    size_t all_index;                   /* position in server.all */
    uint64_t since_ms;   /* HTTP: last request finished / accepted; CLOSING: since when */
    uint64_t last_rx_ms; /* last byte received */
} conn;

/* Queues raw bytes: an HTTP response, a control frame (takes a new
 * reference; the caller keeps its own). */
void conn_send(conn *c, rcbuf *frame);
/* Queues a text message: payload is a frame's JSON text, framed in place
 * the first time it is sent (ws_frame_text), so a payload shared by many
 * connections is framed once (takes a new reference). WebSocket only. */
void conn_send_text(conn *c, rcbuf *payload);
/* Queues a close frame and closes after it is flushed. Idempotent. */
void conn_close_ws(conn *c, uint16_t code, const char *reason);
/* Drops the connection without a close handshake, later in this loop turn
 * (the application's ws_closed handler runs then). Idempotent. */
void conn_abort(conn *c);
/* Sends an HTTP response (head and body copied). A status >= 400, or a
 * request without keep-alive, closes the connection after it; otherwise the
 * next pipelined request is parsed (later in the loop turn). */
void conn_http_send(conn *c, const http_response *r);
/* The same with no extra headers. */
void conn_http_respond(conn *c, int status, const char *content_type, const char *body, size_t len);
/* Convenience: {"error": msg, "code": code} JSON response. */
void conn_http_error(conn *c, int status, const char *code, const char *msg);
/* Completes the WebSocket upgrade of the pending request (101 + accept).
 * Frames the client sent behind its upgrade are handled later in the loop
 * turn, after the caller has set up its session. */
void conn_ws_accept(conn *c, int endpoint);
/* The peer's address as text ("127.0.0.1"), for logs and per-address caps. */
const char *conn_peer(const conn *c);

static inline void conn_ref(conn *c) {
    c->refs++;
}
void conn_unref(conn *c);

/* For the server (server.c) only. */
void conn__on_read(conn *c, char *data, size_t len);
void conn__on_eof(conn *c);
void conn__pump(conn *c);
void conn__flush(conn *c);
void conn__close_now(conn *c);
void conn__sweep(conn *c, uint64_t now_ms);

#endif
