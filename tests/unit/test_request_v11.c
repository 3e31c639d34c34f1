/*
 * Unit tests for src/proto/request.c, protocol 1.1's requests (PROTOCOL.md
 * section 6): fetch_changes, typing, edit_message, delete_message, react,
 * fetch_thread and chat_message's reply_to — the happy paths, defaults,
 * and every field error with its code and request_type; and that none of
 * them is accepted on the presence endpoint.
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

#define CH "123e4567-e89b-42d3-a456-426614174000"

static void ok(const char *json, request *r) {
    proto_error e;
    if (request_decode(json, strlen(json), PROTO_EP_CHAT, NULL, r, &e) != 0)
        fail_msg("decode of %s failed: [%s] %s", json, proto_code_name(e.code), e.message);
}

static void bad(const char *json, proto_code code, const char *needle, const char *rtype) {
    request r;
    proto_error e;
    if (request_decode(json, strlen(json), PROTO_EP_CHAT, NULL, &r, &e) == 0) {
        request_free(&r);
        fail_msg("decode of %s unexpectedly succeeded", json);
    }
    if (e.code != code)
        fail_msg("%s: code %s, want %s (%s)", json, proto_code_name(e.code), proto_code_name(code),
                 e.message);
    if (!strstr(e.message, needle))
        fail_msg("%s: message \"%s\" does not mention \"%s\"", json, e.message, needle);
    assert_string_equal(e.request_type, rtype);
}

static void test_fetch_changes(void **state) {
    request r;
    ok("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\",\"after_seq\":0}", &r);
    assert_int_equal(r.type, REQ_FETCH_CHANGES);
    assert_string_equal(r.u.changes.channel_id, CH);
    assert_int_equal(r.u.changes.after_seq, 0);
    assert_int_equal(r.u.changes.limit, 100);
    request_free(&r);
    ok("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\",\"after_seq\":41,\"limit\":500}", &r);
    assert_int_equal(r.u.changes.after_seq, 41);
    assert_int_equal(r.u.changes.limit, 500);
    request_free(&r);
    bad("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\"}", PROTO_INVALID_FIELD, "after_seq",
        "fetch_changes");
    bad("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\",\"after_seq\":-1}",
        PROTO_INVALID_FIELD, "after_seq", "fetch_changes");
    bad("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\",\"after_seq\":1.5}",
        PROTO_INVALID_FIELD, "after_seq", "fetch_changes");
    bad("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\",\"after_seq\":0,\"limit\":0}",
        PROTO_INVALID_FIELD, "limit", "fetch_changes");
    bad("{\"type\":\"fetch_changes\",\"channelId\":\"" CH "\",\"after_seq\":0,\"limit\":501}",
        PROTO_INVALID_FIELD, "limit", "fetch_changes");
    bad("{\"type\":\"fetch_changes\",\"after_seq\":0}", PROTO_INVALID_FIELD, "channelId",
        "fetch_changes");
}

static void test_typing(void **state) {
    request r;
    ok("{\"type\":\"typing\",\"channelId\":\"" CH "\"}", &r);
    assert_int_equal(r.type, REQ_TYPING);
    assert_string_equal(r.u.channel.channel_id, CH);
    request_free(&r);
    bad("{\"type\":\"typing\"}", PROTO_INVALID_FIELD, "channelId", "typing");
}

static void test_edit_delete(void **state) {
    request r;
    ok("{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"message_id\":\"77\",\"content\":"
       "\"new\"}",
       &r);
    assert_int_equal(r.type, REQ_EDIT_MESSAGE);
    assert_int_equal(r.u.change.message_id, 77);
    assert_int_equal(r.u.change.content_len, 3);
    assert_memory_equal(r.u.change.content, "new", 3);
    request_free(&r);
    ok("{\"type\":\"delete_message\",\"channelId\":\"" CH "\",\"message_id\":\"78\"}", &r);
    assert_int_equal(r.type, REQ_DELETE_MESSAGE);
    assert_int_equal(r.u.change.message_id, 78);
    request_free(&r);
    bad("{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"content\":\"x\"}",
        PROTO_INVALID_FIELD, "message_id", "edit_message");
    bad("{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"message_id\":77,\"content\":\"x\"}",
        PROTO_INVALID_FIELD, "message_id", "edit_message");
    bad("{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"message_id\":\"0\",\"content\":"
        "\"x\"}",
        PROTO_INVALID_FIELD, "message_id", "edit_message");
    bad("{\"type\":\"edit_message\",\"channelId\":\"" CH
        "\",\"message_id\":\"7\",\"content\":\"\"}",
        PROTO_INVALID_FIELD, "content", "edit_message");
    bad("{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"message_id\":\"7\"}",
        PROTO_INVALID_FIELD, "content", "edit_message");
    bad("{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"message_id\":\"7\",\"content\":"
        "\"\\ud800\"}",
        PROTO_INVALID_FIELD, "content", "edit_message");
    char big[4200];
    snprintf(big, sizeof big,
             "{\"type\":\"edit_message\",\"channelId\":\"" CH "\",\"message_id\":\"7\","
             "\"content\":\"%04001d\"}",
             0);
    bad(big, PROTO_TOO_LARGE, "content", "edit_message");
    bad("{\"type\":\"delete_message\",\"channelId\":\"" CH "\"}", PROTO_INVALID_FIELD, "message_id",
        "delete_message");
}

static void test_react(void **state) {
    request r;
    ok("{\"type\":\"react\",\"channelId\":\"" CH "\",\"message_id\":\"5\",\"emoji\":"
       "\"\\ud83d\\udc4d\"}",
       &r);
    assert_int_equal(r.type, REQ_REACT);
    assert_string_equal(r.u.change.emoji, "\xf0\x9f\x91\x8d");
    assert_int_equal(r.u.change.add, 1);
    request_free(&r);
    ok("{\"type\":\"react\",\"channelId\":\"" CH "\",\"message_id\":\"5\",\"emoji\":\"+1\","
       "\"op\":\"remove\"}",
       &r);
    assert_int_equal(r.u.change.add, 0);
    request_free(&r);
    ok("{\"type\":\"react\",\"channelId\":\"" CH "\",\"message_id\":\"5\",\"emoji\":\"+1\","
       "\"op\":null}",
       &r);
    assert_int_equal(r.u.change.add, 1);
    request_free(&r);
    const char *bad_emoji[] = {"\"\"",        "\"a b\"", "\"a\\n\"",
                               "\"\\u00a0\"", "7",       "\"123456789012345678901234567890123\"",
                               "\"\\u0000\""};
    for (size_t i = 0; i < sizeof bad_emoji / sizeof bad_emoji[0]; i++) {
        char j[200];
        snprintf(j, sizeof j,
                 "{\"type\":\"react\",\"channelId\":\"" CH "\",\"message_id\":\"5\",\"emoji\":%s}",
                 bad_emoji[i]);
        bad(j, PROTO_INVALID_FIELD, "emoji", "react");
    }
    bad("{\"type\":\"react\",\"channelId\":\"" CH "\",\"message_id\":\"5\",\"emoji\":\"x\","
        "\"op\":\"toggle\"}",
        PROTO_INVALID_FIELD, "op", "react");
}

static void test_thread_and_reply(void **state) {
    request r;
    ok("{\"type\":\"fetch_thread\",\"channelId\":\"" CH "\",\"message_id\":\"9\"}", &r);
    assert_int_equal(r.type, REQ_FETCH_THREAD);
    assert_int_equal(r.u.thread.message_id, 9);
    assert_int_equal(r.u.thread.after, 0);
    assert_int_equal(r.u.thread.limit, 50);
    request_free(&r);
    ok("{\"type\":\"fetch_thread\",\"channelId\":\"" CH "\",\"message_id\":\"9\",\"after\":\"10\","
       "\"limit\":100}",
       &r);
    assert_int_equal(r.u.thread.after, 10);
    assert_int_equal(r.u.thread.limit, 100);
    request_free(&r);
    bad("{\"type\":\"fetch_thread\",\"channelId\":\"" CH "\",\"message_id\":\"9\",\"limit\":101}",
        PROTO_INVALID_FIELD, "limit", "fetch_thread");
    bad("{\"type\":\"fetch_thread\",\"channelId\":\"" CH "\",\"message_id\":\"9\",\"after\":\"x\"}",
        PROTO_INVALID_FIELD, "after", "fetch_thread");
    bad("{\"type\":\"fetch_thread\",\"channelId\":\"" CH "\"}", PROTO_INVALID_FIELD, "message_id",
        "fetch_thread");

    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\",\"reply_to\":\"3\"}",
       &r);
    assert_int_equal(r.u.chat.reply_to, 3);
    request_free(&r);
    ok("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\"}", &r);
    assert_int_equal(r.u.chat.reply_to, 0);
    request_free(&r);
    bad("{\"type\":\"chat_message\",\"channelId\":\"" CH "\",\"content\":\"x\",\"reply_to\":3}",
        PROTO_INVALID_FIELD, "reply_to", "chat_message");
}

static void test_not_on_presence(void **state) {
    const char *types[] = {"fetch_changes",  "typing", "edit_message",
                           "delete_message", "react",  "fetch_thread"};
    for (size_t i = 0; i < 6; i++) {
        char j[128];
        request r;
        proto_error e;
        snprintf(j, sizeof j, "{\"type\":\"%s\",\"channelId\":\"" CH "\"}", types[i]);
        assert_int_equal(request_decode(j, strlen(j), PROTO_EP_PRESENCE, NULL, &r, &e), -1);
        assert_int_equal(e.code, PROTO_UNKNOWN_TYPE);
        assert_string_equal(e.request_type, types[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_changes),    cmocka_unit_test(test_typing),
        cmocka_unit_test(test_edit_delete),      cmocka_unit_test(test_react),
        cmocka_unit_test(test_thread_and_reply), cmocka_unit_test(test_not_on_presence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
