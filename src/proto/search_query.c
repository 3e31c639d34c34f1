/*
 * search_query: parses a search query into terms of tokens, renders it for
 * SQLite FTS5 and PostgreSQL, and states the matching rule once in C (the
 * tests hold both engines to it). See search_query.h for the rules.
 */
#include "proto/search_query.h"

#include <stdio.h>
#include <string.h>

static unsigned char fold(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* The next token of s[0..len) at or after *pos: 1 and its bounds, or 0. */
static int next_token(const char *s, size_t len, size_t *pos, size_t *start, size_t *tlen) {
    size_t i = *pos;
    while (i < len && !search_is_token_byte((unsigned char)s[i]))
        i++;
    if (i == len) {
        *pos = len;
        return 0;
    }
    *start = i;
    while (i < len && search_is_token_byte((unsigned char)s[i]))
        i++;
    *tlen = i - *start;
    *pos = i;
    return 1;
}

/* Adds the tokens of s[0..len) as one term (none: nothing added). */
static void add_term(search_query *q, const char *s, size_t len, int prefix, size_t *w) {
    size_t pos = 0, start, tlen, first = q->n_tokens;
    while (q->n_tokens < SEARCH_MAX_TOKENS && next_token(s, len, &pos, &start, &tlen)) {
        /* Fits: tokens and their NULs never outgrow the query's bytes + 1. */
        if (*w + tlen + 1 > sizeof q->text) return;
        q->tok_off[q->n_tokens] = (unsigned short)*w;
        q->tok_len[q->n_tokens] = (unsigned short)tlen;
        for (size_t k = 0; k < tlen; k++)
            q->text[(*w)++] = (char)fold((unsigned char)s[start + k]);
        q->text[(*w)++] = '\0';
        q->n_tokens++;
    }
    if (q->n_tokens == first) return;
    search_term *t = &q->terms[q->n_terms++];
    t->first = (unsigned short)first;
    t->n = (unsigned short)(q->n_tokens - first);
    t->prefix = prefix != 0;
}

int search_query_parse(const char *s, size_t len, search_query *q) {
    if (!s || len == 0 || len > SEARCH_QUERY_MAX) return SEARCH_ETOOLONG;
    q->n_tokens = q->n_terms = 0;
    size_t i = 0, w = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20) { /* ASCII whitespace and controls separate terms */
            i++;
            continue;
        }
        size_t start, end;
        int prefix = 0;
        if (c == '"') { /* a phrase, to the closing quote or the end */
            start = end = i + 1;
            while (end < len && s[end] != '"')
                end++;
            i = end < len ? end + 1 : len;
            if (i < len && s[i] == '*') {
                prefix = 1;
                i++;
            }
        } else {
            start = i;
            while (i < len && (unsigned char)s[i] > 0x20 && s[i] != '"')
                i++;
            end = i;
            prefix = s[end - 1] == '*';
        }
        add_term(q, s + start, end - start, prefix, &w);
    }
    return q->n_terms ? 0 : SEARCH_EEMPTY;
}

/* ---- renderings ---- */

typedef struct out {
    char *p;
    size_t cap, len;
    int full;
} out;

static void put(out *o, const char *s, size_t n) {
    if (o->full || o->len + n + 1 > o->cap) {
        o->full = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out *o, const char *s) {
    put(o, s, strlen(s));
}

static void put_tok(out *o, const search_query *q, size_t t) {
    put(o, q->text + q->tok_off[t], q->tok_len[t]);
}

static int finish(out *o) {
    if (o->full || o->len == 0) return SEARCH_ERENDER;
    return (int)o->len;
}

int search_query_fts5(const search_query *q, char *buf, size_t cap) {
    out o = {buf, cap, 0, cap == 0};
    if (cap) buf[0] = '\0';
    for (size_t i = 0; i < q->n_terms; i++) {
        const search_term *t = &q->terms[i];
        if (i) puts_(&o, " AND ");
        puts_(&o, "\""); /* one FTS5 string: its tokens form a phrase */
        for (size_t k = 0; k < t->n; k++) {
            if (k) puts_(&o, " ");
            put_tok(&o, q, t->first + k);
        }
        puts_(&o, t->prefix ? "\"*" : "\"");
    }
    return finish(&o);
}

int search_query_tsquery(const search_query *q, char *buf, size_t cap) {
    out o = {buf, cap, 0, cap == 0};
    if (cap) buf[0] = '\0';
    for (size_t i = 0; i < q->n_terms; i++) {
        const search_term *t = &q->terms[i];
        if (i) puts_(&o, " & ");
        if (t->n > 1) puts_(&o, "(");
        for (size_t k = 0; k < t->n; k++) {
            if (k) puts_(&o, " <-> ");
            puts_(&o, "'");
            put_tok(&o, q, t->first + k);
            puts_(&o, "'");
        }
        if (t->prefix) puts_(&o, ":*");
        if (t->n > 1) puts_(&o, ")");
    }
    return finish(&o);
}

/* ---- the reference matcher ---- */

static int tok_eq(const char *a, size_t alen, const char *b, size_t blen, int prefix) {
    if (prefix ? alen < blen : alen != blen) return 0;
    for (size_t i = 0; i < blen; i++)
        if (fold((unsigned char)a[i]) != (unsigned char)b[i]) return 0;
    return 1;
}

/* 1 when the term's tokens follow one another from the token at `at`. */
static int term_at(const search_query *q, const search_term *t, const char *s, size_t len,
                   size_t at) {
    size_t pos = at, start, tlen;
    for (size_t k = 0; k < t->n; k++) {
        if (!next_token(s, len, &pos, &start, &tlen)) return 0;
        size_t tk = t->first + k;
        if (!tok_eq(s + start, tlen, q->text + q->tok_off[tk], q->tok_len[tk],
                    t->prefix && k + 1 == t->n))
            return 0;
    }
    return 1;
}

int search_query_matches(const search_query *q, const char *s, size_t len) {
    for (size_t i = 0; i < q->n_terms; i++) {
        size_t pos = 0, start, tlen;
        int found = 0;
        while (!found && next_token(s, len, &pos, &start, &tlen))
            found = term_at(q, &q->terms[i], s, len, start);
        if (!found) return 0;
    }
    return q->n_terms > 0;
}
