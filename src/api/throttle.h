/*
 * throttle: failed-login throttling by username (PROTOCOL.md section 4):
 * after `max_failures` failed /auth attempts for one username within
 * `window_ms`, further attempts for that username are refused for
 * `window_ms`. By username, not by address: many users share one proxy.
 */
#ifndef CHATD_THROTTLE_H
#define CHATD_THROTTLE_H

#include <stdint.h>

#include "core/strmap.h"

typedef struct throttle {
    strmap entries;            /* username -> throttle_entry* */
    unsigned max_failures;
    uint64_t window_ms;
} throttle;

void throttle_init(throttle *t, unsigned max_failures, uint64_t window_ms);
void throttle_free(throttle *t);
/* 1 when attempts for username are currently refused. */
int throttle_blocked(throttle *t, const char *username, uint64_t now_ms);
void throttle_failure(throttle *t, const char *username, uint64_t now_ms);
void throttle_success(throttle *t, const char *username);
/* Drops entries that no longer matter (call periodically). */
void throttle_prune(throttle *t, uint64_t now_ms);

#endif
