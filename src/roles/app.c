/*
 * app: start-up and shutdown shared by every role (see app.h). Each open
 * step logs a clear reason when it fails; app_fail() then releases
 * whatever was opened, in reverse order.
 */
#include "roles/app.h"
#include "core/alloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

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
    a->started_ms = clock_mono_ms();
}

int app_load_secret(app *a, int allow_generate) {
    if (allow_generate && mkdir(a->cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        log_error("cannot create data directory %s: %s", a->cfg->data_dir, strerror(errno));
        return -1;
    }
    char err[512] = "";
    int r = keyring_load(&a->keys, a->cfg->secrets_dir, allow_generate ? a->cfg->data_dir : NULL,
                         allow_generate, err, sizeof(err));
    if (r < 0) {
        log_error("%s", err);
        return -1;
    }
    if (r == 1) log_info("generated a new JWT secret in %s", err);
    if (keyring_has_previous(a->keys))
        log_info("jwt_secret.previous.txt found: tokens signed with it are accepted too");
    return 0;
}

int app_open_store(app *a, int pg) {
    char path[4096];
    store_config scfg = {.path = path, .fsync = a->cfg->fsync, .search_lag = a->cfg->search_lag};
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
    domain_config dcfg;
    app__domain_config(a, &dcfg);
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
    chat->tls = a->tls != NULL;
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

/* /ready checks what this role opened. */
static int open_ready(app *a) {
    ready_config rc = {.dsb = a->dsb, .disc = a->disc};
    char path[4096];
    if (a->st && a->sb == &store_sqlite_backend) {
        snprintf(path, sizeof(path), "%s/chatd.db", a->cfg->data_dir);
        rc.sqlite_path = xstrdup(path);
    } else if (a->st) {
        rc.pg = a->cfg;
    }
    if (a->be.loaded & BACKENDS_REDIS) rc.redis = &a->be.redis;
    if ((a->be.loaded & BACKENDS_BUS) && a->be.bus_redis) rc.bus_redis = 1;
    if ((a->be.loaded & BACKENDS_BUS) && !a->be.bus_redis) rc.kafka = &a->be.kafka;
    a->ready_path = (char *)rc.sqlite_path;
    a->ready = ready_new(a->loop, &rc);
    return a->ready ? 0 : -1;
}

static int open_admin(app *a) {
    const chatd_config *cfg = a->cfg;
    admin_config ac = {a->role, a->started_ms, a->ready};
    int rc = admin_start(&a->admin, a->loop, cfg->admin_host, cfg->admin_port, &ac);
    if (rc != 0) {
        log_error("cannot listen on %s:%d (--admin-port): %s", cfg->admin_host, cfg->admin_port,
                  uv_strerror(rc));
        return -1;
    }
    log_info("admin endpoints (/metrics, /health, /ready) on http://%s:%d", cfg->admin_host,
             admin_port(a->admin));
    return 0;
}

int app_serve(app *a, int endpoints, int (*pick)(void *, api_instance *, api_instance *)) {
    const chatd_config *cfg = a->cfg;
    if (open_ready(a) != 0) return -1;
    api_config acfg;
    app__api_config(a, &acfg);
    acfg.pick = pick;
    acfg.pick_data = a;
    acfg.hash_workers = 2;
    acfg.ready = a->ready;
    acfg.ops_elsewhere = cfg->admin_port != 0;
    a->api = api_new(&acfg, a->loop, a->sb, a->st, a->dom);
    if (!a->api) return -1;
    a->endpoints = endpoints;
    server_handlers h;
    app__server_handlers(a, &h);
    server_limits lim;
    app__server_limits(a, &lim);
    if (cfg->tls_cert) {
        char err[512];
        if (tls_ctx_server(&a->tls, cfg->tls_cert, cfg->tls_key, err, sizeof(err)) != 0) {
            log_error("%s", err);
            return -1;
        }
    }
    int rc = server_start(&a->srv, a->loop, cfg->host, cfg->port, &h, &lim);
    if (rc == 0 && a->tls) server_use_tls(&a->srv, a->tls);
    if (rc != 0) {
        log_error("cannot listen on %s:%d: %s", cfg->host, cfg->port, uv_strerror(rc));
        return -1;
    }
    a->serving = 1;
    if (cfg->admin_port && open_admin(a) != 0) return -1;
    if (cfg->port_file && write_port_file(cfg->port_file, a->srv.port) != 0) {
        log_error("cannot write %s: %s", cfg->port_file, strerror(errno));
        return -1;
    }
    log_info("chatd %s listening on %s://%s:%d", a->role, a->tls ? "https" : "http", cfg->host,
             a->srv.port);
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
    if (signum == SIGHUP) {
        if (!a->stopping) app_reload(a);
        return;
    }
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
    admin_abort(a->admin);
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
    admin_free(a->admin);
    tls_ctx_free(a->tls);
    a->tls = NULL;
    ready_free(a->ready); /* after the loop ran: no probe is in flight any more */
    free(a->ready_path);
    api_free(a->api);
    domain_free(a->dom);
    keyring_free(a->keys);
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
    uv_signal_init(a->loop, &a->sighup);
    a->sigint.data = a->sigterm.data = a->sighup.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    uv_signal_start(&a->sighup, on_signal, SIGHUP);
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
