/*
 * test_cli_reconnect: `chat` clients survive a chatd restart (issue 3,
 * acceptance 2). Two interactive clients and a `chat tail` are connected
 * when chatd stops (close 1001). While they retry, chatd runs on ANOTHER
 * port, so the clients cannot reach it, and messages are sent there with
 * `chat send`; then chatd comes back on the clients' port. After the
 * reconnect every client shows each missed message exactly once (recovered
 * with fetch_history after), and live messages flow again, also once.
 */
#include "integration/chatkit.h"
#include "integration/ptyx.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define T_WAIT 5000
#define T_RECONNECT 10000

/* Makes the next chatd_restart listen on port (0 = any free port). */
static void set_port(chatd_srv *s, int port) {
    int i = 0;
    for (; s->args[i]; i += 2)
        if (strcmp(s->args[i], "--port") == 0) {
            free(s->args[i + 1]);
            s->args[i + 1] = strdup(hfmt("%d", port));
            return;
        }
    assert_true(i + 2 < 40);
    s->args[i] = strdup("--port");
    s->args[i + 1] = strdup(hfmt("%d", port));
    s->args[i + 2] = NULL;
}

static const char *const *user_env(int port, const char *user) {
    const char **env = calloc(5, sizeof *env);
    harness__keep_str((char *)env);
    env[0] = hfmt("CHAT_API=http://127.0.0.1:%d", port);
    env[1] = hfmt("TEST_USERNAME=%s", user);
    env[2] = "TEST_PASSWORD=" H_PASSWORD;
    env[3] = "CHAT_RECONNECT_MAX_MS=500"; /* keep the test short */
    return env;
}

static void chat_send(int port, const char *user, const char *channel, const char *text) {
    const char *out, *err;
    int rc = ptyx_run((const char *const[]){"send", channel, text, NULL}, user_env(port, user),
                      NULL, 15000, &out, &err);
    if (rc != 0) fail_msg("chat send '%s': exit %d, stderr: %s", text, rc, err);
}

static void test_restart_nothing_lost_nothing_twice(void **state) {
    static const char *const flags[] = {"--rate-per-sec", "1000", "--rate-burst", "1000", NULL};
    chatd_srv *s = chatd_start(flags);
    const int port = s->port;
    const char *alice = new_user(s, "ra");
    const char *bob = new_user(s, "rb");
    const char *carol = new_user(s, "rc");
    tconn *cc = chat_login(s, carol);
    const char *id = create_group(cc, "Ops", (const char *const[]){alice, bob, NULL});
    send_msg(cc, id, "before the restart");
    tconn_close(cc);

    ptyx *a = ptyx_spawn(alice, NULL, user_env(port, alice));
    ptyx *b = ptyx_spawn(bob, NULL, user_env(port, bob));
    ptyx *t = ptyx_spawn("tail", (const char *const[]){"tail", "Ops", NULL}, user_env(port, bob));
    ptyx_expect(a, "Type /help", T_WAIT);
    ptyx_expect(b, "Type /help", T_WAIT);
    ptyx_expect(t, "tailing Ops", T_WAIT);

    chat_send(port, carol, "Ops", "live one");
    const char *live = hfmt("[Ops] %s: live one", carol);
    ptyx_expect(a, live, T_WAIT);
    ptyx_expect(b, live, T_WAIT);
    ptyx_expect(t, "\"content\":\"live one\"", T_WAIT);

    /* stop: the clients see close 1001 and start retrying on `port` */
    chatd_term(s);
    assert_int_equal(chatd_wait(s, 10000), 0);
    ptyx_expect(a, "connection lost (server going away)", T_WAIT);
    ptyx_expect(b, "connection lost (server going away)", T_WAIT);
    ptyx_expect(t, "connection lost", T_WAIT);

    /* meanwhile, on a port the clients do not know */
    set_port(s, 0);
    chatd_restart(s);
    assert_int_not_equal(s->port, port);
    enum { MISSED = 5 };
    for (int i = 0; i < MISSED; i++)
        chat_send(s->port, carol, "Ops", hfmt("missed %d", i));
    ptyx_pump(a, 300); /* they keep failing to connect */
    assert_int_equal(ptyx_count(a, "missed 0"), 0);
    assert_int_equal(chatd_stop(s), 0);

    /* back on the clients' port */
    set_port(s, port);
    chatd_restart(s);
    assert_int_equal(s->port, port);
    ptyx *all[] = {a, b};
    for (int k = 0; k < 2; k++) {
        ptyx_expect(all[k], "reconnected", T_RECONNECT);
        for (int i = 0; i < MISSED; i++)
            ptyx_expect(all[k], hfmt("[Ops] %s: missed %d", carol, i), T_WAIT); /* in order */
    }
    for (int i = 0; i < MISSED; i++)
        ptyx_expect(t, hfmt("\"content\":\"missed %d\"", i), T_RECONNECT);

    /* live again */
    ptyx_line(a, "/join Ops");
    ptyx_expect(a, "joined Ops", T_WAIT);
    ptyx_line(a, "after the restart");
    const char *after = hfmt("[Ops] %s: after the restart", alice);
    ptyx_expect(b, after, T_WAIT);
    ptyx_expect(t, "\"content\":\"after the restart\"", T_WAIT);

    /* exactly once everywhere (alice's /join showed recent history once more,
     * dimmed: count her output before the join) */
    ptyx_pump(b, 200);
    ptyx_pump(t, 200);
    for (int i = 0; i < MISSED; i++) {
        const char *m = hfmt("%s: missed %d", carol, i);
        assert_int_equal(ptyx_count(b, m), 1);
        assert_int_equal(ptyx_count(t, hfmt("\"content\":\"missed %d\"", i)), 1);
    }
    assert_int_equal(ptyx_count(b, live), 1);
    assert_int_equal(ptyx_count(b, after), 1);
    assert_int_equal(ptyx_count(t, "\"content\":\"live one\""), 1);
    assert_int_equal(ptyx_count(t, "\"content\":\"after the restart\""), 1);
    assert_int_equal(ptyx_count(t, "\"content\":\"before the restart\""), 0);
    const char *join_at = strstr(a->clean, "/join Ops");
    assert_non_null(join_at);
    for (int i = 0; i < MISSED; i++) {
        const char *m = hfmt("%s: missed %d", carol, i);
        const char *first = strstr(a->clean, m);
        assert_non_null(first);
        assert_true(first < join_at);
        const char *second = strstr(first + 1, m);
        assert_true(second == NULL || second > join_at);
    }

    ptyx_line(a, "/quit");
    ptyx_line(b, "/quit");
    assert_int_equal(ptyx_wait_exit(a, T_WAIT), 0);
    assert_int_equal(ptyx_wait_exit(b, T_WAIT), 0);
    kill(t->pid, SIGTERM);
    assert_int_equal(ptyx_wait_exit(t, T_WAIT), 0);
    ptyx_free(a);
    ptyx_free(b);
    ptyx_free(t);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* A message typed while the server is away is sent after the reconnect,
 * once (the outbox resends it with the same client_msg_id). */
static void test_typed_while_offline(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const int port = s->port;
    set_port(s, port);
    const char *alice = new_user(s, "oa");
    const char *bob = new_user(s, "ob");
    tconn *ac = chat_login(s, alice);
    const char *id = create_group(ac, "Late", (const char *const[]){bob, NULL});
    tconn_close(ac);

    ptyx *a = ptyx_spawn(alice, NULL, user_env(port, alice));
    ptyx_expect(a, "Type /help", T_WAIT);
    ptyx_line(a, "/join Late");
    ptyx_expect(a, "joined Late", T_WAIT);

    chatd_term(s);
    assert_int_equal(chatd_wait(s, 10000), 0);
    ptyx_expect(a, "connection lost", T_WAIT);
    ptyx_line(a, "written offline");
    ptyx_expect(a, "will be sent after reconnecting", T_WAIT);
    chatd_restart(s);
    ptyx_expect(a, "reconnected", T_RECONNECT);
    ptyx_expect(a, hfmt("[Late] %s: written offline", alice), T_WAIT);

    tconn *bc = chat_login(s, bob);
    json_t *all = fetch_all(bc, id);
    int n = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        n += strcmp(jstr(json_array_get(all, i), "content"), "written offline") == 0;
    assert_int_equal(n, 1);
    tconn_close(bc);
    ptyx_free(a);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_nothing_lost_nothing_twice),
        cmocka_unit_test(test_typed_while_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
