/*
 * test_cli_changes: the `chat` client's protocol 1.1 message features
 * (PROTOCOL.md §6) against a real chatd, driven through a pseudo-terminal
 * (ptyx.h) as a user would: message handles, /edit, /delete, /react (and
 * its toggle), /unreact, /reply and /thread, @mentions (highlighted,
 * counted in /channels), "bob is typing…" in the prompt, and a client that
 * misses edits, deletions and reactions of old messages while the server
 * is away and applies each exactly once after it reconnects
 * (fetch_changes).
 */
#include "integration/chatkit.h"
#include "integration/ptyx.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define T_WAIT 5000
#define T_RECONNECT 10000

static const char *const *user_env(int port, const char *user, const char *extra) {
    const char **env = calloc(6, sizeof *env);
    harness__keep_str((char *)env);
    env[0] = hfmt("CHAT_API=http://127.0.0.1:%d", port);
    env[1] = hfmt("TEST_USERNAME=%s", user);
    env[2] = "TEST_PASSWORD=" H_PASSWORD;
    env[3] = "CHAT_RECONNECT_MAX_MS=500"; /* keep the reconnect test short */
    env[4] = extra;
    return env;
}

/* Interactive `chat` for user under a pty, once its channel list is shown. */
static ptyx *start_user(chatd_srv *s, const char *user, const char *extra_env) {
    ptyx *p = ptyx_spawn(user, NULL, user_env(s->port, user, extra_env));
    ptyx_expect(p, "Type /help for commands.", T_WAIT);
    return p;
}

static const char *const FLAGS[] = {"--rate-per-sec", "1000", "--rate-burst", "1000", NULL};

/* ---- two users: every message command, live ---- */
static void test_message_commands(void **state) {
    chatd_srv *s = chatd_start(FLAGS);
    const char *alice = new_user(s, "ea");
    const char *bob = new_user(s, "eb");
    ptyx *a = start_user(s, alice, "NO_COLOR="); /* in colour: mentions are highlighted */
    ptyx *b = start_user(s, bob, NULL);

    ptyx_line(a, hfmt("/create Team %s", bob));
    ptyx_expect(a, "joined Team", T_WAIT);
    ptyx_expect(b, "you are now in Team", T_WAIT);
    ptyx_line(b, "/join Team");
    ptyx_expect(b, "joined Team", T_WAIT);

    /* typing: half a line shows in alice's prompt; sending clears it */
    ptyx_send(b, hfmt("hi @%.3s", alice));
    ptyx_expect(a, hfmt("(%s is typing…) Team> ", bob), T_WAIT);
    ptyx_line(b, hfmt("%s and @nobody", alice + 3));
    int ha = ptyx_expect_handle(a, hfmt("[Team] %s: hi @%s and @nobody", bob, alice), T_WAIT);
    ptyx_expect(a, "\nTeam> ", T_WAIT); /* the prompt without the indicator */
    int hb = ptyx_expect_handle(b, hfmt("[Team] %s: hi @%s and @nobody", bob, alice), T_WAIT);
    /* the mention of alice is highlighted on her screen, only that one */
    assert_non_null(strstr(a->raw, hfmt("\033[1;7;33m@%s", alice)));
    assert_null(strstr(a->raw, "\033[1;7;33m@nobody"));
    /* an indicator goes away by itself when the typing stops (expires_ms:
     * the next prompt drawn is the plain one) */
    ptyx_send(a, "never sent");
    ptyx_expect(b, hfmt("(%s is typing…) Team> ", alice), T_WAIT);
    ptyx_expect(b, "Team> ", 10000);
    ptyx_send(a, "\025"); /* Ctrl-U: the line is gone */
    /* commands are not typing */
    ptyx_send(b, "/hel");
    ptyx_pump(a, 200);
    ptyx_line(b, "p");
    ptyx_expect(b, "/reply <msg> <text>", T_WAIT);

    /* edit: shown again as it now is, with the same handle */
    ptyx_line(b, "/edit ^ hi, welcome");
    ptyx_expect(a, hfmt("#%d [Team] %s: hi, welcome (edited)", ha, bob), T_WAIT);
    ptyx_expect(b, hfmt("#%d [Team] %s: hi, welcome (edited)", hb, bob), T_WAIT);
    ptyx_line(a, hfmt("/edit %d hijack", ha)); /* not hers: refused before asking */
    ptyx_expect(a, hfmt("error: #%d is %s's message", ha, bob), T_WAIT);

    /* react, react again (takes it back), unreact */
    ptyx_line(a, hfmt("/react %d 👍", ha));
    ptyx_expect(b, hfmt("#%d [Team] * %s reacted 👍 (%s: hi, welcome)  [👍 1]", hb, alice, bob),
                T_WAIT);
    ptyx_expect(a, hfmt("#%d [Team] * %s reacted 👍", ha, alice), T_WAIT);
    ptyx_line(b, hfmt("/react #%d 🎉", hb));
    ptyx_expect(a, "[👍 1 🎉 1]", T_WAIT);
    ptyx_line(a, hfmt("/react %d 👍", ha));
    ptyx_expect(b, hfmt("#%d [Team] * %s removed 👍", hb, alice), T_WAIT);
    ptyx_expect(b, "[🎉 1]", T_WAIT);
    ptyx_line(b, hfmt("/unreact %d 🎉", hb));
    ptyx_expect(a, hfmt("#%d [Team] * %s removed 🎉", ha, bob), T_WAIT);
    ptyx_expect(a, "[no reactions]", T_WAIT);
    ptyx_line(a, "/react ^ two words");
    ptyx_expect(a, "error: usage: /react <msg> <emoji>", T_WAIT);
    ptyx_line(a, "/react 99999 👍");
    ptyx_expect(a, "error: no message #99999 on screen", T_WAIT);

    /* reply and thread */
    ptyx_line(a, hfmt("/reply %d thanks!", ha));
    int hr = ptyx_expect_handle(b, hfmt("[Team] %s (reply to #%d): thanks!", alice, hb), T_WAIT);
    ptyx_line(b, hfmt("/reply %d you are welcome", hr)); /* a reply to a reply: same thread */
    ptyx_expect(a, hfmt("[Team] %s (reply to #%d): you are welcome", bob, ha), T_WAIT);
    ptyx_line(b, hfmt("/thread %d", hb));
    ptyx_expect(b, "-- thread in Team: 2 replies --", T_WAIT);
    ptyx_expect(b, hfmt("#%d [Team] %s: hi, welcome (edited)  [2 replies]", hb, bob), T_WAIT);
    ptyx_expect(b, hfmt("#%d [Team] %s (reply to #%d): thanks!", hr, alice, hb), T_WAIT);
    ptyx_expect(b, "you are welcome", T_WAIT);
    ptyx_expect(b, "-- end of thread", T_WAIT);

    /* delete: a tombstone everywhere, also in history */
    ptyx_line(a, "doomed");
    int hd = ptyx_expect_handle(b, hfmt("[Team] %s: doomed", alice), T_WAIT);
    ptyx_line(b, hfmt("/delete %d", hd)); /* bob is no admin here: the server refuses */
    ptyx_expect(b, "error: ", T_WAIT);
    ptyx_expect(b, "(in reply to delete_message)", T_WAIT);
    ptyx_line(a, "/delete ^");
    ptyx_expect(b, hfmt("#%d [Team] * %s deleted their message", hd, alice), T_WAIT);
    ptyx_line(b, "/history 5");
    ptyx_expect(b, "-- last ", T_WAIT);
    ptyx_expect(b, hfmt("#%d [Team] %s: (deleted)", hd, alice), T_WAIT);
    ptyx_line(b, hfmt("/react %d 👍", hd));
    ptyx_expect(b, hfmt("error: #%d is deleted", hd), T_WAIT);

    /* a direct channel has no admins: only your own messages */
    ptyx_line(b, hfmt("/dm %s", alice));
    ptyx_expect(b, hfmt("joined @%s", alice), T_WAIT);
    ptyx_line(a, hfmt("/dm %s", bob));
    ptyx_expect(a, hfmt("joined @%s", bob), T_WAIT);
    ptyx_line(a, "psst");
    int hp = ptyx_expect_handle(b, hfmt("[@%s] %s: psst", alice, alice), T_WAIT);
    ptyx_line(b, hfmt("/delete %d", hp));
    ptyx_expect(b, hfmt("error: #%d is %s's message: you can only delete your own", hp, alice),
                T_WAIT);

    /* no change was shown twice */
    ptyx_pump(a, 200);
    assert_int_equal(ptyx_count(a, "reacted 👍"), 1);
    assert_int_equal(ptyx_count(a, "(edited)"), 1);
    assert_int_equal(ptyx_count(b, "deleted their message"), 1);
    ptyx_free(a);
    ptyx_free(b);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* ---- mention counts in /channels ---- */
static void test_mention_counts(void **state) {
    chatd_srv *s = chatd_start(FLAGS);
    const char *alice = new_user(s, "ma");
    const char *bob = new_user(s, "mb");
    tconn *bc = chat_login(s, bob);
    const char *id = create_group(bc, "Mentions", (const char *const[]){alice, NULL});
    send_msg(bc, id, hfmt("@%s one", alice));
    send_msg(bc, id, "no mention");
    send_msg(bc, id, hfmt("and @%s. two", alice));
    ptyx *a = start_user(s, alice, NULL); /* from channels_list: 3 unread, 2 mentions */
    assert_non_null(strstr(a->clean, "3 unread, 2 mentions"));
    /* live, in a channel that is not current: counted too */
    send_msg(bc, id, hfmt("@%s three", alice));
    ptyx_expect(a, hfmt("[Mentions] %s: @%s three", bob, alice), T_WAIT);
    ptyx_line(a, "/channels");
    ptyx_expect(a, "4 unread, 3 mentions", T_WAIT);
    ptyx_line(a, "/read Mentions");
    ptyx_expect(a, "marked Mentions as read", T_WAIT);
    ptyx_free(a);
    a = start_user(s, alice, NULL);
    assert_null(strstr(a->clean, "mention"));
    ptyx_free(a);
    tconn_close(bc);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

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

/* ---- offline: edits, deletions and reactions of old messages ---- */
static void test_changes_missed_offline(void **state) {
    chatd_srv *s = chatd_start(FLAGS);
    const int port = s->port;
    const char *alice = new_user(s, "oa");
    const char *bob = new_user(s, "ob");
    tconn *bc = chat_login(s, bob);
    const char *id = create_group(bc, "Ops", (const char *const[]){alice, NULL});
    const char *m1 = hfmt("%s", jstr(send_msg(bc, id, "first draft"), "message_id"));
    const char *m2 = hfmt("%s", jstr(send_msg(bc, id, "wrong channel"), "message_id"));
    const char *m3 = hfmt("%s", jstr(send_msg(bc, id, "vote here"), "message_id"));
    /* edits older than alice's join, but newer than the newest message: the
     * history she gets shows them; the recovery must not show them again */
    for (int i = 2; i <= 3; i++) {
        send_json(bc,
                  "{\"type\":\"edit_message\",\"channelId\":\"%s\",\"message_id\":\"%s\","
                  "\"content\":\"vote here v%d\"}",
                  id, m3, i);
        recv_type(bc, "message_updated", T_WAIT);
    }
    tconn_close(bc);

    ptyx *a = ptyx_spawn(alice, NULL, user_env(port, alice, NULL));
    ptyx_expect(a, "Type /help", T_WAIT);
    ptyx_line(a, "/join Ops");
    int h1 = ptyx_expect_handle(a, hfmt("[Ops] %s: first draft", bob), T_WAIT);
    int h2 = ptyx_expect_handle(a, hfmt("[Ops] %s: wrong channel", bob), T_WAIT);
    int h3 = ptyx_expect_handle(a, hfmt("[Ops] %s: vote here v3 (edited)", bob), T_WAIT);
    ptyx_expect(a, "joined Ops", T_WAIT); /* nothing live since: the join is all she knows */

    chatd_term(s);
    assert_int_equal(chatd_wait(s, 10000), 0);
    ptyx_expect(a, "connection lost", T_WAIT);
    /* meanwhile, on a port the client does not know */
    set_port(s, 0);
    chatd_restart(s);
    bc = chat_login(s, bob);
    send_json(bc,
              "{\"type\":\"edit_message\",\"channelId\":\"%s\",\"message_id\":\"%s\","
              "\"content\":\"final text\"}",
              id, m1);
    recv_type(bc, "message_updated", T_WAIT);
    send_json(bc, "{\"type\":\"delete_message\",\"channelId\":\"%s\",\"message_id\":\"%s\"}", id,
              m2);
    recv_type(bc, "message_deleted", T_WAIT);
    send_json(bc, "{\"type\":\"react\",\"channelId\":\"%s\",\"message_id\":\"%s\",\"emoji\":\"✅\"}",
              id, m3);
    recv_type(bc, "reaction", T_WAIT);
    send_msg(bc, id, "while you were away");
    tconn_close(bc);
    assert_int_equal(chatd_stop(s), 0);

    set_port(s, port);
    chatd_restart(s);
    ptyx_expect(a, "reconnected", T_RECONNECT);
    ptyx_expect(a, hfmt("#%d [Ops] %s: final text (edited)", h1, bob), T_WAIT);
    ptyx_expect(a, hfmt("#%d [Ops] * %s deleted their message", h2, bob), T_WAIT);
    ptyx_expect(a, hfmt("#%d [Ops] * %s reacted ✅ (%s: vote here v3)  [✅ 1]", h3, bob, bob),
                T_WAIT);
    ptyx_expect(a, hfmt("[Ops] %s: while you were away", bob), T_WAIT);

    /* live again; and nothing was applied twice */
    bc = chat_login(s, bob);
    send_json(bc, "{\"type\":\"react\",\"channelId\":\"%s\",\"message_id\":\"%s\",\"emoji\":\"👀\"}",
              id, m3);
    ptyx_expect(a, hfmt("#%d [Ops] * %s reacted 👀", h3, bob), T_WAIT);
    ptyx_expect(a, "[✅ 1 👀 1]", T_WAIT);
    tconn_close(bc);
    assert_int_equal(ptyx_count(a, "final text"), 1);
    assert_int_equal(ptyx_count(a, "deleted their message"), 1);
    assert_int_equal(ptyx_count(a, "reacted ✅"), 1);
    assert_int_equal(ptyx_count(a, "while you were away"), 1);
    assert_int_equal(ptyx_count(a, "vote here v2"), 0);
    assert_int_equal(ptyx_count(a, "vote here v3 (edited)"), 1);
    ptyx_line(a, "/quit");
    assert_int_equal(ptyx_wait_exit(a, T_WAIT), 0);
    ptyx_free(a);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_commands),
        cmocka_unit_test(test_mention_counts),
        cmocka_unit_test(test_changes_missed_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
