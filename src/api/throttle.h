/*
 * throttle: failed-login throttling by a key (PROTOCOL.md section 4):
 * after `max_failures` failed /auth attempts for one key within
 * `window_ms`, further attempts for that key are refused for `window_ms`.
 * The API keeps two: by username (the rule of the protocol: many users
 * share one proxy) and, with a larger budget, by client address (so that
 * guessing unknown usernames, each of which costs a password hash, is
 * bounded too).
 */
#ifndef CHATD_THROTTLE_H
#define CHATD_THROTTLE_H

#include <stdint.h>

#include "core/strmap.h"

typedef struct throttle {
    strmap entries; /* username -> throttle_entry* */
    unsigned max_failures;
    uint64_t window_ms;
} throttle;

void throttle_init(throttle *t, unsigned max_failures, uint64_t window_ms);
void throttle_free(throttle *t);
/* 1 when attempts for username are currently refused. */
int throttle_blocked(throttle *t, const char *username, uint64_t now_ms);
void throttle_failure(throttle *t, const char *username, uint64_t now_ms);
void throttle_success(throttle *t, const char *username);
/* Takes back one failure counted in advance for an attempt that succeeded
 * (never lifts a block in force). */
void throttle_forgive(throttle *t, const char *key, uint64_t now_ms);
/* Drops entries that no longer matter (call periodically). */
void throttle_prune(throttle *t, uint64_t now_ms);

#endif
