/*
 * bus_kafka + dispatch_kafka against librdkafka's mock cluster (3
 * brokers), with the usermap in a real Redis. In one process: two chat
 * server buses (ids 1 and 2) and a dispatcher. Checks that every inbox
 * delivers exactly the right (frame, recipients) pairs, that the
 * dispatcher batches (inbox records <= polls x servers), that a second
 * dispatcher in the group takes over after the first is closed with
 * nothing lost, and that events reach the other chat servers only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

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
#define N1 300 /* records before the takeover (-DN1=... to measure throughput) */
#endif
#define N2 200 /* records after it */

static struct {
    redisserver redis;
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    const char *brokers;
    uv_loop_t loop;
    usermap *map;
    bus *b1, *b2;
    bt_sink s1, s2;
    dispatcher *d;
} g;

static const bus_backend *BE = &bus_kafka_backend;
static const dispatcher_backend *DB = &dispatcher_kafka_backend;

#define SETUP_CHECK(x)                                                                             \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            print_error("setup failed: %s\n", #x);                                                 \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int setup(void **state) {
    char err[256];
    SETUP_CHECK(redisserver_start(&g.redis) == 0);
    SETUP_CHECK(bt_populate("127.0.0.1", g.redis.port) == 0);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err));
    g.mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    SETUP_CHECK(g.mock_rk && (g.mc = rd_kafka_mock_cluster_new(g.mock_rk, 3)));
    g.brokers = rd_kafka_mock_cluster_bootstraps(g.mc);
    rd_kafka_mock_topic_create(g.mc, DISPATCH_TOPIC, 4, 3);
    rd_kafka_mock_topic_create(g.mc, "chat-inbox.1", 1, 3);
    rd_kafka_mock_topic_create(g.mc, "chat-inbox.2", 1, 3);
    rd_kafka_mock_topic_create(g.mc, "chat-events", 1, 3);
    uv_loop_init(&g.loop);
    SETUP_CHECK(usermap_open(&g.map, &g.loop, "127.0.0.1", g.redis.port) == 0);
    g.s1.server = 1;
    g.s2.server = 2;
    bus_config c1 = {.server_id = 1, .brokers = g.brokers},
               c2 = {.server_id = 2, .brokers = g.brokers};
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
    rd_kafka_mock_cluster_destroy(g.mc);
    rd_kafka_destroy(g.mock_rk);
    redisserver_stop(&g.redis);
    return 0;
}

static int want_from, want_to;
static int all_delivered(void *arg) {
    return g.s1.n >= bt_expected_count(1, want_from, want_to) &&
           g.s2.n >= bt_expected_count(2, want_from, want_to);
}

static void test_dispatch_batches(void **state) {
    dispatcher_config dc = {.brokers = g.brokers, .batch_max = 100};
    assert_int_equal(DB->open(&g.d, &g.loop, &dc, g.map), 0);
    uv_update_time(&g.loop);
    uint64_t t0 = uv_now(&g.loop);
    bt_publish(BE, g.b1, 0, N1);
    want_from = 0, want_to = N1;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 20000));
    uint64_t ms = uv_now(&g.loop) - t0;
    bt_run_for(&g.loop, 300); /* nothing more may come */
    assert_int_equal(bt_check(&g.s1, 0, N1), 0);
    assert_int_equal(bt_check(&g.s2, 0, N1), 0);

    dispatcher_stats st;
    DB->stats(g.d, &st);
    print_message(
        "kafka: %d records in %llu ms (incl. group join); %llu polls, %llu inbox records, "
        "%llu deliveries\n",
        N1, (unsigned long long)ms, (unsigned long long)st.polls, (unsigned long long)st.batches,
        (unsigned long long)st.deliveries);
    assert_int_equal(st.records, N1);
    assert_int_equal(st.rejected, 0);
    assert_true(st.polls >= 1);
    assert_true(st.batches <= st.polls * 2);
    assert_int_equal(st.deliveries, g.s1.n + g.s2.n);
    assert_true(st.batches < st.deliveries); /* batching happened */
}

static void test_takeover(void **state) {
    DB->close(g.d); /* commits what it acknowledged, leaves the group */
    g.d = NULL;
    bt_run_for(&g.loop, 100);
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    bt_publish(BE, g.b2, N1, N1 + N2); /* nobody dispatches these yet */
    bt_run_for(&g.loop, 300);
    assert_int_equal(g.s1.n + g.s2.n, 0);

    dispatcher_config dc = {.brokers = g.brokers, .batch_max = 64};
    assert_int_equal(DB->open(&g.d, &g.loop, &dc, g.map), 0);
    want_from = N1, want_to = N1 + N2;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 20000));
    bt_run_for(&g.loop, 300);
    /* exactly the new records: nothing lost, and the first dispatcher's
     * commits mean nothing of the first phase is delivered again */
    assert_int_equal(bt_check(&g.s1, N1, N1 + N2), 0);
    assert_int_equal(bt_check(&g.s2, N1, N1 + N2), 0);
    dispatcher_stats st;
    DB->stats(g.d, &st);
    assert_int_equal(st.records, N2);
    assert_true(st.batches <= st.polls * 2);
}

static int got_event(void *arg) {
    return g.s2.events > 0;
}

static void test_events(void **state) {
    assert_non_null(BE->publish_event);
    BE->publish_event(g.b1, "channel", "c1");
    assert_true(bt_run_until(&g.loop, got_event, NULL, 10000));
    bt_run_for(&g.loop, 200);
    assert_int_equal(g.s2.events, 1);
    assert_string_equal(g.s2.last_event, "channel:c1");
    assert_int_equal(g.s1.events, 0); /* not to the publisher itself */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_batches),
        cmocka_unit_test(test_takeover),
        cmocka_unit_test(test_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
