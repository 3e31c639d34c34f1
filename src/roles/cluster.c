/* cluster: /auth's choice of servers from ZooKeeper's live instances (only
 * on the hosts of --allowed-hosts, when given), and noticing instances
 * that die. */
#include "roles/cluster.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/ratelog.h"

#define SKIP_LOG_MS 10000

/* Drops the instances not on an allowed host, saying so now and then. */
static size_t allowed_only(app *a, const char *service, discovery_instance *list, size_t n) {
    static ratelog rl; /* loop thread only */
    const char *allowed = a->cfg->allowed_hosts;
    for (size_t i = 0; i < n; i++) {
        uint64_t held;
        if (!discovery_host_allowed(allowed, list[i].host) &&
            ratelog_allow(&rl, SKIP_LOG_MS, &held))
            log_warn("/auth: skipping %s instance %u on %s:%d: not in --allowed-hosts (%" PRIu64
                     " more skips since the last report)",
                     service, list[i].id, list[i].host, list[i].port, held);
    }
    return discovery_filter_allowed(allowed, list, n);
}

static int pick_one(app *a, const char *service, discovery_spread *sp, api_instance *out) {
    discovery_instance list[DISCOVERY_SPREAD_MAX], best;
    size_t n = a->dsb->list(a->disc, service, list, DISCOVERY_SPREAD_MAX);
    n = allowed_only(a, service, list, n);
    if (discovery_pick_spread(sp, list, n, &best) != 0) return -1;
    snprintf(out->host, sizeof(out->host), "%s", best.host);
    out->port = best.port;
    out->id = best.id;
    out->tls = best.tls;
    return 0;
}

int cluster_pick(void *data, api_instance *chat, api_instance *presence) {
    static discovery_spread chat_spread, presence_spread; /* loop thread only */
    app *a = data;
    if (!a->disc) return -1;
    if (pick_one(a, CLUSTER_CHAT_SERVICE, &chat_spread, chat) != 0) return -1;
    return pick_one(a, CLUSTER_PRESENCE_SERVICE, &presence_spread, presence);
}

void cluster_watch(app *a, const char *service, cluster_seen *seen,
                   void (*gone)(app *a, unsigned id)) {
    static discovery_instance list[1024]; /* loop thread only */
    unsigned char now[1024] = {0};
    size_t n = a->dsb->list(a->disc, service, list, 1024);
    for (size_t i = 0; i < n; i++)
        now[list[i].id % 1024] = 1;
    for (unsigned id = 0; id < 1024; id++)
        if (seen->alive[id] && !now[id]) gone(a, id);
    memcpy(seen->alive, now, sizeof(now));
}
