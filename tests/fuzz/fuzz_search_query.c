/*
 * libFuzzer target for search_query (src/proto/search_query.c): arbitrary
 * bytes as a search query. A parsed query must be well formed (tokens of
 * token bytes only, folded), both renderings must fit and carry no syntax
 * but their own (FTS5: nothing but quoted tokens, AND and *; tsquery:
 * quoted tokens, &, <->, :* and parentheses), the query must match its own
 * text by the reference rule, and SQLite's FTS5 must accept the rendering
 * and agree: the query finds a row holding its own text.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/search_query.h"

static sqlite3 *db;
static sqlite3_stmt *ins, *del, *match;

static void open_db(void) {
    if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='ascii')", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO t(rowid, x) VALUES(1, ?1)", -1, &ins, NULL) ||
        sqlite3_prepare_v2(db, "DELETE FROM t", -1, &del, NULL) ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE t MATCH ?1", -1, &match, NULL))
        abort();
}

static void check_fts5(const char *text, size_t len, const char *expr) {
    if (!db) open_db();
    sqlite3_bind_text(ins, 1, text, (int)len, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) abort();
    sqlite3_reset(ins);
    sqlite3_bind_text(match, 1, expr, -1, SQLITE_STATIC);
    if (sqlite3_step(match) != SQLITE_ROW) abort(); /* a syntax error would be an injection */
    if (sqlite3_column_int(match, 0) != 1) abort(); /* FTS5 disagrees with the definition */
    sqlite3_reset(match);
    if (sqlite3_step(del) != SQLITE_DONE) abort();
    sqlite3_reset(del);
}

static void check_outside(const char *s, char quote, const char *allowed) {
    int in = 0;
    for (; *s; s++) {
        if (*s == quote) {
            in = !in;
            continue;
        }
        if (in) {
            if (*s != ' ' && !search_is_token_byte((unsigned char)*s)) abort();
        } else if (!strchr(allowed, *s)) {
            abort();
        }
    }
    if (in) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    search_query q;
    const char *text = (const char *)data;
    if (search_query_parse(text, size, &q) != 0) return 0;
    if (q.n_terms == 0 || q.n_tokens == 0 || q.n_tokens > SEARCH_MAX_TOKENS) abort();
    size_t covered = 0;
    for (size_t i = 0; i < q.n_terms; i++) {
        if (q.terms[i].n == 0 || q.terms[i].first != covered) abort();
        covered += q.terms[i].n;
    }
    if (covered != q.n_tokens) abort();
    for (size_t t = 0; t < q.n_tokens; t++) {
        const char *tok = q.text + q.tok_off[t];
        if (q.tok_len[t] == 0 || strlen(tok) != q.tok_len[t]) abort();
        for (size_t k = 0; k < q.tok_len[t]; k++) {
            unsigned char c = (unsigned char)tok[k];
            if (!search_is_token_byte(c) || (c >= 'A' && c <= 'Z')) abort();
        }
    }
    char fts[SEARCH_RENDER_MAX], tsq[SEARCH_RENDER_MAX];
    int n1 = search_query_fts5(&q, fts, sizeof fts), n2 = search_query_tsquery(&q, tsq, sizeof tsq);
    if (n1 <= 0 || n2 <= 0 || (size_t)n1 != strlen(fts) || (size_t)n2 != strlen(tsq)) abort();
    check_outside(fts, '"', " AND*");
    check_outside(tsq, '\'', " &()<->:*");
    if (!search_query_matches(&q, text, size)) abort();
    check_fts5(text, size, fts);
    return 0;
}
