/*
 * Unit tests for the pure parts of operations: the --allowed-origins
 * decision (auth/origin.c), the JWT keyring's rotation rules
 * (auth/keyring.c), and the JSON log line (core/log.c): always one valid
 * object, fields included, control characters and invalid UTF-8 escaped,
 * an over-long message cut without breaking the JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "auth/keyring.h"
#include "auth/origin.h"
#include "auth/token.h"
#include "core/log.h"
#include "svcutil.h"

static void test_origin(void **state) {
    const char *list = "https://chat.example.com, http://good.example:8080/";
    assert_true(origin_allowed(NULL, "https://evil.example", "x")); /* unset: any */
    assert_true(origin_allowed("", "https://evil.example", "x"));
    assert_true(origin_allowed(list, "", "x")); /* not a browser */
    assert_true(origin_allowed(list, "https://chat.example.com", "x"));
    assert_true(origin_allowed(list, "HTTPS://Chat.Example.com", "x"));
    assert_true(origin_allowed(list, "http://good.example:8080", "x"));
    assert_false(origin_allowed(list, "http://good.example", "x"));     /* port counts */
    assert_false(origin_allowed(list, "http://chat.example.com", "x")); /* scheme counts */
    assert_false(origin_allowed(list, "https://chat.example.com.evil", "x"));
    assert_false(origin_allowed(list, "null", "x"));
    /* same origin: the page chatd serves itself */
    assert_true(origin_allowed(list, "http://10.0.0.1:8080", "10.0.0.1:8080"));
    assert_false(origin_allowed(list, "http://10.0.0.1:8081", "10.0.0.1:8080"));
    assert_false(origin_allowed(list, "http://10.0.0.1:8080", ""));
}

static char root[256];

static void put(const char *name, const char *text) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int verify(keyring *k, const char *token) {
    char user[40];
    return keyring_verify(k, token, 1000, user, sizeof user);
}

static void test_keyring_rotation(void **state) {
    assert_non_null(svc_mkdtemp(root, sizeof root, "keyring_test_"));
    put("jwt_secret.txt", "old-key");
    char msg[512];
    keyring *k = NULL;
    assert_int_equal(keyring_load(&k, root, NULL, 0, msg, sizeof msg), 0);
    assert_false(keyring_has_previous(k));
    char *old_tok = NULL, *new_tok = NULL, *forged = NULL;
    assert_int_equal(keyring_issue(k, "alice", 1000, 60, &old_tok), 0);

    put("jwt_secret.previous.txt", "old-key");
    put("jwt_secret.txt", "new-key");
    assert_int_equal(keyring_reload(k, msg, sizeof msg), 0);
    assert_true(keyring_has_previous(k));
    assert_null(strstr(msg, "new-key")); /* never the key itself */
    assert_int_equal(verify(k, old_tok), 0);
    assert_int_equal(keyring_issue(k, "alice", 1000, 60, &new_tok), 0);
    char user[40];
    assert_int_equal(token_verify((const uint8_t *)"new-key", 7, new_tok, 1000, user, sizeof user),
                     0);
    assert_int_equal(token_verify((const uint8_t *)"old-key", 7, new_tok, 1000, user, sizeof user),
                     TOKEN_EINVALID);
    /* expiry still applies to a token of the previous key */
    char *old_short = NULL;
    assert_int_equal(token_issue((const uint8_t *)"old-key", 7, "bob", 900, 50, &old_short), 0);
    assert_int_equal(verify(k, old_short), TOKEN_EEXPIRED);
    assert_int_equal(token_issue((const uint8_t *)"other", 5, "eve", 1000, 60, &forged), 0);
    assert_int_equal(verify(k, forged), TOKEN_EINVALID);

    /* a broken rotation on disk keeps the keys in force */
    put("jwt_secret.txt", "");
    assert_int_equal(keyring_reload(k, msg, sizeof msg), -1);
    assert_int_equal(verify(k, new_tok), 0);
    assert_int_equal(verify(k, old_tok), 0);
    /* the previous key retired */
    put("jwt_secret.txt", "new-key");
    char path[400];
    snprintf(path, sizeof path, "%s/jwt_secret.previous.txt", root);
    unlink(path);
    assert_int_equal(keyring_reload(k, msg, sizeof msg), 0);
    assert_int_equal(verify(k, old_tok), TOKEN_EINVALID);
    assert_int_equal(verify(k, new_tok), 0);
    keyring_free(k);
    free(old_tok);
    free(new_tok);
    free(old_short);
    free(forged);
    svc_rmrf(root);
}

/* Runs fn with stderr captured; returns what it wrote (malloc'd). */
static char *captured(void (*fn)(void)) {
    char path[300];
    assert_non_null(svc_mkdtemp(path, sizeof path, "logtest_"));
    char file[340];
    snprintf(file, sizeof file, "%s/err", path);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(file, "w+");
    assert_non_null(f);
    dup2(fileno(f), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *out = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    svc_rmrf(path);
    return out;
}

static void emit_lines(void) {
    log_set_format(LOG_FORMAT_JSON);
    log_set_role("chat");
    log_event(LOG_WARN, LOG_FIELDS(LOG_STR("user", "al\"ice"), LOG_NUM("server", 7)),
              "tab\there, bad \xff byte, nl\n");
    char big[9000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_event(LOG_INFO, LOG_FIELDS(LOG_STR("user", "bob")), "%s\xc3\xa9", big);
    log_debug("dropped: below the level");
    log_set_format(LOG_FORMAT_TEXT);
    log_event(LOG_INFO, LOG_FIELDS(LOG_STR("user", "carol")), "text line");
    log_set_role(NULL);
}

static void test_json_log_lines(void **state) {
    char *out = captured(emit_lines);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_error_t err;
    json_t *a = json_loads(out, 0, &err);
    if (!a) fail_msg("line 1 is not JSON (%s): %s", err.text, out);
    assert_string_equal(json_string_value(json_object_get(a, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(a, "role")), "chat");
    assert_string_equal(json_string_value(json_object_get(a, "user")), "al\"ice");
    assert_int_equal(json_integer_value(json_object_get(a, "server")), 7);
    assert_string_equal(json_string_value(json_object_get(a, "msg")),
                        "tab\there, bad \xef\xbf\xbd byte, nl\n");
    json_decref(a);
    char *line2 = nl + 1;
    nl = strchr(line2, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_t *b = json_loads(line2, 0, &err);
    if (!b) fail_msg("line 2 is not JSON (%s)", err.text);
    assert_string_equal(json_string_value(json_object_get(b, "user")), "bob");
    assert_true(strlen(json_string_value(json_object_get(b, "msg"))) > 3000); /* cut, still valid */
    json_decref(b);
    char *line3 = nl + 1;
    assert_null(strstr(line3, "dropped"));
    assert_non_null(strstr(line3, "info  text line user=carol\n"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_keyring_rotation),
        cmocka_unit_test(test_json_log_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
