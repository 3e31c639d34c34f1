/*
 * Unit tests for src/core/snowflake.c: bit layout, strict monotonicity
 * under normal use, a clock going backwards, and sequence exhaustion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/clock.h"
#include "core/snowflake.h"

#define T0 INT64_C(1700000000123) /* 2023-11-14, ms */

static void test_layout(void **state) {
    snowflake s;
    snowflake_init(&s, 5);
    uint64_t id = snowflake_next(&s, T0);
    assert_int_equal(id, ((uint64_t)T0 << 22) | (5u << 12) | 0);
    assert_int_equal(snowflake_time_ms(id), T0);
    assert_int_equal(snowflake_node(id), 5);
    assert_int_equal(id & 0xfff, 0);
    uint64_t id2 = snowflake_next(&s, T0);
    assert_int_equal(id2, id + 1); /* sequence 1 */
    uint64_t id3 = snowflake_next(&s, T0 + 1);
    assert_int_equal(id3, ((uint64_t)(T0 + 1) << 22) | (5u << 12)); /* sequence resets */
    assert_true((int64_t)id3 > 0);                                  /* top bit clear */
}

static void test_node_bits(void **state) {
    static const unsigned nodes[] = {0, 1, 512, 1023};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        snowflake s;
        snowflake_init(&s, nodes[i]);
        uint64_t id = 0;
        for (int k = 0; k < 5000; k++) /* crosses a borrowed ms */
            id = snowflake_next(&s, T0);
        assert_int_equal(snowflake_node(id), nodes[i]);
    }
    /* Out-of-range node ids are masked to 10 bits, never spill into time. */
    snowflake s;
    snowflake_init(&s, 1024 + 7);
    uint64_t id = snowflake_next(&s, T0);
    assert_int_equal(snowflake_node(id), 7);
    assert_int_equal(snowflake_time_ms(id), T0);
    /* Different nodes, same ms: different ids. */
    snowflake a, b;
    snowflake_init(&a, 1);
    snowflake_init(&b, 2);
    assert_int_not_equal(snowflake_next(&a, T0), snowflake_next(&b, T0));
}

static void test_monotonic_100k_real_clock(void **state) {
    snowflake s;
    snowflake_init(&s, 42);
    uint64_t prev = 0;
    int64_t start = clock_now_ms();
    for (int i = 0; i < 100000; i++) {
        uint64_t id = snowflake_next(&s, clock_now_ms());
        if (id <= prev)
            fail_msg("id %d not increasing: %llu <= %llu", i, (unsigned long long)id,
                     (unsigned long long)prev);
        prev = id;
    }
    /* Time embedded stays near the real clock (borrowing is bounded). */
    assert_in_range(snowflake_time_ms(prev), start, clock_now_ms() + 100);
}

static void test_clock_backwards(void **state) {
    snowflake s;
    snowflake_init(&s, 3);
    uint64_t a = snowflake_next(&s, T0);
    uint64_t b = snowflake_next(&s, T0 - 5000); /* NTP step back 5 s */
    uint64_t c = snowflake_next(&s, T0 - 4999);
    assert_true(b > a);
    assert_true(c > b);
    assert_int_equal(snowflake_time_ms(b), T0); /* reused last_ms */
    assert_int_equal(snowflake_time_ms(c), T0);
    uint64_t d = snowflake_next(&s, T0 + 1); /* clock catches up */
    assert_true(d > c);
    assert_int_equal(snowflake_time_ms(d), T0 + 1);
    assert_int_equal(d & 0xfff, 0);
}

static void test_sequence_exhaustion(void **state) {
    snowflake s;
    snowflake_init(&s, 9);
    uint64_t prev = 0;
    for (int i = 0; i < 3 * 4096 + 10; i++) {
        uint64_t id = snowflake_next(&s, T0);
        if (id <= prev) fail_msg("id %d not increasing", i);
        if (i == 4095) {
            assert_int_equal(snowflake_time_ms(id), T0);
            assert_int_equal(id & 0xfff, 4095);
        }
        if (i == 4096) { /* borrowed the next millisecond */
            assert_int_equal(snowflake_time_ms(id), T0 + 1);
            assert_int_equal(id & 0xfff, 0);
        }
        assert_int_equal(snowflake_node(id), 9);
        prev = id;
    }
    assert_int_equal(snowflake_time_ms(prev), T0 + 3);
    /* Real time catching up with a borrowed ms keeps going upward. */
    uint64_t next = snowflake_next(&s, T0 + 2);
    assert_true(next > prev);
    next = snowflake_next(&s, T0 + 4);
    assert_int_equal(snowflake_time_ms(next), T0 + 4);
    assert_int_equal(next & 0xfff, 0);
}

/* Another server's id in the same or a later millisecond: the next id of
 * this (lower-numbered) node is still greater. */
static void test_skip_past(void **state) {
    snowflake a, b;
    snowflake_init(&a, 3);
    snowflake_init(&b, 700);
    const int64_t t = 1790000000000LL;
    uint64_t theirs = snowflake_next(&b, t);
    assert_true(snowflake_next(&a, t) < theirs); /* node 3 < node 700, same ms */
    snowflake_skip_past(&a, theirs);
    uint64_t mine = snowflake_next(&a, t);
    assert_true(mine > theirs);
    assert_int_equal(snowflake_node(mine), 3);
    /* an id from a clock 50 ms ahead */
    uint64_t ahead = snowflake_next(&b, t + 50);
    snowflake_skip_past(&a, ahead);
    assert_true(snowflake_next(&a, t + 1) > ahead);
    /* an older id changes nothing */
    uint64_t before = snowflake_next(&a, t + 60);
    snowflake_skip_past(&a, theirs);
    assert_true(snowflake_next(&a, t + 60) == before + 1);
}

static void test_clock(void **state) {
    int64_t now = clock_now_ms();
    assert_true(now > T0); /* after 2023 */
    uint64_t m1 = clock_mono_ms(), m2 = clock_mono_ms();
    assert_true(m2 >= m1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_node_bits),
        cmocka_unit_test(test_monotonic_100k_real_clock),
        cmocka_unit_test(test_clock_backwards),
        cmocka_unit_test(test_sequence_exhaustion),
        cmocka_unit_test(test_skip_past),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
