/*
 * Unit tests for src/cli/complete.c: what Tab offers for commands,
 * @mentions, channel and user arguments, and where it offers nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/complete.h"

static const char *const COMMANDS[] = {"/join", "/leave", "/reply", "/react", "/read", "/search"};
static const char *const USERS[] = {"bob", "Bella", "carol", "bob"};
static const char *const CHANNELS[] = {"Team Chat", "team-ops", "@bob", "Random"};
static const complete_src SRC = {COMMANDS, 6, USERS, 4, CHANNELS, 4};

/* The candidates joined with '|', "" for none. */
static const char *offer(const char *before, const char *word) {
    static char out[512];
    char **l = complete_words(before, word, &SRC);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; l && l[i]; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s", i ? "|" : "", l[i]);
    complete_free(l);
    return out;
}

static void test_commands(void **state) {
    assert_string_equal(offer("", "/j"), "/join");
    assert_string_equal(offer("", "/re"), "/reply|/react|/read");
    assert_string_equal(offer("", "/RE"), "/reply|/react|/read");
    assert_string_equal(offer("", "/x"), "");
    assert_string_equal(offer("hello ", "/j"), ""); /* only as the first word */
}

static void test_mentions(void **state) {
    assert_string_equal(offer("", "@b"), "@bob"); /* as typed first, no repeats */
    assert_string_equal(offer("", "@B"), "@Bella");
    assert_string_equal(offer("", "@be"), "@Bella"); /* then in any case */
    assert_string_equal(offer("hi ", "@ca"), "@carol");
    assert_string_equal(offer("/reply 12 thanks ", "@"), "@bob|@Bella|@carol");
    assert_string_equal(offer("", "@z"), "");
}

static void test_arguments(void **state) {
    assert_string_equal(offer("/join ", "te"), "team-ops");
    assert_string_equal(offer("/join ", "Te"), "\"Team Chat\""); /* quoted: it has a blank */
    assert_string_equal(offer("/join ", "\"Te"), "\"Team Chat\"");
    assert_string_equal(offer("/join ", "TE"), "\"Team Chat\"|team-ops");
    assert_string_equal(offer("/leave ", "@"), "@bob");
    assert_string_equal(offer("/search -c ", "R"), "Random");
    assert_string_equal(offer("/dm ", "c"), "carol");
    assert_string_equal(offer("/role ", "b"), "bob");
    assert_string_equal(offer("/add ", "@c"), "carol");
    assert_string_equal(offer("/join Random ", "x"), ""); /* one argument only */
    assert_string_equal(offer("plain text ", "te"), "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_mentions),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
