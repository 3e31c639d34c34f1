/*
 * Unit tests for src/proto/request.c: every request type's happy path and
 * every error path and limit of PROTOCOL.md sections 2-4. Each error test
 * checks the code, that the message names the field, and request_type.
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

#define CHAT PROTO_EP_CHAT
#define PRES PROTO_EP_PRESENCE
#define CH "123e4567-e89b-42d3-a456-426614174000"

static proto_limits L;

static int dec(const char *json, proto_endpoint ep, request *r, proto_error *e) {
    return request_decode(json, strlen(json), ep, &L, r, e);
}

/* Decodes json expecting success; the caller must request_free(r). */
static void ok(const char *json, proto_endpoint ep, request *r) {
    proto_error e;
    if (dec(json, ep, r, &e) != 0)
        fail_msg("decode of %s failed: [%s] %s", json, proto_code_name(e.code), e.message);
}

/* Decodes json expecting an error with code, a message containing needle,
 * and request_type rtype. */
static void bad(const char *json, proto_endpoint ep, proto_code code, const char *needle,
                const char *rtype) {
    request r;
    proto_error e;
    int rc = dec(json, ep, &r, &e);
    if (rc == 0) {
        request_free(&r);
        fail_msg("decode of %.200s unexpectedly succeeded", json);
    }
    assert_int_equal(rc, -1);
    if (e.code != code)
        fail_msg("%.200s: code %s, want %s (%s)", json, proto_code_name(e.code),
                 proto_code_name(code), e.message);
    if (!strstr(e.message, needle))
        fail_msg("%.200s: message \"%s\" does not mention \"%s\"", json, e.message, needle);
    assert_string_equal(e.request_type, rtype);
    assert_null(r.root__); /* nothing to free on error */
}

static int setup(void **state) {
    proto_limits_default(&L);
    return 0;
}

/* ---- helpers ---- */

static void test_defaults_and_codes(void **state) {
    assert_int_equal(L.max_content, 4000);
    assert_int_equal(L.max_name, 100);
    assert_int_equal(L.max_participants, 1000);
    assert_int_equal(L.max_depth, 16);
    const char *want[] = {"bad_json",  "unknown_type", "invalid_field", "not_found", "forbidden",
                          "too_large", "rate_limited", "unavailable",   "internal"};
    for (int i = 0; i < PROTO_CODE_COUNT; i++)
        assert_string_equal(proto_code_name((proto_code)i), want[i]);
    assert_string_equal(proto_code_name(PROTO_CODE_COUNT), "internal");
}

static void test_valid_username(void **state) {
    assert_true(proto_valid_username("alice", 5));
    assert_true(proto_valid_username("A.b-c_9", 7));
    assert_true(proto_valid_username("x", 1));
    assert_true(proto_valid_username("abcdefghijabcdefghijabcdefghij12", 32));
    assert_false(proto_valid_username("abcdefghijabcdefghijabcdefghij123", 33));
    assert_false(proto_valid_username("", 0));
    assert_false(proto_valid_username("a b", 3));
    assert_false(proto_valid_username("a/b", 3));
    assert_false(proto_valid_username("\xc3\xa9t\xc3\xa9", 6));
    assert_false(proto_valid_username("ab\0c", 4));
    assert_false(proto_valid_username(NULL, 0));
}

static void test_valid_uuid(void **state) {
    assert_true(proto_valid_uuid(CH, 36));
    assert_true(proto_valid_uuid("123E4567-E89B-42D3-A456-426614174000", 36));
    assert_false(proto_valid_uuid("123e4567e89b42d3a456426614174000", 32));
    assert_false(proto_valid_uuid("123e4567-e89b-42d3-a456-42661417400", 35));
    assert_false(proto_valid_uuid("123e4567-e89b-42d3-a456-4266141740000", 37));
    assert_false(proto_valid_uuid("123e4567-e89b-42d3-a456_426614174000", 36));
    assert_false(proto_valid_uuid("g23e4567-e89b-42d3-a456-426614174000", 36));
    assert_false(proto_valid_uuid("123e4567-e89b-42d3-a4566-42661417400", 36));
}

static void test_parse_id(void **state) {
    assert_int_equal(proto_parse_id("1", 1), 1);
    assert_int_equal(proto_parse_id("1234567890123", 13), 1234567890123ULL);
    assert_true(proto_parse_id("18446744073709551615", 20) == UINT64_MAX);
    assert_int_equal(proto_parse_id("18446744073709551616", 20), 0);
    assert_int_equal(proto_parse_id("99999999999999999999", 20), 0);
    assert_int_equal(proto_parse_id("000000000000000000001", 21), 0);
    assert_int_equal(proto_parse_id("0", 1), 0);
    assert_int_equal(proto_parse_id("", 0), 0);
    assert_int_equal(proto_parse_id("-1", 2), 0);
    assert_int_equal(proto_parse_id("+1", 2), 0);
    assert_int_equal(proto_parse_id(" 1", 2), 0);
    assert_int_equal(proto_parse_id("1 ", 2), 0);
    assert_int_equal(proto_parse_id("1a", 2), 0);
    assert_int_equal(proto_parse_id("12", 1), 1); /* only len bytes are read */
}

/* ---- frame level ---- */

static void test_bad_json(void **state) {
    request r;
    proto_error e;
    assert_int_equal(request_decode("", 0, CHAT, &L, &r, &e), -1);
    assert_int_equal(e.code, PROTO_BAD_JSON);
    assert_non_null(strstr(e.message, "empty"));
    assert_string_equal(e.request_type, "");
    bad("   ", CHAT, PROTO_BAD_JSON, "JSON", "");
    bad("[]", CHAT, PROTO_BAD_JSON, "JSON", "");
    bad("[{\"type\":\"heartbeat\"}]", PRES, PROTO_BAD_JSON, "object", "");
    bad("42", CHAT, PROTO_BAD_JSON, "JSON", "");
    bad("\"heartbeat\"", CHAT, PROTO_BAD_JSON, "JSON", "");
    bad("null", CHAT, PROTO_BAD_JSON, "JSON", "");
    bad("{", CHAT, PROTO_BAD_JSON, "not valid JSON", "");
    bad("{\"type\":\"heartbeat\"", CHAT, PROTO_BAD_JSON, "not valid JSON", "");
    bad("{\"type\":\"heartbeat\"} x", CHAT, PROTO_BAD_JSON, "not valid JSON", "");
    bad("{'type':'heartbeat'}", CHAT, PROTO_BAD_JSON, "not valid JSON", "");
    /* NULL lim means defaults */
    assert_int_equal(request_decode("{}", 2, CHAT, NULL, &r, &e), -1);
    assert_int_equal(e.code, PROTO_INVALID_FIELD);
}

static void test_depth(void **state) {
    char buf[256];
    request r;
    /* 16 levels: the frame object plus 15 nested arrays in an ignored field */
    snprintf(buf, sizeof buf, "{\"type\":\"heartbeat\",\"x\":%s%s}", "[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]");
    ok(buf, PRES, &r);
    request_free(&r);
    snprintf(buf, sizeof buf, "{\"type\":\"heartbeat\",\"x\":%s%s}", "[[[[[[[[[[[[[[[[",
             "]]]]]]]]]]]]]]]]");
    bad(buf, PRES, PROTO_BAD_JSON, "nested deeper than 16", "");
    /* brackets inside strings do not count */
    ok("{\"type\":\"heartbeat\",\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", PRES, &r);
    request_free(&r);
    /* a huge depth is refused before jansson sees it */
    char *deep = malloc(200001);
    memset(deep, '[', 200000);
    deep[200000] = '\0';
    bad(deep, CHAT, PROTO_BAD_JSON, "nested", "");
    free(deep);
}

static void test_type_field(void **state) {
    bad("{}", CHAT, PROTO_INVALID_FIELD, "\"type\"", "");
    bad("{\"type\":null}", CHAT, PROTO_INVALID_FIELD, "\"type\"", "");
    bad("{\"type\":5}", CHAT, PROTO_INVALID_FIELD, "\"type\" must be a string", "");
    bad("{\"type\":[\"heartbeat\"]}", CHAT, PROTO_INVALID_FIELD, "\"type\"", "");
    bad("{\"type\":\"heart\\u0000beat\"}", CHAT, PROTO_INVALID_FIELD, "\"type\"", "");
    bad("{\"type\":\"fly\"}", CHAT, PROTO_UNKNOWN_TYPE, "\"fly\"", "fly");
    bad("{\"type\":\"\"}", CHAT, PROTO_UNKNOWN_TYPE, "unknown message type", "");
    bad("{\"type\":\"Chat_Message\"}", CHAT, PROTO_UNKNOWN_TYPE, "Chat_Message", "Chat_Message");
    /* endpoint-specific types */
    bad("{\"type\":\"status_update\",\"status\":\"away\"}", CHAT, PROTO_UNKNOWN_TYPE,
        "status_update", "status_update");
    bad("{\"type\":\"subscribe\",\"userIds\":[]}", CHAT, PROTO_UNKNOWN_TYPE, "subscribe",
        "subscribe");
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\"}", PRES,
        PROTO_UNKNOWN_TYPE, "chat_message", "chat_message");
    bad("{\"type\":\"join_channel\",\"channelId\":\"" CH "\"}", PRES, PROTO_UNKNOWN_TYPE,
        "join_channel", "join_channel");
    /* a very long type is cut in request_type, not overflowed */
    char buf[400];
    snprintf(buf, sizeof buf, "{\"type\":\"%0300d\"}", 7);
    request r;
    proto_error e;
    assert_int_equal(dec(buf, CHAT, &r, &e), -1);
    assert_int_equal(e.code, PROTO_UNKNOWN_TYPE);
    assert_int_equal(strlen(e.request_type), 63);
    assert_true(strlen(e.message) < sizeof e.message);
}

static void test_heartbeat_both_endpoints(void **state) {
    request r;
    ok("{\"type\":\"heartbeat\"}", CHAT, &r);
    assert_int_equal(r.type, REQ_HEARTBEAT);
    assert_string_equal(r.type_name, "heartbeat");
    request_free(&r);
    ok("{\"type\":\"heartbeat\",\"extra\":{\"a\":[1,2]}}", PRES, &r);
    assert_int_equal(r.type, REQ_HEARTBEAT);
    request_free(&r);
    assert_null(r.root__);
    request_free(&r); /* twice is harmless */
}

/* ---- create_channel ---- */

static void test_create_group(void **state) {
    request r;
    ok("{\"type\":\"create_channel\",\"name\":\"general\",\"participants\":[\"bob\",\"carol\","
       "\"bob\",\"dave\",\"carol\"],\"unknown\":1}",
       CHAT, &r);
    assert_int_equal(r.type, REQ_CREATE_CHANNEL);
    assert_string_equal(r.u.create.name, "general");
    assert_false(r.u.create.is_direct);
    assert_int_equal(r.u.create.n_participants, 3);
    assert_string_equal(r.u.create.participants[0], "bob");
    assert_string_equal(r.u.create.participants[1], "carol");
    assert_string_equal(r.u.create.participants[2], "dave");
    request_free(&r);

    ok("{\"type\":\"create_channel\",\"name\":\"solo\",\"kind\":\"group\",\"participants\":[]}",
       CHAT, &r);
    assert_int_equal(r.u.create.n_participants, 0);
    assert_false(r.u.create.is_direct);
    request_free(&r);
    /* participants is required (PROTOCOL.md section 2): an empty array is fine. */
    bad("{\"type\":\"create_channel\",\"name\":\"solo\"}", CHAT, PROTO_INVALID_FIELD,
        "participants", "create_channel");
    ok("{\"type\":\"create_channel\",\"name\":\"solo\",\"participants\":[]}", CHAT, &r);
    assert_int_equal(r.u.create.n_participants, 0);
    request_free(&r);
}

static void test_create_direct(void **state) {
    request r;
    ok("{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"bob\"]}", CHAT, &r);
    assert_true(r.u.create.is_direct);
    assert_null(r.u.create.name);
    assert_int_equal(r.u.create.n_participants, 1);
    request_free(&r);
    ok("{\"type\":\"create_channel\",\"kind\":\"direct\",\"name\":\"\",\"participants\":[\"bob\","
       "\"alice\",\"bob\"]}",
       CHAT, &r);
    assert_null(r.u.create.name);
    assert_int_equal(r.u.create.n_participants, 2);
    request_free(&r);
    ok("{\"type\":\"create_channel\",\"kind\":\"direct\",\"name\":\"dm\",\"participants\":[\"b\"]}",
       CHAT, &r);
    assert_string_equal(r.u.create.name, "dm");
    request_free(&r);
    ok("{\"type\":\"create_channel\",\"kind\":\"direct\",\"name\":null,\"participants\":[\"b\"]}",
       CHAT, &r);
    assert_null(r.u.create.name);
    request_free(&r);

    bad("{\"type\":\"create_channel\",\"kind\":\"direct\"}", CHAT, PROTO_INVALID_FIELD,
        "\"participants\"", "create_channel");
    bad("{\"type\":\"create_channel\",\"kind\":\"direct\",\"participants\":[\"a\",\"b\",\"c\"]}",
        CHAT, PROTO_INVALID_FIELD, "\"participants\"", "create_channel");
}

static void test_create_errors(void **state) {
    const char *t = "create_channel";
    bad("{\"type\":\"create_channel\",\"participants\":[\"bob\"]}", CHAT, PROTO_INVALID_FIELD,
        "\"name\"", t);
    bad("{\"type\":\"create_channel\",\"name\":\"\"}", CHAT, PROTO_INVALID_FIELD, "\"name\"", t);
    bad("{\"type\":\"create_channel\",\"name\":null}", CHAT, PROTO_INVALID_FIELD, "\"name\"", t);
    bad("{\"type\":\"create_channel\",\"name\":7}", CHAT, PROTO_INVALID_FIELD,
        "\"name\" must be a string", t);
    bad("{\"type\":\"create_channel\",\"name\":\"a\\u0000b\"}", CHAT, PROTO_INVALID_FIELD,
        "\"name\"", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"kind\":\"public\"}", CHAT,
        PROTO_INVALID_FIELD, "\"kind\"", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"kind\":1}", CHAT, PROTO_INVALID_FIELD,
        "\"kind\"", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":\"bob\"}", CHAT,
        PROTO_INVALID_FIELD, "\"participants\" must be an array", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":{}}", CHAT,
        PROTO_INVALID_FIELD, "\"participants\"", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":[\"bob\",3]}", CHAT,
        PROTO_INVALID_FIELD, "\"participants\" must contain only strings", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":[\"bob\",null]}", CHAT,
        PROTO_INVALID_FIELD, "\"participants\"", t);
    /* every invalid username is named */
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":[\"ok\",\"bad name\","
        "\"\",\"also/bad\"]}",
        CHAT, PROTO_INVALID_FIELD, "\"bad name\", \"\", \"also/bad\"", t);
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":[\"bad name\"]}", CHAT,
        PROTO_INVALID_FIELD, "\"participants\" has 1 invalid username: \"bad name\"", t);
}

static void test_create_limits(void **state) {
    request r;
    const char *t = "create_channel";
    char name[102];
    memset(name, 'n', 101);
    name[101] = '\0';
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"type\":\"create_channel\",\"name\":\"%.100s\",\"participants\":[]}", name);
    ok(buf, CHAT, &r);
    assert_int_equal(strlen(r.u.create.name), 100);
    request_free(&r);
    snprintf(buf, sizeof buf, "{\"type\":\"create_channel\",\"name\":\"%s\"}", name);
    bad(buf, CHAT, PROTO_TOO_LARGE, "\"name\"", t);
    /* 100 bytes means bytes: 34 three-byte characters = 102 bytes */
    char wide[3 * 34 + 1] = "";
    for (int i = 0; i < 34; i++)
        strcat(wide, "\xe2\x82\xac");
    snprintf(buf, sizeof buf, "{\"type\":\"create_channel\",\"name\":\"%s\"}", wide);
    bad(buf, CHAT, PROTO_TOO_LARGE, "\"name\"", t);

    /* participants: 1000 allowed, 1001 too_large */
    size_t cap = 32 + 1001 * 10 + 64;
    char *big = malloc(cap);
    for (int n = 1000; n <= 1001; n++) {
        size_t len = (size_t)sprintf(big, "{\"type\":\"create_channel\",\"name\":\"x\","
                                          "\"participants\":[");
        for (int i = 0; i < n; i++)
            len += (size_t)sprintf(big + len, "%s\"u%d\"", i ? "," : "", i);
        strcpy(big + len, "]}");
        if (n == 1000) {
            ok(big, CHAT, &r);
            assert_int_equal(r.u.create.n_participants, 1000);
            assert_string_equal(r.u.create.participants[999], "u999");
            request_free(&r);
        } else {
            bad(big, CHAT, PROTO_TOO_LARGE, "\"participants\" has 1001 entries", t);
        }
    }
    /* many invalid names: message stays a bounded sentence */
    size_t len = (size_t)sprintf(big, "{\"type\":\"create_channel\",\"name\":\"x\","
                                      "\"participants\":[");
    for (int i = 0; i < 200; i++)
        len += (size_t)sprintf(big + len, "%s\"bad name %d\"", i ? "," : "", i);
    strcpy(big + len, "]}");
    bad(big, CHAT, PROTO_INVALID_FIELD, "200 invalid usernames: \"bad name 0\"", t);
    free(big);

    L.max_participants = 2;
    bad("{\"type\":\"create_channel\",\"name\":\"x\",\"participants\":[\"a\",\"b\",\"c\"]}", CHAT,
        PROTO_TOO_LARGE, "at most 2", t);
    L.max_name = 3;
    bad("{\"type\":\"create_channel\",\"name\":\"abcd\"}", CHAT, PROTO_TOO_LARGE, "at most 3", t);
    proto_limits_default(&L);
}

/* ---- join / leave ---- */

static void test_join_leave(void **state) {
    request r;
    ok("{\"type\":\"join_channel\",\"channelId\":\"123E4567-E89B-42D3-A456-426614174ABC\"}", CHAT,
       &r);
    assert_int_equal(r.type, REQ_JOIN_CHANNEL);
    assert_string_equal(r.u.channel.channel_id, "123e4567-e89b-42d3-a456-426614174abc");
    request_free(&r);
    ok("{\"type\":\"leave_channel\",\"channelId\":\"" CH "\"}", CHAT, &r);
    assert_int_equal(r.type, REQ_LEAVE_CHANNEL);
    assert_string_equal(r.u.channel.channel_id, CH);
    request_free(&r);

    const char *types[] = {"join_channel", "leave_channel"};
    for (int i = 0; i < 2; i++) {
        char buf[200];
        snprintf(buf, sizeof buf, "{\"type\":\"%s\"}", types[i]);
        bad(buf, CHAT, PROTO_INVALID_FIELD, "\"channelId\" is missing", types[i]);
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"channelId\":42}", types[i]);
        bad(buf, CHAT, PROTO_INVALID_FIELD, "\"channelId\" must be a string", types[i]);
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"channelId\":\"general\"}", types[i]);
        bad(buf, CHAT, PROTO_INVALID_FIELD, "\"channelId\" must be a channel id", types[i]);
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"channel_id\":\"" CH "\"}", types[i]);
        bad(buf, CHAT, PROTO_INVALID_FIELD, "\"channelId\"", types[i]);
    }
}

/* ---- chat_message ---- */

static void test_chat_message(void **state) {
    request r;
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"hi \\\"there\\\" "
       "\\u00e9\",\"metadata\":{ \"reply_to\" : \"12\", \"n\": [1, 2] },\"client_msg_id\":\"c-1\"}",
       CHAT, &r);
    assert_int_equal(r.type, REQ_CHAT_MESSAGE);
    assert_string_equal(r.u.chat.channel_id, CH);
    assert_string_equal(r.u.chat.content, "hi \"there\" \xc3\xa9");
    assert_int_equal(r.u.chat.content_len, 13);
    assert_string_equal(r.u.chat.metadata, "{\"reply_to\":\"12\",\"n\":[1,2]}");
    assert_string_equal(r.u.chat.client_msg_id, "c-1");
    request_free(&r);

    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\"}", CHAT, &r);
    assert_string_equal(r.u.chat.metadata, "{}");
    assert_null(r.u.chat.client_msg_id);
    request_free(&r);
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\",\"metadata\":null,"
       "\"client_msg_id\":null}",
       CHAT, &r);
    assert_string_equal(r.u.chat.metadata, "{}");
    assert_null(r.u.chat.client_msg_id);
    request_free(&r);
    /* duplicate keys are allowed: the last one wins */
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"a\",\"content\":\"b\"}",
       CHAT, &r);
    assert_string_equal(r.u.chat.content, "b");
    request_free(&r);
}

static void test_chat_unicode(void **state) {
    request r;
    const char *t = "chat_message";
    /* a valid surrogate pair is one 4-byte character */
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\ud83d\\ude00\"}", CHAT,
       &r);
    assert_int_equal(r.u.chat.content_len, 4);
    assert_memory_equal(r.u.chat.content, "\xf0\x9f\x98\x80", 4);
    request_free(&r);
    /* an escaped backslash followed by "ud800" is plain text */
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\\\ud800\"}", CHAT, &r);
    assert_string_equal(r.u.chat.content, "\\ud800");
    request_free(&r);
    /* lone surrogates: invalid_field naming content, not bad_json */
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"a\\ud800b\"}", CHAT,
        PROTO_INVALID_FIELD, "\"content\"", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\uDC00\"}", CHAT,
        PROTO_INVALID_FIELD, "surrogate", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\ud800\\u0041\"}", CHAT,
        PROTO_INVALID_FIELD, "\"content\"", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\udbff\"}", CHAT,
        PROTO_INVALID_FIELD, "\"content\"", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\\u0000y\"}", CHAT,
        PROTO_INVALID_FIELD, "\"content\" contains a NUL", t);
    /* a lone surrogate elsewhere names that field */
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"ok\","
        "\"client_msg_id\":\"\\ud800\"}",
        CHAT, PROTO_INVALID_FIELD, "\"client_msg_id\"", t);
    bad("{\"type\":\"\\ud800\"}", CHAT, PROTO_INVALID_FIELD, "\"type\"", "");
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"ok\","
        "\"metadata\":{\"a\":[\"\\udfff\"]}}",
        CHAT, PROTO_INVALID_FIELD, "\"metadata\" contains", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"ok\","
        "\"metadata\":{\"a\":{\"b\":\"\\u0000\"}}}",
        CHAT, PROTO_INVALID_FIELD, "\"metadata\" contains", t);
    /* ...and in an ignored field it is ignored */
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"ok\",\"x\":\"\\ud800\"}",
       CHAT, &r);
    request_free(&r);
    /* malformed escapes are still bad JSON */
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\u12\"}", CHAT,
        PROTO_BAD_JSON, "JSON", "");
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\\q\"}", CHAT,
        PROTO_BAD_JSON, "JSON", "");
}

static void test_chat_errors(void **state) {
    const char *t = "chat_message";
    bad("{\"type\":\"chat_message\",\"content\":\"x\"}", CHAT, PROTO_INVALID_FIELD, "\"channelId\"",
        t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"nope\",\"content\":\"x\"}", CHAT,
        PROTO_INVALID_FIELD, "\"channelId\"", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\"}", CHAT, PROTO_INVALID_FIELD,
        "\"content\" is missing", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":5}", CHAT,
        PROTO_INVALID_FIELD, "\"content\" must be a string", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"\"}", CHAT,
        PROTO_INVALID_FIELD, "\"content\" is empty", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\",\"metadata\":[]}",
        CHAT, PROTO_INVALID_FIELD, "\"metadata\" must be a JSON object", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH
        "\",\"content\":\"x\",\"metadata\":\"{}\"}",
        CHAT, PROTO_INVALID_FIELD, "\"metadata\"", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH
        "\",\"content\":\"x\",\"client_msg_id\":\"\"}",
        CHAT, PROTO_INVALID_FIELD, "\"client_msg_id\" is empty", t);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH
        "\",\"content\":\"x\",\"client_msg_id\":7}",
        CHAT, PROTO_INVALID_FIELD, "\"client_msg_id\" must be a string", t);
}

static char *chat_with(const char *content, const char *extra) {
    size_t cap = strlen(content) + strlen(extra) + 128;
    char *buf = malloc(cap);
    snprintf(buf, cap, "{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"%s\"%s}",
             content, extra);
    return buf;
}

static void test_chat_limits(void **state) {
    request r;
    const char *t = "chat_message";
    char content[4002];
    memset(content, 'c', 4001);
    content[4001] = '\0';
    char *json = chat_with(content, "");
    bad(json, CHAT, PROTO_TOO_LARGE, "\"content\" is 4001 bytes", t);
    free(json);
    content[4000] = '\0';
    json = chat_with(content, "");
    ok(json, CHAT, &r);
    assert_int_equal(r.u.chat.content_len, 4000);
    request_free(&r);
    free(json);
    /* the limit counts bytes after unescaping: 4000 x "\n" escapes is 4000 bytes */
    char *esc = malloc(8001);
    for (int i = 0; i < 4000; i++)
        memcpy(esc + 2 * i, "\\n", 2);
    esc[8000] = '\0';
    json = chat_with(esc, "");
    ok(json, CHAT, &r);
    assert_int_equal(r.u.chat.content_len, 4000);
    request_free(&r);
    free(json);
    free(esc);

    /* client_msg_id: 128 ok, 129 too_large */
    char id[140], extra[200];
    memset(id, 'i', 129);
    id[129] = '\0';
    snprintf(extra, sizeof extra, ",\"client_msg_id\":\"%s\"", id);
    json = chat_with("x", extra);
    bad(json, CHAT, PROTO_TOO_LARGE, "\"client_msg_id\"", t);
    free(json);
    id[128] = '\0';
    snprintf(extra, sizeof extra, ",\"client_msg_id\":\"%s\"", id);
    json = chat_with("x", extra);
    ok(json, CHAT, &r);
    assert_int_equal(strlen(r.u.chat.client_msg_id), 128);
    request_free(&r);
    free(json);

    /* metadata: the limit applies to the compact serialisation */
    L.max_metadata = 20;
    json =
        chat_with("x", ",\"metadata\":{ \"k\" :   \"0123456789\" }"); /* {"k":"0123456789"} = 18 */
    ok(json, CHAT, &r);
    assert_string_equal(r.u.chat.metadata, "{\"k\":\"0123456789\"}");
    request_free(&r);
    free(json);
    json = chat_with("x", ",\"metadata\":{\"k\":\"0123456789abc\"}"); /* 21 bytes */
    bad(json, CHAT, PROTO_TOO_LARGE, "\"metadata\" is 21 bytes", t);
    free(json);
    proto_limits_default(&L);
    /* nested metadata counts against the depth limit too */
    json = chat_with("x", ",\"metadata\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":"
                          "{\"i\":{\"j\":{\"k\":{\"l\":{\"m\":{\"n\":{\"o\":{}}}}}}}}}}}}}}}}");
    bad(json, CHAT, PROTO_BAD_JSON, "nested", "");
    free(json);
}

/* ---- mark_channel_read ---- */

static void test_mark_read(void **state) {
    request r;
    const char *t = "mark_channel_read";
    ok("{\"type\":\"mark_channel_read\",\"channelId\":\"" CH "\"}", CHAT, &r);
    assert_int_equal(r.type, REQ_MARK_READ);
    assert_string_equal(r.u.mark_read.channel_id, CH);
    assert_int_equal(r.u.mark_read.message_id, 0);
    request_free(&r);
    ok("{\"type\":\"mark_channel_read\",\"channelId\":\"" CH
       "\",\"message_id\":\"7205759403792793\"}",
       CHAT, &r);
    assert_true(r.u.mark_read.message_id == 7205759403792793ULL);
    request_free(&r);
    bad("{\"type\":\"mark_channel_read\"}", CHAT, PROTO_INVALID_FIELD, "\"channelId\"", t);
    bad("{\"type\":\"mark_channel_read\",\"channelId\":\"" CH "\",\"message_id\":\"abc\"}", CHAT,
        PROTO_INVALID_FIELD, "\"message_id\"", t);
    bad("{\"type\":\"mark_channel_read\",\"channelId\":\"" CH "\",\"message_id\":\"0\"}", CHAT,
        PROTO_INVALID_FIELD, "\"message_id\"", t);
    bad("{\"type\":\"mark_channel_read\",\"channelId\":\"" CH "\",\"message_id\":12}", CHAT,
        PROTO_INVALID_FIELD, "\"message_id\" must be a string", t);
    bad("{\"type\":\"mark_channel_read\",\"channelId\":\"" CH "\",\"message_id\":\"-5\"}", CHAT,
        PROTO_INVALID_FIELD, "\"message_id\"", t);
}

/* ---- fetch_history ---- */

static void test_fetch_history(void **state) {
    request r;
    const char *t = "fetch_history";
    ok("{\"type\":\"fetch_history\",\"channelId\":\"" CH "\"}", CHAT, &r);
    assert_int_equal(r.type, REQ_FETCH_HISTORY);
    assert_int_equal(r.u.history.limit, 50);
    assert_int_equal(r.u.history.before, 0);
    assert_int_equal(r.u.history.after, 0);
    request_free(&r);
    ok("{\"type\":\"fetch_history\",\"channelId\":\"" CH "\",\"before\":\"99\",\"limit\":1}", CHAT,
       &r);
    assert_int_equal(r.u.history.before, 99);
    assert_int_equal(r.u.history.limit, 1);
    request_free(&r);
    ok("{\"type\":\"fetch_history\",\"channelId\":\"" CH "\",\"after\":\"5\",\"limit\":100}", CHAT,
       &r);
    assert_int_equal(r.u.history.after, 5);
    assert_int_equal(r.u.history.limit, 100);
    request_free(&r);

    bad("{\"type\":\"fetch_history\",\"channelId\":\"" CH "\",\"before\":\"9\",\"after\":\"5\"}",
        CHAT, PROTO_INVALID_FIELD, "\"before\" and \"after\"", t);
    bad("{\"type\":\"fetch_history\",\"channelId\":\"" CH "\",\"before\":\"x9\"}", CHAT,
        PROTO_INVALID_FIELD, "\"before\"", t);
    bad("{\"type\":\"fetch_history\",\"channelId\":\"" CH "\",\"after\":5}", CHAT,
        PROTO_INVALID_FIELD, "\"after\"", t);
    const char *limits[] = {"0", "101", "-1", "\"10\"", "10.5", "true", "1e2", "99999999999999"};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        char buf[200];
        snprintf(buf, sizeof buf,
                 "{\"type\":\"fetch_history\",\"channelId\":\"" CH "\",\"limit\":%s}", limits[i]);
        bad(buf, CHAT, PROTO_INVALID_FIELD, "\"limit\"", t);
    }
    bad("{\"type\":\"fetch_history\"}", CHAT, PROTO_INVALID_FIELD, "\"channelId\"", t);
}

/* ---- presence ---- */

static void test_status_update(void **state) {
    const char *ok_status[] = {"online", "away", "busy", "offline"};
    for (int i = 0; i < 4; i++) {
        char buf[100];
        request r;
        snprintf(buf, sizeof buf, "{\"type\":\"status_update\",\"status\":\"%s\"}", ok_status[i]);
        ok(buf, PRES, &r);
        assert_int_equal(r.type, REQ_STATUS_UPDATE);
        assert_string_equal(proto_status_name(r.u.status.status), ok_status[i]);
        request_free(&r);
    }
    const char *t = "status_update";
    bad("{\"type\":\"status_update\",\"status\":\"sleeping\"}", PRES, PROTO_INVALID_FIELD,
        "\"status\" must be one of", t);
    bad("{\"type\":\"status_update\",\"status\":\"Online\"}", PRES, PROTO_INVALID_FIELD,
        "\"status\"", t);
    bad("{\"type\":\"status_update\"}", PRES, PROTO_INVALID_FIELD, "\"status\" is missing", t);
    bad("{\"type\":\"status_update\",\"status\":1}", PRES, PROTO_INVALID_FIELD, "\"status\"", t);
}

static void test_subscribe(void **state) {
    request r;
    const char *t = "subscribe";
    ok("{\"type\":\"subscribe\",\"userIds\":[\"bob\",\"carol\",\"bob\"]}", PRES, &r);
    assert_int_equal(r.type, REQ_SUBSCRIBE);
    assert_int_equal(r.u.subscribe.n, 2);
    assert_string_equal(r.u.subscribe.user_ids[0], "bob");
    assert_string_equal(r.u.subscribe.user_ids[1], "carol");
    request_free(&r);
    ok("{\"type\":\"subscribe\",\"userIds\":[]}", PRES, &r);
    assert_int_equal(r.u.subscribe.n, 0);
    request_free(&r);

    bad("{\"type\":\"subscribe\"}", PRES, PROTO_INVALID_FIELD, "\"userIds\" is missing", t);
    bad("{\"type\":\"subscribe\",\"userIds\":\"bob\"}", PRES, PROTO_INVALID_FIELD,
        "\"userIds\" must be an array", t);
    bad("{\"type\":\"subscribe\",\"userIds\":[\"bob\",{}]}", PRES, PROTO_INVALID_FIELD,
        "\"userIds\"", t);
    bad("{\"type\":\"subscribe\",\"userIds\":[\"b b\"]}", PRES, PROTO_INVALID_FIELD,
        "\"userIds\" has 1 invalid username: \"b b\"", t);
    L.max_subscribe = 2;
    bad("{\"type\":\"subscribe\",\"userIds\":[\"a\",\"b\",\"c\"]}", PRES, PROTO_TOO_LARGE,
        "\"userIds\" has 3 entries; at most 2", t);
    proto_limits_default(&L);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_codes), cmocka_unit_test(test_valid_username),
        cmocka_unit_test(test_valid_uuid),         cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_bad_json),           cmocka_unit_test(test_depth),
        cmocka_unit_test(test_type_field),         cmocka_unit_test(test_heartbeat_both_endpoints),
        cmocka_unit_test(test_create_group),       cmocka_unit_test(test_create_direct),
        cmocka_unit_test(test_create_errors),      cmocka_unit_test(test_create_limits),
        cmocka_unit_test(test_join_leave),         cmocka_unit_test(test_chat_message),
        cmocka_unit_test(test_chat_unicode),       cmocka_unit_test(test_chat_errors),
        cmocka_unit_test(test_chat_limits),        cmocka_unit_test(test_mark_read),
        cmocka_unit_test(test_fetch_history),      cmocka_unit_test(test_status_update),
        cmocka_unit_test(test_subscribe),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
