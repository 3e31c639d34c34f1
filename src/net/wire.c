/*
 * wire: the I/O-free protocol core of a connection (see wire.h).
 *
 * Input is read either from the chunk the owner lent (zero copy: the usual
 * case, a whole request or frame per read) or, when an earlier feed left a
 * partial request or frame behind, from the wire's own buffer, to which new
 * bytes are then appended. Whatever a feed does not consume is copied into
 * the own buffer by wire_keep_rest; nothing else is ever copied except the
 * payload of a fragmented message, which is reassembled.
 */
#include "net/wire.h"
#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "net/ws.h"

/* Most bytes kept between feeds: a whole request (head and body) or a
 * whole frame, plus what may be pipelined behind an upgrade. */
static size_t keep_cap(const wire *w) {
    return w->max_message + WS_MAX_HEADER + HTTP_MAX_HEAD + HTTP_MAX_BODY;
}

/* Own-buffer bytes may hold an HTTP body (a password): wipe before free. */
static void free_own(wire *w) {
    if (w->own) {
        explicit_bzero(w->own, w->own_cap);
        free(w->own);
    }
    w->own = NULL;
    w->own_len = w->own_off = w->own_cap = 0;
}

static void drop_done_msg(wire *w) {
    free(w->done_msg);
    w->done_msg = NULL;
}

void wire_init(wire *w, size_t max_message) {
    memset(w, 0, sizeof(*w));
    w->mode = WIRE_HTTP;
    w->max_message = max_message;
}

static void free_req(wire *w) {
    if (!w->req) return;
    http_req_reset(w->req);
    free(w->req);
    w->req = NULL;
}

void wire_free(wire *w) {
    free_req(w);
    free_own(w);
    free(w->msg);
    w->msg = NULL;
    drop_done_msg(w);
}

/* Appends data to the own buffer (compacting it first). 0 or -1 (cap). */
static int own_append(wire *w, const char *data, size_t len) {
    if (w->own_off) {
        memmove(w->own, w->own + w->own_off, w->own_len - w->own_off);
        w->own_len -= w->own_off;
        w->own_off = 0;
    }
    size_t need = w->own_len + len;
    if (need > keep_cap(w)) return -1;
    if (need > w->own_cap) {
        size_t ncap = w->own_cap ? w->own_cap : 1024;
        while (ncap < need)
            ncap *= 2;
        char *n = xmalloc(ncap);
        size_t keep = w->own_len;
        if (keep) memcpy(n, w->own, keep);
        free_own(w);
        w->own = n;
        w->own_cap = ncap;
        w->own_len = keep;
    }
    memcpy(w->own + w->own_len, data, len);
    w->own_len += len;
    return 0;
}

int wire_feed(wire *w, char *data, size_t len) {
    drop_done_msg(w);
    w->lent = NULL;
    w->lent_len = w->lent_off = 0;
    if (w->mode == WIRE_STOPPED || len == 0) return 0;
    if (w->own_off < w->own_len) return own_append(w, data, len);
    free_own(w);
    w->lent = data;
    w->lent_len = len;
    return 0;
}

int wire_keep_rest(wire *w) {
    drop_done_msg(w);
    int rc = 0;
    if (w->lent && w->lent_off < w->lent_len && w->mode != WIRE_STOPPED)
        rc = own_append(w, w->lent + w->lent_off, w->lent_len - w->lent_off);
    w->lent = NULL;
    w->lent_len = w->lent_off = 0;
    if (w->own_off >= w->own_len) free_own(w);
    return rc;
}

/* The unconsumed input: the own buffer if it has bytes, else the lent chunk. */
static size_t avail(wire *w, char **buf) {
    if (w->own_off < w->own_len) {
        *buf = w->own + w->own_off;
        return w->own_len - w->own_off;
    }
    if (w->lent) {
        *buf = w->lent + w->lent_off;
        return w->lent_len - w->lent_off;
    }
    *buf = NULL;
    return 0;
}

static void consume(wire *w, size_t n) {
    if (w->own_off < w->own_len)
        w->own_off += n;
    else
        w->lent_off += n;
}

static wire_event_kind stop_with(wire *w, wire_event *ev, wire_event_kind kind, uint16_t code,
                                 const char *reason) {
    w->mode = WIRE_STOPPED;
    ev->kind = kind;
    ev->code = code;
    ev->reason = reason;
    return kind;
}

static wire_event_kind next_http(wire *w, wire_event *ev) {
    char *buf;
    size_t n = avail(w, &buf);
    if (n == 0) return WIRE_IDLE;
    if (!w->req) {
        w->req = xmalloc(sizeof(*w->req));
        http_req_init(w->req);
    }
    size_t used = 0;
    int rc = http_req_feed(w->req, buf, n, &used);
    consume(w, used);
    if (rc < 0) {
        int st = w->req->error_status ? w->req->error_status : 400;
        return stop_with(w, ev, WIRE_BAD_REQUEST, (uint16_t)st,
                         st == 431   ? "request head too large (limit 16 KiB)"
                         : st == 413 ? "request body too large (limit 64 KiB)"
                                     : "malformed HTTP request");
    }
    if (rc == 0) return WIRE_IDLE;
    ev->req = w->req;
    if (w->req->upgrade) {
        w->mode = WIRE_UPGRADE_HELD;
        return ev->kind = WIRE_UPGRADE;
    }
    w->mode = WIRE_HTTP_HELD;
    return ev->kind = WIRE_REQUEST;
}

/* A whole data frame (text, binary or continuation). Returns the event, or
 * WIRE_IDLE when the frame was a non-final fragment. */
static wire_event_kind data_frame(wire *w, wire_event *ev, const ws_header *h, char *p,
                                  size_t len) {
    if (h->opcode == WS_OP_BINARY && !w->msg_op)
        return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_UNSUPPORTED,
                         "binary frames are not supported");
    if (h->opcode != WS_OP_CONT && w->msg_op)
        return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_PROTOCOL,
                         "new data frame inside a fragmented message");
    if (h->opcode == WS_OP_CONT && !w->msg_op)
        return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_PROTOCOL,
                         "continuation frame without a message");
    if (h->opcode == WS_OP_TEXT && h->fin) { /* the usual case: one whole frame */
        if (!utf8_valid((const uint8_t *)p, len))
            return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_BAD_DATA,
                             "invalid UTF-8 in text frame");
        ev->kind = WIRE_TEXT;
        ev->data = p;
        ev->len = len;
        return WIRE_TEXT;
    }
    if (h->opcode == WS_OP_TEXT) {
        w->msg_op = WS_OP_TEXT;
        w->utf8_state = 0;
        w->msg_len = 0;
    }
    if (w->msg_len + len > w->max_message)
        return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_TOO_BIG, "message too large");
    if (utf8_feed(&w->utf8_state, (const uint8_t *)p, len) < 0)
        return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_BAD_DATA, "invalid UTF-8 in text frame");
    char *m = xrealloc(w->msg, w->msg_len + len + 1);
    w->msg = m;
    if (len) memcpy(w->msg + w->msg_len, p, len);
    w->msg_len += len;
    if (!h->fin) return WIRE_IDLE;
    if (w->utf8_state != 0)
        return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_BAD_DATA,
                         "truncated UTF-8 at message end");
    w->done_msg = w->msg; /* freed by the next wire_* call */
    ev->kind = WIRE_TEXT;
    ev->data = w->msg;
    ev->len = w->msg_len;
    w->msg = NULL;
    w->msg_len = 0;
    w->msg_op = 0;
    return WIRE_TEXT;
}

static wire_event_kind next_ws(wire *w, wire_event *ev) {
    for (;;) {
        char *buf;
        size_t n = avail(w, &buf);
        if (n == 0) return WIRE_IDLE;
        ws_header h;
        int hl = ws_parse_header((uint8_t *)buf, n, 1, w->max_message, &h);
        if (hl == WS_INCOMPLETE) return WIRE_IDLE;
        if (hl == WS_ERR_TOO_BIG)
            return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_TOO_BIG, "frame too large");
        if (hl < 0) return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_PROTOCOL, "malformed frame");
        if (n - (size_t)hl < h.payload_len) return WIRE_IDLE; /* payload incomplete */
        char *p = buf + hl;
        size_t len = (size_t)h.payload_len;
        ws_mask((uint8_t *)p, len, h.mask, 0);
        consume(w, (size_t)hl + len);
        switch (h.opcode) {
        case WS_OP_PING:
        case WS_OP_PONG:
            ev->kind = h.opcode == WS_OP_PING ? WIRE_PING : WIRE_PONG;
            ev->data = p;
            ev->len = len;
            return ev->kind;
        case WS_OP_CLOSE: {
            uint16_t code = 1000;
            int rc = ws_parse_close((const uint8_t *)p, len, &code);
            if (rc == CHATD_EUTF8)
                return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_BAD_DATA,
                                 "invalid UTF-8 in close reason");
            if (rc < 0)
                return stop_with(w, ev, WIRE_VIOLATION, WS_CLOSE_PROTOCOL, "invalid close frame");
            return stop_with(w, ev, WIRE_CLOSE, code == 1005 ? WS_CLOSE_NORMAL : code, NULL);
        }
        default: {
            wire_event_kind k = data_frame(w, ev, &h, p, len);
            if (k != WIRE_IDLE) return k;
        }
        }
    }
}

wire_event_kind wire_next(wire *w, wire_event *ev) {
    drop_done_msg(w);
    memset(ev, 0, sizeof(*ev));
    switch (w->mode) {
    case WIRE_HTTP:
        return next_http(w, ev);
    case WIRE_WS:
        return next_ws(w, ev);
    case WIRE_STOPPED: {
        char *buf;
        consume(w, avail(w, &buf)); /* discard */
        return WIRE_IDLE;
    }
    default:
        return WIRE_IDLE; /* held */
    }
}

void wire_http_done(wire *w) {
    if (w->mode != WIRE_HTTP_HELD) return;
    http_req_reset(w->req);
    w->mode = WIRE_HTTP;
}

void wire_upgraded(wire *w) {
    if (w->mode != WIRE_UPGRADE_HELD) return;
    free_req(w);
    w->mode = WIRE_WS;
}

void wire_stop(wire *w) {
    w->mode = WIRE_STOPPED;
    free_req(w);
    free_own(w);
    free(w->msg);
    w->msg = NULL;
    w->msg_len = 0;
    w->msg_op = 0;
}

size_t wire_buffered(const wire *w) {
    size_t n = w->own_cap + (w->msg ? w->msg_len : 0);
    if (w->req) n += sizeof(*w->req) + w->req->url_len + w->req->body_len;
    return n;
}

int wire_has_input(const wire *w) {
    return w->own_off < w->own_len;
}
