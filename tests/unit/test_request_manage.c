/*
 * Unit tests for src/proto/request_manage.c: decoding of protocol 1.1's
 * search, list_channels, add_members, remove_member, set_role and
 * update_channel, and create_channel's "private": defaults, every field
 * error with its code, and that they exist on /chat only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/request.h"
#include "proto/search_query.h"

#define CH "123e4567-e89b-42d3-a456-426614174000"

static void ok(const char *json, request *r) {
    proto_error e;
    if (request_decode(json, strlen(json), PROTO_EP_CHAT, NULL, r, &e) != 0)
        fail_msg("decode of %s failed: [%s] %s", json, proto_code_name(e.code), e.message);
}

static void bad(const char *json, proto_code code, const char *needle) {
    request r;
    proto_error e;
    if (request_decode(json, strlen(json), PROTO_EP_CHAT, NULL, &r, &e) == 0) {
        request_free(&r);
        fail_msg("decode of %.200s unexpectedly succeeded", json);
    }
    if (e.code != code)
        fail_msg("%.200s: code %s, want %s (%s)", json, proto_code_name(e.code),
                 proto_code_name(code), e.message);
    if (!strstr(e.message, needle))
        fail_msg("%.200s: message \"%s\" does not mention \"%s\"", json, e.message, needle);
    assert_null(r.root__);
}

static void test_search(void **state) {
    request r;
    ok("{\"type\":\"search\",\"query\":\"Hello wor*\"}", &r);
    assert_int_equal(r.type, REQ_SEARCH);
    assert_string_equal(r.u.search.query, "Hello wor*");
    assert_int_equal(r.u.search.limit, 20);
    assert_string_equal(r.u.search.channel_id, "");
    assert_int_equal(r.u.search.before, 0);
    assert_int_equal(r.u.search.q->n_terms, 2);
    assert_true(r.u.search.q->terms[1].prefix);
    request_free(&r);
    ok("{\"type\":\"search\",\"query\":\"x\",\"channelId\":\"123E4567-E89B-42D3-A456-"
       "426614174000\","
       "\"limit\":50,\"before\":\"77\",\"unknown\":1}",
       &r);
    assert_string_equal(r.u.search.channel_id, CH); /* lower-cased */
    assert_int_equal(r.u.search.limit, 50);
    assert_int_equal(r.u.search.before, 77);
    request_free(&r);
    ok("{\"type\":\"search\",\"query\":\"x\",\"channelId\":null,\"limit\":null}", &r);
    assert_int_equal(r.u.search.limit, 20);
    request_free(&r);

    bad("{\"type\":\"search\"}", PROTO_INVALID_FIELD, "\"query\"");
    bad("{\"type\":\"search\",\"query\":\"\"}", PROTO_INVALID_FIELD, "\"query\"");
    bad("{\"type\":\"search\",\"query\":7}", PROTO_INVALID_FIELD, "\"query\"");
    bad("{\"type\":\"search\",\"query\":\"!!\"}", PROTO_INVALID_FIELD, "no word");
    bad("{\"type\":\"search\",\"query\":\"a\\u0000b\"}", PROTO_INVALID_FIELD, "\"query\"");
    bad("{\"type\":\"search\",\"query\":\"a\",\"limit\":0}", PROTO_INVALID_FIELD, "\"limit\"");
    bad("{\"type\":\"search\",\"query\":\"a\",\"limit\":51}", PROTO_INVALID_FIELD, "\"limit\"");
    bad("{\"type\":\"search\",\"query\":\"a\",\"limit\":2.5}", PROTO_INVALID_FIELD, "\"limit\"");
    bad("{\"type\":\"search\",\"query\":\"a\",\"before\":\"0\"}", PROTO_INVALID_FIELD,
        "\"before\"");
    bad("{\"type\":\"search\",\"query\":\"a\",\"channelId\":\"x\"}", PROTO_INVALID_FIELD,
        "\"channelId\"");
    char big[400];
    snprintf(big, sizeof big, "{\"type\":\"search\",\"query\":\"%0257d\"}", 0);
    bad(big, PROTO_INVALID_FIELD, "257 bytes");
    /* chat only */
    proto_error e;
    const char *s = "{\"type\":\"search\",\"query\":\"a\"}";
    assert_int_equal(request_decode(s, strlen(s), PROTO_EP_PRESENCE, NULL, &r, &e), -1);
    assert_int_equal(e.code, PROTO_UNKNOWN_TYPE);
}

static void test_list_channels(void **state) {
    request r;
    ok("{\"type\":\"list_channels\"}", &r);
    assert_int_equal(r.type, REQ_LIST_CHANNELS);
    assert_null(r.u.directory.query);
    assert_string_equal(r.u.directory.after, "");
    assert_int_equal(r.u.directory.limit, 50);
    request_free(&r);
    ok("{\"type\":\"list_channels\",\"query\":\"GenÉral\",\"after\":\"" CH "\",\"limit\":100}", &r);
    assert_string_equal(r.u.directory.query, "genÉral"); /* ASCII letters folded only */
    assert_string_equal(r.u.directory.after, CH);
    assert_int_equal(r.u.directory.limit, 100);
    request_free(&r);
    ok("{\"type\":\"list_channels\",\"query\":\"\"}", &r); /* empty: everything */
    assert_null(r.u.directory.query);
    request_free(&r);
    bad("{\"type\":\"list_channels\",\"limit\":101}", PROTO_INVALID_FIELD, "\"limit\"");
    bad("{\"type\":\"list_channels\",\"after\":\"nope\"}", PROTO_INVALID_FIELD, "\"after\"");
    bad("{\"type\":\"list_channels\",\"query\":[1]}", PROTO_INVALID_FIELD, "\"query\"");
    char big[200];
    snprintf(big, sizeof big, "{\"type\":\"list_channels\",\"query\":\"%0101d\"}", 0);
    bad(big, PROTO_TOO_LARGE, "\"query\"");
}

static void test_manage(void **state) {
    request r;
    ok("{\"type\":\"add_members\",\"channelId\":\"" CH "\",\"userIds\":[\"b\",\"c\",\"b\"]}", &r);
    assert_int_equal(r.type, REQ_ADD_MEMBERS);
    assert_int_equal(r.u.add_members.n, 2); /* duplicates removed */
    request_free(&r);
    bad("{\"type\":\"add_members\",\"channelId\":\"" CH "\",\"userIds\":[]}", PROTO_INVALID_FIELD,
        "\"userIds\"");
    bad("{\"type\":\"add_members\",\"channelId\":\"" CH "\"}", PROTO_INVALID_FIELD, "\"userIds\"");
    bad("{\"type\":\"add_members\",\"channelId\":\"" CH "\",\"userIds\":[\"a b\"]}",
        PROTO_INVALID_FIELD, "invalid username");
    bad("{\"type\":\"add_members\",\"userIds\":[\"b\"]}", PROTO_INVALID_FIELD, "\"channelId\"");

    ok("{\"type\":\"remove_member\",\"channelId\":\"" CH "\",\"userId\":\"bob\"}", &r);
    assert_int_equal(r.type, REQ_REMOVE_MEMBER);
    assert_string_equal(r.u.member.user_id, "bob");
    request_free(&r);
    bad("{\"type\":\"remove_member\",\"channelId\":\"" CH "\"}", PROTO_INVALID_FIELD, "\"userId\"");
    bad("{\"type\":\"remove_member\",\"channelId\":\"" CH "\",\"userId\":\"\"}",
        PROTO_INVALID_FIELD, "\"userId\"");

    ok("{\"type\":\"set_role\",\"channelId\":\"" CH "\",\"userId\":\"bob\",\"role\":\"admin\"}",
       &r);
    assert_int_equal(r.type, REQ_SET_ROLE);
    assert_true(r.u.member.is_admin);
    request_free(&r);
    ok("{\"type\":\"set_role\",\"channelId\":\"" CH "\",\"userId\":\"bob\",\"role\":\"member\"}",
       &r);
    assert_false(r.u.member.is_admin);
    request_free(&r);
    bad("{\"type\":\"set_role\",\"channelId\":\"" CH "\",\"userId\":\"bob\",\"role\":\"Admin\"}",
        PROTO_INVALID_FIELD, "\"role\"");
    bad("{\"type\":\"set_role\",\"channelId\":\"" CH "\",\"userId\":\"bob\"}", PROTO_INVALID_FIELD,
        "\"role\"");

    ok("{\"type\":\"update_channel\",\"channelId\":\"" CH "\",\"topic\":\"\"}", &r);
    assert_int_equal(r.type, REQ_UPDATE_CHANNEL);
    assert_null(r.u.update.name);
    assert_string_equal(r.u.update.topic, "");
    request_free(&r);
    ok("{\"type\":\"update_channel\",\"channelId\":\"" CH "\",\"name\":\"n\",\"topic\":null}", &r);
    assert_string_equal(r.u.update.name, "n");
    assert_null(r.u.update.topic);
    request_free(&r);
    bad("{\"type\":\"update_channel\",\"channelId\":\"" CH "\"}", PROTO_INVALID_FIELD, "nothing");
    bad("{\"type\":\"update_channel\",\"channelId\":\"" CH "\",\"name\":\"\"}", PROTO_INVALID_FIELD,
        "\"name\"");
    char big[600];
    snprintf(big, sizeof big,
             "{\"type\":\"update_channel\",\"channelId\":\"" CH "\",\"topic\":\"%0251d\"}", 0);
    bad(big, PROTO_TOO_LARGE, "\"topic\"");
    snprintf(big, sizeof big,
             "{\"type\":\"update_channel\",\"channelId\":\"" CH "\",\"topic\":\"%0250d\"}", 0);
    ok(big, &r);
    request_free(&r);
    snprintf(big, sizeof big,
             "{\"type\":\"update_channel\",\"channelId\":\"" CH "\",\"name\":\"%0101d\"}", 0);
    bad(big, PROTO_TOO_LARGE, "\"name\"");
}

static void test_create_private(void **state) {
    request r;
    ok("{\"type\":\"create_channel\",\"name\":\"p\",\"participants\":[],\"private\":true}", &r);
    assert_true(r.u.create.is_private);
    request_free(&r);
    ok("{\"type\":\"create_channel\",\"name\":\"p\",\"participants\":[],\"private\":false}", &r);
    assert_false(r.u.create.is_private);
    request_free(&r);
    ok("{\"type\":\"create_channel\",\"name\":\"p\",\"participants\":[]}", &r);
    assert_false(r.u.create.is_private);
    request_free(&r);
    bad("{\"type\":\"create_channel\",\"name\":\"p\",\"participants\":[],\"private\":1}",
        PROTO_INVALID_FIELD, "\"private\"");
    bad("{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"b\"],\"private\":"
        "true}",
        PROTO_INVALID_FIELD, "private");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_list_channels),
        cmocka_unit_test(test_manage),
        cmocka_unit_test(test_create_private),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
