/* throttle: a fixed window of failures per username, then a lock-out. */
#include "api/throttle.h"
#include "core/alloc.h"

#include <stdlib.h>

typedef struct throttle_entry {
    unsigned failures;
    uint64_t window_start;
    uint64_t blocked_until;
} throttle_entry;

void throttle_init(throttle *t, unsigned max_failures, uint64_t window_ms) {
    strmap_init(&t->entries);
    t->max_failures = max_failures;
    t->window_ms = window_ms;
}

void throttle_free(throttle *t) {
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&t->entries, &i));)
        free(e->value);
    strmap_free(&t->entries);
}

int throttle_blocked(throttle *t, const char *username, uint64_t now_ms) {
    throttle_entry *e = strmap_get(&t->entries, username);
    return e && now_ms < e->blocked_until;
}

void throttle_failure(throttle *t, const char *username, uint64_t now_ms) {
    throttle_entry *e = strmap_get(&t->entries, username);
    if (!e) {
        e = xcalloc(1, sizeof(*e));
        e->window_start = now_ms;
        strmap_put(&t->entries, username, e);
    }
    if (now_ms - e->window_start >= t->window_ms) {
        e->window_start = now_ms;
        e->failures = 0;
    }
    if (++e->failures >= t->max_failures) e->blocked_until = now_ms + t->window_ms;
}

void throttle_forgive(throttle *t, const char *key, uint64_t now_ms) {
    throttle_entry *e = strmap_get(&t->entries, key);
    if (e && e->failures && now_ms >= e->blocked_until) e->failures--;
}

void throttle_success(throttle *t, const char *username) {
    free(strmap_del(&t->entries, username));
}

void throttle_prune(throttle *t, uint64_t now_ms) {
    /* Collect stale keys first: no removal while iterating. */
    size_t n = 0, cap = 0;
    char **stale = NULL;
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&t->entries, &i));) {
        throttle_entry *te = e->value;
        if (now_ms >= te->blocked_until && now_ms - te->window_start >= t->window_ms) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **ns = xrealloc(stale, cap * sizeof(*ns));
                stale = ns;
            }
            stale[n++] = e->key;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(strmap_del(&t->entries, stale[i]));
    free(stale);
}
