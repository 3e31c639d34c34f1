/*
 * bus_redis + dispatch_redis against a real Redis 7 that requires a
 * password (tests/redisserver.h, --requirepass), which also holds the
 * usermap: the bus contract (bus_contract.h: deliveries, batching, events,
 * forged payloads dropped and counted, takeover), then what only Redis
 * Streams do: XAUTOCLAIM of the entries a killed consumer left pending
 * (nothing lost, all acked), and the bus and the dispatcher surviving a
 * Redis restart (reconnecting, with AUTH, by themselves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bus_contract.h"

#define N3 150 /* left pending by a "killed" consumer */

static long long redis_int(const char *fmt, const char *arg) {
    redisContext *c = bt_redis(g.redis.port, BC_REDIS_PASSWORD);
    long long v = -1;
    redisReply *r = c ? redisCommand(c, fmt, arg) : NULL;
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_INTEGER) /* XPENDING summary */
        v = r->element[0]->integer;
    freeReplyObject(r);
    if (c) redisFree(c);
    return v;
}

/* ---- the contract's hooks ---- */

static const bus_backend *BE = &bus_redis_backend;
static const dispatcher_backend *DB = &dispatcher_redis_backend;
static const char *next_consumer = "d1";

static void bc_bus_config(bus_config *c) {
    c->redis = &g.redis_cfg;
}

static void bc_dispatcher_config(dispatcher_config *dc, unsigned batch_max) {
    dc->redis = &g.redis_cfg;
    dc->consumer = next_consumer;
    dc->claim_idle_ms = 0;
    next_consumer = "d2";
}

static void bc_inject(int where, const void *buf, size_t len) {
    static const char *const stream[] = {"chat-messages", "chat-inbox.1", "chat-events"};
    static const char *const field[] = {"r", "b", "e"};
    redisContext *c = bt_redis(g.redis.port, BC_REDIS_PASSWORD);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "XADD %s * %s %b", stream[where], field[where], buf, len);
    assert_true(r && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    redisFree(c);
}

/* Every entry acknowledged; the inboxes hold exactly the batches. */
static void bc_settled(void) {
    assert_int_equal(redis_int("XPENDING chat-messages %s", DISPATCH_GROUP), 0);
}

/* ---- Redis only ---- */

static int setup(void **state) {
    return bc_setup(state) || bc_open_buses();
}

static int stream_has(void *arg) {
    return redis_int("XLEN %s", "chat-messages") >= *(long long *)arg;
}

static void test_claim_from_killed_consumer(void **state) {
    bc_close_dispatcher();
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    long long want = redis_int("XLEN %s", "chat-messages") + N3;
    int from = N1 + N2, to = N1 + N2 + N3;
    bt_publish(BE, g.b1, from, to);
    assert_true(bt_run_until(&g.loop, stream_has, &want, 5000));

    /* "dead" reads everything into its pending list and is then killed -9:
     * it never acknowledges. */
    redisContext *c = bt_redis(g.redis.port, BC_REDIS_PASSWORD);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "XREADGROUP GROUP %s dead COUNT 1000 STREAMS chat-messages >",
                                 DISPATCH_GROUP);
    assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    assert_int_equal(r->element[0]->element[1]->elements, N3);
    freeReplyObject(r);
    redisFree(c);
    assert_int_equal(redis_int("XPENDING chat-messages %s", DISPATCH_GROUP), N3);

    dispatcher_config dc = {.key = g.key,
                            .redis = &g.redis_cfg,
                            .consumer = "d3",
                            .batch_max = 100,
                            .claim_idle_ms = 400};
    assert_int_equal(DB->open(&g.d, &g.loop, &dc, g.map), 0);
    want_from = from, want_to = to;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 15000));
    bt_run_for(&g.loop, 300);
    assert_int_equal(bt_check(&g.s1, from, to), 0);
    assert_int_equal(bt_check(&g.s2, from, to), 0);
    dispatcher_stats st = bc_stats();
    assert_int_equal(st.claimed, N3);
    assert_int_equal(st.records, N3);
    bc_settled();
}

/* A second dispatcher beside the first (as a cluster runs two): one
 * channel's records still arrive in order, each once — only the lease
 * holder reads the stream. Then the holder is closed: the other takes
 * over at once (the lease is given back) and nothing is lost. */
static void test_two_dispatchers_keep_order(void **state) {
    dispatcher *second = NULL;
    dispatcher_config dc = {.key = g.key, .redis = &g.redis_cfg, .consumer = "second"};
    assert_int_equal(DB->open(&second, &g.loop, &dc, g.map), 0);
    bt_run_for(&g.loop, 300);
    bc_publish_check_order();
    dispatcher_stats st;
    DB->stats(second, &st);
    assert_int_equal(st.records, 0); /* it stood by */
    bc_close_dispatcher();
    g.d = second;
    uv_update_time(&g.loop);
    uint64_t t0 = uv_now(&g.loop);
    bc_publish_check_order();
    print_message("taken over and delivered in %llu ms\n",
                  (unsigned long long)(uv_now(&g.loop) - t0));
    DB->stats(second, &st);
    assert_int_equal(st.records, BC_ORDER_N);
}

static void test_redis_restart(void **state) {
    bt_sink_reset(&g.s1);
    bt_sink_reset(&g.s2);
    assert_int_equal(redisserver_restart(&g.redis), 0); /* comes back empty */
    assert_int_equal(bt_populate(g.redis.port, BC_REDIS_PASSWORD), 0);
    bt_run_for(&g.loop, 1500); /* let everyone reconnect */
    int from = 1000, to = 1100;
    bt_publish(BE, g.b1, from, to);
    want_from = from, want_to = to;
    assert_true(bt_run_until(&g.loop, all_delivered, NULL, 15000));
    bt_run_for(&g.loop, 300);
    assert_int_equal(bt_check(&g.s1, from, to), 0);
    assert_int_equal(bt_check(&g.s2, from, to), 0);
}

/* The bus refuses to open with a wrong password, saying why. */
static void test_wrong_password_refused(void **state) {
    redis_link_config bad = g.redis_cfg;
    bad.password = "not it";
    bus_config c = {.server_id = 9, .key = g.key, .redis = &bad};
    bus_handler h = {&g.s1, bt_deliver, bt_event};
    bus *b = NULL;
    assert_int_equal(BE->open(&b, &g.loop, &c, &h), -1);
    assert_null(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        BUS_CONTRACT_TESTS,
        cmocka_unit_test(test_claim_from_killed_consumer),
        cmocka_unit_test(test_two_dispatchers_keep_order),
        cmocka_unit_test(test_redis_restart),
        cmocka_unit_test(test_wrong_password_refused),
    };
    return cmocka_run_group_tests(tests, setup, bc_teardown);
}
