/*
 * test_ready_cluster: /ready of a cluster role (docs/OPERATIONS.md,
 * "Monitor"). A `chatd chat` server on real PostgreSQL, Redis (Streams bus)
 * and ZooKeeper answers 200 with every check "ok" on its admin port; with
 * PostgreSQL stopped it answers 503 naming the store, with Redis paused
 * 503 naming redis and the bus, and 200 again once each is back — while
 * /health (liveness) stays 200 throughout.
 */
#include "integration/harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pgserver.h"
#include "redisserver.h"
#include "zkserver.h"

static pgserver pg;
static redisserver redis;
static zkserver zk;
static char dir[160];
static char conninfo[200];

static int group_setup(void **state) {
    if (!svc_mkdtemp(dir, sizeof dir, "chatd-readyc.")) return -1;
    if (pgserver_init(&pg) != 0 || pgserver_exec(&pg, NULL, "CREATE DATABASE readyc") != 0 ||
        redisserver_start(&redis) != 0 || zkserver_start(&zk) != 0)
        return -1;
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=postgres dbname=readyc",
             pg.port);
    return 0;
}

static int group_teardown(void **state) {
    zkserver_stop(&zk);
    redisserver_stop(&redis);
    pgserver_destroy(&pg);
    svc_rmrf(dir);
    return 0;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* `chatd chat` with an admin port; returns its pid, *admin the port. */
static pid_t start_chat(int *admin) {
    const char *bin = getenv("CHATD_BIN");
    if (!bin || !*bin) bin = "build/chatd";
    char secrets[200], portfile[200], redis_hp[32], admin_s[16], log[200];
    snprintf(secrets, sizeof secrets, "%s/secrets", dir);
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(log, sizeof log, "%s/chatd.log", dir);
    snprintf(redis_hp, sizeof redis_hp, "127.0.0.1:%d", redis.port);
    mkdir(secrets, 0700);
    write_file(hfmt("%s/jwt_secret.txt", secrets), H_SECRET);
    write_file(hfmt("%s/cluster_secret.txt", secrets), "ready-cluster-secret");
    *admin = svc_free_port();
    snprintf(admin_s, sizeof admin_s, "%d", *admin);
    unlink(portfile);
    const char *argv[] = {bin,      "chat",   "--config",     "",       "--host",      "127.0.0.1",
                          "--port", "0",      "--port-file",  portfile, "--secrets",   secrets,
                          "--pg",   conninfo, "--redis",      redis_hp, "--zookeeper", zk.connect,
                          "--bus",  "redis",  "--admin-port", admin_s,  "--fsync",     "off",
                          NULL};
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int64_t end = now_ms() + 20000; now_ms() < end; sleep_ms(20)) {
        if (access(portfile, F_OK) == 0) return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tail -n 30 %s >&2", log);
    if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
    fail_msg("chatd chat did not start");
    return -1;
}

/* /ready until it answers want (up to 10 s); the last body. */
static json_t *ready_is(chatd_srv *adm, int want) {
    json_t *body = NULL;
    int st = 0;
    for (int64_t end = now_ms() + 10000; now_ms() < end; sleep_ms(250))
        if ((st = http_call(adm, "GET", "/ready", NULL, &body, NULL)) == want) return body;
    fail_msg("/ready: %d, not %d: %s", st, want, jdump(body));
    return NULL;
}

static void checks_ok(json_t *body, const char *const *names) {
    for (; *names; names++)
        assert_string_equal(jstr(jobj(body, "checks"), *names), "ok");
}

static void test_ready_names_what_is_down(void **state) {
    int admin;
    pid_t pid = start_chat(&admin);
    chatd_srv adm = {.pid = 0, .port = admin};
    const char *all[] = {"store", "redis", "bus", "discovery", NULL};
    checks_ok(ready_is(&adm, 200), all);

    pgserver_stop(&pg, SIGINT); /* PostgreSQL down */
    json_t *body = ready_is(&adm, 503);
    assert_true(jarr_has_str(jarr(body, "unavailable"), "store"));
    assert_int_equal(json_array_size(jarr(body, "unavailable")), 1);
    assert_non_null(strstr(jstr(jobj(body, "checks"), "store"), "PostgreSQL"));
    assert_int_equal(http_call(&adm, "GET", "/health", NULL, NULL, NULL), 200);
    assert_int_equal(pgserver_start(&pg), 0);
    checks_ok(ready_is(&adm, 200), all);

    redisserver_pause(&redis); /* Redis (and so the Streams bus) down */
    body = ready_is(&adm, 503);
    assert_true(jarr_has_str(jarr(body, "unavailable"), "redis"));
    assert_true(jarr_has_str(jarr(body, "unavailable"), "bus"));
    assert_string_equal(jstr(jobj(body, "checks"), "store"), "ok");
    assert_int_equal(redisserver_resume(&redis), 0);
    checks_ok(ready_is(&adm, 200), all);

    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "tail -n 40 %s/chatd.log >&2", dir);
        if (system(cmd) != 0) fprintf(stderr, "(no log)\n");
        fail_msg("chatd chat exited with status %d", status);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready_names_what_is_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
