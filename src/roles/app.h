/*
 * app: what every role of the chatd binary shares — secrets, the store, the
 * domain, the bus, the listening server and its WebSocket sessions, the
 * cluster clients, and the run loop with its graceful shutdown (stop
 * accepting, close WebSockets with 1001, let the store commit what it has,
 * exit 0). A role file (all.c, api.c, chat.c, dispatcher.c) only chooses
 * which of these it opens.
 *
 * Operations (src/ops): /ready probes what the role opened; --admin-port
 * starts the admin listener; SIGHUP reloads (app_reload.c: the
 * configuration's reloadable options and the JWT secrets), disconnecting
 * nobody.
 */
#ifndef CHATD_APP_H
#define CHATD_APP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "api/api.h"
#include "auth/keyring.h"
#include "bus/bus.h"
#include "chat/domain.h"
#include "cluster/usermap.h"
#include "core/config.h"
#include "discovery/discovery.h"
#include "engine/backends.h"
#include "net/server.h"
#include "ops/admin.h"
#include "ops/ready.h"
#include "store/store.h"

/* Which WebSocket endpoints a server serves: a set of proto_endpoint. */
enum { APP_EP_CHAT = 1 << PROTO_EP_CHAT, APP_EP_PRESENCE = 1 << PROTO_EP_PRESENCE };

typedef struct app app;
struct app {
    /* main's configuration: its reloadable options change on SIGHUP (loop
     * thread, app_reload), the others never */
    const chatd_config *cfg;
    const char *role;
    uv_loop_t *loop;
    unsigned node_id;
    keyring *keys; /* JWT keys (current + previous) */
    uint64_t started_ms;

    const store_backend *sb;
    store *st;
    domain *dom;
    const bus_backend *bb;
    bus *bus;
    api *api;
    backends be;                  /* cluster: engine settings and secrets (engine/backends.h) */
    usermap *um;                  /* cluster: Redis user -> chat servers */
    const discovery_backend *dsb; /* cluster: ZooKeeper */
    discovery *disc;

    server srv;
    int serving;      /* server_start succeeded */
    int endpoints;    /* APP_EP_* served by the server */
    ready *ready;     /* /ready probes */
    char *ready_path; /* the SQLite database they probe (owned) */
    admin *admin;     /* --admin-port listener, or NULL */
    tls_ctx *tls;     /* --tls-cert: the public port's TLS context, or NULL */

    void (*on_tick)(app *a); /* the role's periodic work (1 s), may be NULL */
    void (*on_stop)(app *a); /* the role's own clean-up, before the store closes */
    void *role_data;

    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t tick;
    uv_check_t turn_end; /* the domain's end-of-turn work (domain_flush) */
    int stopping;
    uint64_t stop_deadline;
};

/* Fills a for cfg (the default loop). */
void app_init(app *a, const chatd_config *cfg, const char *role);
/* Loads the JWT keys; allow_generate only in the embedded shape. 0 or -1. */
int app_load_secret(app *a, int allow_generate);
/* Opens SQLite in the data dir (pg = 0) or PostgreSQL from --pg (pg = 1). */
int app_open_store(app *a, int pg);
/* Opens the domain on the store; cluster = the model is a cache. */
int app_open_domain(app *a, int cluster);
/* Opens the bus (local, or --bus kafka|redis for this node id, sealed with
 * the cluster secret) for the domain. */
int app_open_bus(app *a, int cluster);
/* Opens the cluster clients named by the flags (--redis, --zookeeper),
 * with their secret files (engine/backends.h). */
int app_open_cluster(app *a, int need_redis, int need_zookeeper);
/* Opens the HTTP API and starts listening (and the admin listener with
 * --admin-port); endpoints: APP_EP_* WebSockets. pick answers /auth's
 * choice of servers. */
int app_serve(app *a, int endpoints, int (*pick)(void *, api_instance *, api_instance *));
/* Runs until SIGINT/SIGTERM (SIGHUP: app_reload), shuts down, frees
 * everything; the exit code. */
int app_run(app *a);
/* Frees whatever was opened (also after a failed start); returns 1. */
int app_fail(app *a);

/* SIGHUP (app_reload.c), in this order: (1) the configuration again (flags
 * > environment > file); a bad file is logged and changes nothing;
 * (2) the reloadable options into the running modules (app_apply_limits),
 * the others logged as needing a restart; (3) the JWT keys. Later steps
 * join the list (TLS: the certificate). Nobody is disconnected. */
void app_reload(app *a);
/* Pushes the reloadable options of a->cfg into the log, the domain, the
 * API and the listening server (also what the open steps start from). */
void app_apply_limits(app *a);
/* The domain's, the API's and the server's settings from a->cfg. */
void app__domain_config(const app *a, domain_config *dcfg);
void app__api_config(const app *a, api_config *acfg);
void app__server_limits(const app *a, server_limits *lim);

/* /auth in the embedded shape: this process for both services. */
int app_pick_self(void *data, api_instance *chat, api_instance *presence);

#endif
