/* cluster: /auth's choice of servers from ZooKeeper's live instances, and
 * noticing instances that die. */
#include "roles/cluster.h"

#include <stdio.h>
#include <string.h>

static int pick_one(app *a, const char *service, discovery_spread *sp, api_instance *out) {
    discovery_instance list[DISCOVERY_SPREAD_MAX], best;
    size_t n = a->dsb->list(a->disc, service, list, DISCOVERY_SPREAD_MAX);
    if (discovery_pick_spread(sp, list, n, &best) != 0) return -1;
    snprintf(out->host, sizeof(out->host), "%s", best.host);
    out->port = best.port;
    out->id = best.id;
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
    for (size_t i = 0; i < n; i++) now[list[i].id % 1024] = 1;
    for (unsigned id = 0; id < 1024; id++)
        if (seen->alive[id] && !now[id]) gone(a, id);
    memcpy(seen->alive, now, sizeof(now));
}
