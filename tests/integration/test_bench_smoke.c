/*
 * test_bench_smoke: a few seconds of the load generator (build/chat-bench,
 * bench/) against a real chatd, once per scenario with tiny sizes, so that
 * `make test` notices when chat-bench or the paths it drives break. The
 * full benchmark is `make bench` (bench/run.sh), not part of the tests.
 *
 * Environment: CHAT_BENCH_BIN (default: chat-bench next to CHATD_BIN, else
 * build/chat-bench).
 */
#include "integration/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_TIMEOUT_MS 60000

static const char *bench_bin(void) {
    const char *b = getenv("CHAT_BENCH_BIN");
    if (b && *b) return b;
    const char *chatd = getenv("CHATD_BIN");
    const char *slash = chatd ? strrchr(chatd, '/') : NULL;
    if (slash) return hfmt("%.*s/chat-bench", (int)(slash - chatd), chatd);
    return "build/chat-bench";
}

/* Runs chat-bench with args (NULL-terminated, after the program name);
 * returns its exit status (-1 when killed) and its stdout in *out. */
static int run_bench(const char *const *args, const char **out) {
    const char *bin = bench_bin();
    if (access(bin, X_OK) != 0) fail_msg("%s is not built (make %s)", bin, bin);
    const char *argv[40];
    int n = 0;
    argv[n++] = bin;
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int64_t deadline = now_ms() + RUN_TIMEOUT_MS;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        if (poll(&p, 1, left) <= 0) continue;
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(fds[0], buf + len, cap - len - 1);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fds[0]);
    buf[len] = '\0';
    *out = harness__keep_str(buf);
    int st;
    if (now_ms() >= deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        fail_msg("chat-bench did not finish within %d ms; output so far:\n%s", RUN_TIMEOUT_MS,
                 *out);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static chatd_srv *start_server(void) {
    static const char *const extra[] = {"--rate-per-sec",
                                        "1000000",
                                        "--rate-burst",
                                        "1000000",
                                        "--max-hash-queue",
                                        "100000",
                                        "--max-conns-per-user",
                                        "0",
                                        NULL};
    return chatd_start(extra);
}

static json_t *bench_json(chatd_srv *s, const char *const *scenario_args) {
    const char *args[40];
    int n = 0;
    args[n++] = "--url";
    args[n++] = hfmt("http://127.0.0.1:%d", s->port);
    args[n++] = "--server-pid";
    args[n++] = hfmt("%d", (int)s->pid);
    args[n++] = "--json";
    args[n++] = "--warmup";
    args[n++] = "0.3";
    args[n++] = "--duration";
    args[n++] = "1";
    for (int i = 0; scenario_args[i]; i++)
        args[n++] = scenario_args[i];
    args[n] = NULL;
    const char *out = NULL;
    int rc = run_bench(args, &out);
    if (rc != 0) {
        chatd_dump_log(s, 3000);
        fail_msg("chat-bench exited with %d; stdout:\n%s", rc, out);
    }
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j) fail_msg("chat-bench --json printed no JSON (%s):\n%s", err.text, out);
    return harness__keep_json(j);
}

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("no number \"%s\" in %s", key, jdump(o));
    return json_number_value(v);
}

static void check_phase(json_t *p) {
    assert_true(num(p, "sent") > 0);
    assert_true(num(p, "deliveries") > 0);
    assert_true(num(p, "msgs_per_s") > 0);
    assert_int_equal((long)num(p, "missing_deliveries"), 0);
    assert_int_equal((long)num(p, "errors"), 0);
    json_t *lat = jobj(p, "latency");
    assert_true(num(lat, "samples") > 0);
    assert_true(num(lat, "p50_ms") > 0);
    assert_true(num(lat, "p99_ms") >= num(lat, "p50_ms"));
    assert_true(num(lat, "max_ms") >= num(lat, "p99_ms"));
}

static void test_fanout(void **state) {
    chatd_srv *s = start_server();
    static const char *const args[] = {"--scenario", "fanout", "--channels", "2",
                                       "--members",  "5",      "--senders",  "2",
                                       "--sweep",    "0.5",    NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "fanout");
    json_t *sat = jobj(r, "saturation");
    check_phase(sat);
    /* each message reaches all 5 members of its channel, the sender included */
    assert_true(num(sat, "deliveries") == 5 * num(sat, "sent"));
    assert_true(num(r, "saturation_deliveries_per_s") > 0);
    json_t *steps = jarr(r, "steps");
    assert_int_equal(json_array_size(steps), 1);
    check_phase(json_array_get(steps, 0));
    assert_true(num(json_array_get(steps, 0), "offered_msgs_per_s") > 0);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_connections(void **state) {
    chatd_srv *s = start_server();
    static const char *const args[] = {
        "--scenario", "connections", "--connections", "60", "--users", "20",
        "--hold",     "1",           "--sources",     "2",  NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "connections");
    assert_int_equal((long)num(r, "connections_up"), 60);
    assert_int_equal((long)num(r, "connections_failed"), 0);
    assert_int_equal((long)num(r, "lost_during_hold"), 0);
    assert_true(num(r, "connects_per_s") > 0);
    assert_true(num(r, "server_rss_up_kib") > 0);
    num(r, "rss_per_connection_bytes"); /* present: the server pid was readable */
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_durable(void **state) {
    chatd_srv *s = start_server();
    static const char *const args[] = {"--scenario", "durable", "--channels", "4",
                                       "--window",   "4",       NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "durable");
    assert_true(num(r, "stored_msgs_per_s") > 0);
    json_t *ph = json_array_get(jarr(r, "steps"), 0);
    check_phase(ph);
    assert_true(num(ph, "deliveries") == num(ph, "sent")); /* members 1: only the echo */
    json_t *commit = jobj(r, "commit");
    assert_true(num(commit, "commits") > 0);
    assert_true(num(commit, "mean_ms") > 0);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* No server: real loopback sockets, one thread writing, one reading. */
static void test_loopback(void **state) {
    static const char *const args[] = {"--scenario", "loopback", "--members", "20",
                                       "--duration", "0.4",      "--json",    NULL};
    const char *out = NULL;
    assert_int_equal(run_bench(args, &out), 0);
    json_error_t err;
    json_t *r = json_loads(out, 0, &err);
    if (!r) fail_msg("chat-bench --json printed no JSON (%s):\n%s", err.text, out);
    harness__keep_json(r);
    assert_string_equal(jstr(r, "scenario"), "loopback");
    assert_int_equal((long)num(r, "sockets"), 20);
    double one = num(r, "us_per_delivery_unbatched"), batched = num(r, "us_per_delivery_batched");
    assert_true(one > 0 && batched > 0);
    /* the whole point of batching: 10 frames in one write cost less per frame */
    assert_true(batched < one);
    assert_true(num(r, "fanout_write_ms") > 0);
}

static void test_bad_arguments(void **state) {
    static const char *const args[] = {"--url", "http://127.0.0.1:1", "--scenario", "nope", NULL};
    const char *out = NULL;
    assert_int_not_equal(run_bench(args, &out), 0);
    static const char *const args2[] = {"--scenario", "fanout", NULL}; /* no --url */
    assert_int_not_equal(run_bench(args2, &out), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_fanout),
        cmocka_unit_test(test_connections),   cmocka_unit_test(test_durable),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
