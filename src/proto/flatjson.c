/*
 * flatjson: one-pass parse of a flat JSON object (see flatjson.h).
 */
#include "proto/flatjson.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

typedef struct cursor {
    const char *p, *end;
    char *out; /* next free byte of the buffer */
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = (unsigned char)p[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
            d = (ch | 0x20) - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static void put_utf8(cursor *c, unsigned cp) {
    if (cp < 0x80) {
        *c->out++ = (char)cp;
    } else if (cp < 0x800) {
        *c->out++ = (char)(0xC0 | (cp >> 6));
        *c->out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *c->out++ = (char)(0xE0 | (cp >> 12));
        *c->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *c->out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *c->out++ = (char)(0xF0 | (cp >> 18));
        *c->out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *c->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *c->out++ = (char)(0x80 | (cp & 0x3F));
    }
}

/* One escape after the backslash at c->p[-1]. An escape is never longer
 * than its UTF-8 (\uXXXX: 6 bytes for at most 3; a pair: 12 for 4), so the
 * output never outruns the input. */
static int escape(cursor *c) {
    if (c->p >= c->end) return -1;
    char e = *c->p++;
    switch (e) {
    case '"':
    case '\\':
    case '/':
        *c->out++ = e;
        return 0;
    case 'b':
        *c->out++ = '\b';
        return 0;
    case 'f':
        *c->out++ = '\f';
        return 0;
    case 'n':
        *c->out++ = '\n';
        return 0;
    case 'r':
        *c->out++ = '\r';
        return 0;
    case 't':
        *c->out++ = '\t';
        return 0;
    case 'u':
        break;
    default:
        return -1;
    }
    unsigned cp, lo;
    if (c->end - c->p < 4 || hex4(c->p, &cp) < 0) return -1;
    c->p += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return -1; /* lone low surrogate: the full parser */
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || hex4(c->p + 2, &lo) < 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return -1;
        c->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    put_utf8(c, cp);
    return 0;
}

/* A string at c->p (just after its opening quote), unescaped into c->out
 * and NUL-terminated. The input is valid UTF-8 already (the WebSocket
 * layer checked), so bytes >= 0x80 are copied as they are. */
static int string(cursor *c, const char **out, size_t *len) {
    char *start = c->out;
    for (;;) {
        const char *run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p >= 0x20)
            c->p++;
        memcpy(c->out, run, (size_t)(c->p - run));
        c->out += c->p - run;
        if (c->p >= c->end || (unsigned char)*c->p < 0x20) return -1;
        if (*c->p++ == '"') break;
        if (escape(c) < 0) return -1;
    }
    *out = start;
    *len = (size_t)(c->out - start);
    *c->out++ = '\0';
    return 0;
}

static int literal(cursor *c, const char *word, size_t n) {
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return -1;
    c->p += n;
    return 0;
}

static int value(cursor *c, flatjson_field *f) {
    if (c->p >= c->end) return -1;
    switch (*c->p) {
    case '"':
        c->p++;
        f->kind = FLATJSON_STRING;
        return string(c, &f->str, &f->len);
    case 't':
        f->kind = FLATJSON_TRUE;
        return literal(c, "true", 4);
    case 'f':
        f->kind = FLATJSON_FALSE;
        return literal(c, "false", 5);
    case 'n':
        f->kind = FLATJSON_NULL;
        return literal(c, "null", 4);
    default:
        return -1; /* numbers, objects, arrays: the full parser */
    }
}

static int parse(flatjson *o, cursor *c) {
    skip_ws(c);
    if (c->p >= c->end || *c->p++ != '{') return -1;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
    } else {
        for (;;) {
            if (o->n == FLATJSON_MAX) return -1;
            flatjson_field *f = &o->f[o->n++];
            size_t klen;
            if (c->p >= c->end || *c->p++ != '"' || string(c, &f->key, &klen) < 0) return -1;
            if (memchr(f->key, '\0', klen)) return -1; /* jansson refuses NUL in keys */
            skip_ws(c);
            if (c->p >= c->end || *c->p++ != ':') return -1;
            skip_ws(c);
            if (value(c, f) < 0) return -1;
            skip_ws(c);
            if (c->p >= c->end) return -1;
            char sep = *c->p++;
            if (sep == '}') break;
            if (sep != ',') return -1;
            skip_ws(c);
        }
    }
    skip_ws(c);
    return c->p == c->end ? 0 : -1;
}

int flatjson_parse(flatjson *o, const char *p, size_t len) {
    o->n = 0;
    /* every string unescapes to at most its own length, plus a NUL each
     * (at most two strings per field) */
    o->buf = xmalloc(len + 2 * FLATJSON_MAX + 1);
    cursor c = {p, p + len, o->buf};
    if (parse(o, &c) < 0) {
        flatjson_free(o);
        return -1;
    }
    return 0;
}

const flatjson_field *flatjson_get(const flatjson *o, const char *key) {
    for (int i = o->n - 1; i >= 0; i--)
        if (strcmp(o->f[i].key, key) == 0) return &o->f[i];
    return NULL;
}

void flatjson_free(flatjson *o) {
    free(o->buf);
    o->buf = NULL;
    o->n = 0;
}
