/*
 * Unit tests for src/core/uuid.c: format, version/variant nibbles and
 * uniqueness.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/uuid.h"

static void check_format(const char *u) {
    if (strlen(u) != 36) fail_msg("\"%s\": length %zu, want 36", u, strlen(u));
    for (int i = 0; i < 36; i++) {
        int dash = (i == 8 || i == 13 || i == 18 || i == 23);
        char c = u[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            fail_msg("\"%s\": bad character '%c' at %d", u, c, i);
    }
    if (u[14] != '4') fail_msg("\"%s\": version nibble '%c', want '4'", u, u[14]);
    if (!strchr("89ab", u[19])) fail_msg("\"%s\": variant nibble '%c', want one of 89ab", u, u[19]);
}

static void test_format(void **state) {
    char u[UUID_STR_LEN];
    memset(u, 'Z', sizeof u);
    uuid_v4(u);
    assert_int_equal(u[36], '\0');
    check_format(u);
    for (int i = 0; i < 1000; i++) {
        uuid_v4(u);
        check_format(u);
    }
}

static void test_variant_nibbles_all_seen(void **state) {
    /* The 2 random variant bits should take all four values. */
    int seen[4] = {0};
    char u[UUID_STR_LEN];
    for (int i = 0; i < 2000; i++) {
        uuid_v4(u);
        seen[strchr("89ab", u[19]) - "89ab"] = 1;
    }
    assert_true(seen[0] && seen[1] && seen[2] && seen[3]);
}

static int cmp(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

static void test_unique_10k(void **state) {
    enum { N = 10000 };
    char(*all)[UUID_STR_LEN] = malloc(sizeof *all * N);
    assert_non_null(all);
    for (int i = 0; i < N; i++)
        uuid_v4(all[i]);
    qsort(all, N, sizeof *all, cmp);
    for (int i = 1; i < N; i++)
        if (strcmp(all[i - 1], all[i]) == 0) fail_msg("duplicate uuid %s", all[i]);
    free(all);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_variant_nibbles_all_seen),
        cmocka_unit_test(test_unique_10k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
