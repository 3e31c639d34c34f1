/*
 * Unit tests for core/strmap: the string-keyed open-addressing map. The
 * large tests push it through many resizes and many backward-shift
 * deletions and then check every key, present or absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"

enum { MANY = 10000 };

/* Values are small integers disguised as pointers (never NULL). */
static void *val(size_t i) {
    return (void *)(uintptr_t)(i + 1);
}

static void key(char *out, size_t cap, size_t i) {
    snprintf(out, cap, "user-%zu", i);
}

static void test_empty(void **st) {
    strmap m;
    strmap_init(&m);
    assert_int_equal(strmap_len(&m), 0);
    assert_null(strmap_get(&m, "x"));
    assert_null(strmap_del(&m, "x"));
    size_t cur = 0;
    assert_null(strmap_next(&m, &cur));
    strmap_free(&m);
    strmap_free(&m); /* a freed map is empty and can be freed again */
    assert_int_equal(strmap_len(&m), 0);
}

static void test_put_get_replace_del(void **st) {
    strmap m;
    int a, b, c;
    strmap_init(&m);
    assert_null(strmap_put(&m, "alice", &a));
    assert_null(strmap_put(&m, "bob", &b));
    assert_int_equal(strmap_len(&m), 2);
    assert_ptr_equal(strmap_get(&m, "alice"), &a);
    assert_ptr_equal(strmap_get(&m, "bob"), &b);
    assert_null(strmap_get(&m, "carol"));
    assert_null(strmap_get(&m, "alic"));   /* prefix */
    assert_null(strmap_get(&m, "alicee")); /* extension */
    assert_null(strmap_get(&m, ""));

    /* replace returns the old value and keeps the count */
    assert_ptr_equal(strmap_put(&m, "alice", &c), &a);
    assert_int_equal(strmap_len(&m), 2);
    assert_ptr_equal(strmap_get(&m, "alice"), &c);

    /* the empty string is a key like any other */
    assert_null(strmap_put(&m, "", &b));
    assert_ptr_equal(strmap_get(&m, ""), &b);
    assert_int_equal(strmap_len(&m), 3);

    assert_ptr_equal(strmap_del(&m, "alice"), &c);
    assert_int_equal(strmap_len(&m), 2);
    assert_null(strmap_get(&m, "alice"));
    assert_null(strmap_del(&m, "alice")); /* already gone */
    assert_int_equal(strmap_len(&m), 2);
    assert_ptr_equal(strmap_get(&m, "bob"), &b);

    /* a deleted key can come back */
    assert_null(strmap_put(&m, "alice", &a));
    assert_ptr_equal(strmap_get(&m, "alice"), &a);
    assert_int_equal(strmap_len(&m), 3);

    /* a NULL value is stored (and reads back as NULL) */
    assert_null(strmap_put(&m, "nil", NULL));
    assert_int_equal(strmap_len(&m), 4);
    strmap_free(&m);
}

static void test_keys_are_copied(void **st) {
    strmap m;
    int a;
    char buf[16];
    strmap_init(&m);
    strcpy(buf, "dave");
    strmap_put(&m, buf, &a);
    strcpy(buf, "eve!"); /* the caller's buffer changes: the map keeps "dave" */
    assert_ptr_equal(strmap_get(&m, "dave"), &a);
    assert_null(strmap_get(&m, "eve!"));

    char *heap = strdup("frank");
    assert_non_null(heap);
    strmap_put(&m, heap, &a);
    free(heap); /* under ASan a kept pointer would be a use after free */
    assert_ptr_equal(strmap_get(&m, "frank"), &a);

    size_t cur = 0;
    strmap_entry *e;
    int seen = 0;
    while ((e = strmap_next(&m, &cur))) {
        assert_ptr_not_equal(e->key, buf);
        seen++;
    }
    assert_int_equal(seen, 2);
    strmap_free(&m);
}

static void fill(strmap *m, size_t n) {
    char k[32];
    for (size_t i = 0; i < n; i++) {
        key(k, sizeof k, i);
        assert_null(strmap_put(m, k, val(i)));
        if (strmap_len(m) != i + 1) fail_msg("after %zu puts len is %zu", i + 1, strmap_len(m));
    }
}

static void test_growth(void **st) {
    strmap m;
    char k[32];
    strmap_init(&m);
    fill(&m, MANY);
    assert_int_equal(strmap_len(&m), MANY);
    assert_true(m.cap >= MANY);
    assert_int_equal(m.cap & (m.cap - 1), 0); /* a power of two */
    for (size_t i = 0; i < MANY; i++) {
        key(k, sizeof k, i);
        if (strmap_get(&m, k) != val(i)) fail_msg("%s lost after growth", k);
    }
    key(k, sizeof k, MANY);
    assert_null(strmap_get(&m, k));

    /* replacing every key changes no count */
    for (size_t i = 0; i < MANY; i++) {
        key(k, sizeof k, i);
        assert_ptr_equal(strmap_put(&m, k, val(i + MANY)), val(i));
    }
    assert_int_equal(strmap_len(&m), MANY);
    key(k, sizeof k, 1234);
    assert_ptr_equal(strmap_get(&m, k), val(1234 + MANY));
    strmap_free(&m);
}

static void test_delete_half(void **st) {
    strmap m;
    char k[32];
    strmap_init(&m);
    fill(&m, MANY);
    for (size_t i = 0; i < MANY; i += 2) {
        key(k, sizeof k, i);
        if (strmap_del(&m, k) != val(i)) fail_msg("del %s returned the wrong value", k);
    }
    assert_int_equal(strmap_len(&m), MANY / 2);
    for (size_t i = 0; i < MANY; i++) {
        key(k, sizeof k, i);
        void *want = i % 2 ? val(i) : NULL;
        if (strmap_get(&m, k) != want) fail_msg("%s: got %p, want %p", k, strmap_get(&m, k), want);
    }

    /* delete the rest in a different order, checking as we go */
    for (size_t i = MANY - 1; i < MANY; i -= 2) {
        key(k, sizeof k, i);
        assert_ptr_equal(strmap_del(&m, k), val(i));
        if (i % 1000 == 1)
            for (size_t j = 1; j < i; j += 2) {
                key(k, sizeof k, j);
                if (strmap_get(&m, k) != val(j))
                    fail_msg("%s lost after deleting down to %zu", k, i);
            }
    }
    assert_int_equal(strmap_len(&m), 0);
    size_t cur = 0;
    assert_null(strmap_next(&m, &cur));

    /* the emptied map still works */
    fill(&m, 100);
    assert_int_equal(strmap_len(&m), 100);
    strmap_free(&m);
}

/* Keys that collide in a tiny table: deletion must not break probe runs. */
static void test_delete_in_probe_runs(void **st) {
    char k[32];
    /* 6 keys in 8 slots: long probe runs, some wrapping around the end. */
    for (size_t d = 0; d < 6; d++) {
        strmap c;
        strmap_init(&c);
        fill(&c, 6);
        key(k, sizeof k, d);
        assert_ptr_equal(strmap_del(&c, k), val(d));
        for (size_t i = 0; i < 6; i++) {
            key(k, sizeof k, i);
            if (strmap_get(&c, k) != (i == d ? NULL : val(i)))
                fail_msg("deleting user-%zu broke %s", d, k);
        }
        strmap_free(&c);
    }
}

static void test_iteration(void **st) {
    strmap m;
    char k[32];
    strmap_init(&m);
    fill(&m, MANY);
    for (size_t i = 0; i < MANY; i += 3) { /* holes in the slot array */
        key(k, sizeof k, i);
        strmap_del(&m, k);
    }
    size_t want = strmap_len(&m);

    unsigned char *seen = calloc(MANY, 1);
    assert_non_null(seen);
    size_t n = 0, cur = 0;
    strmap_entry *e;
    while ((e = strmap_next(&m, &cur))) {
        size_t i = (size_t)(uintptr_t)e->value - 1;
        assert_true(i < MANY);
        key(k, sizeof k, i);
        assert_string_equal(e->key, k); /* key and value belong together */
        if (seen[i]++) fail_msg("%s visited twice", k);
        n++;
    }
    assert_int_equal(n, want);
    for (size_t i = 0; i < MANY; i++)
        if (seen[i] != (i % 3 ? 1 : 0)) fail_msg("user-%zu visited %d times", i, seen[i]);
    assert_null(strmap_next(&m, &cur)); /* stays at the end */

    /* values can be changed through the entry while iterating */
    cur = 0;
    while ((e = strmap_next(&m, &cur)))
        e->value = val(0);
    key(k, sizeof k, 2);
    assert_ptr_equal(strmap_get(&m, k), val(0));
    free(seen);
    strmap_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_keys_are_copied), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_delete_half),     cmocka_unit_test(test_delete_in_probe_runs),
        cmocka_unit_test(test_iteration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
