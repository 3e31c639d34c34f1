/*
 * flatjson: a fast path for the frames clients send most (chat_message,
 * typing, mark_channel_read, heartbeat): one JSON object whose values are
 * all strings, true, false or null, parsed in one pass into at most
 * FLATJSON_MAX fields, with one allocation for all of its text.
 *
 * It accepts only what jansson accepts, with the same values; anything
 * else — a number, a nested object or array, more fields, a raw control
 * character, a lone UTF-16 surrogate escape, an escaped NUL in a key,
 * trailing bytes — is refused (-1) and the caller parses the frame with
 * the full parser (proto/request.c), which then also words any error.
 * tests/fuzz/fuzz_flatjson.c checks that agreement against jansson.
 *
 * Ownership: the strings (NUL-terminated; a value may also contain an
 * escaped NUL, counted in its len) live in o->buf until flatjson_free.
 */
#ifndef CHATD_FLATJSON_H
#define CHATD_FLATJSON_H

#include <stddef.h>

#define FLATJSON_MAX 16

typedef enum flatjson_kind {
    FLATJSON_STRING,
    FLATJSON_TRUE,
    FLATJSON_FALSE,
    FLATJSON_NULL,
} flatjson_kind;

typedef struct flatjson_field {
    const char *key;
    const char *str; /* FLATJSON_STRING: the unescaped value */
    size_t len;      /* its length in bytes */
    flatjson_kind kind;
} flatjson_field;

typedef struct flatjson {
    flatjson_field f[FLATJSON_MAX];
    int n;
    char *buf;
} flatjson;

/* 0 and o filled (free with flatjson_free), or -1 with nothing to free. */
int flatjson_parse(flatjson *o, const char *p, size_t len);
/* The field named key (the last one when repeated, as jansson keeps), or NULL. */
const flatjson_field *flatjson_get(const flatjson *o, const char *key);
void flatjson_free(flatjson *o);

#endif
