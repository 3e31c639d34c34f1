/*
 * conn: per-connection I/O around the wire (see conn.h). Reads are parsed
 * in place in the server's shared buffer; writes are batched: conn_send
 * only appends a reference to the queue and marks the connection dirty,
 * and the server's check handle flushes every dirty connection with one
 * writev per loop turn (uv_try_write; a uv_write only for what the socket
 * did not take at once).
 */
#include "net/conn.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/server.h"
#include "net/tls.h"
#include "net/ws.h"

#define LINGER_MS 2000

/* What a queued frame really costs: the buffer, malloc's header and the
 * queue slot. Shared frames are charged in full to every queue holding
 * them: the cap must hold even if the others drop theirs. */
static size_t frame_mem(const rcbuf *f) {
    return sizeof(rcbuf) + f->head + f->len + 16 + sizeof(rcbuf *);
}

static void on_uv_close(uv_handle_t *h) {
    conn *c = h->data;
    conn_unref(c); /* the socket's reference */
}

static void free_conn(conn *c) {
    for (unsigned i = 0; i < c->qlen; i++)
        rcbuf_unref(c->q[i]);
    for (unsigned i = 0; i < c->nflight; i++)
        rcbuf_unref(c->inflight[i]);
    rcbuf_unref(c->pong);
    free(c->q);
    free(c->inflight);
    wire_free(&c->w);
    tls_conn_free(c->tls);
    free(c);
}

void conn_unref(conn *c) {
    if (--c->refs == 0) free_conn(c);
}

static void on_linger_closed(uv_handle_t *h) {
    free(h);
}

/* Final step, run by the server at a safe point of the loop turn: tell the
 * application, then close the socket handle. */
void conn__close_now(conn *c) {
    if (c->state == CONN_CLOSED) return;
    int was_ws = c->endpoint >= 0 && c->user != NULL;
    c->state = CONN_CLOSED;
    wire_stop(&c->w);
    if (c->linger) {
        uv_timer_stop(c->linger);
        uv_close((uv_handle_t *)c->linger, on_linger_closed);
        c->linger = NULL;
    }
    server__forget(c->srv, c);
    if (was_ws && c->srv->h.ws_closed) c->srv->h.ws_closed(c->srv->h.data, c);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_uv_close);
}

void conn_abort(conn *c) {
    if (c->state == CONN_CLOSED || c->doomed) return;
    c->doomed = 1;
    if (c->state != CONN_CLOSING) c->since_ms = clock_mono_ms();
    c->state = CONN_CLOSING;
    wire_stop(&c->w);
    server__doom(c->srv, c);
}

/* ---- write side ---- */

static void pause_reading(conn *c) {
    if (c->read_paused || c->state == CONN_CLOSED) return;
    c->read_paused = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
}

static void resume_reading(conn *c) {
    if (!c->read_paused || c->state == CONN_CLOSED || c->doomed) return;
    c->read_paused = 0;
    server__read_start(c->srv, c);
}

/* Appends one reference to the queue; 0, or -1 when the connection was
 * over its memory cap (it is then aborted). */
static int enqueue(conn *c, rcbuf *frame) {
    size_t mem = frame_mem(frame);
    if (c->queued_mem + mem > c->srv->lim.max_queued) {
        log_warn("dropping a connection from %s that does not read (%zu bytes queued)",
                 conn_peer(c), c->queued_mem);
        metrics_conn_dropped(METRICS_DROP_SLOW_READER);
        conn_abort(c);
        return -1;
    }
    if (c->qlen == c->qcap) {
        unsigned ncap = c->qcap ? c->qcap * 2 : 4;
        rcbuf **nq = xrealloc(c->q, ncap * sizeof(*nq));
        c->q = nq;
        c->qcap = ncap;
    }
    c->q[c->qlen++] = rcbuf_ref(frame);
    c->queued_mem += mem;
    if (c->queued_mem > c->srv->lim.read_pause) pause_reading(c);
    return 0;
}

void conn_send(conn *c, rcbuf *frame) {
    if (c->state != CONN_WS && c->state != CONN_HTTP) return;
    if (enqueue(c, frame) == 0) server__mark_dirty(c->srv, c);
}

void conn_send_text(conn *c, rcbuf *payload) {
    if (c->state != CONN_WS) return;
    if (ws_frame_text(payload) == 0) { /* once: the first recipient frames it for all */
        conn_send(c, payload);
        return;
    }
    rcbuf *copy = rcbuf_copy(rcbuf_payload(payload), payload->len); /* no room in front */
    ws_frame_text(copy);
    conn_send(c, copy);
    rcbuf_unref(copy);
}

static void on_linger_timeout(uv_timer_t *t) {
    conn_abort(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    conn *c = req->data;
    free(req);
    if (status < 0) conn_abort(c);
    conn_unref(c);
}

/* Our close frame is out: half-close and wait (bounded) for the peer's EOF,
 * so the peer reads the close frame instead of a reset. */
static void begin_linger(conn *c) {
    if (c->shut || c->state == CONN_CLOSED || c->doomed) return;
    c->shut = 1;
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    req->data = c;
    conn_ref(c);
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        free(req);
        conn_unref(c);
        conn_abort(c);
        return;
    }
    c->linger = xmalloc(sizeof(*c->linger));
    uv_timer_init(c->srv->loop, c->linger);
    c->linger->data = c;
    uv_timer_start(c->linger, on_linger_timeout, LINGER_MS, 0);
}

static void release_flight(conn *c) {
    for (unsigned i = 0; i < c->nflight; i++)
        rcbuf_unref(c->inflight[i]);
    c->nflight = 0;
    c->queued_mem -= c->flight_mem;
    c->flight_mem = 0;
    if (c->queued_mem <= c->srv->lim.read_pause / 2) resume_reading(c);
}

static void on_write(uv_write_t *req, int status) {
    conn *c = req->data;
    free(req);
    c->writing = 0;
    release_flight(c);
    if (status < 0)
        conn_abort(c);
    else if (c->qlen || c->pong)
        server__mark_dirty(c->srv, c);
    else if (c->close_after_flush)
        begin_linger(c);
    conn_unref(c);
}

/* TLS: seals the queued frames into records (TLS copies them) and queues
 * the ciphertext instead, handshake records included, in order. */
static int seal(conn *c) {
    for (unsigned i = 0; i < c->qlen; i++) {
        rcbuf *f = c->q[i];
        int rc = tls_conn_write(c->tls, rcbuf_wire(f), rcbuf_wire_len(f));
        c->queued_mem -= frame_mem(f);
        rcbuf_unref(f);
        if (rc != 0) { /* nothing can be sent before the handshake */
            for (unsigned k = i + 1; k < c->qlen; k++) {
                c->queued_mem -= frame_mem(c->q[k]);
                rcbuf_unref(c->q[k]);
            }
            c->qlen = 0;
            return -1;
        }
    }
    c->qlen = 0;
    if (c->close_after_flush) tls_conn_close_notify(c->tls);
    rcbuf *out = tls_conn_take_out(c->tls);
    if (!out) return 0;
    int rc = enqueue(c, out);
    rcbuf_unref(out);
    return rc;
}

/* Called by the server's check handle: one writev of everything queued. */
void conn__flush(conn *c) {
    c->dirty = 0;
    if (c->writing || c->state == CONN_CLOSED || c->doomed) return;
    if (c->pong) { /* the newest ping's answer goes out with this write */
        rcbuf *p = c->pong;
        c->pong = NULL;
        if (c->state != CONN_CLOSING) enqueue(c, p);
        rcbuf_unref(p);
        if (c->doomed) return;
    }
    if (c->tls && seal(c) != 0) {
        conn_abort(c);
        return;
    }
    if (c->qlen == 0) {
        if (c->close_after_flush) begin_linger(c);
        return;
    }
    /* Swap queue and in-flight arrays: no copy of the frame pointers. */
    rcbuf **tmp = c->inflight;
    unsigned tmpcap = c->flightcap;
    c->inflight = c->q;
    c->flightcap = c->qcap;
    c->nflight = c->qlen;
    c->q = tmp;
    c->qcap = tmpcap;
    c->qlen = 0;
    c->flight_mem = c->queued_mem;

    uv_buf_t small[16];
    uv_buf_t *bufs = c->nflight <= 16 ? small : xmalloc(c->nflight * sizeof(uv_buf_t));
    size_t total = 0;
    for (unsigned i = 0; i < c->nflight; i++) {
        bufs[i] = uv_buf_init(rcbuf_wire(c->inflight[i]), (unsigned)rcbuf_wire_len(c->inflight[i]));
        total += bufs[i].len;
    }
    /* Usually the socket takes everything at once: one writev, no write
     * request, no callback. Only a partial write falls back to uv_write. */
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, c->nflight);
    if (n >= 0 && (size_t)n == total) {
        release_flight(c);
        if (bufs != small) free(bufs);
        if (c->close_after_flush) begin_linger(c);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        if (bufs != small) free(bufs);
        conn_abort(c);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    unsigned first = 0;
    while (done >= bufs[first].len)
        done -= bufs[first++].len;
    bufs[first].base += done;
    bufs[first].len -= done;
    c->writing = 1;
    uv_write_t *req = xmalloc(sizeof(*req));
    req->data = c;
    conn_ref(c);
    int rc = uv_write(req, (uv_stream_t *)&c->tcp, bufs + first, c->nflight - first, on_write);
    if (bufs != small) free(bufs); /* libuv copied the array */
    if (rc != 0) {
        free(req);
        c->writing = 0;
        conn_unref(c);
        conn_abort(c);
    }
}

static rcbuf *control_frame(int opcode, const void *payload, size_t len) {
    rcbuf *b = rcbuf_new(WS_MAX_HEADER + len);
    size_t hlen = ws_write_header((uint8_t *)b->data, 1, opcode, len, NULL);
    if (len) memcpy(b->data + hlen, payload, len);
    b->len = hlen + len;
    return b;
}

void conn_close_ws(conn *c, uint16_t code, const char *reason) {
    if (c->state != CONN_WS && c->state != CONN_HTTP) return;
    uint8_t payload[125];
    size_t plen = ws_close_payload(payload, code, reason);
    rcbuf *b = control_frame(WS_OP_CLOSE, payload, plen);
    conn_send(c, b);
    rcbuf_unref(b);
    if (c->doomed) return; /* conn_send dropped it */
    c->state = CONN_CLOSING;
    c->since_ms = clock_mono_ms();
    c->close_after_flush = 1;
    wire_stop(&c->w);
    server__mark_dirty(c->srv, c);
}

/* ---- HTTP ---- */

void conn_http_respond(conn *c, int status, const char *content_type, const char *body,
                       size_t len) {
    http_response r = {status, content_type, NULL, body, len};
    conn_http_send(c, &r);
}

void conn_http_send(conn *c, const http_response *r) {
    if (c->state != CONN_HTTP) return;
    int keep = c->w.mode == WIRE_HTTP_HELD && c->w.req->keep_alive && r->status < 400;
    char head[HTTP_MAX_RESPONSE_HEAD];
    size_t hlen = http_format_head(head, sizeof(head), r, keep);
    if (hlen == 0) abort(); /* our own headers never get that long */
    /* HEAD: the head announces the GET's Content-Length; no body follows. */
    size_t len = c->w.mode == WIRE_HTTP_HELD && c->w.req->method == HTTP_HEAD ? 0 : r->len;
    rcbuf *b = rcbuf_new(hlen + len);
    memcpy(b->data, head, hlen);
    if (len) memcpy(b->data + hlen, r->body, len);
    conn_send(c, b);
    rcbuf_unref(b);
    if (c->doomed) return;
    if (!keep) {
        c->state = CONN_CLOSING;
        c->since_ms = clock_mono_ms();
        c->close_after_flush = 1;
        wire_stop(&c->w);
        server__mark_dirty(c->srv, c);
        return;
    }
    c->since_ms = clock_mono_ms(); /* idle keep-alive time starts now */
    wire_http_done(&c->w);
    if (wire_has_input(&c->w) && !c->pumping) server__resume(c->srv, c); /* pipelined */
}

void conn_http_error(conn *c, int status, const char *code, const char *msg) {
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"code\":\"%s\"}", msg, code);
    conn_http_respond(c, status, "application/json", body, (size_t)n);
}

void conn_ws_accept(conn *c, int endpoint) {
    if (c->state != CONN_HTTP || c->w.mode != WIRE_UPGRADE_HELD) return;
    char accept[29];
    ws_accept_key(c->w.req->ws_key, strlen(c->w.req->ws_key), accept);
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    rcbuf *b = rcbuf_copy(head, (size_t)n);
    conn_send(c, b);
    rcbuf_unref(b);
    if (c->doomed) return;
    c->state = CONN_WS;
    c->endpoint = endpoint;
    wire_upgraded(&c->w);
    server__upgraded(c->srv, c);
    if (wire_has_input(&c->w) && !c->pumping) server__resume(c->srv, c);
}

const char *conn_peer(const conn *c) {
    return server__peer(c);
}

/* ---- input ---- */

/* Only the newest ping is answered: its pong replaces an unsent one, in
 * the same buffer (a flood of pings allocates nothing per ping). */
static void set_pong(conn *c, const char *payload, size_t len) {
    if (!c->pong) c->pong = rcbuf_new(WS_MAX_HEADER + 125);
    size_t hlen = ws_write_header((uint8_t *)c->pong->data, 1, WS_OP_PONG, len, NULL);
    if (len) memcpy(c->pong->data + hlen, payload, len);
    c->pong->len = hlen + len;
}

/* One event from the wire to the application. */
static void handle(conn *c, const wire_event *ev) {
    server *s = c->srv;
    switch (ev->kind) {
    case WIRE_REQUEST:
        s->h.http(s->h.data, c, ev->req);
        return;
    case WIRE_UPGRADE:
        s->h.ws_upgrade(s->h.data, c, ev->req);
        return;
    case WIRE_BAD_REQUEST:
        conn_http_error(c, ev->code, "invalid_request", ev->reason);
        return;
    case WIRE_TEXT:
        if (s->h.ws_activity) s->h.ws_activity(s->h.data, c);
        s->h.ws_message(s->h.data, c, ev->data, ev->len);
        return;
    case WIRE_PING:
        if (s->h.ws_activity) s->h.ws_activity(s->h.data, c);
        if (s->h.ws_ping && !s->h.ws_ping(s->h.data, c)) return; /* over its budget */
        set_pong(c, ev->data, ev->len);
        server__mark_dirty(s, c);
        return;
    case WIRE_PONG:
        if (s->h.ws_activity) s->h.ws_activity(s->h.data, c);
        return;
    case WIRE_CLOSE:
        conn_close_ws(c, ev->code, "");
        return;
    case WIRE_VIOLATION:
        log_debug("closing WebSocket %d: %s", ev->code, ev->reason);
        conn_close_ws(c, ev->code, ev->reason);
        return;
    case WIRE_IDLE:
        return;
    }
}

/* Hands out events while the connection takes input. */
void conn__pump(conn *c) {
    if (c->pumping) return;
    conn_ref(c); /* handlers may close c */
    c->pumping = 1;
    while ((c->state == CONN_HTTP || c->state == CONN_WS) && !c->doomed) {
        wire_event ev;
        if (wire_next(&c->w, &ev) == WIRE_IDLE) break;
        handle(c, &ev);
    }
    c->pumping = 0;
    conn_unref(c);
}

/* Plaintext in: parse it in place, keep what is incomplete. */
static void take_plain(conn *c, char *data, size_t len) {
    int http = c->state == CONN_HTTP;
    if (wire_feed(&c->w, data, len) != 0) {
        conn_abort(c);
    } else {
        conn__pump(c);
        if (wire_keep_rest(&c->w) != 0) conn_abort(c);
    }
    if (http) explicit_bzero(data, len); /* HTTP bodies carry passwords */
}

/* Decrypted input, parsed in place like the shared read buffer (one loop
 * thread per process). */
static char plain_buf[64 * 1024];

static void take_tls(conn *c, const char *data, size_t len) {
    if (tls_conn_feed(c->tls, data, len) != 0) {
        conn_abort(c);
        return;
    }
    while (c->state != CONN_CLOSED && !c->doomed) {
        ssize_t n = tls_conn_read(c->tls, plain_buf, sizeof(plain_buf));
        if (n > 0) {
            take_plain(c, plain_buf, (size_t)n);
            continue;
        }
        if (n == CHATD_EINVAL) {
            log_debug("TLS with %s failed: %s", conn_peer(c), tls_conn_error(c->tls));
            metrics_conn_dropped(METRICS_DROP_TLS);
        }
        if (n != CHATD_EINCOMPLETE) conn_abort(c); /* failed, or close_notify */
        break;
    }
    if (tls_conn_pending_out(c->tls)) server__mark_dirty(c->srv, c); /* handshake records */
}

void conn__on_read(conn *c, char *data, size_t len) {
    if (c->state == CONN_CLOSED || c->doomed) return;
    c->last_rx_ms = clock_mono_ms();
    c->pinged = 0;
    conn_ref(c);
    if (c->tls)
        take_tls(c, data, len);
    else
        take_plain(c, data, len);
    conn_unref(c);
}

void conn__on_eof(conn *c) {
    conn_abort(c);
}

/* Once a second: timeouts and liveness pings. */
void conn__sweep(conn *c, uint64_t now) {
    const server_limits *l = &c->srv->lim;
    if (c->doomed || c->state == CONN_CLOSED) return;
    if (c->state == CONN_HTTP) {
        /* A handshake or an idle keep-alive: not while the app answers. */
        if (c->w.mode != WIRE_HTTP_HELD && c->w.mode != WIRE_UPGRADE_HELD &&
            now - c->since_ms >= l->handshake_ms) {
            log_debug("dropping %s: no complete request within %llu ms", conn_peer(c),
                      (unsigned long long)l->handshake_ms);
            metrics_conn_dropped(METRICS_DROP_HANDSHAKE);
            conn_abort(c);
        }
    } else if (c->state == CONN_WS && l->ping_ms) {
        uint64_t silent = now - c->last_rx_ms;
        if (silent >= 2 * l->ping_ms) {
            log_debug("dropping %s: no answer to ping", conn_peer(c));
            metrics_conn_dropped(METRICS_DROP_DEAD_PEER);
            conn_abort(c);
        } else if (silent >= l->ping_ms && !c->pinged) {
            c->pinged = 1;
            rcbuf *p = control_frame(WS_OP_PING, "chatd", 5);
            conn_send(c, p);
            rcbuf_unref(p);
        }
    } else if (c->state == CONN_CLOSING && now - c->since_ms >= l->handshake_ms) {
        conn_abort(c); /* its close never got out: the peer does not read */
    }
}
