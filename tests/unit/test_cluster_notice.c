/*
 * A notice of a change, delivered before the change's event. In a cluster
 * a channel change reaches another server twice, by two roads: the stored
 * `system` notice (through the dispatcher, like every message) and a
 * BUS_EV_CHANNEL event (straight on the bus) that makes the server re-read
 * the channel. The two do not keep order between them; a member who saw
 * the notice and at once asked about the channel got the old members or
 * roles (integration/test_manage test_roles [cluster, kafka bus] once).
 * The notice's record now says the channel changed, and the receiver
 * treats its copy as stale from there on.
 *
 * Two chat domains (two cluster servers) share one real SQLite store; the
 * bus between them is this test's relay: it keeps every record a domain
 * publishes and drops every event, and the test hands records to the other
 * domain when it chooses. Sessions are captured in memory.
 */
#include "domain_test_util.h"

/* ---- the relay bus: keeps records, drops events ---- */

enum { MAX_RECORDS = 64, MAX_TO = 8 };

typedef struct kept {
    char channel[64]; /* "" = none */
    rcbuf *payload;
    char to[MAX_TO][64];
    const char *to_p[MAX_TO];
    size_t n;
    int presence, changed;
} kept;

struct bus {
    kept rec[MAX_RECORDS];
    int n;
};

static int relay_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -1;
}
static void relay_publish(bus *b, const bus_record *r) {
    assert_true(b->n < MAX_RECORDS && r->n_recipients <= MAX_TO);
    kept *k = &b->rec[b->n++];
    snprintf(k->channel, sizeof k->channel, "%s", r->channel_id ? r->channel_id : "");
    k->payload = rcbuf_ref(r->payload);
    k->n = r->n_recipients;
    for (size_t i = 0; i < k->n; i++)
        snprintf(k->to[i], sizeof k->to[i], "%s", r->recipients[i]);
    k->presence = r->presence;
    k->changed = r->changed;
}
static void relay_event(bus *b, const bus_event *e) {} /* lost, or late: never handed on */
static void relay_close(bus *b) {
    for (int i = 0; i < b->n; i++)
        rcbuf_unref(b->rec[i].payload);
    free(b);
}
static const bus_backend relay = {"relay", relay_open, relay_publish, relay_event, relay_close};

/* Hands d the records b kept from index from on, as the inbox would. */
static void hand_over(bus *b, int from, domain *d) {
    for (int i = from; i < b->n; i++) {
        kept *k = &b->rec[i];
        for (size_t j = 0; j < k->n; j++)
            k->to_p[j] = k->to[j];
        bus_record r = {k->channel[0] ? k->channel : NULL,
                        k->payload,
                        k->to_p,
                        k->n,
                        k->presence,
                        NULL,
                        k->changed};
        domain_deliver(d, &r);
    }
}

/* ---- fixture ---- */

static dt_fixture fx;
static dt_pair pair;
#define w_dom pair.d[0] /* alice's server */
#define y_dom pair.d[1] /* bob's server */
#define w_bus pair.b[0]

static int setup(void **state) {
    dt_open(&fx, "chatd-cnotice-");
    const char *users[] = {"alice", "bob", NULL};
    dt_users(&fx, users);
    dt_pair_open(&fx, &pair, &relay, users);
    return 0;
}

static int teardown(void **state) {
    dt_pair_close(&fx, &pair);
    return 0;
}

/* bob's role in the participants of his last channel_joined. */
static const char *role_of_bob(const tsession *bob) {
    json_t *p = json_object_get(dt_last_of(bob, "channel_joined"), "participants");
    for (size_t i = 0; i < json_array_size(p); i++)
        if (!strcmp(dt_str(json_array_get(p, i), "user_id"), "bob"))
            return dt_str(json_array_get(p, i), "role");
    fail_msg("bob is not in channel_joined");
    return NULL;
}

/* alice (server W) makes bob an admin; bob (server Y) sees the notice,
 * never the event, and asks about the channel at once: Y answers with
 * the new role, not its cached old one. */
static void test_notice_before_event(void **state) {
    tsession *alice = dt_login(&fx, w_dom, "alice", 0);
    tsession *bob = dt_login(&fx, y_dom, "bob", 0);
    dt_settle(&fx);
    const char *id = dt_create_group(&fx, alice, "g", "\"bob\"");

    /* Y learns the channel from the store (it has no event either) */
    dt_send(bob, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", id);
    dt_settle(&fx);
    assert_string_equal(role_of_bob(bob), "member");

    int mark = w_bus->n;
    dt_send(alice,
            "{\"type\":\"set_role\",\"channelId\":\"%s\",\"userId\":\"bob\",\"role\":\"admin\"}",
            id);
    dt_settle(&fx);
    int notices = 0;
    for (int i = mark; i < w_bus->n; i++)
        notices += w_bus->rec[i].changed;
    assert_int_equal(notices, 1); /* the role_changed notice, and only it, says so */

    int seen = dt_count(bob, "system", 0);
    hand_over(w_bus, mark, y_dom);
    dt_settle(&fx);
    assert_int_equal(dt_count(bob, "system", 0), seen + 1); /* the notice */

    dt_send(bob, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", id);
    dt_settle(&fx);
    assert_string_equal(role_of_bob(bob), "admin");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notice_before_event, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
