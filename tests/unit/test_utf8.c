/* Unit tests for core/utf8: strict validation and the incremental feed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/utf8.h"

typedef struct sample {
    const char *bytes;
    size_t len;
} sample;

#define S(lit)                                                                                     \
    { lit, sizeof(lit) - 1 }

static const sample valid_samples[] = {
    S(""),
    S("hello, world"),
    S("a long ascii run that crosses several eight-byte words 0123456789"),
    S("\x00"), /* NUL is a valid code point */
    S("\x7F"),
    S("\xC2\x80"),                                     /* U+0080, smallest 2-byte */
    S("\xDF\xBF"),                                     /* U+07FF */
    S("\xE0\xA0\x80"),                                 /* U+0800, smallest 3-byte */
    S("\xED\x9F\xBF"),                                 /* U+D7FF, just below surrogates */
    S("\xEE\x80\x80"),                                 /* U+E000, just above surrogates */
    S("\xEF\xBF\xBF"),                                 /* U+FFFF */
    S("\xF0\x90\x80\x80"),                             /* U+10000, smallest 4-byte */
    S("\xF4\x8F\xBF\xBF"),                             /* U+10FFFF, largest */
    S("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 ok"), /* é € 😀 */
    S("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"), /* Autobahn "κόσμε" */
};

static const sample invalid_samples[] = {
    S("\x80"), /* lone continuation */
    S("\xBF"),
    S("\xC0\x80"),                 /* overlong NUL */
    S("\xC1\xBF"),                 /* overlong 2-byte */
    S("\xE0\x80\x80"),             /* overlong 3-byte */
    S("\xE0\x9F\xBF"),             /* overlong U+07FF */
    S("\xF0\x80\x80\x80"),         /* overlong 4-byte */
    S("\xF0\x8F\xBF\xBF"),         /* overlong U+FFFF */
    S("\xED\xA0\x80"),             /* U+D800 */
    S("\xED\xBF\xBF"),             /* U+DFFF */
    S("\xED\xA0\x80\xED\xB0\x80"), /* surrogate pair encoded (CESU) */
    S("\xF4\x90\x80\x80"),         /* U+110000 */
    S("\xF5\x80\x80\x80"),
    S("\xF8\x88\x80\x80\x80"), /* 5-byte form */
    S("\xFE"),
    S("\xFF"),
    S("\xC3"),         /* truncated 2-byte */
    S("\xE2\x82"),     /* truncated 3-byte */
    S("\xF0\x9F\x98"), /* truncated 4-byte */
    S("\xC3\x28"),     /* continuation missing */
    S("\xE2\x28\xA1"),
    S("abcdefgh\xC3"), /* truncated after fast path */
    S("abcdefghijklmnop\xFF"),
    S("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80"
      "edited"),
};

static void test_valid(void **st) {
    for (size_t i = 0; i < sizeof(valid_samples) / sizeof(valid_samples[0]); i++) {
        const sample *s = &valid_samples[i];
        if (!utf8_valid((const uint8_t *)s->bytes, s->len))
            fail_msg("sample %zu should be valid", i);
    }
}

static void test_invalid(void **st) {
    for (size_t i = 0; i < sizeof(invalid_samples) / sizeof(invalid_samples[0]); i++) {
        const sample *s = &invalid_samples[i];
        if (utf8_valid((const uint8_t *)s->bytes, s->len))
            fail_msg("sample %zu should be invalid", i);
    }
}

/* Every code point: the validator must agree with a straightforward
 * encoder (surrogates excluded). */
static size_t encode(uint32_t cp, uint8_t *o) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = 0xC0 | (cp >> 6);
        o[1] = 0x80 | (cp & 0x3F);
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = 0xE0 | (cp >> 12);
        o[1] = 0x80 | ((cp >> 6) & 0x3F);
        o[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    o[0] = 0xF0 | (cp >> 18);
    o[1] = 0x80 | ((cp >> 12) & 0x3F);
    o[2] = 0x80 | ((cp >> 6) & 0x3F);
    o[3] = 0x80 | (cp & 0x3F);
    return 4;
}

static void test_all_code_points(void **st) {
    uint8_t b[4];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        size_t n = encode(cp, b);
        int expect = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (utf8_valid(b, n) != expect) fail_msg("U+%04X: expected %d", (unsigned)cp, expect);
    }
}

/* Every 2-byte sequence is valid exactly when it is a 2-byte char or two
 * ASCII bytes. */
static void test_all_two_byte_inputs(void **st) {
    uint8_t b[2];
    for (unsigned x = 0; x < 256; x++)
        for (unsigned y = 0; y < 256; y++) {
            b[0] = (uint8_t)x;
            b[1] = (uint8_t)y;
            int expect =
                (x < 0x80 && y < 0x80) || (x >= 0xC2 && x <= 0xDF && y >= 0x80 && y <= 0xBF);
            if (utf8_valid(b, 2) != expect) fail_msg("%02X %02X: expected %d", x, y, expect);
        }
}

/* Splitting valid input anywhere must keep it valid through utf8_feed, and
 * the state is nonzero exactly while a character is open. */
static void test_feed_split_valid(void **st) {
    for (size_t i = 0; i < sizeof(valid_samples) / sizeof(valid_samples[0]); i++) {
        const uint8_t *s = (const uint8_t *)valid_samples[i].bytes;
        size_t len = valid_samples[i].len;
        for (size_t a = 0; a <= len; a++)
            for (size_t b = a; b <= len; b++) {
                uint32_t state = 0;
                assert_int_equal(utf8_feed(&state, s, a), 0);
                assert_int_equal(utf8_feed(&state, s + a, b - a), 0);
                assert_int_equal(utf8_feed(&state, s + b, len - b), 0);
                assert_int_equal(state, 0);
            }
    }
}

static void test_feed_split_invalid(void **st) {
    for (size_t i = 0; i < sizeof(invalid_samples) / sizeof(invalid_samples[0]); i++) {
        const uint8_t *s = (const uint8_t *)invalid_samples[i].bytes;
        size_t len = invalid_samples[i].len;
        for (size_t a = 0; a <= len; a++) {
            uint32_t state = 0;
            int r1 = utf8_feed(&state, s, a);
            int r2 = utf8_feed(&state, s + a, len - a);
            /* Either a byte was rejected, or a character is left open. */
            if (r1 == 0 && r2 == 0 && state == 0)
                fail_msg("sample %zu split at %zu accepted", i, a);
        }
    }
}

static void test_feed_partial_char_state(void **st) {
    const uint8_t euro[] = {0xE2, 0x82, 0xAC};
    uint32_t state = 0;
    assert_int_equal(utf8_feed(&state, euro, 1), 0);
    assert_int_not_equal(state, 0);
    assert_int_equal(utf8_feed(&state, euro + 1, 1), 0);
    assert_int_not_equal(state, 0);
    assert_int_equal(utf8_feed(&state, euro + 2, 1), 0);
    assert_int_equal(state, 0);

    /* A surrogate split across chunks is caught at its second byte. */
    const uint8_t sur[] = {0xED, 0xA0, 0x80};
    state = 0;
    assert_int_equal(utf8_feed(&state, sur, 1), 0);
    assert_int_equal(utf8_feed(&state, sur + 1, 2), -1);

    /* Errors are sticky. */
    assert_int_not_equal(state, 0);
    assert_int_equal(utf8_feed(&state, (const uint8_t *)"ok", 2), -1);
    assert_int_not_equal(state, 0);

    /* Empty chunks change nothing. */
    state = 0;
    assert_int_equal(utf8_feed(&state, euro, 2), 0);
    uint32_t before = state;
    assert_int_equal(utf8_feed(&state, NULL, 0), 0);
    assert_int_equal(state, before);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_all_code_points),
        cmocka_unit_test(test_all_two_byte_inputs),
        cmocka_unit_test(test_feed_split_valid),
        cmocka_unit_test(test_feed_split_invalid),
        cmocka_unit_test(test_feed_partial_char_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
