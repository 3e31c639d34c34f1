#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "auth/secret.h"
#include "svcutil.h"

static char root[256];
static char elsewhere[300]; /* a path under root that does not exist */
static char nosecrets[300]; /* likewise: a secrets dir nobody made */

static void put(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int setup(void **state) {
    assert_non_null(svc_mkdtemp(root, sizeof root, "secret_test_"));
    snprintf(elsewhere, sizeof elsewhere, "%s/nowhere", root);
    snprintf(nosecrets, sizeof nosecrets, "%s/nosecrets", root);
    return 0;
}

static int teardown(void **state) {
    svc_rmrf(root);
    return 0;
}

static void test_exact_bytes(void **state) {
    char p[300], err[256];
    uint8_t *key;
    size_t len;
    snprintf(p, sizeof p, "%s/jwt_secret.txt", root);
    put(p, "abc\n", 4);
    assert_int_equal(secret_load(root, NULL, 0, &key, &len, err, sizeof err), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(key, "abc\n", 4);
    free(key);
    put(p, "", 0);
    assert_int_equal(secret_load(root, NULL, 1, &key, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    assert_null(key);
}

static void test_missing_not_allowed(void **state) {
    char err[256];
    uint8_t *key;
    size_t len;
    assert_int_equal(secret_load(root, elsewhere, 0, &key, &len, err, sizeof err), -1);
    assert_non_null(strstr(err, "jwt_secret.txt"));
    printf("msg: %s\n", err);
    assert_int_equal(access(elsewhere, F_OK), -1);
}

static void test_generate_then_reload(void **state) {
    char data[300], p[340], err[512];
    uint8_t *key, *key2;
    size_t len, len2;
    struct stat st;
    snprintf(data, sizeof data, "%s/data/nested", root);
    assert_int_equal(secret_load(nosecrets, data, 1, &key, &len, err, sizeof err), 1);
    snprintf(p, sizeof p, "%s/jwt_secret.txt", data);
    assert_string_equal(err, p);
    assert_int_equal(len, 64);
    for (size_t i = 0; i < len; i++)
        assert_non_null(strchr("0123456789abcdef", key[i]));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 64);
    assert_int_equal(secret_load(nosecrets, data, 1, &key2, &len2, err, sizeof err), 0);
    assert_int_equal(len2, 64);
    assert_memory_equal(key, key2, 64);
    free(key);
    free(key2);
    /* secrets_dir file wins over the data dir one */
    char s[340];
    snprintf(s, sizeof s, "%s/jwt_secret.txt", root);
    put(s, "XYZ", 3);
    assert_int_equal(secret_load(root, data, 1, &key, &len, err, sizeof err), 0);
    assert_int_equal(len, 3);
    free(key);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exact_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_not_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_then_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
