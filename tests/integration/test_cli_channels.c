/*
 * test_cli_channels: the `chat` client's protocol 1.1 channel features
 * (PROTOCOL.md §6) against a real chatd, through a pseudo-terminal
 * (ptyx.h): /search (words, prefix*, "phrases", in one channel, paging
 * with /more), the directory of public channels (/channels all) and
 * joining from it by name, private channels (/create -p: absent from the
 * directory, joined by invitation), /add, /remove, /topic, /rename and
 * /role — each shown to the members as the stored notice it is.
 */
#include "integration/chatkit.h"
#include "integration/ptyx.h"

#include <stdlib.h>
#include <string.h>

#define T_WAIT 5000

static chatd_srv *S;

/* Interactive `chat` for user under a pty, once its channel list is shown. */
static ptyx *start_user(const char *user) {
    const char *env[] = {hfmt("CHAT_API=http://127.0.0.1:%d", S->port),
                         hfmt("TEST_USERNAME=%s", user), "TEST_PASSWORD=" H_PASSWORD, NULL};
    ptyx *p = ptyx_spawn(user, NULL, env);
    ptyx_expect(p, "Type /help for commands.", T_WAIT);
    return p;
}

static int group_setup(void **state) {
    static const char *const flags[] = {"--rate-per-sec", "1000", "--rate-burst", "1000", NULL};
    S = chatd_start(flags);
    return S ? 0 : -1;
}

static int group_teardown(void **state) {
    chatd_free(S);
    return 0;
}

static void test_search(void **state) {
    const char *alice = new_user(S, "sa");
    const char *bob = new_user(S, "sb");
    tconn *bc = chat_login(S, bob);
    const char *id = create_group(bc, "Finds", (const char *const[]){alice, NULL});
    const char *other = create_group(bc, "Elsewhere", (const char *const[]){alice, NULL});
    send_msg(bc, id, "the quick brown fox");
    send_msg(bc, id, "a lazy dog sleeps");
    send_msg(bc, other, "quick thinking elsewhere");
    const char *gone = jstr(send_msg(bc, id, "quick but deleted"), "message_id");
    send_json(bc, "{\"type\":\"delete_message\",\"channelId\":\"%s\",\"message_id\":\"%s\"}", id,
              gone);
    recv_type(bc, "message_deleted", T_WAIT);

    ptyx *a = start_user(alice);
    ptyx_line(a, "/search quick");
    ptyx_expect(a, "-- 2 results for quick, newest first --", T_WAIT);
    ptyx_expect(a, hfmt("[Elsewhere] %s: quick thinking elsewhere", bob), T_WAIT);
    int h = ptyx_expect_handle(a, hfmt("[Finds] %s: the quick brown fox", bob), T_WAIT);
    ptyx_expect(a, "-- end of results --", T_WAIT);
    /* a result has a handle like any message: reply to it */
    ptyx_line(a, hfmt("/reply %d found it", h));
    ptyx_expect(a, hfmt("[Finds] %s (reply to #%d): found it", alice, h), T_WAIT);

    ptyx_line(a, "/search -c Finds qui*");
    ptyx_expect(a, "for qui*, newest first", T_WAIT);
    ptyx_expect(a, "the quick brown fox", T_WAIT);
    ptyx_expect(a, "-- end of results --", T_WAIT);
    ptyx_line(a, "/search \"brown fox\"");
    ptyx_expect(a, "-- 1 result for \"brown fox\"", T_WAIT);
    ptyx_line(a, "/search \"fox brown\"");
    ptyx_expect(a, "-- 0 results for \"fox brown\"", T_WAIT);
    assert_int_equal(ptyx_count(a, "quick but deleted"), 0);

    /* paging: more than one page of results */
    for (int i = 0; i < 22; i++)
        send_msg(bc, id, hfmt("needle %d", i));
    ptyx_line(a, "/search needle");
    ptyx_expect(a, "-- 20 results for needle", T_WAIT);
    ptyx_expect(a, "-- more: /more --", T_WAIT);
    ptyx_line(a, "/more");
    ptyx_expect(a, "-- 2 results for needle", T_WAIT);
    ptyx_expect(a, "needle 1", T_WAIT);
    ptyx_expect(a, "needle 0", T_WAIT);
    ptyx_expect(a, "-- end of results --", T_WAIT);
    ptyx_line(a, "/more");
    ptyx_expect(a, "error: nothing more to show", T_WAIT);
    ptyx_line(a, "/search");
    ptyx_expect(a, "error: usage: /search", T_WAIT);
    tconn_close(bc);
    ptyx_free(a);
}

static void test_directory_and_private(void **state) {
    const char *alice = new_user(S, "da");
    const char *carol = new_user(S, "dc");
    const char *tag = uniq_name("lobby");
    ptyx *a = start_user(alice);
    ptyx *c = start_user(carol);

    ptyx_line(a, hfmt("/create %s", tag));
    ptyx_expect(a, hfmt("joined %s", tag), T_WAIT);
    ptyx_line(a, hfmt("/create -p %s-secret", tag));
    ptyx_expect(a, hfmt("joined %s-secret", tag), T_WAIT);

    ptyx_line(c, hfmt("/channels all %s", tag));
    ptyx_expect(c, "Public channels (1):", T_WAIT);
    ptyx_expect(c, tag, T_WAIT);
    ptyx_expect(c, "1 members", T_WAIT);
    ptyx_expect(c, "/join <name> joins one.", T_WAIT);
    assert_int_equal(ptyx_count(c, "-secret"), 0);
    ptyx_line(c, hfmt("/join %s", tag)); /* by the name the directory showed */
    ptyx_expect(c, hfmt("joined %s (2 members)", tag), T_WAIT);
    ptyx_expect(a, hfmt("[%s] * %s", tag, carol), T_WAIT); /* the user_joined notice */
    ptyx_line(c, hfmt("/directory %s", tag));
    ptyx_expect(c, "(joined)", T_WAIT);
    ptyx_line(c, "/channels all no-such-channel-xyz");
    ptyx_expect(c, "No public channels found.", T_WAIT);

    /* a private channel: invitation only */
    ptyx_line(a, hfmt("/join %s-secret", tag));
    ptyx_expect(a, hfmt("joined %s-secret", tag), T_WAIT);
    ptyx_line(a, hfmt("/add %s", carol));
    ptyx_expect(a, hfmt("[%s-secret] * %s added %s", tag, alice, carol), T_WAIT);
    ptyx_expect(c, hfmt("you are now in %s-secret", tag), T_WAIT);
    ptyx_line(c, "/channels");
    ptyx_expect(c, "private", T_WAIT);

    /* topic and rename: shown in /channels, the prompt and /topic */
    ptyx_line(a, "/topic ship it on Friday");
    ptyx_expect(c, "ship it on Friday", T_WAIT);
    ptyx_line(c, hfmt("/join %s-secret", tag));
    ptyx_expect(c, "topic: ship it on Friday", T_WAIT);
    ptyx_line(c, "/topic");
    ptyx_expect(c, hfmt("topic of %s-secret: ship it on Friday", tag), T_WAIT);
    ptyx_line(c, "/topic mine now"); /* a member, no admin */
    ptyx_expect(c, "error: ", T_WAIT);
    ptyx_expect(c, "(in reply to update_channel)", T_WAIT);
    ptyx_line(a, hfmt("/rename %s-vault", tag));
    ptyx_expect(c, hfmt("%s-vault> ", tag), T_WAIT);

    /* roles and removal */
    ptyx_line(a, hfmt("/role %s admin", carol));
    ptyx_expect(c, hfmt("[%s-vault] * ", tag), T_WAIT);
    ptyx_line(c, "/topic now I may");
    ptyx_expect(a, "now I may", T_WAIT);
    ptyx_line(c, hfmt("/remove %s", carol));
    ptyx_expect(c, "error: to remove yourself, /leave", T_WAIT);
    ptyx_line(a, hfmt("/remove %s", carol));
    ptyx_expect(c, hfmt("left %s-vault", tag), T_WAIT);
    ptyx_line(c, "hello?"); /* no current channel any more */
    ptyx_expect(c, "error: no current channel", T_WAIT);
    ptyx_line(a, "/add nobody_at_all_xyz");
    ptyx_expect(a, "error: ", T_WAIT);
    ptyx_expect(a, "nobody_at_all_xyz", T_WAIT);
    ptyx_free(a);
    ptyx_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_directory_and_private),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
