/*
 * loop_test_util: loopback client sockets for unit tests that run a real
 * server (net/server.h) on a private libuv loop in the test's own thread.
 * Nothing here blocks the loop: a client socket is non-blocking, and every
 * wait runs the loop a turn at a time (lt_turn) while it polls the socket,
 * so the server answers while the test waits for the answer. Used by
 * test_server.c (caps, timeouts, back-pressure) and test_api.c (the HTTP
 * API over real requests).
 *
 * Header-only because each tests/unit/test_*.c is linked alone with the
 * library: every helper is static inline. Failures fail the test (cmocka).
 */
#ifndef CHATD_LOOP_TEST_UTIL_H
#define CHATD_LOOP_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "core/clock.h"
#include "net/ws.h"

/* A client socket and what it has received but not yet consumed. */
typedef struct lt_sock {
    int fd;
    int eof; /* the server closed (EOF or reset) */
    size_t len;
    uint8_t buf[1 << 17];
} lt_sock;

/* One loop turn without blocking, then up to 1 ms waiting for fd (-1: none). */
static inline void lt_turn(uv_loop_t *loop, int fd) {
    uv_run(loop, UV_RUN_NOWAIT);
    struct pollfd p = {fd, POLLIN, 0};
    if (fd >= 0)
        poll(&p, 1, 1);
    else
        usleep(1000);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* Runs the loop for ms milliseconds. */
static inline void lt_run_for(uv_loop_t *loop, uint64_t ms) {
    uint64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end)
        lt_turn(loop, -1);
}

/* Connects to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF first (a client
 * that reads little). The connection is accepted as the loop runs. */
static inline lt_sock *lt_connect(int port, int rcvbuf) {
    lt_sock *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    if (rcvbuf > 0) setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
    return s;
}

static inline void lt_close(lt_sock *s) {
    if (!s) return;
    close(s->fd);
    free(s);
}

/* Reads what is there (non-blocking); 1 when anything arrived or EOF. */
static inline int lt_read(lt_sock *s) {
    if (s->eof) return 0;
    if (s->len == sizeof(s->buf)) return 0; /* the caller must consume first */
    ssize_t n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);
    if (n > 0) {
        s->len += (size_t)n;
        return 1;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        s->eof = 1;
        return 1;
    }
    return 0;
}

/* Sends everything, running the loop while the socket is full. */
static inline void lt_send(uv_loop_t *loop, lt_sock *s, const void *data, size_t len) {
    const char *p = data;
    uint64_t end = clock_mono_ms() + 5000;
    while (len > 0) {
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            fail_msg("send: %s", strerror(errno));
        } else if (clock_mono_ms() > end) {
            fail_msg("send: the server has not read for 5 s");
        } else {
            lt_turn(loop, -1);
        }
    }
}

static inline void lt_send_str(uv_loop_t *loop, lt_sock *s, const char *text) {
    lt_send(loop, s, text, strlen(text));
}

/* Drops the first n received bytes. */
static inline void lt_consume(lt_sock *s, size_t n) {
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
}

/* Runs the loop until the server closes s: 1, or 0 after timeout_ms.
 * Whatever arrives meanwhile is discarded. */
static inline int lt_wait_eof(uv_loop_t *loop, lt_sock *s, uint64_t timeout_ms) {
    uint64_t end = clock_mono_ms() + timeout_ms;
    while (!s->eof && clock_mono_ms() < end) {
        lt_turn(loop, s->fd);
        while (lt_read(s))
            s->len = 0;
    }
    return s->eof;
}

/* ---- HTTP ---- */

typedef struct lt_http {
    int status; /* 0: no answer */
    char head[2048];
    char body[4096];
    size_t body_len;
} lt_http;

/* The value of header name in r->head ("" when absent), copied to out. */
static inline const char *lt_header(const lt_http *r, const char *name, char *out, size_t cap) {
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, n) || l[2 + n] != ':') continue;
        const char *v = l + 3 + n;
        while (*v == ' ')
            v++;
        snprintf(out, cap, "%.*s", (int)strcspn(v, "\r"), v);
        break;
    }
    return out;
}

/* Takes one whole response (head + Content-Length body) off s into r;
 * 1, or 0 when it is not all there yet. */
static inline int lt_take_response(lt_sock *s, lt_http *r) {
    size_t hlen = 0;
    for (size_t i = 3; i < s->len && !hlen; i++)
        if (!memcmp(s->buf + i - 3, "\r\n\r\n", 4)) hlen = i + 1;
    if (!hlen) return 0;
    assert_true(hlen < sizeof(r->head));
    memcpy(r->head, s->buf, hlen);
    r->head[hlen] = '\0';
    char cl[32];
    size_t blen = (size_t)strtoul(lt_header(r, "Content-Length", cl, sizeof(cl)), NULL, 10);
    if (s->len < hlen + blen) return 0;
    assert_true(blen < sizeof(r->body));
    memcpy(r->body, s->buf + hlen, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    r->status = strncmp(r->head, "HTTP/1.1 ", 9) ? -1 : atoi(r->head + 9);
    lt_consume(s, hlen + blen);
    return 1;
}

/* Runs the loop until a whole response arrives; fails after timeout_ms. */
static inline void lt_response(uv_loop_t *loop, lt_sock *s, lt_http *r, uint64_t timeout_ms) {
    memset(r, 0, sizeof(*r));
    uint64_t end = clock_mono_ms() + timeout_ms;
    while (!lt_take_response(s, r)) {
        if (s->eof) fail_msg("the server closed without (a whole) response");
        if (clock_mono_ms() > end)
            fail_msg("no response within %llu ms", (unsigned long long)timeout_ms);
        lt_turn(loop, s->fd);
        lt_read(s);
    }
}

/* ---- WebSocket ---- */

#define LT_WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* Upgrades s to a WebSocket on path; fails unless the answer is 101. */
static inline void lt_ws_upgrade(uv_loop_t *loop, lt_sock *s, const char *path) {
    char req[512];
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: " LT_WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
             path);
    lt_send_str(loop, s, req);
    lt_http r;
    lt_response(loop, s, &r, 2000);
    assert_int_equal(r.status, 101);
}

/* Sends one masked client frame. */
static inline void lt_ws_send(uv_loop_t *loop, lt_sock *s, int opcode, const void *payload,
                              size_t len) {
    uint8_t *f = malloc(WS_MAX_HEADER + len);
    assert_non_null(f);
    const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t h = ws_write_header(f, 1, opcode, len, mask);
    memcpy(f + h, payload, len);
    ws_mask(f + h, len, mask, 0);
    lt_send(loop, s, f, h + len);
    free(f);
}

static inline void lt_ws_text(uv_loop_t *loop, lt_sock *s, const char *text) {
    lt_ws_send(loop, s, WS_OP_TEXT, text, strlen(text));
}

/* One server frame. */
typedef struct lt_frame {
    int opcode;
    size_t len;
    char payload[1 << 16]; /* NUL-terminated; longer payloads are cut */
} lt_frame;

/* Takes the next whole frame off s: 1, or 0 when it is not all there. */
static inline int lt_take_frame(lt_sock *s, lt_frame *f) {
    ws_header h;
    int n = ws_parse_header(s->buf, s->len, 0, UINT64_MAX, &h);
    if (n == WS_INCOMPLETE) return 0;
    assert_true(n > 0);
    assert_true(h.payload_len < sizeof(s->buf) - (size_t)n);
    if (s->len < (size_t)n + h.payload_len) return 0;
    f->opcode = h.opcode;
    f->len = (size_t)h.payload_len;
    size_t keep = f->len < sizeof(f->payload) ? f->len : sizeof(f->payload) - 1;
    memcpy(f->payload, s->buf + n, keep);
    f->payload[keep] = '\0';
    lt_consume(s, (size_t)n + f->len);
    return 1;
}

/* The next frame within timeout_ms: 1, 0 on timeout, -1 on EOF. */
static inline int lt_ws_next(uv_loop_t *loop, lt_sock *s, lt_frame *f, uint64_t timeout_ms) {
    uint64_t end = clock_mono_ms() + timeout_ms;
    for (;;) {
        if (lt_take_frame(s, f)) return 1;
        if (s->eof) return -1;
        if (clock_mono_ms() > end) return 0;
        lt_turn(loop, s->fd);
        lt_read(s);
    }
}

#endif
