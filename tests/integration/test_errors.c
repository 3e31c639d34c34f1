/*
 * test_errors: everything a client can get wrong on the chat WebSocket
 * (PROTOCOL.md section 2 "Errors" and section 4): error frames for bad
 * requests (the connection stays open and nothing is stored), close codes
 * for frame-level violations, bad tokens on /chat and /presence, and rate
 * limiting (on a second chatd with a tiny budget).
 */
#include "integration/chatkit.h"
#include "integration/hcluster.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static chatd_srv *S;
static member M[2];
static const char *CH;  /* a channel M[0] and M[1] are in */
static size_t CH_COUNT; /* messages stored in it */

static int setup(void **state) {
    S = chatd_start(NULL);
    return S ? 0 : -1;
}

static int teardown(void **state) {
    tconn_close(M[0].c);
    tconn_close(M[1].c);
    int rc = chatd_stop(S);
    chatd_free(S);
    return rc == 0 ? 0 : -1;
}

/* The shared channel, created on first use, with one message in it. */
static void ensure_channel(void) {
    if (CH) return;
    CH = group_with(S, M, 2, "er");
    send_msg(M[0].c, CH, "baseline");
    recv_msg(M[1].c, CH, "baseline");
    CH_COUNT = 1;
}

/* After an error: the connection still works and nothing was stored. */
static void still_fine(tconn *c) {
    json_t *h = fetch_history(c, CH, NULL, NULL, 100);
    if (json_array_size(jarr(h, "messages")) != CH_COUNT)
        fail_msg("history changed after a bad request: %s", jdump(h));
    recv_none_type(M[1].c, "chat_message", 0);
}

static void bad(const char *frame, const char *code, const char *request_type) {
    ensure_channel();
    drain(M[0].c, 0); /* leftovers of an earlier failure must not confuse this one */
    send_text(M[0].c, frame, strlen(frame));
    json_t *e = expect_error(M[0].c, code, request_type);
    assert_string_equal(jstr(e, "type"), "error");
    still_fine(M[0].c);
}

static void test_bad_json(void **state) {
    bad("this is not json", "bad_json", NULL);
    bad("", "bad_json", NULL);
    bad("[1,2,3]", "bad_json", NULL);
    bad("\"a string\"", "bad_json", NULL);
    bad("{\"type\":\"chat_message\",", "bad_json", NULL);
}

static void test_unknown_type(void **state) {
    bad("{\"type\":\"launch_rockets\"}", "unknown_type", "launch_rockets");
    bad("{\"type\":\"status_update\",\"status\":\"away\"}", "unknown_type", "status_update");
}

static void test_invalid_field(void **state) {
    ensure_channel();
    bad("{\"channelId\":\"x\"}", "invalid_field", NULL); /* missing type */
    bad("{\"type\":5}", "invalid_field", NULL);
    bad("{\"type\":\"join_channel\"}", "invalid_field", "join_channel");
    bad("{\"type\":\"join_channel\",\"channelId\":\"not-a-uuid\"}", "invalid_field",
        "join_channel");
    bad("{\"type\":\"join_channel\",\"channelId\":42}", "invalid_field", "join_channel");
    bad("{\"type\":\"leave_channel\",\"channelId\":\"1234\"}", "invalid_field", "leave_channel");
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\"}", CH), "invalid_field",
        "chat_message");
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"\"}", CH),
        "invalid_field", "chat_message");
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":7}", CH), "invalid_field",
        "chat_message");
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"x\\ud800y\"}", CH),
        "invalid_field", "chat_message");
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"x\",\"metadata\":[1]}",
             CH),
        "invalid_field", "chat_message");
    bad("{\"type\":\"chat_message\",\"content\":\"no channel\"}", "invalid_field", "chat_message");
    bad(hfmt("{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"limit\":0}", CH), "invalid_field",
        "fetch_history");
    bad(hfmt("{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"limit\":101}", CH),
        "invalid_field", "fetch_history");
    bad(hfmt("{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"before\":\"5\",\"after\":\"3\"}",
             CH),
        "invalid_field", "fetch_history");
    bad(hfmt("{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"before\":\"abc\"}", CH),
        "invalid_field", "fetch_history");
    bad(hfmt("{\"type\":\"mark_channel_read\",\"channelId\":\"%s\",\"message_id\":\"x\"}", CH),
        "invalid_field", "mark_channel_read");
}

static void test_invalid_create(void **state) {
    bad("{\"type\":\"create_channel\",\"name\":\"n\",\"participants\":\"bob\"}", "invalid_field",
        "create_channel");
    bad("{\"type\":\"create_channel\",\"name\":\"n\",\"participants\":[\"bad name!\"]}",
        "invalid_field", "create_channel");
    bad("{\"type\":\"create_channel\",\"name\":\"n\",\"participants\":[5]}", "invalid_field",
        "create_channel");
    /* participants is a required field (only kind is optional) */
    bad("{\"type\":\"create_channel\",\"name\":\"n\"}", "invalid_field", "create_channel");
    recv_none_type(M[0].c, "channel_created", 100);
}

static void test_not_found(void **state) {
    const char *unknown = "00000000-0000-4000-8000-000000000000";
    const char *types[] = {"join_channel", "leave_channel", "fetch_history", "mark_channel_read"};
    for (size_t i = 0; i < 4; i++)
        bad(hfmt("{\"type\":\"%s\",\"channelId\":\"%s\"}", types[i], unknown), "not_found",
            types[i]);
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"x\"}", unknown),
        "not_found", "chat_message");

    /* unknown participants: every one named, nothing created */
    const char *g1 = uniq_name("ghostA"), *g2 = uniq_name("ghostB");
    send_pack(M[0].c, "{s:s,s:s,s:[s,s,s]}", "type", "create_channel", "name", "ghosts",
              "participants", M[1].name, g1, g2);
    json_t *e = expect_error(M[0].c, "not_found", "create_channel");
    const char *msg = jstr(e, "error");
    if (!strstr(msg, g1) || !strstr(msg, g2))
        fail_msg("error should name both unknown users %s and %s: %s", g1, g2, msg);
    recv_none_type(M[0].c, "channel_created", 200);
    recv_none_type(M[1].c, "channels_list", 0);
}

static void test_too_large(void **state) {
    ensure_channel();
    char *big = malloc(4002);
    memset(big, 'a', 4001);
    big[4001] = '\0';
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", CH, big),
        "too_large", "chat_message");
    /* 4001 bytes made of multi-byte characters: still bytes that count */
    char *mb = malloc(4100);
    size_t n = 0;
    while (n + 3 <= 4001) {
        memcpy(mb + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    while (n < 4001)
        mb[n++] = 'b';
    mb[n] = '\0';
    bad(hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", CH, mb),
        "too_large", "chat_message");
    free(mb);
    big[101] = '\0';
    bad(hfmt("{\"type\":\"create_channel\",\"name\":\"%s\",\"participants\":[\"%s\"]}", big,
             M[1].name),
        "too_large", "create_channel");
    free(big);

    json_t *parts = json_array();
    for (int i = 0; i < 1001; i++)
        json_array_append_new(parts, json_string(hfmt("p%d", i)));
    json_t *req = json_pack("{s:s,s:s,s:o}", "type", "create_channel", "name", "crowd",
                            "participants", parts);
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    bad(s, "too_large", "create_channel");
    free(s);
    recv_none_type(M[0].c, "channel_created", 100);
}

/* A fresh chat connection for a frame-level test (it will be closed). */
static tconn *victim(void) {
    ensure_channel();
    tconn *c = chat_login(S, M[0].name);
    drain(c, 0);
    return c;
}

static void test_frame_too_big(void **state) {
    tconn *c = victim();
    size_t n = 64 * 1024 + 1;
    char *p = malloc(n);
    memset(p, 'a', n);
    wsc_send_frame(c->ws, 1, WS_OP_TEXT, p, n); /* may fail once the server closes */
    expect_close(c, 1009, NULL);
    tconn_close(c);

    /* a fragmented message growing past the limit */
    c = victim();
    size_t part = 30000;
    wsc_send_frame(c->ws, 0, WS_OP_TEXT, p, part);
    wsc_send_frame(c->ws, 0, WS_OP_CONT, p, part);
    wsc_send_frame(c->ws, 1, WS_OP_CONT, p, part);
    expect_close(c, 1009, NULL);
    tconn_close(c);
    free(p);
    still_fine(M[0].c);
}

static void test_invalid_utf8(void **state) {
    tconn *c = victim();
    const char bad_utf8[] = "{\"type\":\"chat_message\",\"content\":\"\xff\xfe\"}";
    wsc_send_frame(c->ws, 1, WS_OP_TEXT, bad_utf8, sizeof bad_utf8 - 1);
    expect_close(c, 1007, NULL);
    tconn_close(c);
    /* an encoded surrogate (ED A0 80) is invalid UTF-8 too */
    c = victim();
    wsc_send_frame(c->ws, 1, WS_OP_TEXT, "\"\xed\xa0\x80\"", 5);
    expect_close(c, 1007, NULL);
    tconn_close(c);
}

static void test_unmasked_frame(void **state) {
    tconn *c = victim();
    const unsigned char raw[] = {0x81, 0x02, '{', '}'};
    wsc_send_raw(c->ws, raw, sizeof raw);
    expect_close(c, 1002, NULL);
    tconn_close(c);
    /* reserved bits set */
    c = victim();
    const unsigned char rsv[] = {0xC1, 0x80, 0, 0, 0, 0};
    wsc_send_raw(c->ws, rsv, sizeof rsv);
    expect_close(c, 1002, NULL);
    tconn_close(c);
    /* a continuation with nothing to continue */
    c = victim();
    wsc_send_frame(c->ws, 1, WS_OP_CONT, "x", 1);
    expect_close(c, 1002, NULL);
    tconn_close(c);
}

static void test_binary_frame(void **state) {
    tconn *c = victim();
    wsc_send_frame(c->ws, 1, WS_OP_BINARY, "\x01\x02", 2);
    expect_close(c, 1003, NULL);
    tconn_close(c);
}

static void test_fragmented_ok_and_ping(void **state) {
    tconn *c = victim();
    /* content "h€llo é" split inside the euro sign and inside é */
    const char *content = "h\xe2\x82\xacllo \xc3\xa9";
    const char *frame =
        hfmt("{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", CH, content);
    const char *euro = strstr(frame, "\xe2\x82\xac"), *eacute = strstr(frame, "\xc3\xa9");
    size_t cut1 = (size_t)(euro - frame) + 1, cut2 = (size_t)(eacute - frame) + 1;
    wsc_send_frame(c->ws, 0, WS_OP_TEXT, frame, cut1);
    wsc_send_frame(c->ws, 0, WS_OP_CONT, frame + cut1, cut2 - cut1);
    /* a ping between fragments is allowed and answered */
    wsc_send_frame(c->ws, 1, WS_OP_PING, "abc", 3);
    wsc_send_frame(c->ws, 1, WS_OP_CONT, frame + cut2, strlen(frame) - cut2);
    json_t *echo = recv_msg(c, CH, content);
    check_message(echo, CH, M[0].name, content);
    recv_msg(M[1].c, CH, content);
    CH_COUNT++;
    int64_t deadline = now_ms() + H_TIMEOUT;
    while (c->pongs == 0 && now_ms() < deadline)
        try_recv_type(c, "__never__", 50);
    assert_int_equal(c->pongs, 1);
    assert_string_equal(c->last_pong, "abc");
    tconn_close(c);
    still_fine(M[0].c);
}

static void bad_token(const char *ep, const char *path_query, const char *headers, int code,
                      const char *reason) {
    tconn *c = ws_open(S, hfmt("/%s%s", ep, path_query), headers, hfmt("bad token %s", ep));
    expect_close(c, code, reason);
    tconn_close(c);
}

static void check_bad_tokens(const char *ep, int missing_code, int bad_code) {
    ensure_channel();
    const char *nf = "No authentication token provided", *af = "Authentication failed";
    bad_token(ep, "", NULL, missing_code, nf);
    bad_token(ep, "?token=", NULL, missing_code, nf);
    /* bad signature: a token made with another key */
    const char *good = forge_token(M[0].name, 0, 3600);
    char *tampered = strdup(good);
    size_t len = strlen(tampered);
    tampered[len - 2] = tampered[len - 2] == 'A' ? 'B' : 'A';
    bad_token(ep, hfmt("?token=%s", tampered), NULL, bad_code, af);
    free(tampered);
    bad_token(ep, "?token=garbage", NULL, bad_code, af);
    /* expired */
    bad_token(ep, hfmt("?token=%s", forge_token(M[0].name, -7200, 60)), NULL, bad_code, af);
    /* alg none */
    const char *hdr = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    const char *pl = hfmt("{\"username\":\"%s\",\"iat\":%lld,\"exp\":%lld}", M[0].name,
                          (long long)time(NULL), (long long)time(NULL) + 3600);
    const char *none = hfmt("%s.%s.", b64url(hdr, strlen(hdr)), b64url(pl, strlen(pl)));
    bad_token(ep, hfmt("?token=%s", none), NULL, bad_code, af);
    /* a well-signed token of a user that does not exist */
    bad_token(ep, hfmt("?token=%s", forge_token(uniq_name("ghost"), 0, 3600)), NULL, bad_code, af);
    /* a good token in the Authorization header works */
    tconn *c = ws_open(S, hfmt("/%s", ep), hfmt("Authorization: Bearer %s\r\n", good), "bearer");
    recv_type(c, strcmp(ep, "chat") == 0 ? "channels_list" : "initial_presence", H_TIMEOUT);
    tconn_close(c);
    /* ... and a bad one there is refused */
    bad_token(ep, "", "Authorization: Bearer nonsense\r\n", bad_code, af);
}

static void test_bad_tokens_chat(void **state) {
    check_bad_tokens("chat", 3000, 3000);
}

static void test_bad_tokens_presence(void **state) {
    check_bad_tokens("presence", 4001, 4002);
}

static int count_code(tconn *c, const char *code) {
    int n = 0;
    json_t *e;
    while ((e = try_recv_type(c, "error", 0)) != NULL) {
        if (strcmp(jstr(e, "code"), code) != 0) fail_msg("unexpected error: %s", jdump(e));
        /* rate_limited names the type of the frame it dropped */
        if (!strcmp(code, "rate_limited") && strcmp(jstr(e, "request_type"), "fetch_history"))
            fail_msg("rate_limited without the frame's request_type: %s", jdump(e));
        n++;
    }
    return n;
}

static void test_rate_limit(void **state) {
    /* The bucket is per socket, in domain_session_message: the same code in
     * both shapes. A cluster of its own (custom flags) costs ~40 s for
     * nothing more, so the cluster runs of the suite leave this one out. */
    if (hcluster_env_bus()) {
        fprintf(stderr, "test_rate_limit: per-socket logic, covered by the embedded run\n");
        skip();
    }
    const char *flags[] = {"--rate-per-sec", "5", "--rate-burst", "5", "--abuse-close-ms",
                           "2000",           NULL};
    chatd_srv *r = chatd_start(flags);
    const char *u = new_user(r, "rl"), *v = new_user(r, "rl");
    tconn *c = chat_login(r, u);
    const char *id = create_group(c, "rate", (const char *[]){v, NULL});
    sleep_ms(1200); /* the bucket is full again */
    drain(c, 0);

    /* a burst of 20: about 5 pass, the rest are answered rate_limited */
    const char *req = hfmt("{\"type\":\"fetch_history\",\"channelId\":\"%s\",\"limit\":1}", id);
    for (int i = 0; i < 20; i++)
        send_text(c, req, strlen(req));
    int n_ok = 0, n_rl = 0;
    int64_t deadline = now_ms() + H_TIMEOUT;
    while (n_ok + n_rl < 20 && now_ms() < deadline) {
        if (try_recv_type(c, "history", 20)) n_ok++;
        n_rl += count_code(c, "rate_limited");
    }
    if (n_ok + n_rl != 20 || n_ok < 5 || n_ok > 8)
        fail_msg("burst of 20 with burst 5: %d served, %d rate_limited (want 5..8 + the rest)",
                 n_ok, n_rl);
    assert_false(c->closed);

    /* after a pause the connection works normally */
    sleep_ms(1200);
    fetch_history(c, id, NULL, NULL, 1);

    /* sustained abuse (100 frames/s against 5/s) closes with 1008 after ~2 s */
    int64_t start = now_ms();
    while (!c->closed && now_ms() - start < 8000) {
        wsc_send_text(c->ws, req, strlen(req)); /* fails once closed */
        try_recv_type(c, "__never__", 10);
    }
    int64_t took = now_ms() - start;
    expect_close(c, 1008, NULL);
    if (took < 1500 || took > 6000)
        fail_msg("closed with 1008 after %lld ms of abuse; expected about 2000", (long long)took);
    tconn_close(c);
    assert_int_equal(chatd_stop(r), 0);
    chatd_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_invalid_field),
        cmocka_unit_test(test_invalid_create),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_frame_too_big),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_unmasked_frame),
        cmocka_unit_test(test_binary_frame),
        cmocka_unit_test(test_fragmented_ok_and_ping),
        cmocka_unit_test(test_bad_tokens_chat),
        cmocka_unit_test(test_bad_tokens_presence),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
