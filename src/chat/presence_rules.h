/*
 * presence_rules: how one server decides a user's presence from what it
 * knows — its own sockets, the other servers' news (bus events), the
 * shared copy in Redis, a server's death — as pure functions over a small
 * state. No I/O and no clock: the caller passes `now_ms` and acts on the
 * returned flags (tell its watchers, publish its own view). Every ordering
 * the cluster can produce is then a row of a table
 * (tests/unit/test_presence_rules.c).
 *
 * The rules (docs/ARCHITECTURE.md "Presence"):
 *  - a status is a last-writer-wins register ordered by last_seen_ms;
 *  - a user is offline only when no server holds live sockets: an
 *    "offline" from a server that let go, while others (or we) hold the
 *    user, is not true (whoever holds the user says so again);
 *  - a hold outranks an "offline" this server concluded only because the
 *    user's last server died (that offline is a guess, the hold a fact of
 *    now), even if the hold's news left before the death was noticed;
 *  - news that only a server's hold changed repeats a status we may have:
 *    no news for watchers then, but a fresher last_seen is kept.
 */
#ifndef CHATD_PRESENCE_RULES_H
#define CHATD_PRESENCE_RULES_H

#include <stdint.h>

#include "proto/types.h"

typedef struct presence_state {
    proto_status status;
    int64_t last_seen_ms; /* wall clock: orders statuses (last writer wins) */
    int orphaned;         /* offline only because its last holder died */
    int local;            /* this server holds live, non-silent sockets */
    unsigned others;      /* other servers known to hold live sockets */
} presence_state;

/* Another server's view, from a bus event. */
typedef struct presence_news {
    proto_status status;
    int64_t last_seen_ms;
    int holds;      /* that server holds live sockets of the user now */
    int held;       /* it was among the holders we knew of before this news */
    int status_set; /* the status was just set there, not only its hold changed */
} presence_news;

/* What the caller must do after a rule ran. */
enum {
    PRESENCE_NOTIFY = 1,         /* status or news changed: tell this server's watchers */
    PRESENCE_PUBLISH_STATUS = 2, /* publish our view as a status change (everyone tells) */
    PRESENCE_PUBLISH_HOLD = 4, /* publish our view as a hold change (only news where it differs) */
};

/* News from another server. */
int presence_merge(presence_state *st, const presence_news *n, int64_t now_ms);
/* The shared copy (Redis) says status as of seen_ms. */
int presence_merge_shared(presence_state *st, proto_status status, int64_t seen_ms);
/* This server's own hold changed: st->local is the new value. */
int presence_hold_changed(presence_state *st, int64_t now_ms);
/* The user set a status through this server. */
int presence_set(presence_state *st, proto_status status, int64_t now_ms);
/* A server that held the user died (it was one of st->others). */
int presence_holder_gone(presence_state *st, int64_t now_ms);

#endif
