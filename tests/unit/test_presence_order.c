/*
 * Cross-server presence when events arrive in awkward orders. Two chat
 * domains (the logic of two cluster servers: node 2, where the watcher's
 * presence socket is, and node 3, where the user reconnects) share one
 * real SQLite store; node 1 is a server that dies, known only through its
 * events. The bus between them is this test's relay: every event a domain
 * publishes is kept, and the test hands it to the other domain exactly
 * when the ordering under test says — what no real bus lets a test
 * choose (the real buses are covered by the cluster protocol suite).
 * Sessions are captured in memory: what a socket would have been sent.
 */
#include "domain_test_util.h"

/* ---- the relay bus: keeps what a domain publishes ---- */

enum { MAX_EVENTS = 32 };

struct bus {
    bus_event events[MAX_EVENTS]; /* presence events published, in order */
    int n;
    unsigned node; /* the publisher's node id (the bus fills it) */
};

static int relay_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -1;
}
static void relay_publish(bus *b, const bus_record *r) {}
static void relay_event(bus *b, const bus_event *e) {
    if (e->kind != BUS_EV_PRESENCE || b->n == MAX_EVENTS) return;
    b->events[b->n] = *e;
    b->events[b->n++].server_id = b->node;
}

/* A presence event as another server would publish it. */
static bus_event pres(const char *user, proto_status status, long long seen, unsigned origin,
                      int holds, int status_set) {
    bus_event e = {.kind = BUS_EV_PRESENCE, .server_id = origin};
    snprintf(e.u.presence.user, sizeof e.u.presence.user, "%s", user);
    e.u.presence.status = status;
    e.u.presence.last_seen_ms = seen;
    e.u.presence.holds = holds;
    e.u.presence.status_set = status_set;
    return e;
}
static void relay_close(bus *b) {
    free(b);
}
static const bus_backend relay = {"relay", relay_open, relay_publish, relay_event, relay_close};

/* ---- fixture ---- */

static dt_fixture fx;
static dt_pair pair;
#define w_dom pair.d[0] /* node 2: the watcher's server */
#define y_dom pair.d[1] /* node 3: where A comes back */
#define w_bus pair.b[0]
#define y_bus pair.b[1]

static int setup(void **state) {
    dt_open(&fx, "chatd-porder-");
    dt_pair_open(&fx, &pair, &relay, (const char *[]){"alice", "wendy", NULL});
    w_bus->node = 2;
    y_bus->node = 3;
    return 0;
}

static int teardown(void **state) {
    dt_pair_close(&fx, &pair);
    return 0;
}

/* The status wendy was last told for alice ("" if none). */
static const char *status_seen(const tsession *t) {
    static char status[16];
    json_t *j = json_loads(dt_last(t), 0, NULL);
    json_t *users = json_object_get(j, "presence");
    status[0] = '\0';
    for (size_t i = 0; i < json_array_size(users); i++) {
        json_t *u = json_array_get(users, i);
        if (!strcmp(json_string_value(json_object_get(u, "user_id")), "alice"))
            snprintf(status, sizeof status, "%s", json_string_value(json_object_get(u, "status")));
    }
    json_decref(j);
    return status;
}

/* wendy's presence socket on node 2, subscribed to alice, whom node 1
 * (the server about to die) holds online since `since_ms`. */
static tsession *watcher(long long since_ms) {
    bus_event ev = pres("alice", PROTO_ONLINE, since_ms, 1, 1, 1);
    domain_event(w_dom, &ev);
    domain_event(y_dom, &ev);
    tsession *t = dt_socket(&fx);
    domain_session_open(w_dom, &t->s, "wendy", 1);
    dt_run_until_frames(&fx, t, 1); /* initial_presence, after the store was asked */
    const char *sub = "{\"type\":\"subscribe\",\"userIds\":[\"alice\"]}";
    domain_session_message(w_dom, &t->s, sub, strlen(sub));
    dt_run_until_frames(&fx, t, 2);
    assert_string_equal(status_seen(t), "online");
    return t;
}

static tsession *chat_socket(domain *d, const char *user) {
    tsession *t = dt_socket(&fx);
    domain_session_open(d, &t->s, user, 0);
    return t;
}

static void close_all(tsession *a, tsession *b) {
    domain_session_closed(y_dom, &a->s);
    domain_session_closed(w_dom, &b->s);
}

/* Node 1 dies; node 2 notices first and tells wendy alice is offline;
 * alice reconnects to node 3 before node 3 has noticed. Node 3's hold
 * must still win over node 2's (newer) offline. */
static void test_reconnect_before_the_server_notices(void **state) {
    tsession *w = watcher(1000);
    domain_server_gone(w_dom, 1);
    assert_string_equal(status_seen(w), "offline");
    int before = y_bus->n;
    tsession *a = chat_socket(y_dom, "alice");
    assert_int_equal(y_bus->n, before + 1); /* node 3 announced its hold */
    const bus_event *held = &y_bus->events[before];
    assert_string_equal(held->u.presence.user, "alice");
    assert_int_equal(held->u.presence.status, PROTO_ONLINE);
    assert_int_equal(held->server_id, 3);
    assert_true(held->u.presence.holds);
    assert_true(held->u.presence.last_seen_ms >
                1000); /* stamped now: a socket opening is a sighting */
    domain_event(w_dom, held);
    assert_string_equal(status_seen(w), "online");
    domain_server_gone(y_dom, 1); /* node 3 catches up: alice stays online */
    close_all(a, w);
}

/* The other order: alice reconnects to node 3 first, but node 3's hold is
 * still on the bus when node 2 notices node 1's death and concludes
 * offline. The hold, arriving after, proves alice is held. */
static void test_hold_in_flight_when_the_server_dies(void **state) {
    tsession *w = watcher(1000);
    int before = y_bus->n;
    tsession *a = chat_socket(y_dom, "alice");
    assert_int_equal(y_bus->n, before + 1);
    usleep(3000); /* node 2's offline is concluded strictly later */
    domain_server_gone(w_dom, 1);
    assert_string_equal(status_seen(w), "offline");
    domain_event(w_dom, &y_bus->events[before]);
    assert_string_equal(status_seen(w), "online");
    close_all(a, w);
}

/* An "offline" learnt from another server (not concluded from a death
 * here) is not overturned by an older hold still on its way from a third:
 * events from different servers overtake each other. */
static void test_older_hold_after_an_offline(void **state) {
    tsession *w = dt_socket(&fx);
    domain_session_open(w_dom, &w->s, "wendy", 1);
    dt_run_until_frames(&fx, w, 1);
    const char *sub = "{\"type\":\"subscribe\",\"userIds\":[\"alice\"]}";
    domain_session_message(w_dom, &w->s, sub, strlen(sub));
    dt_run_until_frames(&fx, w, 2);
    bus_event on4 = pres("alice", PROTO_ONLINE, 4000, 4, 1, 1);
    bus_event off4 = pres("alice", PROTO_OFFLINE, 5000, 4, 0, 1);
    bus_event on5 = pres("alice", PROTO_ONLINE, 3000, 5, 1, 1);
    domain_event(w_dom, &on4);
    domain_event(w_dom, &off4);
    assert_string_equal(status_seen(w), "offline");
    int frames = w->frames;
    domain_event(w_dom, &on5); /* left before that offline */
    assert_int_equal(w->frames, frames);
    assert_string_equal(status_seen(w), "offline");
    domain_session_closed(w_dom, &w->s);
}

/* Alice, held by node 1, also connects to node 3; node 2 hears that hold
 * and survives node 1's death with alice online. Then alice leaves node
 * 3 before node 3 has noticed the death (so it only drops its hold,
 * thinking node 1 still has her). When node 3 does notice, it concludes
 * offline, and node 2 must hear of it rather than show her online. */
static void test_leaving_before_the_server_notices(void **state) {
    tsession *w = watcher(1000);
    int before = y_bus->n;
    tsession *a = chat_socket(y_dom, "alice");
    domain_event(w_dom, &y_bus->events[before]);
    domain_server_gone(w_dom, 1);
    assert_string_equal(status_seen(w), "online");
    int frames = w->frames;
    domain_session_closed(y_dom, &a->s);
    for (int i = before + 1; i < y_bus->n; i++)
        domain_event(w_dom, &y_bus->events[i]);
    assert_int_equal(w->frames, frames); /* node 3 only let go: no news yet */
    before = y_bus->n;
    domain_server_gone(y_dom, 1);
    assert_true(y_bus->n > before);
    for (int i = before; i < y_bus->n; i++)
        domain_event(w_dom, &y_bus->events[i]);
    assert_string_equal(status_seen(w), "offline");
    domain_session_closed(w_dom, &w->s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reconnect_before_the_server_notices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_in_flight_when_the_server_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_hold_after_an_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaving_before_the_server_notices, setup, teardown),
    };
    return cmocka_run_group_tests_name("presence_order", tests, NULL, NULL);
}
