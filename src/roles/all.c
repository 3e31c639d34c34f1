/*
 * all: the embedded shape — API, /chat and /presence on one port, SQLite,
 * the in-process bus, presence in memory. `chatd` with no role runs this.
 */
#include "roles/app.h"
#include "roles/roles.h"

int role_all_run(const chatd_config *cfg) {
    app a;
    app_init(&a, cfg, "all");
    if (app_load_secret(&a, 1) != 0 || app_open_store(&a, 0) != 0 || app_open_domain(&a, 0) != 0 ||
        app_open_bus(&a, 0) != 0 ||
        app_serve(&a, APP_EP_CHAT | APP_EP_PRESENCE, app_pick_self) != 0)
        return app_fail(&a);
    return app_run(&a);
}
