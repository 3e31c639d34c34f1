/*
 * client: blocking HTTP/1.1 and WebSocket client (see client.h).
 *
 * Sockets are non-blocking underneath and every wait is a poll() bounded
 * by a deadline, so no call can hang past its timeout. The WebSocket side
 * keeps one receive buffer per connection: bytes that arrive together with
 * the 101 response (servers often send a frame at once) stay in it.
 */
#include "net/client.h"

#include "net/ws.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MAX_HEAD (64 * 1024)      /* response head cap */
#define HTTP_MAX_BODY ((size_t)64 << 20) /* response body cap */
#define WSC_MAX_MSG ((size_t)16 << 20)   /* largest message we accept */
#define WSC_SEND_TIMEOUT_MS 10000
#define WSC_CLOSE_WAIT_MS 200

/* ---- time and socket helpers ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline of -1 means "wait forever". */
static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static int remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t r = deadline - now_ms();
    return r < 0 ? 0 : r > INT_MAX ? INT_MAX : (int)r;
}

/* 1 when fd is ready (or has an error to report), 0 on timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -1 : r > 0;
    }
}

static int send_all(int fd, const void *data, size_t len, int64_t deadline)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT, deadline) == 1)
            continue;
        if (n <= 0)
            return -1; /* error, or timed out waiting for room */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads what is available: > 0 bytes, 0 at EOF, -1 error, -2 timeout. */
static ssize_t recv_some(int fd, void *buf, size_t cap, int64_t deadline)
{
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        int w = wait_fd(fd, POLLIN, deadline);
        if (w == 0)
            return -2;
        if (w < 0)
            return -1;
    }
}

static int tcp_connect(const char *host, int port, int64_t deadline)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0)
        return -1;

    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 1) {
            int err = 0;
            socklen_t elen = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
                break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* "host:port", with brackets around an IPv6 literal. */
static void format_host(char *out, size_t cap, const char *host, int port)
{
    if (strchr(host, ':'))
        snprintf(out, cap, "[%s]:%d", host, port);
    else
        snprintf(out, cap, "%s:%d", host, port);
}

/* ---- growable byte buffer ---- */

typedef struct dbuf {
    char *p;
    size_t len, cap;
} dbuf;

/* Makes room for at least `extra` more bytes (plus a NUL). */
static int dbuf_reserve(dbuf *b, size_t extra)
{
    if (b->cap - b->len > extra)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Reads once into b, making room for `chunk` bytes first; keeps b->p
 * NUL-terminated. > 0 bytes, 0 EOF, -1 error, -2 timeout. */
static ssize_t dbuf_read(dbuf *b, int fd, size_t chunk, int64_t deadline)
{
    if (dbuf_reserve(b, chunk) < 0)
        return -1;
    ssize_t n = recv_some(fd, b->p + b->len, b->cap - b->len - 1, deadline);
    if (n > 0)
        b->len += (size_t)n;
    b->p[b->len] = '\0';
    return n;
}

/* ---- HTTP head parsing ---- */

/* Length of the head including its final CRLFCRLF, or 0 if incomplete. */
static size_t head_length(const char *p, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* Status code from "HTTP/1.x NNN ...", or -1. */
static int head_status(const char *p, size_t len)
{
    if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || !isdigit((uint8_t)p[9]) ||
        !isdigit((uint8_t)p[10]) || !isdigit((uint8_t)p[11]))
        return -1;
    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

/* Finds header `name` (case-insensitive) in a head; returns its value with
 * surrounding blanks trimmed and sets *vlen, or NULL. */
static const char *head_find(const char *p, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *end = p + len;
    const char *line = memchr(p, '\n', len); /* skip the status line */
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

/* Case-insensitive: does value v[0..vlen) contain token tok? */
static int value_has(const char *v, size_t vlen, const char *tok)
{
    size_t tlen = strlen(tok);
    for (size_t i = 0; i + tlen <= vlen; i++)
        if (strncasecmp(v + i, tok, tlen) == 0)
            return 1;
    return 0;
}

/* Reads until a whole head is in b; returns its length, or -1. */
static ssize_t read_head(dbuf *b, int fd, int64_t deadline)
{
    for (;;) {
        size_t h = head_length(b->p ? b->p : "", b->len);
        if (h)
            return (ssize_t)h;
        if (b->len > CLIENT_MAX_HEAD)
            return -1;
        if (dbuf_read(b, fd, 2048, deadline) <= 0) /* small: a wsc keeps this buffer */
            return -1;
    }
}

/* ---- URL ---- */

int client_parse_url(const char *url, client_url *out)
{
    const char *p;
    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "ws://", 5) == 0)
        p = url + 5;
    else
        return -1;

    const char *host = p, *host_end;
    if (*p == '[') { /* IPv6 literal */
        host = ++p;
        host_end = strchr(p, ']');
        if (!host_end)
            return -1;
        p = host_end + 1;
    } else {
        p += strcspn(p, ":/?#");
        host_end = p;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof(out->host))
        return -1;
    memcpy(out->host, host, hlen);

    out->port = 80;
    if (*p == ':') {
        long port = 0;
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9' && port <= 65535; p++, digits++)
            port = port * 10 + (*p - '0');
        if (digits == 0 || port < 1 || port > 65535)
            return -1;
        out->port = (int)port;
    }
    if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
        return -1;

    size_t plen = strcspn(p, "#"); /* the fragment is never sent */
    int slash = *p != '/';
    if (plen + (size_t)slash >= sizeof(out->path))
        return -1;
    out->path[0] = '/';
    memcpy(out->path + slash, p, plen);
    out->path[plen + (size_t)slash] = '\0';
    return 0;
}

/* ---- HTTP ---- */

/* Decodes a complete chunked body in place; 0, or -1 when it is malformed
 * or cut short. Only used at EOF: we send "Connection: close". */
static int chunked_decode(char *p, size_t len, size_t *out_len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *eol = memchr(p + in, '\n', len - in), *end;
        unsigned long long n = strtoull(p + in, &end, 16);
        if (!eol || end == p + in || n > len)
            return -1;
        in = (size_t)(eol - p) + 1;
        if (n == 0) {
            *out_len = out; /* trailers, if any, are dropped */
            return 0;
        }
        if (len - in < n)
            return -1;
        memmove(p + out, p + in, (size_t)n);
        out += (size_t)n;
        in += (size_t)n + (len - in - n >= 2 ? 2 : len - in - n); /* CRLF */
    }
}

int http_request(const char *host, int port, const char *method, const char *path,
                 const char *body, size_t body_len, int timeout_ms, http_response *out)
{
    int64_t deadline = deadline_after(timeout_ms);
    dbuf b = { 0 };
    char *req = NULL, hosthdr[300], lenhdr[64] = "";
    int fd = -1;
    memset(out, 0, sizeof(*out));

    format_host(hosthdr, sizeof(hosthdr), host, port);
    int is_head = strcasecmp(method, "HEAD") == 0;
    if (!body)
        body_len = 0;
    if (body || !(is_head || strcasecmp(method, "GET") == 0))
        snprintf(lenhdr, sizeof(lenhdr), "Content-Length: %zu\r\n", body_len);
    const char *fmt = "%s %s HTTP/1.1\r\nHost: %s\r\n%s%sConnection: close\r\n\r\n";
    const char *ctype = body ? "Content-Type: application/json\r\n" : "";
    int hlen = snprintf(NULL, 0, fmt, method, path, hosthdr, ctype, lenhdr);
    if (hlen < 0 || !(req = malloc((size_t)hlen + 1 + body_len)))
        goto fail;
    snprintf(req, (size_t)hlen + 1, fmt, method, path, hosthdr, ctype, lenhdr);
    if (body_len)
        memcpy(req + hlen, body, body_len);

    if ((fd = tcp_connect(host, port, deadline)) < 0 ||
        send_all(fd, req, (size_t)hlen + body_len, deadline) < 0)
        goto fail;
    ssize_t head = read_head(&b, fd, deadline);
    int status = head < 0 ? -1 : head_status(b.p, (size_t)head);
    if (status < 0)
        goto fail;

    /* The body ends after Content-Length bytes, or when the server closes. */
    size_t vlen;
    const char *v;
    int chunked = 0, has_len = is_head || status == 204 || status == 304 || status < 200;
    unsigned long long clen = 0;
    if ((v = head_find(b.p, (size_t)head, "Transfer-Encoding", &vlen)))
        chunked = value_has(v, vlen, "chunked");
    if (!has_len && !chunked && (v = head_find(b.p, (size_t)head, "Content-Length", &vlen))) {
        char *end;
        clen = strtoull(v, &end, 10);
        if (end == v || clen > HTTP_MAX_BODY)
            goto fail;
        has_len = 1;
    }
    while (!has_len || b.len - (size_t)head < clen) {
        if (b.len - (size_t)head > HTTP_MAX_BODY)
            goto fail;
        ssize_t n = dbuf_read(&b, fd, 16384, deadline);
        if (n == 0 && !has_len)
            break;
        if (n <= 0)
            goto fail; /* error, timeout, or closed before Content-Length */
    }
    size_t blen = has_len ? (size_t)clen : b.len - (size_t)head;
    if (chunked && chunked_decode(b.p + head, blen, &blen) < 0)
        goto fail;

    out->status = status;
    out->headers = malloc((size_t)head + 1);
    out->body = malloc(blen + 1);
    if (!out->headers || !out->body)
        goto fail;
    memcpy(out->headers, b.p, (size_t)head);
    out->headers[head] = '\0';
    memcpy(out->body, b.p + head, blen);
    out->body[blen] = '\0';
    out->body_len = blen;
    free(b.p);
    free(req);
    close(fd);
    return 0;

fail:
    http_response_free(out);
    free(b.p);
    free(req);
    if (fd >= 0)
        close(fd);
    return -1;
}

void http_response_free(http_response *r)
{
    if (!r)
        return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

/* ---- WebSocket ---- */

struct wsc {
    int fd;
    dbuf in;              /* received bytes; unconsumed from in.p + off */
    size_t off;
    dbuf msg;             /* fragments of the message being reassembled */
    int msg_op;           /* its opcode; 0 when none is in progress */
    int close_sent;       /* we sent a close frame: send nothing more */
    int done;             /* close frame returned or connection broken */
    uint8_t rnd[256];     /* random bytes for masking keys */
    size_t rnd_pos;
};

/* n <= 256: getrandom() then never returns short or EINTR (getrandom(2)). */
static int random_bytes(void *p, size_t n)
{
    return getrandom(p, n, 0) == (ssize_t)n ? 0 : -1;
}

/* A fresh masking key per frame, from a batch of getrandom() bytes. */
static int next_mask(wsc *c, uint8_t mask[4])
{
    if (c->rnd_pos + 4 > sizeof(c->rnd)) {
        if (random_bytes(c->rnd, sizeof(c->rnd)) < 0)
            return -1;
        c->rnd_pos = 0;
    }
    memcpy(mask, c->rnd + c->rnd_pos, 4);
    c->rnd_pos += 4;
    return 0;
}

wsc *wsc_connect(const char *host, int port, const char *path, const char *extra_headers,
                 int timeout_ms, int *http_status)
{
    int64_t deadline = deadline_after(timeout_ms);
    dbuf b = { 0 };
    char *req = NULL;
    wsc *c = NULL;
    int fd = -1;
    if (http_status)
        *http_status = 0;

    uint8_t nonce[16];
    char key[32], accept[29], hosthdr[300];
    if (random_bytes(nonce, sizeof(nonce)) < 0)
        goto fail;
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce)); /* 24 chars */
    ws_accept_key(key, strlen(key), accept);
    format_host(hosthdr, sizeof(hosthdr), host, port);

    const char *fmt = "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                      "Sec-WebSocket-Version: 13\r\n%s\r\n";
    const char *extra = extra_headers ? extra_headers : "";
    int rlen = snprintf(NULL, 0, fmt, path, hosthdr, key, extra);
    if (rlen < 0 || !(req = malloc((size_t)rlen + 1)))
        goto fail;
    snprintf(req, (size_t)rlen + 1, fmt, path, hosthdr, key, extra);

    if ((fd = tcp_connect(host, port, deadline)) < 0)
        goto fail;
    if (send_all(fd, req, (size_t)rlen, deadline) < 0)
        goto fail;
    ssize_t head = read_head(&b, fd, deadline);
    if (head < 0)
        goto fail;
    int status = head_status(b.p, (size_t)head);
    if (http_status)
        *http_status = status < 0 ? 0 : status;
    if (status != 101)
        goto fail;

    size_t vlen;
    const char *v = head_find(b.p, (size_t)head, "Upgrade", &vlen);
    if (!v || !value_has(v, vlen, "websocket"))
        goto fail;
    v = head_find(b.p, (size_t)head, "Sec-WebSocket-Accept", &vlen);
    if (!v || vlen != 28 || memcmp(v, accept, 28) != 0)
        goto fail;

    if (!(c = calloc(1, sizeof(*c))))
        goto fail;
    c->fd = fd;
    c->rnd_pos = sizeof(c->rnd); /* empty: filled on first use */
    /* Keep the buffer: bytes after the head are the server's first frames. */
    c->in = b;
    c->off = (size_t)head;
    free(req);
    return c;

fail:
    free(b.p);
    free(req);
    if (fd >= 0)
        close(fd);
    return NULL;
}

int wsc_send_raw(wsc *c, const void *data, size_t len)
{
    if (!c || c->fd < 0)
        return -1;
    return send_all(c->fd, data, len, deadline_after(WSC_SEND_TIMEOUT_MS));
}

int wsc_send_frame(wsc *c, int fin, int opcode, const void *data, size_t len)
{
    uint8_t stackbuf[4096], mask[4];
    if (!c || c->fd < 0 || next_mask(c, mask) < 0)
        return -1;

    size_t total = WS_MAX_HEADER + len;
    uint8_t *f = total <= sizeof(stackbuf) ? stackbuf : malloc(total);
    if (!f)
        return -1;
    size_t h = ws_write_header(f, fin, opcode, len, mask);
    if (len)
        memcpy(f + h, data, len);
    ws_mask(f + h, len, mask, 0);
    int r = wsc_send_raw(c, f, h + len);
    if (f != stackbuf)
        free(f);
    if (opcode == WS_OP_CLOSE)
        c->close_sent = 1;
    return r;
}

int wsc_send_text(wsc *c, const char *s, size_t len)
{
    return wsc_send_frame(c, 1, WS_OP_TEXT, s, len);
}

/* Sends our close frame once (code 0: empty payload). Best effort. */
static void send_close(wsc *c, uint16_t code)
{
    uint8_t p[125];
    if (c->close_sent)
        return;
    size_t n = ws_close_payload(p, code, NULL);
    wsc_send_frame(c, 1, WS_OP_CLOSE, p, n);
}

/* The server broke the protocol: tell it (best effort) and give up. */
static int fail_connection(wsc *c, uint16_t code)
{
    send_close(c, code);
    c->done = 1;
    return -1;
}

static int msg_set(wsc_msg *m, int opcode, const uint8_t *p, size_t len)
{
    m->opcode = opcode;
    m->data = malloc(len + 1);
    if (!m->data)
        return -1;
    if (len)
        memcpy(m->data, p, len);
    m->data[len] = '\0';
    m->len = len;
    return 1;
}

static int handle_close(wsc *c, const uint8_t *p, size_t len, wsc_msg *m)
{
    uint16_t code;
    int valid = ws_parse_close(p, len, &code) == 0;
    c->done = 1;
    if (msg_set(m, WS_OP_CLOSE, p, len) < 0)
        return -1;
    m->close_code = len >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 1005;
    size_t rlen = len > 2 ? len - 2 : 0;
    if (rlen > sizeof(m->close_reason) - 1)
        rlen = sizeof(m->close_reason) - 1;
    memcpy(m->close_reason, p + 2, rlen);
    m->close_reason[rlen] = '\0';
    /* Echo the code (RFC 6455 5.5.1), or report the server's violation. */
    send_close(c, !valid ? WS_CLOSE_PROTOCOL : code == 1005 ? 0 : code);
    return 1;
}

/* Handles one whole frame: 1 when *m holds a message, 0 to keep reading,
 * -1 when the connection is finished. p points into c->in. */
static int handle_frame(wsc *c, const ws_header *h, const uint8_t *p, size_t len, wsc_msg *m)
{
    switch (h->opcode) {
    case WS_OP_PING:
        if (!c->close_sent)
            wsc_send_frame(c, 1, WS_OP_PONG, p, len);
        return 0;
    case WS_OP_PONG:
        return msg_set(m, WS_OP_PONG, p, len);
    case WS_OP_CLOSE:
        return handle_close(c, p, len, m);
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (c->msg_op)
            return fail_connection(c, WS_CLOSE_PROTOCOL); /* inside a fragmented one */
        if (h->fin)
            return msg_set(m, h->opcode, p, len);
        c->msg_op = h->opcode;
        break;
    default: /* WS_OP_CONT */
        if (!c->msg_op)
            return fail_connection(c, WS_CLOSE_PROTOCOL);
        break;
    }

    if (len > WSC_MAX_MSG - c->msg.len || dbuf_reserve(&c->msg, len) < 0)
        return fail_connection(c, WS_CLOSE_TOO_BIG);
    memcpy(c->msg.p + c->msg.len, p, len);
    c->msg.len += len;
    if (!h->fin)
        return 0;

    /* Hand the reassembled message over; the caller frees it. */
    m->opcode = c->msg_op;
    m->data = c->msg.p;
    m->data[c->msg.len] = '\0';
    m->len = c->msg.len;
    memset(&c->msg, 0, sizeof(c->msg));
    c->msg_op = 0;
    return 1;
}

int wsc_recv(wsc *c, int timeout_ms, wsc_msg *m)
{
    int64_t deadline = deadline_after(timeout_ms);
    memset(m, 0, sizeof(*m));
    if (!c || c->done || c->fd < 0)
        return -1;

    for (;;) {
        ws_header h;
        size_t avail = c->in.len - c->off;
        const uint8_t *frame = (const uint8_t *)c->in.p + c->off;
        int r = ws_parse_header(frame, avail, 0, WSC_MAX_MSG, &h);
        if (r == WS_ERR_TOO_BIG)
            return fail_connection(c, WS_CLOSE_TOO_BIG);
        if (r < 0 && r != WS_INCOMPLETE)
            return fail_connection(c, WS_CLOSE_PROTOCOL);

        size_t need = avail + WS_MAX_HEADER;
        if (r > 0) {
            need = (size_t)r + (size_t)h.payload_len;
            if (need <= avail) {
                c->off += need;
                int got = handle_frame(c, &h, frame + r, (size_t)h.payload_len, m);
                if (got != 0)
                    return got;
                continue;
            }
        }

        /* Drop consumed bytes, then read at least up to `need`. */
        memmove(c->in.p, c->in.p + c->off, avail);
        c->in.len = avail;
        c->off = 0;
        ssize_t n = dbuf_read(&c->in, c->fd, need - avail, deadline);
        if (n == -2)
            return 0;
        if (n <= 0) {
            c->done = 1; /* EOF or error without a close frame */
            return -1;
        }
    }
}

void wsc_msg_free(wsc_msg *m)
{
    if (!m)
        return;
    free(m->data);
    m->data = NULL;
    m->len = 0;
}

int wsc_pending(const wsc *c)
{
    if (!c)
        return 0;
    if (c->done)
        return 1; /* wsc_recv reports it at once */
    ws_header h;
    size_t avail = c->in.len - c->off;
    int r = ws_parse_header((const uint8_t *)c->in.p + c->off, avail, 0, WSC_MAX_MSG, &h);
    if (r == WS_INCOMPLETE)
        return 0;
    return r < 0 || h.payload_len <= avail - (size_t)r;
}

int wsc_fd(const wsc *c)
{
    return c ? c->fd : -1;
}

void wsc_close(wsc *c, uint16_t code)
{
    if (!c)
        return;
    if (c->fd >= 0 && !c->done && code != 0) {
        send_close(c, code);
        /* Give the server a moment to answer, so it sees a clean close. */
        int64_t deadline = deadline_after(WSC_CLOSE_WAIT_MS);
        wsc_msg m;
        while (wsc_recv(c, remaining_ms(deadline), &m) == 1) {
            int was_close = m.opcode == WS_OP_CLOSE;
            wsc_msg_free(&m);
            if (was_close)
                break;
        }
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->in.p);
    free(c->msg.p);
    free(c);
}
