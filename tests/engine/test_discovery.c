/*
 * Unit tests for discovery: discovery_pick, and the ZooKeeper backend
 * against a real, private ZooKeeper 3.8 (tests/zkserver.h). Every client
 * uses a 4 s session timeout, the shortest ZooKeeper grants with
 * tickTime=2000, so "a dead server disappears within the session timeout"
 * can be measured in a few seconds.
 *
 * The crash test needs a process that dies without closing its session:
 * this program runs itself as that process (`--child CONNECT SERVICE`).
 */
#include "core/err.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <uv.h>
#include <zookeeper/zookeeper.h>

#include "core/clock.h"
#include "discovery/discovery.h"
#include "zkserver.h"

#define TIMEOUT_MS 4000
#define TICK_MS 2000 /* the server's tickTime: expiry is checked once per tick */
#define ZK_PW "zk secret"

static zkserver zk;
static uv_loop_t loop;
static const discovery_backend *be = &discovery_zookeeper_backend;

static discovery *open_client_pw(const char *password) {
    discovery *d = NULL;
    discovery_config cfg = {zk.connect, TIMEOUT_MS, password};
    int rc = be->open(&d, &cfg, &loop);
    if (rc != 0) fail_msg("open %s: %d", zk.connect, rc);
    return d;
}

static discovery *open_client(void) {
    return open_client_pw(NULL);
}

static discovery_instance make_instance(unsigned id, const char *host, int port, uint64_t conns) {
    discovery_instance in = {.id = id, .port = port, .connections = conns};
    snprintf(in.host, sizeof in.host, "%s", host);
    return in;
}

/* Registers a new instance of service on d; returns its node id. */
static unsigned register_new(discovery *d, const char *service, int port, uint64_t conns) {
    unsigned id = 9999;
    assert_int_equal(be->alloc_node_id(d, service, &id), 0);
    assert_true(id < 1024);
    discovery_instance me = make_instance(id, "127.0.0.1", port, conns);
    assert_int_equal(be->register_instance(d, service, &me), 0);
    return id;
}

/* Finds id in d's list of service; 1 and *out when there. */
static int listed(discovery *d, const char *service, unsigned id, discovery_instance *out) {
    discovery_instance all[64];
    size_t n = be->list(d, service, all, 64);
    for (size_t i = 0; i < n; i++)
        if (all[i].id == id) {
            if (out) *out = all[i];
            return 1;
        }
    return 0;
}

/* Polls (running the loop) until id's presence in the list is `want` and,
 * when want_conns >= 0, its connection count matches. Returns elapsed ms,
 * or -1 after timeout_ms. */
static long wait_listed(discovery *d, const char *service, unsigned id, int want,
                        long long want_conns, int timeout_ms) {
    uint64_t start = clock_mono_ms();
    for (;;) {
        discovery_instance in;
        int there = listed(d, service, id, &in);
        if (there == want && (!there || want_conns < 0 || in.connections == (uint64_t)want_conns))
            return (long)(clock_mono_ms() - start);
        if (clock_mono_ms() - start > (uint64_t)timeout_ms) return -1;
        uv_run(&loop, UV_RUN_NOWAIT);
        usleep(20 * 1000);
    }
}

/* The instance of service that d's list and discovery_pick choose. */
static discovery_instance picked(discovery *d, const char *service) {
    discovery_instance all[64], best;
    size_t n = be->list(d, service, all, 64);
    assert_int_equal(discovery_pick(all, n, &best), 0);
    return best;
}

/* ---- discovery_pick ---- */

static void test_pick(void **state) {
    discovery_instance out;
    assert_int_equal(discovery_pick(NULL, 0, &out), -1);

    discovery_instance l[4] = {make_instance(7, "a", 1, 5), make_instance(3, "b", 2, 2),
                               make_instance(9, "c", 3, 2), make_instance(1, "d", 4, 8)};
    assert_int_equal(discovery_pick(l, 4, &out), 0);
    assert_int_equal(out.id, 3); /* fewest connections; tie 3 vs 9 goes to the lower id */
    assert_string_equal(out.host, "b");

    l[2].id = 2; /* now the tie goes the other way, whatever the order */
    assert_int_equal(discovery_pick(l, 4, &out), 0);
    assert_int_equal(out.id, 2);
    assert_int_equal(out.port, 3);

    /* silent past DISCOVERY_STALE_MS: presumed dead, skipped however idle */
    l[1].silent_ms = l[2].silent_ms = DISCOVERY_STALE_MS + 1;
    assert_int_equal(discovery_pick(l, 4, &out), 0);
    assert_int_equal(out.id, 7);
    l[0].silent_ms = DISCOVERY_STALE_MS; /* not past it yet */
    assert_int_equal(discovery_pick(l, 4, &out), 0);
    assert_int_equal(out.id, 7);
    /* all silent: this process's own link is the likelier fault; pick among all */
    l[0].silent_ms = l[3].silent_ms = 60000;
    assert_int_equal(discovery_pick(l, 4, &out), 0);
    assert_int_equal(out.id, 2);
}

/* A login storm between two refreshes is spread, not piled on the
 * instance that was least loaded at the last refresh. */
static void test_pick_spread(void **state) {
    discovery_spread sp = {0};
    discovery_instance out, l[3] = {make_instance(1, "a", 1, 10), make_instance(2, "b", 2, 10),
                                    make_instance(3, "c", 3, 13)};
    for (int i = 0; i < 3; i++)
        l[i].timestamp_ms = 1000;
    unsigned named[4] = {0};
    for (int i = 0; i < 9; i++) {
        assert_int_equal(discovery_pick_spread(&sp, l, 3, &out), 0);
        named[out.id]++;
    }
    /* 10+4, 10+4, 13+1: as even as the loads allow */
    assert_int_equal(named[1], 4);
    assert_int_equal(named[2], 4);
    assert_int_equal(named[3], 1);
    assert_int_equal(discovery_pick(l, 3, &out), 0); /* the plain pick would say 1 every time */
    assert_int_equal(out.id, 1);

    /* b refreshes: its count now includes those of its clients that have
     * connected (2 of 4), and what was named to it before is no longer
     * added on top: a 14, b 12, c 14 */
    l[1].timestamp_ms = 2000;
    l[1].connections = 12;
    assert_int_equal(discovery_pick_spread(&sp, l, 3, &out), 0);
    assert_int_equal(out.id, 2);
    assert_int_equal(out.connections, 12);
    /* an instance that leaves the list takes its count with it */
    assert_int_equal(discovery_pick_spread(&sp, l, 1, &out), 0);
    assert_int_equal(sp.n, 1);
    assert_int_equal(discovery_pick_spread(&sp, NULL, 0, &out), -1);
}

/* --allowed-hosts: only instances on listed hosts are ever picked. */
static void test_allowed_hosts(void **state) {
    assert_int_equal(discovery_allowed_valid("chat1.example,10.0.0.7,::1"), 0);
    assert_int_equal(discovery_allowed_valid(""), -1);
    assert_int_equal(discovery_allowed_valid("a,,b"), -1);
    assert_int_equal(discovery_allowed_valid("a,"), -1);
    assert_int_equal(discovery_allowed_valid("a b"), -1);
    assert_true(discovery_host_allowed(NULL, "anything"));
    assert_true(discovery_host_allowed("chat1.example,10.0.0.7", "CHAT1.example"));
    assert_true(discovery_host_allowed("chat1.example,10.0.0.7", "10.0.0.7"));
    assert_false(discovery_host_allowed("chat1.example,10.0.0.7", "10.0.0.70"));
    assert_false(discovery_host_allowed("chat1.example", "chat1.example.evil.com"));
    assert_false(discovery_host_allowed("chat1.example", "chat1"));

    /* a rogue instance, idle and fresh, would win any pick: it is never named */
    discovery_instance l[3] = {make_instance(1, "chat1.example", 1, 50),
                               make_instance(666, "evil.example", 6, 0),
                               make_instance(2, "10.0.0.7", 2, 40)};
    discovery_instance out;
    assert_int_equal(discovery_pick(l, 3, &out), 0);
    assert_string_equal(out.host, "evil.example"); /* what the old pick did */
    size_t n = discovery_filter_allowed("chat1.example,10.0.0.7", l, 3);
    assert_int_equal(n, 2);
    assert_int_equal(discovery_pick(l, n, &out), 0);
    assert_int_equal(out.id, 2);
    discovery_instance only_rogue = make_instance(666, "evil.example", 6, 0);
    assert_int_equal(discovery_filter_allowed("chat1.example", &only_rogue, 1), 0);
}

/* Digest ids as ZooKeeper 3.8 computes them (`java -cp zookeeper.jar
 * org.apache.zookeeper.server.auth.DigestAuthenticationProvider
 * super:superpw chatd:pw`). */
static void test_digest_id(void **state) {
    char id[128];
    assert_int_equal(discovery_zookeeper_digest("super", "superpw", id, sizeof id), 0);
    assert_string_equal(id, "super:g9oN2HttPfn8MMWJZ2r45Np/LIA=");
    assert_int_equal(discovery_zookeeper_digest("chatd", "pw", id, sizeof id), 0);
    assert_string_equal(id, "chatd:Tq3NsOV+R3ef6NmTWFLY4pcvEZ0=");
    assert_int_equal(discovery_zookeeper_digest("chatd", "pw", id, 10), -1);
}

/* ---- ZooKeeper ---- */

static void test_node_ids_unique(void **state) {
    discovery *a = open_client(), *b = open_client();
    unsigned ids[8];
    for (int i = 0; i < 8; i++) {
        assert_int_equal(be->alloc_node_id(i % 2 ? b : a, "chat-service", &ids[i]), 0);
        assert_true(ids[i] < 1024);
        for (int j = 0; j < i; j++)
            if (ids[i] == ids[j]) fail_msg("id %u handed out twice", ids[i]);
    }
    be->close(a);
    be->close(b);
}

static void test_register_and_list(void **state) {
    discovery *a = open_client(), *b = open_client();
    unsigned id;
    assert_int_equal(be->alloc_node_id(a, "chat-service", &id), 0);
    discovery_instance me = make_instance(id, "chat1.example", 9001, 5);
    assert_int_equal(be->register_instance(a, "chat-service", &me), 0);
    assert_int_equal(be->register_instance(a, "chat-service", &me), CHATD_EEXIST);

    assert_true(wait_listed(b, "chat-service", id, 1, -1, 3000) >= 0);
    discovery_instance seen;
    assert_true(listed(b, "chat-service", id, &seen));
    assert_string_equal(seen.host, "chat1.example");
    assert_int_equal(seen.port, 9001);
    assert_int_equal(seen.connections, 5);
    assert_true(seen.timestamp_ms > clock_now_ms() - 60000);
    assert_false(listed(b, "presence-service", id, NULL)); /* services are separate */
    be->close(a);
    be->close(b);
}

static void test_least_loaded_and_update(void **state) {
    discovery *a = open_client(), *c = open_client(), *api = open_client();
    unsigned ida = register_new(a, "pick-service", 9101, 10);
    unsigned idc = register_new(c, "pick-service", 9102, 3);
    assert_true(wait_listed(api, "pick-service", ida, 1, 10, 3000) >= 0);
    assert_true(wait_listed(api, "pick-service", idc, 1, 3, 3000) >= 0);

    discovery_instance all[8];
    assert_int_equal(be->list(api, "pick-service", all, 8), 2);
    discovery_instance best = picked(api, "pick-service");
    assert_int_equal(best.id, idc);
    assert_int_equal(best.port, 9102);

    /* a sheds load: the other client sees the new count, the pick flips */
    assert_int_equal(be->update(a, "pick-service", 1), 0);
    assert_true(wait_listed(api, "pick-service", ida, 1, 1, 3000) >= 0);
    assert_int_equal(picked(api, "pick-service").id, ida);
    assert_int_equal(be->update(a, "not-registered", 1), CHATD_ENOTFOUND);
    be->close(a);
    be->close(c);
    be->close(api);
}

/* An instance that stops refreshing (a process stopped, or killed before
 * its session expires) goes silent for other clients, and /auth's pick
 * passes it over even though it is the least loaded. */
static void test_silent_passed_over(void **state) {
    discovery *quiet = open_client(), *busy = open_client(), *api = open_client();
    unsigned idq = register_new(quiet, "silent-service", 9201, 1);
    unsigned idb = register_new(busy, "silent-service", 9202, 50);
    assert_true(wait_listed(api, "silent-service", idq, 1, 1, 3000) >= 0);
    assert_true(wait_listed(api, "silent-service", idb, 1, 50, 3000) >= 0);
    discovery_instance in;
    assert_int_equal(picked(api, "silent-service").id, idq); /* both heard from: the idle one */

    /* busy refreshes every 500 ms, as a live server does every second */
    for (uint64_t start = clock_mono_ms(); clock_mono_ms() - start < DISCOVERY_STALE_MS + 800;) {
        assert_int_equal(be->update(busy, "silent-service", 50), 0);
        for (int i = 0; i < 25; i++) {
            uv_run(&loop, UV_RUN_NOWAIT);
            usleep(20 * 1000);
        }
    }
    assert_true(listed(api, "silent-service", idq, &in));
    assert_true(in.silent_ms > DISCOVERY_STALE_MS);
    assert_true(listed(api, "silent-service", idb, &in));
    assert_true(in.silent_ms < DISCOVERY_STALE_MS);
    assert_int_equal(picked(api, "silent-service").id, idb);

    /* it speaks again: picked again */
    assert_int_equal(be->update(quiet, "silent-service", 2), 0);
    assert_true(wait_listed(api, "silent-service", idq, 1, 2, 3000) >= 0);
    assert_int_equal(picked(api, "silent-service").id, idq);
    be->close(quiet);
    be->close(busy);
    be->close(api);
}

static void test_close_removes(void **state) {
    discovery *a = open_client(), *b = open_client();
    unsigned id = register_new(a, "close-service", 9201, 0);
    assert_true(wait_listed(b, "close-service", id, 1, -1, 3000) >= 0);
    be->close(a);
    long ms = wait_listed(b, "close-service", id, 0, -1, TIMEOUT_MS);
    if (ms < 0) fail_msg("closed instance still listed after %d ms", TIMEOUT_MS);
    be->close(b);
}

/* The child: registers, prints its id, waits to be killed. */
static int child_main(const char *connect, const char *service) {
    discovery *d;
    unsigned id;
    discovery_instance me;
    discovery_config cfg = {connect, TIMEOUT_MS, NULL};
    if (discovery_zookeeper_backend.open(&d, &cfg, NULL) != 0 ||
        discovery_zookeeper_backend.alloc_node_id(d, service, &id) != 0)
        return 1;
    me = make_instance(id, "127.0.0.1", 9301, 0);
    if (discovery_zookeeper_backend.register_instance(d, service, &me) != 0) return 1;
    printf("%u\n", id);
    fflush(stdout);
    for (;;)
        pause();
}

static void test_crash_removes(void **state) {
    discovery *b = open_client();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], 1);
        execl("/proc/self/exe", "test_discovery", "--child", zk.connect, "crash-service",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = {0};
    ssize_t got = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    assert_true(got > 0);
    unsigned id = (unsigned)strtoul(line, NULL, 10);
    assert_true(wait_listed(b, "crash-service", id, 1, -1, 3000) >= 0);

    kill(pid, SIGKILL); /* no goodbye: only the session timeout can remove it */
    waitpid(pid, NULL, 0);
    /* The server expires sessions on tick boundaries: allow one tick, plus
     * slack for a loaded machine. */
    long ms = wait_listed(b, "crash-service", id, 0, -1, TIMEOUT_MS + TICK_MS + 1500);
    if (ms < 0) fail_msg("killed instance %u still listed", id);
    print_message("killed instance dropped after %ld ms\n", ms);
    be->close(b);
}

static void noop_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {}

/* Ends a's session from outside, as an expiry would. */
static void kill_session(discovery *a) {
    clientid_t cid;
    char pw[16];
    assert_int_equal(discovery_zookeeper_session(a, &cid.client_id, pw), 0);
    memcpy(cid.passwd, pw, sizeof cid.passwd);
    zhandle_t *zh = zookeeper_init(zk.connect, noop_watcher, TIMEOUT_MS, &cid, NULL, 0);
    assert_non_null(zh);
    for (int i = 0; i < 150 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        usleep(20 * 1000);
    assert_int_equal(zoo_state(zh), ZOO_CONNECTED_STATE);
    zookeeper_close(zh);
}

/* With a password too: the new session logs in again before it puts the
 * registration back under the closed parent. */
static void test_expiry_reregisters(void **state) {
    discovery *a = open_client_pw(ZK_PW), *b = open_client();
    unsigned id = register_new(a, "expire-service", 9401, 4);
    assert_true(wait_listed(b, "expire-service", id, 1, -1, 3000) >= 0);

    kill_session(a);
    if (wait_listed(b, "expire-service", id, 0, -1, TIMEOUT_MS) < 0)
        fail_msg("instance of a killed session still listed");
    /* a notices the expiry, opens a new session and registers again */
    if (wait_listed(b, "expire-service", id, 1, 4, 3 * TIMEOUT_MS) < 0)
        fail_msg("instance not re-registered after its session expired");
    assert_int_equal(be->update(a, "expire-service", 6), 0);
    assert_true(wait_listed(b, "expire-service", id, 1, 6, 3000) >= 0);
    be->close(a);
    be->close(b);
}

/* A bare client of the test's own, with digest auth as user:password
 * when password is given (NULL: anonymous), connected. */
static zhandle_t *raw_client(const char *user, const char *password) {
    zhandle_t *zh = zookeeper_init(zk.connect, noop_watcher, TIMEOUT_MS, NULL, NULL, 0);
    assert_non_null(zh);
    if (password) {
        char cred[128];
        snprintf(cred, sizeof cred, "%s:%s", user, password);
        assert_int_equal(zoo_add_auth(zh, "digest", cred, (int)strlen(cred), NULL, NULL), ZOK);
    }
    for (int i = 0; i < 150 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        usleep(20 * 1000);
    assert_int_equal(zoo_state(zh), ZOO_CONNECTED_STATE);
    return zh;
}

/* With zookeeper_password.txt: whoever lacks it (anonymous, or guessing)
 * can read chatd's znodes but not register a fake instance, overwrite or
 * delete a real one, or take a node id; chatd itself still works. */
static void test_acl_keeps_others_out(void **state) {
    discovery *a = open_client_pw(ZK_PW), *api = open_client_pw(ZK_PW);
    unsigned id = register_new(a, "acl-service", 9501, 3);
    assert_true(wait_listed(api, "acl-service", id, 1, 3, 3000) >= 0);
    char path[64], fake[] = "{\"id\":666,\"host\":\"evil.example\",\"port\":6,"
                            "\"timestamp\":1,\"connections\":0}";
    snprintf(path, sizeof path, "/acl-service/%u", id);
    const char *strangers[][2] = {{NULL, NULL}, {"chatd", "a guess"}, {"mallory", ZK_PW}};
    for (int i = 0; i < 3; i++) {
        zhandle_t *zh = raw_client(strangers[i][0], strangers[i][1]);
        char buf[512];
        int len = sizeof buf;
        assert_int_equal(zoo_get(zh, path, 0, buf, &len, NULL), ZOK); /* readable by all */
        assert_int_equal(zoo_create(zh, "/acl-service/666", fake, (int)strlen(fake),
                                    &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0),
                         ZNOAUTH);
        assert_int_equal(zoo_set(zh, path, fake, (int)strlen(fake), -1), ZNOAUTH);
        assert_int_equal(zoo_delete(zh, path, -1), ZNOAUTH);
        assert_int_equal(zoo_create(zh, "/acl-service/server-ids/id-", NULL, -1,
                                    &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, NULL, 0),
                         ZNOAUTH);
        assert_int_equal(zoo_set_acl(zh, "/acl-service", -1, &ZOO_OPEN_ACL_UNSAFE), ZNOAUTH);
        zookeeper_close(zh);
    }
    /* chatd's own identity may (another chatd process) */
    zhandle_t *zh = raw_client("chatd", ZK_PW);
    assert_int_equal(zoo_set(zh, path, fake, (int)strlen(fake), -1), ZOK);
    zookeeper_close(zh);
    assert_int_equal(be->update(a, "acl-service", 4), 0); /* and chatd keeps working */
    assert_true(wait_listed(api, "acl-service", id, 1, 4, 3000) >= 0);
    be->close(a);
    be->close(api);
}

/* A parent znode made open (by an older chatd, or by someone else first)
 * is closed when chatd with a password meets it. */
static void test_acl_closes_open_parent(void **state) {
    zhandle_t *zh = raw_client(NULL, NULL);
    assert_int_equal(
        zoo_create(zh, "/open-service", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, NULL, 0),
        ZOK);
    discovery *a = open_client_pw(ZK_PW);
    register_new(a, "open-service", 9601, 0);
    assert_int_equal(
        zoo_create(zh, "/open-service/666", NULL, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0),
        ZNOAUTH);
    /* and one someone else has closed to chatd stops chatd, saying so */
    struct ACL mine[] = {{ZOO_PERM_ALL, ZOO_ANYONE_ID_UNSAFE}};
    char digest[128];
    assert_int_equal(discovery_zookeeper_digest("mallory", "m", digest, sizeof digest), 0);
    mine[0].id = (struct Id){"digest", digest};
    struct ACL_vector acl = {1, mine};
    zookeeper_close(zh);
    zh = raw_client("mallory", "m");
    assert_int_equal(zoo_create(zh, "/taken-service", NULL, -1, &acl, ZOO_PERSISTENT, NULL, 0),
                     ZOK);
    unsigned id;
    assert_int_equal(be->alloc_node_id(a, "taken-service", &id), CHATD_EIO);
    zookeeper_close(zh);

    /* mid-rotation, a parent that names both chatd passwords is left so */
    char ours[128], next[128];
    assert_int_equal(discovery_zookeeper_digest("chatd", ZK_PW, ours, sizeof ours), 0);
    assert_int_equal(discovery_zookeeper_digest("chatd", "next pw", next, sizeof next), 0);
    struct ACL both[] = {{ZOO_PERM_READ, ZOO_ANYONE_ID_UNSAFE},
                         {ZOO_PERM_ALL, {"digest", ours}},
                         {ZOO_PERM_ALL, {"digest", next}}};
    struct ACL_vector rot = {3, both};
    zh = raw_client("chatd", ZK_PW);
    assert_int_equal(zoo_create(zh, "/rotating-service", NULL, -1, &rot, ZOO_PERSISTENT, NULL, 0),
                     ZOK);
    register_new(a, "rotating-service", 9602, 0);
    struct ACL_vector now = {0};
    struct Stat st;
    assert_int_equal(zoo_get_acl(zh, "/rotating-service", &now, &st), ZOK);
    assert_int_equal(now.count, 3);
    deallocate_ACL_vector(&now);
    zookeeper_close(zh);
    be->close(a);
}

static int group_setup(void **state) {
    uv_loop_init(&loop);
    if (zkserver_start(&zk) != 0) {
        fprintf(stderr, "cannot start ZooKeeper (packages zookeeper, libzookeeper-mt-dev)\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state) {
    zkserver_stop(&zk);
    uv_run(&loop, UV_RUN_NOWAIT); /* let closed handles finish */
    uv_loop_close(&loop);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--child")) return child_main(argv[2], argv[3]);
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_pick), cmocka_unit_test(test_pick_spread),
        cmocka_unit_test(test_allowed_hosts), cmocka_unit_test(test_digest_id)};
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_ids_unique),         cmocka_unit_test(test_register_and_list),
        cmocka_unit_test(test_least_loaded_and_update), cmocka_unit_test(test_silent_passed_over),
        cmocka_unit_test(test_close_removes),           cmocka_unit_test(test_crash_removes),
        cmocka_unit_test(test_expiry_reregisters),      cmocka_unit_test(test_acl_keeps_others_out),
        cmocka_unit_test(test_acl_closes_open_parent),
    };
    int failed = cmocka_run_group_tests_name("discovery_pick", pure, NULL, NULL);
    return failed +
           cmocka_run_group_tests_name("discovery_zookeeper", tests, group_setup, group_teardown);
}
