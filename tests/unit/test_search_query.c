/*
 * Unit tests for src/proto/search_query.c: how a query is cut into terms
 * and tokens, the exact FTS5 and tsquery texts it becomes (no syntax of
 * the user's survives), the reference matching rule, and the refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/search_query.h"

static void render(const char *in, const char *fts, const char *tsq) {
    search_query q;
    char out[SEARCH_RENDER_MAX];
    if (search_query_parse(in, strlen(in), &q) != 0) fail_msg("[%s] not parsed", in);
    assert_int_equal(search_query_fts5(&q, out, sizeof out), (int)strlen(fts));
    assert_string_equal(out, fts);
    assert_int_equal(search_query_tsquery(&q, out, sizeof out), (int)strlen(tsq));
    assert_string_equal(out, tsq);
}

static void test_renderings(void **state) {
    render("hello", "\"hello\"", "'hello'");
    render("Hello World", "\"hello\" AND \"world\"", "'hello' & 'world'");
    render("  two   spaces\t", "\"two\" AND \"spaces\"", "'two' & 'spaces'");
    render("pre*", "\"pre\"*", "'pre':*");
    render("\"two words\"", "\"two words\"", "('two' <-> 'words')");
    render("\"two wor\"*", "\"two wor\"*", "('two' <-> 'wor':*)");
    render("foo-bar", "\"foo bar\"", "('foo' <-> 'bar')");
    render("don't", "\"don t\"", "('don' <-> 't')");
    render("CAF\xc3\x89 caf\xc3\xa9", "\"caf\xc3\x89\" AND \"caf\xc3\xa9\"",
           "'caf\xc3\x89' & 'caf\xc3\xa9'");
    render("\"unclosed phrase", "\"unclosed phrase\"", "('unclosed' <-> 'phrase')");
    render("a\"b c\"d", "\"a\" AND \"b c\" AND \"d\"", "'a' & ('b' <-> 'c') & 'd'");
    /* engine syntax typed by the user is only separators */
    render("NEAR(a b) OR NOT x", "\"near a\" AND \"b\" AND \"or\" AND \"not\" AND \"x\"",
           "('near' <-> 'a') & 'b' & 'or' & 'not' & 'x'");
    render("a' | 'b & !c <-> d:*", "\"a\" AND \"b\" AND \"c\" AND \"d\"*",
           "'a' & 'b' & 'c' & 'd':*");
    render("x\\' OR 1=1 --", "\"x\" AND \"or\" AND \"1 1\"", "'x' & 'or' & ('1' <-> '1')");
    render("!! hello ** \"\"", "\"hello\"", "'hello'"); /* tokenless terms are dropped */
}

static void test_refused(void **state) {
    search_query q;
    char big[SEARCH_QUERY_MAX + 2];
    memset(big, 'a', sizeof big);
    assert_int_equal(search_query_parse("", 0, &q), SEARCH_ETOOLONG);
    assert_int_equal(search_query_parse(big, SEARCH_QUERY_MAX + 1, &q), SEARCH_ETOOLONG);
    assert_int_equal(search_query_parse(big, SEARCH_QUERY_MAX, &q), 0); /* the limit itself */
    assert_int_equal(q.n_tokens, 1);
    assert_int_equal(q.tok_len[0], SEARCH_QUERY_MAX);
    assert_int_equal(search_query_parse("*", 1, &q), SEARCH_EEMPTY);
    assert_int_equal(search_query_parse(" \"\" !? ", 7, &q), SEARCH_EEMPTY);
    /* the most tokens 256 bytes can hold */
    char many[SEARCH_QUERY_MAX];
    for (size_t i = 0; i < sizeof many; i++)
        many[i] = i % 2 ? ' ' : 'x';
    assert_int_equal(search_query_parse(many, sizeof many, &q), 0);
    assert_int_equal(q.n_tokens, 128);
    char out[SEARCH_RENDER_MAX];
    assert_true(search_query_fts5(&q, out, sizeof out) > 0);
    assert_true(search_query_tsquery(&q, out, sizeof out) > 0);
    assert_int_equal(search_query_fts5(&q, out, 10), SEARCH_ERENDER); /* too small: refused */
}

static int m(const char *query, const char *text) {
    search_query q;
    if (search_query_parse(query, strlen(query), &q) != 0) fail_msg("[%s] not parsed", query);
    return search_query_matches(&q, text, strlen(text));
}

static void test_matching(void **state) {
    assert_true(m("hello", "Hello, world"));
    assert_true(m("HELLO world", "world... hello"));
    assert_false(m("hello", "helloworld"));       /* whole words */
    assert_true(m("hello*", "helloworld"));       /* unless a prefix */
    assert_false(m("world*", "helloworld"));      /* a prefix of a word, not a suffix */
    assert_false(m("hello moon", "hello world")); /* every term */
    assert_true(m("\"hello world\"", "say hello-world"));
    assert_false(m("\"hello world\"", "hello big world"));
    assert_false(m("\"world hello\"", "hello world"));
    assert_true(m("\"hello wo\"*", "hello wonderful"));
    assert_false(m("\"hel world\"*", "hello world")); /* only the last token is a prefix */
    assert_true(m("don't", "I don't know"));
    assert_false(m("don't", "I dont know"));
    assert_true(m("caf\xc3\xa9", "un CAF\xc3\xa9 caf\xc3\xa9"));
    assert_false(m("caf\xc3\xa9", "CAF\xc3\x89")); /* non-ASCII letters compare exactly */
    assert_false(m("cafe", "caf\xc3\xa9"));
    assert_true(m("e-mail", "send an E-Mail"));
    assert_true(m("\xe6\x97\xa5\xe6\x9c\xac*", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e!"));
    assert_false(m("x", ""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renderings),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
