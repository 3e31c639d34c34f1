/*
 * admin: a second server (src/net) whose only handler answers the three
 * monitoring GETs (see admin.h). Same HTTP parsing and caps as the public
 * port, small connection limits: only the operator's tools come here.
 */
#include "ops/admin.h"

#include <stdlib.h>
#include <string.h>

#include "net/server.h"
#include "ops/endpoints.h"

struct admin {
    server srv;
    admin_config cfg;
};

static void on_http(void *data, conn *c, http_req *req) {
    admin *a = data;
    const char *url = req->url ? req->url : "/";
    size_t plen = http_path_len(url);
#define ROUTE(p) (plen == sizeof(p) - 1 && !memcmp(url, p, plen))
    int known = ROUTE("/metrics") || ROUTE("/health") || (ROUTE("/ready") && a->cfg.ready);
    if (!known)
        conn_http_error(c, 404, "not_found", "the admin port serves /metrics, /health, /ready");
    else if (req->method != HTTP_GET)
        conn_http_error(c, 405, "method_not_allowed", "GET only");
    else if (ROUTE("/metrics"))
        ops_metrics(c);
    else if (ROUTE("/health"))
        ops_health(c, a->cfg.role, a->cfg.started_ms);
    else
        ready_handle(a->cfg.ready, c);
#undef ROUTE
}

static void on_upgrade(void *data, conn *c, http_req *req) {
    conn_http_error(c, 404, "not_found", "no WebSockets on the admin port");
}

int admin_start(admin **out, uv_loop_t *loop, const char *host, int port, const admin_config *cfg) {
    *out = NULL;
    admin *a = calloc(1, sizeof(*a));
    if (!a) return UV_ENOMEM;
    a->cfg = *cfg;
    server_handlers h = {.data = a, .http = on_http, .ws_upgrade = on_upgrade};
    server_limits lim;
    server_limits_default(&lim);
    lim.max_connections = 64;
    lim.max_pending_per_addr = 64;
    *out = a;
    return server_start(&a->srv, loop, host, port, &h, &lim);
}

int admin_port(const admin *a) {
    return a->srv.port;
}

void admin_abort(admin *a) {
    if (!a) return;
    server_stop_accepting(&a->srv);
    server_abort_all(&a->srv);
}

void admin_free(admin *a) {
    if (!a) return;
    server_free(&a->srv);
    free(a);
}
