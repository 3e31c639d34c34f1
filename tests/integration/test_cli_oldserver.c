/*
 * test_cli_oldserver: the `chat` client against a server that predates
 * protocol 1.1 (oldchatd.h answers every request it does not know with
 * `unknown_type`, as such a server does). The client must keep working:
 * typing is announced once, refused, and never shown as an error (nor sent
 * again); a 1.1 command says the server does not support it; messages
 * still get handles; and after a reconnect the missed message is recovered
 * with fetch_history once fetch_changes is refused.
 */
#include "integration/harness.h"
#include "integration/oldchatd.h"
#include "integration/ptyx.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_WAIT 5000
#define T_RECONNECT 10000

static void test_old_server(void **state) {
    const char *tmp = getenv("TMPDIR");
    const char *base = hfmt("%s/oldchatd.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *d = strdup(base);
    assert_non_null(mkdtemp(d));
    oldchatd *o = oldchatd_start(d);
    const char *env[] = {hfmt("CHAT_API=http://127.0.0.1:%d", o->port), "TEST_USERNAME=alice",
                         "TEST_PASSWORD=" H_PASSWORD, "CHAT_RECONNECT_MAX_MS=500", NULL};
    ptyx *a = ptyx_spawn("alice", NULL, env);
    ptyx_expect(a, "Type /help for commands.", T_WAIT);
    ptyx_line(a, "/join Old");
    int h = ptyx_expect_handle(a, "[Old] bob: hello from the old days", T_WAIT);
    ptyx_expect(a, "joined Old", T_WAIT);

    /* typing: sent, refused quietly, not sent again */
    ptyx_send(a, "first wor");
    ptyx_pump(a, 300);
    ptyx_line(a, "ds");
    ptyx_expect(a, "[Old] alice: first words", T_WAIT);
    ptyx_line(a, "second line");
    ptyx_expect(a, "[Old] alice: second line", T_WAIT);
    assert_int_equal(oldchatd_count(o, "typing"), 1);
    assert_int_equal(ptyx_count(a, "error"), 0);

    /* 1.1 commands are refused by the server, clearly */
    ptyx_line(a, "/edit ^ first words, edited");
    ptyx_expect(a, "error: this server does not support edit_message", T_WAIT);
    ptyx_line(a, hfmt("/react %d 👍", h));
    ptyx_expect(a, "error: this server does not support react", T_WAIT);
    ptyx_line(a, "/search old");
    ptyx_expect(a, "error: this server does not support search", T_WAIT);
    ptyx_line(a, "/channels all");
    ptyx_expect(a, "error: this server does not support list_channels", T_WAIT);

    /* a reconnect: fetch_changes refused, fetch_history recovers */
    oldchatd_away(o);
    ptyx_expect(a, "connection lost (server going away)", T_WAIT);
    ptyx_expect(a, "reconnected", T_RECONNECT);
    ptyx_expect(a, "[Old] bob: missed while away", T_WAIT);
    assert_true(oldchatd_count(o, "fetch_changes") >= 1);
    assert_true(oldchatd_count(o, "fetch_history") >= 1);
    ptyx_line(a, "still here");
    ptyx_expect(a, "[Old] alice: still here", T_WAIT);
    ptyx_pump(a, 200);
    assert_int_equal(ptyx_count(a, "missed while away"), 1);
    assert_int_equal(ptyx_count(a, "alice: first words"), 1);
    ptyx_line(a, "/quit");
    assert_int_equal(ptyx_wait_exit(a, T_WAIT), 0);
    ptyx_free(a);
    unlink(o->log);
    rmdir(d);
    oldchatd_stop(o);
    free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
