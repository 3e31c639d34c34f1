/*
 * test_http: the HTTP API of PROTOCOL.md section 1 against a real chatd:
 * /register, /auth (+ throttle), /health, /metrics, unknown paths, size
 * limits, and the JWT it issues.
 */
#define _GNU_SOURCE
#include "integration/harness.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/token.h"

static int post(const char *path, const char *body, json_t **resp) {
    return http_call(H_SRV, "POST", path, body, resp, NULL);
}

static const char *creds(const char *user, const char *pw) {
    json_t *j = json_pack("{s:s,s:s}", "username", user, "password", pw);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    const char *out = hfmt("%s", s);
    free(s);
    return out;
}

/* error body: {"error": non-empty sentence}; returns the sentence */
static const char *error_of(json_t *resp) {
    if (!resp) fail_msg("error response body is not JSON");
    const char *e = jstr(resp, "error");
    if (!*e) fail_msg("empty error sentence");
    return e;
}

static void test_register_ok(void **state) {
    const char *name = uniq_name("reg");
    json_t *resp;
    assert_int_equal(post("/register", creds(name, H_PASSWORD), &resp), 201);
    assert_string_equal(jstr(resp, "user_id"), name);
    assert_string_equal(jstr(resp, "username"), name);
    const char *created = jstr(resp, "created_at");
    if (!is_iso_ms(created)) fail_msg("created_at not ISO-8601 ms: %s", created);
}

static void test_register_boundaries_ok(void **state) {
    char name32[33], pw128[129];
    const char *base = uniq_name("b");
    memset(name32, 'x', 32);
    memcpy(name32, base, strlen(base));
    name32[32] = '\0';
    memset(pw128, 'p', 128);
    pw128[128] = '\0';
    assert_int_equal(register_user(H_SRV, name32, pw128), 201);
    assert_int_equal(register_user(H_SRV, uniq_name("Aa0_.-"), "12345678"), 201);
    auth(H_SRV, name32, pw128);
}

static void test_register_bad_names(void **state) {
    char name33[34];
    const char *base = uniq_name("c");
    memset(name33, 'y', 33);
    memcpy(name33, base, strlen(base));
    name33[33] = '\0';
    const char *bad[] = {"",        name33,        "with space", "sl/ash",
                         "qu\"ote", "caf\xc3\xa9", "a:b",        "a@b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *resp;
        int st = post("/register", creds(bad[i], H_PASSWORD), &resp);
        if (st != 400) fail_msg("register name '%s': status %d, expected 400", bad[i], st);
        const char *e = error_of(resp);
        if (!strcasestr(e, "username"))
            fail_msg("name '%s': error should name the username rule: %s", bad[i], e);
    }
}

static void test_register_bad_passwords(void **state) {
    char pw129[130];
    memset(pw129, 'p', 129);
    pw129[129] = '\0';
    const char *bad[] = {"", "1234567", pw129};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *resp;
        const char *name = uniq_name("pw");
        int st = post("/register", creds(name, bad[i]), &resp);
        if (st != 400)
            fail_msg("password of %zu bytes: status %d, expected 400", strlen(bad[i]), st);
        const char *e = error_of(resp);
        if (!strcasestr(e, "password")) fail_msg("error should name the password rule: %s", e);
        /* and the user was not created */
        assert_int_equal(post("/register", creds(name, H_PASSWORD), NULL), 201);
    }
}

static void test_register_taken(void **state) {
    const char *name = new_user(H_SRV, "taken");
    json_t *resp;
    assert_int_equal(post("/register", creds(name, "another-password"), &resp), 409);
    error_of(resp);
    /* the original password still works */
    auth(H_SRV, name, H_PASSWORD);
}

static void test_register_bad_body(void **state) {
    const char *bodies[] = {"not json",
                            "",
                            "[1,2]",
                            "{\"username\":\"x1\"}",
                            "{\"password\":\"12345678\"}",
                            "{\"username\":5,\"password\":\"12345678\"}",
                            "{\"username\":\"okname\",\"password\":12345678}",
                            "{\"username\":"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *resp;
        int st = post("/register", bodies[i], &resp);
        if (st != 400) fail_msg("register body '%s': status %d, expected 400", bodies[i], st);
        error_of(resp);
        st = post("/auth", bodies[i], &resp);
        if (st != 400) fail_msg("auth body '%s': status %d, expected 400", bodies[i], st);
        error_of(resp);
    }
}

static void check_server(json_t *servers, const char *which) {
    json_t *sv = jobj(servers, which);
    assert_true(strlen(jstr(sv, "host")) > 0);
    const char *port = jstr(sv, "port"); /* compat: a STRING */
    if (!is_decimal_id(port) || !chatd_serves(H_SRV, which, atoi(port)))
        fail_msg("servers.%s.port \"%s\": not where %s is served", which, port, which);
    json_t *id = json_object_get(sv, "id");
    if (!json_is_number(id)) fail_msg("servers.%s.id is not a number: %s", which, jdump(sv));
}

static void test_auth_ok(void **state) {
    const char *name = new_user(H_SRV, "auth");
    json_t *resp;
    assert_int_equal(post("/auth", creds(name, H_PASSWORD), &resp), 200);
    const char *tok = jstr(resp, "sessionToken");
    json_t *servers = jobj(resp, "servers");
    check_server(servers, "chat");
    check_server(servers, "presence");

    /* the JWT verifies with the known secret (exact bytes, newline included) */
    char user[64];
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(
        token_verify((const uint8_t *)H_SECRET, H_SECRET_LEN, tok, now, user, sizeof user), 0);
    assert_string_equal(user, name);
    /* ... and not with the trimmed secret */
    assert_int_not_equal(
        token_verify((const uint8_t *)H_SECRET, H_SECRET_LEN - 1, tok, now, user, sizeof user), 0);
    /* claims: username, iat (now), exp (iat + 24 h by default) */
    const char *dot1 = strchr(tok, '.');
    assert_non_null(dot1);
    const char *dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    size_t plen = (size_t)(dot2 - dot1 - 1);
    char *b64 = calloc(1, plen + 4);
    memcpy(b64, dot1 + 1, plen);
    for (size_t i = 0; i < plen; i++)
        b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
    while (plen % 4)
        b64[plen++] = '=';
    /* decode with a tiny base64 decoder */
    unsigned char payload[1024];
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < plen && b64[i] != '='; i++) {
        const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = strchr(tbl, b64[i]);
        assert_non_null(p);
        acc = acc << 6 | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < sizeof payload - 1) payload[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    free(b64);
    payload[o] = 0;
    json_t *claims = json_loads((char *)payload, 0, NULL);
    if (!claims) fail_msg("JWT payload is not JSON: %s", payload);
    assert_string_equal(jstr(claims, "username"), name);
    json_int_t iat = jint(claims, "iat"), exp = jint(claims, "exp");
    json_decref(claims);
    assert_in_range(iat, now - 30, now + 5);
    assert_int_equal(exp - iat, 24 * 3600);
}

static void test_auth_invalid_credentials(void **state) {
    const char *name = new_user(H_SRV, "wrong");
    json_t *resp;
    assert_int_equal(post("/auth", creds(name, "not-the-password"), &resp), 401);
    assert_string_equal(error_of(resp), "Invalid credentials");
    assert_int_equal(post("/auth", creds(uniq_name("nobody"), H_PASSWORD), &resp), 401);
    assert_string_equal(error_of(resp), "Invalid credentials");
}

static void test_auth_throttle(void **state) {
    const char *victim = new_user(H_SRV, "thr");
    const char *bystander = new_user(H_SRV, "bys");
    json_t *resp;
    for (int i = 1; i <= 10; i++) {
        int st = post("/auth", creds(victim, "bad-password"), &resp);
        if (st != 401) fail_msg("failed attempt %d: status %d, expected 401", i, st);
    }
    /* the 11th attempt is refused even with the right password */
    int st = post("/auth", creds(victim, H_PASSWORD), &resp);
    if (st != 429) fail_msg("after 10 failures: status %d, expected 429", st);
    error_of(resp);
    st = post("/auth", creds(victim, "bad-password"), &resp);
    assert_int_equal(st, 429);
    /* other usernames are unaffected */
    auth(H_SRV, bystander, H_PASSWORD);
    assert_int_equal(post("/auth", creds(bystander, "bad-password"), NULL), 401);
}

static void test_health(void **state) {
    json_t *resp;
    assert_int_equal(http_call(H_SRV, "GET", "/health", NULL, &resp, NULL), 200);
    assert_string_equal(jstr(resp, "status"), "ok");
    assert_string_equal(jstr(resp, "service"), "chatd");
    jstr(resp, "role");
    json_t *up = json_object_get(resp, "uptime_s");
    if (!json_is_number(up) || json_number_value(up) < 0)
        fail_msg("uptime_s missing or not a non-negative number: %s", jdump(resp));
}

static void test_metrics(void **state) {
    const char *raw;
    assert_int_equal(http_call(H_SRV, "GET", "/metrics", NULL, NULL, &raw), 200);
    const char *names[] = {"chatd_connections", "chatd_messages_in_total",
                           "chatd_store_commit_seconds_bucket", "chatd_errors_total"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(raw, names[i])) fail_msg("/metrics lacks %s:\n%.2000s", names[i], raw);
}

static void test_unknown_path(void **state) {
    json_t *resp;
    assert_int_equal(http_call(H_SRV, "GET", "/no/such/path", NULL, &resp, NULL), 404);
    error_of(resp);
    assert_int_equal(http_call(H_SRV, "POST", "/nothing-here", "{}", &resp, NULL), 404);
    error_of(resp);
}

static void test_head_too_large(void **state) {
    size_t fill = 17 * 1024;
    char *req = malloc(fill + 256);
    int n = sprintf(req, "GET /health HTTP/1.1\r\nHost: x\r\nX-Fill: ");
    memset(req + n, 'a', fill);
    n += (int)fill;
    n += sprintf(req + n, "\r\n\r\n");
    const char *resp;
    int st = raw_http(H_SRV, req, (size_t)n, &resp);
    free(req);
    if (st != 431) fail_msg("17 KiB head: status %d, expected 431; response: %.300s", st, resp);
    /* the server is still fine */
    assert_int_equal(http_call(H_SRV, "GET", "/health", NULL, NULL, NULL), 200);
}

static void test_body_too_large(void **state) {
    size_t blen = 70 * 1024;
    char *req = malloc(blen + 256);
    int n = sprintf(req,
                    "POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
                    blen);
    memset(req + n, ' ', blen);
    req[n] = '{';
    req[n + blen - 1] = '}';
    const char *resp;
    int st = raw_http(H_SRV, req, (size_t)n + blen, &resp);
    free(req);
    if (st != 413) fail_msg("70 KiB body: status %d, expected 413; response: %.300s", st, resp);
    assert_int_equal(http_call(H_SRV, "GET", "/health", NULL, NULL, NULL), 200);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_ok),
        cmocka_unit_test(test_register_boundaries_ok),
        cmocka_unit_test(test_register_bad_names),
        cmocka_unit_test(test_register_bad_passwords),
        cmocka_unit_test(test_register_taken),
        cmocka_unit_test(test_register_bad_body),
        cmocka_unit_test(test_auth_ok),
        cmocka_unit_test(test_auth_invalid_credentials),
        cmocka_unit_test(test_auth_throttle),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_unknown_path),
        cmocka_unit_test(test_head_too_large),
        cmocka_unit_test(test_body_too_large),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
