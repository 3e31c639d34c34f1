/*
 * cluster: what the cluster roles share on top of app — /auth's pick of
 * the least-loaded live chat and presence servers from ZooKeeper, among
 * those on the hosts of --allowed-hosts when it is given (the others are
 * skipped and logged, at most once every 10 s).
 */
#ifndef CHATD_ROLES_CLUSTER_H
#define CHATD_ROLES_CLUSTER_H

#include "roles/app.h"

#define CLUSTER_CHAT_SERVICE "chat-service"
#define CLUSTER_PRESENCE_SERVICE "presence-service"

/* api_config.pick for cluster roles (data = app*). */
int cluster_pick(void *data, api_instance *chat, api_instance *presence);

/* What a role remembers of one service between two cluster_watch calls. */
typedef struct cluster_seen {
    unsigned char alive[1024]; /* by node id: live at the last call */
} cluster_seen;

/* Calls gone(a, id) for every instance of service that was live at the
 * previous call on seen (zero-initialised at first) and is not any more:
 * its ZooKeeper session ended, i.e. the process died or was cut off. */
void cluster_watch(app *a, const char *service, cluster_seen *seen,
                   void (*gone)(app *a, unsigned id));

#endif
