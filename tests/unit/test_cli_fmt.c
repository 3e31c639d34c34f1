/*
 * Unit tests for src/cli/fmt.c: typed message references, the §6 mention
 * rule (the client highlights what the server counts), the typing
 * sentence, reaction summaries, snippets and emoji checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/fmt.h"

static void test_refs(void **state) {
    fmt_ref r;
    assert_int_equal(fmt_parse_ref("12", &r), 0);
    assert_int_equal(r.kind, FMT_REF_HANDLE);
    assert_int_equal(r.value, 12);
    assert_int_equal(fmt_parse_ref("#7", &r), 0);
    assert_int_equal(r.kind, FMT_REF_HANDLE);
    assert_int_equal(r.value, 7);
    assert_int_equal(fmt_parse_ref("^", &r), 0);
    assert_int_equal(r.kind, FMT_REF_LAST);
    assert_int_equal(fmt_parse_ref("7401234567890123456", &r), 0);
    assert_int_equal(r.kind, FMT_REF_ID);
    assert_true(r.value == 7401234567890123456ull);
    assert_int_equal(fmt_parse_ref("123456789", &r), 0); /* 9 digits: still a handle */
    assert_int_equal(r.kind, FMT_REF_HANDLE);
    static const char *const bad[] = {"",
                                      "#",
                                      "0",
                                      "#0",
                                      "12a",
                                      "-3",
                                      "^^",
                                      "# 1",
                                      "#7401234567890123456",
                                      "123456789012345678901",
                                      NULL};
    for (int i = 0; bad[i]; i++)
        if (fmt_parse_ref(bad[i], &r) == 0) fail_msg("\"%s\" parsed as a reference", bad[i]);
    assert_int_equal(fmt_parse_ref(NULL, &r), -1);
}

/* The mentions of text, space-separated. */
static char *mentions(const char *text) {
    static char out[256];
    size_t at, len, pos = 0, o = 0;
    out[0] = '\0';
    while (fmt_next_mention(text, pos, &at, &len)) {
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%.*s", o ? " " : "", (int)len,
                              text + at + 1);
        pos = at + 1 + len;
    }
    return out;
}

static void test_mention_rule(void **state) {
    assert_string_equal(mentions("@bob hi"), "bob");
    assert_string_equal(mentions("hi @bob."), "bob");           /* trailing '.' dropped */
    assert_string_equal(mentions("hi @bob.-"), "bob");          /* and trailing '-' */
    assert_string_equal(mentions("ask @a.b-c, then"), "a.b-c"); /* inner ones kept */
    assert_string_equal(mentions("mail bob@example.com"), "");  /* not after a name char */
    assert_string_equal(mentions("(@carol) @dave!"), "carol dave");
    assert_string_equal(mentions("@ alone, @. and @-"), "");
    assert_string_equal(mentions("@@bob"), "bob"); /* the second '@' follows a non-name char */
    assert_string_equal(mentions("é@bob"), "bob"); /* UTF-8 bytes are not name chars */
    assert_true(fmt_mentions_user("hey @alice!", "alice"));
    assert_false(fmt_mentions_user("hey @alicea", "alice"));
    assert_false(fmt_mentions_user("hey @alic", "alice"));
    assert_false(fmt_mentions_user("hey alice", "alice"));
}

static void test_message_mentions(void **state) {
    json_t *with = json_pack("{s:s, s:[s,s]}", "content", "no at-sign here", "mentions", "x", "me");
    assert_true(fmt_message_mentions(with, "me")); /* the server's list wins */
    assert_false(fmt_message_mentions(with, "y"));
    json_t *old = json_pack("{s:s}", "content", "hi @me"); /* an old server: the text rule */
    assert_true(fmt_message_mentions(old, "me"));
    assert_false(fmt_message_mentions(old, "you"));
    json_decref(with);
    json_decref(old);
}

static void check_typing(const char *const *names, size_t n, const char *want) {
    char *s = fmt_typing(names, n);
    assert_string_equal(s, want);
    free(s);
}

static void test_typing(void **state) {
    const char *names[] = {"bob", "carol", "dave", "erin", "frank"};
    assert_null(fmt_typing(names, 0));
    check_typing(names, 1, "bob is typing…");
    check_typing(names, 2, "bob and carol are typing…");
    check_typing(names, 3, "bob, carol and dave are typing…");
    check_typing(names, 5, "bob, carol and 3 others are typing…");
}

static void test_reactions(void **state) {
    json_t *r = json_loads("[{\"emoji\":\"👍\",\"count\":2,\"users\":[\"a\",\"b\"]},"
                           "{\"emoji\":\"🎉\",\"count\":1,\"users\":[\"a\"]},"
                           "{\"emoji\":\"x\",\"count\":0,\"users\":[]}]",
                           0, NULL);
    assert_non_null(r);
    char *s = fmt_reactions(r);
    assert_string_equal(s, "👍 2 🎉 1");
    free(s);
    json_t *none = json_array();
    assert_null(fmt_reactions(none));
    assert_null(fmt_reactions(NULL));
    json_decref(r);
    json_decref(none);
}

static void check_snippet(const char *text, size_t max, const char *want) {
    char *s = fmt_snippet(text, max);
    assert_string_equal(s, want);
    free(s);
}

static void test_snippet(void **state) {
    check_snippet("hello", 10, "hello");
    check_snippet("hello", 5, "hello");
    check_snippet("hello world", 5, "hello…");
    check_snippet("a\nb\tc", 10, "a b c");
    check_snippet("héllo wörld", 7, "héllo w…"); /* counts characters, not bytes */
    check_snippet("👍👍👍", 2, "👍👍…");
    check_snippet(NULL, 3, "");
}

static void test_emoji(void **state) {
    assert_true(fmt_emoji_ok("👍"));
    assert_true(fmt_emoji_ok(":+1:"));
    assert_true(fmt_emoji_ok("12345678901234567890123456789012")); /* 32 bytes */
    assert_false(fmt_emoji_ok("123456789012345678901234567890123"));
    assert_false(fmt_emoji_ok(""));
    assert_false(fmt_emoji_ok(NULL));
    assert_false(fmt_emoji_ok("a b"));
    assert_false(fmt_emoji_ok("a\tb"));
    assert_false(fmt_emoji_ok("a\xc2\xa0"));
    assert_false(fmt_emoji_ok("\xff"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_mention_rule),
        cmocka_unit_test(test_message_mentions),
        cmocka_unit_test(test_typing),
        cmocka_unit_test(test_reactions),
        cmocka_unit_test(test_snippet),
        cmocka_unit_test(test_emoji),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
