/*
 * test_logs: --log-format json (docs/OPERATIONS.md, "Logs"). A server with
 * JSON logs at debug level goes through a registration with a known
 * password, logins (right and wrong password), WebSockets with the token in
 * the query and in an Authorization header, messages, a reload and a
 * shutdown. Then every line of its log must be one JSON object with time,
 * level, msg (and the role), the events must carry their fields (user,
 * addr), and neither password, token, nor the JWT secret may appear
 * anywhere in the log.
 */
#include "integration/chatkit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW "Log-Test-Passw0rd-71"
#define WRONG_PW "Wrong-Passw0rd-Guess-93"

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void absent(const char *log, const char *what, const char *secret) {
    if (strstr(log, secret)) fail_msg("the log holds the %s", what);
}

static void test_json_logs_parse_and_hold_no_secret(void **state) {
    chatd_srv *s =
        chatd_start((const char *[]){"--log-format", "json", "--log-level", "debug", NULL});
    const char *u = uniq_name("lg"), *v = new_user(s, "lg");
    assert_int_equal(register_user(s, u, PW), 201);
    const char *token = auth(s, u, PW);
    json_t *body = NULL;
    assert_int_equal(http_call(s, "POST", "/auth",
                               hfmt("{\"username\":\"%s\",\"password\":\"%s\"}", u, WRONG_PW),
                               &body, NULL),
                     401);
    tconn *c = chat_connect(s, token);
    tconn *b = ws_open(s, "/chat", hfmt("Authorization: Bearer %s\r\n", token), "bearer");
    tconn *p = presence_connect(s, token);
    const char *g = create_group(c, "logs", (const char *[]){v, NULL});
    send_msg(c, g, "hello logs");
    tconn *bad = ws_open(s, hfmt("/chat?token=%sX", token), NULL, "bad token");
    expect_close(bad, 3000, NULL);
    tconn_close(bad);
    assert_int_equal(http_call(s, "GET", "/metrics", NULL, NULL, NULL), 200);
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    sleep_ms(300);
    tconn_close(b);
    tconn_close(p);
    tconn_close(c);
    assert_int_equal(chatd_stop(s), 0);

    char *log = read_all(hfmt("%s/chatd.log", s->dir));
    absent(log, "password", PW);
    absent(log, "wrong password", WRONG_PW);
    absent(log, "token", token);
    absent(log, "token's signature", strrchr(token, '.') + 1);
    char secret[64];
    snprintf(secret, sizeof secret, "%.*s", (int)H_SECRET_LEN - 1, H_SECRET); /* without \n */
    absent(log, "JWT secret", secret);

    int lines = 0, registered = 0, failed = 0, opened = 0, reloaded = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!json_is_object(o)) fail_msg("not a JSON object (%s): %s", err.text, line);
        jstr(o, "time");
        jstr(o, "msg");
        const char *level = jstr(o, "level");
        assert_true(!strcmp(level, "debug") || !strcmp(level, "info") || !strcmp(level, "warn") ||
                    !strcmp(level, "error"));
        assert_string_equal(jstr(o, "role"), "all");
        assert_true(is_iso_ms(jstr(o, "time")));
        const char *msg = jstr(o, "msg");
        json_t *user = json_object_get(o, "user");
        if (!strcmp(msg, "registered user") && json_is_string(user) &&
            !strcmp(json_string_value(user), u)) {
            registered++;
            jstr(o, "addr");
        }
        if (!strcmp(msg, "login failed") && json_is_string(user)) failed++;
        if (!strcmp(msg, "WebSocket open") && json_is_string(user)) opened++;
        if (!strcmp(msg, "reload done")) reloaded++;
        json_decref(o);
        lines++;
    }
    assert_true(lines > 10);
    assert_int_equal(registered, 1);
    assert_int_equal(failed, 1);
    assert_true(opened >= 3);
    assert_int_equal(reloaded, 1);
    free(log);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_logs_parse_and_hold_no_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
