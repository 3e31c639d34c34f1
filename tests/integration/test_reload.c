/*
 * test_reload: SIGHUP (docs/OPERATIONS.md, "Rotate" and "Configure"). A
 * rotated JWT secret takes over for new tokens while tokens signed with
 * the previous one keep working (until jwt_secret.previous.txt goes); a
 * limit changed in the configuration file applies live; a bad file or an
 * option that needs a restart changes nothing; and no socket is closed by
 * any of it.
 */
#include "integration/chatkit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/token.h"
#include "svcutil.h"

#define NEW_SECRET "rotated-secret-9876543210\n"

static char conf_dir[256];

static const char *conf_path(void) {
    return hfmt("%s/chatd.conf", conf_dir);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void expect_logged(const chatd_srv *s, const char *needle) {
    if (chatd_log_count(s, needle) == 0) {
        chatd_dump_log(s, 3000);
        fail_msg("the log does not say \"%s\"", needle);
    }
}

/* A channel of one, to show a socket still works. */
static void still_works(tconn *c, const char *channel, const char *text) {
    json_t *m = send_msg(c, channel, text);
    assert_string_equal(jstr(m, "content"), text);
}

static void test_jwt_secret_rotation(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const char *u = new_user(s, "rot");
    const char *old_token = auth(s, u, H_PASSWORD);
    tconn *open = chat_connect(s, old_token);
    const char *g = create_group(open, "rotation", (const char *[]){NULL});

    /* rotate: the current secret becomes the previous one */
    const char *sec = hfmt("%s/secrets", s->dir);
    assert_int_equal(
        rename(hfmt("%s/jwt_secret.txt", sec), hfmt("%s/jwt_secret.previous.txt", sec)), 0);
    write_text(hfmt("%s/jwt_secret.txt", sec), NEW_SECRET);
    chatd_reload(s);
    expect_logged(s, "jwt_secret.previous.txt, accepted for existing tokens");

    tconn *again = chat_connect(s, old_token); /* an old token on a new socket */
    const char *new_token = auth(s, u, H_PASSWORD);
    char name[40];
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(token_verify((const uint8_t *)NEW_SECRET, strlen(NEW_SECRET), new_token, now,
                                  name, sizeof name),
                     0);
    assert_string_equal(name, u);
    assert_int_equal(
        token_verify((const uint8_t *)H_SECRET, H_SECRET_LEN, new_token, now, name, sizeof name),
        TOKEN_EINVALID);
    still_works(open, g, "open through the rotation");

    /* the previous secret retired: old tokens stop working, sockets stay */
    assert_int_equal(unlink(hfmt("%s/jwt_secret.previous.txt", sec)), 0);
    chatd_reload(s);
    tconn *refused = ws_open(s, hfmt("/chat?token=%s", old_token), NULL, "old token");
    expect_close(refused, 3000, NULL);
    tconn_close(refused);
    tconn_close(chat_connect(s, new_token));
    still_works(open, g, "open after the old secret went");
    still_works(again, g, "the old token's socket too");
    tconn_close(again);
    tconn_close(open);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* A missing secret file on reload keeps the keys in force. */
static void test_missing_secret_keeps_keys(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const char *u = new_user(s, "keep");
    const char *token = auth(s, u, H_PASSWORD);
    /* an empty file is not a secret: the reload refuses it */
    write_text(hfmt("%s/secrets/jwt_secret.txt", s->dir), "");
    chatd_reload(s);
    expect_logged(s, "keeping the JWT keys in force");
    tconn_close(chat_connect(s, token));
    auth(s, u, H_PASSWORD);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static tconn *expect_refused(chatd_srv *s, const char *token) {
    tconn *c = ws_open(s, hfmt("/chat?token=%s", token), NULL, "over the cap");
    expect_close(c, 1008, NULL);
    if (!strstr(c->close_reason, "too many connections"))
        fail_msg("closed with \"%s\"", c->close_reason);
    tconn_close(c);
    return NULL;
}

static void test_limit_changes_live(void **state) {
    write_text(conf_path(), "# test_reload\n[chatd]\nmax-conns-per-user = 2\n");
    chatd_srv *s = chatd_start((const char *[]){"--config", conf_path(), NULL});
    const char *u = new_user(s, "lim");
    const char *tok = auth(s, u, H_PASSWORD);
    tconn *c1 = chat_connect(s, tok), *c2 = chat_connect(s, tok);
    const char *g = create_group(c1, "limits", (const char *[]){NULL});
    expect_refused(s, tok);

    write_text(conf_path(), "[chatd]\nmax-conns-per-user = 3\nrate-per-sec = 80\n");
    chatd_reload(s);
    expect_logged(s, "reload: max-conns-per-user: 2 -> 3");
    expect_logged(s, "reload: rate-per-sec: 50 -> 80");
    tconn *c3 = chat_connect(s, tok); /* room for a third now */
    expect_refused(s, tok);
    still_works(c1, g, "nobody was disconnected");
    still_works(c2, g, "not this one either");

    /* a bad file: logged with its line, the running configuration kept */
    write_text(conf_path(), "[chatd]\nmax-conns-per-user = 1\nmax-frame = lots\n");
    chatd_reload(s);
    expect_logged(s, hfmt("%s:3: invalid value for max-frame: 'lots'", conf_path()));
    expect_logged(s, "keeping the running configuration");
    expect_refused(s, tok); /* still 3: c1..c3 */

    /* an option that needs a restart is named, not applied */
    write_text(conf_path(), "[chatd]\nmax-conns-per-user = 3\nnode-id = 7\n");
    chatd_reload(s);
    expect_logged(s, "node-id: 1 -> 7 needs a restart");
    still_works(c3, g, "still serving");
    tconn_close(c1);
    tconn_close(c2);
    tconn_close(c3);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static int group_setup(void **state) {
    if (!svc_mkdtemp(conf_dir, sizeof conf_dir, "chatd-reload.")) return -1;
    return 0;
}

static int group_teardown(void **state) {
    svc_rmrf(conf_dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_secret_rotation),
        cmocka_unit_test(test_missing_secret_keeps_keys),
        cmocka_unit_test(test_limit_changes_live),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
