/*
 * chat, presence: the cluster's WebSocket servers. Both run the domain as
 * a cache of PostgreSQL and meet the others through the bus (Kafka or
 * Redis Streams). A chat server serves /chat, receives its deliveries in
 * its own inbox and keeps its users in the Redis user map; a presence
 * server serves /presence. Both learn every status change from the bus's
 * presence events and drop the presence holds of servers that die (see
 * chat/presence.c). Each registers in ZooKeeper (/chat-service or
 * /presence-service) with a live connection count. The bus needs the
 * cluster secret (cluster_secret.txt): without it the role does not start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "engine/hostport.h"
#include "roles/cluster.h"
#include "roles/roles.h"

/* This instance as clients should dial it: --advertise HOST[:PORT]
 * (the listening port when it names none). 0, or -1 when malformed. */
static int self_instance(app *a, discovery_instance *self) {
    memset(self, 0, sizeof(*self));
    self->id = a->node_id;
    self->port = a->srv.port;
    self->timestamp_ms = clock_now_ms();
    self->tls = a->tls != NULL;
    if (hostport_parse(a->cfg->advertise, self->host, sizeof(self->host), &self->port, 1) != 0) {
        log_error("--advertise: '%s' is not HOST[:PORT] (IPv6 as [ADDRESS]:PORT)",
                  a->cfg->advertise);
        return -1;
    }
    return 0;
}

/* Chat and presence servers seen live at the last tick. */
static cluster_seen seen_chat, seen_presence;

static void server_gone(app *a, unsigned id) {
    log_event(LOG_INFO, LOG_FIELDS(LOG_NUM("server", id)),
              "server is gone: its users' presence is dropped");
    domain_server_gone(a->dom, id);
}

static void ws_tick(app *a) {
    int presence = a->endpoints == APP_EP_PRESENCE;
    a->dsb->update(a->disc, presence ? CLUSTER_PRESENCE_SERVICE : CLUSTER_CHAT_SERVICE,
                   domain_sessions(a->dom, presence));
    cluster_watch(a, CLUSTER_CHAT_SERVICE, &seen_chat, server_gone);
    cluster_watch(a, CLUSTER_PRESENCE_SERVICE, &seen_presence, server_gone);
}

/* endpoint: APP_EP_CHAT or APP_EP_PRESENCE. */
static int run_ws_server(const chatd_config *cfg, int endpoint) {
    const char *service = endpoint == APP_EP_CHAT ? CLUSTER_CHAT_SERVICE : CLUSTER_PRESENCE_SERVICE;
    app a;
    app_init(&a, cfg, endpoint == APP_EP_CHAT ? "chat" : "presence");
    /* Redis: the user map (only chat servers add users: it routes
     * deliveries) and the shared presence (both). */
    if (app_load_secret(&a, 0) != 0 || app_open_cluster(&a, 1, 1) != 0) return app_fail(&a);
    /* One id sequence for both kinds: ids (inboxes, Snowflake nodes) never collide. */
    if (a.dsb->alloc_node_id(a.disc, CLUSTER_CHAT_SERVICE, &a.node_id) != 0) {
        log_error("cannot allocate a node id in ZooKeeper");
        return app_fail(&a);
    }
    if (endpoint == APP_EP_CHAT) usermap_set_self(a.um, a.node_id); /* dispatchers route to it */
    if (app_open_store(&a, 1) != 0 || app_open_domain(&a, 1) != 0 || app_open_bus(&a, 1) != 0 ||
        app_serve(&a, endpoint, cluster_pick) != 0)
        return app_fail(&a);
    discovery_instance self;
    if (self_instance(&a, &self) != 0) return app_fail(&a);
    if (a.dsb->register_instance(a.disc, service, &self) != 0) {
        log_error("cannot register in ZooKeeper");
        return app_fail(&a);
    }
    log_event(LOG_INFO, LOG_FIELDS(LOG_NUM("server", self.id)), "%s server registered as %s:%d",
              a.role, self.host, self.port);
    a.on_tick = ws_tick;
    return app_run(&a);
}

int role_chat_run(const chatd_config *cfg) {
    return run_ws_server(cfg, APP_EP_CHAT);
}

int role_presence_run(const chatd_config *cfg) {
    return run_ws_server(cfg, APP_EP_PRESENCE);
}
