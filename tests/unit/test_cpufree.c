/*
 * Unit tests for src/core/cpufree.c: the first reading counts everything
 * as free, a reading sooner than min_ms repeats the last figure, and an
 * interval in which this thread spun the whole time shows at least that
 * core as used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/cpufree.h"

static void test_readings(void **state) {
    double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
    cpufree c = {0};
    assert_true(cpufree_cores(&c, 100) == ncpu); /* nothing measured yet */
    assert_true(c.at_ms != 0);
    assert_true(cpufree_cores(&c, 100000) == ncpu); /* too soon: the same figure */

    volatile uint64_t spin = 0;
    uint64_t t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 300) /* one core busy for the whole interval */
        spin++;
    double f = cpufree_cores(&c, 100);
    assert_true(f >= 0.0);
    /* this thread's core was used all along (less a jiffy at each end) */
    assert_true(f <= ncpu - 0.8);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
