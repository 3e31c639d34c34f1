/*
 * Unit tests for src/proto/mention.c: the @name rule of PROTOCOL.md
 * section 6 — where a mention may start, where its name ends, and what is
 * not a mention — and for proto_valid_emoji.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/mention.h"
#include "proto/request.h"

/* The names found in s, "|"-joined, into out. */
static const char *names(const char *s, char *out, size_t cap) {
    size_t pos = 0, off, len, n = 0, slen = strlen(s);
    out[0] = '\0';
    while (mention_next(s, slen, &pos, &off, &len))
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "|" : "", (int)len, s + off);
    assert_int_equal(pos, slen);
    return out;
}

#define EXPECT(text, want)                                                                         \
    do {                                                                                           \
        char buf_[256];                                                                            \
        const char *got_ = names(text, buf_, sizeof buf_);                                         \
        if (strcmp(got_, want) != 0)                                                               \
            fail_msg("mentions in \"%s\": got \"%s\", want \"%s\"", text, got_, want);             \
    } while (0)

static void test_starts(void **state) {
    EXPECT("@bob hi", "bob");
    EXPECT("hi @bob", "bob");
    EXPECT("(@bob)", "bob");
    EXPECT("hi,@bob!", "bob");
    EXPECT("\xc3\xa9@bob", "bob"); /* after a non-ASCII character */
    EXPECT("mail a@b.c", "");      /* after a name character: an address */
    EXPECT("x_@bob 1@bob .@bob -@bob", "");
    EXPECT("@@bob", "bob"); /* the first '@' names nobody */
}

static void test_name_ends(void **state) {
    EXPECT("@bob.", "bob");
    EXPECT("@bob-.-", "bob");
    EXPECT("@b.o_b-1 x", "b.o_b-1");
    EXPECT("@bob's", "bob");
    EXPECT("@bob\xc3\xa9", "bob");
    EXPECT("@alice,@bob;@carol", "alice|bob|carol");
}

static void test_not_mentions(void **state) {
    EXPECT("", "");
    EXPECT("@", "");
    EXPECT("@ bob", "");
    EXPECT("@.-", "");
    EXPECT("no at sign", "");
    EXPECT("@-.@bob", ""); /* the second '@' follows a name byte of the first run */
}

static void test_repeats_kept(void **state) {
    /* de-duplication is the caller's (it also checks membership) */
    EXPECT("@bob @bob @Bob", "bob|bob|Bob");
}

static void test_bytes_not_nul_terminated(void **state) {
    const char s[] = {'@', 'a', 'b', 'c'};
    size_t pos = 0, off, len;
    assert_int_equal(mention_next(s, 2, &pos, &off, &len), 1);
    assert_int_equal(off, 1);
    assert_int_equal(len, 1);
    assert_int_equal(mention_next(s, 2, &pos, &off, &len), 0);
}

static void test_emoji(void **state) {
    assert_true(proto_valid_emoji("\xf0\x9f\x91\x8d", 4)); /* thumbs up */
    assert_true(proto_valid_emoji("+1", 2));
    assert_true(proto_valid_emoji(":party_parrot:", 14));
    assert_false(proto_valid_emoji("", 0));
    assert_false(proto_valid_emoji("a b", 3));
    assert_false(proto_valid_emoji("a\tb", 3));
    assert_false(proto_valid_emoji("a\xc2\xa0", 3));    /* no-break space */
    assert_false(proto_valid_emoji("\xe3\x80\x80", 3)); /* ideographic space */
    assert_false(proto_valid_emoji("\xe2\x80\x83", 3)); /* em space */
    assert_true(proto_valid_emoji("\xe2\x80\x8d", 3));  /* zero width joiner: not a space */
    assert_true(proto_valid_emoji("12345678901234567890123456789012", 32));
    assert_false(proto_valid_emoji("123456789012345678901234567890123", 33));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts),
        cmocka_unit_test(test_name_ends),
        cmocka_unit_test(test_not_mentions),
        cmocka_unit_test(test_repeats_kept),
        cmocka_unit_test(test_bytes_not_nul_terminated),
        cmocka_unit_test(test_emoji),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
