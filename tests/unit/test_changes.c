/*
 * Unit tests for chat/changes through the domain (protocol 1.1): an edit,
 * a deletion and a reaction are each delivered once to every socket of
 * every member (one encoded buffer shared by all) and to nobody else;
 * commit-first: when the store fails the write the requester gets
 * `unavailable` and nobody sees anything, and nothing was stored; typing
 * goes to the other members only and at most once per 2 s per user and
 * channel. Real SQLite store, local bus, sessions captured in memory
 * (tests/unit/domain_test_util.h); alice has two chat sockets, bob, carol
 * and dave one each, and the channel "team" is alice, bob and carol.
 */
#include "domain_test_util.h"

static dt_fixture fx;
static dt_cast k;
static tsession *a1, *a2, *b, *c, *d;
static char team[37];
static char first[24]; /* alice's message in the team */

static const char *UNAVAILABLE = "storage is unavailable; nothing was changed, retry shortly";

static int setup(void **state) {
    dt_cast_open(&fx, &k, "chatd-changes-");
    a1 = k.a1, a2 = k.a2, b = k.b, c = k.c, d = k.d;
    snprintf(team, sizeof(team), "%s", dt_create_group(&fx, a1, "team", "\"bob\",\"carol\""));
    dt_settle(&fx);
    dt_send(a1, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"first\"}", team);
    dt_settle(&fx);
    snprintf(first, sizeof first, "%s", dt_str(dt_last_of(b, "chat_message"), "message_id"));
    return 0;
}

static int teardown(void **state) {
    dt_cast_close(&fx, &k);
    return 0;
}

static void edit(tsession *t, const char *content) {
    dt_send(t,
            "{\"type\":\"edit_message\",\"channelId\":\"%s\",\"message_id\":\"%s\","
            "\"content\":\"%s\"}",
            team, first, content);
}

static void react(tsession *t, const char *emoji) {
    dt_send(t, "{\"type\":\"react\",\"channelId\":\"%s\",\"message_id\":\"%s\",\"emoji\":\"%s\"}",
            team, first, emoji);
}

static void del(tsession *t) {
    dt_send(t, "{\"type\":\"delete_message\",\"channelId\":\"%s\",\"message_id\":\"%s\"}", team,
            first);
}

/* Each change reaches every member socket once, as one shared buffer. */
static void expect_fanout(const dt_marks *m, const char *type) {
    tsession *members[] = {a1, a2, b, c};
    rcbuf *shared = a1->frame[dt_from(&fx, m, a1)];
    for (int i = 0; i < 4; i++) {
        dt_expect_types(&fx, m, members[i], (const char *[]){type, NULL});
        assert_ptr_equal(members[i]->frame[dt_from(&fx, m, members[i])], shared);
    }
    assert_int_equal(dt_since(&fx, m, d), 0);
}

static void test_changes_delivered_once(void **state) {
    dt_marks m = dt_mark(&fx);
    edit(a2, "first, edited");
    dt_settle(&fx);
    expect_fanout(&m, "message_updated");
    json_t *u = dt_last_of(c, "message_updated");
    assert_string_equal(dt_str(u, "content"), "first, edited");
    assert_int_equal(json_integer_value(json_object_get(u, "seq")), 2);

    m = dt_mark(&fx);
    react(b, "+1");
    dt_settle(&fx);
    expect_fanout(&m, "reaction");
    assert_int_equal(json_integer_value(json_object_get(dt_last_of(a1, "reaction"), "seq")), 3);
    m = dt_mark(&fx);
    react(b, "+1"); /* nothing changes: nothing is sent, not even to bob */
    dt_settle(&fx);
    assert_int_equal(dt_since(&fx, &m, a1) + dt_since(&fx, &m, a2) + dt_since(&fx, &m, b) +
                         dt_since(&fx, &m, c),
                     0);

    m = dt_mark(&fx);
    del(a1);
    dt_settle(&fx);
    expect_fanout(&m, "message_deleted");
    assert_int_equal(json_integer_value(json_object_get(dt_last_of(b, "message_deleted"), "seq")),
                     4);
    /* dave is no member: refused without a store round trip */
    m = dt_mark(&fx);
    react(d, "+1");
    dt_expect_error(d, "forbidden", "react", NULL);
}

/* Since m: a1 got only `unavailable` for type, nobody else anything. */
static void expect_unavailable(const dt_marks *m, const char *type) {
    dt_settle(&fx);
    dt_expect_types(&fx, m, a1, (const char *[]){"error", NULL});
    dt_expect_error(a1, "unavailable", type, UNAVAILABLE);
    assert_int_equal(dt_since(&fx, m, a2) + dt_since(&fx, m, b) + dt_since(&fx, m, c), 0);
}

static void test_failed_writes_show_nothing(void **state) {
    dt_fail(&fx, 1u << STORE_MSG_EDIT | 1u << STORE_MSG_DELETE | 1u << STORE_REACT, STORE_EIO);
    dt_marks m = dt_mark(&fx);
    edit(a1, "lost");
    expect_unavailable(&m, "edit_message");
    m = dt_mark(&fx);
    del(a1);
    expect_unavailable(&m, "delete_message");
    m = dt_mark(&fx);
    react(a1, "+1");
    expect_unavailable(&m, "react");
    dt_fail(&fx, 1u << STORE_CHANGES | 1u << STORE_THREAD, STORE_EIO);
    dt_send(b, "{\"type\":\"fetch_changes\",\"channelId\":\"%s\",\"after_seq\":0}", team);
    dt_settle(&fx);
    dt_expect_error(b, "unavailable", "fetch_changes", UNAVAILABLE);
    dt_send(b, "{\"type\":\"fetch_thread\",\"channelId\":\"%s\",\"message_id\":\"%s\"}", team,
            first);
    dt_settle(&fx);
    dt_expect_error(b, "unavailable", "fetch_thread", UNAVAILABLE);
    dt_fail(&fx, 0, 0);

    /* nothing was stored: one message, as sent, and the next change is seq 2 */
    dt_send(b, "{\"type\":\"fetch_changes\",\"channelId\":\"%s\",\"after_seq\":0}", team);
    dt_settle(&fx);
    json_t *ch = dt_last_of(b, "changes");
    json_t *ev = json_object_get(ch, "events");
    assert_int_equal(json_array_size(ev), 1);
    assert_string_equal(dt_str(json_array_get(ev, 0), "content"), "first");
    react(b, "+1");
    dt_settle(&fx);
    assert_int_equal(json_integer_value(json_object_get(dt_last_of(c, "reaction"), "seq")), 2);
}

static void test_typing(void **state) {
    dt_marks m = dt_mark(&fx);
    dt_send(a1, "{\"type\":\"typing\",\"channelId\":\"%s\"}", team);
    dt_send(a2, "{\"type\":\"typing\",\"channelId\":\"%s\"}", team); /* same user: dropped */
    dt_send(b, "{\"type\":\"typing\",\"channelId\":\"%s\"}", team);
    dt_settle(&fx);
    /* alice's sockets get bob's only; bob gets alice's; carol both */
    dt_expect_types(&fx, &m, a1, (const char *[]){"typing", NULL});
    dt_expect_types(&fx, &m, a2, (const char *[]){"typing", NULL});
    assert_string_equal(dt_str(dt_last_of(a1, "typing"), "user_id"), "bob");
    dt_expect_types(&fx, &m, b, (const char *[]){"typing", NULL});
    assert_string_equal(dt_str(dt_last_of(b, "typing"), "user_id"), "alice");
    dt_expect_types(&fx, &m, c, (const char *[]){"typing", "typing", NULL});
    assert_int_equal(dt_since(&fx, &m, d), 0);
    dt_send(d, "{\"type\":\"typing\",\"channelId\":\"%s\"}", team);
    dt_settle(&fx);
    dt_expect_error(d, "forbidden", "typing", NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_changes_delivered_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_writes_show_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typing, setup, teardown),
    };
    return cmocka_run_group_tests_name("changes", tests, NULL, NULL);
}
