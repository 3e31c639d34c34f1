/*
 * The bus contract (src/bus/bus.h + src/dispatch/dispatcher.h) as tests
 * every cluster bus must pass, like store_contract.h for the stores. In
 * one process: two chat server buses (ids 1 and 2, bus_test_util.h's
 * users), the usermap in a real Redis that requires a password, and a
 * dispatcher:
 *
 *  - publish -> dispatch -> deliver: exact (frame, recipients) pairs on
 *    each server, each once, in batches (inbox payloads <= polls x servers);
 *  - one channel's records arrive in order on every server, across polls;
 *  - events reach the other servers only;
 *  - a forged payload — sealed with another secret, or a v1 payload with
 *    no mac — written straight into chat-messages, an inbox or chat-events
 *    (as anyone who can reach the engine could) is delivered to no one,
 *    and is counted (dispatcher_stats.rejected, chatd_bus_rejected_total);
 *    the same payload sealed with the cluster secret is delivered (so the
 *    test's injection path is the real one);
 *  - a second dispatcher takes over after the first is closed, nothing lost.
 *
 * The including test defines, before including this file, the backend
 * (BE, DB), bc_bus_config / bc_dispatcher_config (its engine's settings),
 * bc_inject (writes raw bytes to BC_RECORDS chat-messages, BC_INBOX1
 * chat-inbox.1 or BC_EVENTS chat-events, as the engine's own client) and
 * bc_settled (its engine's extra checks once a phase is over), then lists
 * BUS_CONTRACT_TESTS in main() with bc_setup / bc_teardown.
 * Header-only: static functions.
 */
#ifndef CHATD_TESTS_BUS_CONTRACT_H
#define CHATD_TESTS_BUS_CONTRACT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bus_forge.h"
#include "bus_test_util.h"
#include "core/metrics.h"
#include "dispatch/dispatcher.h"
#include "engine/redis_link.h"
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
#define BC_REDIS_PASSWORD "contract redis password"

enum { BC_RECORDS, BC_INBOX1, BC_EVENTS };

static struct {
    redisserver redis;
    redis_link_config redis_cfg;
    record_key *key, *forger; /* the cluster secret, and another one */
    uv_loop_t loop;
    usermap *map;
    bus *b1, *b2;
    bt_sink s1, s2;
    dispatcher *d;
} g;

/* ---- provided by the including test ---- */
static const bus_backend *BE;
static const dispatcher_backend *DB;
static void bc_bus_config(bus_config *c);
static void bc_dispatcher_config(dispatcher_config *dc, unsigned batch_max);
static void bc_inject(int where, const void *buf, size_t len);
static void bc_settled(void);

#define SETUP_CHECK(x)                                                                             \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            print_error("setup failed: %s\n", #x);                                                 \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

static int bc_setup(void **state) {
    SETUP_CHECK(redisserver_start_auth(&g.redis, BC_REDIS_PASSWORD) == 0);
    SETUP_CHECK(bt_populate(g.redis.port, BC_REDIS_PASSWORD) == 0);
    g.redis_cfg = (redis_link_config){"127.0.0.1", g.redis.port, BC_REDIS_PASSWORD};
    SETUP_CHECK(record_key_new(&g.key, "the cluster secret", 18) == 0);
    SETUP_CHECK(record_key_new(&g.forger, "a guess", 7) == 0);
    return 0;
}

/* The buses, once the including test's engine is up. */
static int bc_open_buses(void) {
    uv_loop_init(&g.loop);
    SETUP_CHECK(usermap_open(&g.map, &g.loop, &g.redis_cfg) == 0);
    g.s1.server = 1;
    g.s2.server = 2;
    bus_config c1 = {.server_id = 1, .key = g.key}, c2;
    bc_bus_config(&c1);
    c2 = c1;
    c2.server_id = 2;
    bus_handler h1 = {&g.s1, bt_deliver, bt_event}, h2 = {&g.s2, bt_deliver, bt_event};
    SETUP_CHECK(BE->open(&g.b1, &g.loop, &c1, &h1) == 0);
    SETUP_CHECK(BE->open(&g.b2, &g.loop, &c2, &h2) == 0);
    return 0;
}

static int bc_teardown(void **state) {
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
    record_key_free(g.key);
    record_key_free(g.forger);
    redisserver_stop(&g.redis);
    return 0;
}

static int want_from, want_to;
static int all_delivered(void *arg) {
    return g.s1.n >= bt_expected_count(1, want_from, want_to) &&
           g.s2.n >= bt_expected_count(2, want_from, want_to);
}

static int bc_open_dispatcher(unsigned batch_max) {
    dispatcher_config dc = {.key = g.key, .batch_max = batch_max};
    bc_dispatcher_config(&dc, batch_max);
    return DB->open(&g.d, &g.loop, &dc, g.map);
}

static void bc_close_dispatcher(void) {
    DB->close(g.d);
    g.d = NULL;
    bt_run_for(&g.loop, 100);
}

static dispatcher_stats bc_stats(void) {
    dispatcher_stats st;
    DB->stats(g.d, &st);
    return st;
}

/* ---- the contract ---- */

static void test_dispatch_batches(void **state) {
    assert_int_equal(bc_open_dispatcher(100), 0);
    uv_update_time(&g.loop);
    uint64_t t0 = uv_now(&g.loop);
    bt_publish(BE, g.b1, 0, N1);
    want_from = 0, want_to = N1;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 20000));
    uint64_t ms = uv_now(&g.loop) - t0;
    bt_run_for(&g.loop, 300); /* nothing more may come */
    assert_int_equal(bt_check(&g.s1, 0, N1), 0);
    assert_int_equal(bt_check(&g.s2, 0, N1), 0);
    dispatcher_stats st = bc_stats();
    print_message("%s: %d records in %llu ms (incl. joining the group); %llu polls, %llu inbox "
                  "payloads, %llu deliveries\n",
                  BE->name, N1, (unsigned long long)ms, (unsigned long long)st.polls,
                  (unsigned long long)st.batches, (unsigned long long)st.deliveries);
    assert_int_equal(st.records, N1);
    assert_int_equal(st.rejected, 0);
    assert_true(st.polls >= 1);
    assert_true(st.batches <= st.polls * 2);
    assert_true(st.batches < st.deliveries); /* batching happened */
    assert_int_equal(st.deliveries, g.s1.n + g.s2.n);
    bc_settled();
}

/* One channel's records reach each server in the order they were
 * published, also when they cross many polls (a chat server reads its
 * inbox's partitions independently: the dispatcher must keep a server's
 * batches on one of them). */
#define BC_ORDER_N 80
static const char *const ORDER_TO[] = {"u1", "u15"}; /* one on each server */

static int order_delivered(void *arg) {
    return g.s1.n >= BC_ORDER_N && g.s2.n >= BC_ORDER_N;
}

static void bc_check_order(const bt_sink *s) {
    assert_int_equal(s->n, BC_ORDER_N);
    for (size_t i = 0; i < s->n; i++) {
        char want[32];
        snprintf(want, sizeof want, "order-%zu|", i);
        if (strncmp(s->got[i], want, strlen(want)))
            fail_msg("server %u: delivery %zu is %s, expected %s...", s->server, i, s->got[i],
                     want);
    }
}

/* Publishes BC_ORDER_N records of one channel in bursts and checks that
 * both servers got them in that order, each once. */
static void bc_publish_check_order(void) {
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    for (int i = 0; i < BC_ORDER_N; i++) {
        char frame[32];
        snprintf(frame, sizeof frame, "order-%d", i);
        rcbuf *f = rcbuf_copy(frame, strlen(frame));
        bus_record r = {"c-order", f, ORDER_TO, 2, 0, NULL, 0};
        BE->publish(g.b1, &r);
        rcbuf_unref(f);
        if (i % 4 == 3) bt_run_for(&g.loop, 15); /* in bursts: one poll each, or a few */
    }
    assert_true(bt_run_until(&g.loop, order_delivered, NULL, 20000));
    bt_run_for(&g.loop, 200);
    bc_check_order(&g.s1);
    bc_check_order(&g.s2);
}

static void test_channel_order(void **state) {
    bc_publish_check_order();
}

static int got_event(void *arg) {
    return g.s2.events >= *(size_t *)arg;
}

static void test_events(void **state) {
    assert_non_null(BE->publish_event);
    size_t want = 1;
    bus_event c1 = bt_channel_event(0, "c1");
    BE->publish_event(g.b1, &c1);
    assert_true(bt_run_until(&g.loop, got_event, &want, 10000));
    bt_run_for(&g.loop, 200);
    assert_int_equal(g.s2.events, 1);
    assert_string_equal(g.s2.last_event, "channel:c1");
    assert_int_equal(g.s1.events, 0); /* not to the publisher itself */
}

/* A chat_message "from" mallory to u1 (who is on server 1). */
static const char *const FORGED_TO[] = {"u1"};

static void bc_record(record_buf *out, const record_key *k, const char *frame, int batch) {
    rcbuf *f = rcbuf_copy(frame, strlen(frame));
    bus_record r = {"c1", f, FORGED_TO, 1, 0, NULL, 0};
    bus_forge(out, k, &r, batch);
    rcbuf_unref(f);
}

/* The v1 form of a payload: no mac, version 1. */
static void bc_strip_mac(record_buf *b) {
    b->len -= RECORD_MAC_LEN;
    b->data[2] = 1;
}

static int got_n(void *arg) {
    return g.s1.n >= *(size_t *)arg;
}

#define FORGED_FRAME "{\"type\":\"chat_message\",\"sender_id\":\"mallory\",\"content\":\"pay me\"}"

/* Forgeries in `where` (written by the engine's own client, as an attacker
 * with access to it would), then the genuine payload behind them: only the
 * genuine one is delivered, and every forgery is counted. */
static void inject_forgeries_then_genuine(int where) {
    record_buf forged = {0}, legacy = {0}, genuine = {0};
    bc_record(&forged, g.forger, FORGED_FRAME, where == BC_INBOX1);
    bc_record(&legacy, g.key, FORGED_FRAME, where == BC_INBOX1);
    bc_strip_mac(&legacy);
    bc_record(&genuine, g.key, "genuine-frame", where == BC_INBOX1);
    uint64_t counted = metrics_bus_rejected_count(1);
    uint64_t rejected = g.d ? bc_stats().rejected : 0;
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    bc_inject(where, forged.data, forged.len);
    bc_inject(where, legacy.data, legacy.len);
    bc_inject(where, genuine.data, genuine.len);
    size_t want = 1;
    assert_true(bt_run_until(&g.loop, got_n, &want, 20000));
    bt_run_for(&g.loop, 300);
    assert_int_equal(g.s1.n, 1);
    assert_int_equal(g.s2.n, 0);
    assert_string_equal(g.s1.got[0], "genuine-frame|c1|0|u1");
    /* the forged one sealed with another secret is an "auth" rejection;
     * the v1 one is too short or fails the mac, either way rejected */
    assert_true(metrics_bus_rejected_count(1) >= counted + 1);
    if (where == BC_RECORDS) assert_int_equal(bc_stats().rejected, rejected + 2);
    record_buf_free(&forged);
    record_buf_free(&legacy);
    record_buf_free(&genuine);
}

static void test_forged_record_dropped(void **state) {
    inject_forgeries_then_genuine(BC_RECORDS);
}

static void test_forged_batch_dropped(void **state) {
    inject_forgeries_then_genuine(BC_INBOX1);
}

static void test_forged_event_dropped(void **state) {
    record_buf forged = {0}, genuine = {0};
    g.s1.events = 0;
    uint64_t counted = metrics_bus_rejected_count(1);
    bus_event fe = bt_channel_event(7, "forged"), ge = bt_channel_event(7, "genuine");
    assert_int_equal(record_event_encode(&forged, g.forger, &fe), 0);
    assert_int_equal(record_event_encode(&genuine, g.key, &ge), 0);
    bc_inject(BC_EVENTS, forged.data, forged.len);
    bc_inject(BC_EVENTS, genuine.data, genuine.len);
    size_t before = g.s2.events, want = before + 1;
    assert_true(bt_run_until(&g.loop, got_event, &want, 10000));
    bt_run_for(&g.loop, 200);
    assert_int_equal(g.s2.events, before + 1);
    assert_string_equal(g.s2.last_event, "channel:genuine");
    assert_int_equal(g.s1.events, 1); /* server 1 heard it too (published by "7") */
    assert_true(metrics_bus_rejected_count(1) >= counted + 2); /* once per reading server */
    record_buf_free(&forged);
    record_buf_free(&genuine);
}

static void test_takeover(void **state) {
    bc_close_dispatcher(); /* acknowledges what it did, leaves the group */
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    bt_publish(BE, g.b2, N1, N1 + N2); /* nobody dispatches these yet */
    bt_run_for(&g.loop, 300);
    assert_int_equal(g.s1.n + g.s2.n, 0);
    assert_int_equal(bc_open_dispatcher(64), 0);
    want_from = N1, want_to = N1 + N2;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 20000));
    bt_run_for(&g.loop, 300);
    /* exactly the new records: nothing lost, and nothing of the first
     * phase delivered again */
    assert_int_equal(bt_check(&g.s1, N1, N1 + N2), 0);
    assert_int_equal(bt_check(&g.s2, N1, N1 + N2), 0);
    dispatcher_stats st = bc_stats();
    assert_int_equal(st.records, N2);
    assert_true(st.batches <= st.polls * 2);
    bc_settled();
}

#define BUS_CONTRACT_TESTS                                                                         \
    cmocka_unit_test(test_dispatch_batches), cmocka_unit_test(test_channel_order),                 \
        cmocka_unit_test(test_events), cmocka_unit_test(test_forged_record_dropped),               \
        cmocka_unit_test(test_forged_batch_dropped), cmocka_unit_test(test_forged_event_dropped),  \
        cmocka_unit_test(test_takeover)

#endif
