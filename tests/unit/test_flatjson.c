/*
 * Unit tests for src/proto/flatjson.c: what the fast path takes and what
 * it leaves to the full parser, and that what it takes reads exactly as
 * jansson reads it (tests/flatjson_check.h, also the fuzz target's rule);
 * and that request_decode words its errors the same either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flatjson_check.h"
#include "proto/request.h"

static int takes(const char *json) {
    int accepted;
    assert_int_equal(flatjson_check(json, strlen(json), &accepted), 0);
    return accepted;
}

static void test_takes_flat_objects(void **state) {
    assert_true(takes("{}"));
    assert_true(takes(" {\"a\" : \"b\" ,\"c\":null,\"d\":true,\"e\":false} \n"));
    assert_true(takes("{\"type\":\"chat_message\",\"content\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"));
    assert_true(takes("{\"a\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}")); /* escapes and a pair */
    assert_true(takes("{\"a\":\"\\u0000\"}"));                      /* NUL in a value */
    assert_true(takes("{\"a\":\"1\",\"a\":\"2\"}"));                /* the last wins */
    assert_true(takes("{\"\":\"empty key\",\"\xc3\xa9\":\"\xe2\x82\xac\"}"));
}

static void test_leaves_the_rest(void **state) {
    const char *full[] = {
        "",
        "[]",
        "{\"a\":1}",
        "{\"a\":{}}",
        "{\"a\":[\"x\"]}",
        "{\"a\":\"b\"} x",
        "{\"a\":\"\x01\"}",       /* a raw control character */
        "{\"a\":\"\\ud800\"}",    /* a lone surrogate escape */
        "{\"a\":\"\\udc00x\"}",   /* a lone low one */
        "{\"a\\u0000\":\"b\"}",   /* NUL in a key */
        "{\"a\":\"\\x\"}",        /* not an escape */
        "{\"a\":\"\\u12g4\"}",    /* not hex */
        "{\"a\":\"b\",}",         /* a trailing comma */
        "{\"a\" \"b\"}",          /* no colon */
        "{\"a\":tru}",            /* a broken literal */
        "{\"a\":\"unterminated}", /* no closing quote */
        "{\"0\":\"\",\"1\":\"\",\"2\":\"\",\"3\":\"\",\"4\":\"\",\"5\":\"\",\"6\":\"\",\"7\":\"\","
        "\"8\":\"\",\"9\":\"\",\"a\":\"\",\"b\":\"\",\"c\":\"\",\"d\":\"\",\"e\":\"\",\"f\":\"\","
        "\"g\":\"\"}", /* more fields than FLATJSON_MAX */
    };
    for (size_t i = 0; i < sizeof full / sizeof *full; i++) {
        int accepted;
        assert_int_equal(flatjson_check(full[i], strlen(full[i]), &accepted), 0);
        if (accepted) fail_msg("flatjson took %s", full[i]);
    }
}

/* The same frame with and without a number field (which sends it to the
 * full parser) must decode alike or fail with the same words. */
static void decode_both(const char *body) {
    char flat[512], full[512];
    snprintf(flat, sizeof flat, "{%s}", body);
    snprintf(full, sizeof full, "{\"zz\":1,%s}", body);
    request a, b;
    proto_error ea, eb;
    int ra = request_decode(flat, strlen(flat), PROTO_EP_CHAT, NULL, &a, &ea);
    int rb = request_decode(full, strlen(full), PROTO_EP_CHAT, NULL, &b, &eb);
    assert_int_equal(ra, rb);
    if (ra < 0) {
        assert_int_equal(ea.code, eb.code);
        assert_string_equal(ea.message, eb.message);
        assert_string_equal(ea.request_type, eb.request_type);
        return;
    }
    assert_non_null(a.flat__);
    assert_null(a.root__);
    assert_non_null(b.root__);
    assert_int_equal(a.type, b.type);
    if (a.type == REQ_CHAT_MESSAGE) {
        assert_string_equal(a.u.chat.channel_id, b.u.chat.channel_id);
        assert_int_equal(a.u.chat.content_len, b.u.chat.content_len);
        assert_memory_equal(a.u.chat.content, b.u.chat.content, a.u.chat.content_len);
        assert_string_equal(a.u.chat.metadata, b.u.chat.metadata);
        if (a.u.chat.client_msg_id || b.u.chat.client_msg_id)
            assert_string_equal(a.u.chat.client_msg_id, b.u.chat.client_msg_id);
        assert_int_equal(a.u.chat.reply_to, b.u.chat.reply_to);
    }
    request_free(&a);
    request_free(&b);
}

#define CH "\"channelId\":\"0B6F2A52-3c1e-4f7e-9d3a-2b1c4d5e6f70\""

static void test_request_decode_agrees(void **state) {
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":\"hi \\u00e9\"");
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":\"x\",\"client_msg_id\":\"c1\","
                "\"metadata\":null,\"reply_to\":\"42\"");
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":\"\"");
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":\"a\\u0000b\"");
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":true");
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":\"x\",\"metadata\":\"{}\"");
    decode_both("\"type\":\"chat_message\"," CH ",\"content\":\"x\",\"client_msg_id\":\"\"");
    decode_both("\"type\":\"chat_message\",\"channelId\":\"nope\",\"content\":\"x\"");
    decode_both("\"type\":\"chat_message\"," CH);
    decode_both("\"type\":\"typing\"," CH);
    decode_both("\"type\":\"typing\"");
    decode_both("\"type\":\"mark_channel_read\"," CH ",\"message_id\":\"7\"");
    decode_both("\"type\":\"mark_channel_read\"," CH ",\"message_id\":\"0\"");
    decode_both("\"type\":\"heartbeat\"");
    decode_both("\"type\":\"no_such_type\"");
    decode_both("\"type\":null");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_takes_flat_objects),
        cmocka_unit_test(test_leaves_the_rest),
        cmocka_unit_test(test_request_decode_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
