/*
 * Unit tests for core/rcbuf: reference counts, copies and zero-length
 * buffers. Run it under ASan (make SANITIZE=address,undefined) too: a
 * missing free shows up as a leak, an early free as a use after free.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/rcbuf.h"

static void test_new(void **st) {
    rcbuf *b = rcbuf_new(100);
    assert_non_null(b);
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->len, 100);
    memset(b->data, 0xAB, 100); /* all 100 bytes are ours to write */
    assert_int_equal((unsigned char)b->data[99], 0xAB);
    rcbuf_unref(b);
}

static void test_copy(void **st) {
    char src[] = "hello, world";
    rcbuf *b = rcbuf_copy(src, sizeof src - 1);
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->len, sizeof src - 1);
    assert_memory_equal(rcbuf_payload(b), "hello, world", sizeof src - 1);
    assert_ptr_not_equal(rcbuf_payload(b), src);
    src[0] = 'J'; /* the copy is independent of the source */
    assert_int_equal(rcbuf_payload(b)[0], 'h');
    rcbuf_unref(b);

    /* binary data with NULs is copied whole */
    const char bin[] = {0, 1, 0, 2, (char)0xff};
    b = rcbuf_copy(bin, sizeof bin);
    assert_int_equal(b->len, sizeof bin);
    assert_memory_equal(rcbuf_payload(b), bin, sizeof bin);
    rcbuf_unref(b);
}

static void test_ref_unref_counts(void **st) {
    rcbuf *b = rcbuf_copy("frame", 5);
    assert_ptr_equal(rcbuf_ref(b), b); /* returns the same buffer */
    assert_int_equal(b->refs, 2);
    rcbuf *holders[1000];
    for (int i = 0; i < 1000; i++)
        holders[i] = rcbuf_ref(b);
    assert_int_equal(b->refs, 1002);

    for (int i = 0; i < 1000; i++) {
        rcbuf_unref(holders[i]);
        /* still alive: under ASan reading it after a wrong free would fail */
        assert_int_equal(b->refs, 1002 - (unsigned)i - 1);
        assert_memory_equal(rcbuf_payload(b), "frame", 5);
    }
    assert_int_equal(b->refs, 2);
    rcbuf_unref(b);
    assert_int_equal(b->refs, 1);
    assert_memory_equal(rcbuf_payload(b), "frame", 5);
    rcbuf_unref(b); /* the last reference frees it (ASan: no leak) */
}

static void test_zero_length(void **st) {
    rcbuf *a = rcbuf_new(0);
    assert_non_null(a);
    assert_int_equal(a->len, 0);
    assert_int_equal(a->refs, 1);

    rcbuf *b = rcbuf_copy(NULL, 0); /* no bytes: the source is not read */
    assert_non_null(b);
    assert_int_equal(b->len, 0);
    rcbuf *c = rcbuf_copy("x", 0);
    assert_int_equal(c->len, 0);
    assert_ptr_not_equal(a, b);

    rcbuf_ref(a);
    rcbuf_unref(a);
    assert_int_equal(a->refs, 1);
    rcbuf_unref(a);
    rcbuf_unref(b);
    rcbuf_unref(c);
}

static void test_unref_null(void **st) {
    rcbuf_unref(NULL); /* ignored, no crash */
    rcbuf_unref(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_ref_unref_counts),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_unref_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
