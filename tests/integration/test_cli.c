/*
 * test_cli: the real `chat` binary (CHAT_BIN) against a real chatd.
 * Interactive mode runs under a pseudo-terminal (ptyx.h) and is driven by
 * typing; every documented command is checked, including the quoted
 * /create, two users chatting, a read receipt shown to the sender and a
 * presence change shown to a channel member. The non-interactive modes
 * (register, send, tail, piped commands) are checked with their output
 * and exit codes. One chatd serves the whole group; each test uses fresh
 * users.
 */
#include "integration/chatkit.h"
#include "integration/ptyx.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define T_WAIT 5000

static chatd_srv *S;

static const char *api_env(void) {
    return hfmt("CHAT_API=http://127.0.0.1:%d", S->port);
}

/* Interactive `chat` for user under a pty, once its channel list is shown. */
static ptyx *start_user(const char *user, const char *extra_env) {
    const char *env[] = {api_env(), hfmt("TEST_USERNAME=%s", user), "TEST_PASSWORD=" H_PASSWORD,
                         extra_env, NULL};
    ptyx *p = ptyx_spawn(user, NULL, env);
    ptyx_expect(p, "Type /help for commands.", T_WAIT);
    return p;
}

/* Runs `chat args...` as user (password from TEST_PASSWORD). */
static int run_as(const char *user, const char *const *args, const char *input, const char **out,
                  const char **err) {
    const char *env[] = {api_env(), hfmt("TEST_USERNAME=%s", user), "TEST_PASSWORD=" H_PASSWORD,
                         NULL};
    return ptyx_run(args, env, input, 15000, out, err);
}

/* The 36-character id printed after `prefix` in p's output. */
static const char *id_after(const ptyx *p, const char *prefix) {
    const char *s = strstr(p->clean, prefix);
    if (!s || strlen(s + strlen(prefix)) < 36) {
        ptyx_dump(p);
        fail_msg("no id after \"%s\"", prefix);
    }
    const char *id = hfmt("%.36s", s + strlen(prefix));
    assert_true(is_uuid(id));
    return id;
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

/* ---- interactive: every command, one user ---- */
static void test_commands(void **state) {
    const char *alice = new_user(S, "ca");
    const char *bob = new_user(S, "cb");
    const char *carol = new_user(S, "cc");
    ptyx *a = start_user(alice, NULL);
    assert_true(strstr(a->clean, "No channels yet") != NULL);

    ptyx_line(a, "/help");
    ptyx_expect(a, "/create <name> [users...]", T_WAIT);
    ptyx_expect(a, "/quit", T_WAIT);

    ptyx_line(a, "/create MyChannel");
    ptyx_expect(a, "created group channel MyChannel (", T_WAIT);
    ptyx_expect(a, "joined MyChannel", T_WAIT);
    ptyx_line(a, "hello world");
    ptyx_expect(a, hfmt("[MyChannel] %s: hello world", alice), T_WAIT);

    /* a quoted name with a space, and participants */
    ptyx_line(a, hfmt("/create \"Team Chat\" %s %s", bob, carol));
    ptyx_expect(a, "created group channel Team Chat (", T_WAIT);
    ptyx_expect(a, "joined Team Chat (3 members)", T_WAIT);
    const char *team = id_after(a, "created group channel Team Chat (");
    /* the server stored the name with its space and both participants */
    tconn *bc = chat_login(S, bob);
    json_t *e = list_entry(recv_type(bc, "channels_list", H_TIMEOUT), team);
    if (!e) fail_msg("bob is not in %s", team);
    assert_string_equal(jstr(e, "channel_name"), "Team Chat");
    assert_true(jarr_has_str(jarr(e, "other_participants"), alice));
    assert_true(jarr_has_str(jarr(e, "other_participants"), carol));
    tconn_close(bc);

    ptyx_line(a, "/msg to the team");
    ptyx_expect(a, hfmt("[Team Chat] %s: to the team", alice), T_WAIT);
    ptyx_line(a, "/msg don't panic"); /* a lone apostrophe in free text is text */
    ptyx_expect(a, hfmt("[Team Chat] %s: don't panic", alice), T_WAIT);

    /* /join by unique name prefix, then by unique id prefix */
    ptyx_line(a, "/join MyCh");
    ptyx_expect(a, "joined MyChannel", T_WAIT);
    ptyx_line(a, "/msg back home");
    ptyx_expect(a, hfmt("[MyChannel] %s: back home", alice), T_WAIT);
    ptyx_line(a, hfmt("/join %.8s", team));
    ptyx_expect(a, "joined Team Chat", T_WAIT);

    ptyx_line(a, "/history 1");
    ptyx_expect(a, "-- last 1 messages of Team Chat --", T_WAIT);
    ptyx_expect(a, hfmt("[Team Chat] %s: don't panic", alice), T_WAIT);

    ptyx_line(a, "/channels");
    ptyx_expect(a, "Channels (2):", T_WAIT);
    ptyx_expect(a, "Team Chat", T_WAIT);

    ptyx_line(a, "/who");
    ptyx_expect(a, "Members of Team Chat:", T_WAIT);
    ptyx_expect(a, "online (you)", T_WAIT);
    ptyx_expect(a, bob, T_WAIT);
    ptyx_expect(a, "offline", T_WAIT);

    ptyx_line(a, "/read");
    ptyx_expect(a, "marked Team Chat as read", T_WAIT);
    ptyx_line(a, "/read MyChannel");
    ptyx_expect(a, "marked MyChannel as read", T_WAIT);

    ptyx_line(a, "/leave MyChannel");
    ptyx_expect(a, "left MyChannel", T_WAIT);
    ptyx_line(a, "/channels");
    ptyx_expect(a, "Channels (1):", T_WAIT);

    ptyx_line(a, hfmt("/dm %s", bob));
    ptyx_expect(a, "created direct channel", T_WAIT);
    ptyx_expect(a, hfmt("joined @%s", bob), T_WAIT);
    ptyx_line(a, "psst");
    ptyx_expect(a, hfmt("[@%s] %s: psst", bob, alice), T_WAIT);

    ptyx_line(a, "/status away");
    ptyx_expect(a, "you are now away", T_WAIT);

    /* errors are shown distinctly and change nothing */
    ptyx_line(a, "/frobnicate");
    ptyx_expect(a, "error: unknown command /frobnicate", T_WAIT);
    ptyx_line(a, "/join nosuch");
    ptyx_expect(a, "error: no channel 'nosuch'", T_WAIT);
    ptyx_line(a, "/create \"unterminated");
    ptyx_expect(a, "error: unterminated quote", T_WAIT);
    ptyx_line(a, "/create Bad nobody_at_all_xyz");
    ptyx_expect(a, "error: ", T_WAIT);
    ptyx_expect(a, "nobody_at_all_xyz", T_WAIT);

    ptyx_line(a, "/quit");
    assert_int_equal(ptyx_wait_exit(a, T_WAIT), 0);
    ptyx_free(a);

    /* someone outside the group joins it by its full id */
    const char *dave = new_user(S, "cd");
    ptyx *d = start_user(dave, NULL);
    ptyx_line(d, hfmt("/join %s", team));
    ptyx_expect(d, "joined ", T_WAIT);
    ptyx_expect(d, "(4 members)", T_WAIT);
    ptyx_expect(d, "Team Chat> ", T_WAIT); /* the name, once the fresh list came */
    ptyx_line(d, "hi all");
    ptyx_expect(d, hfmt("[Team Chat] %s: hi all", dave), T_WAIT);
    ptyx_free(d);
}

/* ---- interactive: two users ---- */
static void test_two_users(void **state) {
    const char *alice = new_user(S, "ta");
    const char *bob = new_user(S, "tb");
    ptyx *a = start_user(alice, NULL);
    ptyx *b = start_user(bob, NULL);

    ptyx_line(a, hfmt("/create \"Team Chat\" %s", bob));
    ptyx_expect(a, "joined Team Chat", T_WAIT);
    ptyx_expect(b, "you are now in Team Chat (group channel)", T_WAIT);
    ptyx_line(b, "/join \"Team Chat\"");
    ptyx_expect(b, "joined Team Chat", T_WAIT);

    ptyx_line(a, "hi bob");
    ptyx_expect(b, hfmt("[Team Chat] %s: hi bob", alice), T_WAIT);
    ptyx_line(b, "hi alice");
    ptyx_expect(a, hfmt("[Team Chat] %s: hi alice", bob), T_WAIT);
    ptyx_expect(b, hfmt("[Team Chat] %s: hi alice", bob), T_WAIT); /* own echo */

    /* a half-typed line survives an incoming message */
    ptyx_send(a, "half typed");
    ptyx_pump(a, 100);
    ptyx_line(b, "interrupting");
    ptyx_expect(a, hfmt("[Team Chat] %s: interrupting", bob), T_WAIT);
    ptyx_line(a, " line");
    ptyx_expect(b, hfmt("[Team Chat] %s: half typed line", alice), T_WAIT);

    /* read receipt shown to the sender */
    ptyx_line(b, "/read");
    ptyx_expect(b, "marked Team Chat as read", T_WAIT);
    ptyx_expect(a, hfmt("[Team Chat] seen by %s", bob), T_WAIT);

    /* presence change shown to a channel member, and in /who */
    ptyx_line(b, "/status away");
    ptyx_expect(a, hfmt("* %s is now away", bob), T_WAIT);
    ptyx_line(a, "/who");
    ptyx_expect(a, "Members of Team Chat:", T_WAIT);
    ptyx_expect(a, bob, T_WAIT);
    ptyx_expect(a, "away", T_WAIT);

    ptyx_line(b, "/quit");
    assert_int_equal(ptyx_wait_exit(b, T_WAIT), 0);
    ptyx_expect(a, hfmt("* %s is now offline", bob), T_WAIT);

    ptyx_send(a, "\004"); /* Ctrl-D */
    assert_int_equal(ptyx_wait_exit(a, T_WAIT), 0);
    /* nothing was shown twice */
    assert_int_equal(ptyx_count(a, hfmt("%s: hi bob", alice)), 1);
    assert_int_equal(ptyx_count(b, hfmt("%s: interrupting", bob)), 1);
    ptyx_free(a);
    ptyx_free(b);
}

/* ---- Tab completes commands, channel names and @mentions ---- */
static void test_tab_completion(void **state) {
    const char *alice = new_user(S, "ka");
    const char *bob = new_user(S, "kb");
    tconn *bc = chat_login(S, bob);
    create_group(bc, "Team Chat", (const char *const[]){alice, NULL});
    tconn_close(bc);
    ptyx *a = start_user(alice, NULL);
    ptyx_send(a, "/jo\t");
    ptyx_send(a, "Te\t");
    ptyx_line(a, "");
    ptyx_expect(a, "joined Team Chat", T_WAIT);
    ptyx_send(a, hfmt("@%.*s\t", (int)strlen(bob) - 1, bob));
    ptyx_line(a, "hi");
    ptyx_expect(a, hfmt("[Team Chat] %s: @%s hi", alice, bob), T_WAIT);
    ptyx_send(a, "nothing to complete\t");
    ptyx_line(a, "");
    ptyx_expect(a, hfmt("[Team Chat] %s: nothing to complete", alice), T_WAIT);
    ptyx_free(a);
}

/* ---- colour only on a terminal, and never with NO_COLOR ---- */
static void test_colour(void **state) {
    const char *u = new_user(S, "co");
    ptyx *a = start_user(u, "NO_COLOR=");
    ptyx_line(a, "/create Colours");
    ptyx_expect(a, "joined Colours", T_WAIT);
    ptyx_line(a, "/nope");
    ptyx_expect(a, "error: unknown command", T_WAIT);
    assert_true(strstr(a->raw, "\033[1;31merror: ") != NULL); /* red */
    ptyx_line(a, "/quit");
    assert_int_equal(ptyx_wait_exit(a, T_WAIT), 0);
    ptyx_free(a);

    ptyx *b = start_user(u, NULL); /* NO_COLOR=1 */
    ptyx_line(b, "/nope");
    ptyx_expect(b, "error: unknown command", T_WAIT);
    assert_true(strstr(b->raw, "\033[1;31m") == NULL);
    ptyx_free(b);
}

/* ---- commands piped on stdin: plain output, run in order ---- */
static void test_piped_script(void **state) {
    const char *u = new_user(S, "pi");
    const char *peer = new_user(S, "pp");
    const char *out, *err;
    const char *script = hfmt("/create Piped %s\nhello pipe\n/history 5\n/quit\n", peer);
    int rc = run_as(u, (const char *const[]){NULL}, script, &out, &err);
    if (rc != 0) fail_msg("exit %d; stdout: %s stderr: %s", rc, out, err);
    assert_non_null(strstr(out, "joined Piped"));
    assert_non_null(strstr(out, hfmt("[Piped] %s: hello pipe", u)));
    assert_non_null(strstr(out, "-- last 1 messages of Piped --"));
    assert_null(strchr(out, '\033')); /* not a terminal: no colour */
}

/* ---- send, tail, register and the exit codes ---- */
static void test_send_tail_exit_codes(void **state) {
    const char *alice = new_user(S, "sa");
    const char *bob = new_user(S, "sb");
    tconn *ac = chat_login(S, alice);
    const char *id = create_group(ac, "Ops", (const char *const[]){bob, NULL});
    send_msg(ac, id, "earlier");

    const char *env[] = {api_env(), hfmt("TEST_USERNAME=%s", bob), "TEST_PASSWORD=" H_PASSWORD,
                         NULL};
    ptyx *t = ptyx_spawn("tail", (const char *const[]){"tail", "-n", "1", "Ops", NULL}, env);
    ptyx_expect(t, "tailing Ops", T_WAIT);
    ptyx_expect(t, "\"content\":\"earlier\"", T_WAIT);

    const char *out, *err;
    int rc = run_as(alice, (const char *const[]){"send", "Ops", "hello", "from script", NULL}, NULL,
                    &out, &err);
    if (rc != 0) fail_msg("send: exit %d, stderr %s", rc, err);
    ptyx_expect(t, "\"content\":\"hello from script\"", T_WAIT);
    /* the line is a Message object */
    const char *line_end = strchr(t->clean + t->mark, '\n');
    const char *start = t->clean + t->mark;
    while (start > t->clean && start[-1] != '\n')
        start--;
    json_t *m = json_loadb(start, line_end ? (size_t)(line_end - start) : strlen(start), 0, NULL);
    if (!m) fail_msg("tail line is not JSON: %.*s", (int)(line_end - start), start);
    harness__keep_json(m);
    check_message(m, id, alice, "hello from script");
    assert_null(json_object_get(m, "type"));
    recv_msg(ac, id, "hello from script"); /* other clients got it too */

    /* text from stdin, channel by id prefix */
    rc = run_as(alice, (const char *const[]){"send", hfmt("%.6s", id), NULL}, "from stdin\n", &out,
                &err);
    if (rc != 0) fail_msg("send from stdin: exit %d, stderr %s", rc, err);
    ptyx_expect(t, "\"content\":\"from stdin\"", T_WAIT);
    assert_int_equal(ptyx_count(t, "\"content\":\"hello from script\""), 1);

    kill(t->pid, SIGTERM);
    assert_int_equal(ptyx_wait_exit(t, T_WAIT), 0);
    ptyx_free(t);

    /* exit codes */
    rc = run_as(alice, (const char *const[]){"send", "no-such-channel", "x", NULL}, NULL, &out,
                &err);
    assert_int_equal(rc, 4);
    assert_non_null(strstr(err, "not found"));
    rc = run_as(alice, (const char *const[]){"send", NULL}, NULL, &out, &err);
    assert_int_equal(rc, 1);
    rc = run_as(alice, (const char *const[]){"frobnicate", NULL}, NULL, &out, &err);
    assert_int_equal(rc, 1);
    const char *bad_pw[] = {api_env(), hfmt("TEST_USERNAME=%s", alice),
                            "TEST_PASSWORD=wrong-password", NULL};
    rc = ptyx_run((const char *const[]){"send", "Ops", "x", NULL}, bad_pw, NULL, 15000, &out, &err);
    assert_int_equal(rc, 2);
    assert_null(strstr(err, "wrong-password")); /* never print the password */
    const char *no_server[] = {"CHAT_API=http://127.0.0.1:1", hfmt("TEST_USERNAME=%s", alice),
                               "TEST_PASSWORD=" H_PASSWORD, NULL};
    rc = ptyx_run((const char *const[]){"send", "Ops", "x", NULL}, no_server, NULL, 15000, &out,
                  &err);
    assert_int_equal(rc, 3);
    const char *no_pw[] = {api_env(), hfmt("TEST_USERNAME=%s", alice), NULL};
    rc = ptyx_run((const char *const[]){"send", "Ops", "x", NULL}, no_pw, NULL, 15000, &out, &err);
    assert_int_equal(rc, 1); /* no terminal to prompt on */

    /* register: created, then taken */
    const char *fresh = uniq_name("rg");
    rc = run_as(fresh, (const char *const[]){"register", NULL}, NULL, &out, &err);
    if (rc != 0) fail_msg("register: exit %d, stderr %s", rc, err);
    assert_non_null(strstr(out, hfmt("registered %s", fresh)));
    assert_non_null(auth(S, fresh, H_PASSWORD));
    rc = run_as(fresh, (const char *const[]){"register", NULL}, NULL, &out, &err);
    assert_int_equal(rc, 4);
    /* --user and --password-file instead of the environment */
    const char *pwfile = hfmt("%s/pw.txt", S->dir);
    FILE *f = fopen(pwfile, "w");
    assert_non_null(f);
    fputs(H_PASSWORD "\n", f);
    fclose(f);
    rc = ptyx_run((const char *const[]){"--api", hfmt("http://127.0.0.1:%d", S->port), "--user",
                                        alice, "--password-file", pwfile, "send", "Ops", "by file",
                                        NULL},
                  NULL, NULL, 15000, &out, &err);
    if (rc != 0) fail_msg("send with --password-file: exit %d, stderr %s", rc, err);
    recv_msg(ac, id, "by file");
    rc = ptyx_run((const char *const[]){"--help", NULL}, NULL, NULL, 5000, &out, &err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "exit codes"));
    tconn_close(ac);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),       cmocka_unit_test(test_two_users),
        cmocka_unit_test(test_tab_completion), cmocka_unit_test(test_colour),
        cmocka_unit_test(test_piped_script),   cmocka_unit_test(test_send_tail_exit_codes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
