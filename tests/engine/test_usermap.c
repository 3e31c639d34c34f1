/*
 * Unit tests for cluster/usermap against a real, private Redis 7
 * (tests/redisserver.h): multi-device counts, lookups across servers,
 * forgetting a dead server, and a Redis restart in the middle (lookups
 * fail fast while it is down; afterwards the map is rebuilt and works
 * without reopening anything). Raw keys are checked with a second,
 * synchronous hiredis connection so the layout promised in usermap.h is
 * what Redis really holds.
 */
#include "core/err.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "cluster/usermap.h"
#include "core/clock.h"
#include "engine/redis_link.h"
#include "redisserver.h"

static redisserver rs;
static uv_loop_t loop;

/* ---- helpers ---- */

/* Runs the loop until *flag is set or ms pass; 0 when set. */
static int run_until(const int *flag, int want, int ms) {
    uint64_t end = clock_mono_ms() + (uint64_t)ms;
    while (*flag != want) {
        if (clock_mono_ms() > end) return -1;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(2 * 1000);
    }
    return 0;
}

static int connected_flag(usermap *m) {
    return usermap_connected(m);
}

static int wait_connected(usermap *m, int want, int ms) {
    uint64_t end = clock_mono_ms() + (uint64_t)ms;
    while (connected_flag(m) != want) {
        if (clock_mono_ms() > end) return -1;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(5 * 1000);
    }
    return 0;
}

static usermap *open_connected(void) {
    usermap *m = NULL;
    redis_link_config rc = {"127.0.0.1", rs.port, NULL};
    assert_int_equal(usermap_open(&m, &loop, &rc), 0);
    if (wait_connected(m, 1, 3000) != 0) fail_msg("no connection to Redis on %d", rs.port);
    return m;
}

static void close_map(usermap *m) {
    usermap_close(m);
    uv_run(&loop, UV_RUN_NOWAIT); /* close callbacks free it */
}

typedef struct result {
    int done, status;
    size_t n;
    size_t ns[8];
    unsigned ids[8][8]; /* sorted */
} result;

static void on_lookup(void *data, int status, const unsigned *const *servers,
                      const size_t *nservers, size_t n) {
    result *r = data;
    r->done++;
    r->status = status;
    r->n = n;
    if (status != 0) {
        assert_null(servers);
        assert_null(nservers);
        return;
    }
    for (size_t i = 0; i < n && i < 8; i++) {
        r->ns[i] = nservers[i];
        for (size_t k = 0; k < nservers[i] && k < 8; k++) {
            size_t j = k;
            while (j > 0 && r->ids[i][j - 1] > servers[i][k]) { /* insertion sort */
                r->ids[i][j] = r->ids[i][j - 1];
                j--;
            }
            r->ids[i][j] = servers[i][k];
        }
    }
}

/* Looks up users and waits for the single callback. */
static result lookup(usermap *m, const char *const *users, size_t n) {
    result r = {0};
    usermap_lookup(m, users, n, on_lookup, &r);
    assert_int_equal(r.done, 0); /* never called back from inside usermap_lookup */
    if (run_until(&r.done, 1, 3000) != 0) fail_msg("lookup never called back");
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(r.done, 1);
    return r;
}

/* A one-off synchronous command on the test's own connection. */
static redisReply *raw(const char *fmt, ...) {
    redisContext *c = redisConnect("127.0.0.1", rs.port);
    assert_true(c && !c->err);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    assert_non_null(r);
    return r;
}

static long long raw_int(const char *fmt, const char *a, const char *b) {
    redisReply *r = raw(fmt, a, b);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -1000;
    freeReplyObject(r);
    return v;
}

static int setup(void **state) {
    freeReplyObject(raw("FLUSHALL"));
    return 0;
}

/* ---- tests ---- */

static void test_add_remove_lookup(void **state) {
    usermap *m = open_connected();
    const char *users[] = {"alice", "bob", "carol"};

    usermap_add(m, "alice", 1); /* phone */
    usermap_add(m, "alice", 1); /* laptop, same server */
    usermap_add(m, "alice", 2); /* tablet, another server */
    usermap_add(m, "bob", 2);

    result r = lookup(m, users, 3);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.ns[0], 2);
    assert_int_equal(r.ids[0][0], 1);
    assert_int_equal(r.ids[0][1], 2);
    assert_int_equal(r.ns[1], 1);
    assert_int_equal(r.ids[1][0], 2);
    assert_int_equal(r.ns[2], 0); /* never connected */
    assert_int_equal(raw_int("HGET %s %s", "server:1:users", "alice"), 2);
    assert_int_equal(raw_int("HGET %s %s", "server:2:users", "alice"), 1);

    usermap_remove(m, "alice", 1); /* one of two sockets on server 1 */
    r = lookup(m, users, 1);
    assert_int_equal(r.ns[0], 2);
    assert_int_equal(raw_int("HGET %s %s", "server:1:users", "alice"), 1);

    usermap_remove(m, "alice", 1); /* the last one */
    usermap_remove(m, "bob", 2);
    r = lookup(m, users, 2);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.ns[0], 1);
    assert_int_equal(r.ids[0][0], 2);
    assert_int_equal(r.ns[1], 0);
    assert_int_equal(raw_int("HEXISTS %s %s", "server:1:users", "alice"), 0);
    assert_int_equal(raw_int("SISMEMBER %s %s", "user:alice:servers", "1"), 0);
    assert_int_equal(raw_int("EXISTS %s%s", "user:bob:servers", ""), 0);

    r = lookup(m, users, 0); /* nothing asked: still one callback */
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n, 0);
    close_map(m);
}

static void test_forget_server(void **state) {
    usermap *dead = open_connected(), *survivor = open_connected();
    const char *users[] = {"alice", "bob"};
    usermap_add(dead, "alice", 5);
    usermap_add(dead, "alice", 5);
    usermap_add(dead, "bob", 5);
    usermap_add(survivor, "alice", 6);
    result r = lookup(dead, users, 2); /* the adds have landed */
    assert_int_equal(r.ns[0], 2);
    close_map(dead); /* it "crashes": its entries stay behind */

    usermap_forget_server(survivor, 5);
    r = lookup(survivor, users, 2);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.ns[0], 1);
    assert_int_equal(r.ids[0][0], 6);
    assert_int_equal(r.ns[1], 0);
    assert_int_equal(raw_int("EXISTS %s%s", "server:5:users", ""), 0);
    assert_int_equal(raw_int("HGET %s %s", "server:6:users", "alice"), 1);
    close_map(survivor);
}

typedef struct presence_result {
    int done, status;
    char values[4][64]; /* "" for NULL */
} presence_result;

/* Writes each value as "<status> <seen>" ("" when unknown) for comparison. */
static void on_presence(void *data, int status, const proto_presence *values, size_t n) {
    presence_result *r = data;
    r->done++;
    r->status = status;
    for (size_t i = 0; status == 0 && i < n && i < 4; i++) {
        if (values[i].known)
            snprintf(r->values[i], sizeof r->values[i], "%s %lld",
                     proto_status_name(values[i].status), (long long)values[i].seen_ms);
        else
            r->values[i][0] = '\0';
    }
}

static presence_result presence_of(usermap *m, const char *const *users, size_t n) {
    presence_result r = {0};
    assert_int_equal(usermap_presence_get(m, users, n, on_presence, &r), 0);
    if (run_until(&r.done, 1, 3000) != 0) fail_msg("presence get never called back");
    assert_int_equal(r.status, 0);
    return r;
}

/* Servers write a user's presence in any order: the copy in Redis keeps
 * the one with the latest last_seen, as every server's model does. */
static void test_presence_last_writer_wins(void **state) {
    usermap *a = open_connected(), *b = open_connected();
    const char *users[] = {"carol", "dave", "erin"};
    usermap_presence_put(a, "carol", PROTO_ONLINE, 2000);
    presence_result r = presence_of(a, users, 3); /* a's write has landed */
    assert_string_equal(r.values[0], "online 2000");
    usermap_presence_put(b, "carol", PROTO_OFFLINE, 1000); /* concluded earlier, arrives later */
    usermap_presence_put(b, "dave", PROTO_AWAY, 5);
    r = presence_of(b, users, 3);
    assert_string_equal(r.values[0], "online 2000");
    assert_string_equal(r.values[1], "away 5");
    assert_string_equal(r.values[2], "");               /* never written */
    usermap_presence_put(b, "carol", PROTO_BUSY, 3000); /* newer: replaces */
    usermap_presence_put(a, "dave", PROTO_ONLINE, 5);   /* same instant: the later write */
    r = presence_of(a, users, 3);
    assert_string_equal(r.values[0], "busy 3000");
    assert_string_equal(r.values[1], "online 5");
    /* Redis is shared: a value chatd did not write is read as unknown */
    freeReplyObject(raw("SET %s %s", "presence:erin", "dancing 12"));
    r = presence_of(a, users, 3);
    assert_string_equal(r.values[2], "");
    close_map(a);
    close_map(b);
}

static void test_redis_restart(void **state) {
    usermap *m = open_connected();
    const char *users[] = {"alice", "bob", "carol"};
    usermap_add(m, "alice", 1);
    usermap_add(m, "alice", 1);
    usermap_add(m, "carol", 1);
    result r = lookup(m, users, 1);
    assert_int_equal(r.ns[0], 1);

    redisserver_pause(&rs);
    if (wait_connected(m, 0, 3000) != 0) fail_msg("disconnect not noticed");
    uint64_t t0 = clock_mono_ms();
    r = lookup(m, users, 2);
    assert_true(r.status < 0);
    assert_true(clock_mono_ms() - t0 < 500); /* fails fast, no queueing */

    usermap_add(m, "bob", 1);      /* while down: remembered, not lost */
    usermap_remove(m, "carol", 1); /* likewise */
    usermap_remove(m, "alice", 1); /* 2 -> 1 sockets */

    assert_int_equal(redisserver_resume(&rs), 0); /* a new, empty Redis */
    if (wait_connected(m, 1, 8000) != 0) fail_msg("no reconnect after Redis restart");
    r = lookup(m, users, 3);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.ns[0], 1);
    assert_int_equal(r.ids[0][0], 1);
    assert_int_equal(r.ns[1], 1);
    assert_int_equal(r.ids[1][0], 1);
    assert_int_equal(r.ns[2], 0);
    assert_int_equal(raw_int("HGET %s %s", "server:1:users", "alice"), 1);

    usermap_remove(m, "alice", 1); /* and writes work again */
    r = lookup(m, users, 1);
    assert_int_equal(r.ns[0], 0);
    close_map(m);
}

/* A dispatcher's lookups name every live chat server that has not
 * re-registered its users, for every user: after Redis lost the map (or
 * before a server wrote it) nothing reaches an online user late or never. */
static void test_unsynced_servers_get_everyone(void **state) {
    usermap *chat5 = open_connected(), *disp = open_connected();
    usermap_set_self(chat5, 5);
    usermap_add(chat5, "alice", 5);
    uv_run(&loop, UV_RUN_NOWAIT);
    const unsigned live[] = {5, 6}; /* 6: up in discovery, never marked */
    usermap_set_live(disp, live, 2);
    const char *users[] = {"alice", "bob"};
    result r = lookup(disp, users, 2);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.ns[0], 2); /* alice: 5 (hers) and 6 (unknown yet) */
    assert_int_equal(r.ids[0][0], 5);
    assert_int_equal(r.ids[0][1], 6);
    assert_int_equal(r.ns[1], 1); /* bob: only the unsynced 6 */
    assert_int_equal(r.ids[1][0], 6);

    /* Redis loses everything; server 5 has not noticed yet */
    freeReplyObject(raw("FLUSHALL"));
    r = lookup(disp, users, 2);
    assert_int_equal(r.ns[0], 2); /* alice still reaches 5 */
    assert_int_equal(r.ids[0][0], 5);
    assert_int_equal(r.ns[1], 2);

    /* Redis restarts: 5 re-registers alice and marks itself */
    redisserver_pause(&rs);
    if (wait_connected(chat5, 0, 3000) != 0) fail_msg("disconnect not noticed");
    assert_int_equal(redisserver_resume(&rs), 0);
    if (wait_connected(chat5, 1, 8000) != 0 || wait_connected(disp, 1, 8000) != 0)
        fail_msg("no reconnect after Redis restart");
    usermap_set_live(disp, live, 1); /* 6 is gone from discovery */
    for (int i = 0; i < 100; i++) {  /* the re-registration lands in Redis */
        r = lookup(disp, users, 2);
        if (r.status == 0 && r.ns[1] == 0) break;
    }
    assert_int_equal(r.ns[0], 1);
    assert_int_equal(r.ids[0][0], 5);
    assert_int_equal(r.ns[1], 0);
    assert_int_equal(raw_int("GET %s%s", "server:5:", "synced"), 1);
    close_map(disp);
    close_map(chat5);
}

static void test_no_redis(void **state) {
    usermap *m = NULL;
    redis_link_config nowhere = {"127.0.0.1", svc_free_port(), NULL};
    assert_int_equal(usermap_open(&m, &loop, &nowhere), 0);
    const char *users[] = {"alice"};
    usermap_add(m, "alice", 1); /* must not crash or block */
    uint64_t t0 = clock_mono_ms();
    result r = lookup(m, users, 1);
    assert_true(r.status < 0);
    assert_true(clock_mono_ms() - t0 < 2500); /* at worst the connect timeout */
    assert_int_equal(usermap_connected(m), 0);
    close_map(m);
    nowhere.port = 0;
    assert_int_equal(usermap_open(&m, &loop, &nowhere), CHATD_EINVAL);
}

static int group_setup(void **state) {
    uv_loop_init(&loop);
    return redisserver_start_auth(&rs, NULL);
}

static int group_teardown(void **state) {
    redisserver_stop(&rs);
    /* NOWAIT, not DEFAULT: a failed test may have left a map open, and
     * its handles must not hang the program. */
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_add_remove_lookup, setup),
        cmocka_unit_test_setup(test_forget_server, setup),
        cmocka_unit_test_setup(test_presence_last_writer_wins, setup),
        cmocka_unit_test_setup(test_redis_restart, setup),
        cmocka_unit_test_setup(test_unsynced_servers_get_everyone, setup),
        cmocka_unit_test(test_no_redis),
    };
    return cmocka_run_group_tests_name("usermap", tests, group_setup, group_teardown);
}
