/*
 * Unit tests for net/http: the http-parser glue. Requests are fed whole,
 * byte by byte and in pieces; the caps (head 16 KiB -> 431, body 64 KiB ->
 * 413), pipelining, the upgrade hand-off and the small URL/format helpers
 * are checked against exact expected values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

/* ---- helpers ---------------------------------------------------------- */

/* Feeds data in pieces of `step` bytes (0 = all at once) until the parser
 * answers 1 or -1 or the data runs out. Every piece but the last must be
 * consumed whole; *used gets the total consumed. Returns the last answer. */
static int feed_steps(http_req *r, const char *data, size_t len, size_t step, size_t *used) {
    size_t off = 0;
    int rc = 0;
    *used = 0;
    if (step == 0) step = len;
    while (off < len) {
        size_t n = len - off < step ? len - off : step, c = 12345;
        rc = http_req_feed(r, data + off, n, &c);
        if (rc < 0) return rc;
        if (rc == 0 && c != n) fail_msg("piece at %zu: rc 0 but consumed %zu of %zu", off, c, n);
        if (c > n) fail_msg("piece at %zu: consumed %zu > %zu", off, c, n);
        off += c;
        if (rc == 1) break;
    }
    *used = off;
    return rc;
}

static int feed_all(http_req *r, const char *s, size_t *used) {
    return feed_steps(r, s, strlen(s), 0, used);
}

/* A heap string: the request line + "Host: x\r\n" + extra + "\r\n". */
static char *make_head(const char *extra, size_t *len) {
    const char *start = "GET /big HTTP/1.1\r\nHost: x\r\n";
    size_t n = strlen(start) + strlen(extra) + 2;
    char *s = malloc(n + 1);
    assert_non_null(s);
    snprintf(s, n + 1, "%s%s\r\n", start, extra);
    *len = n;
    return s;
}

/* A head of exactly `total` bytes: one X-Pad header padded to fit. */
static char *head_of_size(size_t total) {
    const char *start = "GET /big HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    size_t fixed = strlen(start) + 4; /* value's CRLF + the empty line */
    assert_true(total > fixed);
    char *s = malloc(total + 1);
    assert_non_null(s);
    memcpy(s, start, strlen(start));
    memset(s + strlen(start), 'a', total - fixed);
    memcpy(s + total - 4, "\r\n\r\n", 5);
    assert_int_equal(strlen(s), total);
    return s;
}

/* ---- whole requests --------------------------------------------------- */

static void test_simple_get(void **st) {
    const char *req = "GET /api/health?x=1 HTTP/1.1\r\nHost: localhost\r\n"
                      "User-Agent: t\r\n\r\n";
    http_req r;
    size_t used;
    http_req_init(&r);
    assert_int_equal(feed_all(&r, req, &used), 1);
    assert_int_equal(used, strlen(req));
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.headers_done, 1);
    assert_int_equal(r.error_status, 0);
    assert_int_equal(r.method, HTTP_GET);
    assert_int_equal(r.keep_alive, 1);
    assert_int_equal(r.upgrade, 0);
    assert_int_equal(r.url_len, strlen("/api/health?x=1"));
    assert_string_equal(r.url, "/api/health?x=1");
    assert_null(r.body);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.ws_key, "");
    assert_string_equal(r.authorization, "");

    /* A finished request answers 1 again and consumes nothing more. */
    size_t c = 99;
    assert_int_equal(http_req_feed(&r, "GET", 3, &c), 1);
    assert_int_equal(c, 0);
    http_req_reset(&r);
    assert_null(r.url);
    assert_int_equal(r.complete, 0);
    http_req_reset(&r); /* twice is harmless */
}

static void check_post(http_req *r, const char *body) {
    assert_int_equal(r->method, HTTP_POST);
    assert_string_equal(r->url, "/auth");
    assert_int_equal(r->body_len, strlen(body));
    assert_non_null(r->body);
    assert_memory_equal(r->body, body, strlen(body));
    assert_int_equal(r->body[r->body_len], '\0'); /* NUL-terminated */
    assert_string_equal(r->authorization, "Bearer abc.def");
}

static void test_post_body_whole_and_bytewise(void **st) {
    const char *body = "{\"username\":\"alice\",\"password\":\"pw\"}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc.def\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    size_t len = strlen(req), used;
    http_req r;

    http_req_init(&r);
    assert_int_equal(feed_steps(&r, req, len, 0, &used), 1);
    assert_int_equal(used, len);
    check_post(&r, body);
    http_req_reset(&r);

    /* Byte by byte: every byte but the last answers 0 and is consumed. */
    for (size_t i = 0; i < len; i++) {
        size_t c = 0;
        int rc = http_req_feed(&r, req + i, 1, &c);
        if (rc != (i + 1 == len ? 1 : 0) || c != 1)
            fail_msg("byte %zu of %zu: rc %d consumed %zu", i, len, rc, c);
    }
    check_post(&r, body);
    http_req_reset(&r);

    /* Odd-sized pieces. */
    for (size_t step = 2; step < 40; step += 7) {
        assert_int_equal(feed_steps(&r, req, len, step, &used), 1);
        assert_int_equal(used, len);
        check_post(&r, body);
        http_req_reset(&r);
    }
}

static void test_chunked_body(void **st) {
    const char *req = "POST /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc.def\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    http_req r;
    size_t used;
    http_req_init(&r);
    assert_int_equal(feed_all(&r, req, &used), 1);
    assert_int_equal(used, strlen(req));
    check_post(&r, "hello world");
    http_req_reset(&r);
}

static void test_pipelined(void **st) {
    const char *first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *second = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    const char *third = "GET /c HTTP/1.1\r\nHo"; /* cut short */
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s%s", first, second, third);
    size_t len = strlen(buf), c = 0;
    http_req r;
    http_req_init(&r);

    assert_int_equal(http_req_feed(&r, buf, len, &c), 1);
    assert_int_equal(c, strlen(first));
    assert_string_equal(r.url, "/a");
    assert_int_equal(r.method, HTTP_GET);
    assert_int_equal(r.body_len, 0);
    http_req_reset(&r);

    size_t off = c;
    assert_int_equal(http_req_feed(&r, buf + off, len - off, &c), 1);
    assert_int_equal(c, strlen(second));
    assert_string_equal(r.url, "/b");
    assert_int_equal(r.method, HTTP_POST);
    assert_int_equal(r.body_len, 3);
    assert_string_equal(r.body, "abc");
    http_req_reset(&r);

    off += c;
    assert_int_equal(http_req_feed(&r, buf + off, len - off, &c), 0);
    assert_int_equal(c, strlen(third));
    assert_int_equal(http_req_feed(&r, "st: x\r\n\r\n", 9, &c), 1);
    assert_int_equal(c, 9);
    assert_string_equal(r.url, "/c");
    http_req_reset(&r);
}

/* ---- upgrade ---------------------------------------------------------- */

#define WS_HEAD                                                                                    \
    "GET /chat?token=t0k HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"                            \
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"           \
    "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer tok\r\n\r\n"

static void check_upgrade(http_req *r) {
    assert_int_equal(r->complete, 1);
    assert_int_equal(r->upgrade, 1);
    assert_int_equal(r->method, HTTP_GET);
    assert_string_equal(r->url, "/chat?token=t0k");
    assert_string_equal(r->ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
    assert_string_equal(r->ws_version, "13");
    assert_string_equal(r->authorization, "Bearer tok");
}

static void test_upgrade(void **st) {
    /* A masked WebSocket frame follows the head in the same buffer. */
    const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    char buf[512];
    size_t hl = strlen(WS_HEAD), c = 0;
    memcpy(buf, WS_HEAD, hl);
    memcpy(buf + hl, frame, sizeof frame - 1);
    size_t len = hl + sizeof frame - 1;

    http_req r;
    http_req_init(&r);
    assert_int_equal(http_req_feed(&r, buf, len, &c), 1);
    assert_int_equal(c, hl); /* the frame is left for the WebSocket */
    check_upgrade(&r);
    http_req_reset(&r);

    /* Byte by byte: the last byte of the head completes it. */
    for (size_t i = 0; i < hl; i++) {
        int rc = http_req_feed(&r, buf + i, 1, &c);
        if (rc != (i + 1 == hl ? 1 : 0) || c != 1)
            fail_msg("byte %zu of %zu: rc %d consumed %zu", i, hl, rc, c);
    }
    check_upgrade(&r);
    assert_int_equal(http_req_feed(&r, frame, sizeof frame - 1, &c), 1);
    assert_int_equal(c, 0);
    http_req_reset(&r);
}

static void test_not_an_upgrade(void **st) {
    http_req r;
    size_t used;
    http_req_init(&r);
    /* No "Connection: upgrade": a plain request. */
    const char *a = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
    assert_int_equal(feed_all(&r, a, &used), 1);
    assert_int_equal(used, strlen(a));
    assert_int_equal(r.upgrade, 0);
    http_req_reset(&r);

    /* Upgrade to something other than websocket. */
    const char *b = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
    assert_int_equal(feed_all(&r, b, &used), 1);
    assert_int_equal(r.upgrade, 0);
    http_req_reset(&r);

    /* Case does not matter. */
    const char *c =
        "GET /chat HTTP/1.1\r\nHost: x\r\nupgrade: WebSocket\r\nconnection: UPGRADE\r\n\r\n";
    assert_int_equal(feed_all(&r, c, &used), 1);
    assert_int_equal(r.upgrade, 1);
    http_req_reset(&r);
}

static void test_long_kept_headers_truncated(void **st) {
    char key[200], req[512];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nSec-WebSocket-Key: %s\r\n\r\n", key);
    http_req r;
    size_t used;
    http_req_init(&r);
    assert_int_equal(feed_all(&r, req, &used), 1);
    assert_int_equal(strlen(r.ws_key), sizeof r.ws_key - 1);
    assert_memory_equal(r.ws_key, key, sizeof r.ws_key - 1);
    http_req_reset(&r);
}

/* ---- caps and errors -------------------------------------------------- */

static void expect_error(const char *data, size_t len, size_t step, int status, const char *what) {
    http_req r;
    size_t used;
    http_req_init(&r);
    int rc = feed_steps(&r, data, len, step, &used);
    if (rc != -1 || r.error_status != status)
        fail_msg("%s (pieces of %zu): rc %d status %d, want -1 and %d", what, step, rc,
                 r.error_status, status);
    http_req_reset(&r);
}

static void expect_ok(const char *data, size_t len, size_t step, const char *what) {
    http_req r;
    size_t used;
    http_req_init(&r);
    int rc = feed_steps(&r, data, len, step, &used);
    if (rc != 1 || used != len || r.error_status != 0)
        fail_msg("%s (pieces of %zu): rc %d used %zu/%zu status %d, want a request", what, step, rc,
                 used, len, r.error_status);
    http_req_reset(&r);
}

static const size_t steps[] = {0, 1, 1000, 4096};
#define N_STEPS (sizeof steps / sizeof steps[0])

static void test_head_too_large_one_header(void **st) {
    size_t len;
    char *pad = malloc(20001);
    assert_non_null(pad);
    memcpy(pad, "X-Big: ", 7);
    memset(pad + 7, 'a', 20000 - 9);
    memcpy(pad + 20000 - 2, "\r\n", 3);
    char *req = make_head(pad, &len);
    free(pad);
    for (size_t i = 0; i < N_STEPS; i++)
        expect_error(req, len, steps[i], 431, "one 20 KB header");
    free(req);
}

static void test_head_too_large_many_headers(void **st) {
    size_t len, n = 0;
    char *hdrs = malloc(1000 * 32);
    assert_non_null(hdrs);
    for (int i = 0; i < 1000; i++) /* 1000 * 21 bytes */
        n += (size_t)sprintf(hdrs + n, "X-H%04d: 0123456789\r\n", i);
    char *req = make_head(hdrs, &len);
    free(hdrs);
    assert_true(len > HTTP_MAX_HEAD);
    for (size_t i = 0; i < N_STEPS; i++)
        expect_error(req, len, steps[i], 431, "1000 headers");
    free(req);
}

static void test_head_too_large_url(void **st) {
    size_t ul = HTTP_MAX_HEAD + 100;
    char *req = malloc(ul + 64);
    assert_non_null(req);
    memcpy(req, "GET /", 5);
    memset(req + 5, 'u', ul);
    strcpy(req + 5 + ul, " HTTP/1.1\r\n\r\n");
    for (size_t i = 0; i < N_STEPS; i++)
        expect_error(req, strlen(req), steps[i], 431, "long URL");
    free(req);
}

/* The cap is "head <= 16 KiB": exactly 16384 passes, 16385 does not. */
static void test_head_cap_boundary(void **st) {
    char *ok = head_of_size(HTTP_MAX_HEAD);
    char *big = head_of_size(HTTP_MAX_HEAD + 1);
    for (size_t i = 0; i < N_STEPS; i++) {
        expect_ok(ok, HTTP_MAX_HEAD, steps[i], "16384-byte head");
        expect_error(big, HTTP_MAX_HEAD + 1, steps[i], 431, "16385-byte head");
    }
    free(ok);
    free(big);
}

static char *post_with_body(size_t body_len, size_t declared, size_t *len) {
    char head[128];
    int hl =
        snprintf(head, sizeof head, "POST /auth HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", declared);
    char *s = malloc((size_t)hl + body_len + 1);
    assert_non_null(s);
    memcpy(s, head, (size_t)hl);
    memset(s + hl, 'b', body_len);
    s[(size_t)hl + body_len] = '\0';
    *len = (size_t)hl + body_len;
    return s;
}

static void test_body_cap_content_length(void **st) {
    size_t len;
    /* exactly 64 KiB is allowed */
    char *ok = post_with_body(HTTP_MAX_BODY, HTTP_MAX_BODY, &len);
    http_req r;
    size_t used;
    http_req_init(&r);
    assert_int_equal(feed_steps(&r, ok, len, 0, &used), 1);
    assert_int_equal(r.body_len, HTTP_MAX_BODY);
    http_req_reset(&r);
    free(ok);

    /* one more byte declared: refused from the head alone */
    char *big = post_with_body(0, HTTP_MAX_BODY + 1, &len);
    expect_error(big, len, 0, 413, "Content-Length 65537, no body sent");
    free(big);
    big = post_with_body(HTTP_MAX_BODY + 1, HTTP_MAX_BODY + 1, &len);
    for (size_t i = 0; i < N_STEPS; i++)
        expect_error(big, len, steps[i], 413, "Content-Length 65537 with body");
    free(big);
    big = post_with_body(0, 10u << 20, &len);
    expect_error(big, len, 0, 413, "Content-Length 10 MiB");
    free(big);
}

static void test_body_cap_chunked(void **st) {
    /* 9 chunks of 8 KiB: 72 KiB total. */
    const char *head = "POST /auth HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    size_t cap = strlen(head) + 9 * (8192 + 16) + 16, n = strlen(head);
    char *req = malloc(cap);
    assert_non_null(req);
    memcpy(req, head, n);
    for (int i = 0; i < 9; i++) {
        n += (size_t)sprintf(req + n, "2000\r\n");
        memset(req + n, 'c', 8192);
        n += 8192;
        n += (size_t)sprintf(req + n, "\r\n");
    }
    n += (size_t)sprintf(req + n, "0\r\n\r\n");
    for (size_t i = 0; i < N_STEPS; i++)
        expect_error(req, n, steps[i], 413, "chunked 72 KiB");

    /* 8 chunks (exactly 64 KiB) are fine. */
    size_t n8 = strlen(head) + 8 * (6 + 8192 + 2);
    memcpy(req + n8, "0\r\n\r\n", 5);
    expect_ok(req, n8 + 5, 0, "chunked 64 KiB");
    free(req);
}

static void test_garbage(void **st) {
    const char *bad[] = {
        "\x01\x02\x03 garbage\r\n\r\n",
        "HELLO / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nBad@Name: x\r\n\r\n",
        "GET / HTTP/9.9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_error(bad[i], strlen(bad[i]), 0, 400, bad[i]);
        expect_error(bad[i], strlen(bad[i]), 1, 400, bad[i]);
    }
}

static void test_keep_alive(void **st) {
    const struct {
        const char *req;
        int keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\n\r\n", 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        http_req r;
        size_t used;
        http_req_init(&r);
        assert_int_equal(feed_all(&r, cases[i].req, &used), 1);
        if (r.keep_alive != cases[i].keep_alive)
            fail_msg("%s: keep_alive %d, want %d", cases[i].req, r.keep_alive, cases[i].keep_alive);
        http_req_reset(&r);
    }
}

/* ---- URL helpers ------------------------------------------------------ */

static void test_query_param(void **st) {
    char out[64];
    assert_int_equal(http_query_param("/chat?token=abc", "token", out, sizeof out), 3);
    assert_string_equal(out, "abc");
    /* percent-decoding (both hex cases) and '+' as space */
    assert_int_equal(http_query_param("/x?a=1&q=a%20b+c%2fd%2F&z=2", "q", out, sizeof out), 8);
    assert_string_equal(out, "a b c/d/");
    /* a broken escape is kept as it is */
    assert_int_equal(http_query_param("/x?q=%zz%4", "q", out, sizeof out), 5);
    assert_string_equal(out, "%zz%4");
    /* empty value */
    assert_int_equal(http_query_param("/x?q=&r=1", "q", out, sizeof out), 0);
    assert_string_equal(out, "");

    /* missing */
    assert_int_equal(http_query_param("/x", "q", out, sizeof out), CHATD_ENOTFOUND);
    assert_int_equal(http_query_param("/x?", "q", out, sizeof out), CHATD_ENOTFOUND);
    assert_int_equal(http_query_param("/x?a=1&b=2", "q", out, sizeof out), CHATD_ENOTFOUND);
    assert_int_equal(http_query_param("/x?q", "q", out, sizeof out), CHATD_ENOTFOUND); /* no '=' */
    assert_int_equal(http_query_param("/x?a=1#q=2", "q", out, sizeof out),
                     CHATD_ENOTFOUND); /* fragment */
    assert_int_equal(http_query_param("/x?a=1#q=2", "a", out, sizeof out), 1);
    assert_string_equal(out, "1");

    /* a name that is a prefix or suffix of another does not match it */
    assert_int_equal(http_query_param("/x?tok=1&token=2", "token", out, sizeof out), 1);
    assert_string_equal(out, "2");
    assert_int_equal(http_query_param("/x?token=2&tok=1", "tok", out, sizeof out), 1);
    assert_string_equal(out, "1");
    assert_int_equal(http_query_param("/x?token=2", "tok", out, sizeof out), CHATD_ENOTFOUND);
    assert_int_equal(http_query_param("/x?xtoken=3&token=4", "token", out, sizeof out), 1);
    assert_string_equal(out, "4");
    assert_int_equal(http_query_param("/x?q&q=5", "q", out, sizeof out), 1);
    assert_string_equal(out, "5");
    /* the first occurrence wins */
    assert_int_equal(http_query_param("/x?q=1&q=2", "q", out, sizeof out), 1);
    assert_string_equal(out, "1");

    /* cap: the value and its NUL must fit */
    char small[4];
    assert_int_equal(http_query_param("/x?q=abc", "q", small, sizeof small), 3);
    assert_string_equal(small, "abc");
    assert_int_equal(http_query_param("/x?q=abcd", "q", small, sizeof small), HTTP_QUERY_EBAD);
    /* the cap counts decoded bytes: "%41%42%43" is three */
    assert_int_equal(http_query_param("/x?q=%41%42%43", "q", small, sizeof small), 3);
    assert_string_equal(small, "ABC");
}

static void test_path_len(void **st) {
    assert_int_equal(http_path_len("/chat?token=x"), 5);
    assert_int_equal(http_path_len("/chat"), 5);
    assert_int_equal(http_path_len("/a/b#frag"), 4);
    assert_int_equal(http_path_len("/"), 1);
    assert_int_equal(http_path_len("?q=1"), 0);
    assert_int_equal(http_path_len(""), 0);
}

static void test_format_head(void **st) {
    char out[512];
    http_response r = {200, "application/json", NULL, NULL, 17};
    size_t n = http_format_head(out, sizeof out, &r, 1);
    const char *want = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       "Content-Length: 17\r\nConnection: keep-alive\r\n"
                       "Cache-Control: no-store\r\n\r\n";
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));

    r = (http_response){431, "text/plain", NULL, NULL, 0};
    n = http_format_head(out, sizeof out, &r, 0);
    want = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
           "Content-Length: 0\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n";
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));

    /* extra headers; their own Cache-Control replaces the default; no type */
    r = (http_response){304, NULL, "ETag: \"x\"\r\nCache-Control: no-cache\r\n", NULL, 0};
    n = http_format_head(out, sizeof out, &r, 1);
    want = "HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\nConnection: keep-alive\r\n"
           "ETag: \"x\"\r\nCache-Control: no-cache\r\n\r\n";
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));

    /* too small a buffer: nothing usable, says 0 */
    char tiny[16];
    r = (http_response){200, "application/json", NULL, NULL, 17};
    assert_int_equal(http_format_head(tiny, sizeof tiny, &r, 1), 0);

    assert_string_equal(http_status_text(413), "Payload Too Large");
    assert_string_equal(http_status_text(429), "Too Many Requests");
    assert_string_equal(http_status_text(101), "Switching Protocols");
    assert_string_equal(http_status_text(299), "Unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_body_whole_and_bytewise),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_upgrade),
        cmocka_unit_test(test_not_an_upgrade),
        cmocka_unit_test(test_long_kept_headers_truncated),
        cmocka_unit_test(test_head_too_large_one_header),
        cmocka_unit_test(test_head_too_large_many_headers),
        cmocka_unit_test(test_head_too_large_url),
        cmocka_unit_test(test_head_cap_boundary),
        cmocka_unit_test(test_body_cap_content_length),
        cmocka_unit_test(test_body_cap_chunked),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_query_param),
        cmocka_unit_test(test_path_len),
        cmocka_unit_test(test_format_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
