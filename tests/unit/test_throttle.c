/*
 * Unit tests for api/throttle: failed-login throttling by username with
 * the production settings (10 failures within 60 s block for 60 s,
 * PROTOCOL.md section 4). Time is passed in explicitly, so every boundary
 * is checked to the millisecond.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "api/throttle.h"

#define MAX 10
#define WINDOW 60000
#define T0 1000000 /* an arbitrary monotonic start time */

static int setup(void **state) {
    static throttle t;
    throttle_init(&t, MAX, WINDOW);
    *state = &t;
    return 0;
}

static int teardown(void **state) {
    throttle_free(*state);
    return 0;
}

/* n failures for user, one per ms starting at t; returns the last time. */
static uint64_t fail_n(throttle *t, const char *user, unsigned n, uint64_t t_start) {
    uint64_t now = t_start;
    for (unsigned i = 0; i < n; i++, now++) {
        throttle_failure(t, user, now);
        if (throttle_blocked(t, user, now) != (i + 1 >= MAX))
            fail_msg("%s after %u failures: blocked %d", user, i + 1,
                     throttle_blocked(t, user, now));
    }
    return now - 1;
}

static void test_ninth_passes_tenth_blocks(void **state) {
    throttle *t = *state;
    assert_int_equal(throttle_blocked(t, "alice", T0), 0); /* never seen */
    uint64_t last = fail_n(t, "alice", MAX - 1, T0);
    assert_int_equal(throttle_blocked(t, "alice", last), 0);
    assert_int_equal(throttle_blocked(t, "alice", last + 1000), 0);
    throttle_failure(t, "alice", last + 1000);
    assert_int_equal(throttle_blocked(t, "alice", last + 1000), 1);
}

static void test_block_lasts_window(void **state) {
    throttle *t = *state;
    uint64_t at = fail_n(t, "alice", MAX, T0); /* blocked from `at` */
    assert_int_equal(throttle_blocked(t, "alice", at), 1);
    assert_int_equal(throttle_blocked(t, "alice", at + WINDOW / 2), 1);
    assert_int_equal(throttle_blocked(t, "alice", at + WINDOW - 1), 1);
    assert_int_equal(throttle_blocked(t, "alice", at + WINDOW), 0);
    assert_int_equal(throttle_blocked(t, "alice", at + 10 * WINDOW), 0);

    /* after the block a new window starts: one failure does not re-block */
    throttle_failure(t, "alice", at + WINDOW);
    assert_int_equal(throttle_blocked(t, "alice", at + WINDOW), 0);
    /* eight more make nine in the new window, the tenth blocks again */
    for (int i = 0; i < MAX - 2; i++)
        throttle_failure(t, "alice", at + WINDOW + 1);
    assert_int_equal(throttle_blocked(t, "alice", at + WINDOW + 1), 0);
    throttle_failure(t, "alice", at + WINDOW + 2);
    assert_int_equal(throttle_blocked(t, "alice", at + WINDOW + 2), 1);
    assert_int_equal(throttle_blocked(t, "alice", at + 2 * WINDOW + 1), 1);
    assert_int_equal(throttle_blocked(t, "alice", at + 2 * WINDOW + 2), 0);
}

static void test_success_clears(void **state) {
    throttle *t = *state;
    uint64_t last = fail_n(t, "alice", MAX - 1, T0);
    throttle_success(t, "alice");
    assert_int_equal(strmap_len(&t->entries), 0);
    /* the count starts over: nine more pass, the tenth blocks */
    last = fail_n(t, "alice", MAX, last + 1);
    assert_int_equal(throttle_blocked(t, "alice", last), 1);

    throttle_success(t, "alice"); /* clears a block too */
    assert_int_equal(throttle_blocked(t, "alice", last), 0);
    throttle_success(t, "nobody"); /* unknown user: nothing happens */
    assert_int_equal(strmap_len(&t->entries), 0);
}

static void test_spread_over_more_than_window(void **state) {
    throttle *t = *state;
    /* 30 failures 7 s apart: never 10 inside one minute */
    for (int i = 0; i < 30; i++) {
        uint64_t now = T0 + (uint64_t)i * 7000;
        throttle_failure(t, "alice", now);
        if (throttle_blocked(t, "alice", now))
            fail_msg("blocked after failure %d at +%d ms", i + 1, i * 7000);
    }

    /* Boundary: the 10th failure 1 ms before the window ends blocks... */
    uint64_t s = T0 + 10 * WINDOW;
    fail_n(t, "bob", MAX - 1, s);
    throttle_failure(t, "bob", s + WINDOW - 1);
    assert_int_equal(throttle_blocked(t, "bob", s + WINDOW - 1), 1);
    /* ...and exactly at the window's end it is a fresh window. */
    fail_n(t, "carol", MAX - 1, s);
    throttle_failure(t, "carol", s + WINDOW);
    assert_int_equal(throttle_blocked(t, "carol", s + WINDOW), 0);
}

static void test_usernames_independent(void **state) {
    throttle *t = *state;
    uint64_t at = fail_n(t, "alice", MAX, T0);
    assert_int_equal(throttle_blocked(t, "alice", at), 1);
    assert_int_equal(throttle_blocked(t, "bob", at), 0);
    assert_int_equal(throttle_blocked(t, "Alice", at), 0); /* exact names */
    assert_int_equal(throttle_blocked(t, "alice2", at), 0);

    fail_n(t, "bob", MAX - 1, at);
    assert_int_equal(throttle_blocked(t, "bob", at + MAX), 0);
    throttle_success(t, "bob");
    assert_int_equal(throttle_blocked(t, "alice", at + 1), 1); /* untouched */
    assert_int_equal(strmap_len(&t->entries), 1);
}

static void test_prune(void **state) {
    throttle *t = *state;
    char name[32];
    /* 100 users with a few failures long ago: stale */
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "old%d", i);
        fail_n(t, name, 3, T0);
    }
    /* a blocked user and one with recent failures */
    uint64_t now = T0 + 2 * WINDOW;
    fail_n(t, "blocked", MAX, now - 100);
    fail_n(t, "recent", 2, now - 10);
    assert_int_equal(strmap_len(&t->entries), 102);

    throttle_prune(t, now);
    assert_int_equal(strmap_len(&t->entries), 2);
    assert_non_null(strmap_get(&t->entries, "blocked"));
    assert_non_null(strmap_get(&t->entries, "recent"));
    assert_null(strmap_get(&t->entries, "old0"));
    assert_int_equal(throttle_blocked(t, "blocked", now), 1);

    /* "recent" keeps its count: 7 more failures pass, the 8th blocks */
    for (int i = 0; i < MAX - 3; i++)
        throttle_failure(t, "recent", now + 1);
    assert_int_equal(throttle_blocked(t, "recent", now + 1), 0);
    throttle_failure(t, "recent", now + 1);
    assert_int_equal(throttle_blocked(t, "recent", now + 1), 1);

    /* "blocked"'s block is over; "recent"'s window is over but its block
     * is not: it stays */
    throttle_prune(t, now + WINDOW);
    assert_int_equal(strmap_len(&t->entries), 1);
    assert_null(strmap_get(&t->entries, "blocked"));
    assert_int_equal(throttle_blocked(t, "recent", now + WINDOW), 1);
    throttle_prune(t, now + 1 + WINDOW);
    assert_int_equal(strmap_len(&t->entries), 0);
    assert_int_equal(throttle_blocked(t, "recent", now + 1 + WINDOW), 0);
    throttle_prune(t, now + 2 * WINDOW); /* an empty map is fine */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ninth_passes_tenth_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_lasts_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_success_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spread_over_more_than_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usernames_independent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
