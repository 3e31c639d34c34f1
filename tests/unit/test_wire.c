/*
 * test_wire: the connection's protocol core (src/net/wire.c), driven the
 * way conn.c drives it but with no socket: requests held until answered,
 * frames behind an upgrade kept until it is accepted, fragmented messages
 * across feeds, byte-at-a-time input, the caps and the terminal events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/wire.h"
#include "net/ws.h"

#define UPGRADE                                                                                    \
    "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"               \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

/* A masked client frame appended to buf at *n. */
static void frame(char *buf, size_t *n, int fin, int op, const char *payload, size_t len) {
    static const uint8_t mask[4] = {9, 8, 7, 6};
    size_t h = ws_write_header((uint8_t *)buf + *n, fin, op, len, mask);
    memcpy(buf + *n + h, payload, len);
    ws_mask((uint8_t *)buf + *n + h, len, mask, 0);
    *n += h + len;
}

/* Feeds a copy of data (the wire unmasks in place). */
static int feed(wire *w, const char *data, size_t len) {
    static char copy[1 << 17];
    assert_true(len <= sizeof copy);
    memcpy(copy, data, len);
    return wire_feed(w, copy, len);
}

static void test_requests_are_held_until_answered(void **state) {
    wire w;
    wire_init(&w, 1024);
    const char *two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(feed(&w, two, strlen(two)), 0);
    wire_event ev;
    assert_int_equal(wire_next(&w, &ev), WIRE_REQUEST);
    assert_string_equal(ev.req->url, "/a");
    /* not answered yet: the second request waits */
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE);
    assert_int_equal(wire_keep_rest(&w), 0);
    assert_true(wire_has_input(&w));
    wire_http_done(&w);
    assert_int_equal(wire_next(&w, &ev), WIRE_REQUEST);
    assert_string_equal(ev.req->url, "/b");
    wire_http_done(&w);
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE);
    assert_int_equal(wire_keep_rest(&w), 0);
    assert_false(wire_has_input(&w));
    assert_int_equal(wire_buffered(&w), sizeof(http_req) + 0); /* only the request object */
    wire_free(&w);
}

/* Finding 1 of issue #10: frames in the same packet as the upgrade are
 * not handed out before the owner accepted the upgrade. */
static void test_frames_behind_an_upgrade_wait(void **state) {
    char buf[1024];
    size_t n = strlen(UPGRADE);
    memcpy(buf, UPGRADE, n);
    frame(buf, &n, 1, WS_OP_PING, "hi", 2);
    frame(buf, &n, 1, WS_OP_TEXT, "{}", 2);
    wire w;
    wire_init(&w, 1024);
    assert_int_equal(feed(&w, buf, n), 0);
    wire_event ev;
    assert_int_equal(wire_next(&w, &ev), WIRE_UPGRADE);
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE); /* held */
    assert_int_equal(wire_keep_rest(&w), 0);
    wire_upgraded(&w);
    assert_int_equal(wire_next(&w, &ev), WIRE_PING);
    assert_memory_equal(ev.data, "hi", 2);
    assert_int_equal(wire_next(&w, &ev), WIRE_TEXT);
    assert_memory_equal(ev.data, "{}", 2);
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE);
    wire_free(&w);
}

static void upgraded(wire *w, size_t max) {
    wire_init(w, max);
    assert_int_equal(feed(w, UPGRADE, strlen(UPGRADE)), 0);
    wire_event ev;
    assert_int_equal(wire_next(w, &ev), WIRE_UPGRADE);
    wire_upgraded(w);
    assert_int_equal(wire_keep_rest(w), 0);
}

static void test_fragments_byte_by_byte(void **state) {
    char buf[256];
    size_t n = 0;
    frame(buf, &n, 0, WS_OP_TEXT, "caf", 3);
    frame(buf, &n, 1, WS_OP_PING, "x", 1);    /* control frames may come between fragments */
    frame(buf, &n, 0, WS_OP_CONT, "\xc3", 1); /* a character split across fragments */
    frame(buf, &n, 1, WS_OP_CONT, "\xa9!", 2);
    wire w;
    upgraded(&w, 1024);
    int pings = 0, texts = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(feed(&w, buf + i, 1), 0);
        wire_event ev;
        wire_event_kind k;
        while ((k = wire_next(&w, &ev)) != WIRE_IDLE) {
            if (k == WIRE_PING)
                pings++;
            else if (k == WIRE_TEXT) {
                texts++;
                assert_int_equal(ev.len, 6);
                assert_memory_equal(ev.data, "caf\xc3\xa9!", 6);
            } else
                fail_msg("unexpected event %d", k);
        }
        assert_int_equal(wire_keep_rest(&w), 0);
    }
    assert_int_equal(pings, 1);
    assert_int_equal(texts, 1);
    assert_int_equal(wire_buffered(&w), 0); /* an idle connection keeps nothing */
    wire_free(&w);
}

static void expect_violation(const char *bytes, size_t n, size_t max, uint16_t code) {
    wire w;
    upgraded(&w, max);
    assert_int_equal(feed(&w, bytes, n), 0);
    wire_event ev;
    wire_event_kind k = wire_next(&w, &ev);
    if (k != WIRE_VIOLATION || ev.code != code)
        fail_msg("event %d code %d, want violation %d", k, ev.code, code);
    assert_non_null(ev.reason);
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE); /* stopped: nothing more */
    wire_free(&w);
}

static void test_violations(void **state) {
    char b[512];
    size_t n = 0;
    frame(b, &n, 1, WS_OP_TEXT, "\xff", 1);
    expect_violation(b, n, 100, WS_CLOSE_BAD_DATA);
    n = 0;
    frame(b, &n, 1, WS_OP_BINARY, "x", 1);
    expect_violation(b, n, 100, WS_CLOSE_UNSUPPORTED);
    n = 0;
    frame(b, &n, 1, WS_OP_CONT, "x", 1);
    expect_violation(b, n, 100, WS_CLOSE_PROTOCOL);
    n = 0;
    char big[200];
    memset(big, 'a', sizeof big);
    frame(b, &n, 1, WS_OP_TEXT, big, sizeof big);
    expect_violation(b, n, 100, WS_CLOSE_TOO_BIG);
    n = 0; /* a message that grows past the cap in fragments */
    frame(b, &n, 0, WS_OP_TEXT, big, 60);
    frame(b, &n, 1, WS_OP_CONT, big, 60);
    expect_violation(b, n, 100, WS_CLOSE_TOO_BIG);
    n = 0;
    frame(b, &n, 0, WS_OP_TEXT, "a", 1);
    frame(b, &n, 1, WS_OP_TEXT, "b", 1);
    expect_violation(b, n, 100, WS_CLOSE_PROTOCOL);
    const char unmasked[] = {(char)0x81, 0x01, 'a'};
    expect_violation(unmasked, sizeof unmasked, 100, WS_CLOSE_PROTOCOL);
}

static void test_close_and_bad_request(void **state) {
    char b[64];
    size_t n = 0;
    frame(b, &n, 1, WS_OP_CLOSE, "\x03\xe9", 2); /* 1001 */
    frame(b, &n, 1, WS_OP_TEXT, "late", 4);
    wire w;
    upgraded(&w, 100);
    assert_int_equal(feed(&w, b, n), 0);
    wire_event ev;
    assert_int_equal(wire_next(&w, &ev), WIRE_CLOSE);
    assert_int_equal(ev.code, 1001);
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE); /* nothing after a close */
    wire_free(&w);

    wire_init(&w, 100);
    const char *junk = "NOT HTTP\r\n\r\n";
    assert_int_equal(feed(&w, junk, strlen(junk)), 0);
    assert_int_equal(wire_next(&w, &ev), WIRE_BAD_REQUEST);
    assert_int_equal(ev.code, 400);
    wire_free(&w);
}

static void test_keep_cap(void **state) {
    /* A frame that never completes is kept only up to the cap. */
    wire w;
    upgraded(&w, 1024);
    uint8_t hdr[14];
    static const uint8_t mask[4] = {1, 2, 3, 4};
    size_t h = ws_write_header(hdr, 1, WS_OP_TEXT, 1024, mask);
    assert_int_equal(feed(&w, (char *)hdr, h), 0);
    wire_event ev;
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE);
    assert_int_equal(wire_keep_rest(&w), 0);
    assert_true(wire_buffered(&w) >= h);
    /* while held behind a request, an endless pipeline hits the cap */
    wire_free(&w);
    wire_init(&w, 1024);
    static char flood[1 << 17];
    memset(flood, 'x', sizeof flood);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(feed(&w, req, strlen(req)), 0);
    assert_int_equal(wire_next(&w, &ev), WIRE_REQUEST);
    assert_int_equal(wire_keep_rest(&w), 0);
    assert_int_equal(wire_feed(&w, flood, sizeof flood), 0);
    assert_int_equal(wire_next(&w, &ev), WIRE_IDLE); /* held */
    assert_int_equal(wire_keep_rest(&w), -1);        /* too much to keep: drop the peer */
    wire_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_are_held_until_answered),
        cmocka_unit_test(test_frames_behind_an_upgrade_wait),
        cmocka_unit_test(test_fragments_byte_by_byte),
        cmocka_unit_test(test_violations),
        cmocka_unit_test(test_close_and_bad_request),
        cmocka_unit_test(test_keep_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
