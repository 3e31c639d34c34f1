/*
 * jsonw_check: the one round-trip rule for proto/jsonw's strings, shared by
 * tests/unit/test_jsonw.c and tests/fuzz/fuzz_jsonw.c: s[0..n) written as
 * a JSON string must parse back (jansson) as exactly s when s is valid
 * UTF-8, else as s with every byte >= 0x80 turned into '?'. Returns 0 when
 * it holds.
 */
#ifndef CHATD_TESTS_JSONW_CHECK_H
#define CHATD_TESTS_JSONW_CHECK_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "proto/jsonw.h"

static inline int jsonw_check_roundtrip(const char *s, size_t n) {
    jsonw w = {0};
    jsonw_arr_begin(&w);
    jsonw_strn(&w, s, n);
    jsonw_int(&w, 7); /* a comma and a second element after the string */
    jsonw_arr_end(&w);
    json_error_t err;
    json_t *v = json_loadb(w.p, w.len, JSON_ALLOW_NUL, &err);
    int bad = !v || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
              json_integer_value(json_array_get(v, 1)) != 7;
    if (!bad) {
        json_t *str = json_array_get(v, 0);
        char *want = malloc(n + 1);
        memcpy(want, s, n);
        if (!utf8_valid((const uint8_t *)s, n))
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)want[i] >= 0x80) want[i] = '?';
        bad = json_string_length(str) != n || memcmp(json_string_value(str), want, n) != 0;
        free(want);
    }
    json_decref(v);
    jsonw_free(&w);
    return bad;
}

#endif
