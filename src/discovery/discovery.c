/*
 * discovery: the backend-independent part of service discovery — choosing
 * which live instance a new client is sent to.
 */
#include "discovery/discovery.h"

int discovery_pick(const discovery_instance *list, size_t n, discovery_instance *out) {
    const discovery_instance *best = NULL;
    for (int any = 0; any < 2 && !best; any++) { /* the heard-from ones, else all */
        for (size_t i = 0; i < n; i++) {
            const discovery_instance *c = &list[i];
            if (!any && c->silent_ms > DISCOVERY_STALE_MS) continue;
            if (!best || c->connections < best->connections ||
                (c->connections == best->connections && c->id < best->id))
                best = c;
        }
    }
    if (!best) return -1;
    *out = *best;
    return 0;
}

int discovery_pick_spread(discovery_spread *sp, const discovery_instance *list, size_t n,
                          discovery_instance *out) {
    discovery_instance adj[DISCOVERY_SPREAD_MAX] = {{0}};
    discovery_spread next = {.n = 0};
    if (n > DISCOVERY_SPREAD_MAX) n = DISCOVERY_SPREAD_MAX;
    for (size_t i = 0; i < n; i++) { /* carry the counts of instances still listed */
        adj[i] = list[i];
        next.seen[i].id = list[i].id;
        next.seen[i].timestamp_ms = list[i].timestamp_ms;
        next.seen[i].named = 0;
        for (size_t j = 0; j < sp->n; j++)
            if (sp->seen[j].id == list[i].id && sp->seen[j].timestamp_ms == list[i].timestamp_ms)
                next.seen[i].named = sp->seen[j].named; /* no refresh since: still unseen */
        adj[i].connections += next.seen[i].named;
    }
    next.n = n;
    *sp = next;
    if (discovery_pick(adj, n, out) != 0) return -1;
    for (size_t i = 0; i < n; i++)
        if (sp->seen[i].id == out->id) sp->seen[i].named++;
    return 0;
}
