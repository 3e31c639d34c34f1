/*
 * test_admin: the operator's endpoints (docs/OPERATIONS.md, "Monitor").
 * With --admin-port, /metrics, /health and /ready are served there and
 * nothing else is, and the public port stops serving /metrics; /ready says
 * 503 and names the store while the SQLite database is locked by another
 * process, 200 again once it is free; --allowed-origins refuses browser
 * WebSockets from other origins (403) but not clients without an Origin,
 * nor the page chatd serves itself (same origin).
 */
#include "integration/chatkit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "svcutil.h"

/* s, seen through its admin port. */
static chatd_srv admin_view(const chatd_srv *s, int port) {
    chatd_srv a = *s;
    a.port = port;
    return a;
}

static chatd_srv *start_with_admin(int *admin_port, const char *const *more) {
    const char *args[12] = {"--admin-port", NULL};
    for (int tries = 0; tries < 3; tries++) { /* a free port can be taken before chatd binds it */
        *admin_port = svc_free_port();
        args[1] = hfmt("%d", *admin_port);
        int n = 2;
        for (; more && more[n - 2]; n++)
            args[n] = more[n - 2];
        args[n] = NULL;
        chatd_srv *s = chatd_start(args);
        if (s) return s;
    }
    fail_msg("chatd did not start with an admin port");
    return NULL;
}

static void test_admin_port_serves_monitoring_only(void **state) {
    int port;
    chatd_srv *s = start_with_admin(&port, NULL);
    chatd_srv adm = admin_view(s, port);
    const char *raw = NULL;
    json_t *body = NULL;

    assert_int_equal(http_call(&adm, "GET", "/metrics", NULL, NULL, &raw), 200);
    assert_non_null(strstr(raw, "chatd_connections{endpoint=\"chat\"}"));
    assert_int_equal(http_call(s, "GET", "/metrics", NULL, NULL, NULL), 404);
    assert_int_equal(http_call(&adm, "GET", "/health", NULL, &body, NULL), 200);
    assert_string_equal(jstr(body, "status"), "ok");
    assert_int_equal(http_call(s, "GET", "/health", NULL, NULL, NULL), 200);
    assert_int_equal(http_call(&adm, "GET", "/ready", NULL, &body, NULL), 200);
    assert_string_equal(jstr(body, "status"), "ready");
    assert_string_equal(jstr(jobj(body, "checks"), "store"), "ok");
    assert_int_equal(http_call(s, "GET", "/ready", NULL, NULL, NULL), 404);
    /* nothing else on the admin port */
    assert_int_equal(
        http_call(&adm, "POST", "/auth", "{\"username\":\"x\",\"password\":\"y\"}", NULL, NULL),
        404);
    assert_int_equal(http_call(&adm, "POST", "/metrics", "", NULL, NULL), 405);
    const char *up =
        "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_int_equal(raw_http(&adm, up, strlen(up), NULL), 404);
    /* the public port still does its job */
    tconn_close(chat_login(s, new_user(s, "adm")));
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_without_admin_port_public_serves_all(void **state) {
    chatd_srv *s = chatd_start(NULL);
    json_t *body = NULL;
    assert_int_equal(http_call(s, "GET", "/metrics", NULL, NULL, NULL), 200);
    assert_int_equal(http_call(s, "GET", "/ready", NULL, &body, NULL), 200);
    assert_string_equal(jstr(body, "status"), "ready");
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static json_t *ready_now(chatd_srv *adm, int want, int within_ms) {
    json_t *body = NULL;
    int64_t deadline = now_ms() + within_ms;
    int st;
    while ((st = http_call(adm, "GET", "/ready", NULL, &body, NULL)) != want && now_ms() < deadline)
        sleep_ms(200);
    if (st != want) fail_msg("/ready answered %d, not %d: %s", st, want, jdump(body));
    return body;
}

static void test_ready_when_store_locked(void **state) {
    int port;
    chatd_srv *s = start_with_admin(&port, NULL);
    chatd_srv adm = admin_view(s, port);
    ready_now(&adm, 200, 0);

    sqlite3 *db = NULL; /* another process holds the write lock */
    assert_int_equal(sqlite3_open(hfmt("%s/data/chatd.db", s->dir), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    json_t *body = ready_now(&adm, 503, 5000);
    assert_string_equal(jstr(body, "status"), "unavailable");
    assert_true(jarr_has_str(jarr(body, "unavailable"), "store"));
    const char *why = jstr(jobj(body, "checks"), "store");
    if (!strstr(why, "locked")) fail_msg("store check says \"%s\"", why);
    assert_int_equal(http_call(&adm, "GET", "/health", NULL, NULL, NULL), 200); /* alive */

    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ready_now(&adm, 200, 5000);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* The upgrade's HTTP status with this Origin header ("" = none). */
static int upgrade_status(chatd_srv *s, const char *token, const char *origin) {
    const char *req =
        hfmt("GET /chat?token=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
             token, s->port, *origin ? "Origin: " : "", origin, *origin ? "\r\n" : "");
    const char *resp = NULL;
    int st = raw_http(s, req, strlen(req), &resp);
    return st;
}

static void test_allowed_origins(void **state) {
    chatd_srv *s = chatd_start((const char *[]){
        "--allowed-origins", "https://chat.example.com, http://good.example:8080", NULL});
    const char *u = new_user(s, "org");
    const char *tok = auth(s, u, H_PASSWORD);
    assert_int_equal(upgrade_status(s, tok, "https://evil.example"), 403);
    assert_int_equal(upgrade_status(s, tok, "http://chat.example.com"), 403); /* scheme counts */
    assert_int_equal(upgrade_status(s, tok, "null"), 403);
    tconn_close(
        ws_open(s, hfmt("/chat?token=%s", tok), "Origin: https://chat.example.com\r\n", "listed"));
    tconn_close(ws_open(s, hfmt("/chat?token=%s", tok), "Origin: HTTP://good.example:8080\r\n",
                        "listed, other case"));
    tconn_close(ws_open(s, hfmt("/chat?token=%s", tok), NULL, "no Origin (not a browser)"));
    tconn_close(ws_open(s, hfmt("/chat?token=%s", tok),
                        hfmt("Origin: http://127.0.0.1:%d\r\n", s->port), "same origin"));
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);

    s = chatd_start(NULL); /* unset: anything goes, as before */
    u = new_user(s, "org");
    tok = auth(s, u, H_PASSWORD);
    tconn_close(ws_open(s, hfmt("/chat?token=%s", tok), "Origin: https://evil.example\r\n", "any"));
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_port_serves_monitoring_only),
        cmocka_unit_test(test_without_admin_port_public_serves_all),
        cmocka_unit_test(test_ready_when_store_locked),
        cmocka_unit_test(test_allowed_origins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
