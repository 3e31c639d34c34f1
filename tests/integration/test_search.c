/*
 * test_search: full-text search over real sockets (PROTOCOL.md section 6,
 * "Search"): only channels the searcher is a member of now, whole words,
 * all terms, ASCII case folded, prefixes and phrases, newest first, pages
 * through `before` and has_more, one channel with channelId, system
 * notices never found, every error. On a cluster the store is PostgreSQL,
 * so the same test runs against both stores (tests/engine/test_search
 * compares them query by query).
 */
#include "integration/chatkit.h"

#include <string.h>

static json_t *search(tconn *c, const char *query, const char *channel, const char *before,
                      int limit) {
    json_t *req = json_pack("{s:s,s:s}", "type", "search", "query", query);
    if (channel) json_object_set_new(req, "channelId", json_string(channel));
    if (before) json_object_set_new(req, "before", json_string(before));
    if (limit) json_object_set_new(req, "limit", json_integer(limit));
    char *txt = json_dumps(req, JSON_COMPACT);
    send_text(c, txt, strlen(txt));
    free(txt);
    json_decref(req);
    json_t *r = recv_type(c, "search_results", H_TIMEOUT);
    assert_string_equal(jstr(r, "query"), query);
    return r;
}

/* The contents found, newest first, joined by "|". */
static const char *found(json_t *r) {
    char buf[2048] = "";
    size_t off = 0, i;
    json_t *m;
    json_array_foreach(jarr(r, "messages"), i, m) {
        off +=
            (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? "|" : "", jstr(m, "content"));
    }
    return hfmt("%s", buf);
}

static void test_search_rules(void **state) {
    member m[2];
    const char *id = group_with(H_SRV, m, 2, "srch");
    const char *x = new_user(H_SRV, "srchx");
    tconn *cx = chat_login(H_SRV, x);
    const char *none[] = {NULL};
    const char *other = create_group(cx, "elsewhere", none); /* m[*] are not in it */
    send_msg(cx, other, "zebra in another channel");

    /* a word of our own keeps other tests' messages out */
    const char *w = hfmt("zq%s", m[0].name);
    for (char *p = (char *)w; *p; p++)
        if (*p == '.' || *p == '-' || *p == '_') *p = 'x';
    send_msg(m[0].c, id, hfmt("%s zebra crossing", w));
    send_msg(m[1].c, id, hfmt("%s Zebras everywhere", w));
    send_msg(m[0].c, id, hfmt("%s the crossing of a ZEBRA", w));
    json_t *last = send_msg(m[1].c, id, hfmt("%s zebra-crossing, again!", w));

    /* whole words, all terms, case folded; newest first */
    json_t *r = search(m[1].c, hfmt("%s zebra", w), NULL, NULL, 0);
    assert_string_equal(found(r), hfmt("%s zebra-crossing, again!|%s the crossing of a ZEBRA|%s "
                                       "zebra crossing",
                                       w, w, w));
    assert_false(jbool(r, "has_more"));
    json_t *first = json_array_get(jarr(r, "messages"), 0);
    check_message(first, id, m[1].name, NULL);
    assert_string_equal(jstr(first, "message_id"), jstr(last, "message_id"));
    assert_int_equal(jint(first, "seq"), jint(last, "seq"));
    /* prefixes */
    r = search(m[1].c, hfmt("%s zebr*", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 4);
    /* phrases: the words next to each other, in order */
    r = search(m[0].c, hfmt("%s \"zebra crossing\"", w), NULL, NULL, 0);
    assert_string_equal(found(r), hfmt("%s zebra-crossing, again!|%s zebra crossing", w, w));
    r = search(m[0].c, hfmt("\"crossing zebra\" %s", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 0);
    /* only the searcher's channels: x finds their own zebra only */
    r = search(cx, "zebra", NULL, NULL, 0);
    assert_string_equal(found(r), "zebra in another channel");
    r = search(m[0].c, hfmt("%s zebra another", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 0);

    /* pages: limit, has_more, before */
    r = search(m[0].c, hfmt("%s zebra*", w), NULL, NULL, 3);
    assert_int_equal(json_array_size(jarr(r, "messages")), 3);
    assert_true(jbool(r, "has_more"));
    const char *cur = jstr(json_array_get(jarr(r, "messages"), 2), "message_id");
    r = search(m[0].c, hfmt("%s zebra*", w), NULL, cur, 3);
    assert_string_equal(found(r), hfmt("%s zebra crossing", w));
    assert_false(jbool(r, "has_more"));
    /* one channel */
    r = search(m[0].c, hfmt("%s zebra", w), id, NULL, 1);
    assert_int_equal(json_array_size(jarr(r, "messages")), 1);
    assert_true(jbool(r, "has_more"));

    /* results are messages in their current state: reactions, edits, deletions */
    const char *lid = jstr(last, "message_id");
    send_pack(m[0].c, "{s:s,s:s,s:s,s:s}", "type", "react", "channelId", id, "message_id", lid,
              "emoji", "+1");
    recv_type(m[0].c, "reaction", H_TIMEOUT);
    r = search(m[0].c, hfmt("%s again", w), NULL, NULL, 0);
    json_t *hit = json_array_get(jarr(r, "messages"), 0);
    assert_string_equal(jstr(json_array_get(jarr(hit, "reactions"), 0), "emoji"), "+1");
    send_pack(m[1].c, "{s:s,s:s,s:s,s:s}", "type", "edit_message", "channelId", id, "message_id",
              lid, "content", hfmt("%s okapi", w));
    recv_type(m[1].c, "message_updated", H_TIMEOUT);
    r = search(m[0].c, hfmt("%s again", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 0); /* the old text is gone */
    r = search(m[0].c, hfmt("%s okapi", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 1);
    send_pack(m[1].c, "{s:s,s:s,s:s}", "type", "delete_message", "channelId", id, "message_id",
              lid);
    recv_type(m[1].c, "message_deleted", H_TIMEOUT);
    r = search(m[0].c, hfmt("%s okapi", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 0); /* deleted: never found */

    /* system notices are never found; nor anything after leaving */
    r = search(m[0].c, hfmt("joined %s", m[1].name), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 0);
    send_pack(m[1].c, "{s:s,s:s}", "type", "leave_channel", "channelId", id);
    recv_type(m[1].c, "channel_left", H_TIMEOUT);
    r = search(m[1].c, hfmt("%s zebra", w), NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(r, "messages")), 0);
    tconn_close(cx);
    tconn_close(m[0].c);
    tconn_close(m[1].c);
}

static void test_search_errors(void **state) {
    member m[1];
    const char *id = group_with(H_SRV, m, 1, "serr");
    const char *x = new_user(H_SRV, "serrx");
    tconn *cx = chat_login(H_SRV, x);
    send_pack(m[0].c, "{s:s,s:s}", "type", "search", "query", "");
    expect_error(m[0].c, "invalid_field", "search");
    char big[258];
    memset(big, 'a', 257);
    big[257] = '\0';
    send_pack(m[0].c, "{s:s,s:s}", "type", "search", "query", big);
    expect_error(m[0].c, "invalid_field", "search");
    big[256] = '\0'; /* 256 bytes: the limit */
    search(m[0].c, big, NULL, NULL, 0);
    send_pack(m[0].c, "{s:s,s:s}", "type", "search", "query", "!! ** \"\"");
    expect_error(m[0].c, "invalid_field", "search");
    send_pack(m[0].c, "{s:s}", "type", "search");
    expect_error(m[0].c, "invalid_field", "search");
    send_pack(m[0].c, "{s:s,s:i}", "type", "search", "query", 5);
    expect_error(m[0].c, "invalid_field", "search");
    send_pack(m[0].c, "{s:s,s:s,s:i}", "type", "search", "query", "a", "limit", 0);
    expect_error(m[0].c, "invalid_field", "search");
    send_pack(m[0].c, "{s:s,s:s,s:i}", "type", "search", "query", "a", "limit", 51);
    expect_error(m[0].c, "invalid_field", "search");
    search(m[0].c, "a", NULL, NULL, 50);
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "search", "query", "a", "before", "x1");
    expect_error(m[0].c, "invalid_field", "search");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "search", "query", "a", "channelId", "nope");
    expect_error(m[0].c, "invalid_field", "search");
    send_pack(m[0].c, "{s:s,s:s,s:s}", "type", "search", "query", "a", "channelId",
              "123e4567-e89b-42d3-a456-426614174000");
    expect_error(m[0].c, "not_found", "search");
    send_pack(cx, "{s:s,s:s,s:s}", "type", "search", "query", "a", "channelId", id);
    expect_error(cx, "forbidden", "search");
    /* engine syntax is just words: no error, no injection */
    search(m[0].c, "a' OR 1=1 -- \" NEAR( :* & | ! <->", NULL, NULL, 0);
    tconn_close(cx);
    tconn_close(m[0].c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_rules),
        cmocka_unit_test(test_search_errors),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
