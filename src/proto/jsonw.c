/*
 * jsonw: a one-pass compact JSON writer (see jsonw.h).
 */
#include "proto/jsonw.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/utf8.h"

static void reserve(jsonw *w, size_t more) {
    if (w->len + more <= w->cap) return;
    size_t cap = w->cap ? w->cap : 512;
    while (cap < w->len + more)
        cap *= 2;
    w->p = xrealloc(w->p, cap);
    w->cap = cap;
}

static void put(jsonw *w, const char *s, size_t n) {
    reserve(w, n);
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void putc1(jsonw *w, char c) {
    reserve(w, 1);
    w->p[w->len++] = c;
}

/* A comma before a key or an element unless it opens its container (or
 * is a value right after its key). */
static void sep(jsonw *w) {
    if (w->len == 0) return;
    char last = w->p[w->len - 1];
    if (last != '{' && last != '[' && last != ':') putc1(w, ',');
}

void jsonw_reset(jsonw *w) {
    w->len = 0;
}

void jsonw_free(jsonw *w) {
    free(w->p);
    *w = (jsonw){0};
}

void jsonw_obj_begin(jsonw *w) {
    sep(w);
    putc1(w, '{');
}

void jsonw_obj_end(jsonw *w) {
    putc1(w, '}');
}

void jsonw_arr_begin(jsonw *w) {
    sep(w);
    putc1(w, '[');
}

void jsonw_arr_end(jsonw *w) {
    putc1(w, ']');
}

void jsonw_key(jsonw *w, const char *key) {
    sep(w);
    size_t n = strlen(key);
    reserve(w, n + 3);
    w->p[w->len++] = '"';
    memcpy(w->p + w->len, key, n);
    w->len += n;
    w->p[w->len++] = '"';
    w->p[w->len++] = ':';
}

static const char HEX[] = "0123456789ABCDEF"; /* as jansson writes them */

void jsonw_strn(jsonw *w, const char *s, size_t n) {
    sep(w);
    bool ascii_only = !utf8_valid((const uint8_t *)s, n);
    reserve(w, n + 2);
    w->p[w->len++] = '"';
    size_t run = 0; /* bytes s[i-run..i) to copy as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20) {
            memcpy(u, "\\u00", 4);
            u[4] = HEX[c >> 4];
            u[5] = HEX[c & 15];
        } else if (c >= 0x80 && ascii_only) {
            esc = "?";
        } else {
            run++;
            continue;
        }
        put(w, s + i - run, run);
        run = 0;
        if (esc)
            put(w, esc, strlen(esc));
        else
            put(w, u, 6);
    }
    put(w, s + n - run, run);
    putc1(w, '"');
}

void jsonw_str(jsonw *w, const char *s) {
    if (!s)
        jsonw_null(w);
    else
        jsonw_strn(w, s, strlen(s));
}

void jsonw_int(jsonw *w, int64_t v) {
    sep(w);
    char buf[24];
    char *e = buf + sizeof buf, *p = e;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    put(w, p, (size_t)(e - p));
}

void jsonw_bool(jsonw *w, bool v) {
    sep(w);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void jsonw_null(jsonw *w) {
    sep(w);
    put(w, "null", 4);
}

void jsonw_raw(jsonw *w, const char *json, size_t n) {
    sep(w);
    put(w, json, n);
}
