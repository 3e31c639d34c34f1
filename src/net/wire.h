/*
 * wire: the protocol core of one client connection, with no I/O — bytes in,
 * events out. It parses HTTP/1.1 requests (http.c) and, once its owner has
 * accepted an upgrade, RFC 6455 frames (ws.c): unmasking, reassembly of
 * fragmented messages, UTF-8 checks, control-frame rules and the size cap.
 *
 * It never calls back. The owner (conn.c on a socket; tests and the fuzzer
 * directly) lends it input with wire_feed and pulls one event at a time with
 * wire_next, so nothing the owner does while handling an event can re-enter
 * the parser. After a request or an upgrade request the wire holds further
 * input until the owner says it answered (wire_http_done) or switched to
 * WebSocket (wire_upgraded): the bytes behind a request are never parsed
 * before the owner is ready for them.
 *
 * Buffers: wire_feed lends a chunk (frames are unmasked in place in it);
 * wire_next parses from it without copying; wire_keep_rest copies what was
 * not consumed into the wire's own buffer, which is freed as soon as it is
 * drained, so an idle connection holds no input memory. Event data point
 * into the lent chunk, the own buffer or the reassembly buffer, and stay
 * valid until the next call of a wire_* function on the same wire.
 *
 * Errors end the wire: after WIRE_BAD_REQUEST, WIRE_VIOLATION or WIRE_CLOSE
 * it is stopped and discards further input; the owner answers (HTTP error,
 * close frame) and closes.
 */
#ifndef CHATD_WIRE_H
#define CHATD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "net/http.h"

typedef enum wire_mode {
    WIRE_HTTP,         /* parsing HTTP requests */
    WIRE_HTTP_HELD,    /* a request was handed out; waiting for wire_http_done */
    WIRE_UPGRADE_HELD, /* an upgrade was handed out; waiting for wire_upgraded */
    WIRE_WS,           /* parsing WebSocket frames */
    WIRE_STOPPED,      /* input is discarded */
} wire_mode;

typedef enum wire_event_kind {
    WIRE_IDLE,        /* nothing (more) now: feed more bytes, or the wire is held */
    WIRE_REQUEST,     /* ev.req: a whole HTTP request (not an upgrade) */
    WIRE_UPGRADE,     /* ev.req: a WebSocket upgrade request */
    WIRE_BAD_REQUEST, /* ev.code: HTTP status (400, 413, 431), ev.reason */
    WIRE_TEXT,        /* ev.data/len: one whole text message, valid UTF-8 */
    WIRE_PING,        /* ev.data/len: the payload a pong must echo (<= 125) */
    WIRE_PONG,        /* ev.data/len */
    WIRE_CLOSE,       /* the peer's close frame; ev.code: the code to answer with */
    WIRE_VIOLATION,   /* ev.code: WebSocket close code (1002, 1003, 1007, 1009), ev.reason */
} wire_event_kind;

typedef struct wire_event {
    wire_event_kind kind;
    http_req *req;    /* REQUEST, UPGRADE: owned by the wire, valid until released */
    const char *data; /* TEXT, PING, PONG */
    size_t len;
    uint16_t code;      /* BAD_REQUEST: status; CLOSE, VIOLATION: close code */
    const char *reason; /* BAD_REQUEST, VIOLATION: a static sentence */
} wire_event;

typedef struct wire {
    wire_mode mode;
    size_t max_message; /* cap of one WebSocket message payload (reassembled) */
    http_req *req;      /* while in HTTP modes (allocated on first use) */
    /* input lent by wire_feed */
    char *lent;
    size_t lent_len, lent_off;
    /* input kept between feeds */
    char *own;
    size_t own_len, own_off, own_cap;
    /* a fragmented message being reassembled */
    char *msg;
    size_t msg_len;
    int msg_op; /* 0 = none in progress */
    uint32_t utf8_state;
    char *done_msg; /* the last reassembled message handed out (freed on the next call) */
} wire;

/* Starts in WIRE_HTTP. */
void wire_init(wire *w, size_t max_message);
/* Frees everything the wire owns (the request, buffers). */
void wire_free(wire *w);

/* Lends data[0..len) (writable: frames are unmasked in place) until the
 * next wire_keep_rest. Bytes kept from earlier feeds come first (the new
 * ones are then appended to them). Returns 0, or -1 when the kept bytes
 * would exceed the cap (see wire_keep_rest); nothing is lent then. */
int wire_feed(wire *w, char *data, size_t len);
/* The next event from the input; WIRE_IDLE when more bytes are needed or
 * the wire is held. */
wire_event_kind wire_next(wire *w, wire_event *ev);
/* Ends a feed: copies what is unconsumed of the lent chunk into the own
 * buffer. Returns 0, or -1 when that would exceed the cap (a whole request
 * head and body, or a whole frame); the owner drops the connection then. */
int wire_keep_rest(wire *w);

/* The owner answered the request handed out: parse the next one. */
void wire_http_done(wire *w);
/* The owner accepted the upgrade: what follows is WebSocket frames. The
 * request is freed. */
void wire_upgraded(wire *w);
/* Discard all further input (closing). */
void wire_stop(wire *w);

/* Bytes the wire holds (own buffer + reassembly + request): for memory
 * accounting and tests. */
size_t wire_buffered(const wire *w);
/* 1 when input is waiting in the own buffer (pull again once not held). */
int wire_has_input(const wire *w);

#endif
