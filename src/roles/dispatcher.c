/*
 * dispatcher: routes committed messages to chat servers. Consumes
 * chat-messages (group message-dispatcher-group), looks recipients up in
 * the Redis user map and writes one inbox batch per chat server per poll.
 * It also watches /chat-service in ZooKeeper and forgets, in the user map,
 * every user of a chat server whose znode has vanished (the server died).
 */
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
    log_event(LOG_INFO, LOG_FIELDS(LOG_NUM("server", id)),
              "chat server is gone: forgetting its users");
    usermap_forget_server(a->um, id);
}

static void dispatch_tick(app *a) {
    dispatch_role *r = a->role_data;
    cluster_watch(a, CLUSTER_CHAT_SERVICE, &r->chat, chat_server_gone);
    /* The live chat servers: one not marked synced in the user map gets
     * every recipient until it has re-registered its users (usermap.h). */
    unsigned ids[1024];
    size_t n = 0;
    for (unsigned id = 0; id < 1024; id++)
        if (r->chat.alive[id]) ids[n++] = id;
    usermap_set_live(a->um, ids, n);
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
    if (app_open_cluster(&a, 1, 1) != 0 || backends_load(&a.be, cfg, a.role, BACKENDS_BUS) != 0)
        return app_fail(&a);
    dispatcher_config dc = {.key = a.be.key, .kafka = &a.be.kafka, .redis = &a.be.redis};
    r.db = a.be.bus_redis ? &dispatcher_redis_backend : &dispatcher_kafka_backend;
    if (r.db->open(&r.d, a.loop, &dc, a.um) != 0) {
        log_error("cannot start the %s dispatcher", r.db->name);
        r.d = NULL;
        return app_fail(&a);
    }
    if (app_serve(&a, 0, cluster_pick) != 0) return app_fail(&a);
    a.on_tick = dispatch_tick;
    return app_run(&a);
}
