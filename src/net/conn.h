/*
 * conn: one client TCP connection, first speaking HTTP/1.1, then (after an
 * upgrade) WebSocket. Owns the read side (frame parsing, fragment
 * reassembly, UTF-8 checks, control frames) and the write side: a queue of
 * shared rcbuf frames flushed with ONE uv_write (writev) per connection per
 * loop turn, from the server's check handle.
 *
 * Lifetime: a conn is reference counted. The socket holds one reference;
 * anything that keeps a conn pointer across an asynchronous step (a store
 * op, a password hash) takes another with conn_ref and drops it with
 * conn_unref. Closing never frees inside a callback: the memory goes when
 * the last reference does. Sending to a closing conn is a harmless no-op.
 */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/rcbuf.h"
#include "net/http.h"

typedef struct server server;

typedef enum conn_state {
    CONN_HTTP,      /* reading HTTP requests */
    CONN_WS,        /* WebSocket open */
    CONN_CLOSING,   /* close frame queued / socket shutting down: input ignored */
    CONN_CLOSED,    /* uv_close called */
} conn_state;

typedef struct conn {
    uv_tcp_t tcp;
    server *srv;
    conn_state state;
    unsigned refs;
    int endpoint;           /* WebSocket endpoint id from the router */
    void *user;             /* the application's per-connection object */

    /* read side */
    char *rbuf;             /* unparsed bytes carried between reads */
    size_t rlen, rcap;
    http_req *req;          /* only while in CONN_HTTP */
    int http_busy;          /* a response is pending: hold further input */
    int in_input;           /* inside process_input (guards re-entry) */
    char *msg;              /* fragmented message being reassembled */
    size_t msg_len;
    int msg_op;             /* 0 = none in progress */
    uint32_t utf8_state;

    /* write side */
    rcbuf **q;              /* queued frames (one reference each) */
    unsigned qlen, qcap;
    rcbuf **inflight;       /* frames of the write in progress */
    unsigned nflight, flightcap;
    size_t queued_bytes;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    int writing, dirty, close_after_flush, shut;
    struct conn *next_dirty;
    uv_timer_t *linger;     /* bounds the wait for the peer after our close */
} conn;

/* Queues a frame (takes a new reference; the caller keeps its own). */
void conn_send(conn *c, rcbuf *frame);
/* Queues a close frame and closes after it is flushed. Idempotent. */
void conn_close_ws(conn *c, uint16_t code, const char *reason);
/* Drops the connection now (no close handshake). Idempotent. */
void conn_abort(conn *c);
/* Sends an HTTP response (head and body copied). Resumes reading on
 * keep-alive; a status >= 400 closes the connection after it. */
void conn_http_send(conn *c, const http_response *r);
/* The same with no extra headers. */
void conn_http_respond(conn *c, int status, const char *content_type, const char *body,
                       size_t len);
/* Convenience: {"error": msg, "code": code} JSON response. */
void conn_http_error(conn *c, int status, const char *code, const char *msg);
/* Completes a WebSocket upgrade for the pending request (101 + accept). */
void conn_ws_accept(conn *c, int endpoint);

static inline void conn_ref(conn *c) { c->refs++; }
void conn_unref(conn *c);
static inline int conn_is_open(const conn *c) { return c->state == CONN_WS || c->state == CONN_HTTP; }

#endif
