/*
 * jsonw: writes compact JSON text straight into a growing buffer, in one
 * pass, without building a tree (encode.c's frames are all built with it:
 * a chat_message costs one pass over its fields and one copy).
 *
 * Commas are placed for the caller: a key or an array element gets one
 * unless it is the first inside its object or array. The caller nests
 * begin/end calls correctly and writes a value after every key; the writer
 * does not check the shape (encode.c is its only user, and the tests parse
 * every frame it makes).
 *
 * Strings: UTF-8 in, JSON-escaped out (", \ and control characters; other
 * characters are written as they are). A string that is not valid UTF-8
 * has each byte >= 0x80 written as '?', so that a frame never carries
 * invalid UTF-8 (a browser would close the socket with 1007).
 *
 * Memory: the buffer grows by doubling (aborts on OOM, as xmalloc);
 * jsonw_reset keeps its capacity for the next frame; jsonw_free releases it.
 * Not thread-safe: one writer per thread.
 */
#ifndef CHATD_JSONW_H
#define CHATD_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jsonw {
    char *p;
    size_t len, cap;
} jsonw;

void jsonw_reset(jsonw *w);
void jsonw_free(jsonw *w);

void jsonw_obj_begin(jsonw *w);
void jsonw_obj_end(jsonw *w);
void jsonw_arr_begin(jsonw *w);
void jsonw_arr_end(jsonw *w);
/* "key": (the key is a C string literal or other trusted ASCII: not escaped). */
void jsonw_key(jsonw *w, const char *key);

/* Values (each also an array element when inside an array). */
void jsonw_str(jsonw *w, const char *s); /* NULL -> null */
void jsonw_strn(jsonw *w, const char *s, size_t n);
void jsonw_int(jsonw *w, int64_t v);
void jsonw_bool(jsonw *w, bool v);
void jsonw_null(jsonw *w);
/* An already-serialised JSON value, written as it is (the caller has
 * checked it). */
void jsonw_raw(jsonw *w, const char *json, size_t n);

#endif
