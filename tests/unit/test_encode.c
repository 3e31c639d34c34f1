/*
 * Unit tests for src/proto/encode.c (every server frame, parsed back and
 * checked field by field, plus the WebSocket header bytes and the encode
 * counter) and for src/core/metrics.c (the Prometheus rendering).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/metrics.h"
#include "proto/encode.h"

#define CH "123e4567-e89b-42d3-a456-426614174000"
#define T0 1795552265123LL /* 2026-11-24T20:31:05.123Z */

/* b's payload (len in *plen): JSON text, with room kept in front for the
 * transport's header and no header written yet (proto does not frame). */
static const char *payload_of(rcbuf *b, size_t *plen) {
    assert_true(b->head >= 14);
    assert_int_equal(b->hdr, 0);
    *plen = b->len;
    return rcbuf_payload(b);
}

/* Parses a payload back; checks "type"; frees the rcbuf. Caller decrefs. */
static json_t *parse(rcbuf *b, const char *type) {
    assert_non_null(b);
    assert_int_equal(b->refs, 1);
    size_t len;
    const char *p = payload_of(b, &len);
    assert_null(memchr(p, '\n', len)); /* compact */
    json_error_t err;
    json_t *v = json_loadb(p, len, 0, &err);
    if (!v) fail_msg("frame is not JSON: %s: %.*s", err.text, (int)len, p);
    rcbuf_unref(b);
    assert_true(json_is_object(v));
    assert_string_equal(json_string_value(json_object_get(v, "type")), type);
    return v;
}

static const char *str(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static json_int_t num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static void is_null(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_null(v)) fail_msg("\"%s\" is not null (present: %d)", key, v != NULL);
}

/* Runs `expr` (an rcbuf*) and checks it cost exactly `n` encodes. */
#define COUNTED(n, expr)                                                                           \
    ({                                                                                             \
        uint64_t before_ = enc_count();                                                            \
        rcbuf *b_ = (expr);                                                                        \
        assert_int_equal(enc_count() - before_, (n));                                              \
        b_;                                                                                        \
    })

static proto_msg msg(uint64_t id, int64_t seq, const char *user, const char *content,
                     const char *metadata, const char *cmid) {
    proto_msg m = {.id = id, .seq = seq, .created_ms = T0};
    strcpy(m.channel_id, CH);
    m.user_id = (char *)user;
    m.content = (char *)content;
    m.metadata = (char *)metadata;
    m.client_msg_id = (char *)cmid;
    return m;
}

static void check_message(json_t *o, const proto_msg *m, const char *metadata_json) {
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)m->id);
    assert_string_equal(str(o, "channel_id"), m->channel_id);
    assert_string_equal(str(o, "message_id"), id);
    assert_string_equal(str(o, "user_id"), m->user_id);
    assert_string_equal(str(o, "sender_id"), m->user_id);
    assert_string_equal(str(o, "content"), m->content);
    char iso[25];
    enc_iso_time(m->created_ms, iso);
    assert_string_equal(str(o, "created_at"), iso);
    assert_int_equal(num(o, "seq"), m->seq);
    json_t *want = json_loads(metadata_json, 0, NULL);
    assert_true(json_is_object(json_object_get(o, "metadata")));
    assert_true(json_equal(json_object_get(o, "metadata"), want));
    json_decref(want);
    if (m->client_msg_id)
        assert_string_equal(str(o, "client_msg_id"), m->client_msg_id);
    else
        assert_null(json_object_get(o, "client_msg_id"));
}

/* ---- tests ---- */

static void test_iso_time(void **state) {
    char out[25];
    enc_iso_time(T0, out);
    assert_string_equal(out, "2026-11-24T20:31:05.123Z");
    enc_iso_time(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    enc_iso_time(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    enc_iso_time(951782400007LL, out); /* leap day */
    assert_string_equal(out, "2000-02-29T00:00:00.007Z");
}

static void test_chat_message(void **state) {
    proto_msg m = msg(7205759403792793ULL, 3, "alice", "hi \"you\" \xc3\xa9\n",
                      "{\"reply_to\":\"12\",\"n\":[1]}", "c-1");
    json_t *v = parse(COUNTED(1, enc_chat_message(&m)), "chat_message");
    check_message(v, &m, "{\"reply_to\":\"12\",\"n\":[1]}");
    assert_int_equal(json_object_size(v), 10); /* 1.0's fields: protocol 1.1's do not apply */
    json_decref(v);

    /* no client_msg_id; metadata missing or unparsable becomes {} */
    proto_msg m2 = msg(1, 1, "bob", "x", NULL, NULL);
    v = parse(COUNTED(1, enc_chat_message(&m2)), "chat_message");
    check_message(v, &m2, "{}");
    assert_int_equal(json_object_size(v), 9);
    json_decref(v);
    m2.metadata = "{not json";
    v = parse(COUNTED(1, enc_chat_message(&m2)), "chat_message");
    check_message(v, &m2, "{}");
    json_decref(v);
    m2.metadata = "[1,2]"; /* not an object */
    v = parse(COUNTED(1, enc_chat_message(&m2)), "chat_message");
    check_message(v, &m2, "{}");
    json_decref(v);
    assert_string_equal(m2.metadata, "[1,2]"); /* input untouched */
}

static void test_system(void **state) {
    proto_msg m = msg(42, 9, "system", "bob has left the channel",
                      "{\"event\":\"user_left\",\"user_id\":\"bob\"}", NULL);
    json_t *v = parse(COUNTED(1, enc_system(&m)), "system");
    assert_string_equal(str(v, "channel_id"), CH);
    assert_string_equal(str(v, "content"), "bob has left the channel");
    assert_string_equal(str(v, "created_at"), "2026-11-24T20:31:05.123Z");
    assert_string_equal(str(v, "sender_id"), "system");
    assert_string_equal(str(v, "user_id"), "system");
    assert_string_equal(str(v, "message_id"), "42");
    assert_int_equal(num(v, "seq"), 9);
    json_t *md = json_object_get(v, "metadata");
    assert_string_equal(str(md, "event"), "user_left");
    assert_string_equal(str(md, "user_id"), "bob");
    assert_int_equal(json_object_size(v), 9);
    json_decref(v);
}

static void test_error(void **state) {
    proto_error e = {.code = PROTO_TOO_LARGE};
    strcpy(e.message, "\"content\" is 4001 bytes; at most 4000 are allowed");
    strcpy(e.request_type, "chat_message");
    json_t *v = parse(COUNTED(1, enc_error(&e)), "error");
    assert_string_equal(str(v, "error"), e.message);
    assert_string_equal(str(v, "code"), "too_large");
    assert_string_equal(str(v, "request_type"), "chat_message");
    json_decref(v);

    proto_error e2 = {.code = PROTO_BAD_JSON};
    strcpy(e2.message, "bad \xff bytes"); /* invalid UTF-8 must not escape into a frame */
    v = parse(COUNTED(1, enc_error(&e2)), "error");
    assert_string_equal(str(v, "error"), "bad ? bytes");
    assert_string_equal(str(v, "code"), "bad_json");
    is_null(v, "request_type");
    json_decref(v);
}

static void test_channels_list(void **state) {
    char *p1[] = {"alice", "bob", "carol"};
    char *p2[] = {"bob", "alice"};
    proto_channel_entry e[2] = {
        {.name = "general",
         .is_direct = 0,
         .last_read_ms = T0,
         .last_read_message_id = 10,
         .last_message_id = 12,
         .unread_count = 2,
         .member_count = 3,
         .topic = "plans",
         .is_private = 1,
         .participants = p1,
         .n_participants = 3},
        {.name = NULL,
         .is_direct = 1,
         .last_read_ms = -1,
         .last_read_message_id = 0,
         .last_message_id = 0,
         .unread_count = 0,
         .participants = p2,
         .n_participants = 2},
    };
    strcpy(e[0].channel_id, CH);
    strcpy(e[1].channel_id, "00000000-0000-4000-8000-000000000001");
    json_t *v = parse(COUNTED(1, enc_channels_list("alice", e, 2)), "channels_list");
    json_t *arr = json_object_get(v, "channels");
    assert_int_equal(json_array_size(arr), 2);

    json_t *a = json_array_get(arr, 0);
    assert_string_equal(str(a, "user_id"), "alice");
    assert_string_equal(str(a, "channel_id"), CH);
    assert_string_equal(str(a, "channel_name"), "general");
    assert_string_equal(str(a, "channel_type"), "group");
    assert_true(json_is_false(json_object_get(a, "is_direct")));
    assert_string_equal(str(a, "last_read_at"), "2026-11-24T20:31:05.123Z");
    json_t *others = json_object_get(a, "other_participants");
    assert_int_equal(json_array_size(others), 2);
    assert_string_equal(json_string_value(json_array_get(others, 0)), "bob");
    assert_string_equal(json_string_value(json_array_get(others, 1)), "carol");
    assert_int_equal(num(a, "unread_count"), 2);
    assert_string_equal(str(a, "last_message_id"), "12");
    assert_string_equal(str(a, "last_read_message_id"), "10");
    assert_int_equal(num(a, "member_count"), 3);
    assert_string_equal(str(a, "topic"), "plans"); /* protocol 1.1 */
    assert_true(json_is_true(json_object_get(a, "private")));
    assert_int_equal(json_object_size(a), 14);
    assert_int_equal(num(a, "mention_count"), 0);

    json_t *b = json_array_get(arr, 1);
    assert_string_equal(str(b, "channel_id"), "00000000-0000-4000-8000-000000000001");
    assert_string_equal(str(b, "channel_name"), "");
    assert_string_equal(str(b, "channel_type"), "direct");
    assert_true(json_is_true(json_object_get(b, "is_direct")));
    assert_string_equal(str(b, "topic"), ""); /* NULL topic: "" */
    assert_true(json_is_false(json_object_get(b, "private")));
    is_null(b, "last_read_at");
    others = json_object_get(b, "other_participants");
    assert_int_equal(json_array_size(others), 1);
    assert_string_equal(json_string_value(json_array_get(others, 0)), "bob");
    assert_int_equal(num(b, "unread_count"), 0);
    is_null(b, "last_message_id");
    is_null(b, "last_read_message_id");
    json_decref(v);

    /* no channels: still an array */
    v = parse(COUNTED(1, enc_channels_list("alice", NULL, 0)), "channels_list");
    assert_true(json_is_array(json_object_get(v, "channels")));
    assert_int_equal(json_array_size(json_object_get(v, "channels")), 0);
    json_decref(v);

    /* a channel where the user is the only participant: [] not null */
    char *solo[] = {"alice"};
    e[0].participants = solo;
    e[0].n_participants = 1;
    v = parse(COUNTED(1, enc_channels_list("alice", e, 1)), "channels_list");
    others =
        json_object_get(json_array_get(json_object_get(v, "channels"), 0), "other_participants");
    assert_true(json_is_array(others));
    assert_int_equal(json_array_size(others), 0);
    json_decref(v);
}

static void test_channel_created(void **state) {
    const char *parts[] = {"alice", "bob"};
    json_t *v = parse(COUNTED(1, enc_channel_created(CH, 0, T0, "alice", "general", parts, 2)),
                      "channel_created");
    json_t *c = json_object_get(v, "channel");
    assert_string_equal(str(c, "channel_id"), CH);
    assert_string_equal(str(c, "type"), "group");
    assert_string_equal(str(c, "created_at"), "2026-11-24T20:31:05.123Z");
    json_t *md = json_object_get(c, "metadata");
    assert_string_equal(str(md, "creator_id"), "alice");
    assert_string_equal(str(md, "name"), "general");
    json_t *p = json_object_get(c, "participants");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(json_string_value(json_array_get(p, 0)), "alice");
    assert_string_equal(json_string_value(json_array_get(p, 1)), "bob");
    json_decref(v);

    v = parse(COUNTED(1, enc_channel_created(CH, 1, T0, "alice", NULL, parts, 2)),
              "channel_created");
    c = json_object_get(v, "channel");
    assert_string_equal(str(c, "type"), "direct");
    assert_string_equal(str(json_object_get(c, "metadata"), "name"), "");
    json_decref(v);
}

static void test_channel_joined(void **state) {
    proto_msg msgs[2] = {msg(100, 1, "alice", "first", "{}", NULL),
                         msg(101, 2, "bob", "second", "{\"k\":1}", "b-7")};
    proto_member mem[2] = {{.user_id = "alice", .is_admin = 1, .joined_ms = T0},
                           {.user_id = "bob", .is_admin = 0, .joined_ms = T0 + 1000}};
    json_t *v = parse(COUNTED(1, enc_channel_joined(CH, msgs, 2, mem, 2)), "channel_joined");
    assert_string_equal(str(v, "channelId"), CH);
    json_t *m = json_object_get(v, "messages");
    assert_int_equal(json_array_size(m), 2);
    check_message(json_array_get(m, 0), &msgs[0], "{}");
    check_message(json_array_get(m, 1), &msgs[1], "{\"k\":1}");
    json_t *p = json_object_get(v, "participants");
    assert_int_equal(json_array_size(p), 2);
    json_t *p0 = json_array_get(p, 0), *p1 = json_array_get(p, 1);
    assert_string_equal(str(p0, "channel_id"), CH);
    assert_string_equal(str(p0, "user_id"), "alice");
    assert_string_equal(str(p0, "joined_at"), "2026-11-24T20:31:05.123Z");
    assert_string_equal(str(p0, "role"), "admin");
    assert_string_equal(str(p1, "user_id"), "bob");
    assert_string_equal(str(p1, "joined_at"), "2026-11-24T20:31:06.123Z");
    assert_string_equal(str(p1, "role"), "member");
    json_decref(v);

    v = parse(COUNTED(1, enc_channel_joined(CH, NULL, 0, NULL, 0)), "channel_joined");
    assert_int_equal(json_array_size(json_object_get(v, "messages")), 0);
    assert_true(json_is_array(json_object_get(v, "participants")));
    json_decref(v);
}

static void test_channel_left_and_read(void **state) {
    json_t *v = parse(COUNTED(1, enc_channel_left(CH)), "channel_left");
    assert_string_equal(str(v, "channelId"), CH);
    assert_int_equal(json_object_size(v), 2);
    json_decref(v);

    v = parse(COUNTED(1, enc_channel_read(CH, "bob", 18446744073709551615ULL, T0)), "channel_read");
    assert_string_equal(str(v, "channel_id"), CH);
    assert_string_equal(str(v, "user_id"), "bob");
    assert_string_equal(str(v, "last_read_message_id"), "18446744073709551615");
    assert_string_equal(str(v, "last_read_at"), "2026-11-24T20:31:05.123Z");
    json_decref(v);
    v = parse(COUNTED(1, enc_channel_read(CH, "bob", 0, T0)), "channel_read");
    is_null(v, "last_read_message_id");
    json_decref(v);
}

static void test_history_and_frame_sizes(void **state) {
    /* 20 x 4000-byte messages: > 64 KiB, so the 8-byte length form */
    enum { N = 20 };
    proto_msg msgs[N];
    char *content = malloc(4001);
    memset(content, 'z', 4000);
    content[4000] = '\0';
    for (int i = 0; i < N; i++)
        msgs[i] = msg(1000 + (uint64_t)i, i + 1, "alice", content, "{}", NULL);
    json_t *v = parse(COUNTED(1, enc_history(CH, msgs, N, 1)), "history");
    assert_string_equal(str(v, "channel_id"), CH);
    assert_true(json_is_true(json_object_get(v, "has_more")));
    json_t *m = json_object_get(v, "messages");
    assert_int_equal(json_array_size(m), N);
    for (int i = 0; i < N; i++)
        check_message(json_array_get(m, (size_t)i), &msgs[i], "{}");
    json_decref(v);

    /* one message: between 126 and 65535 bytes, the 2-byte length form */
    v = parse(COUNTED(1, enc_history(CH, msgs, 1, 0)), "history");
    assert_true(json_is_false(json_object_get(v, "has_more")));
    json_decref(v);
    free(content);

    /* the largest history repeated: the scratch buffer is reused correctly */
    for (int r = 0; r < 3; r++) {
        v = parse(COUNTED(1, enc_history(CH, NULL, 0, 0)), "history");
        assert_int_equal(json_array_size(json_object_get(v, "messages")), 0);
        json_decref(v);
    }
}

static void test_presence(void **state) {
    enc_presence_entry p[2] = {{"alice", "online", T0}, {"bob", "away", 0}};
    json_t *v = parse(COUNTED(1, enc_presence("initial_presence", p, 2)), "initial_presence");
    json_t *arr = json_object_get(v, "presence");
    assert_int_equal(json_array_size(arr), 2);
    json_t *a = json_array_get(arr, 0), *b = json_array_get(arr, 1);
    assert_string_equal(str(a, "user_id"), "alice");
    assert_string_equal(str(a, "status"), "online");
    assert_string_equal(str(a, "last_seen"), "2026-11-24T20:31:05.123Z");
    assert_string_equal(str(b, "user_id"), "bob");
    assert_string_equal(str(b, "status"), "away");
    assert_string_equal(str(b, "last_seen"), "1970-01-01T00:00:00.000Z");
    assert_int_equal(json_object_size(a), 3);
    json_decref(v);
    v = parse(COUNTED(1, enc_presence("presence_update", NULL, 0)), "presence_update");
    assert_int_equal(json_array_size(json_object_get(v, "presence")), 0);
    json_decref(v);
}

static void test_raw_payloads(void **state) {
    const char *json = "{\"type\":\"x\"}";
    rcbuf *b = COUNTED(0, enc_raw(json, strlen(json)));
    size_t len;
    const char *p = payload_of(b, &len);
    assert_int_equal(len, strlen(json));
    assert_memory_equal(p, json, len);
    rcbuf_unref(b);
    b = COUNTED(0, enc_raw("", 0));
    assert_int_equal(b->len, 0);
    rcbuf_unref(b);
}

/* ---- metrics ---- */

static void has_line(const char *text, const char *line) {
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return;
    fail_msg("metrics lack the line \"%s\"; got:\n%s", line, text);
}

static void test_metrics(void **state) {
    metrics_error_names(proto_code_names, PROTO_CODE_COUNT);
    metrics_conn_open(0);
    metrics_conn_open(0);
    metrics_conn_open(1);
    metrics_conn_close(0);
    metrics_msg_in();
    metrics_msg_in();
    metrics_msg_in();
    metrics_msg_out(5);
    metrics_msg_out(2);
    metrics_error(PROTO_TOO_LARGE);
    metrics_error(PROTO_TOO_LARGE);
    metrics_error(PROTO_BAD_JSON);
    metrics_http(200);
    metrics_http(200);
    metrics_http(404);
    metrics_http(418);
    metrics_commit(0.0003, 10); /* <= 0.0005 */
    metrics_commit(0.0005, 1);  /* boundary: le is inclusive */
    metrics_commit(0.003, 4);   /* <= 0.005 */
    metrics_commit(2.0, 1);     /* only +Inf */

    size_t len = 0;
    char *t = metrics_render(&len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    has_line(t, "# TYPE chatd_connections gauge");
    has_line(t, "chatd_connections{endpoint=\"chat\"} 1");
    has_line(t, "chatd_connections{endpoint=\"presence\"} 1");
    has_line(t, "# TYPE chatd_messages_in_total counter");
    has_line(t, "chatd_messages_in_total 3");
    has_line(t, "chatd_messages_out_total 7");
    has_line(t, "# TYPE chatd_errors_total counter");
    has_line(t, "chatd_errors_total{code=\"too_large\"} 2");
    has_line(t, "chatd_errors_total{code=\"bad_json\"} 1");
    has_line(t, "chatd_errors_total{code=\"internal\"} 0");
    for (int c = 0; c < PROTO_CODE_COUNT; c++) {
        char want[80];
        snprintf(want, sizeof want, "chatd_errors_total{code=\"%s\"}",
                 proto_code_name((proto_code)c));
        assert_non_null(strstr(t, want));
    }
    has_line(t, "chatd_http_responses_total{status=\"200\"} 2");
    has_line(t, "chatd_http_responses_total{status=\"404\"} 1");
    has_line(t, "chatd_http_responses_total{status=\"other\"} 1");
    has_line(t, "# HELP chatd_store_commit_seconds Time to commit one store transaction.");
    has_line(t, "# TYPE chatd_store_commit_seconds histogram");
    has_line(t, "chatd_store_commit_seconds_bucket{le=\"0.0005\"} 2");
    has_line(t, "chatd_store_commit_seconds_bucket{le=\"0.001\"} 2");
    has_line(t, "chatd_store_commit_seconds_bucket{le=\"0.002\"} 2");
    has_line(t, "chatd_store_commit_seconds_bucket{le=\"0.005\"} 3");
    has_line(t, "chatd_store_commit_seconds_bucket{le=\"1\"} 3");
    has_line(t, "chatd_store_commit_seconds_bucket{le=\"+Inf\"} 4");
    has_line(t, "chatd_store_commit_seconds_count 4");
    has_line(t, "chatd_store_commit_seconds_sum 2.003800000");
    has_line(t, "chatd_store_commit_ops_total 16");
    has_line(t, "# TYPE chatd_store_commit_ops_total counter");
    assert_int_equal(t[len - 1], '\n');
    free(t);
}

/* protocol 1.1: the Message fields, and the change frames live and replayed */
static void test_protocol_1_1(void **state) {
    proto_reaction rs[2] = {{"+1", 2, "bob\ncarol"}, {"\xf0\x9f\x8e\x89", 1, "bob"}};
    proto_msg m = msg(9, 4, "alice", "hi @bob", NULL, NULL);
    m.edited_ms = T0 + 1;
    m.mentions = "bob";
    m.reactions = rs;
    m.n_reactions = 2;
    m.reply_count = 3;
    m.last_reply_ms = T0 + 2;
    json_t *v = parse(COUNTED(1, enc_chat_message(&m)), "chat_message");
    assert_string_equal(str(v, "edited_at"), "2026-11-24T20:31:05.124Z");
    assert_null(json_object_get(v, "deleted")); /* absent: it does not apply */
    json_t *r = json_object_get(v, "reactions");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(str(json_array_get(r, 0), "emoji"), "+1");
    assert_int_equal(num(json_array_get(r, 0), "count"), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(r, 0), "users"), 1)),
        "carol");
    assert_string_equal(str(json_array_get(r, 1), "emoji"), "\xf0\x9f\x8e\x89");
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "mentions"), 0)),
                        "bob");
    assert_int_equal(num(v, "reply_count"), 3);
    assert_string_equal(str(v, "last_reply_at"), "2026-11-24T20:31:05.125Z");
    assert_null(json_object_get(v, "reply_to"));
    json_decref(v);

    /* a reply names its root and has no counts of its own */
    proto_msg rep = msg(10, 5, "bob", "yes", NULL, NULL);
    rep.reply_to = 9;
    v = parse(COUNTED(1, enc_chat_message(&rep)), "chat_message");
    assert_string_equal(str(v, "reply_to"), "9");
    assert_null(json_object_get(v, "reply_count"));
    assert_null(json_object_get(v, "edited_at")); /* none of the rest applies */
    assert_null(json_object_get(v, "reactions"));
    assert_null(json_object_get(v, "mentions"));
    json_decref(v);

    /* a deleted message says so; a root with no replies has no counts */
    proto_msg del = msg(11, 6, "carol", "", NULL, NULL);
    del.deleted = 1;
    v = parse(COUNTED(1, enc_chat_message(&del)), "chat_message");
    assert_true(json_is_true(json_object_get(v, "deleted")));
    assert_null(json_object_get(v, "reply_count"));
    assert_null(json_object_get(v, "last_reply_at"));
    json_decref(v);

    v = parse(COUNTED(1, enc_message_updated(CH, 9, 6, "alice", "new", T0, NULL)),
              "message_updated");
    assert_string_equal(str(v, "message_id"), "9");
    assert_int_equal(num(v, "seq"), 6);
    assert_string_equal(str(v, "content"), "new");
    assert_int_equal(json_array_size(json_object_get(v, "mentions")), 0);
    assert_null(json_object_get(v, "deleted"));
    json_decref(v);
    v = parse(COUNTED(1, enc_message_deleted(CH, 9, 7, "carol", T0)), "message_deleted");
    assert_string_equal(str(v, "deleted_by"), "carol");
    assert_string_equal(str(v, "deleted_at"), "2026-11-24T20:31:05.123Z");
    json_decref(v);
    v = parse(COUNTED(1, enc_reaction(CH, 9, 8, "bob", "+1", 0)), "reaction");
    assert_string_equal(str(v, "op"), "remove");
    assert_string_equal(str(v, "emoji"), "+1");
    json_decref(v);
    v = parse(COUNTED(1, enc_typing(CH, "bob", 6000)), "typing");
    assert_int_equal(num(v, "expires_ms"), 6000);
    json_decref(v);

    /* replayed: a since-deleted message's edit has no text, and says so */
    proto_change ev[3] = {{.kind = PROTO_CHANGE_MESSAGE, .seq = 4, .msg = m},
                          {.kind = PROTO_CHANGE_EDIT,
                           .seq = 5,
                           .message_id = 9,
                           .user_id = "alice",
                           .content = "",
                           .at_ms = T0,
                           .deleted = 1},
                          {.kind = PROTO_CHANGE_REACT_ADD,
                           .seq = 6,
                           .message_id = 9,
                           .user_id = "bob",
                           .emoji = "+1"}};
    v = parse(COUNTED(1, enc_changes(CH, ev, 3, 1)), "changes");
    assert_true(json_is_true(json_object_get(v, "has_more")));
    json_t *evs = json_object_get(v, "events");
    assert_int_equal(json_array_size(evs), 3);
    assert_string_equal(str(json_array_get(evs, 0), "type"), "chat_message");
    assert_string_equal(str(json_array_get(evs, 1), "type"), "message_updated");
    assert_true(json_is_true(json_object_get(json_array_get(evs, 1), "deleted")));
    assert_string_equal(str(json_array_get(evs, 1), "content"), "");
    assert_string_equal(str(json_array_get(evs, 2), "type"), "reaction");
    assert_string_equal(str(json_array_get(evs, 2), "op"), "add");
    json_decref(v);
}

/* The frames of search, the directory and the management notices' metadata
 * (encode_manage.c), byte for byte: what s11b's jansson encoder wrote. */
static void expect_bytes(rcbuf *b, const char *want) {
    size_t len;
    const char *p = payload_of(b, &len);
    if (len != strlen(want) || memcmp(p, want, len) != 0)
        fail_msg("got %.*s\nwant %s", (int)len, p, want);
    rcbuf_unref(b);
}

static void test_manage_frames(void **state) {
    proto_dir_entry e[2] = {{.name = "gen\"eral\n\x01 caf\xc3\xa9",
                             .topic = "t\\o/p",
                             .member_count = 3,
                             .created_ms = T0,
                             .is_member = 1},
                            {.name = "b", .topic = NULL, .created_ms = 5}};
    strcpy(e[0].channel_id, CH);
    strcpy(e[1].channel_id, "00000000-0000-4000-8000-000000000001");
    expect_bytes(
        COUNTED(1, enc_channel_directory(e, 2, 1)),
        "{\"type\":\"channel_directory\",\"channels\":[{\"channel_id\":\"" CH
        "\",\"name\":\"gen\\\"eral\\n\\u0001 caf\xc3\xa9\",\"topic\":\"t\\\\o/p\","
        "\"member_count\":3,\"created_at\":\"2026-11-24T20:31:05.123Z\",\"is_member\":true},"
        "{\"channel_id\":\"00000000-0000-4000-8000-000000000001\",\"name\":\"b\","
        "\"topic\":\"\",\"member_count\":0,\"created_at\":\"1970-01-01T00:00:00.005Z\","
        "\"is_member\":false}],\"has_more\":true}");

    proto_msg m = msg(9, 4, "alice", "find me", NULL, NULL);
    json_t *v = parse(COUNTED(1, enc_search_results("find", &m, 1, 0)), "search_results");
    assert_string_equal(str(v, "query"), "find");
    assert_true(json_is_false(json_object_get(v, "has_more")));
    json_t *hit = json_array_get(json_object_get(v, "messages"), 0);
    assert_string_equal(str(hit, "message_id"), "9");
    assert_string_equal(str(hit, "content"), "find me");
    assert_null(json_object_get(hit, "reactions")); /* a Message: 1.1's fields absent here */
    json_decref(v);

    const char *users[2] = {"bob", "carol"};
    struct {
        char *got;
        const char *want;
    } meta[] = {
        {enc_meta_members_added(users, 2, "alice"),
         "{\"event\":\"members_added\",\"by\":\"alice\",\"user_ids\":[\"bob\",\"carol\"]}"},
        {enc_meta_member_removed("bob", "alice"),
         "{\"event\":\"member_removed\",\"by\":\"alice\",\"user_id\":\"bob\"}"},
        {enc_meta_role_changed("bob", 1, "system"),
         "{\"event\":\"role_changed\",\"by\":\"system\",\"user_id\":\"bob\",\"role\":\"admin\"}"},
        {enc_meta_channel_updated("n\"x", "t\xc3\xb6\tp", "alice"),
         "{\"event\":\"channel_updated\",\"by\":\"alice\",\"name\":\"n\\\"x\",\"topic\":"
         "\"t\xc3\xb6\\tp\"}"},
    };
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        assert_string_equal(meta[i].got, meta[i].want);
        free(meta[i].got);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_1_1),
        cmocka_unit_test(test_manage_frames),
        cmocka_unit_test(test_iso_time),
        cmocka_unit_test(test_chat_message),
        cmocka_unit_test(test_system),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_channels_list),
        cmocka_unit_test(test_channel_created),
        cmocka_unit_test(test_channel_joined),
        cmocka_unit_test(test_channel_left_and_read),
        cmocka_unit_test(test_history_and_frame_sizes),
        cmocka_unit_test(test_presence),
        cmocka_unit_test(test_raw_payloads),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
