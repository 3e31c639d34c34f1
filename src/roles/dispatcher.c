/*
 * dispatcher: routes committed messages to chat servers. Consumes
 * chat-messages (group message-dispatcher-group), looks recipients up in
 * the Redis user map and writes one inbox batch per chat server per poll.
 * It also watches /chat-service in ZooKeeper and forgets, in the user map,
 * every user of a chat server whose znode has vanished (the server died).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dispatch/dispatcher.h"
#include "roles/cluster.h"
#include "roles/roles.h"

typedef struct dispatch_role {
    const dispatcher_backend *db;
    dispatcher *d;
    cluster_seen chat; /* chat servers seen live at the last tick */
} dispatch_role;

static void chat_server_gone(app *a, unsigned id) {
    log_info("chat server %u is gone: forgetting its users", id);
    usermap_forget_server(a->um, id);
}

static void dispatch_tick(app *a) {
    dispatch_role *r = a->role_data;
    cluster_watch(a, CLUSTER_CHAT_SERVICE, &r->chat, chat_server_gone);
}

static void dispatch_stop(app *a) {
    dispatch_role *r = a->role_data;
    if (r->d) r->db->close(r->d);
    r->d = NULL;
}

int role_dispatcher_run(const chatd_config *cfg) {
    app a;
    dispatch_role r;
    memset(&r, 0, sizeof(r));
    app_init(&a, cfg, "dispatcher");
    a.role_data = &r;
    a.on_stop = dispatch_stop;
    if (app_open_cluster(&a, 1, 1) != 0) return app_fail(&a);
    dispatcher_config dc = {.brokers = cfg->kafka, .fetch_wait_ms = cfg->kafka_fetch_wait_ms};
    char host[256] = "";
    if (!strcmp(cfg->bus, "redis")) {
        const char *colon = strrchr(cfg->redis, ':');
        snprintf(host, sizeof(host), "%.*s", (int)(colon - cfg->redis), cfg->redis);
        dc.redis_host = host;
        dc.redis_port = atoi(colon + 1);
        r.db = &dispatcher_redis_backend;
    } else {
        if (!cfg->kafka) {
            log_error("--bus kafka needs --kafka BROKERS");
            return app_fail(&a);
        }
        r.db = &dispatcher_kafka_backend;
    }
    if (r.db->open(&r.d, a.loop, &dc, a.um) != 0) {
        log_error("cannot start the %s dispatcher", r.db->name);
        r.d = NULL;
        return app_fail(&a);
    }
    if (app_serve(&a, 0, cluster_pick) != 0) return app_fail(&a);
    a.on_tick = dispatch_tick;
    return app_run(&a);
}
