/*
 * test_presence_rules: the presence merge rules (src/chat/presence_rules.c)
 * as a table: a state, what happens, the state after and what the server
 * must do. The rows include every ordering the cluster's earlier presence
 * fixes were about (a reconnect racing a server's death, a hold in flight,
 * an older hold after an offline learnt elsewhere, letting go while
 * another server holds the user, heartbeats refreshing last_seen).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "chat/presence_rules.h"

#define ON PROTO_ONLINE
#define OFF PROTO_OFFLINE
#define AWAY PROTO_AWAY
#define NOTIFY PRESENCE_NOTIFY
#define PUB_S PRESENCE_PUBLISH_STATUS
#define PUB_H PRESENCE_PUBLISH_HOLD

enum { MERGE, SHARED, HOLD, SET, GONE };

typedef struct row {
    const char *what;
    presence_state before;
    int op;
    presence_news news; /* MERGE; SHARED uses status + last_seen_ms; SET uses status */
    presence_state after;
    int effects;
} row;

#define NOW 9000

static const row rows[] = {
    /* ---- news from another server ---- */
    {"a newer status set elsewhere is news",
     {ON, 1000, 0, 0, 1},
     MERGE,
     {AWAY, 2000, 1, 1, 1},
     {AWAY, 2000, 0, 0, 1},
     NOTIFY},
    {"an older status is stale (last writer wins)",
     {AWAY, 2000, 0, 0, 1},
     MERGE,
     {ON, 1000, 1, 1, 1},
     {AWAY, 2000, 0, 0, 1},
     0},
    {"a hold change repeating our status: no news, fresher last_seen kept (heartbeat)",
     {ON, 1000, 0, 0, 1},
     MERGE,
     {ON, 1500, 1, 1, 0},
     {ON, 1500, 0, 0, 1},
     0},
    {"a hold change with another status is news",
     {OFF, 1000, 0, 0, 0},
     MERGE,
     {ON, 1500, 1, 0, 0},
     {ON, 1500, 0, 0, 1},
     NOTIFY},
    {"offline from a server letting go while a third holds the user: not true",
     {ON, 1000, 0, 0, 2},
     MERGE,
     {OFF, 3000, 0, 1, 1},
     {ON, 1000, 0, 0, 1},
     0},
    {"offline from a server letting go while we hold the user: we say so again",
     {ON, 1000, 0, 1, 1},
     MERGE,
     {OFF, 3000, 0, 1, 1},
     {ON, NOW, 0, 1, 0},
     PUB_H},
    {"offline from the last holder letting go: offline",
     {ON, 1000, 0, 0, 1},
     MERGE,
     {OFF, 3000, 0, 1, 1},
     {OFF, 3000, 0, 0, 0},
     NOTIFY},
    {"reconnect before we noticed the death: the hold beats our orphaned offline",
     {OFF, 5000, 1, 0, 0},
     MERGE,
     {ON, 4000, 1, 0, 0},
     {ON, 5000, 0, 0, 1},
     NOTIFY},
    {"a hold in flight when the server died: still beats the orphaned offline",
     {OFF, 5000, 1, 0, 0},
     MERGE,
     {ON, 4990, 1, 0, 1},
     {ON, 5000, 0, 0, 1},
     NOTIFY},
    {"an older hold after an offline learnt from another server: stays offline",
     {OFF, 5000, 0, 0, 0},
     MERGE,
     {ON, 3000, 1, 0, 1},
     {OFF, 5000, 0, 0, 1},
     0},
    {"a newer offline status from a server that still holds: status set wins",
     {ON, 1000, 0, 0, 1},
     MERGE,
     {OFF, 2000, 1, 1, 1},
     {OFF, 2000, 0, 0, 1},
     NOTIFY},

    /* ---- the shared copy (Redis) ---- */
    {"shared copy newer: news",
     {OFF, 1000, 0, 0, 0},
     SHARED,
     {ON, 2000, 0, 0, 0},
     {ON, 2000, 0, 0, 0},
     NOTIFY},
    {"shared copy older: ignored",
     {ON, 2000, 0, 0, 0},
     SHARED,
     {OFF, 1000, 0, 0, 0},
     {ON, 2000, 0, 0, 0},
     0},
    {"shared copy the same: nothing",
     {ON, 2000, 0, 0, 0},
     SHARED,
     {ON, 2000, 0, 0, 0},
     {ON, 2000, 0, 0, 0},
     0},

    /* ---- our own sockets ---- */
    {"first socket of an offline user: online, told as a status",
     {OFF, 1000, 1, 1, 0},
     HOLD,
     {0},
     {ON, NOW, 0, 1, 0},
     NOTIFY | PUB_S},
    {"another socket of an online user: a sighting, told as a hold",
     {AWAY, 1000, 0, 1, 0},
     HOLD,
     {0},
     {AWAY, NOW, 0, 1, 0},
     PUB_H},
    {"last socket gone, nobody else holds: offline",
     {ON, 1000, 0, 0, 0},
     HOLD,
     {0},
     {OFF, NOW, 0, 0, 0},
     NOTIFY | PUB_S},
    {"last socket gone, another server holds: only our hold changes",
     {ON, 1000, 0, 0, 1},
     HOLD,
     {0},
     {ON, 1000, 0, 0, 1},
     PUB_H},
    {"status_update",
     {ON, 1000, 1, 1, 0},
     SET,
     {AWAY, 0, 0, 0, 0},
     {AWAY, NOW, 0, 1, 0},
     NOTIFY | PUB_S},

    /* ---- a server dies ---- */
    {"the last holder dies: offline (orphaned), told to the others",
     {ON, 1000, 0, 0, 1},
     GONE,
     {0},
     {OFF, NOW, 1, 0, 0},
     NOTIFY | PUB_H},
    {"a holder dies, another still holds: nothing",
     {ON, 1000, 0, 0, 2},
     GONE,
     {0},
     {ON, 1000, 0, 0, 1},
     0},
    {"a holder dies while we hold the user: nothing",
     {ON, 1000, 0, 1, 1},
     GONE,
     {0},
     {ON, 1000, 0, 1, 0},
     0},
    {"a holder dies, the user was offline already: nothing",
     {OFF, 1000, 0, 0, 1},
     GONE,
     {0},
     {OFF, 1000, 0, 0, 0},
     0},
};

static void test_rules_table(void **state) {
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row *r = &rows[i];
        presence_state st = r->before;
        int fx = 0;
        switch (r->op) {
        case MERGE:
            fx = presence_merge(&st, &r->news, NOW);
            break;
        case SHARED:
            fx = presence_merge_shared(&st, r->news.status, r->news.last_seen_ms);
            break;
        case HOLD:
            fx = presence_hold_changed(&st, NOW);
            break;
        case SET:
            fx = presence_set(&st, r->news.status, NOW);
            break;
        case GONE:
            fx = presence_holder_gone(&st, NOW);
            break;
        }
        const presence_state *w = &r->after;
        if (st.status != w->status || st.last_seen_ms != w->last_seen_ms ||
            st.orphaned != w->orphaned || st.local != w->local || st.others != w->others ||
            fx != r->effects)
            fail_msg("row %zu (%s): got {%s %lld orphaned %d local %d others %u} effects %d, "
                     "want {%s %lld orphaned %d local %d others %u} effects %d",
                     i, r->what, proto_status_name(st.status), (long long)st.last_seen_ms,
                     st.orphaned, st.local, st.others, fx, proto_status_name(w->status),
                     (long long)w->last_seen_ms, w->orphaned, w->local, w->others, r->effects);
    }
}

/* The rules are order-independent where they should be: two servers'
 * status news applied in either order end in the same state. */
static void test_status_news_commute(void **state) {
    presence_news a = {AWAY, 2000, 1, 0, 1}, b = {PROTO_BUSY, 3000, 1, 0, 1};
    presence_state x = {ON, 1000, 0, 0, 0}, y = x;
    presence_merge(&x, &a, NOW);
    presence_merge(&x, &b, NOW);
    presence_merge(&y, &b, NOW);
    presence_merge(&y, &a, NOW);
    assert_int_equal(x.status, y.status);
    assert_int_equal(x.last_seen_ms, y.last_seen_ms);
    assert_int_equal(x.status, PROTO_BUSY);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_status_news_commute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
