/*
 * search_query: the one parser of a `search` request's query (PROTOCOL.md
 * section 6, "Search") and its renderings for each store's full-text
 * engine. Pure, non-allocating, no I/O: the same bytes give the same
 * terms on SQLite and on PostgreSQL, which is what makes their results
 * identical.
 *
 * Words. Text (a message's content, a query) is cut into tokens the same
 * way everywhere: a token is a maximal run of bytes that are ASCII letters
 * or digits, or non-ASCII (>= 0x80: every byte of a multi-byte UTF-8
 * character); every other ASCII byte separates tokens. ASCII letters are
 * compared case-insensitively (folded to lower case); other characters
 * exactly. This is SQLite FTS5's `ascii` tokenizer, and the tsvector that
 * store_pg builds with chatd_tsv() (store_pg_schema.c).
 *
 * Query. Terms are separated by ASCII whitespace and must all match. A
 * term is a bare word (`foo`), or "a phrase" in double quotes (an
 * unclosed quote runs to the end). A term whose text holds several tokens
 * (`foo-bar`, "two words") matches them next to each other, in order. A
 * term ending in `*` (`fo*`, "two wo"*) matches its last token as a
 * prefix. A term without any token (`!!`, `*`) is ignored; a query with
 * no token at all is refused.
 *
 * Renderings. The tokens of a parsed query never contain a quote, an
 * apostrophe, a backslash or any other ASCII punctuation, so neither
 * rendering can carry engine syntax the user typed: every token is
 * emitted quoted, every operator comes from here.
 */
#ifndef CHATD_SEARCH_QUERY_H
#define CHATD_SEARCH_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define SEARCH_QUERY_MAX 256 /* bytes of a query (PROTOCOL.md) */
/* At most this many tokens (a 256-byte query has at most 128). */
#define SEARCH_MAX_TOKENS 128
/* Room that is always enough for either rendering of a parsed query. */
#define SEARCH_RENDER_MAX 2048

enum {
    SEARCH_EEMPTY = CHATD_EINVAL,    /* no word to search for */
    SEARCH_ETOOLONG = CHATD_ETOOBIG, /* over SEARCH_QUERY_MAX bytes, or empty */
    SEARCH_ERENDER = CHATD_EFULL,    /* the output buffer is too small */
};

typedef struct search_term {
    unsigned short first; /* index of its first token */
    unsigned short n;     /* its tokens (>= 1), adjacent in this order */
    bool prefix;          /* the last token matches as a prefix */
} search_term;

/* A parsed query. Plain data: copy it with memcpy, no pointers inside. */
typedef struct search_query {
    char text[SEARCH_QUERY_MAX + 1]; /* the tokens, folded, each NUL-terminated */
    unsigned short tok_off[SEARCH_MAX_TOKENS];
    unsigned short tok_len[SEARCH_MAX_TOKENS];
    size_t n_tokens;
    search_term terms[SEARCH_MAX_TOKENS];
    size_t n_terms;
} search_query;

/* 1 for a byte that belongs to a token (see above). */
static inline int search_is_token_byte(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Parses s[0..len). 0 and *q filled, SEARCH_ETOOLONG (len 0 or over the
 * limit) or SEARCH_EEMPTY (no token); *q is then undefined. */
int search_query_parse(const char *s, size_t len, search_query *q);

/* The query as an SQLite FTS5 MATCH expression (for a table using the
 * `ascii` tokenizer) into out[cap], NUL-terminated: `"a b" AND "c"*`.
 * Returns its length, or SEARCH_ERENDER. */
int search_query_fts5(const search_query *q, char *out, size_t cap);

/* The query as PostgreSQL tsquery input text (cast with ::tsquery, never
 * through to_tsquery, which would re-parse it): `('a' <-> 'b') & 'c':*`.
 * Returns its length, or SEARCH_ERENDER. */
int search_query_tsquery(const search_query *q, char *out, size_t cap);

/* Reference semantics: 1 when text[0..len) matches q. Used by the tests
 * to check both engines against one definition. */
int search_query_matches(const search_query *q, const char *text, size_t len);

#endif
