/*
 * all: the embedded shape. Wires the server (sockets), the api (HTTP), the
 * domain (chat + presence) and the SQLite store together, and runs the
 * loop until a signal asks for a graceful shutdown: stop accepting, close
 * every WebSocket with 1001, let the store commit what it has, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "auth/secret.h"
#include "auth/token.h"
#include "chat/domain.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/server.h"
#include "net/ws.h"
#include "roles/roles.h"

typedef struct app {
    const chatd_config *cfg;
    uv_loop_t *loop;
    server srv;
    api *api;
    domain *dom;
    const store_backend *sb;
    store *st;
    const bus_backend *bb;
    bus *bus;
    uint8_t *key;
    size_t key_len;
    uv_signal_t sigint, sigterm;
    uv_timer_t tick;
    int stopping;
    uint64_t stop_deadline;
} app;

/* A WebSocket's session: the domain's view plus the connection it rides. */
typedef struct ws_session {
    session s;
    conn *c;
    unsigned refs;
} ws_session;

static void sess_send(session *s, rcbuf *f) { conn_send(((ws_session *)s)->c, f); }
static void sess_close(session *s, uint16_t code, const char *reason) {
    conn_close_ws(((ws_session *)s)->c, code, reason);
}
static void sess_hold(session *s) { ((ws_session *)s)->refs++; }
static void sess_release(session *s) {
    ws_session *w = (ws_session *)s;
    if (--w->refs) return;
    conn_unref(w->c);
    free(w);
}
static const session_io sess_io = {sess_send, sess_close, sess_hold, sess_release};

/* ---- server callbacks ---- */

enum { EP_CHAT, EP_PRESENCE };

static void on_http(void *data, conn *c, http_req *req) { api_handle(((app *)data)->api, c, req); }

static void on_ws_upgrade(void *data, conn *c, http_req *req) {
    app *a = data;
    const char *url = req->url ? req->url : "/";
    size_t plen = http_path_len(url);
    int ep = plen == 5 && !memcmp(url, "/chat", 5)           ? EP_CHAT
             : plen == 9 && !memcmp(url, "/presence", 9) ? EP_PRESENCE
                                                          : -1;
    if (ep < 0) {
        conn_http_error(c, 404, "not_found", "no WebSocket endpoint here: use /chat or /presence");
        return;
    }
    if (strcmp(req->ws_version, "13") != 0 || !req->ws_key[0]) {
        conn_http_error(c, 400, "invalid_request", "unsupported WebSocket handshake (need version 13)");
        return;
    }
    char token[2048];
    int have = http_query_param(url, "token", token, sizeof(token)) > 0;
    if (!have && !strncasecmp(req->authorization, "Bearer ", 7)) {
        snprintf(token, sizeof(token), "%s", req->authorization + 7);
        have = token[0] != '\0';
    }
    char user[TOKEN_USERNAME_MAX + 1] = "";
    int rc = have ? token_verify(a->key, a->key_len, token, clock_now_ms() / 1000, user,
                                 sizeof(user))
                  : TOKEN_EMISSING;
    if (rc == 0 && !domain_user_exists(a->dom, user)) rc = TOKEN_EINVALID;
    if (rc == 0) {
        ws_session *w = calloc(1, sizeof(*w));
        if (!w) abort();
        w->s.io = &sess_io;
        w->c = c;
        w->refs = 1;
        conn_ref(c);
        c->user = w;
        conn_ws_accept(c, ep);
        if (c->user == w && c->state == CONN_WS) domain_session_open(a->dom, &w->s, user, ep);
        return;
    }
    /* PROTOCOL: complete the upgrade, then close with the auth code. */
    conn_ws_accept(c, ep);
    int missing = rc == TOKEN_EMISSING;
    uint16_t code = ep == EP_CHAT ? WS_CLOSE_AUTH
                    : missing     ? WS_CLOSE_PRESENCE_NOTOKEN
                                  : WS_CLOSE_PRESENCE_BADTOKEN;
    conn_close_ws(c, code, missing ? "No authentication token provided" : "Authentication failed");
}

static void on_ws_open(void *data, conn *c) { (void)data, (void)c; }

static void on_ws_message(void *data, conn *c, const char *payload, size_t len) {
    if (c->user) domain_session_message(((app *)data)->dom, c->user, payload, len);
}

static void on_ws_activity(void *data, conn *c) {
    if (c->user) domain_session_activity(((app *)data)->dom, c->user);
}

static void on_ws_closed(void *data, conn *c) {
    ws_session *w = c->user;
    if (!w) return;
    c->user = NULL;
    domain_session_closed(((app *)data)->dom, &w->s);
    sess_release(&w->s);
}

/* ---- /auth's choice of servers: in the embedded shape, ourselves ---- */

static int pick_self(void *data, api_instance *chat, api_instance *pres) {
    app *a = data;
    snprintf(chat->host, sizeof(chat->host), "%s", a->cfg->advertise);
    chat->port = a->srv.port;
    chat->id = a->cfg->node_id;
    *pres = *chat;
    return 0;
}

/* ---- lifecycle ---- */

static void on_tick(uv_timer_t *t) {
    app *a = t->data;
    if (!a->stopping) {
        domain_tick(a->dom);
        api_tick(a->api);
        return;
    }
    if (a->srv.nall == 0 || clock_mono_ms() >= a->stop_deadline) uv_stop(a->loop);
}

static void on_signal(uv_signal_t *s, int signum) {
    app *a = s->data;
    if (a->stopping) return;
    a->stopping = 1;
    log_info("signal %d: shutting down (closing connections with 1001)", signum);
    server_stop_accepting(&a->srv);
    server_close_all(&a->srv, WS_CLOSE_GOING_AWAY, "server shutting down");
    a->stop_deadline = clock_mono_ms() + 3000;
    uv_timer_start(&a->tick, on_tick, 20, 20);
}

static int write_port_file(const char *path, int port) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0) return -1;
    return rename(tmp, path);
}

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int role_all_run(const chatd_config *cfg) {
    app a;
    memset(&a, 0, sizeof(a));
    a.cfg = cfg;
    a.loop = uv_default_loop();
    int exit_code = 1;

    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        log_error("cannot create data directory %s: %s", cfg->data_dir, strerror(errno));
        return 1;
    }
    char err[512] = "";
    int sr = secret_load(cfg->secrets_dir, cfg->data_dir, 1, &a.key, &a.key_len, err, sizeof(err));
    if (sr < 0) {
        log_error("%s", err);
        return 1;
    }
    if (sr == 1) log_info("generated a new JWT secret in %s", err);

    char dbpath[4096];
    snprintf(dbpath, sizeof(dbpath), "%s/chatd.db", cfg->data_dir);
    store_config scfg = {dbpath, cfg->fsync, 1024};
    a.sb = &store_sqlite_backend;
    if (a.sb->open(&a.st, &scfg, a.loop) != 0) {
        log_error("cannot open the database %s", dbpath);
        goto out;
    }

    domain_config dcfg;
    domain_config_default(&dcfg);
    dcfg.rate_per_sec = cfg->rate_per_sec;
    dcfg.rate_burst = cfg->rate_burst;
    dcfg.abuse_close_ms = cfg->abuse_close_ms;
    dcfg.presence_timeout_ms = cfg->presence_timeout_ms;
    dcfg.node_id = cfg->node_id;
    dcfg.limits.max_content = cfg->max_content;
    a.dom = domain_new(&dcfg, a.sb, a.st);
    if (!a.dom) {
        log_error("cannot load state from %s", dbpath);
        goto out;
    }
    a.bb = &bus_local_backend;
    bus_handler bh = {a.dom, domain_deliver, NULL};
    if (a.bb->open(&a.bus, a.loop, NULL, &bh) != 0) goto out;
    domain_attach_bus(a.dom, a.bb, a.bus);

    api_config acfg = {.jwt_key = a.key, .jwt_key_len = a.key_len, .token_ttl_s = cfg->token_ttl_s,
                       .role = "all", .pick = pick_self, .pick_data = &a};
    password_params_default(&acfg.pw);
    if (cfg->argon2_min) {
        acfg.pw.opslimit = 1; /* crypto_pwhash_OPSLIMIT_MIN */
        acfg.pw.memlimit = 8192;
    }
    a.api = api_new(&acfg, a.loop, a.sb, a.st, a.dom);
    if (!a.api) goto out;

    server_handlers h = {&a, on_http, on_ws_upgrade, on_ws_open, on_ws_message, on_ws_activity,
                         on_ws_closed};
    server_limits lim = {cfg->max_frame, 16u << 20};
    int rc = server_start(&a.srv, a.loop, cfg->host, cfg->port, &h, &lim);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", cfg->host, cfg->port, uv_strerror(rc));
        goto out;
    }
    if (cfg->port_file && write_port_file(cfg->port_file, a.srv.port) != 0) {
        log_error("cannot write %s: %s", cfg->port_file, strerror(errno));
        goto out;
    }
    log_info("chatd listening on http://%s:%d (data in %s)", cfg->host, a.srv.port, cfg->data_dir);

    uv_signal_init(a.loop, &a.sigint);
    uv_signal_init(a.loop, &a.sigterm);
    a.sigint.data = a.sigterm.data = &a;
    uv_signal_start(&a.sigint, on_signal, SIGINT);
    uv_signal_start(&a.sigterm, on_signal, SIGTERM);
    uv_timer_init(a.loop, &a.tick);
    a.tick.data = &a;
    uv_timer_start(&a.tick, on_tick, 1000, 1000);
    signal(SIGPIPE, SIG_IGN);

    uv_run(a.loop, UV_RUN_DEFAULT);

    /* Shutdown: drop what is left, commit what the store holds. */
    server_abort_all(&a.srv);
    exit_code = 0;
out:
    if (a.st) a.sb->close(a.st); /* runs the remaining done() callbacks */
    a.st = NULL;
    uv_walk(a.loop, close_walk, NULL);
    uv_run(a.loop, UV_RUN_DEFAULT);
    server_free(&a.srv);
    if (a.bus) a.bb->close(a.bus);
    api_free(a.api);
    domain_free(a.dom);
    free(a.key);
    uv_loop_close(a.loop);
    log_info("chatd stopped");
    return exit_code;
}
