/*
 * test_bench_smoke: a few seconds of the load generator (build/chat-bench,
 * bench/) against a real chatd, once per scenario with tiny sizes, so that
 * `make test` notices when chat-bench or the paths it drives break. The
 * full benchmark is `make bench` (bench/run.sh), not part of the tests.
 *
 * The scale-with-history scenarios run at tiny --quick-like sizes: a seed
 * written into the stopped server's SQLite file (then checked by the
 * history scenario against COUNTs over the rows), a reconnect storm
 * through a real restart, the store on its own, and sockets over two
 * generator processes.
 *
 * Environment: CHAT_BENCH_BIN (default: chat-bench next to CHATD_BIN, else
 * build/chat-bench).
 */
#include "integration/harness.h"

#include <sqlite3.h>
#include "svcutil.h"
#include "pgserver.h"

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

/* Runs chat-bench with args and returns its --json output (parsed); on a
 * failure the log of server s (when not NULL) goes with the message. */
static json_t *run_json_of(const char *const *args, chatd_srv *s) {
    const char *out = NULL;
    int rc = run_bench(args, &out);
    if (rc != 0) {
        if (s) chatd_dump_log(s, 3000);
        fail_msg("chat-bench exited with %d; stdout:\n%s", rc, out);
    }
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    if (!j) fail_msg("chat-bench --json printed no JSON (%s):\n%s", err.text, out);
    return harness__keep_json(j);
}

static json_t *run_json(const char *const *args) {
    return run_json_of(args, NULL);
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
    return run_json_of(args, s);
}

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("no number \"%s\" in %s", key, jdump(o));
    return json_number_value(v);
}

static void check_phase(json_t *p) {
    assert_true(num(p, "server_cpu_us_per_msg") > 0); /* /proc of --server-pid */
    assert_true(num(p, "server_cpu_us_per_delivery") > 0);
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

/* The same over wss:// (--ca-file; issue #15's TLS row): every socket and
 * the setup's https requests go through TLS, nothing is lost. */
static void test_fanout_tls(void **state) {
    char dir[256];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "bench-tls-"));
    assert_int_equal(system(hfmt("%s/../../scripts/mkcert.sh '%s'", CHATD_FIXTURES, dir)), 0);
    const char *extra[] = {"--rate-per-sec",
                           "1000000",
                           "--rate-burst",
                           "1000000",
                           "--max-hash-queue",
                           "100000",
                           "--max-conns-per-user",
                           "0",
                           "--tls-cert",
                           hfmt("%s/server.pem", dir),
                           "--tls-key",
                           hfmt("%s/server.key", dir),
                           NULL};
    chatd_srv *s = chatd_start(extra);
    const char *args[] = {"--url",
                          hfmt("https://127.0.0.1:%d", s->port),
                          "--ca-file",
                          hfmt("%s/ca.pem", dir),
                          "--server-pid",
                          hfmt("%d", (int)s->pid),
                          "--json",
                          "--warmup",
                          "0.3",
                          "--duration",
                          "1",
                          "--scenario",
                          "fanout",
                          "--channels",
                          "1",
                          "--members",
                          "5",
                          "--senders",
                          "1",
                          "--sweep",
                          "",
                          NULL};
    json_t *r = run_json_of(args, s);
    json_t *sat = jobj(r, "saturation");
    check_phase(sat);
    assert_true(num(sat, "sent") > 0);
    assert_true(num(sat, "deliveries") == 5 * num(sat, "sent"));
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
    svc_rmrf(dir);
}

/* Direct-message pairs: each message reaches the pair, the sender included. */
static void test_dm(void **state) {
    chatd_srv *s = start_server();
    static const char *const args[] = {"--scenario", "dm", "--channels", "3", "--sweep", "", NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "dm");
    assert_true(jbool(r, "direct"));
    assert_int_equal((long)num(r, "senders"), 6);
    json_t *sat = jobj(r, "saturation");
    check_phase(sat);
    assert_true(num(sat, "deliveries") == 2 * num(sat, "sent"));
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Protocol 1.1 edits: after its first message each sender edits it over
 * and over; every edit reaches the channel's 5 members, and the store
 * holds a few messages and many edits. */
static void test_edits(void **state) {
    chatd_srv *s = start_server();
    static const char *const args[] = {"--scenario", "edits", "--channels", "1", "--members", "5",
                                       "--senders",  "2",     "--sweep",    "",  NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "edits");
    json_t *sat = jobj(r, "saturation");
    check_phase(sat);
    assert_true(num(sat, "deliveries") == 5 * num(sat, "sent"));
    assert_int_equal(chatd_stop(s), 0);
    sqlite3 *db;
    assert_int_equal(
        sqlite3_open_v2(hfmt("%s/data/chatd.db", s->dir), &db, SQLITE_OPEN_READONLY, NULL),
        SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM messages),"
                                        " (SELECT count(*) FROM changes WHERE kind = 1)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long msgs = sqlite3_column_int64(q, 0), edits = sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* at most a window of first messages per sender; the rest were edits */
    if (msgs > 2 * 8 || edits < 1 || msgs + edits != (long)num(sat, "sent"))
        fail_msg("%ld messages and %ld edits for %.0f sent", msgs, edits, num(sat, "sent"));
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
    json_t *r = run_json(args);
    assert_string_equal(jstr(r, "scenario"), "loopback");
    assert_int_equal((long)num(r, "sockets"), 20);
    double one = num(r, "us_per_delivery_unbatched"), batched = num(r, "us_per_delivery_batched");
    assert_true(one > 0 && batched > 0);
    /* the whole point of batching: 10 frames in one write cost less per frame */
    assert_true(batched < one);
    assert_true(num(r, "fanout_write_ms") > 0);
}

/* ---- scale with history ---- */

#define POP "12:1:6:3:2" /* 12 users in 1 big channel; 6 of them in pairs of 3 small */

static const char *seed_db(chatd_srv *s) {
    return hfmt("sqlite:%s/data/chatd.db", s->dir);
}

/* Seeds the stopped server's database; returns the seed's JSON. */
static json_t *seed(chatd_srv *s, const char *messages) {
    const char *args[] = {"--scenario",   "seed", "--db",       seed_db(s), "--prefix", "hs",
                          "--population", POP,    "--messages", messages,   "--json",   NULL};
    return run_json(args);
}

static json_t *history(chatd_srv *s, const char *messages) {
    const char *args[] = {"--scenario", "history",    "--prefix",      "hs",      "--population",
                          POP,          "--messages", messages,        "--users", "6",
                          "--rounds",   "2",          "--connections", "30",      "--db",
                          seed_db(s),   NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "history");
    json_t *lat = jobj(r, "connect_latency");
    assert_int_equal((long)num(lat, "samples"), 12); /* 2 bursts of 6 */
    assert_true(num(lat, "p99_ms") >= num(lat, "p50_ms") && num(lat, "p50_ms") > 0);
    assert_int_equal((long)num(r, "connections_up"), 30);
    assert_true(num(r, "connects_per_s") > 0);
    assert_int_equal((long)num(r, "channels_per_user"), 3); /* 1 big + 2 small */
    json_t *chk = jobj(r, "check");
    if (num(chk, "mismatches") != 0) fail_msg("check: %s", jdump(chk));
    assert_int_equal((long)num(chk, "users"), 4);
    assert_int_equal((long)num(chk, "entries"), 12);
    json_t *reads = jobj(r, "history_reads");
    assert_int_equal((long)num(reads, "errors"), 0);
    assert_int_equal((long)num(jobj(reads, "newest_50"), "samples"), 6);
    /* with messages, users 0..5 have read marks: a recovery read each */
    assert_int_equal((long)num(jobj(reads, "after_mark_100"), "samples"),
                     strcmp(messages, "0:0") ? 6 : 0);
    return r;
}

/* Connects on an empty database, then with history (the seed's counters
 * checked against COUNTs), then a reconnect storm through a restart. */
static void test_history_and_storm(void **state) {
    chatd_srv *s = start_server();
    assert_int_equal(chatd_stop(s), 0);
    json_t *p = seed(s, "0:0");
    assert_int_equal((long)num(p, "memberships"), 12 + 2 * 3 * 2);
    chatd_restart(s);
    history(s, "0:0");
    assert_int_equal(chatd_stop(s), 0);
    json_t *m = seed(s, "300:40");
    assert_int_equal((long)num(m, "messages_written"), 300 + 4 * 40);
    chatd_restart(s);
    history(s, "300:40");

    const char *bin =
        getenv("CHATD_BIN") && *getenv("CHATD_BIN") ? getenv("CHATD_BIN") : "build/chatd";
    const char *restart = hfmt(
        "exec %s all --host 127.0.0.1 --port %d --data %s/data --secrets %s/secrets --argon2 min "
        "--fsync off --register-per-sec 100000 --auth-fail-per-addr 100000 --rate-per-sec 1000000 "
        "--rate-burst 1000000 --max-hash-queue 100000 --max-conns-per-user 0 >> %s/chatd.log 2>&1",
        bin, s->port, s->dir, s->dir, s->dir);
    const char *args[] = {
        "--scenario", "storm", "--prefix",      "hs",    "--users", "12", "--connections", "60",
        "--sources",  "3",     "--restart-cmd", restart, NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "storm");
    assert_true(num(r, "fresh_s") > 0);
    assert_int_equal((long)num(r, "lost"), 60);
    assert_true(jbool(r, "all_back"));
    assert_int_equal((long)num(r, "back"), 60);
    assert_true(num(r, "restart_to_all_back_s") > 0);
    assert_true(num(r, "storm_over_fresh") > 0);
    assert_true(num(jobj(r, "reconnect_latency"), "p99_ms") > 0);
    chatd_wait(s, 5000); /* SIGTERMed by the storm; its replacement is gone too */
    chatd_free(s);
}

/* A seed, then the store on its own on it: appends with a window in flight. */
static void seed_and_store(const char *db) {
    const char *sargs[] = {"--scenario",   "seed",      "--db",       db,       "--prefix", "st",
                           "--population", "4:1:2:2:1", "--messages", "500:50", "--json",   NULL};
    json_t *sd = run_json(sargs);
    assert_int_equal((long)num(sd, "messages_written"), 550);
    assert_int_equal((long)num(sd, "memberships"), 4 + 2);
    const char *args[] = {"--scenario", "store",    "--db",   db,         "--channels",
                          "3",          "--window", "32",     "--warmup", "0.2",
                          "--duration", "0.5",      "--json", NULL};
    json_t *r = run_json(args);
    assert_string_equal(jstr(r, "scenario"), "store");
    assert_true(num(r, "appends_per_s") > 0);
    assert_int_equal((long)num(r, "failed"), 0);
    assert_true(num(jobj(r, "append_latency"), "p99_ms") > 0);
}

static void test_store_sqlite(void **state) {
    char dir[256];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "bench-store."));
    seed_and_store(hfmt("sqlite:%s/chatd.db", dir));
    svc_rmrf(dir);
}

static void test_store_pg(void **state) {
    pgserver pg;
    if (pgserver_init(&pg) != 0) fail_msg("PostgreSQL did not start"); /* init starts it */
    assert_int_equal(pgserver_exec(&pg, "postgres", "CREATE DATABASE bench"), 0);
    seed_and_store(hfmt("pg:%s dbname=bench", pg.conninfo));
    pgserver_destroy(&pg);
}

/* Sockets over two generator processes, all joining one channel, then one
 * message: every socket gets it, and the figures add up. */
static void test_scale(void **state) {
    chatd_srv *s = start_server();
    const char *args[] = {"--scenario",
                          "scale",
                          "--connections",
                          "40",
                          "--processes",
                          "2",
                          "--hold",
                          "0.2",
                          "--server-pid",
                          hfmt("%d@%d", (int)s->pid, s->port),
                          NULL};
    json_t *r = bench_json(s, args);
    assert_string_equal(jstr(r, "scenario"), "scale");
    assert_int_equal((long)num(r, "connections_up"), 40);
    assert_int_equal((long)num(r, "joined"), 40);
    assert_int_equal((long)num(r, "deliveries"), 40);
    assert_int_equal((long)num(r, "missing"), 0);
    assert_true(num(r, "last_delivery_ms") > 0);
    json_t *srv = json_array_get(jarr(r, "servers"), 0);
    assert_int_equal((long)num(srv, "sockets"), 40);
    num(srv, "rss_per_socket_bytes");
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Logins to a port nobody listens on: every login worker gives up after
 * its retries, and chat-bench goes on at once instead of waiting out
 * --setup-timeout (it waited the whole timeout: the dial ticker kept the
 * loop alive while no worker was left). */
static void test_login_gives_up(void **state) {
    int port = svc_free_port();
    assert_true(port > 0);
    const char *url = hfmt("http://127.0.0.1:%d", port);
    const char *const args[] = {"--url",           url,   "--scenario", "connections",
                                "--connections",   "10",  "--hold",     "1",
                                "--setup-timeout", "120", "--json",     NULL};
    double t0 = now_ms();
    json_t *r = run_json(args);
    double took_s = (now_ms() - t0) / 1000;
    assert_int_equal((long)num(r, "connections_up"), 0);
    if (took_s > 60) fail_msg("chat-bench took %.0f s to give up (setup timeout 120 s)", took_s);
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
        cmocka_unit_test(test_bad_arguments),  cmocka_unit_test(test_fanout),
        cmocka_unit_test(test_fanout_tls),     cmocka_unit_test(test_dm),
        cmocka_unit_test(test_connections),    cmocka_unit_test(test_durable),
        cmocka_unit_test(test_loopback),       cmocka_unit_test(test_history_and_storm),
        cmocka_unit_test(test_store_sqlite),   cmocka_unit_test(test_store_pg),
        cmocka_unit_test(test_scale),          cmocka_unit_test(test_edits),
        cmocka_unit_test(test_login_gives_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
