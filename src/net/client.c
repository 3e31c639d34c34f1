/*
 * client: the blocking WebSocket client of client.h (the URL and HTTP
 * parts are in client_http.c, which also holds the socket, deadline and
 * buffer helpers used here; see client_internal.h).
 *
 * Every wait is bounded by a deadline. Each connection keeps one receive
 * buffer: bytes that arrive together with the 101 response (servers often
 * send a frame at once) stay in it.
 */
#include "net/client.h"
#include "net/client_internal.h"
#include "core/err.h"

#include "net/ws.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define WSC_MAX_MSG ((size_t)16 << 20) /* largest message we accept */
#define WSC_SEND_TIMEOUT_MS 10000
#define WSC_CLOSE_WAIT_MS 200

/* ---- WebSocket ---- */

struct wsc {
    client__sock s; /* TCP, or TLS over it */
    client__buf in; /* received bytes; unconsumed from in.p + off */
    size_t off;
    client__buf msg;  /* fragments of the message being reassembled */
    int msg_op;       /* its opcode; 0 when none is in progress */
    int close_sent;   /* we sent a close frame: send nothing more */
    int done;         /* close frame returned or connection broken */
    uint8_t rnd[256]; /* random bytes for masking keys */
    size_t rnd_pos;
};

/* n <= 256: getrandom() then never returns short or EINTR (getrandom(2)). */
static int random_bytes(void *p, size_t n) {
    return getrandom(p, n, 0) == (ssize_t)n ? 0 : -1;
}

/* A fresh masking key per frame, from a batch of getrandom() bytes. */
static int next_mask(wsc *c, uint8_t mask[4]) {
    if (c->rnd_pos + 4 > sizeof(c->rnd)) {
        if (random_bytes(c->rnd, sizeof(c->rnd)) < 0) return -1;
        c->rnd_pos = 0;
    }
    memcpy(mask, c->rnd + c->rnd_pos, 4);
    c->rnd_pos += 4;
    return 0;
}

wsc *wsc_connect(tls_ctx *tls, const char *host, int port, const char *path,
                 const char *extra_headers, int timeout_ms, int *http_status) {
    int64_t deadline = client__deadline_after(timeout_ms);
    client__buf b = {0};
    char *req = NULL;
    wsc *c = NULL;
    client__sock s = {.fd = -1};
    if (http_status) *http_status = 0;

    uint8_t nonce[16];
    char key[32], accept[29], hosthdr[300];
    if (random_bytes(nonce, sizeof(nonce)) < 0) goto fail;
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce)); /* 24 chars */
    ws_accept_key(key, strlen(key), accept);
    client__format_host(hosthdr, sizeof(hosthdr), host, port);

    const char *fmt = "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n%s\r\n";
    const char *extra = extra_headers ? extra_headers : "";
    int rlen = snprintf(NULL, 0, fmt, path, hosthdr, key, extra);
    if (rlen < 0 || !(req = malloc((size_t)rlen + 1))) goto fail;
    snprintf(req, (size_t)rlen + 1, fmt, path, hosthdr, key, extra);

    if (client__open(&s, tls, host, port, deadline) < 0) goto fail;
    if (client__send_all(&s, req, (size_t)rlen, deadline) < 0) goto fail;
    ssize_t head = client__read_head(&b, &s, deadline);
    if (head < 0) goto fail;
    int status = client__head_status(b.p, (size_t)head);
    if (http_status) *http_status = status < 0 ? 0 : status;
    if (status != 101) goto fail;

    size_t vlen;
    const char *v = client__head_find(b.p, (size_t)head, "Upgrade", &vlen);
    if (!v || !client__value_has(v, vlen, "websocket")) goto fail;
    v = client__head_find(b.p, (size_t)head, "Sec-WebSocket-Accept", &vlen);
    if (!v || vlen != 28 || memcmp(v, accept, 28) != 0) goto fail;

    if (!(c = calloc(1, sizeof(*c)))) goto fail;
    c->s = s;
    c->rnd_pos = sizeof(c->rnd); /* empty: filled on first use */
    /* Keep the buffer: bytes after the head are the server's first frames. */
    c->in = b;
    c->off = (size_t)head;
    free(req);
    return c;

fail:
    free(b.p);
    free(req);
    client__close(&s);
    return NULL;
}

int wsc_send_raw(wsc *c, const void *data, size_t len) {
    if (!c || c->s.fd < 0) return -1;
    return client__send_all(&c->s, data, len, client__deadline_after(WSC_SEND_TIMEOUT_MS));
}

int wsc_send_frame(wsc *c, int fin, int opcode, const void *data, size_t len) {
    uint8_t stackbuf[4096], mask[4];
    if (!c || c->s.fd < 0 || next_mask(c, mask) < 0) return -1;

    size_t total = WS_MAX_HEADER + len;
    uint8_t *f = total <= sizeof(stackbuf) ? stackbuf : malloc(total);
    if (!f) return -1;
    size_t h = ws_write_header(f, fin, opcode, len, mask);
    if (len) memcpy(f + h, data, len);
    ws_mask(f + h, len, mask, 0);
    int r = wsc_send_raw(c, f, h + len);
    if (f != stackbuf) free(f);
    if (opcode == WS_OP_CLOSE) c->close_sent = 1;
    return r;
}

int wsc_send_text(wsc *c, const char *s, size_t len) {
    return wsc_send_frame(c, 1, WS_OP_TEXT, s, len);
}

/* Sends our close frame once (code 0: empty payload). Best effort. */
static void send_close(wsc *c, uint16_t code) {
    uint8_t p[125];
    if (c->close_sent) return;
    size_t n = ws_close_payload(p, code, NULL);
    wsc_send_frame(c, 1, WS_OP_CLOSE, p, n);
}

/* The server broke the protocol: tell it (best effort) and give up. */
static int fail_connection(wsc *c, uint16_t code) {
    send_close(c, code);
    c->done = 1;
    return -1;
}

static int msg_set(wsc_msg *m, int opcode, const uint8_t *p, size_t len) {
    m->opcode = opcode;
    m->data = malloc(len + 1);
    if (!m->data) return -1;
    if (len) memcpy(m->data, p, len);
    m->data[len] = '\0';
    m->len = len;
    return 1;
}

static int handle_close(wsc *c, const uint8_t *p, size_t len, wsc_msg *m) {
    uint16_t code;
    int valid = ws_parse_close(p, len, &code) == 0;
    c->done = 1;
    if (msg_set(m, WS_OP_CLOSE, p, len) < 0) return -1;
    m->close_code = len >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 1005;
    size_t rlen = len > 2 ? len - 2 : 0;
    if (rlen > sizeof(m->close_reason) - 1) rlen = sizeof(m->close_reason) - 1;
    memcpy(m->close_reason, p + 2, rlen);
    m->close_reason[rlen] = '\0';
    /* Echo the code (RFC 6455 5.5.1), or report the server's violation. */
    send_close(c, !valid ? WS_CLOSE_PROTOCOL : code == 1005 ? 0 : code);
    return 1;
}

/* Handles one whole frame: 1 when *m holds a message, 0 to keep reading,
 * -1 when the connection is finished. p points into c->in. */
static int handle_frame(wsc *c, const ws_header *h, const uint8_t *p, size_t len, wsc_msg *m) {
    switch (h->opcode) {
    case WS_OP_PING:
        if (!c->close_sent) wsc_send_frame(c, 1, WS_OP_PONG, p, len);
        return 0;
    case WS_OP_PONG:
        return msg_set(m, WS_OP_PONG, p, len);
    case WS_OP_CLOSE:
        return handle_close(c, p, len, m);
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (c->msg_op) return fail_connection(c, WS_CLOSE_PROTOCOL); /* inside a fragmented one */
        if (h->fin) return msg_set(m, h->opcode, p, len);
        c->msg_op = h->opcode;
        break;
    default: /* WS_OP_CONT */
        if (!c->msg_op) return fail_connection(c, WS_CLOSE_PROTOCOL);
        break;
    }

    if (len > WSC_MAX_MSG - c->msg.len || client__buf_reserve(&c->msg, len) < 0)
        return fail_connection(c, WS_CLOSE_TOO_BIG);
    memcpy(c->msg.p + c->msg.len, p, len);
    c->msg.len += len;
    if (!h->fin) return 0;

    /* Hand the reassembled message over; the caller frees it. */
    m->opcode = c->msg_op;
    m->data = c->msg.p;
    m->data[c->msg.len] = '\0';
    m->len = c->msg.len;
    memset(&c->msg, 0, sizeof(c->msg));
    c->msg_op = 0;
    return 1;
}

int wsc_recv(wsc *c, int timeout_ms, wsc_msg *m) {
    int64_t deadline = client__deadline_after(timeout_ms);
    memset(m, 0, sizeof(*m));
    if (!c || c->done || c->s.fd < 0) return -1;

    for (;;) {
        ws_header h;
        size_t avail = c->in.len - c->off;
        const uint8_t *frame = (const uint8_t *)c->in.p + c->off;
        int r = ws_parse_header(frame, avail, 0, WSC_MAX_MSG, &h);
        if (r == WS_ERR_TOO_BIG) return fail_connection(c, WS_CLOSE_TOO_BIG);
        if (r < 0 && r != WS_INCOMPLETE) return fail_connection(c, WS_CLOSE_PROTOCOL);

        size_t need = avail + WS_MAX_HEADER;
        if (r > 0) {
            need = (size_t)r + (size_t)h.payload_len;
            if (need <= avail) {
                c->off += need;
                int got = handle_frame(c, &h, frame + r, (size_t)h.payload_len, m);
                if (got != 0) return got;
                continue;
            }
        }

        /* Drop consumed bytes, then read at least up to `need`. */
        memmove(c->in.p, c->in.p + c->off, avail);
        c->in.len = avail;
        c->off = 0;
        ssize_t n = client__buf_read(&c->in, &c->s, need - avail, deadline);
        if (n == CHATD_ETIMEDOUT) return 0;
        if (n <= 0) {
            c->done = 1; /* EOF or error without a close frame */
            return -1;
        }
    }
}

void wsc_msg_free(wsc_msg *m) {
    if (!m) return;
    free(m->data);
    m->data = NULL;
    m->len = 0;
}

int wsc_pending(const wsc *c) {
    if (!c) return 0;
    if (c->done) return 1; /* wsc_recv reports it at once */
    ws_header h;
    size_t avail = c->in.len - c->off;
    int r = ws_parse_header((const uint8_t *)c->in.p + c->off, avail, 0, WSC_MAX_MSG, &h);
    if (r == WS_INCOMPLETE) return client__buffered(&c->s);
    return r < 0 || h.payload_len <= avail - (size_t)r || client__buffered(&c->s);
}

int wsc_fd(const wsc *c) {
    return c ? c->s.fd : -1;
}

void wsc_close(wsc *c, uint16_t code) {
    if (!c) return;
    if (c->s.fd >= 0 && !c->done && code != 0) {
        send_close(c, code);
        /* Give the server a moment to answer, so it sees a clean close. */
        int64_t deadline = client__deadline_after(WSC_CLOSE_WAIT_MS);
        wsc_msg m;
        while (wsc_recv(c, client__remaining_ms(deadline), &m) == 1) {
            int was_close = m.opcode == WS_OP_CLOSE;
            wsc_msg_free(&m);
            if (was_close) break;
        }
    }
    client__close(&c->s);
    free(c->in.p);
    free(c->msg.p);
    free(c);
}
