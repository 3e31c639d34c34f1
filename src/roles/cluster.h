/*
 * cluster: what the cluster roles share on top of app — /auth's pick of
 * the least-loaded live chat and presence servers from ZooKeeper.
 */
#ifndef CHATD_ROLES_CLUSTER_H
#define CHATD_ROLES_CLUSTER_H

#include "roles/app.h"

#define CLUSTER_CHAT_SERVICE "chat-service"
#define CLUSTER_PRESENCE_SERVICE "presence-service"

/* api_config.pick for cluster roles (data = app*). */
int cluster_pick(void *data, api_instance *chat, api_instance *presence);

#endif
