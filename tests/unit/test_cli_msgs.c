/*
 * Unit tests for src/cli/msgs.c: handles are stable and never reused for
 * another message, the ring forgets the oldest, and edits, deletions and
 * reactions are idempotent (the same change seen live and again through
 * fetch_changes changes nothing the second time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/fmt.h"
#include "cli/msgs.h"

#define CH "11111111-2222-4333-8444-555555555555"
#define CH2 "99999999-2222-4333-8444-555555555555"

static cli_msg *put(cli_msgs *t, const char *ch, const char *id, const char *user,
                    const char *text) {
    json_t *m = json_pack("{s:s, s:s, s:s}", "message_id", id, "user_id", user, "content", text);
    cli_msg *e = cli_msgs_put(t, ch, m);
    json_decref(m);
    return e;
}

static void test_handles(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 4);
    cli_msg *a = put(&t, CH, "1000", "alice", "one");
    assert_int_equal(a->handle, 1);
    cli_msg *b = put(&t, CH, "1001", "bob", "two");
    assert_int_equal(b->handle, 2);
    /* shown again (history): same handle, refreshed text */
    cli_msg *a2 = put(&t, CH, "1000", "alice", "one, edited");
    assert_int_equal(a2->handle, 1);
    assert_string_equal(a2->text, "one, edited");
    /* the same id in another channel is another message */
    assert_int_equal(put(&t, CH2, "1000", "x", "y")->handle, 3);
    assert_ptr_equal(cli_msgs_by_handle(&t, 2), cli_msgs_by_id(&t, CH, 1001));
    assert_null(cli_msgs_by_handle(&t, 0));
    assert_null(cli_msgs_by_handle(&t, 9));
    assert_null(put(&t, CH, "not-an-id", "x", "y"));
    /* the ring forgets the oldest: handle 1 falls out after 4 more */
    put(&t, CH, "1002", "bob", "3");
    put(&t, CH, "1003", "bob", "4");
    assert_null(cli_msgs_by_handle(&t, 1));
    assert_null(cli_msgs_by_id(&t, CH, 1000));
    assert_int_equal(cli_msgs_by_handle(&t, 5)->id, 1003);
    /* a forgotten message seen again gets a new handle, never an old one */
    assert_int_equal(put(&t, CH, "1000", "alice", "again")->handle, 6);
    cli_msgs_free(&t);
}

static void test_last(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 16);
    put(&t, CH, "2000", "alice", "a1");
    put(&t, CH, "2002", "bob", "b1");
    put(&t, CH, "2001", "alice", "a2"); /* shown later, but older */
    put(&t, CH2, "3000", "alice", "elsewhere");
    assert_int_equal(cli_msgs_last(&t, CH, NULL)->id, 2002);
    assert_int_equal(cli_msgs_last(&t, CH, "alice")->id, 2001);
    assert_null(cli_msgs_last(&t, CH, "carol"));
    cli_msgs_delete(cli_msgs_by_id(&t, CH, 2002));
    assert_int_equal(cli_msgs_last(&t, CH, NULL)->id, 2001); /* not a deleted one */
    cli_msgs_free(&t);
}

static void test_changes_idempotent(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 16);
    cli_msg *m = put(&t, CH, "5000", "alice", "helo");
    assert_false(m->edited);
    assert_true(cli_msgs_edit(m, "hello", NULL));
    assert_false(cli_msgs_edit(m, "hello", NULL)); /* the replay */
    assert_true(m->edited);
    assert_string_equal(m->text, "hello");

    assert_true(cli_msgs_react(m, "👍", "bob", 1, 0));
    assert_false(cli_msgs_react(m, "👍", "bob", 1, 0));
    assert_true(cli_msgs_react(m, "👍", "carol", 1, 0));
    assert_true(cli_msgs_react(m, "🎉", "bob", 1, 0));
    assert_true(cli_msgs_has_reacted(m, "👍", "carol"));
    assert_false(cli_msgs_has_reacted(m, "🎉", "carol"));
    char *s = fmt_reactions(m->reactions);
    assert_string_equal(s, "👍 2 🎉 1"); /* in order of first use */
    free(s);
    assert_false(cli_msgs_react(m, "🎉", "carol", 0, 0)); /* never added */
    assert_true(cli_msgs_react(m, "👍", "bob", 0, 0));
    assert_true(cli_msgs_react(m, "👍", "carol", 0, 0));
    s = fmt_reactions(m->reactions);
    assert_string_equal(s, "🎉 1"); /* an emoji nobody uses any more is gone */
    free(s);

    assert_true(cli_msgs_delete(m));
    assert_false(cli_msgs_delete(m));
    assert_string_equal(m->text, "");
    assert_int_equal(json_array_size(m->reactions), 0);
    assert_false(cli_msgs_edit(m, "zombie", "2030-01-01T00:00:00.000Z"));
    assert_false(cli_msgs_react(m, "👍", "bob", 1, 0));
    cli_msgs_free(&t);
}

/* A history page showed the message after two edits; fetch_changes then
 * replays both edits: neither is news. A later edit is, even to the same
 * text. */
static void test_edit_replay_by_time(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 16);
    json_t *j = json_loads("{\"message_id\":\"8000\",\"user_id\":\"bob\",\"content\":\"B\","
                           "\"edited_at\":\"2026-12-02T10:00:02.000Z\"}",
                           0, NULL);
    cli_msg *m = cli_msgs_put(&t, CH, j);
    json_decref(j);
    assert_false(cli_msgs_edit(m, "A", "2026-12-02T10:00:01.000Z"));
    assert_string_equal(m->text, "B");
    assert_false(cli_msgs_edit(m, "B", "2026-12-02T10:00:02.000Z"));
    assert_true(cli_msgs_edit(m, "B", "2026-12-02T10:00:03.000Z"));
    assert_true(cli_msgs_edit(m, "C", "2026-12-02T10:00:04.000Z"));
    assert_string_equal(m->text, "C");
    assert_string_equal(m->edited_at, "2026-12-02T10:00:04.000Z");
    cli_msgs_free(&t);
}

/* A popular emoji: the server listed 2 of its 5 users. */
static void test_reactions_beyond_the_listed_users(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 16);
    json_t *j = json_loads("{\"message_id\":\"9000\",\"user_id\":\"bob\",\"content\":\"x\","
                           "\"reactions\":[{\"emoji\":\"👍\",\"count\":5,\"users\":[\"a\",\"b\"]}]}",
                           0, NULL);
    cli_msg *m = cli_msgs_put(&t, CH, j);
    json_decref(j);
    assert_true(cli_msgs_react(m, "👍", "e", 0, 0));  /* not listed, yet a real removal */
    assert_false(cli_msgs_react(m, "👍", "a", 1, 0)); /* listed: known */
    assert_true(cli_msgs_react(m, "👍", "a", 0, 0));
    char *s = fmt_reactions(m->reactions);
    assert_string_equal(s, "👍 3");
    free(s);
    assert_true(cli_msgs_react(m, "👍", "f", 1, 0));
    assert_false(cli_msgs_react(m, "👍", "f", 1, 0)); /* now listed */
    s = fmt_reactions(m->reactions);
    assert_string_equal(s, "👍 4");
    free(s);
    cli_msgs_free(&t);
}

/* Two changes delivered in the wrong order, and one twice (a cluster's
 * bus may): the newest by seq wins. */
static void test_reactions_by_seq(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 16);
    cli_msg *m = put(&t, CH, "9100", "alice", "vote");
    assert_false(cli_msgs_react(m, "👍", "bob", 0, 12)); /* bob's removal came first */
    assert_false(cli_msgs_react(m, "👍", "bob", 1, 11)); /* then his earlier add: stale */
    assert_false(cli_msgs_has_reacted(m, "👍", "bob"));
    assert_true(cli_msgs_react(m, "👍", "carol", 1, 10));  /* another user: not stale */
    assert_false(cli_msgs_react(m, "👍", "carol", 1, 10)); /* delivered twice */
    assert_true(cli_msgs_react(m, "👍", "bob", 1, 13));
    assert_false(cli_msgs_react(m, "👍", "bob", 0, 12)); /* a repeat of the old removal */
    char *s = fmt_reactions(m->reactions);
    assert_string_equal(s, "👍 2");
    free(s);
    cli_msgs_free(&t);
}

static void test_put_fields(void **state) {
    cli_msgs t;
    cli_msgs_init(&t, 16);
    json_t *j = json_loads("{\"message_id\":\"7000\",\"user_id\":\"bob\",\"content\":\"x\","
                           "\"edited_at\":\"2026-12-02T10:00:00.000Z\",\"reply_to\":\"6999\","
                           "\"reactions\":[{\"emoji\":\"👍\",\"count\":1,\"users\":[\"a\"]}]}",
                           0, NULL);
    cli_msg *m = cli_msgs_put(&t, CH, j);
    assert_true(m->edited);
    assert_true(m->reply_to == 6999);
    assert_true(cli_msgs_has_reacted(m, "👍", "a"));
    assert_false(cli_msgs_react(m, "👍", "a", 1, 0)); /* known from the wire: no double count */
    json_decref(j);
    j = json_loads("{\"message_id\":\"7001\",\"user_id\":\"bob\",\"content\":\"\","
                   "\"deleted\":true,\"reply_count\":3}",
                   0, NULL);
    m = cli_msgs_put(&t, CH, j);
    assert_true(m->deleted);
    assert_int_equal(m->reply_count, 3);
    json_decref(j);
    cli_msgs_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handles),
        cmocka_unit_test(test_last),
        cmocka_unit_test(test_changes_idempotent),
        cmocka_unit_test(test_edit_replay_by_time),
        cmocka_unit_test(test_reactions_beyond_the_listed_users),
        cmocka_unit_test(test_reactions_by_seq),
        cmocka_unit_test(test_put_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
