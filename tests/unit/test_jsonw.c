/*
 * Unit tests for src/proto/jsonw.c: commas and nesting, integers at their
 * limits, and strings (escapes, NUL, non-UTF-8 bytes) that must parse back
 * as what was written (tests/jsonw_check.h, also the fuzz target's rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonw_check.h"
#include "proto/jsonw.h"

static void expect(jsonw *w, const char *want) {
    assert_int_equal(w->len, strlen(want));
    assert_memory_equal(w->p, want, w->len);
}

static void test_shape(void **state) {
    jsonw w = {0};
    jsonw_obj_begin(&w);
    jsonw_key(&w, "a");
    jsonw_arr_begin(&w);
    jsonw_int(&w, 1);
    jsonw_str(&w, "x");
    jsonw_null(&w);
    jsonw_bool(&w, true);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "b");
    jsonw_bool(&w, false);
    jsonw_obj_end(&w);
    jsonw_arr_begin(&w);
    jsonw_arr_end(&w);
    jsonw_arr_end(&w);
    jsonw_key(&w, "c");
    jsonw_obj_begin(&w);
    jsonw_obj_end(&w);
    jsonw_key(&w, "d");
    jsonw_raw(&w, "{\"e\":[1]}", 9);
    jsonw_key(&w, "f");
    jsonw_str(&w, NULL);
    jsonw_obj_end(&w);
    expect(&w,
           "{\"a\":[1,\"x\",null,true,{\"b\":false},[]],\"c\":{},\"d\":{\"e\":[1]},\"f\":null}");
    jsonw_reset(&w);
    jsonw_arr_begin(&w);
    jsonw_arr_end(&w);
    expect(&w, "[]");
    jsonw_free(&w);
}

static void test_integers(void **state) {
    jsonw w = {0};
    jsonw_arr_begin(&w);
    jsonw_int(&w, 0);
    jsonw_int(&w, -1);
    jsonw_int(&w, INT64_MAX);
    jsonw_int(&w, INT64_MIN);
    jsonw_arr_end(&w);
    expect(&w, "[0,-1,9223372036854775807,-9223372036854775808]");
    jsonw_free(&w);
}

static void test_escapes(void **state) {
    jsonw w = {0};
    jsonw_str(&w, "q\"b\\n\n\r\t\b\f\x01\x1f\x7f/");
    expect(&w, "\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001F\x7f/\"");
    jsonw_reset(&w);
    jsonw_strn(&w, "a\0b", 3);
    expect(&w, "\"a\\u0000b\"");
    jsonw_reset(&w);
    jsonw_str(&w, "d\xc3\xa9j\xc3\xa0 \xf0\x9f\x98\x80"); /* valid UTF-8 is kept */
    expect(&w, "\"d\xc3\xa9j\xc3\xa0 \xf0\x9f\x98\x80\"");
    jsonw_reset(&w);
    jsonw_str(&w, "\xc3\xa9 \xff"); /* not UTF-8: every high byte becomes '?' */
    expect(&w, "\"?? ?\"");
    jsonw_free(&w);
}

static void test_roundtrip(void **state) {
    const char *fixed[] = {"",         "plain",       "\"\\", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                           "\xe2\x82", "\x00\x01\x02"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        assert_int_equal(jsonw_check_roundtrip(fixed[i], strlen(fixed[i])), 0);
    /* random strings, mostly from a small alphabet of the interesting bytes */
    static const unsigned char alphabet[] = {'a',  '"',  '\\', 0,    1,    0x1f, 0x7f, '\n', 0xc3,
                                             0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xff};
    uint64_t x = 88172645463325252ULL;
    char buf[64];
    for (int k = 0; k < 20000; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = x % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (char)(x & 1 ? alphabet[(x >> 8) % sizeof alphabet] : (x >> 16) & 0xff);
        }
        assert_int_equal(jsonw_check_roundtrip(buf, n), 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
