/*
 * test_abuse: hostile or careless clients against the WebSocket endpoints,
 * in the protocol suite (so it also runs against a whole cluster): frames
 * sent in the same packet as the upgrade (issue #10 finding 1: a cluster
 * server crashed when the user was not cached yet), malformed handshake
 * keys, over-long tokens, pipelined HTTP requests, and the request_type of
 * rate_limited errors.
 */
#include "integration/chatkit.h"
#include "integration/rawsock.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/ws.h"

/* The upgrade, a ping and a request in ONE write, for a user registered a
 * moment ago (a cluster server has not cached them yet and looks them up
 * first): the server must answer the ping and the request once the
 * session is open, and stay up. */
static void one_packet(const char *path, const char *user, const char *first_frame) {
    int port = chatd_ws_port(H_SRV, path);
    int fd = raw_connect(port, NULL);
    assert_true(fd >= 0);
    const char *up = raw_upgrade_request(hfmt("%s?token=%s", path, forge_token(user, 0, 3600)));
    uint8_t pkt[4096];
    size_t n = strlen(up);
    memcpy(pkt, up, n);
    n += raw_client_frame(pkt + n, 1, WS_OP_PING, "hi", 2);
    const char *hb = "{\"type\":\"heartbeat\"}";
    n += raw_client_frame(pkt + n, 1, WS_OP_TEXT, hb, strlen(hb));
    assert_int_equal(raw_send(fd, pkt, n, 2000), 0);

    raw_reader *r = calloc(1, sizeof *r);
    r->fd = fd;
    assert_int_equal(raw_read_head(r, H_TIMEOUT), 101);
    int got_pong = 0, got_first = 0, op;
    char buf[65536];
    size_t len;
    int64_t deadline = now_ms() + H_TIMEOUT;
    while ((!got_pong || !got_first) && now_ms() < deadline) {
        int k = raw_ws_next(r, (int)(deadline - now_ms()), &op, buf, sizeof buf - 1, &len);
        if (k < 0) fail_msg("%s: the connection broke (server crashed?)", path);
        if (k == 0) break;
        if (op == WS_OP_PONG && len == 2 && !memcmp(buf, "hi", 2)) got_pong = 1;
        if (op == WS_OP_TEXT && len < sizeof buf) {
            buf[len] = '\0';
            if (strstr(buf, first_frame)) got_first = 1;
            if (strstr(buf, "\"error\"")) fail_msg("%s: unexpected %s", path, buf);
        }
    }
    if (!got_pong || !got_first)
        fail_msg("%s: pong %d, %s %d", path, got_pong, first_frame, got_first);
    close(fd);
    free(r);
}

static void test_frames_in_the_upgrade_packet(void **state) {
    for (int i = 0; i < 8; i++) {
        const char *u = uniq_name("pk");
        assert_int_equal(register_user(H_SRV, u, H_PASSWORD), 201);
        one_packet("/chat", u, "channels_list");
        const char *v = uniq_name("pk");
        assert_int_equal(register_user(H_SRV, v, H_PASSWORD), 201);
        one_packet("/presence", v, "initial_presence");
    }
    /* every server is still up and serving */
    tconn *c = chat_login(H_SRV, new_user(H_SRV, "pk"));
    tconn_close(c);
    tconn *p = presence_login(H_SRV, new_user(H_SRV, "pk"));
    tconn_close(p);
    assert_int_equal(http_call(H_SRV, "GET", "/health", NULL, NULL, NULL), 200);
}

static void test_bad_websocket_key(void **state) {
    const char *tok = auth(H_SRV, new_user(H_SRV, "key"), H_PASSWORD);
    const char *keys[] = {"abc", "dGhlIHNhbXBsZSBub25jZQ",
                          "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25jZQ==x",
                          "!!!!!!!!!!!!!!!!!!!!!!=="};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *req = hfmt("GET /chat?token=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                               "Sec-WebSocket-Version: 13\r\n\r\n",
                               tok, keys[i]);
        int port = chatd_ws_port(H_SRV, "/chat");
        int fd = raw_connect(port, NULL);
        assert_int_equal(raw_send(fd, req, strlen(req), 2000), 0);
        raw_reader *r = calloc(1, sizeof *r);
        r->fd = fd;
        int st = raw_read_head(r, H_TIMEOUT);
        if (st != 400) fail_msg("Sec-WebSocket-Key %s: status %d, want 400", keys[i], st);
        close(fd);
        free(r);
    }
}

static void test_overlong_token_is_a_bad_token(void **state) {
    char *big = malloc(3001);
    memset(big, 'a', 3000);
    big[3000] = '\0';
    tconn *c = ws_open(H_SRV, hfmt("/chat?token=%s", big), NULL, "long token chat");
    expect_close(c, 3000, "Authentication failed");
    tconn_close(c);
    tconn *p = ws_open(H_SRV, hfmt("/presence?token=%s", big), NULL, "long token presence");
    expect_close(p, 4002, "Authentication failed");
    tconn_close(p);
    free(big);
}

static void test_pipelined_requests(void **state) {
    const char *one = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *last = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const char *req = hfmt("%s%s%s", one, one, last);
    const char *resp = NULL;
    assert_int_equal(raw_http(H_SRV, req, strlen(req), &resp), 200);
    int n = 0;
    for (const char *p = resp; (p = strstr(p, "HTTP/1.1 200")); p++)
        n++;
    if (n != 3) fail_msg("3 pipelined requests, %d answers: %s", n, resp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_in_the_upgrade_packet),
        cmocka_unit_test(test_bad_websocket_key),
        cmocka_unit_test(test_overlong_token_is_a_bad_token),
        cmocka_unit_test(test_pipelined_requests),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
