/*
 * bus_redis + dispatch_redis against a real Redis 7 (tests/redisserver.h),
 * which also holds the usermap. In one process: two chat server buses
 * (ids 1 and 2) and a dispatcher. Checks exact (frame, recipients)
 * deliveries to both inboxes, batching (inbox entries <= polls x servers),
 * takeover by a second group member after the first is closed, XAUTOCLAIM
 * of the entries a killed consumer left pending (nothing lost, all acked),
 * events, and that the bus and the dispatcher survive a Redis restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bus_test_util.h"
#include "dispatch/dispatcher.h"
/* redisserver.h trips GCC's -O2 -Wformat-truncation (a path buffer); keep
 * that warning off for the header only. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#include "redisserver.h"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#ifndef N1
#define N1 300 /* first dispatcher (-DN1=... to measure throughput) */
#endif
#define N2 200 /* after it is closed, for the second */
#define N3 150 /* left pending by a "killed" consumer */

#define SETUP_CHECK(x)                                                                             \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            print_error("setup failed: %s\n", #x);                                                 \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static struct {
    redisserver redis;
    uv_loop_t loop;
    usermap *map;
    bus *b1, *b2;
    bt_sink s1, s2;
    dispatcher *d;
} g;

static const bus_backend *BE = &bus_redis_backend;
static const dispatcher_backend *DB = &dispatcher_redis_backend;

static int setup(void **state) {
    SETUP_CHECK(redisserver_start(&g.redis) == 0);
    SETUP_CHECK(bt_populate("127.0.0.1", g.redis.port) == 0);
    uv_loop_init(&g.loop);
    SETUP_CHECK(usermap_open(&g.map, &g.loop, "127.0.0.1", g.redis.port) == 0);
    g.s1.server = 1;
    g.s2.server = 2;
    bus_config c1 = {.server_id = 1, .redis_host = "127.0.0.1", .redis_port = g.redis.port};
    bus_config c2 = c1;
    c2.server_id = 2;
    bus_handler h1 = {&g.s1, bt_deliver, bt_event}, h2 = {&g.s2, bt_deliver, bt_event};
    SETUP_CHECK(BE->open(&g.b1, &g.loop, &c1, &h1) == 0);
    SETUP_CHECK(BE->open(&g.b2, &g.loop, &c2, &h2) == 0);
    return 0;
}

static int teardown(void **state) {
    if (g.d) DB->close(g.d);
    if (g.b1) BE->close(g.b1);
    if (g.b2) BE->close(g.b2);
    if (g.map) usermap_close(g.map);
    bt_run_for(&g.loop, 200);
    uv_loop_close(&g.loop);
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    free(g.s1.got);
    free(g.s2.got);
    redisserver_stop(&g.redis);
    return 0;
}

static long long redis_int(const char *fmt, const char *arg) {
    redisContext *c = redisConnect("127.0.0.1", g.redis.port);
    long long v = -1;
    redisReply *r = c && !c->err ? redisCommand(c, fmt, arg) : NULL;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_INTEGER) /* XPENDING summary */
        v = r->element[0]->integer;
    freeReplyObject(r);
    if (c) redisFree(c);
    return v;
}

static int want_from, want_to;
static int all_delivered(void *arg) {
    return g.s1.n >= bt_expected_count(1, want_from, want_to) &&
           g.s2.n >= bt_expected_count(2, want_from, want_to);
}

static int open_dispatcher(const char *name, unsigned claim_idle_ms) {
    dispatcher_config dc = {.redis_host = "127.0.0.1",
                            .redis_port = g.redis.port,
                            .consumer = name,
                            .batch_max = 100,
                            .claim_idle_ms = claim_idle_ms};
    return DB->open(&g.d, &g.loop, &dc, g.map);
}

static void close_dispatcher(void) {
    DB->close(g.d);
    g.d = NULL;
    bt_run_for(&g.loop, 50);
}

static void test_dispatch_batches(void **state) {
    assert_int_equal(open_dispatcher("d1", 0), 0);
    bt_run_for(&g.loop, 100);
    uv_update_time(&g.loop);
    uint64_t t0 = uv_now(&g.loop);
    bt_publish(BE, g.b1, 0, N1);
    want_from = 0, want_to = N1;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 20000));
    uint64_t ms = uv_now(&g.loop) - t0;
    bt_run_for(&g.loop, 300);
    assert_int_equal(bt_check(&g.s1, 0, N1), 0);
    assert_int_equal(bt_check(&g.s2, 0, N1), 0);
    dispatcher_stats st;
    DB->stats(g.d, &st);
    print_message("redis: %d records in %llu ms; %llu polls, %llu inbox entries, %llu deliveries\n",
                  N1, (unsigned long long)ms, (unsigned long long)st.polls,
                  (unsigned long long)st.batches, (unsigned long long)st.deliveries);
    assert_int_equal(st.records, N1);
    assert_int_equal(st.rejected, 0);
    assert_true(st.batches <= st.polls * 2);
    assert_true(st.batches < st.deliveries);
    assert_int_equal(st.deliveries, g.s1.n + g.s2.n);
    /* the inbox streams hold exactly the batches */
    assert_int_equal(redis_int("XLEN %s", "chat-inbox.1") + redis_int("XLEN %s", "chat-inbox.2"),
                     (long long)st.batches);
    assert_int_equal(redis_int("XPENDING chat-messages %s", DISPATCH_GROUP), 0);
}

static void test_takeover(void **state) {
    close_dispatcher();
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    bt_publish(BE, g.b2, N1, N1 + N2);
    bt_run_for(&g.loop, 300);
    assert_int_equal(g.s1.n + g.s2.n, 0); /* no dispatcher: nothing moves */
    assert_int_equal(open_dispatcher("d2", 0), 0);
    want_from = N1, want_to = N1 + N2;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 20000));
    bt_run_for(&g.loop, 300);
    assert_int_equal(bt_check(&g.s1, N1, N1 + N2), 0);
    assert_int_equal(bt_check(&g.s2, N1, N1 + N2), 0);
    dispatcher_stats st;
    DB->stats(g.d, &st);
    assert_int_equal(st.records, N2);
    assert_int_equal(redis_int("XPENDING chat-messages %s", DISPATCH_GROUP), 0);
}

static int stream_has(void *arg) {
    return redis_int("XLEN %s", "chat-messages") >= *(long long *)arg;
}

static void test_claim_from_killed_consumer(void **state) {
    close_dispatcher();
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    long long want = N1 + N2 + N3;
    bt_publish(BE, g.b1, N1 + N2, N1 + N2 + N3);
    assert_true(bt_run_until(&g.loop, stream_has, &want, 5000));

    /* "dead" reads everything into its pending list and is then killed -9:
     * it never acknowledges. */
    redisContext *c = redisConnect("127.0.0.1", g.redis.port);
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "XREADGROUP GROUP %s dead COUNT 1000 STREAMS chat-messages >",
                                 DISPATCH_GROUP);
    assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    assert_int_equal(r->element[0]->element[1]->elements, N3);
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(redis_int("XPENDING chat-messages %s", DISPATCH_GROUP), N3);

    assert_int_equal(open_dispatcher("d3", 400), 0);
    want_from = N1 + N2, want_to = N1 + N2 + N3;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 15000));
    bt_run_for(&g.loop, 300);
    assert_int_equal(bt_check(&g.s1, N1 + N2, N1 + N2 + N3), 0);
    assert_int_equal(bt_check(&g.s2, N1 + N2, N1 + N2 + N3), 0);
    dispatcher_stats st;
    DB->stats(g.d, &st);
    assert_int_equal(st.claimed, N3);
    assert_int_equal(st.records, N3);
    assert_int_equal(redis_int("XPENDING chat-messages %s", DISPATCH_GROUP), 0);
}

static int got_event(void *arg) {
    return g.s1.events > 0;
}

static void test_events(void **state) {
    BE->publish_event(g.b2, "user", "newbie");
    assert_true(bt_run_until(&g.loop, got_event, NULL, 5000));
    bt_run_for(&g.loop, 200);
    assert_int_equal(g.s1.events, 1);
    assert_string_equal(g.s1.last_event, "user:newbie");
    assert_int_equal(g.s2.events, 0);
}

static void test_redis_restart(void **state) {
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    assert_int_equal(redisserver_restart(&g.redis), 0); /* comes back empty */
    assert_int_equal(bt_populate("127.0.0.1", g.redis.port), 0);
    bt_run_for(&g.loop, 1500); /* let everyone reconnect */
    int from = 1000, to = 1100;
    bt_publish(BE, g.b1, from, to);
    want_from = from, want_to = to;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 15000));
    bt_run_for(&g.loop, 300);
    assert_int_equal(bt_check(&g.s1, from, to), 0);
    assert_int_equal(bt_check(&g.s2, from, to), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_batches),
        cmocka_unit_test(test_takeover),
        cmocka_unit_test(test_claim_from_killed_consumer),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_redis_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
