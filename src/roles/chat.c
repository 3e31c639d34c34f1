/*
 * chat: a cluster chat server — /chat and /presence WebSockets, the domain
 * as a cache of PostgreSQL, deliveries through the bus (Kafka or Redis
 * Streams) and its own inbox, its users in the Redis user map, itself in
 * ZooKeeper under /chat-service (and /presence-service: presence sockets
 * are served here too) with a live connection count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "roles/cluster.h"
#include "roles/roles.h"

/* This instance as clients should dial it: --advertise HOST[:PORT]. */
static void self_instance(app *a, discovery_instance *self) {
    memset(self, 0, sizeof(*self));
    self->id = a->node_id;
    snprintf(self->host, sizeof(self->host), "%s", a->cfg->advertise);
    self->port = a->srv.port;
    char *colon = strrchr(self->host, ':');
    if (colon && !strchr(colon, ']')) {
        *colon = '\0';
        self->port = atoi(colon + 1);
    }
    self->timestamp_ms = clock_now_ms();
}

static void chat_tick(app *a) {
    uint64_t n = domain_sessions(a->dom, 0) + domain_sessions(a->dom, 1);
    a->dsb->update(a->disc, CLUSTER_CHAT_SERVICE, n);
    a->dsb->update(a->disc, CLUSTER_PRESENCE_SERVICE, n);
}

int role_chat_run(const chatd_config *cfg) {
    app a;
    app_init(&a, cfg, "chat");
    if (app_load_secret(&a, 0) != 0 || app_open_cluster(&a, 1, 1) != 0) return app_fail(&a);
    if (a.dsb->alloc_node_id(a.disc, CLUSTER_CHAT_SERVICE, &a.node_id) != 0) {
        log_error("cannot allocate a node id in ZooKeeper");
        return app_fail(&a);
    }
    if (app_open_store(&a, 1) != 0 || app_open_domain(&a, 1) != 0 || app_open_bus(&a, 1) != 0 ||
        app_serve(&a, APP_EP_CHAT | APP_EP_PRESENCE, cluster_pick) != 0)
        return app_fail(&a);
    discovery_instance self;
    self_instance(&a, &self);
    if (a.dsb->register_instance(a.disc, CLUSTER_CHAT_SERVICE, &self) != 0 ||
        a.dsb->register_instance(a.disc, CLUSTER_PRESENCE_SERVICE, &self) != 0) {
        log_error("cannot register in ZooKeeper");
        return app_fail(&a);
    }
    log_info("chat server %u registered as %s:%d", self.id, self.host, self.port);
    a.on_tick = chat_tick;
    return app_run(&a);
}
