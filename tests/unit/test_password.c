/*
 * Unit tests for src/auth/password.c. Hashing uses libsodium's MIN limits
 * so the suite stays fast; one test checks the defaults are INTERACTIVE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/password.h"

static const password_params FAST = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};

static void test_defaults_are_interactive(void **state) {
    password_params p;
    password_params_default(&p);
    assert_int_equal(p.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    assert_int_equal(p.memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static void test_hash_and_verify(void **state) {
    char h[PASSWORD_HASH_LEN];
    const char *pw = "hunter2hunter2";
    assert_int_equal(password_hash(&FAST, pw, strlen(pw), h), 0);
    assert_true(strncmp(h, "$argon2id$", 10) == 0);
    assert_true(strlen(h) < PASSWORD_HASH_LEN);
    assert_int_equal(password_verify(h, pw, strlen(pw)), 0);
    /* The hash embeds its own limits: readable without the params. */
    assert_non_null(strstr(h, "m=8,t=1"));
}

static void test_salted(void **state) {
    char a[PASSWORD_HASH_LEN], b[PASSWORD_HASH_LEN];
    assert_int_equal(password_hash(&FAST, "samepassword", 12, a), 0);
    assert_int_equal(password_hash(&FAST, "samepassword", 12, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(password_verify(a, "samepassword", 12), 0);
    assert_int_equal(password_verify(b, "samepassword", 12), 0);
}

static void test_wrong_password(void **state) {
    char h[PASSWORD_HASH_LEN];
    assert_int_equal(password_hash(&FAST, "correct-password", 16, h), 0);
    assert_int_equal(password_verify(h, "correct-passwore", 16), -1);
    assert_int_equal(password_verify(h, "correct-password", 15), -1); /* prefix */
    assert_int_equal(password_verify(h, "correct-password!", 17), -1);
    assert_int_equal(password_verify(h, "", 0), -1);
}

static void test_binary_password_uses_len(void **state) {
    /* Length, not NUL, delimits the password. */
    char h[PASSWORD_HASH_LEN];
    const char pw[] = "abc\0defgh";
    assert_int_equal(password_hash(&FAST, pw, sizeof pw - 1, h), 0);
    assert_int_equal(password_verify(h, pw, sizeof pw - 1), 0);
    assert_int_equal(password_verify(h, "abc", 3), -1);
}

static void test_invalid_hash(void **state) {
    assert_int_equal(password_verify("", "password1", 9), -1);
    assert_int_equal(password_verify("not a hash", "password1", 9), -1);
    assert_int_equal(password_verify("$argon2id$v=19$m=8,t=1,p=1$xx$yy", "password1", 9), -1);
    assert_int_equal(password_verify(NULL, "password1", 9), -1);
    char longhash[300];
    memset(longhash, 'a', sizeof longhash - 1);
    longhash[sizeof longhash - 1] = '\0';
    assert_int_equal(password_verify(longhash, "password1", 9), -1);
}

static void test_bad_params(void **state) {
    char h[PASSWORD_HASH_LEN];
    password_params p = {0, crypto_pwhash_MEMLIMIT_MIN}; /* opslimit below MIN */
    assert_int_equal(password_hash(&p, "password1", 9, h), -1);
    assert_string_equal(h, "");
}

static void test_rule_edges(void **state) {
    char buf[200];
    const char *why = "untouched";
    memset(buf, 'x', sizeof buf);

    assert_int_equal(password_rule(buf, 7, &why), 0);
    assert_non_null(why);
    assert_non_null(strstr(why, "8"));
    assert_int_equal(password_rule(buf, 0, &why), 0);
    assert_int_equal(password_rule(buf, 8, &why), 1);
    assert_null(why);
    assert_int_equal(password_rule(buf, 128, &why), 1);
    assert_null(why);
    assert_int_equal(password_rule(buf, 129, &why), 0);
    assert_non_null(why);
    assert_non_null(strstr(why, "128"));
    assert_int_equal(password_rule(buf, 129, NULL), 0);
    assert_int_equal(password_rule(buf, 50, NULL), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_interactive),
        cmocka_unit_test(test_hash_and_verify),
        cmocka_unit_test(test_salted),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_binary_password_uses_len),
        cmocka_unit_test(test_invalid_hash),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_rule_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
