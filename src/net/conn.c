/*
 * conn: per-connection I/O. Reads go into the server's shared buffer and
 * are parsed in place; only an incomplete tail is copied into the
 * connection's own rbuf, so an idle connection holds no read buffer.
 * Writes are batched: conn_send only appends a reference to the queue and
 * marks the connection dirty; the server's check handle flushes every dirty
 * connection with one writev per loop turn (uv_try_write; a uv_write only
 * for what the socket did not take at once).
 */
#include "net/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/utf8.h"
#include "net/server.h"
#include "net/ws.h"

#define LINGER_MS 2000

static void process_input(conn *c, char *data, size_t len, size_t *used);

static void on_uv_close(uv_handle_t *h) {
    conn *c = h->data;
    conn_unref(c); /* the socket's reference */
}

static void free_conn(conn *c) {
    for (unsigned i = 0; i < c->qlen; i++) rcbuf_unref(c->q[i]);
    for (unsigned i = 0; i < c->nflight; i++) rcbuf_unref(c->inflight[i]);
    free(c->q);
    free(c->inflight);
    free(c->rbuf);
    free(c->msg);
    if (c->req) {
        http_req_reset(c->req);
        free(c->req);
    }
    free(c);
}

void conn_unref(conn *c) {
    if (--c->refs == 0) free_conn(c);
}

static void on_linger_closed(uv_handle_t *h) { free(h); }

/* Final step: tell the application, then close the socket handle. */
static void close_socket(conn *c) {
    if (c->state == CONN_CLOSED) return;
    int was_ws = c->endpoint >= 0 && c->user != NULL;
    c->state = CONN_CLOSED;
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

void conn_abort(conn *c) { close_socket(c); }

/* ---- write side ---- */

void conn_send(conn *c, rcbuf *frame) {
    if (c->state != CONN_WS && c->state != CONN_HTTP) return;
    if (c->queued_bytes + frame->len > c->srv->lim.max_queued) {
        log_warn("dropping a connection that does not read (%zu bytes queued)", c->queued_bytes);
        close_socket(c);
        return;
    }
    if (c->qlen == c->qcap) {
        unsigned ncap = c->qcap ? c->qcap * 2 : 4;
        rcbuf **nq = realloc(c->q, ncap * sizeof(*nq));
        if (!nq) abort();
        c->q = nq;
        c->qcap = ncap;
    }
    c->q[c->qlen++] = rcbuf_ref(frame);
    c->queued_bytes += frame->len;
    server__mark_dirty(c->srv, c);
}

static void on_linger_timeout(uv_timer_t *t) { close_socket(t->data); }

static void on_shutdown(uv_shutdown_t *req, int status) {
    conn *c = req->data;
    if (status < 0) close_socket(c);
    conn_unref(c);
}

/* Our close frame is out: half-close and wait (bounded) for the peer's EOF,
 * so the peer reads the close frame instead of a reset. */
static void begin_linger(conn *c) {
    if (c->shut || c->state == CONN_CLOSED) return;
    c->shut = 1;
    c->sreq.data = c;
    conn_ref(c);
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_unref(c);
        close_socket(c);
        return;
    }
    c->linger = malloc(sizeof(*c->linger));
    if (!c->linger) abort();
    uv_timer_init(c->srv->loop, c->linger);
    c->linger->data = c;
    uv_timer_start(c->linger, on_linger_timeout, LINGER_MS, 0);
}

static void on_write(uv_write_t *req, int status) {
    conn *c = req->data;
    for (unsigned i = 0; i < c->nflight; i++) rcbuf_unref(c->inflight[i]);
    c->nflight = 0;
    c->writing = 0;
    if (status < 0) {
        close_socket(c);
    } else if (c->qlen) {
        server__mark_dirty(c->srv, c);
    } else if (c->close_after_flush) {
        begin_linger(c);
    }
    conn_unref(c);
}

/* Called by the server's check handle: one uv_write of everything queued. */
void conn__flush(conn *c) {
    c->dirty = 0;
    if (c->writing || c->state == CONN_CLOSED) return;
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
    c->queued_bytes = 0;

    uv_buf_t small[16];
    uv_buf_t *bufs = c->nflight <= 16 ? small : malloc(c->nflight * sizeof(uv_buf_t));
    if (!bufs) abort();
    size_t total = 0;
    for (unsigned i = 0; i < c->nflight; i++) {
        bufs[i] = uv_buf_init(c->inflight[i]->data, (unsigned)c->inflight[i]->len);
        total += c->inflight[i]->len;
    }
    /* Usually the socket takes everything at once: one writev, no write
     * request, no callback. Only a partial write falls back to uv_write. */
    int n = uv_try_write((uv_stream_t *)&c->tcp, bufs, c->nflight);
    if (n >= 0 && (size_t)n == total) {
        for (unsigned i = 0; i < c->nflight; i++) rcbuf_unref(c->inflight[i]);
        c->nflight = 0;
        if (bufs != small) free(bufs);
        if (c->close_after_flush) begin_linger(c);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        if (bufs != small) free(bufs);
        close_socket(c);
        return;
    }
    size_t done = n > 0 ? (size_t)n : 0;
    unsigned first = 0;
    while (done >= bufs[first].len) done -= bufs[first++].len;
    bufs[first].base += done;
    bufs[first].len -= done;
    c->writing = 1;
    c->wreq.data = c;
    conn_ref(c);
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs + first, c->nflight - first, on_write);
    if (bufs != small) free(bufs); /* libuv copied the array */
    if (rc != 0) {
        c->writing = 0;
        conn_unref(c);
        close_socket(c);
    }
}

void conn_close_ws(conn *c, uint16_t code, const char *reason) {
    if (c->state != CONN_WS && c->state != CONN_HTTP) return;
    rcbuf *b = rcbuf_new(WS_MAX_HEADER + 125);
    uint8_t payload[125];
    size_t plen = ws_close_payload(payload, code, reason);
    size_t hlen = ws_write_header((uint8_t *)b->data, 1, WS_OP_CLOSE, plen, NULL);
    memcpy(b->data + hlen, payload, plen);
    b->len = hlen + plen;
    conn_send(c, b);
    rcbuf_unref(b);
    if (c->state == CONN_CLOSED) return; /* conn_send dropped it */
    c->state = CONN_CLOSING;
    c->close_after_flush = 1;
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
    int keep = c->req && c->req->keep_alive && r->status < 400;
    char head[HTTP_MAX_RESPONSE_HEAD];
    size_t hlen = http_format_head(head, sizeof(head), r, keep);
    if (hlen == 0) abort(); /* our own headers never get that long */
    /* HEAD: the head announces the GET's Content-Length; no body follows. */
    size_t len = c->req && c->req->method == HTTP_HEAD ? 0 : r->len;
    rcbuf *b = rcbuf_new(hlen + len);
    memcpy(b->data, head, hlen);
    if (len) memcpy(b->data + hlen, r->body, len);
    conn_send(c, b);
    rcbuf_unref(b);
    if (c->state == CONN_CLOSED) return;
    c->http_busy = 0;
    if (!keep) {
        c->state = CONN_CLOSING;
        c->close_after_flush = 1;
        server__mark_dirty(c->srv, c);
        return;
    }
    http_req_reset(c->req);
    if (c->rlen && !c->in_input) { /* a pipelined request is waiting */
        size_t used = 0;
        process_input(c, c->rbuf, c->rlen, &used);
        if (c->state != CONN_CLOSED) {
            memmove(c->rbuf, c->rbuf + used, c->rlen - used);
            c->rlen -= used;
        }
    }
}

void conn_http_error(conn *c, int status, const char *code, const char *msg) {
    char body[512];
    int n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"code\":\"%s\"}", msg, code);
    conn_http_respond(c, status, "application/json", body, (size_t)n);
}

void conn_ws_accept(conn *c, int endpoint) {
    if (c->state != CONN_HTTP || !c->req) return;
    char accept[29];
    ws_accept_key(c->req->ws_key, strlen(c->req->ws_key), accept);
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    rcbuf *b = rcbuf_copy(head, (size_t)n);
    conn_send(c, b);
    rcbuf_unref(b);
    if (c->state == CONN_CLOSED) return;
    c->state = CONN_WS;
    c->endpoint = endpoint;
    c->http_busy = 0;
    http_req_reset(c->req);
    free(c->req);
    c->req = NULL;
    if (c->srv->h.ws_open) c->srv->h.ws_open(c->srv->h.data, c);
    if (c->rlen && c->state == CONN_WS && !c->in_input) { /* frames right behind the upgrade */
        size_t used = 0;
        process_input(c, c->rbuf, c->rlen, &used);
        if (c->state != CONN_CLOSED) {
            memmove(c->rbuf, c->rbuf + used, c->rlen - used);
            c->rlen -= used;
        }
    }
}

/* ---- WebSocket input ---- */

static void ws_protocol_close(conn *c, uint16_t code, const char *why) {
    log_debug("closing WebSocket %d: %s", code, why);
    conn_close_ws(c, code, why);
}

static void send_control(conn *c, int opcode, const uint8_t *payload, size_t len) {
    rcbuf *b = rcbuf_new(WS_MAX_HEADER + len);
    size_t hlen = ws_write_header((uint8_t *)b->data, 1, opcode, len, NULL);
    memcpy(b->data + hlen, payload, len);
    b->len = hlen + len;
    conn_send(c, b);
    rcbuf_unref(b);
}

static void handle_close_frame(conn *c, const uint8_t *p, size_t len) {
    uint16_t code = 1000;
    int rc = ws_parse_close(p, len, &code);
    if (rc == -2) ws_protocol_close(c, WS_CLOSE_BAD_DATA, "invalid UTF-8 in close reason");
    else if (rc < 0) ws_protocol_close(c, WS_CLOSE_PROTOCOL, "invalid close frame");
    else conn_close_ws(c, code == 1005 ? WS_CLOSE_NORMAL : code, "");
}

/* One whole frame with unmasked payload. */
static void handle_frame(conn *c, const ws_header *h, uint8_t *p, size_t len) {
    server *s = c->srv;
    if (s->h.ws_activity) s->h.ws_activity(s->h.data, c);
    switch (h->opcode) {
    case WS_OP_PING: send_control(c, WS_OP_PONG, p, len); return;
    case WS_OP_PONG: return;
    case WS_OP_CLOSE: handle_close_frame(c, p, len); return;
    case WS_OP_BINARY:
        if (c->msg_op) break;
        ws_protocol_close(c, WS_CLOSE_UNSUPPORTED, "binary frames are not supported");
        return;
    case WS_OP_TEXT:
        if (c->msg_op) break;
        if (!utf8_valid(p, len) && h->fin) {
            ws_protocol_close(c, WS_CLOSE_BAD_DATA, "invalid UTF-8 in text frame");
            return;
        }
        if (h->fin) {
            s->h.ws_message(s->h.data, c, (const char *)p, len);
            return;
        }
        c->msg_op = WS_OP_TEXT;
        c->utf8_state = 0;
        c->msg_len = 0;
        /* fall into the continuation path */
        goto append;
    case WS_OP_CONT:
        if (!c->msg_op) {
            ws_protocol_close(c, WS_CLOSE_PROTOCOL, "continuation frame without a message");
            return;
        }
        goto append;
    default: break;
    }
    ws_protocol_close(c, WS_CLOSE_PROTOCOL, "new data frame inside a fragmented message");
    return;

append:
    if (c->msg_len + len > s->lim.max_message) {
        ws_protocol_close(c, WS_CLOSE_TOO_BIG, "message too large");
        return;
    }
    if (utf8_feed(&c->utf8_state, p, len) < 0) {
        ws_protocol_close(c, WS_CLOSE_BAD_DATA, "invalid UTF-8 in text frame");
        return;
    }
    if (len) {
        char *n = realloc(c->msg, c->msg_len + len + 1);
        if (!n) abort();
        c->msg = n;
        memcpy(c->msg + c->msg_len, p, len);
        c->msg_len += len;
    }
    if (!h->fin) return;
    if (c->utf8_state != 0) {
        ws_protocol_close(c, WS_CLOSE_BAD_DATA, "truncated UTF-8 at message end");
        return;
    }
    char *msg = c->msg;
    size_t mlen = c->msg_len;
    c->msg = NULL;
    c->msg_len = 0;
    c->msg_op = 0;
    s->h.ws_message(s->h.data, c, msg ? msg : "", mlen);
    free(msg);
}

static size_t process_ws(conn *c, char *data, size_t len) {
    size_t off = 0;
    while (off < len && c->state == CONN_WS) {
        ws_header h;
        int hl = ws_parse_header((uint8_t *)data + off, len - off, 1, c->srv->lim.max_message, &h);
        if (hl == WS_INCOMPLETE) break;
        if (hl == WS_ERR_TOO_BIG) {
            ws_protocol_close(c, WS_CLOSE_TOO_BIG, "frame too large");
            return len;
        }
        if (hl < 0) {
            ws_protocol_close(c, WS_CLOSE_PROTOCOL, "malformed frame");
            return len;
        }
        if (len - off - (size_t)hl < h.payload_len) break; /* payload incomplete */
        uint8_t *p = (uint8_t *)data + off + hl;
        ws_mask(p, (size_t)h.payload_len, h.mask, 0);
        off += (size_t)hl + (size_t)h.payload_len;
        handle_frame(c, &h, p, (size_t)h.payload_len);
    }
    if (c->state != CONN_WS) return len; /* closing: ignore the rest */
    return off;
}

static size_t process_http(conn *c, char *data, size_t len) {
    size_t off = 0;
    while (off < len && c->state == CONN_HTTP && !c->http_busy) {
        size_t used = 0;
        int rc = http_req_feed(c->req, data + off, len - off, &used);
        off += used;
        if (rc < 0) {
            int st = c->req->error_status ? c->req->error_status : 400;
            c->req->keep_alive = 0;
            conn_http_error(c, st, "invalid_request",
                            st == 431   ? "request head too large (limit 16 KiB)"
                            : st == 413 ? "request body too large (limit 64 KiB)"
                                        : "malformed HTTP request");
            return len;
        }
        if (rc == 0) break;
        c->http_busy = 1;
        if (c->req->upgrade) {
            c->srv->h.ws_upgrade(c->srv->h.data, c, c->req);
            return off; /* the rest is WebSocket data, kept for after the 101 */
        }
        c->srv->h.http(c->srv->h.data, c, c->req);
    }
    return off;
}

/* Parses as much of data as possible; *used says how much was consumed. */
static void process_input(conn *c, char *data, size_t len, size_t *used) {
    conn_ref(c); /* handlers may close c */
    c->in_input = 1;
    size_t off = 0;
    for (;;) {
        size_t n = 0;
        if (c->state == CONN_HTTP && !c->http_busy) n = process_http(c, data + off, len - off);
        else if (c->state == CONN_WS) n = process_ws(c, data + off, len - off);
        else if (c->state == CONN_CLOSING) n = len - off; /* discard */
        off += n;
        if (n == 0 || off >= len) break;
    }
    *used = off;
    c->in_input = 0;
    conn_unref(c);
}

static void append_tail(conn *c, const char *p, size_t n) {
    size_t need = c->rlen + n;
    size_t cap_limit = c->srv->lim.max_message + WS_MAX_HEADER + HTTP_MAX_HEAD + HTTP_MAX_BODY;
    if (need > cap_limit) {
        conn_abort(c);
        return;
    }
    if (need > c->rcap) {
        size_t ncap = c->rcap ? c->rcap : 1024;
        while (ncap < need) ncap *= 2;
        char *nb = realloc(c->rbuf, ncap);
        if (!nb) abort();
        c->rbuf = nb;
        c->rcap = ncap;
    }
    memcpy(c->rbuf + c->rlen, p, n);
    c->rlen += n;
}

void conn__on_read(conn *c, char *data, size_t len) {
    if (c->state == CONN_CLOSED) return;
    if (c->rlen == 0) {
        size_t used = 0;
        process_input(c, data, len, &used);
        if (c->state != CONN_CLOSED && used < len) append_tail(c, data + used, len - used);
    } else {
        append_tail(c, data, len);
        if (c->state == CONN_CLOSED) return;
        size_t used = 0;
        process_input(c, c->rbuf, c->rlen, &used);
        if (c->state == CONN_CLOSED) return;
        memmove(c->rbuf, c->rbuf + used, c->rlen - used);
        c->rlen -= used;
    }
    if (c->rlen == 0 && c->rbuf) { /* idle connections keep no buffer */
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
    }
}

void conn__on_eof(conn *c) { close_socket(c); }
