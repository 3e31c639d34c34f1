/*
 * flatjson_check: the agreement rule between proto/flatjson.h and jansson,
 * shared by tests/unit/test_flatjson.c and tests/fuzz/fuzz_flatjson.c.
 * For a valid UTF-8 input that flatjson accepts, jansson must accept it
 * too (as request.c calls it) and read the same object: the same keys, and
 * for each the same kind and bytes as flatjson's last field of that name.
 * Returns 0 when that holds (or flatjson refused the input), 1 when not;
 * *accepted says whether flatjson took it.
 */
#ifndef CHATD_TESTS_FLATJSON_CHECK_H
#define CHATD_TESTS_FLATJSON_CHECK_H

#include <jansson.h>
#include <string.h>

#include "proto/flatjson.h"

static inline int flatjson_check(const char *p, size_t len, int *accepted) {
    flatjson o;
    *accepted = flatjson_parse(&o, p, len) == 0;
    if (!*accepted) return 0;
    json_t *root = json_loadb(p, len, JSON_ALLOW_NUL, NULL);
    int bad = !root || !json_is_object(root);
    size_t distinct = 0;
    for (int i = 0; !bad && i < o.n; i++) {
        const flatjson_field *f = &o.f[i];
        if (flatjson_get(&o, f->key) != f) continue; /* a later one wins */
        distinct++;
        json_t *v = json_object_get(root, f->key);
        switch (f->kind) {
        case FLATJSON_STRING:
            bad = !json_is_string(v) || json_string_length(v) != f->len ||
                  memcmp(json_string_value(v), f->str, f->len) != 0;
            break;
        case FLATJSON_TRUE:
            bad = !json_is_true(v);
            break;
        case FLATJSON_FALSE:
            bad = !json_is_false(v);
            break;
        case FLATJSON_NULL:
            bad = !json_is_null(v);
            break;
        }
    }
    if (!bad && json_object_size(root) != distinct) bad = 1;
    json_decref(root);
    flatjson_free(&o);
    return bad;
}

#endif
