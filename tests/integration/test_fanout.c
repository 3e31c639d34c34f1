/*
 * test_fanout: "encode once, send many" (ARCHITECTURE.md, performance
 * design). 1,000 members of one channel, each with a live chat socket; one
 * message reaches all 1,000 and is JSON-encoded exactly once (the server's
 * chatd_json_encodes_total counter goes up by 1).
 */
#include "integration/chatkit.h"

#include <stdlib.h>
#include <string.h>

enum { N = 1000 };

static void test_fanout_1000(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const char **names = calloc(N, sizeof *names);
    tconn **c = calloc(N, sizeof *c);
    int64_t t0 = now_ms();

    for (int i = 0; i < N; i++)
        names[i] = new_user(s, "fo");
    int64_t t_reg = now_ms();
    for (int i = 0; i < N; i++) {
        c[i] = chat_connect(s, forge_token(names[i], 0, 3600));
        drain(c[i], 0);
    }
    int64_t t_conn = now_ms();

    json_t *parts = json_array();
    for (int i = 1; i < N; i++)
        json_array_append_new(parts, json_string(names[i]));
    send_pack(c[0], "{s:s,s:s,s:o}", "type", "create_channel", "name", "everyone", "participants",
              parts);
    json_t *cr = recv_type(c[0], "channel_created", 10000);
    const char *id = jstr(jobj(cr, "channel"), "channel_id");
    assert_int_equal(json_array_size(jarr(jobj(cr, "channel"), "participants")), N);
    for (int i = 0; i < N; i++) {
        json_t *l = try_recv_type(c[i], "channels_list", 10000);
        if (!l || !list_entry(l, id))
            fail_msg("member %d (%s) got no channels_list with the channel", i, names[i]);
        drain(c[i], 0);
    }
    sleep_ms(300); /* quiet */
    double before = metric_value(s, "chatd_json_encodes_total");
    if (before < 0) fail_msg("/metrics has no chatd_json_encodes_total");

    int64_t t_send = now_ms();
    send_pack(c[0], "{s:s,s:s,s:s}", "type", "chat_message", "channelId", id, "content",
              "hello, thousand");
    const char *mid = NULL;
    for (int i = 0; i < N; i++) {
        json_t *m = try_recv_msg(c[i], id, "hello, thousand", 10000);
        if (!m) fail_msg("member %d (%s) did not receive the message", i, names[i]);
        check_message(m, id, names[0], "hello, thousand");
        if (!mid) mid = jstr(m, "message_id");
        assert_string_equal(jstr(m, "message_id"), mid);
    }
    int64_t t_recv = now_ms();
    sleep_ms(200);
    double after = metric_value(s, "chatd_json_encodes_total");
    print_message("fan-out: register %lld ms, connect %lld ms, deliver to %d in %lld ms; "
                  "json encodes %.0f -> %.0f\n",
                  (long long)(t_reg - t0), (long long)(t_conn - t_reg), N,
                  (long long)(t_recv - t_send), before, after);
    if (after - before != 1)
        fail_msg("one message to %d members: JSON encodes went %.0f -> %.0f (want +1)", N, before,
                 after);
    /* nobody got it twice */
    for (int i = 0; i < N; i += 97)
        recv_none_type(c[i], "chat_message", i == 0 ? 100 : 0);

    for (int i = 0; i < N; i++)
        tconn_drop(c[i]);
    free(c);
    free(names);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_1000),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
