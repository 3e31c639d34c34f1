/*
 * test_restart: durability (PROTOCOL.md "Delivery guarantee": the echo is
 * the acknowledgement, sent only after the message is durably stored).
 * kill -9 and restart on the same data dir, both when quiet and in the
 * middle of a stream of messages; and graceful SIGTERM shutdown (close
 * 1001, exit 0). Each test runs its own chatd.
 */
#include "integration/chatkit.h"

#include <stdlib.h>
#include <string.h>

static const char *const FLAGS[] = {"--fsync", "on", "--rate-per-sec", "100000", "--rate-burst",
                                    "100000",  NULL};

static void test_kill9_keeps_acked(void **state) {
    chatd_srv *s = chatd_start(FLAGS);
    member m[2];
    const char *id = group_with(s, m, 2, "k9");
    enum { N = 30 };
    json_t *acked[N];
    for (int i = 0; i < N; i++)
        acked[i] = send_msg(m[i % 2].c, id, hfmt("durable %d", i));

    chatd_kill9(s);
    expect_close(m[0].c, -1, NULL); /* EOF, no close frame: it was killed */
    tconn_drop(m[0].c);
    tconn_drop(m[1].c);
    chatd_restart(s);

    tconn *a = chat_login(s, m[0].name);
    json_t *e = list_entry(recv_type(a, "channels_list", H_TIMEOUT), id);
    if (!e) fail_msg("channel %s lost after restart", id);
    json_t *all = fetch_all(a, id);
    assert_int_equal(json_array_size(all), N);
    for (int i = 0; i < N; i++) {
        json_t *got = json_array_get(all, (size_t)i);
        check_message(got, id, m[i % 2].name, hfmt("durable %d", i));
        assert_string_equal(jstr(got, "message_id"), jstr(acked[i], "message_id"));
        assert_int_equal(jint(got, "seq"), jint(acked[i], "seq"));
        assert_string_equal(jstr(got, "created_at"), jstr(acked[i], "created_at"));
    }
    /* the channel goes on: next seq, a larger id */
    json_t *next = send_msg(a, id, "after restart");
    assert_int_equal(jint(next, "seq"), N + 1);
    assert_true(strtoull(jstr(next, "message_id"), NULL, 10) >
                strtoull(jstr(acked[N - 1], "message_id"), NULL, 10));
    tconn_close(a);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static int content_index(const char *content) {
    if (strncmp(content, "stream-", 7) != 0) return -1;
    return atoi(content + 7);
}

/* Reads every echo that has arrived (timeout_ms for the first) into acked. */
static void collect_echoes(tconn *c, json_t **acked, int max, int *n_acked, int timeout_ms) {
    json_t *m;
    while ((m = try_recv_type(c, "chat_message", timeout_ms)) != NULL) {
        int i = content_index(jstr(m, "content"));
        if (i < 0 || i >= max) fail_msg("echo of a message never sent: %s", jdump(m));
        if (acked[i]) fail_msg("second echo for message %d: %s", i, jdump(m));
        acked[i] = m;
        (*n_acked)++;
        timeout_ms = 0;
    }
    if (try_recv_type(c, "error", 0)) fail_msg("an error frame during the stream");
}

static void test_kill9_mid_stream(void **state) {
    chatd_srv *s = chatd_start(FLAGS);
    member m[2];
    const char *id = group_with(s, m, 2, "ms");
    tconn *a = m[0].c;
    enum { MAX = 2000 };
    json_t **acked = calloc(MAX, sizeof *acked);
    int sent = 0, n_acked = 0;

    /* pipelined bursts, so messages are in flight when the server dies; at
     * least 100 acknowledged first. A slow server (sanitizers, a busy
     * machine) may take a while for them: once MAX is nearly sent the loop
     * only waits (up to a minute, a hang guard, not a timing assertion). */
    int64_t give_up = now_ms() + 60000;
    while (n_acked < 100 || sent < 150) {
        if (now_ms() > give_up) fail_msg("only %d of %d messages acknowledged", n_acked, sent);
        bool burst = sent < MAX - 20;
        for (int k = 0; burst && k < 20; k++, sent++)
            send_json(a,
                      "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"stream-%d\","
                      "\"client_msg_id\":\"cm-%d\",\"metadata\":{\"i\":%d}}",
                      id, sent, sent, sent);
        collect_echoes(a, acked, MAX, &n_acked, burst ? 1 : 100);
    }
    chatd_kill9(s);
    /* echoes already on the wire before the kill are acknowledgements too */
    collect_echoes(a, acked, MAX, &n_acked, 500);
    assert_true(n_acked >= 100);
    print_message("mid-stream kill: %d sent, %d acknowledged\n", sent, n_acked);
    tconn_drop(m[0].c);
    tconn_drop(m[1].c);
    chatd_restart(s);

    tconn *c = chat_login(s, m[1].name);
    json_t *all = fetch_all(c, id);
    size_t n = json_array_size(all);
    char *seen = calloc(MAX, 1);
    for (size_t k = 0; k < n; k++) {
        json_t *msg = json_array_get(all, k);
        /* whole messages only: every field present and right */
        check_message(msg, id, m[0].name, NULL);
        if (jint(msg, "seq") != (json_int_t)k + 1)
            fail_msg("seq not gapless: position %zu has %s", k, jdump(msg));
        int i = content_index(jstr(msg, "content"));
        if (i < 0 || i >= sent) fail_msg("stored message was never sent: %s", jdump(msg));
        if (seen[i]) fail_msg("message %d stored twice", i);
        seen[i] = 1;
        assert_string_equal(jstr(msg, "client_msg_id"), hfmt("cm-%d", i));
        assert_int_equal(jint(jobj(msg, "metadata"), "i"), i);
        if (acked[i]) {
            assert_string_equal(jstr(msg, "message_id"), jstr(acked[i], "message_id"));
            assert_int_equal(jint(msg, "seq"), jint(acked[i], "seq"));
        }
    }
    for (int i = 0; i < sent; i++)
        if (acked[i] && !seen[i]) fail_msg("acknowledged message %d lost: %s", i, jdump(acked[i]));
    print_message("after restart: %zu stored (acked %d, sent %d)\n", n, n_acked, sent);

    /* the de-dup memory survived: resending an acked message returns it */
    int first = -1;
    for (int i = 0; i < sent && first < 0; i++)
        if (acked[i]) first = i;
    tconn *a2 = chat_login(s, m[0].name);
    send_json(a2,
              "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"stream-%d\","
              "\"client_msg_id\":\"cm-%d\"}",
              id, first, first);
    json_t *again = recv_msg(a2, id, hfmt("stream-%d", first));
    assert_string_equal(jstr(again, "message_id"), jstr(acked[first], "message_id"));
    assert_int_equal(json_array_size(fetch_all(c, id)), n);
    free(seen);
    free(acked);
    tconn_close(a2);
    tconn_close(c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_sigterm_graceful(void **state) {
    chatd_srv *s = chatd_start(FLAGS);
    member m[2];
    const char *id = group_with(s, m, 2, "gt");
    tconn *p = presence_login(s, m[1].name);
    json_t *acked[10];
    for (int i = 0; i < 10; i++)
        acked[i] = send_msg(m[0].c, id, hfmt("graceful %d", i));

    chatd_term(s);
    expect_close(m[0].c, 1001, NULL);
    expect_close(m[1].c, 1001, NULL);
    expect_close(p, 1001, NULL);
    assert_int_equal(chatd_wait(s, 10000), 0);
    tconn_close(m[0].c);
    tconn_close(m[1].c);
    tconn_close(p);

    chatd_restart(s);
    tconn *c = chat_login(s, m[1].name);
    json_t *all = fetch_all(c, id);
    assert_int_equal(json_array_size(all), 10);
    for (int i = 0; i < 10; i++) {
        json_t *msg = json_array_get(all, (size_t)i);
        check_message(msg, id, m[0].name, hfmt("graceful %d", i));
        assert_string_equal(jstr(msg, "message_id"), jstr(acked[i], "message_id"));
    }
    /* users and passwords survived too */
    auth(s, m[0].name, H_PASSWORD);
    tconn_close(c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_keeps_acked),
        cmocka_unit_test(test_kill9_mid_stream),
        cmocka_unit_test(test_sigterm_graceful),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
