/*
 * app: start-up and shutdown shared by every role (see app.h). Each open
 * step logs a clear reason when it fails; app_fail() then releases
 * whatever was opened, in reverse order.
 */
#include "roles/app.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "auth/secret.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "proto/request.h"
#include "core/log.h"
#include "net/ws.h"

void app__server_handlers(app *a, server_handlers *h); /* app_ws.c */

void app_init(app *a, const chatd_config *cfg, const char *role) {
    memset(a, 0, sizeof(*a));
    metrics_error_names(proto_code_names, PROTO_CODE_COUNT);
    a->cfg = cfg;
    a->role = role;
    a->loop = uv_default_loop();
    a->node_id = cfg->node_id;
}

int app_load_secret(app *a, int allow_generate) {
    if (allow_generate && mkdir(a->cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        log_error("cannot create data directory %s: %s", a->cfg->data_dir, strerror(errno));
        return -1;
    }
    char err[512] = "";
    int r = secret_load(a->cfg->secrets_dir, allow_generate ? a->cfg->data_dir : NULL,
                        allow_generate, &a->key, &a->key_len, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return -1;
    }
    if (r == 1) log_info("generated a new JWT secret in %s", err);
    return 0;
}

int app_open_store(app *a, int pg) {
    char path[4096];
    store_config scfg = {path, a->cfg->fsync, 1024};
    char *conninfo = NULL;
    if (pg) {
        if (!a->cfg->pg) {
            log_error("the %s role needs --pg CONNINFO (PostgreSQL)", a->role);
            return -1;
        }
        if (!(conninfo = backends_pg_conninfo(a->cfg))) return -1;
        scfg.path = conninfo;
        a->sb = &store_pg_backend;
    } else {
        snprintf(path, sizeof(path), "%s/chatd.db", a->cfg->data_dir);
        a->sb = &store_sqlite_backend;
    }
    int r = a->sb->open(&a->st, &scfg, a->loop);
    free(conninfo); /* holds the password: gone as soon as possible */
    if (r != 0) {
        log_error("cannot open the %s store%s%s", a->sb->name, pg ? "" : " at ", pg ? "" : path);
        a->st = NULL;
        return -1;
    }
    return 0;
}

static void share_put(void *ctx, const char *user, proto_status status, int64_t seen_ms) {
    usermap_presence_put(ctx, user, status, seen_ms);
}

static int share_get(void *ctx, const char *const *users, size_t n, domain_presence_cb cb,
                     void *data) {
    return usermap_presence_get(ctx, users, n, cb, data);
}

int app_open_domain(app *a, int cluster) {
    const chatd_config *cfg = a->cfg;
    domain_config dcfg;
    domain_config_default(&dcfg);
    dcfg.rate_per_sec = cfg->rate_per_sec;
    dcfg.rate_burst = cfg->rate_burst;
    dcfg.abuse_close_ms = cfg->abuse_close_ms;
    dcfg.presence_timeout_ms = cfg->presence_timeout_ms;
    dcfg.node_id = a->node_id;
    dcfg.limits.max_content = cfg->max_content;
    dcfg.max_channels_per_user = cfg->max_channels_per_user;
    dcfg.cache_ttl_ms = cfg->cache_ttl_ms;
    dcfg.big_channel = cfg->big_channel;
    dcfg.cluster = cluster;
    a->dom = domain_new(&dcfg, a->sb, a->st);
    if (!a->dom) {
        log_error("cannot load users and channels from the store");
        return -1;
    }
    if (cluster && a->um) { /* presence is shared through Redis */
        presence_share ps = {a->um, share_put, share_get};
        domain_attach_presence(a->dom, &ps);
    }
    return 0;
}

int app_open_bus(app *a, int cluster) {
    bus_config bc = {.server_id = a->node_id};
    if (!cluster) {
        a->bb = &bus_local_backend;
    } else {
        if (backends_load(&a->be, a->cfg, a->role, BACKENDS_BUS) != 0) return -1;
        bc.key = a->be.key;
        bc.redis = &a->be.redis;
        bc.kafka = &a->be.kafka;
        a->bb = a->be.bus_redis ? &bus_redis_backend : &bus_kafka_backend;
    }
    bus_handler bh = {a->dom, domain_deliver, domain_event};
    if (a->bb->open(&a->bus, a->loop, &bc, &bh) != 0) {
        log_error("cannot open the %s bus", a->bb->name);
        a->bus = NULL;
        return -1;
    }
    domain_attach_bus(a->dom, a->bb, a->bus);
    return 0;
}

int app_open_cluster(app *a, int need_redis, int need_zookeeper) {
    unsigned need = (need_redis ? BACKENDS_REDIS : 0) | (need_zookeeper ? BACKENDS_ZOOKEEPER : 0);
    if (backends_load(&a->be, a->cfg, a->role, need) != 0) return -1;
    if (need_redis && usermap_open(&a->um, a->loop, &a->be.redis) != 0) {
        log_error("cannot reach Redis at %s", a->cfg->redis);
        return -1;
    }
    if (need_zookeeper) {
        a->dsb = &discovery_zookeeper_backend;
        if (a->dsb->open(&a->disc, &a->be.zk, a->loop) != 0) {
            log_error("cannot reach ZooKeeper at %s", a->cfg->zookeeper);
            a->disc = NULL;
            return -1;
        }
    }
    return 0;
}

int app_pick_self(void *data, api_instance *chat, api_instance *pres) {
    app *a = data;
    snprintf(chat->host, sizeof(chat->host), "%s", a->cfg->advertise);
    chat->port = a->srv.port;
    chat->id = a->node_id;
    *pres = *chat;
    return 0;
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

int app_serve(app *a, int endpoints, int (*pick)(void *, api_instance *, api_instance *)) {
    const chatd_config *cfg = a->cfg;
    api_config acfg = {.jwt_key = a->key, .jwt_key_len = a->key_len,
                       .token_ttl_s = cfg->token_ttl_s, .role = a->role, .pick = pick,
                       .pick_data = a, .web = {cfg->web_root, cfg->no_web}};
    password_params_default(&acfg.pw);
    acfg.hash_workers = 2;
    acfg.max_hash_queue = cfg->max_hash_queue;
    acfg.register_per_sec = cfg->register_per_sec;
    acfg.auth_fail_per_addr = cfg->auth_fail_per_addr;
    acfg.trust_proxy = cfg->trust_proxy;
    if (cfg->argon2_min) {
        acfg.pw.opslimit = 1; /* crypto_pwhash_OPSLIMIT_MIN */
        acfg.pw.memlimit = 8192;
    }
    a->api = api_new(&acfg, a->loop, a->sb, a->st, a->dom);
    if (!a->api) return -1;
    a->endpoints = endpoints;
    server_handlers h;
    app__server_handlers(a, &h);
    server_limits lim;
    server_limits_default(&lim);
    lim.max_message = cfg->max_frame;
    lim.max_queued = cfg->max_queued_bytes;
    if (lim.read_pause > lim.max_queued / 2) lim.read_pause = lim.max_queued / 2;
    lim.max_pending_per_addr = cfg->max_pending_per_addr;
    lim.handshake_ms = cfg->handshake_timeout_ms;
    lim.ping_ms = cfg->ping_interval_ms;
    lim.max_connections = cfg->max_connections;
    if (!lim.max_connections) { /* what the descriptors allow, less room for the engines */
        struct rlimit rl;
        lim.max_connections = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 200
                                  ? (size_t)rl.rlim_cur - 100
                                  : 1000;
        if (lim.max_connections > 1000000) lim.max_connections = 1000000;
    }
    int rc = server_start(&a->srv, a->loop, cfg->host, cfg->port, &h, &lim);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", cfg->host, cfg->port, uv_strerror(rc));
        return -1;
    }
    a->serving = 1;
    if (cfg->port_file && write_port_file(cfg->port_file, a->srv.port) != 0) {
        log_error("cannot write %s: %s", cfg->port_file, strerror(errno));
        return -1;
    }
    log_info("chatd %s listening on http://%s:%d", a->role, cfg->host, a->srv.port);
    return 0;
}

/* ---- running and stopping ---- */

static void on_tick(uv_timer_t *t) {
    app *a = t->data;
    if (!a->stopping) {
        if (a->dom) domain_tick(a->dom);
        if (a->api) api_tick(a->api);
        if (a->on_tick) a->on_tick(a);
        return;
    }
    if (!a->serving || a->srv.nall == 0 || clock_mono_ms() >= a->stop_deadline) uv_stop(a->loop);
}

static void on_signal(uv_signal_t *s, int signum) {
    app *a = s->data;
    if (a->stopping) return;
    a->stopping = 1;
    log_info("signal %d: shutting down (closing connections with 1001)", signum);
    if (a->serving) {
        server_stop_accepting(&a->srv);
        server_close_all(&a->srv, WS_CLOSE_GOING_AWAY, "server shutting down");
    }
    a->stop_deadline = clock_mono_ms() + 3000;
    uv_timer_start(&a->tick, on_tick, 20, 20);
}

static void close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int app_fail(app *a) {
    if (a->serving) server_abort_all(&a->srv);
    if (a->on_stop) a->on_stop(a);
    if (a->st) a->sb->close(a->st); /* commits, runs the remaining done() callbacks */
    a->st = NULL;
    if (a->bus) a->bb->close(a->bus);
    a->bus = NULL;
    if (a->um) usermap_close(a->um);
    a->um = NULL;
    if (a->disc) a->dsb->close(a->disc); /* our ephemeral znodes go with the session */
    a->disc = NULL;
    uv_walk(a->loop, close_walk, NULL);
    uv_run(a->loop, UV_RUN_DEFAULT);
    backends_free(&a->be); /* after the bus and the dispatcher have released theirs */
    if (a->serving || a->srv.loop) server_free(&a->srv);
    api_free(a->api);
    domain_free(a->dom);
    free(a->key);
    uv_loop_close(a->loop);
    return 1;
}

static void on_turn_end(uv_check_t *h) {
    app *a = h->data;
    if (a->dom) domain_flush(a->dom);
}

int app_run(app *a) {
    uv_signal_init(a->loop, &a->sigint);
    uv_signal_init(a->loop, &a->sigterm);
    a->sigint.data = a->sigterm.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_timer_init(a->loop, &a->tick);
    a->tick.data = a;
    uv_timer_start(&a->tick, on_tick, 1000, 1000);
    uv_check_init(a->loop, &a->turn_end);
    a->turn_end.data = a;
    uv_check_start(&a->turn_end, on_turn_end);
    signal(SIGPIPE, SIG_IGN);

    uv_run(a->loop, UV_RUN_DEFAULT);

    app_fail(a); /* the same orderly release, now after a clean stop */
    log_info("chatd %s stopped", a->role);
    return 0;
}
