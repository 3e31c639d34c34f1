/*
 * Unit tests for engine/redis_link against a real Redis 7 that requires a
 * password (tests/redisserver.h, --requirepass):
 *  - the start-up check tells a right password (0) from a wrong or
 *    missing one (CHATD_EACCES, with a message naming redis_password.txt and
 *    never the password) and from an unreachable server (CHATD_EIO);
 *  - an async link with the right password comes up and its commands
 *    work; with a wrong one it never comes up (and keeps retrying);
 *  - after a Redis restart it goes down (commands in flight get a NULL
 *    reply first) and comes up again by itself;
 *  - a server that accepts the connection but never answers AUTH (a
 *    connect that hangs) is dropped by the watchdog and tried again.
 */
#include "core/err.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "core/clock.h"
#include "engine/redis_link.h"
#include "redisserver.h"

#define PASSWORD "s3cret pass:word"

static redisserver rs;
static uv_loop_t loop;

typedef struct watch {
    int ups, downs, closed;
    int replies, null_replies;
} watch;

static void w_up(void *data) {
    ((watch *)data)->ups++;
}
static void w_down(void *data) {
    ((watch *)data)->downs++;
}
static void w_closed(void *data) {
    ((watch *)data)->closed++;
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv) {
    watch *w = priv;
    if (r)
        w->replies++;
    else
        w->null_replies++;
}

/* Runs the loop until *counter >= want or ms pass; 0 when reached. */
static int run_until(const int *counter, int want, int ms) {
    uint64_t end = clock_mono_ms() + (uint64_t)ms;
    while (*counter < want) {
        if (clock_mono_ms() > end) return -1;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(2 * 1000);
    }
    return 0;
}

static void run_for(int ms) {
    int never = 0;
    run_until(&never, 1, ms);
}

static redis_link *open_link(const char *password, watch *w) {
    redis_link_config cfg = {"127.0.0.1", rs.port, password};
    redis_link_handler h = {w, w_up, w_down, w_closed};
    redis_link *l = NULL;
    assert_int_equal(redis_link_open(&l, &loop, &cfg, "test", &h), 0);
    return l;
}

static void close_link(redis_link *l, watch *w) {
    redis_link_close(l);
    assert_int_equal(run_until(&w->closed, 1, 1000), 0);
}

static void test_check_at_startup(void **state) {
    char err[512];
    redisContext *c = NULL;
    redis_link_config cfg = {"127.0.0.1", rs.port, PASSWORD};
    assert_int_equal(redis_link_connect_sync(&cfg, 2000, &c, err, sizeof err), 0);
    redisReply *r = redisCommand(c, "SET %s %s", "k", "v");
    assert_true(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    redisFree(c);

    cfg.password = "wrong";
    assert_int_equal(redis_link_connect_sync(&cfg, 2000, &c, err, sizeof err), CHATD_EACCES);
    assert_null(c);
    assert_non_null(strstr(err, "refused our password (redis_password.txt)"));
    assert_null(strstr(err, "wrong")); /* never the password itself */
    print_message("wrong password: %s\n", err);

    cfg.password = NULL;
    assert_int_equal(redis_link_connect_sync(&cfg, 2000, &c, err, sizeof err), CHATD_EACCES);
    assert_non_null(strstr(err, "requires a password"));
    print_message("no password: %s\n", err);

    cfg.port = svc_free_port();
    assert_int_equal(redis_link_connect_sync(&cfg, 2000, &c, err, sizeof err), CHATD_EIO);
    assert_non_null(strstr(err, "cannot connect"));
}

static void test_link_up_and_commands(void **state) {
    watch w = {0};
    redis_link *l = open_link(PASSWORD, &w);
    assert_int_equal(redis_link_is_up(l), 0); /* never up inside open */
    assert_int_equal(redis_link_command(l, on_reply, &w, "PING"), CHATD_ENOTCONN);
    assert_int_equal(run_until(&w.ups, 1, 3000), 0);
    assert_non_null(redis_link_ctx(l));
    assert_int_equal(redis_link_command(l, on_reply, &w, "SET %s %s", "a", "1"), 0);
    const char *argv[] = {"GET", "a"};
    assert_int_equal(redis_link_command_argv(l, on_reply, &w, 2, argv, NULL), 0);
    assert_int_equal(run_until(&w.replies, 2, 3000), 0);
    close_link(l, &w);
    assert_int_equal(w.downs, 0); /* a close is not a "down" */
}

static void test_wrong_password_never_up(void **state) {
    watch w = {0};
    redis_link *l = open_link("wrong", &w);
    run_for(1500); /* several attempts (backoff from 100 ms) */
    assert_int_equal(w.ups, 0);
    assert_int_equal(redis_link_is_up(l), 0);
    close_link(l, &w);
    l = open_link(NULL, &w); /* no AUTH at all: "up" (connected), but refused */
    assert_int_equal(run_until(&w.ups, 1, 3000), 0);
    assert_int_equal(redis_link_command(l, on_reply, &w, "GET %s", "a"), 0);
    assert_int_equal(run_until(&w.replies, 1, 3000), 0); /* an error reply: NOAUTH */
    w.closed = 0;
    close_link(l, &w);
}

static void test_restart_down_then_up(void **state) {
    watch w = {0};
    redis_link *l = open_link(PASSWORD, &w);
    assert_int_equal(run_until(&w.ups, 1, 3000), 0);
    /* a command blocked in Redis when it goes away */
    assert_int_equal(redis_link_command(l, on_reply, &w, "BLPOP %s %d", "never", 30), 0);
    redisserver_pause(&rs);
    assert_int_equal(run_until(&w.downs, 1, 3000), 0);
    assert_int_equal(w.null_replies, 1); /* failed before down was called */
    assert_int_equal(redis_link_is_up(l), 0);
    assert_int_equal(redisserver_resume(&rs), 0);
    assert_int_equal(run_until(&w.ups, 2, 5000), 0); /* by itself, with AUTH again */
    assert_int_equal(redis_link_command(l, on_reply, &w, "PING"), 0);
    assert_int_equal(run_until(&w.replies, 1, 3000), 0);
    close_link(l, &w);
}

/* A "Redis" that accepts connections (the kernel does, from the backlog)
 * and never says a word: the connect completes, AUTH is never answered. */
static void test_hanging_connect_times_out(void **state) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    redis_link_config cfg = {"127.0.0.1", ntohs(a.sin_port), "pw"};
    watch w = {0};
    redis_link_handler h = {&w, w_up, w_down, w_closed};
    redis_link *l = NULL;
    assert_int_equal(redis_link_open(&l, &loop, &cfg, "hang", &h), 0);
    int accepted = 0, conns[8];
    uint64_t end = clock_mono_ms() + REDIS_LINK_CONNECT_TIMEOUT_MS + 1500;
    while (clock_mono_ms() < end && accepted < 2) {
        int c = accept(fd, NULL, NULL);
        if (c >= 0) conns[accepted++] = c;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(5 * 1000);
    }
    assert_int_equal(accepted, 2); /* the first attempt was given up, a second made */
    assert_int_equal(w.ups, 0);
    close_link(l, &w);
    for (int i = 0; i < accepted; i++)
        close(conns[i]);
    close(fd);
}

/* One Redis for the group; a fresh loop per test, so that a test that
 * fails with a link open cannot disturb the next one. */
static int group_setup(void **state) {
    return redisserver_start_auth(&rs, PASSWORD);
}

static int group_teardown(void **state) {
    redisserver_stop(&rs);
    return 0;
}

static int loop_setup(void **state) {
    return uv_loop_init(&loop);
}

static int loop_teardown(void **state) {
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop); /* UV_EBUSY after a failed test left handles: not this test's point */
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_at_startup, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_link_up_and_commands, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password_never_up, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_restart_down_then_up, loop_setup, loop_teardown),
        cmocka_unit_test_setup_teardown(test_hanging_connect_times_out, loop_setup, loop_teardown),
    };
    return cmocka_run_group_tests_name("redis_link", tests, group_setup, group_teardown);
}
