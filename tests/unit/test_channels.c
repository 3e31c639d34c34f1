/*
 * Unit tests for chat/channels through the domain: create_channel (group
 * and direct, a direct channel unique per pair even when two creates race),
 * join_channel and leave_channel with their system notices and channel
 * lists, the per-user channel cap, every error, and commit-first: when the
 * store fails a membership write, the client gets `unavailable` and the
 * in-memory model is as it was. Real SQLite store, local bus, sessions
 * captured in memory (tests/unit/domain_test_util.h); alice has two chat
 * sockets, bob, carol and dave one each.
 */
#include "domain_test_util.h"

#include "chat/internal.h" /* the model, to show that a failed write left it alone */

static dt_fixture fx;
static dt_cast k;
static domain *dom;
static tsession *a1, *a2, *b, *c, *d;

static int setup(void **state) {
    dt_cast_open(&fx, &k, "chatd-channels-");
    dom = k.dom, a1 = k.a1, a2 = k.a2, b = k.b, c = k.c, d = k.d;
    return 0;
}

static int teardown(void **state) {
    dt_cast_close(&fx, &k);
    return 0;
}

static ch_channel *model(const char *id) {
    return chat__channel(dom, id);
}

typedef dt_marks marks;

static marks mark(void) {
    return dt_mark(&fx);
}

static int since(const marks *m, const tsession *t) {
    return dt_since(&fx, m, t);
}

static void expect_types(const marks *m, const tsession *t, const char *const *types) {
    dt_expect_types(&fx, m, t, types);
}

/* The channel_created, then channel_joined, then channels_list a creator
 * is sent; the first two are returned. */
static void creator_frames(const marks *m, const tsession *t, json_t **created, json_t **joined) {
    expect_types(m, t,
                 (const char *[]){"channel_created", "channel_joined", "channels_list", NULL});
    *created = json_object_get(dt_json(t, dt_from(&fx, m, t)), "channel");
    *joined = dt_json(t, dt_from(&fx, m, t) + 1);
}

static int has_string(json_t *arr, const char *s) {
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!strcmp(json_string_value(json_array_get(arr, i)), s)) return 1;
    return 0;
}

/* ---- create_channel ---- */

static void test_create_group(void **state) {
    marks m = mark();
    dt_send(a1, "{\"type\":\"create_channel\",\"name\":\"team\","
                "\"participants\":[\"bob\",\"carol\",\"alice\",\"bob\"]}");
    dt_settle(&fx);
    json_t *ch, *joined;
    creator_frames(&m, a1, &ch, &joined);
    const char *id = dt_str(ch, "channel_id");
    assert_int_equal(strlen(id), 36);
    assert_string_equal(dt_str(ch, "type"), "group");
    json_t *md = json_object_get(ch, "metadata");
    assert_string_equal(dt_str(md, "creator_id"), "alice");
    assert_string_equal(dt_str(md, "name"), "team");
    json_t *parts = json_object_get(ch, "participants");
    assert_int_equal(json_array_size(parts), 3);                               /* bob once */
    assert_string_equal(json_string_value(json_array_get(parts, 0)), "alice"); /* creator first */
    assert_true(has_string(parts, "bob") && has_string(parts, "carol"));
    assert_string_equal(dt_str(joined, "channelId"), id);
    assert_int_equal(json_array_size(json_object_get(joined, "messages")), 0);
    json_t *members = json_object_get(joined, "participants");
    assert_int_equal(json_array_size(members), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *p = json_array_get(members, i);
        int admin = !strcmp(dt_str(p, "user_id"), "alice");
        assert_string_equal(dt_str(p, "role"), admin ? "admin" : "member");
    }
    /* every member's sockets get a fresh list (alice's other one too); dave nothing */
    tsession *listed[] = {a2, b, c};
    for (int i = 0; i < 3; i++)
        expect_types(&m, listed[i], (const char *[]){"channels_list", NULL});
    assert_int_equal(since(&m, d), 0);
    json_t *e = dt_list_entry(b, id);
    assert_non_null(e);
    assert_string_equal(dt_str(e, "channel_name"), "team");
    assert_string_equal(dt_str(e, "channel_type"), "group");
    assert_int_equal(json_integer_value(json_object_get(e, "member_count")), 3);
    assert_int_equal(json_integer_value(json_object_get(e, "unread_count")), 0);
    json_t *others = json_object_get(e, "other_participants");
    assert_true(json_array_size(others) == 2 && has_string(others, "alice") &&
                has_string(others, "carol"));
    assert_non_null(dt_list_entry(a1, id));
    ch_channel *mc = model(id);
    assert_non_null(mc);
    assert_int_equal(strmap_len(&mc->members), 3);
    assert_true(chat__member(mc, "alice")->is_admin);
}

static void test_create_errors(void **state) {
    static const struct {
        const char *frame, *code, *msg;
    } bad[] = {
        {"{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":[\"bob\",\"zed\",\"yan\"]}",
         "not_found", "unknown participants: zed, yan"},
        {"{\"type\":\"create_channel\",\"participants\":[\"bob\"]}", "invalid_field",
         "\"name\" is missing or empty (a group channel needs a name)"},
        {"{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\",\"carol\"]}",
         "invalid_field", "a direct channel needs exactly one other participant (got 2)"},
        {"{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"alice\"]}",
         "invalid_field", "a direct channel needs exactly one other participant (got 0)"},
    };
    marks m = mark();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dt_send(a1, "%s", bad[i].frame);
        dt_expect_error(a1, bad[i].code, "create_channel", bad[i].msg);
    }
    dt_settle(&fx);
    assert_int_equal(since(&m, a1), 4);
    assert_int_equal(since(&m, b) + since(&m, c) + since(&m, a2), 0);
    assert_int_equal(strmap_len(&dom->channels), 0);
}

/* One direct channel per pair: a second create answers with it. */
static void test_direct_channel_unique(void **state) {
    marks m = mark();
    dt_send(a1, "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    json_t *ch, *joined;
    creator_frames(&m, a1, &ch, &joined);
    assert_string_equal(dt_str(ch, "type"), "direct");
    const char *id = dt_created_id(a1);
    expect_types(&m, b, (const char *[]){"channels_list", NULL});
    json_t *e = dt_list_entry(b, id);
    assert_string_equal(dt_str(e, "channel_type"), "direct");
    assert_string_equal(dt_str(e, "channel_name"), "");
    m = mark();
    dt_send(b, "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"alice\","
               "\"bob\"]}");
    dt_settle(&fx);
    expect_types(&m, b, (const char *[]){"channel_created", "channel_joined", NULL});
    assert_string_equal(dt_created_id(b), id);
    assert_int_equal(since(&m, a1) + since(&m, a2), 0); /* nothing changed for alice */
    assert_int_equal(strmap_len(&dom->channels), 1);
}

/* Two creates of the same direct channel in flight at once: the store
 * keeps one, and both creators are answered with it. */
static void test_direct_channel_race(void **state) {
    const char *dm = "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"%s\"]}";
    dt_send(c, dm, "dave");
    dt_send(d, dm, "carol");
    dt_settle(&fx);
    const char *id = dt_created_id(c);
    assert_string_equal(dt_created_id(d), id);
    assert_int_equal(dt_count(c, "channel_created", 0), 1);
    assert_int_equal(dt_count(d, "channel_created", 0), 1);
    assert_int_equal(dt_count(d, "error", 0), 0);
    assert_int_equal(strmap_len(&dom->channels), 1);
    assert_int_equal(strmap_len(&model(id)->members), 2);
}

/* ---- join_channel / leave_channel ---- */

static void test_join_and_leave(void **state) {
    const char *id = dt_create_group(&fx, a1, "team", "\"bob\"");
    dt_settle(&fx);
    marks m = mark();
    dt_send(d, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", id);
    dt_settle(&fx);
    expect_types(&m, d, (const char *[]){"channel_joined", "channels_list", NULL});
    json_t *joined = dt_json(d, dt_from(&fx, &m, d));
    assert_int_equal(json_array_size(json_object_get(joined, "participants")), 3);
    json_t *msgs = json_object_get(joined, "messages"); /* the joiner's notice is in history */
    assert_int_equal(json_array_size(msgs), 1);
    assert_string_equal(dt_str(json_array_get(msgs, 0), "content"), "dave has joined the channel");
    assert_non_null(dt_list_entry(d, id));
    tsession *members[] = {a1, a2, b};
    for (int i = 0; i < 3; i++) { /* the others: the notice, live, once */
        expect_types(&m, members[i], (const char *[]){"system", NULL});
        json_t *sys = dt_last_of(members[i], "system");
        assert_string_equal(dt_str(sys, "content"), "dave has joined the channel");
        assert_string_equal(dt_str(sys, "user_id"), "system");
        assert_string_equal(dt_str(json_object_get(sys, "metadata"), "event"), "user_joined");
        assert_string_equal(dt_str(json_object_get(sys, "metadata"), "user_id"), "dave");
    }
    assert_int_equal(since(&m, c), 0);
    assert_non_null(chat__member(model(id), "dave"));

    m = mark(); /* joining again: channel_joined again, nothing else */
    dt_send(d, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", id);
    dt_settle(&fx);
    expect_types(&m, d, (const char *[]){"channel_joined", NULL});
    assert_int_equal(since(&m, a1) + since(&m, b), 0);

    m = mark();
    dt_send(d, "{\"type\":\"leave_channel\",\"channelId\":\"%s\"}", id);
    dt_settle(&fx);
    /* dave's list comes a second after the one his join brought (coalesced) */
    dt_run_until_frames(&fx, d, dt_from(&fx, &m, d) + 2);
    expect_types(&m, d, (const char *[]){"channel_left", "channels_list", NULL});
    assert_string_equal(dt_str(dt_last_of(d, "channel_left"), "channelId"), id);
    assert_null(dt_list_entry(d, id));
    for (int i = 0; i < 3; i++) {
        expect_types(&m, members[i], (const char *[]){"system", NULL});
        json_t *sys = dt_last_of(members[i], "system");
        assert_string_equal(dt_str(sys, "content"), "dave has left the channel");
        assert_string_equal(dt_str(json_object_get(sys, "metadata"), "event"), "user_left");
    }
    assert_null(chat__member(model(id), "dave"));
    dt_send(d, "{\"type\":\"leave_channel\",\"channelId\":\"%s\"}", id);
    char msg[128];
    snprintf(msg, sizeof(msg), "you are not a member of channel %s", id);
    dt_expect_error(d, "forbidden", "leave_channel", msg);
}

static void test_join_and_leave_errors(void **state) {
    const char *unknown = "123e4567-e89b-42d3-a456-426614174000";
    char msg[160];
    dt_send(d, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", unknown);
    snprintf(msg, sizeof(msg), "channel %s does not exist", unknown);
    dt_expect_error(d, "not_found", "join_channel", msg);
    dt_send(d, "{\"type\":\"leave_channel\",\"channelId\":\"%s\"}", unknown);
    dt_expect_error(d, "not_found", "leave_channel", msg);
    dt_send(d, "{\"type\":\"join_channel\",\"channelId\":\"nope\"}");
    dt_expect_error(d, "invalid_field", "join_channel", NULL);
    dt_send(a1, "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    char dm[37];
    snprintf(dm, sizeof(dm), "%s", dt_created_id(a1));
    snprintf(msg, sizeof(msg), "channel %s is a direct channel between two other users", dm);
    dt_send(c, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", dm);
    dt_expect_error(c, "forbidden", "join_channel", msg);
    dt_send(c, "{\"type\":\"leave_channel\",\"channelId\":\"%s\"}", dm);
    dt_expect_error(c, "forbidden", "leave_channel", msg);
    dt_send(a1, "{\"type\":\"leave_channel\",\"channelId\":\"%s\"}", dm);
    dt_expect_error(a1, "forbidden", "leave_channel", "direct channels cannot be left");
    dt_settle(&fx);
    assert_int_equal(strmap_len(&model(dm)->members), 2);
}

/* max_channels_per_user bounds create (for the creator and every
 * participant) and join. */
static void test_channel_cap(void **state) {
    domain_config cfg;
    domain_config_default(&cfg);
    cfg.max_channels_per_user = 2;
    domain_set_limits(dom, &cfg);
    dt_create_group(&fx, a1, "one", "\"bob\"");
    dt_create_group(&fx, a1, "two", "\"bob\"");
    const char *mine = dt_create_group(&fx, c, "carols", "");
    dt_send(a1, "{\"type\":\"create_channel\",\"name\":\"three\",\"participants\":[]}");
    dt_expect_error(a1, "too_large", "create_channel",
                    "this user is in 2 channels already (the limit): alice");
    dt_send(c, "{\"type\":\"create_channel\",\"name\":\"four\",\"participants\":[\"alice\","
               "\"dave\",\"bob\"]}");
    dt_expect_error(c, "too_large", "create_channel",
                    "these users are in 2 channels already (the limit): alice, bob");
    dt_send(a1, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", mine);
    dt_expect_error(a1, "too_large", "join_channel",
                    "this user is in 2 channels already (the limit): alice");
    dt_settle(&fx);
    assert_int_equal(strmap_len(&dom->channels), 3);
    assert_null(chat__member(model(mine), "alice"));
}

/* ---- commit first ---- */

static const char *UNAVAILABLE = "storage is unavailable; nothing was changed, retry shortly";

static void test_failed_create_changes_nothing(void **state) {
    dt_fail(&fx, 1u << STORE_CHANNEL_CREATE, STORE_EIO);
    marks m = mark();
    dt_send(a1, "{\"type\":\"create_channel\",\"name\":\"team\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    dt_expect_error(a1, "unavailable", "create_channel", UNAVAILABLE);
    dt_send(a1, "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    dt_expect_error(a1, "unavailable", "create_channel", UNAVAILABLE);
    assert_int_equal(since(&m, a1), 2);
    assert_int_equal(since(&m, a2) + since(&m, b), 0);
    assert_int_equal(strmap_len(&dom->channels), 0);
    assert_int_equal(strmap_len(&dom->dms), 0);
    assert_int_equal(strmap_len(&chat__user(dom, "alice")->channels), 0);
    dt_fail(&fx, 1u << STORE_CHANNEL_CREATE, STORE_ECLOSED);
    dt_send(a1, "{\"type\":\"create_channel\",\"name\":\"team\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    dt_expect_error(a1, "unavailable", "create_channel",
                    "the server is shutting down; retry shortly");
    dt_fail(&fx, 0, 0); /* the store is back: the DM can be made, once */
    dt_send(a1, "{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\"]}");
    dt_settle(&fx);
    assert_int_equal(dt_count(a1, "channel_created", 0), 1);
    assert_int_equal(strmap_len(&dom->dms), 1);
}

static void test_failed_join_and_leave_change_nothing(void **state) {
    const char *id = dt_create_group(&fx, a1, "team", "\"bob\"");
    dt_settle(&fx);
    dt_fail(&fx, 1u << STORE_MEMBER_ADD | 1u << STORE_MEMBER_REMOVE, STORE_EIO);
    marks m = mark();
    dt_send(d, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", id);
    dt_send(b, "{\"type\":\"leave_channel\",\"channelId\":\"%s\"}", id);
    dt_settle(&fx);
    dt_expect_error(d, "unavailable", "join_channel", UNAVAILABLE);
    dt_expect_error(b, "unavailable", "leave_channel", UNAVAILABLE);
    assert_int_equal(since(&m, d) + since(&m, b), 2);
    assert_int_equal(since(&m, a1) + since(&m, a2), 0); /* no notice, no list */
    assert_null(chat__member(model(id), "dave"));
    assert_non_null(chat__member(model(id), "bob"));
    assert_int_equal(strmap_len(&chat__user(dom, "dave")->channels), 0);
    dt_fail(&fx, 0, 0);
    /* what the model says is what happens: bob still gets the channel's
     * messages, dave may not post */
    m = mark();
    dt_send(a1, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"still here?\"}", id);
    dt_send(d, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"let me in\"}", id);
    dt_settle(&fx);
    expect_types(&m, b, (const char *[]){"chat_message", NULL});
    char msg[128];
    snprintf(msg, sizeof(msg), "you are not a member of channel %s", id);
    dt_expect_error(d, "forbidden", "chat_message", msg);
}

/* A frame sent right behind a join is handled once the join committed. */
static void test_frames_behind_a_join_wait_for_it(void **state) {
    const char *id = dt_create_group(&fx, a1, "team", "\"bob\"");
    dt_settle(&fx);
    marks m = mark();
    dt_send(d, "{\"type\":\"join_channel\",\"channelId\":\"%s\"}", id);
    dt_send(d, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"hi all\"}", id);
    dt_settle(&fx);
    assert_int_equal(dt_count(d, "error", dt_from(&fx, &m, d)), 0);
    assert_int_equal(dt_count(d, "chat_message", dt_from(&fx, &m, d)), 1);
    assert_string_equal(dt_str(dt_last_of(b, "chat_message"), "content"), "hi all");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_channel_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_channel_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_and_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_and_leave_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_create_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_join_and_leave_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_behind_a_join_wait_for_it, setup, teardown),
    };
    return cmocka_run_group_tests_name("channels", tests, NULL, NULL);
}
