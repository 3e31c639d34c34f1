/*
 * discovery: the backend-independent part of service discovery — choosing
 * which live instance a new client is sent to, and which hosts it may be.
 */
#include "discovery/discovery.h"

#include <string.h>
#include <strings.h>

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

/* Calls each(name, len, arg) for every comma-separated name; stops at the
 * first nonzero return and returns it. */
static int each_name(const char *list, int (*each)(const char *, size_t, const void *),
                     const void *arg) {
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int rc = each(p, len, arg);
        if (rc || !comma) return rc;
        p = comma + 1;
    }
}

static int name_invalid(const char *name, size_t len, const void *arg) {
    (void)arg;
    return len == 0 || len >= 256 || memchr(name, ' ', len) != NULL;
}

static int name_is(const char *name, size_t len, const void *host) {
    return strlen(host) == len && strncasecmp(name, host, len) == 0;
}

int discovery_allowed_valid(const char *allowed) {
    return !allowed || !*allowed || each_name(allowed, name_invalid, NULL) ? -1 : 0;
}

bool discovery_host_allowed(const char *allowed, const char *host) {
    return !allowed || each_name(allowed, name_is, host);
}

size_t discovery_filter_allowed(const char *allowed, discovery_instance *list, size_t n) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (discovery_host_allowed(allowed, list[i].host)) list[kept++] = list[i];
    return kept;
}
