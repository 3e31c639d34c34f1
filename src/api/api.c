/*
 * api: HTTP handlers. Each request that needs the store or a password hash
 * becomes an api_call that holds the connection until it is answered.
 */
#include "api/api.h"
#include "core/alloc.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hashq.h"
#include "api/throttle.h"
#include "auth/keyring.h"
#include "chat/domain.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "ops/endpoints.h"
#include "ops/ready.h"
#include "proto/encode.h"
#include "proto/request.h"

struct api {
    api_config cfg;
    uv_loop_t *loop;
    const store_backend *sb;
    store *st;
    domain *d;
    throttle auth_throttle; /* failed logins by username */
    throttle addr_throttle; /* failed logins by client address */
    hashq *hashes;
    double reg_tokens; /* /register token bucket */
    uint64_t reg_refill_ms;
    uint64_t started_ms;
    char dummy_hash[PASSWORD_HASH_LEN]; /* verify against it for unknown users */
};

typedef struct api_call {
    hashq_job job; /* first: the hash queue hands it back */
    api *a;
    conn *c;
    store_op op;
    char username[33];
    char password[PASSWORD_MAX_LEN + 1];
    size_t password_len;
    char hash[PASSWORD_HASH_LEN];
    int ok;
    int64_t created_ms;
} api_call;

/* The /register bucket holds two seconds' worth (at least one). */
static double reg_burst(const api_config *cfg) {
    double b = cfg->register_per_sec * 2;
    return b < 1 ? 1 : b;
}

static unsigned addr_failures(const api_config *cfg) {
    return cfg->auth_fail_per_addr ? cfg->auth_fail_per_addr : 30;
}

/* One address may fill a quarter of the queue: the rest stays for others. */
static void hash_caps(const api_config *cfg, size_t *cap, size_t *per_addr) {
    *cap = cfg->max_hash_queue ? cfg->max_hash_queue : 64;
    *per_addr = *cap / 4 ? *cap / 4 : 1;
}

api *api_new(const api_config *cfg, uv_loop_t *loop, const store_backend *sb, store *st,
             domain *d) {
    api *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->cfg = *cfg;
    a->loop = loop;
    a->sb = sb;
    a->st = st;
    a->d = d;
    a->started_ms = clock_mono_ms();
    throttle_init(&a->auth_throttle, 10, 60000);
    throttle_init(&a->addr_throttle, addr_failures(cfg), 60000);
    size_t qcap, per_addr;
    hash_caps(cfg, &qcap, &per_addr);
    a->hashes = hashq_new(loop, cfg->hash_workers ? cfg->hash_workers : 2, qcap, per_addr);
    a->reg_tokens = reg_burst(cfg);
    a->reg_refill_ms = a->started_ms;
    if (password_hash(&cfg->pw, "chatd-dummy-password", 20, a->dummy_hash) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void api_free(api *a) {
    if (!a) return;
    hashq_free(a->hashes);
    throttle_free(&a->auth_throttle);
    throttle_free(&a->addr_throttle);
    free(a);
}

void api_set_limits(api *a, const api_config *cfg) {
    a->cfg.token_ttl_s = cfg->token_ttl_s;
    a->cfg.max_hash_queue = cfg->max_hash_queue;
    a->cfg.register_per_sec = cfg->register_per_sec;
    a->cfg.auth_fail_per_addr = cfg->auth_fail_per_addr;
    a->cfg.trust_proxy = cfg->trust_proxy;
    a->addr_throttle.max_failures = addr_failures(cfg);
    size_t qcap, per_addr;
    hash_caps(cfg, &qcap, &per_addr);
    hashq_set_limits(a->hashes, qcap, per_addr);
}

void api_tick(api *a) {
    throttle_prune(&a->auth_throttle, clock_mono_ms());
    throttle_prune(&a->addr_throttle, clock_mono_ms());
}

static void respond_json(conn *c, int status, json_t *body) {
    ops_respond_json(c, status, body);
}

static void respond_error(conn *c, int status, const char *code, const char *msg) {
    respond_json(c, status, json_pack("{s:s,s:s}", "error", msg, "code", code));
}

/* 429/503 with Retry-After: when to come back, in seconds. */
static void respond_retry(conn *c, int status, const char *code, const char *msg, int after_s) {
    json_t *body = json_pack("{s:s,s:s}", "error", msg, "code", code);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char hdr[48];
    snprintf(hdr, sizeof(hdr), "Retry-After: %d\r\n", after_s);
    http_response r = {status, "application/json", hdr, s, strlen(s)};
    metrics_http(status);
    conn_http_send(c, &r);
    free(s);
}

/* The client's address: the peer, or behind a trusted proxy the last
 * X-Forwarded-For entry (the one the proxy itself added). */
static void client_addr(const api *a, conn *c, const http_req *req, char out[64]) {
    const char *xff = req->x_forwarded_for;
    if (a->cfg.trust_proxy && xff[0]) {
        const char *last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ' || *last == '\t')
            last++;
        size_t n = strcspn(last, " \t");
        if (n > 63) n = 63;
        memcpy(out, last, n);
        out[n] = '\0';
        if (n) return;
    }
    snprintf(out, 64, "%s", conn_peer(c));
}

/* Answers 503/429 for a hash the queue would not take. */
static void respond_busy(conn *c, int rc) {
    if (rc == HASHQ_EADDR)
        respond_retry(c, 429, "rate_limited",
                      "too many logins in progress from your address; retry shortly", 1);
    else
        respond_retry(c, 503, "unavailable", "the server is busy checking passwords; retry shortly",
                      1);
}

static void call_free(api_call *k) {
    sodium_memzero(k->password, sizeof(k->password));
    store_op_clear(&k->op);
    conn_unref(k->c);
    free(k);
}

/* Parses {"username","password"}; answers 400 and returns NULL when bad. */
static api_call *parse_credentials(api *a, conn *c, http_req *req) {
    json_error_t jerr;
    json_t *root = req->body ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    const char *msg = NULL;
    json_t *u = root ? json_object_get(root, "username") : NULL;
    json_t *p = root ? json_object_get(root, "password") : NULL;
    if (!root || !json_is_object(root))
        msg = "the body must be a JSON object";
    else if (!json_is_string(u))
        msg = "username must be a string";
    else if (!json_is_string(p))
        msg = "password must be a string";
    else if (!proto_valid_username(json_string_value(u), json_string_length(u)))
        msg = "username must be 1-32 characters of A-Z, a-z, 0-9, '_', '.' or '-'";
    else if (json_string_length(p) > PASSWORD_MAX_LEN)
        msg = "password must be at most 128 bytes";
    if (msg) {
        json_decref(root);
        respond_error(c, 400, "invalid_field", msg);
        return NULL;
    }
    api_call *k = xcalloc(1, sizeof(*k));
    k->a = a;
    k->c = c;
    conn_ref(c);
    snprintf(k->username, sizeof(k->username), "%s", json_string_value(u));
    k->password_len = json_string_length(p);
    memcpy(k->password, json_string_value(p), k->password_len);
    client_addr(a, c, req, k->job.addr);
    explicit_bzero((char *)json_string_value(p), k->password_len); /* jansson's copy */
    json_decref(root);
    return k;
}

/* ---- POST /register ---- */

static void register_stored(store_op *op) {
    api_call *k = op->data;
    if (op->status == STORE_OK) {
        if (k->a->d) domain_user_added(k->a->d, k->username);
        char at[25];
        enc_iso_time(k->created_ms, at);
        log_event(LOG_INFO, LOG_FIELDS(LOG_STR("user", k->username), LOG_STR("addr", k->job.addr)),
                  "registered user");
        respond_json(k->c, 201,
                     json_pack("{s:s,s:s,s:s}", "user_id", k->username, "username", k->username,
                               "created_at", at));
    } else if (op->status == STORE_EEXIST) {
        respond_error(k->c, 409, "conflict", "that username is taken");
    } else {
        respond_error(k->c, 503, "unavailable", "storage is unavailable; retry shortly");
    }
    call_free(k);
}

static void hash_work(hashq_job *job) {
    api_call *k = (api_call *)job;
    k->ok = password_hash(&k->a->cfg.pw, k->password, k->password_len, k->hash) == 0;
}

static void hash_done(hashq_job *job, int status) {
    api_call *k = (api_call *)job;
    if (status == HASHQ_ECLOSED) {
        respond_error(k->c, 503, "unavailable", "the server is shutting down; retry shortly");
        call_free(k);
        return;
    }
    if (!k->ok) {
        respond_error(k->c, 500, "internal", "could not hash the password");
        call_free(k);
        return;
    }
    k->created_ms = clock_now_ms();
    k->op.kind = STORE_USER_CREATE;
    k->op.done = register_stored;
    k->op.data = k;
    k->op.u.user_create.username = k->username;
    k->op.u.user_create.pw_hash = k->hash;
    k->op.u.user_create.created_ms = k->created_ms;
    k->a->sb->submit(k->a->st, &k->op);
}

static void handle_register(api *a, conn *c, http_req *req) {
    api_call *k = parse_credentials(a, c, req);
    if (!k) return;
    const char *why = NULL;
    if (!password_rule(k->password, k->password_len, &why)) {
        respond_error(c, 400, "invalid_field", why ? why : "invalid password");
        call_free(k);
        return;
    }
    if (a->d && domain_user_exists(a->d, k->username)) {
        respond_error(c, 409, "conflict", "that username is taken");
        call_free(k);
        return;
    }
    /* Accounts are cheap to ask for and costly to make: a global rate. */
    uint64_t now = clock_mono_ms();
    a->reg_tokens += (double)(now - a->reg_refill_ms) * a->cfg.register_per_sec / 1000.0;
    if (a->reg_tokens > reg_burst(&a->cfg)) a->reg_tokens = reg_burst(&a->cfg);
    a->reg_refill_ms = now;
    if (a->reg_tokens < 1.0) {
        respond_retry(c, 429, "rate_limited", "too many new accounts right now; retry shortly", 1);
        call_free(k);
        return;
    }
    k->job.run = hash_work;
    k->job.done = hash_done;
    int rc = hashq_submit(a->hashes, &k->job);
    if (rc != 0) {
        respond_busy(c, rc);
        call_free(k);
        return;
    }
    a->reg_tokens -= 1.0;
}

/* ---- POST /auth ---- */

/* One entry of /auth's "servers": the port as a string (compat), "tls"
 * only when the server speaks wss:// (ext). */
static json_t *server_json(const api_instance *in) {
    char port[16];
    snprintf(port, sizeof(port), "%d", in->port);
    json_t *o =
        json_pack("{s:s,s:s,s:I}", "host", in->host, "port", port, "id", (json_int_t)in->id);
    if (in->tls) json_object_set_new(o, "tls", json_true());
    return o;
}

static void verify_work(hashq_job *job) {
    api_call *k = (api_call *)job;
    const char *hash = k->hash[0] ? k->hash : k->a->dummy_hash;
    k->ok = password_verify(hash, k->password, k->password_len) == 0 && k->hash[0];
}

static void verify_done(hashq_job *job, int status) {
    api_call *k = (api_call *)job;
    api *a = k->a;
    if (status == HASHQ_ECLOSED) {
        respond_error(k->c, 503, "unavailable", "the server is shutting down; retry shortly");
        call_free(k);
        return;
    }
    if (!k->ok) { /* the attempt was counted when it began */
        log_event(LOG_INFO, LOG_FIELDS(LOG_STR("user", k->username), LOG_STR("addr", k->job.addr)),
                  "login failed");
        respond_error(k->c, 401, "unauthorized", "Invalid credentials");
        call_free(k);
        return;
    }
    throttle_success(&a->auth_throttle, k->username);
    log_event(LOG_DEBUG, LOG_FIELDS(LOG_STR("user", k->username), LOG_STR("addr", k->job.addr)),
              "login");
    throttle_forgive(&a->addr_throttle, k->job.addr, clock_mono_ms());
    api_instance chat, pres;
    if (!a->cfg.pick || a->cfg.pick(a->cfg.pick_data, &chat, &pres) != 0) {
        respond_error(k->c, 503, "unavailable", "No available servers");
        call_free(k);
        return;
    }
    char *token = NULL;
    if (keyring_issue(a->cfg.keys, k->username, clock_now_ms() / 1000, a->cfg.token_ttl_s,
                      &token) != 0) {
        respond_error(k->c, 500, "internal", "could not issue a token");
        call_free(k);
        return;
    }
    json_t *servers =
        json_pack("{s:o,s:o}", "chat", server_json(&chat), "presence", server_json(&pres));
    respond_json(k->c, 200, json_pack("{s:s,s:o}", "sessionToken", token, "servers", servers));
    sodium_memzero(token, strlen(token));
    free(token);
    call_free(k);
}

static void auth_loaded(store_op *op) {
    api_call *k = op->data;
    if (op->status == STORE_OK && op->u.user_get.pw_hash)
        snprintf(k->hash, sizeof(k->hash), "%s", op->u.user_get.pw_hash);
    else if (op->status != STORE_ENOTFOUND) {
        respond_error(k->c, 503, "unavailable", "storage is unavailable; retry shortly");
        call_free(k);
        return;
    }
    /* Unknown users are checked against a dummy hash: same time, same answer. */
    k->job.run = verify_work;
    k->job.done = verify_done;
    int rc = hashq_submit(k->a->hashes, &k->job);
    if (rc != 0) {
        respond_busy(k->c, rc);
        call_free(k);
    }
}

static void handle_auth(api *a, conn *c, http_req *req) {
    api_call *k = parse_credentials(a, c, req);
    if (!k) return;
    uint64_t now = clock_mono_ms();
    if (throttle_blocked(&a->auth_throttle, k->username, now)) {
        respond_retry(c, 429, "rate_limited",
                      "too many failed attempts for this username; try again in a minute", 60);
        call_free(k);
        return;
    }
    /* Unknown usernames cost a hash too: a budget per client address. */
    if (throttle_blocked(&a->addr_throttle, k->job.addr, now)) {
        respond_retry(c, 429, "rate_limited",
                      "too many failed logins from your address; try again in a minute", 60);
        call_free(k);
        return;
    }
    /* Count the attempt as failed until it succeeds, so that many concurrent
     * guesses cannot all slip past the check while their hashes run. */
    throttle_failure(&a->auth_throttle, k->username, now);
    throttle_failure(&a->addr_throttle, k->job.addr, now);
    k->op.kind = STORE_USER_GET;
    k->op.done = auth_loaded;
    k->op.data = k;
    k->op.u.user_get.username = k->username;
    a->sb->submit(a->st, &k->op);
}

void api_handle(api *a, conn *c, http_req *req) {
    size_t plen = http_path_len(req->url ? req->url : "/");
    const char *url = req->url ? req->url : "/";
#define ROUTE(p) (plen == sizeof(p) - 1 && !memcmp(url, p, plen))
    /* With an admin port, /metrics and /ready are served there only. */
    int ops = !a->cfg.ops_elsewhere && (ROUTE("/metrics") || (ROUTE("/ready") && a->cfg.ready));
    int known = ROUTE("/auth") || ROUTE("/register") || ROUTE("/health") || ops;
    /* The browser client, where it can log in (its /auth is same-origin). */
    if (!known && a->st && web_handle(&a->cfg.web, c, req)) return;
    if (!known) {
        respond_error(c, 404, "not_found", "no such endpoint");
    } else if (!a->st && (ROUTE("/auth") || ROUTE("/register"))) {
        respond_error(c, 404, "not_found",
                      "this server does not serve accounts: use the API server");
    } else if (ROUTE("/auth") && req->method == HTTP_POST) {
        handle_auth(a, c, req);
    } else if (ROUTE("/register") && req->method == HTTP_POST) {
        handle_register(a, c, req);
    } else if (ROUTE("/health") && req->method == HTTP_GET) {
        ops_health(c, a->cfg.role, a->started_ms);
    } else if (ROUTE("/metrics") && req->method == HTTP_GET) {
        ops_metrics(c);
    } else if (ROUTE("/ready") && req->method == HTTP_GET) {
        ready_handle(a->cfg.ready, c);
    } else {
        respond_error(c, 405, "method_not_allowed", "method not allowed for this endpoint");
    }
#undef ROUTE
}
