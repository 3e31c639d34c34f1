/* Unit tests for net/client against scripted loopback servers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/client.h"
#include "net/ws.h"

/* ---- a one-connection scripted server on 127.0.0.1 ---- */

typedef struct srv srv;
struct srv {
    int lfd, port;
    void (*script)(srv *s, int fd);
    const char *reply; /* for scripts that send a canned answer */
    size_t reply_len;
    char req[16384]; /* what the client sent (head + body) */
    size_t req_len;
    uint8_t after[65536]; /* bytes the client sent after the handshake */
    size_t after_len;
    pthread_t th;
};

static void *srv_main(void *arg) {
    srv *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd >= 0) {
        s->script(s, fd);
        close(fd);
    }
    return NULL;
}

static void srv_start(srv *s, void (*script)(srv *, int), const char *reply, size_t reply_len) {
    memset(s, 0, sizeof(*s));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    s->script = script;
    s->reply = reply;
    s->reply_len = reply_len;
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_join(srv *s) {
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static void write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0) return;
        c += w;
        n -= (size_t)w;
    }
}

/* Reads the request head, plus a body of Content-Length bytes. */
static void read_request(srv *s, int fd) {
    char *end = NULL;
    while (!end && s->req_len < sizeof(s->req) - 1) {
        ssize_t n = read(fd, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);
        if (n <= 0) return;
        s->req_len += (size_t)n;
        s->req[s->req_len] = '\0';
        end = strstr(s->req, "\r\n\r\n");
    }
    const char *cl = strstr(s->req, "Content-Length: ");
    size_t want = (size_t)(end + 4 - s->req) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
    while (s->req_len < want) {
        ssize_t n = read(fd, s->req + s->req_len, want - s->req_len);
        if (n <= 0) return;
        s->req_len += (size_t)n;
        s->req[s->req_len] = '\0';
    }
}

static void read_rest(srv *s, int fd) {
    ssize_t n;
    while (s->after_len < sizeof(s->after) &&
           (n = read(fd, s->after + s->after_len, sizeof(s->after) - s->after_len)) > 0)
        s->after_len += (size_t)n;
}

static void script_reply(srv *s, int fd) {
    read_request(s, fd);
    write_all(fd, s->reply, s->reply_len);
    if (s->reply_len && strstr(s->reply, "Content-Length"))
        read_rest(s, fd); /* keep the socket open: the client must stop by length */
}

static void script_silent(srv *s, int fd) {
    read_request(s, fd);
    read_rest(s, fd); /* never answer */
}

/* Completes the handshake and sends s->reply in the same write. */
static void script_ws(srv *s, int fd) {
    char out[512 + 4096], accept[29];
    read_request(s, fd);
    const char *k = strstr(s->req, "Sec-WebSocket-Key: ");
    if (!k) return;
    ws_accept_key(k + 19, strcspn(k + 19, "\r"), accept);
    int n = snprintf(out, 512,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    memcpy(out + n, s->reply, s->reply_len);
    write_all(fd, out, (size_t)n + s->reply_len);
    read_rest(s, fd);
}

static size_t server_frame(uint8_t *out, int fin, int op, const char *payload, size_t len) {
    size_t h = ws_write_header(out, fin, op, len, NULL);
    memcpy(out + h, payload, len);
    return h + len;
}

/* Parses the next client frame from s->after at *pos (unmasking it). */
static int next_client_frame(srv *s, size_t *pos, ws_header *h, uint8_t **payload) {
    int r = ws_parse_header(s->after + *pos, s->after_len - *pos, 1, 1 << 20, h);
    if (r < 0 || h->payload_len > s->after_len - *pos - (size_t)r) return -1;
    *payload = s->after + *pos + r;
    ws_mask(*payload, h->payload_len, h->mask, 0);
    *pos += (size_t)r + h->payload_len;
    return 0;
}

/* ---- URL ---- */

static void test_parse_url(void **st) {
    client_url u;
    assert_int_equal(client_parse_url("http://example.com", &u), 0);
    assert_string_equal(u.host, "example.com");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(client_parse_url("ws://127.0.0.1:8080/chat?token=abc#frag", &u), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.path, "/chat?token=abc");
    assert_int_equal(client_parse_url("http://h:1?x=1", &u), 0);
    assert_string_equal(u.path, "/?x=1");
    assert_int_equal(client_parse_url("ws://[::1]:9000/p", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9000);
    assert_int_equal(client_parse_url("https://x/", &u), 0);
    assert_true(u.tls && u.port == 443);
    assert_int_equal(client_parse_url("wss://x:8443/chat", &u), 0);
    assert_true(u.tls && u.port == 8443);
    assert_int_equal(client_parse_url("ws://x/", &u), 0);
    assert_true(!u.tls && u.port == 80);
    assert_int_equal(client_parse_url("ftp://x/", &u), -1);
    assert_int_equal(client_parse_url("http://:80/", &u), -1);
    assert_int_equal(client_parse_url("http://h:0/", &u), -1);
    assert_int_equal(client_parse_url("http://h:65536/", &u), -1);
    assert_int_equal(client_parse_url("http://h:12x/", &u), -1);
    assert_int_equal(client_parse_url("http://[::1/", &u), -1);
}

/* ---- HTTP ---- */

static void test_http_content_length(void **st) {
    static const char reply[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                "Content-Length: 11\r\n\r\n{\"ok\":true}";
    srv s;
    client_response r;
    srv_start(&s, script_reply, reply, sizeof(reply) - 1);
    assert_int_equal(client_http_request(NULL, "127.0.0.1", s.port, "POST", "/register",
                                         "{\"a\":1}", 7, 2000, &r),
                     0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, 11);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_non_null(strstr(r.headers, "Content-Type: application/json\r\n"));
    client_response_free(&r);
    assert_null(r.body);
    srv_join(&s);

    assert_non_null(strstr(s.req, "POST /register HTTP/1.1\r\n"));
    assert_non_null(strstr(s.req, "\r\nHost: 127.0.0.1:"));
    assert_non_null(strstr(s.req, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(s.req, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(s.req, "\r\nConnection: close\r\n"));
    assert_memory_equal(s.req + s.req_len - 7, "{\"a\":1}", 7);
}

static void test_http_until_close_and_chunked(void **st) {
    static const char plain[] = "HTTP/1.1 503 Service Unavailable\r\n\r\n{\"error\":\"down\"}";
    srv s;
    client_response r;
    srv_start(&s, script_reply, plain, sizeof(plain) - 1);
    assert_int_equal(
        client_http_request(NULL, "127.0.0.1", s.port, "GET", "/health", NULL, 0, 2000, &r), 0);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"error\":\"down\"}");
    client_response_free(&r);
    srv_join(&s);
    assert_null(strstr(s.req, "Content-Length"));

    static const char chunked[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n";
    srv_start(&s, script_reply, chunked, sizeof(chunked) - 1);
    assert_int_equal(client_http_request(NULL, "127.0.0.1", s.port, "GET", "/", NULL, 0, 2000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "Wikipedia in \r\n\r\nchunks.");
    client_response_free(&r);
    srv_join(&s);

    /* Closed before Content-Length bytes arrived: a network error. */
    static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX: y\r\n\r\nabc";
    srv_start(&s, script_reply, cut, sizeof(cut) - 1);
    s.reply_len = sizeof(cut) - 1;
    assert_int_equal(client_http_request(NULL, "127.0.0.1", s.port, "GET", "/", NULL, 0, 300, &r),
                     -1);
    assert_null(r.body);
    srv_join(&s);
}

static void test_http_timeout_and_refused(void **st) {
    srv s;
    client_response r;
    srv_start(&s, script_silent, NULL, 0);
    assert_int_equal(client_http_request(NULL, "127.0.0.1", s.port, "GET", "/", NULL, 0, 200, &r),
                     -1);
    shutdown(s.lfd, SHUT_RDWR);
    srv_join(&s);

    /* Nothing listens on the port we just closed. */
    assert_int_equal(client_http_request(NULL, "127.0.0.1", s.port, "GET", "/", NULL, 0, 500, &r),
                     -1);
}

/* ---- WebSocket ---- */

static void test_ws_session(void **st) {
    /* Right after the 101: a text frame, a ping, a fragmented message, a close. */
    static uint8_t frames[512];
    size_t n = 0;
    n += server_frame(frames + n, 1, WS_OP_TEXT, "hello", 5);
    n += server_frame(frames + n, 1, WS_OP_PING, "p", 1);
    n += server_frame(frames + n, 0, WS_OP_TEXT, "ab", 2);
    n += server_frame(frames + n, 1, WS_OP_PONG, "", 0); /* control inside fragments */
    n += server_frame(frames + n, 0, WS_OP_CONT, "cd", 2);
    n += server_frame(frames + n, 1, WS_OP_CONT, "", 0);
    n += server_frame(frames + n, 1, WS_OP_CLOSE,
                      "\x0b\xb8"
                      "Authentication failed",
                      23);

    srv s;
    int status = -1;
    srv_start(&s, script_ws, (const char *)frames, n);
    wsc *c =
        wsc_connect(NULL, "127.0.0.1", s.port, "/chat?token=x", "X-Test: 1\r\n", 2000, &status);
    assert_non_null(c);
    assert_int_equal(status, 101);
    assert_true(wsc_fd(c) >= 0);
    assert_int_equal(wsc_pending(c), 1); /* frames came with the 101 */

    wsc_msg m;
    assert_int_equal(wsc_recv(c, 1000, &m), 1);
    assert_int_equal(m.opcode, WS_OP_TEXT);
    assert_int_equal(m.len, 5);
    assert_string_equal(m.data, "hello");
    wsc_msg_free(&m);
    assert_int_equal(wsc_recv(c, 1000, &m), 1);
    assert_int_equal(m.opcode, WS_OP_PONG);
    wsc_msg_free(&m);
    assert_int_equal(wsc_recv(c, 1000, &m), 1);
    assert_int_equal(m.opcode, WS_OP_TEXT);
    assert_string_equal(m.data, "abcd");
    wsc_msg_free(&m);
    assert_int_equal(wsc_send_text(c, "hi there", 8), 0);
    assert_int_equal(wsc_recv(c, 1000, &m), 1);
    assert_int_equal(m.opcode, WS_OP_CLOSE);
    assert_int_equal(m.close_code, 3000);
    assert_string_equal(m.close_reason, "Authentication failed");
    wsc_msg_free(&m);
    assert_int_equal(wsc_recv(c, 100, &m), -1); /* returned once */
    assert_null(m.data);
    wsc_close(c, WS_CLOSE_NORMAL);
    srv_join(&s);

    assert_non_null(strstr(s.req, "GET /chat?token=x HTTP/1.1\r\n"));
    assert_non_null(strstr(s.req, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(s.req, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(s.req, "\r\nX-Test: 1\r\n\r\n"));

    /* The client answered the ping, sent its text, echoed the close. */
    size_t pos = 0;
    ws_header h;
    uint8_t *p;
    assert_int_equal(next_client_frame(&s, &pos, &h, &p), 0);
    assert_int_equal(h.opcode, WS_OP_PONG);
    assert_int_equal(h.payload_len, 1);
    assert_int_equal(p[0], 'p');
    uint8_t first_mask[4];
    memcpy(first_mask, h.mask, 4);
    assert_int_equal(next_client_frame(&s, &pos, &h, &p), 0);
    assert_int_equal(h.opcode, WS_OP_TEXT);
    assert_memory_equal(p, "hi there", 8);
    assert_memory_not_equal(h.mask, first_mask, 4); /* fresh key per frame */
    assert_int_equal(next_client_frame(&s, &pos, &h, &p), 0);
    assert_int_equal(h.opcode, WS_OP_CLOSE);
    assert_int_equal(h.payload_len, 2);
    assert_int_equal(p[0] << 8 | p[1], 3000);
    assert_int_equal(pos, s.after_len); /* nothing after the close */
}

static void test_ws_rejected(void **st) {
    static const char forbidden[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    srv s;
    int status = -1;
    srv_start(&s, script_reply, forbidden, sizeof(forbidden) - 1);
    assert_null(wsc_connect(NULL, "127.0.0.1", s.port, "/chat", NULL, 2000, &status));
    assert_int_equal(status, 403);
    srv_join(&s);

    /* A 101 with the wrong accept value is refused too. */
    static const char bad[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    srv_start(&s, script_reply, bad, sizeof(bad) - 1);
    assert_null(wsc_connect(NULL, "127.0.0.1", s.port, "/chat", NULL, 2000, &status));
    assert_int_equal(status, 101);
    srv_join(&s);

    /* Network error: status 0. */
    status = -1;
    assert_null(wsc_connect(NULL, "127.0.0.1", s.port, "/chat", NULL, 500, &status));
    assert_int_equal(status, 0);
}

/* Sends a frame in two halves with a pause, then a 64-bit-length frame
 * over the client's 16 MiB limit. */
static void script_ws_slow(srv *s, int fd) {
    char out[512], accept[29];
    read_request(s, fd);
    const char *k = strstr(s->req, "Sec-WebSocket-Key: ");
    if (!k) return;
    ws_accept_key(k + 19, strcspn(k + 19, "\r"), accept);
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    write_all(fd, out, (size_t)n);
    uint8_t f[64];
    size_t fl = server_frame(f, 1, WS_OP_BINARY, "0123456789", 10);
    write_all(fd, f, 4);
    usleep(300 * 1000);
    write_all(fd, f + 4, fl - 4);
    fl = ws_write_header(f, 1, WS_OP_TEXT, (16u << 20) + 1, NULL);
    write_all(fd, f, fl);
    read_rest(s, fd);
}

static void test_ws_partial_timeout_and_too_big(void **st) {
    srv s;
    srv_start(&s, script_ws_slow, NULL, 0);
    wsc *c = wsc_connect(NULL, "127.0.0.1", s.port, "/", NULL, 2000, NULL);
    assert_non_null(c);
    wsc_msg m;
    assert_int_equal(wsc_recv(c, 100, &m), 0); /* half a frame so far */
    assert_null(m.data);
    assert_int_equal(wsc_pending(c), 0);
    assert_int_equal(wsc_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_OP_BINARY);
    assert_int_equal(m.len, 10);
    assert_memory_equal(m.data, "0123456789", 10);
    wsc_msg_free(&m);
    assert_int_equal(wsc_recv(c, 2000, &m), -1); /* 16 MiB + 1 */
    wsc_close(c, 0);
    srv_join(&s);

    /* The client told the server why: close 1009. */
    size_t pos = 0;
    ws_header h;
    uint8_t *p;
    assert_int_equal(next_client_frame(&s, &pos, &h, &p), 0);
    assert_int_equal(h.opcode, WS_OP_CLOSE);
    assert_int_equal(p[0] << 8 | p[1], WS_CLOSE_TOO_BIG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_http_content_length),
        cmocka_unit_test(test_http_until_close_and_chunked),
        cmocka_unit_test(test_http_timeout_and_refused),
        cmocka_unit_test(test_ws_session),
        cmocka_unit_test(test_ws_rejected),
        cmocka_unit_test(test_ws_partial_timeout_and_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
