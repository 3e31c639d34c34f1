/*
 * api: the cluster's API server — /auth (the least-loaded live chat and
 * presence servers from ZooKeeper), /register, /health, /metrics, on
 * PostgreSQL. It holds no WebSockets and no domain: chat servers learn
 * about new users from the store when a token names one they do not know.
 */
#include "roles/cluster.h"
#include "roles/roles.h"

int role_api_run(const chatd_config *cfg) {
    app a;
    app_init(&a, cfg, "api");
    if (app_load_secret(&a, 0) != 0 || app_open_cluster(&a, 0, 1) != 0 ||
        app_open_store(&a, 1) != 0 || app_serve(&a, 0, cluster_pick) != 0)
        return app_fail(&a);
    return app_run(&a);
}
