/* presence_rules: the presence merge rules, pure (see presence_rules.h). */
#include "chat/presence_rules.h"

int presence_set(presence_state *st, proto_status status, int64_t now_ms) {
    st->status = status;
    st->orphaned = 0;
    st->last_seen_ms = now_ms;
    return PRESENCE_NOTIFY | PRESENCE_PUBLISH_STATUS;
}

int presence_hold_changed(presence_state *st, int64_t now_ms) {
    if (st->local) {
        /* A socket opened or spoke: the user is seen now. The fresh
         * last_seen matters: another server may already have concluded
         * "offline" (the user's previous server died, and this one has not
         * noticed yet); an older last_seen would lose to that. */
        if (st->status == PROTO_OFFLINE) return presence_set(st, PROTO_ONLINE, now_ms);
        st->last_seen_ms = now_ms;
        return PRESENCE_PUBLISH_HOLD;
    }
    if (st->others == 0 && st->status != PROTO_OFFLINE)
        return presence_set(st, PROTO_OFFLINE, now_ms);
    return PRESENCE_PUBLISH_HOLD;
}

int presence_merge(presence_state *st, const presence_news *n, int64_t now_ms) {
    unsigned before = st->others;
    if (n->held && st->others) st->others--;
    if (n->holds) st->others++;
    int64_t seen = n->last_seen_ms;
    /* A hold on a user this server set offline only because their last
     * holder died disproves that offline, even if its news left first. */
    if (n->holds && before == 0 && st->others == 1 && st->orphaned && !st->local &&
        n->status != PROTO_OFFLINE && seen < st->last_seen_ms)
        seen = st->last_seen_ms;
    /* "offline" from a server that let go while the user is still held:
     * not true; whoever holds the user says so again. */
    if (!n->holds && n->status == PROTO_OFFLINE && (st->local || st->others > 0)) {
        if (!st->local) return 0;
        st->last_seen_ms = now_ms; /* newer than that offline, so it wins */
        return PRESENCE_PUBLISH_HOLD;
    }
    if (seen < st->last_seen_ms) return 0; /* older than what we know: stale */
    if (st->status == n->status && (!n->status_set || st->last_seen_ms == seen)) {
        st->last_seen_ms = seen; /* the same status, seen later: no news */
        return 0;
    }
    st->status = n->status;
    st->last_seen_ms = seen;
    st->orphaned = 0;
    return PRESENCE_NOTIFY;
}

int presence_merge_shared(presence_state *st, proto_status status, int64_t seen_ms) {
    if (seen_ms < st->last_seen_ms || (st->status == status && st->last_seen_ms == seen_ms))
        return 0;
    st->status = status;
    st->last_seen_ms = seen_ms;
    st->orphaned = 0;
    return PRESENCE_NOTIFY;
}

int presence_holder_gone(presence_state *st, int64_t now_ms) {
    if (st->others) st->others--;
    if (st->local || st->others > 0 || st->status == PROTO_OFFLINE) return 0;
    st->status = PROTO_OFFLINE;
    st->orphaned = 1;
    st->last_seen_ms = now_ms;
    /* Every server concludes this for itself, and the ones that agree hear
     * no news in the hold event; it reaches a server whose view of the
     * holders differed and would otherwise keep showing the user online. */
    return PRESENCE_NOTIFY | PRESENCE_PUBLISH_HOLD;
}
