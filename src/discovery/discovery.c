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
