/*
 * test_big_channels: a channel with more members than --big-channel is
 * quieter, so that filling it one join at a time does not cost members²
 * deliveries (issue #11, PROTOCOL.md "Big channels"): its joins and leaves
 * are stored (history shows them) but not pushed live, a read receipt goes
 * to the reader's own connections only, its members are not one another's
 * presence contacts, and channel_joined / channels_list name at most 100
 * members while member_count says how many there are. Below the threshold
 * nothing changes.
 */
#include "integration/chatkit.h"

#include <stdlib.h>
#include <string.h>

static void join(tconn *c, const char *ch) {
    send_pack(c, "{s:s, s:s}", "type", "join_channel", "channelId", ch);
    recv_type(c, "channel_joined", H_TIMEOUT);
}

static void test_joins_and_receipts_in_a_big_channel(void **state) {
    const char *flags[] = {"--big-channel", "3", NULL};
    chatd_srv *s = chatd_start(flags);
    member m[3];
    const char *ch = group_with(s, m, 2, "big");
    /* a 3rd joins: 3 members is not big, everyone hears it */
    m[2].name = new_user(s, "big");
    m[2].c = chat_login(s, m[2].name);
    join(m[2].c, ch);
    recv_system(m[0].c, ch, "user_joined");
    /* a 4th and a 5th join: the channel is big (4, 5 members): stored, not pushed */
    const char *d = new_user(s, "big");
    tconn *cd = chat_login(s, d);
    join(cd, ch);
    const char *e = new_user(s, "big");
    tconn *ce = chat_login(s, e);
    join(ce, ch);
    recv_none_type(m[0].c, "system", 400);
    recv_none_type(cd, "system", 0);
    json_t *h = fetch_history(m[0].c, ch, NULL, NULL, 10);
    json_t *last = json_array_get(jarr(h, "messages"), json_array_size(jarr(h, "messages")) - 1);
    check_system(last, ch, "user_joined", e);

    /* messages still reach everyone */
    send_msg(m[1].c, ch, "to all five");
    recv_msg(m[0].c, ch, "to all five");
    recv_msg(ce, ch, "to all five");

    /* a read receipt reaches only the reader's own sockets */
    tconn *m0b = chat_login(s, m[0].name);
    drain(m[1].c, 200);
    send_pack(m[0].c, "{s:s, s:s}", "type", "mark_channel_read", "channelId", ch);
    recv_type(m[0].c, "channel_read", H_TIMEOUT);
    recv_type(m0b, "channel_read", H_TIMEOUT);
    recv_none_type(m[1].c, "channel_read", 400);

    /* the list says how many there are */
    tconn_close(ce);
    ce = chat_login(s, e);
    json_t *entry = list_entry(recv_type(ce, "channels_list", 0), ch);
    assert_int_equal(jint(entry, "member_count"), 5);
    assert_int_equal(json_array_size(jarr(entry, "other_participants")), 4);

    /* leaving a big channel: stored, not pushed */
    send_pack(cd, "{s:s, s:s}", "type", "leave_channel", "channelId", ch);
    recv_type(cd, "channel_left", H_TIMEOUT);
    recv_none_type(m[0].c, "system", 400);

    tconn *all[] = {m[0].c, m[1].c, m[2].c, cd, ce, m0b};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tconn_close(all[i]);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Presence: members of a big channel are not presence contacts. */
static void test_no_presence_through_big_channels(void **state) {
    const char *flags[] = {"--big-channel", "2", NULL};
    chatd_srv *s = chatd_start(flags);
    member m[3];
    const char *ch = group_with(s, m, 3, "bp");
    (void)ch;
    tconn *p0 = presence_login(s, m[0].name);
    json_t *init = recv_type(p0, "initial_presence", 0);
    assert_int_equal(json_array_size(jarr(init, "presence")), 0);
    tconn *p1 = presence_login(s, m[1].name);
    send_pack(p1, "{s:s, s:s}", "type", "status_update", "status", "busy");
    if (try_recv_presence(p0, m[1].name, "busy", 500)) fail_msg("presence through a big channel");
    /* an explicit subscription still works */
    send_pack(p0, "{s:s, s:[s]}", "type", "subscribe", "userIds", m[1].name);
    if (!try_recv_presence(p0, m[1].name, "busy", H_TIMEOUT)) fail_msg("subscribe does not work");
    tconn *all[] = {m[0].c, m[1].c, m[2].c, p0, p1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tconn_close(all[i]);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* 121 members: channel_joined (of a big channel) and channels_list name
 * at most 100. */
static void test_member_lists_are_bounded(void **state) {
    const char *flags[] = {"--big-channel", "50", NULL};
    chatd_srv *s = chatd_start(flags);
    const char *owner = new_user(s, "many");
    tconn *c = chat_login(s, owner);
    const char *ch = create_group(c, "many", (const char *[]){NULL});
    for (int i = 0; i < 119; i++) {
        tconn *j = chat_connect(s, forge_token(new_user(s, "many"), 0, 3600));
        join(j, ch);
        tconn_close(j);
    }
    tconn *last = chat_connect(s, forge_token(new_user(s, "many"), 0, 3600));
    send_pack(last, "{s:s, s:s}", "type", "join_channel", "channelId", ch);
    json_t *joined = recv_type(last, "channel_joined", H_TIMEOUT);
    assert_int_equal(json_array_size(jarr(joined, "participants")), 100);
    tconn_close(last);
    tconn_close(c);
    c = chat_login(s, owner);
    json_t *entry = list_entry(recv_type(c, "channels_list", 0), ch);
    assert_int_equal(jint(entry, "member_count"), 121);
    assert_int_equal(json_array_size(jarr(entry, "other_participants")), 100);
    tconn_close(c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_joins_and_receipts_in_a_big_channel),
        cmocka_unit_test(test_no_presence_through_big_channels),
        cmocka_unit_test(test_member_lists_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
