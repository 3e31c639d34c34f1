/*
 * wsconn: non-blocking WebSocket client connection (see wsconn.h).
 *
 * Reads land in one static 64 KiB buffer shared by every connection (the
 * loop is single-threaded and a read callback finishes before the next
 * read); frames are parsed in place there. Only an incomplete tail is
 * copied into the connection's own buffer, which is freed once drained, so
 * an idle connection owns no read memory. Writes try the socket directly
 * (uv_try_write) and allocate only for what the kernel did not take.
 */
#define _GNU_SOURCE /* memmem */
#include "wsconn.h"

#include "core/err.h"
#include "net/ws.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define READ_BUF (64 * 1024)
#define MAX_MESSAGE (16u * 1024 * 1024)
#define MAX_HANDSHAKE (16 * 1024)
#define STACK_FRAME 4096

/* RFC 6455's sample key: the accept value is fixed, so it is checked with
 * one string search. A load generator needs no unpredictable key. */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

uint64_t wsconn_frames_in, wsconn_bytes_in;
tls_ctx *wsconn_tls;

static char g_rbuf[READ_BUF + 1]; /* +1: room to NUL-terminate a payload */
static char g_pbuf[READ_BUF + 1]; /* TLS: decrypted bytes, parsed in place the same way */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

typedef struct open_req {
    uv_connect_t connect;
    uv_write_t write;
    size_t len;
    char text[];
} open_req;

typedef struct write_req {
    uv_write_t req;
    char data[];
} write_req;

static uint32_t rng_next(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 16);
}

static void on_closed(uv_handle_t *h) {
    wsconn *c = (wsconn *)h;
    tls_conn_free(c->tls);
    c->tls = NULL;
    free(c->upgrade);
    c->upgrade = NULL;
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = c->rcap = 0;
    c->state = WSCONN_IDLE;
    c->cbs->on_close(c, c->err, c->http_status);
}

static void fail(wsconn *c, int err) {
    if (c->state == WSCONN_CLOSING || c->state == WSCONN_IDLE) return;
    c->err = err;
    c->state = WSCONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_write_done(uv_write_t *req, int status) {
    wsconn *c = req->handle->data;
    free(req);
    if (status < 0 && status != UV_ECANCELED) fail(c, status);
}

/* Writes len bytes to the socket: directly when nothing is queued,
 * queuing the rest. */
static int write_raw(wsconn *c, const char *p, size_t len) {
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n == (int)len) return 0;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n != UV_EAGAIN) {
            fail(c, n);
            return -1;
        }
    }
    write_req *w = malloc(sizeof *w + len);
    if (!w) {
        fail(c, UV_ENOMEM);
        return -1;
    }
    memcpy(w->data, p, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write_done);
    if (rc < 0) {
        free(w);
        fail(c, rc);
        return -1;
    }
    return 0;
}

/* TLS: sends what the TLS layer has sealed. */
static int flush_tls(wsconn *c) {
    rcbuf *out = tls_conn_take_out(c->tls);
    if (!out) return 0;
    int rc = write_raw(c, out->data, out->len);
    rcbuf_unref(out);
    return rc;
}

/* Writes plaintext: sealed first over TLS. */
static int write_bytes(wsconn *c, const char *p, size_t len) {
    if (!c->tls) return write_raw(c, p, len);
    if (tls_conn_write(c->tls, p, len) != 0) {
        fail(c, -1);
        return -1;
    }
    return flush_tls(c);
}

static int send_frame(wsconn *c, int opcode, const char *s, size_t n) {
    char stackbuf[STACK_FRAME];
    uint8_t mask[4];
    uint32_t r = rng_next();
    memcpy(mask, &r, 4);
    size_t total = WS_MAX_HEADER + n;
    char *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!buf) return -1;
    size_t hl = ws_write_header((uint8_t *)buf, 1, opcode, n, mask);
    memcpy(buf + hl, s, n);
    ws_mask((uint8_t *)buf + hl, n, mask, 0);
    int rc = write_bytes(c, buf, hl + n);
    if (buf != stackbuf) free(buf);
    return rc;
}

int wsconn_send_text(wsconn *c, const char *s, size_t n) {
    if (c->state != WSCONN_OPEN) return -1;
    return send_frame(c, WS_OP_TEXT, s, n);
}

size_t wsconn_backlog(const wsconn *c) {
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

void wsconn_close(wsconn *c) {
    if (c->state == WSCONN_OPEN && !c->close_sent) {
        uint8_t payload[125];
        size_t n = ws_close_payload(payload, WS_CLOSE_NORMAL, NULL);
        c->close_sent = 1;
        send_frame(c, WS_OP_CLOSE, (const char *)payload, n);
    }
    fail(c, 0);
}

/* Handles the 101 response; returns bytes consumed, 0 when incomplete,
 * -1 on failure (already reported). */
static long parse_handshake(wsconn *c, const char *p, size_t len) {
    const char *end = memmem(p, len, "\r\n\r\n", 4);
    if (!end) {
        if (len > MAX_HANDSHAKE) {
            fail(c, -1);
            return -1;
        }
        return 0;
    }
    size_t head = (size_t)(end - p) + 4;
    int status = 0;
    if (len >= 12 && memcmp(p, "HTTP/1.1 ", 9) == 0) status = atoi(p + 9);
    c->http_status = (int16_t)status;
    if (status != 101 || !memmem(p, head, WS_ACCEPT, sizeof WS_ACCEPT - 1)) {
        fail(c, -1);
        return -1;
    }
    c->state = WSCONN_OPEN;
    c->cbs->on_open(c);
    return (long)head;
}

/* Parses whole frames from p[0..len) (p[len] is writable); returns bytes
 * consumed, or -1 after the connection failed or was closed. */
static long parse_frames(wsconn *c, char *p, size_t len) {
    size_t off = 0;
    while (off < len && c->state == WSCONN_OPEN) {
        ws_header h;
        int hl = ws_parse_header((const uint8_t *)p + off, len - off, 0, MAX_MESSAGE, &h);
        if (hl == WS_INCOMPLETE) break;
        if (hl < 0) {
            fail(c, -1);
            return -1;
        }
        if (len - off - (size_t)hl < h.payload_len) break;
        char *pl = p + off + hl;
        size_t n = (size_t)h.payload_len;
        off += (size_t)hl + n;
        if (h.opcode == WS_OP_TEXT && h.fin) {
            char saved = pl[n];
            pl[n] = '\0';
            wsconn_frames_in++;
            wsconn_bytes_in += n;
            c->cbs->on_text(c, pl, n);
            pl[n] = saved;
        } else if (h.opcode == WS_OP_PING) {
            send_frame(c, WS_OP_PONG, pl, n);
        } else if (h.opcode == WS_OP_PONG) {
            /* nothing */
        } else if (h.opcode == WS_OP_CLOSE) {
            if (!c->close_sent) {
                c->close_sent = 1;
                send_frame(c, WS_OP_CLOSE, pl, n < 2 ? n : 2);
            }
            fail(c, 0);
            return -1;
        } else {
            fail(c, -1); /* fragmented or binary: not expected from a chat server */
            return -1;
        }
    }
    return c->state == WSCONN_OPEN ? (long)off : -1;
}

static long parse(wsconn *c, char *p, size_t len) {
    size_t off = 0;
    if (c->state == WSCONN_HANDSHAKE) {
        long n = parse_handshake(c, p, len);
        if (n <= 0) return n;
        off = (size_t)n;
    }
    if (c->state != WSCONN_OPEN) return -1;
    long n = parse_frames(c, p + off, len - off);
    return n < 0 ? -1 : (long)off + n;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    *buf = uv_buf_init(g_rbuf, READ_BUF);
}

/* Makes room for n bytes (+1 for a NUL) in c->rbuf, keeping its content. */
static int grow(wsconn *c, size_t n) {
    if (n + 1 <= c->rcap) return 0;
    if (n > MAX_MESSAGE + MAX_HANDSHAKE) return -1;
    size_t cap = c->rcap ? c->rcap : 1024;
    while (cap < n + 1)
        cap *= 2;
    char *nb = realloc(c->rbuf, cap);
    if (!nb) return -1;
    c->rbuf = nb;
    c->rcap = (uint32_t)cap;
    return 0;
}

/* Plaintext in: parsed in place, an incomplete tail kept. */
static void take(wsconn *c, char *data, size_t nread) {
    char *p = data;
    size_t len = nread;
    if (c->rlen > 0) { /* append to the incomplete tail */
        if (grow(c, c->rlen + len) < 0) {
            fail(c, -1);
            return;
        }
        memcpy(c->rbuf + c->rlen, data, len);
        c->rlen += (uint32_t)len;
        p = c->rbuf;
        len = c->rlen;
    }
    long used = parse(c, p, len);
    if (used < 0) return;
    size_t rest = len - (size_t)used;
    if (rest == 0) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rlen = c->rcap = 0;
    } else if (p == c->rbuf) {
        memmove(c->rbuf, p + used, rest);
        c->rlen = (uint32_t)rest;
    } else if (grow(c, rest) < 0) {
        fail(c, UV_ENOMEM);
    } else {
        memcpy(c->rbuf, p + used, rest);
        c->rlen = (uint32_t)rest;
    }
}

/* TLS: ciphertext in; the handshake, then the upgrade, then plaintext. */
static void take_tls(wsconn *c, const char *data, size_t len) {
    if (tls_conn_feed(c->tls, data, len) != 0) {
        fail(c, -1);
        return;
    }
    while (c->state == WSCONN_HANDSHAKE || c->state == WSCONN_OPEN) {
        ssize_t n = tls_conn_read(c->tls, g_pbuf, READ_BUF);
        if (c->upgrade && tls_conn_handshake(c->tls) == 0) { /* TLS is up: now the upgrade */
            char *req = c->upgrade;
            c->upgrade = NULL;
            write_bytes(c, req, strlen(req));
            free(req);
        }
        if (n > 0) {
            take(c, g_pbuf, (size_t)n);
            continue;
        }
        if (n != CHATD_EINCOMPLETE) fail(c, n == CHATD_ECLOSED ? 0 : -1);
        break;
    }
    if (c->state == WSCONN_HANDSHAKE || c->state == WSCONN_OPEN) flush_tls(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    wsconn *c = (wsconn *)s;
    if (nread < 0) {
        fail(c, c->close_sent ? 0 : (int)nread);
        return;
    }
    if (nread == 0) return;
    if (c->tls)
        take_tls(c, buf->base, (size_t)nread);
    else
        take(c, buf->base, (size_t)nread);
}

static void on_handshake_sent(uv_write_t *w, int status) {
    open_req *r = (open_req *)((char *)w - offsetof(open_req, write));
    wsconn *c = w->handle->data;
    free(r);
    if (status < 0 && status != UV_ECANCELED) fail(c, status);
}

static void on_connect(uv_connect_t *req, int status) {
    open_req *r = (open_req *)req;
    wsconn *c = req->handle->data;
    if (status < 0) {
        free(r);
        if (status != UV_ECANCELED) fail(c, status);
        return;
    }
    c->state = WSCONN_HANDSHAKE;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc == 0 && wsconn_tls) { /* the TLS handshake first; the upgrade once it is done */
        c->tls = tls_conn_new(wsconn_tls, NULL);
        c->upgrade = malloc(r->len + 1);
        if (!c->tls || !c->upgrade) rc = UV_ENOMEM;
        if (rc == 0) {
            memcpy(c->upgrade, r->text, r->len + 1);
            tls_conn_handshake(c->tls);
            rc = flush_tls(c);
        }
        free(r);
        if (rc < 0) fail(c, rc);
        return;
    }
    uv_buf_t b = uv_buf_init(r->text, (unsigned)r->len);
    if (rc == 0) rc = uv_write(&r->write, (uv_stream_t *)&c->tcp, &b, 1, on_handshake_sent);
    if (rc < 0) {
        free(r);
        fail(c, rc);
    }
}

static void on_closed_quietly(uv_handle_t *h) {
    ((wsconn *)h)->state = WSCONN_IDLE;
}

int wsconn_open(uv_loop_t *loop, wsconn *c, const struct sockaddr_in *dst,
                const struct sockaddr_in *src, const char *host, const char *path,
                const wsconn_cbs *cbs) {
    c->cbs = cbs;
    c->state = WSCONN_IDLE;
    c->close_sent = 0;
    c->http_status = 0;
    c->err = 0;
    c->rbuf = NULL;
    c->rlen = c->rcap = 0;
    c->tls = NULL;
    c->upgrade = NULL;
    size_t cap = strlen(path) + strlen(host) + 200;
    open_req *r = malloc(sizeof *r + cap);
    if (!r) return UV_ENOMEM;
    int n = snprintf(r->text, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host);
    r->len = (size_t)n;
    int rc = uv_tcp_init_ex(loop, &c->tcp, AF_INET);
    if (rc < 0) {
        free(r);
        return rc;
    }
    c->tcp.data = c;
    c->state = WSCONN_CONNECTING;
    uv_tcp_nodelay(&c->tcp, 1);
    if (src) {
        uv_os_fd_t fd;
        int one = 1;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        rc = uv_tcp_bind(&c->tcp, (const struct sockaddr *)src, 0);
    }
    if (rc == 0)
        rc = uv_tcp_connect(&r->connect, &c->tcp, (const struct sockaddr *)dst, on_connect);
    if (rc < 0) {
        free(r);
        /* the handle exists: close it quietly, reporting nothing */
        c->state = WSCONN_CLOSING;
        c->err = rc;
        uv_close((uv_handle_t *)&c->tcp, on_closed_quietly);
        return rc;
    }
    return 0;
}
