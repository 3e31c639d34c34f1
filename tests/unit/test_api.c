/*
 * Unit tests for api/api: POST /register and POST /auth, every answer
 * they give (success, 400 for each malformed field, 409, 401, 429 with
 * Retry-After from the address and username throttles and the global
 * register rate, 503 from a full hash queue, no server to name or a
 * failing store), and the routing around them (404, 405, /health,
 * /metrics), through api_handle behind a real server on a private loop
 * (tests/unit/loop_test_util.h), with a real SQLite store in a temporary
 * directory that fails on demand (tests/unit/store_fail_util.h), the
 * domain and the JWT keyring wired as roles/app.c wires them (argon2 at
 * its minimum). Every request comes from 127.0.0.1; the API trusts
 * X-Forwarded-For so that a test can speak from several client addresses.
 */
#include "loop_test_util.h"

#include <jansson.h>

#include "api/api.h"
#include "auth/keyring.h"
#include "chat/domain.h"
#include "core/log.h"
#include "net/server.h"
#include "store_fail_util.h"
#include "svcutil.h"

typedef struct fx {
    char dir[128];
    uv_loop_t loop;
    store *st; /* SQLite behind store_fail_util.h's wrapper */
    domain *dom;
    keyring *keys;
    api *api;
    server srv;
    int nrequests; /* handed to api_handle */
    int no_server; /* pick fails */
} fx;

static fx *F;

static int pick(void *data, api_instance *chat, api_instance *presence) {
    fx *f = data;
    if (f->no_server) return -1;
    *chat = *presence = (api_instance){0};
    snprintf(chat->host, sizeof(chat->host), "chat.example");
    chat->port = 7001;
    chat->id = 3;
    snprintf(presence->host, sizeof(presence->host), "presence.example");
    presence->port = 7002;
    presence->id = 4;
    return 0;
}

static void on_http(void *data, conn *c, http_req *req) {
    fx *f = data;
    f->nrequests++;
    api_handle(f->api, c, req);
}

static void on_upgrade(void *data, conn *c, http_req *req) {
    conn_http_error(c, 404, "not_found", "no WebSockets here");
}

/* The configuration roles/app.c would build, with the tests' argon2. */
static void default_config(api_config *cfg) {
    *cfg = (api_config){.keys = F->keys,
                        .token_ttl_s = 3600,
                        .role = "all",
                        .pick = pick,
                        .pick_data = F,
                        .hash_workers = 1,
                        .max_hash_queue = 64,
                        .register_per_sec = 100,
                        .auth_fail_per_addr = 30,
                        .trust_proxy = 1,
                        .web = {NULL, 1}};
    password_params_default(&cfg->pw);
    cfg->pw.opslimit = 1;
    cfg->pw.memlimit = 8192;
}

/* The server in front of F->api. */
static void serve(void) {
    assert_non_null(F->api);
    server_limits lim;
    server_limits_default(&lim);
    server_handlers h = {F, on_http, on_upgrade, NULL, NULL, NULL, NULL};
    assert_int_equal(server_start(&F->srv, &F->loop, "127.0.0.1", 0, &h, &lim), 0);
}

/* The API with cfg (NULL: default_config's) behind a server. */
static void start(const api_config *cfg) {
    api_config defaults;
    default_config(&defaults);
    F->api = api_new(cfg ? cfg : &defaults, &F->loop, &sf_backend, F->st, F->dom);
    serve();
}

static int setup(void **state) {
    F = calloc(1, sizeof(*F));
    assert_non_null(F);
    log_set_level(LOG_WARN);
    assert_non_null(svc_mkdtemp(F->dir, sizeof(F->dir), "chatd-api-"));
    assert_int_equal(uv_loop_init(&F->loop), 0);
    char path[256], msg[512];
    snprintf(path, sizeof(path), "%s/chatd.db", F->dir);
    F->st = sf_open(&F->loop, path);
    domain_config dcfg;
    domain_config_default(&dcfg);
    F->dom = domain_new(&dcfg, &sf_backend, F->st);
    assert_non_null(F->dom);
    assert_true(keyring_load(&F->keys, F->dir, F->dir, 1, msg, sizeof(msg)) >= 0);
    return 0;
}

static void release_pool(void);

/* The order of roles/app.c's app_fail. */
static int teardown(void **state) {
    release_pool(); /* a test that failed while holding it */
    server_stop_accepting(&F->srv);
    server_abort_all(&F->srv);
    sf_backend.close(F->st);
    server_free(&F->srv);
    uv_run(&F->loop, UV_RUN_DEFAULT);
    api_free(F->api);
    domain_free(F->dom);
    keyring_free(F->keys);
    assert_int_equal(uv_loop_close(&F->loop), 0);
    svc_rmrf(F->dir);
    free(F);
    return 0;
}

/* ---- requests ---- */

/* Sends a request from client address xff (NULL: 127.0.0.1) on a new
 * socket and waits until the API has been handed it. */
static lt_sock *send_req(const char *method, const char *path, const char *xff, const char *body) {
    char req[2048], fwd[128] = "";
    if (xff) snprintf(fwd, sizeof(fwd), "X-Forwarded-For: 192.0.2.99, %s\r\n", xff);
    size_t blen = body ? strlen(body) : 0;
    snprintf(req, sizeof(req),
             "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             method, path, fwd, blen, body ? body : "");
    lt_sock *s = lt_connect(F->srv.port, 0);
    int before = F->nrequests;
    lt_send_str(&F->loop, s, req);
    uint64_t end = clock_mono_ms() + 2000;
    while (F->nrequests == before) {
        if (clock_mono_ms() > end) fail_msg("%s %s never reached the API", method, path);
        lt_turn(&F->loop, -1);
    }
    return s;
}

/* Its answer (the socket is closed). */
static lt_http *answer(lt_sock *s) {
    static lt_http r;
    lt_response(&F->loop, s, &r, 5000);
    lt_close(s);
    return &r;
}

static lt_http *http_call(const char *method, const char *path, const char *xff, const char *body) {
    return answer(send_req(method, path, xff, body));
}

static const char *creds(const char *user, const char *password) {
    static char body[512];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
    return body;
}

static lt_http *post(const char *path, const char *xff, const char *user, const char *password) {
    return http_call("POST", path, xff, creds(user, password));
}

/* The answer's JSON string field key ("" when absent). */
static const char *field(const lt_http *r, const char *key) {
    static char out[1024];
    json_t *j = json_loads(r->body, 0, NULL);
    json_t *v = json_object_get(j, key);
    snprintf(out, sizeof(out), "%s", json_is_string(v) ? json_string_value(v) : "");
    json_decref(j);
    return out;
}

/* status, error code and (when msg is not NULL) the error sentence. */
static void expect_error(const lt_http *r, int status, const char *code, const char *msg) {
    if (r->status != status) fail_msg("status %d, expected %d: %s", r->status, status, r->body);
    assert_string_equal(field(r, "code"), code);
    if (msg) assert_string_equal(field(r, "error"), msg);
}

static void expect_retry_after(const lt_http *r, const char *seconds) {
    char v[32];
    assert_string_equal(lt_header(r, "Retry-After", v, sizeof(v)), seconds);
}

/* ---- /register ---- */

static void test_register_and_taken(void **state) {
    start(NULL);
    lt_http *r = post("/register", NULL, "alice", "password-1");
    assert_int_equal(r->status, 201);
    assert_string_equal(field(r, "user_id"), "alice");
    assert_string_equal(field(r, "username"), "alice");
    assert_int_equal(strlen(field(r, "created_at")), 24); /* 2026-01-02T03:04:05.678Z */
    assert_true(domain_user_exists(F->dom, "alice"));
    expect_error(post("/register", NULL, "alice", "another-password"), 409, "conflict",
                 "that username is taken");
}

/* Registered through another process: the domain does not know the name,
 * the store refuses it. */
static void user_created(store_op *op) {
    *(int *)op->data = 1;
}

static void test_register_taken_in_the_store_only(void **state) {
    start(NULL);
    int done = 0;
    store_op op = {.kind = STORE_USER_CREATE, .done = user_created, .data = &done};
    op.u.user_create.username = "carol";
    op.u.user_create.pw_hash = "$argon2id$not-a-real-hash";
    op.u.user_create.created_ms = 1;
    store_sqlite_backend.submit(sf_real(F->st), &op);
    while (!done)
        lt_turn(&F->loop, -1);
    assert_int_equal(op.status, STORE_OK);
    assert_false(domain_user_exists(F->dom, "carol"));
    expect_error(post("/register", NULL, "carol", "password-1"), 409, "conflict",
                 "that username is taken");
}

static void test_register_bad_fields(void **state) {
    start(NULL);
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {NULL, "the body must be a JSON object"},
        {"not json", "the body must be a JSON object"},
        {"[\"alice\",\"password-1\"]", "the body must be a JSON object"},
        {"{\"password\":\"password-1\"}", "username must be a string"},
        {"{\"username\":5,\"password\":\"password-1\"}", "username must be a string"},
        {"{\"username\":\"alice\"}", "password must be a string"},
        {"{\"username\":\"no spaces\",\"password\":\"password-1\"}",
         "username must be 1-32 characters of A-Z, a-z, 0-9, '_', '.' or '-'"},
        {"{\"username\":\"\",\"password\":\"password-1\"}",
         "username must be 1-32 characters of A-Z, a-z, 0-9, '_', '.' or '-'"},
        {"{\"username\":\"a23456789012345678901234567890123\",\"password\":\"password-1\"}",
         "username must be 1-32 characters of A-Z, a-z, 0-9, '_', '.' or '-'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_error(http_call("POST", "/register", NULL, bad[i].body), 400, "invalid_field",
                     bad[i].msg);
        expect_error(http_call("POST", "/auth", NULL, bad[i].body), 400, "invalid_field",
                     bad[i].msg);
    }
    char longpw[140];
    memset(longpw, 'p', 129);
    longpw[129] = '\0';
    expect_error(post("/register", NULL, "alice", longpw), 400, "invalid_field",
                 "password must be at most 128 bytes");
    expect_error(post("/register", NULL, "alice", "7-bytes"), 400, "invalid_field",
                 "Password must be at least 8 characters long");
    assert_int_equal(post("/register", NULL, "alice", "8bytes!!")->status, 201);
    assert_int_equal(post("/auth", NULL, "alice", longpw)->status, 400);
}

/* Accounts come out of one bucket for all clients: its burst is two
 * seconds' worth (at least one). */
static void test_register_global_rate(void **state) {
    api_config cfg;
    default_config(&cfg);
    cfg.register_per_sec = 0.25;
    start(&cfg);
    assert_int_equal(post("/register", "10.0.0.1", "first", "password-1")->status, 201);
    lt_http *r = post("/register", "10.0.0.2", "second", "password-1");
    expect_error(r, 429, "rate_limited", "too many new accounts right now; retry shortly");
    expect_retry_after(r, "1");
    assert_false(domain_user_exists(F->dom, "second"));
}

/* ---- /auth ---- */

static void test_auth_success(void **state) {
    start(NULL);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    lt_http *r = post("/auth", NULL, "alice", "password-1");
    assert_int_equal(r->status, 200);
    char user[64] = "";
    assert_int_equal(keyring_verify(F->keys, field(r, "sessionToken"), clock_now_ms() / 1000, user,
                                    sizeof(user)),
                     0);
    assert_string_equal(user, "alice");
    json_t *j = json_loads(r->body, 0, NULL);
    json_t *chat = json_object_get(json_object_get(j, "servers"), "chat");
    json_t *pres = json_object_get(json_object_get(j, "servers"), "presence");
    assert_string_equal(json_string_value(json_object_get(chat, "host")), "chat.example");
    assert_string_equal(json_string_value(json_object_get(chat, "port")), "7001");
    assert_int_equal(json_integer_value(json_object_get(chat, "id")), 3);
    assert_string_equal(json_string_value(json_object_get(pres, "host")), "presence.example");
    assert_string_equal(json_string_value(json_object_get(pres, "port")), "7002");
    assert_int_equal(json_integer_value(json_object_get(pres, "id")), 4);
    json_decref(j);
}

/* A wrong password and an unknown user get the same answer. */
static void test_auth_wrong_password_and_unknown_user(void **state) {
    start(NULL);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    lt_http *r = post("/auth", NULL, "alice", "password-2");
    expect_error(r, 401, "unauthorized", "Invalid credentials");
    char wrong[4096];
    snprintf(wrong, sizeof(wrong), "%s", r->body);
    r = post("/auth", NULL, "nobody", "password-1");
    expect_error(r, 401, "unauthorized", "Invalid credentials");
    assert_string_equal(r->body, wrong);
}

static void test_auth_no_server_to_name(void **state) {
    start(NULL);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    F->no_server = 1;
    expect_error(post("/auth", NULL, "alice", "password-1"), 503, "unavailable",
                 "No available servers");
}

/* The store failing: 503, and no account half made. */
static void test_storage_unavailable(void **state) {
    start(NULL);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    sf_fail(F->st, 1u << STORE_USER_CREATE | 1u << STORE_USER_GET, STORE_EIO);
    const char *msg = "storage is unavailable; retry shortly";
    expect_error(post("/register", NULL, "bob", "password-1"), 503, "unavailable", msg);
    expect_error(post("/auth", NULL, "alice", "password-1"), 503, "unavailable", msg);
    assert_false(domain_user_exists(F->dom, "bob"));
    sf_fail(F->st, 0, 0);
    assert_int_equal(post("/register", NULL, "bob", "password-1")->status, 201);
    assert_int_equal(post("/auth", NULL, "alice", "password-1")->status, 200);
}

/* auth_fail_per_addr failed logins from one address (unknown names
 * included) and it is refused for a minute, even with the right password;
 * other addresses are not. */
static void test_auth_per_address_throttle(void **state) {
    api_config cfg;
    default_config(&cfg);
    cfg.auth_fail_per_addr = 3;
    start(&cfg);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    const char *names[] = {"ghost1", "ghost2", "alice"};
    for (int i = 0; i < 3; i++)
        expect_error(post("/auth", "10.1.1.1", names[i], "wrong-password"), 401, "unauthorized",
                     NULL);
    lt_http *r = post("/auth", "10.1.1.1", "alice", "password-1");
    expect_error(r, 429, "rate_limited",
                 "too many failed logins from your address; try again in a minute");
    expect_retry_after(r, "60");
    assert_int_equal(post("/auth", "10.1.1.2", "alice", "password-1")->status, 200);
}

/* A success takes back the failure counted for it in advance. */
static void test_auth_successes_do_not_use_the_address_budget(void **state) {
    api_config cfg;
    default_config(&cfg);
    cfg.auth_fail_per_addr = 2;
    start(&cfg);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    for (int i = 0; i < 4; i++)
        assert_int_equal(post("/auth", "10.1.1.1", "alice", "password-1")->status, 200);
}

/* Ten failures for one username (from anywhere) and the name is refused
 * for a minute. */
static void test_auth_per_username_throttle(void **state) {
    start(NULL);
    assert_int_equal(post("/register", NULL, "alice", "password-1")->status, 201);
    for (int i = 0; i < 10; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "10.2.0.%d", i + 1);
        assert_int_equal(post("/auth", addr, "alice", "wrong-password")->status, 401);
    }
    lt_http *r = post("/auth", "10.2.1.1", "alice", "password-1");
    expect_error(r, 429, "rate_limited",
                 "too many failed attempts for this username; try again in a minute");
    expect_retry_after(r, "60");
}

/* ---- the hash queue ---- */

/* Holds every thread of libuv's pool (UV_THREADPOOL_SIZE, set in main),
 * so that hashes queue up exactly as the test says. */
enum { POOL = 2 };
static uv_sem_t pool_gate, pool_held;
static uv_work_t pool_blockers[POOL];
static int pool_held_now;

static void block_work(uv_work_t *w) {
    uv_sem_post(&pool_held);
    uv_sem_wait(&pool_gate);
}
static void block_done(uv_work_t *w, int status) {}

static void hold_pool(void) {
    assert_int_equal(uv_sem_init(&pool_gate, 0), 0);
    assert_int_equal(uv_sem_init(&pool_held, 0), 0);
    for (int i = 0; i < POOL; i++)
        assert_int_equal(uv_queue_work(&F->loop, &pool_blockers[i], block_work, block_done), 0);
    for (int i = 0; i < POOL; i++)
        uv_sem_wait(&pool_held);
    pool_held_now = 1;
}

static void release_pool(void) {
    if (!pool_held_now) return;
    pool_held_now = 0;
    for (int i = 0; i < POOL; i++)
        uv_sem_post(&pool_gate);
}

/* One hash running and max_hash_queue waiting: the next is refused with
 * 503 (another address) or, past its quarter of the queue, 429 (the same
 * address); those taken are answered once the workers are free. */
static void test_hash_queue_full(void **state) {
    api_config cfg;
    default_config(&cfg);
    cfg.max_hash_queue = 1;
    start(&cfg);
    hold_pool();
    lt_sock *running = send_req("POST", "/register", "10.3.0.1", creds("one", "password-1"));
    lt_sock *waiting = send_req("POST", "/register", "10.3.0.2", creds("two", "password-1"));
    lt_http *r = post("/register", "10.3.0.3", "three", "password-1");
    expect_error(r, 503, "unavailable", "the server is busy checking passwords; retry shortly");
    expect_retry_after(r, "1");
    release_pool();
    assert_int_equal(answer(running)->status, 201);
    assert_int_equal(answer(waiting)->status, 201);
    assert_false(domain_user_exists(F->dom, "three"));
}

static void test_hash_queue_per_address(void **state) {
    api_config cfg;
    default_config(&cfg);
    cfg.max_hash_queue = 8; /* 2 per address */
    start(&cfg);
    hold_pool();
    lt_sock *s[4];
    s[0] = send_req("POST", "/register", "10.4.0.1", creds("one", "password-1"));
    s[1] = send_req("POST", "/register", "10.4.0.2", creds("two", "password-1"));
    s[2] = send_req("POST", "/register", "10.4.0.2", creds("three", "password-1"));
    lt_http *r = post("/register", "10.4.0.2", "four", "password-1");
    expect_error(r, 429, "rate_limited",
                 "too many logins in progress from your address; retry shortly");
    expect_retry_after(r, "1");
    s[3] = send_req("POST", "/register", "10.4.0.3", creds("five", "password-1")); /* room */
    release_pool();
    for (int i = 0; i < 4; i++)
        assert_int_equal(answer(s[i])->status, 201);
    assert_false(domain_user_exists(F->dom, "four"));
}

/* ---- routing ---- */

static void test_routes_and_methods(void **state) {
    start(NULL);
    expect_error(http_call("GET", "/nope", NULL, NULL), 404, "not_found", "no such endpoint");
    expect_error(http_call("GET", "/", NULL, NULL), 404, "not_found", NULL);      /* web disabled */
    expect_error(http_call("GET", "/ready", NULL, NULL), 404, "not_found", NULL); /* no probes */
    const char *wrong[][2] = {{"GET", "/auth"},
                              {"GET", "/register"},
                              {"PUT", "/auth"},
                              {"POST", "/health"},
                              {"DELETE", "/metrics"}};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        expect_error(http_call(wrong[i][0], wrong[i][1], NULL, NULL), 405, "method_not_allowed",
                     "method not allowed for this endpoint");
    lt_http *r = http_call("GET", "/health", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(field(r, "status"), "ok");
    assert_string_equal(field(r, "role"), "all");
    r = http_call("GET", "/metrics?x=1", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body, "chatd_json_encodes_total"));
}

/* With an admin port /metrics is served there only; a server without a
 * store serves no accounts. */
static void test_ops_elsewhere_and_no_store(void **state) {
    api_config cfg;
    default_config(&cfg);
    cfg.ops_elsewhere = 1;
    F->api = api_new(&cfg, &F->loop, &sf_backend, NULL, NULL);
    serve();
    expect_error(http_call("GET", "/metrics", NULL, NULL), 404, "not_found", "no such endpoint");
    expect_error(post("/auth", NULL, "alice", "password-1"), 404, "not_found",
                 "this server does not serve accounts: use the API server");
    expect_error(post("/register", NULL, "alice", "password-1"), 404, "not_found",
                 "this server does not serve accounts: use the API server");
    assert_int_equal(http_call("GET", "/health", NULL, NULL)->status, 200);
}

int main(void) {
    setenv("UV_THREADPOOL_SIZE", "2", 1); /* POOL: before libuv starts its pool */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_and_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_taken_in_the_store_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_bad_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_global_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_wrong_password_and_unknown_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_no_server_to_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_per_address_throttle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_successes_do_not_use_the_address_budget, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_auth_per_username_throttle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_queue_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ops_elsewhere_and_no_store, setup, teardown),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
