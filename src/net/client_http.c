/*
 * client_http: the URL parser and the blocking HTTP/1.1 client of
 * client.h, plus the socket, deadline, buffer and response-head helpers
 * that the WebSocket client (client.c) shares through client_internal.h.
 *
 * Sockets are non-blocking underneath and every wait is a poll() bounded
 * by a deadline, so no call can hang past its timeout.
 */
#include "net/client.h"
#include "net/client_internal.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MAX_HEAD (64 * 1024)        /* response head cap */
#define CLIENT_MAX_BODY ((size_t)64 << 20) /* response body cap */

/* ---- time and socket helpers ---- */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline of -1 means "wait forever". */
int64_t client__deadline_after(int timeout_ms) {
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

int client__remaining_ms(int64_t deadline) {
    if (deadline < 0) return -1;
    int64_t r = deadline - now_ms();
    return r < 0 ? 0 : r > INT_MAX ? INT_MAX : (int)r;
}

/* 1 when fd is ready (or has an error to report), 0 on timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, client__remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        return r < 0 ? -1 : r > 0;
    }
}

static int send_raw(int fd, const void *data, size_t len, int64_t deadline) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            wait_fd(fd, POLLOUT, deadline) == 1)
            continue;
        if (n <= 0) return -1; /* error, or timed out waiting for room */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads what is available: > 0 bytes, 0 at EOF, -1 error, CHATD_ETIMEDOUT. */
static ssize_t recv_some(int fd, void *buf, size_t cap, int64_t deadline) {
    for (;;) {
        ssize_t n = recv(fd, buf, cap, 0);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        int w = wait_fd(fd, POLLIN, deadline);
        if (w == 0) return CHATD_ETIMEDOUT;
        if (w < 0) return -1;
    }
}

static int tcp_connect(const char *host, int port, int64_t deadline) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0) return -1;

    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 1) {
            int err = 0;
            socklen_t elen = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0) break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* TLS: sends what the TLS layer has sealed (records, handshake). */
static int flush_tls(client__sock *s, int64_t deadline) {
    rcbuf *out = tls_conn_take_out(s->tls);
    if (!out) return 0;
    int rc = send_raw(s->fd, out->data, out->len, deadline);
    rcbuf_unref(out);
    return rc;
}

/* TLS: reads ciphertext once and hands it to the TLS layer: > 0, 0 at
 * EOF, -1, CHATD_ETIMEDOUT. */
static ssize_t feed_tls(client__sock *s, int64_t deadline) {
    char raw[16384];
    ssize_t n = recv_some(s->fd, raw, sizeof(raw), deadline);
    if (n > 0 && tls_conn_feed(s->tls, raw, (size_t)n) != 0) return -1;
    return n;
}

int client__open(client__sock *s, tls_ctx *tls, const char *host, int port, int64_t deadline) {
    s->tls = NULL;
    if ((s->fd = tcp_connect(host, port, deadline)) < 0) return -1;
    if (!tls) return 0;
    if (!(s->tls = tls_conn_new(tls, host))) goto fail;
    for (;;) {
        int h = tls_conn_handshake(s->tls);
        if (flush_tls(s, deadline) != 0) goto fail;
        if (h == 0) return 0;
        if (h != CHATD_EINCOMPLETE || feed_tls(s, deadline) <= 0) goto fail;
    }
fail:
    client__close(s);
    return -1;
}

void client__close(client__sock *s) {
    if (s->tls) {
        tls_conn_close_notify(s->tls);
        flush_tls(s, client__deadline_after(100));
        tls_conn_free(s->tls);
        s->tls = NULL;
    }
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

int client__send_all(client__sock *s, const void *data, size_t len, int64_t deadline) {
    if (!s->tls) return send_raw(s->fd, data, len, deadline);
    if (tls_conn_write(s->tls, data, len) != 0) return -1;
    return flush_tls(s, deadline);
}

/* Plaintext received: > 0 bytes, 0 at EOF, -1 error, CHATD_ETIMEDOUT. */
static ssize_t sock_recv(client__sock *s, void *buf, size_t cap, int64_t deadline) {
    if (!s->tls) return recv_some(s->fd, buf, cap, deadline);
    for (;;) {
        ssize_t n = tls_conn_read(s->tls, buf, cap);
        if (n > 0) return n;
        if (n == CHATD_ECLOSED) return 0;
        if (n != CHATD_EINCOMPLETE) return -1;
        if (flush_tls(s, deadline) != 0) return -1;
        n = feed_tls(s, deadline);
        if (n <= 0) return n;
    }
}

int client__buffered(const client__sock *s) {
    return s->tls && tls_conn_buffered(s->tls);
}

/* "host:port", with brackets around an IPv6 literal. */
void client__format_host(char *out, size_t cap, const char *host, int port) {
    if (strchr(host, ':'))
        snprintf(out, cap, "[%s]:%d", host, port);
    else
        snprintf(out, cap, "%s:%d", host, port);
}

/* ---- growable byte buffer (client__buf, see client_internal.h) ---- */

/* Makes room for at least `extra` more bytes (plus a NUL). */
int client__buf_reserve(client__buf *b, size_t extra) {
    if (b->cap - b->len > extra) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Reads once into b, making room for `chunk` bytes first; keeps b->p
 * NUL-terminated. > 0 bytes, 0 EOF, -1 error, CHATD_ETIMEDOUT. */
ssize_t client__buf_read(client__buf *b, client__sock *s, size_t chunk, int64_t deadline) {
    if (client__buf_reserve(b, chunk) < 0) return -1;
    ssize_t n = sock_recv(s, b->p + b->len, b->cap - b->len - 1, deadline);
    if (n > 0) b->len += (size_t)n;
    b->p[b->len] = '\0';
    return n;
}

/* ---- HTTP head parsing ---- */

/* Length of the head including its final CRLFCRLF, or 0 if incomplete. */
static size_t head_length(const char *p, size_t len) {
    for (size_t i = 3; i < len; i++)
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' && p[i - 3] == '\r') return i + 1;
    return 0;
}

/* Status code from "HTTP/1.x NNN ...", or -1. */
int client__head_status(const char *p, size_t len) {
    if (len < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' || !isdigit((uint8_t)p[9]) ||
        !isdigit((uint8_t)p[10]) || !isdigit((uint8_t)p[11]))
        return -1;
    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

/* Finds header `name` (case-insensitive) in a head; returns its value with
 * surrounding blanks trimmed and sets *vlen, or NULL. */
const char *client__head_find(const char *p, size_t len, const char *name, size_t *vlen) {
    size_t nlen = strlen(name);
    const char *end = p + len;
    const char *line = memchr(p, '\n', len); /* skip the status line */
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
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
int client__value_has(const char *v, size_t vlen, const char *tok) {
    size_t tlen = strlen(tok);
    for (size_t i = 0; i + tlen <= vlen; i++)
        if (strncasecmp(v + i, tok, tlen) == 0) return 1;
    return 0;
}

/* Reads until a whole head is in b; returns its length, or -1. */
ssize_t client__read_head(client__buf *b, client__sock *s, int64_t deadline) {
    for (;;) {
        size_t h = head_length(b->p ? b->p : "", b->len);
        if (h) return (ssize_t)h;
        if (b->len > CLIENT_MAX_HEAD) return -1;
        if (client__buf_read(b, s, 2048, deadline) <= 0) /* small: a wsc keeps this buffer */
            return -1;
    }
}

/* ---- URL ---- */

int client_parse_url(const char *url, client_url *out) {
    const char *p;
    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncasecmp(url, "ws://", 5) == 0)
        p = url + 5;
    else if (strncasecmp(url, "https://", 8) == 0)
        p = url + 8, out->tls = 1;
    else if (strncasecmp(url, "wss://", 6) == 0)
        p = url + 6, out->tls = 1;
    else
        return -1;

    const char *host = p, *host_end;
    if (*p == '[') { /* IPv6 literal */
        host = ++p;
        host_end = strchr(p, ']');
        if (!host_end) return -1;
        p = host_end + 1;
    } else {
        p += strcspn(p, ":/?#");
        host_end = p;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof(out->host)) return -1;
    memcpy(out->host, host, hlen);

    out->port = out->tls ? 443 : 80;
    if (*p == ':') {
        long port = 0;
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9' && port <= 65535; p++, digits++)
            port = port * 10 + (*p - '0');
        if (digits == 0 || port < 1 || port > 65535) return -1;
        out->port = (int)port;
    }
    if (*p != '\0' && *p != '/' && *p != '?' && *p != '#') return -1;

    size_t plen = strcspn(p, "#"); /* the fragment is never sent */
    int slash = *p != '/';
    if (plen + (size_t)slash >= sizeof(out->path)) return -1;
    out->path[0] = '/';
    memcpy(out->path + slash, p, plen);
    out->path[plen + (size_t)slash] = '\0';
    return 0;
}

/* ---- HTTP ---- */

/* Decodes a complete chunked body in place; 0, or -1 when it is malformed
 * or cut short. Only used at EOF: we send "Connection: close". */
static int chunked_decode(char *p, size_t len, size_t *out_len) {
    size_t in = 0, out = 0;
    for (;;) {
        char *eol = memchr(p + in, '\n', len - in), *end;
        unsigned long long n = strtoull(p + in, &end, 16);
        if (!eol || end == p + in || n > len) return -1;
        in = (size_t)(eol - p) + 1;
        if (n == 0) {
            *out_len = out; /* trailers, if any, are dropped */
            return 0;
        }
        if (len - in < n) return -1;
        memmove(p + out, p + in, (size_t)n);
        out += (size_t)n;
        in += (size_t)n + (len - in - n >= 2 ? 2 : len - in - n); /* CRLF */
    }
}

int client_http_request(tls_ctx *tls, const char *host, int port, const char *method,
                        const char *path, const char *body, size_t body_len, int timeout_ms,
                        client_response *out) {
    int64_t deadline = client__deadline_after(timeout_ms);
    client__buf b = {0};
    char *req = NULL, hosthdr[300], lenhdr[64] = "";
    client__sock s = {.fd = -1};
    memset(out, 0, sizeof(*out));

    client__format_host(hosthdr, sizeof(hosthdr), host, port);
    int is_head = strcasecmp(method, "HEAD") == 0;
    if (!body) body_len = 0;
    if (body || !(is_head || strcasecmp(method, "GET") == 0))
        snprintf(lenhdr, sizeof(lenhdr), "Content-Length: %zu\r\n", body_len);
    const char *fmt = "%s %s HTTP/1.1\r\nHost: %s\r\n%s%sConnection: close\r\n\r\n";
    const char *ctype = body ? "Content-Type: application/json\r\n" : "";
    int hlen = snprintf(NULL, 0, fmt, method, path, hosthdr, ctype, lenhdr);
    if (hlen < 0 || !(req = malloc((size_t)hlen + 1 + body_len))) goto fail;
    snprintf(req, (size_t)hlen + 1, fmt, method, path, hosthdr, ctype, lenhdr);
    if (body_len) memcpy(req + hlen, body, body_len);

    if (client__open(&s, tls, host, port, deadline) < 0 ||
        client__send_all(&s, req, (size_t)hlen + body_len, deadline) < 0)
        goto fail;
    ssize_t head = client__read_head(&b, &s, deadline);
    int status = head < 0 ? -1 : client__head_status(b.p, (size_t)head);
    if (status < 0) goto fail;

    /* The body ends after Content-Length bytes, or when the server closes. */
    size_t vlen;
    const char *v;
    int chunked = 0, has_len = is_head || status == 204 || status == 304 || status < 200;
    unsigned long long clen = 0;
    if ((v = client__head_find(b.p, (size_t)head, "Transfer-Encoding", &vlen)))
        chunked = client__value_has(v, vlen, "chunked");
    if (!has_len && !chunked &&
        (v = client__head_find(b.p, (size_t)head, "Content-Length", &vlen))) {
        char *end;
        clen = strtoull(v, &end, 10);
        if (end == v || clen > CLIENT_MAX_BODY) goto fail;
        has_len = 1;
    }
    while (!has_len || b.len - (size_t)head < clen) {
        if (b.len - (size_t)head > CLIENT_MAX_BODY) goto fail;
        ssize_t n = client__buf_read(&b, &s, 16384, deadline);
        if (n == 0 && !has_len) break;
        if (n <= 0) goto fail; /* error, timeout, or closed before Content-Length */
    }
    size_t blen = has_len ? (size_t)clen : b.len - (size_t)head;
    if (chunked && chunked_decode(b.p + head, blen, &blen) < 0) goto fail;

    out->status = status;
    out->headers = malloc((size_t)head + 1);
    out->body = malloc(blen + 1);
    if (!out->headers || !out->body) goto fail;
    memcpy(out->headers, b.p, (size_t)head);
    out->headers[head] = '\0';
    memcpy(out->body, b.p + head, blen);
    out->body[blen] = '\0';
    out->body_len = blen;
    free(b.p);
    free(req);
    client__close(&s);
    return 0;

fail:
    client_response_free(out);
    free(b.p);
    free(req);
    client__close(&s);
    return -1;
}

void client_response_free(client_response *r) {
    if (!r) return;
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}
