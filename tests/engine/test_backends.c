/*
 * Unit tests for engine/backends and engine/hostport: the engine flags and
 * secret files of every role, read in one place. HOST:PORT parsing (ports
 * 1..65535, IPv6 in brackets); every bad flag is refused with a message
 * that names it; secret files: the cluster secret (required, exact bytes,
 * plus the accepted one of a rotation), Redis and ZooKeeper passwords
 * (trimmed, optional; a wrong Redis password stops the load, against a real
 * Redis with requirepass), Kafka SASL credentials (both or neither), and
 * the PostgreSQL password quoted into the conninfo.
 *
 * Log lines go to stderr: a test reads them back by pointing stderr at a
 * file for the duration of one call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/backends.h"
#include "engine/hostport.h"
#include "redisserver.h"

static redisserver rs;
static char dir[128];
static char logged[4096];

static void put(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!text) {
        remove(path);
        return;
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static chatd_config base(void) {
    chatd_config c;
    memset(&c, 0, sizeof c);
    c.secrets_dir = dir;
    c.bus = "redis";
    c.kafka_fetch_wait_ms = 100;
    return c;
}

/* backends_load with stderr captured into `logged`. */
static int load(backends *b, const chatd_config *c, unsigned need) {
    char path[256];
    snprintf(path, sizeof path, "%s/stderr.log", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    int rc = backends_load(b, c, "dispatcher", need);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(logged, 1, sizeof logged - 1, f) : 0;
    logged[n] = '\0';
    if (f) fclose(f);
    return rc;
}

static void expect_refusal(const chatd_config *c, unsigned need, const char *said) {
    backends b = {0};
    assert_int_equal(load(&b, c, need), -1);
    if (!strstr(logged, said)) fail_msg("expected \"%s\" in: %s", said, logged);
    backends_free(&b);
}

static void test_hostport(void **state) {
    char host[64];
    int port = 7;
    assert_int_equal(hostport_parse("127.0.0.1:6379", host, sizeof host, &port, 0), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6379);
    assert_int_equal(hostport_parse("[::1]:65535", host, sizeof host, &port, 0), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    const char *bad[] = {"host",  "h:0",    "h:65536", "h:12a", "h:",   ":80",  "::1",
                         "[::1]", "[::1]x", "[::1]:",  "a b:1", "[]:1", "h:+1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hostport_parse(bad[i], host, sizeof host, &port, 0) == 0)
            fail_msg("'%s' was accepted", bad[i]);
    port = 7; /* the port is optional for --advertise */
    assert_int_equal(hostport_parse("chat1.example", host, sizeof host, &port, 1), 0);
    assert_int_equal(port, 7);
    assert_int_equal(hostport_parse("::1", host, sizeof host, &port, 1), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(hostport_parse("[fe80::1]", host, sizeof host, &port, 1), 0);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(hostport_parse("chat1.example:8443", host, sizeof host, &port, 1), 0);
    assert_int_equal(port, 8443);
    assert_int_equal(hostport_parse("averyveryverylonghostname:1", host, 8, &port, 0), -1);
}

/* One bad flag at a time (the rest of a refusal's row is valid or
 * absent): the load is refused and the message names the flag. */
static void test_flags_named_in_errors(void **state) {
    static const struct {
        const char *redis, *zookeeper, *allowed, *bus, *kafka, *mech;
        unsigned need;
        const char *said;
    } refusals[] = {
        {NULL, NULL, NULL, "redis", NULL, NULL, BACKENDS_REDIS,
         "the dispatcher role needs --redis HOST:PORT"},
        {"localhost", NULL, NULL, "redis", NULL, NULL, BACKENDS_REDIS,
         "--redis: 'localhost' is not HOST:PORT"},
        {"localhost:70000", NULL, NULL, "redis", NULL, NULL, BACKENDS_REDIS,
         "--redis: 'localhost:70000' is not"},
        {"localhost:70000", NULL, NULL, "redis", NULL, NULL, BACKENDS_BUS,
         "--redis: 'localhost:70000'"},
        {NULL, NULL, NULL, "redis", NULL, NULL, BACKENDS_ZOOKEEPER,
         "the dispatcher role needs --zookeeper"},
        {NULL, "z1:2181,z2", NULL, "redis", NULL, NULL, BACKENDS_ZOOKEEPER,
         "--zookeeper: 'z1:2181,z2' is not"},
        {NULL, "z1:2181,", NULL, "redis", NULL, NULL, BACKENDS_ZOOKEEPER,
         "--zookeeper: 'z1:2181,' is not"},
        {NULL, "z1:2181", "a,,b", "redis", NULL, NULL, BACKENDS_ZOOKEEPER,
         "--allowed-hosts: 'a,,b'"},
        {NULL, NULL, NULL, "kafka", NULL, NULL, BACKENDS_BUS, "--bus kafka needs --kafka BROKERS"},
        {NULL, NULL, NULL, "kafka", "k1:9092", "GSSAPI", BACKENDS_BUS,
         "--kafka-sasl-mechanism: 'GSSAPI' is not"},
        {NULL, NULL, NULL, "kafka", "k1:9092", "SCRAM-SHA-256", BACKENDS_BUS,
         "--kafka-sasl-mechanism needs"},
    };
    put("cluster_secret.txt", "s");
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        chatd_config c = base();
        c.redis = refusals[i].redis;
        c.zookeeper = refusals[i].zookeeper;
        c.allowed_hosts = refusals[i].allowed;
        c.bus = refusals[i].bus;
        c.kafka = refusals[i].kafka;
        c.kafka_sasl_mechanism = refusals[i].mech;
        expect_refusal(&c, refusals[i].need, refusals[i].said);
    }
    chatd_config c = base();
    c.zookeeper = "z1:2181,[::1]:2182/chroot";
    c.allowed_hosts = "a,b";
    backends b = {0};
    assert_int_equal(load(&b, &c, BACKENDS_ZOOKEEPER), 0);
    assert_string_equal(b.zk.connect, "z1:2181,[::1]:2182/chroot");
    assert_null(b.zk.password);
    assert_non_null(strstr(logged, "no zookeeper_password.txt")); /* said, not fatal */
    backends_free(&b);
}

static void test_secret_files(void **state) {
    chatd_config c = base();
    c.bus = "kafka";
    c.kafka = "k1:9092";
    put("cluster_secret.txt", NULL);
    expect_refusal(&c, BACKENDS_BUS, "no cluster secret: ");
    put("cluster_secret.txt", "");
    expect_refusal(&c, BACKENDS_BUS, "is empty");
    put("cluster_secret.txt", "exact bytes\n");
    put("kafka_username.txt", "chatd\n");
    expect_refusal(&c, BACKENDS_BUS, "needs both kafka_username.txt and kafka_password.txt");
    put("kafka_password.txt", "kafka pw\r\n");
    put("cluster_secret_accept.txt", "the next one");
    backends b = {0};
    assert_int_equal(load(&b, &c, BACKENDS_BUS), 0);
    assert_int_equal(b.bus_redis, 0);
    assert_string_equal(b.kafka.sasl_mechanism, "PLAIN");
    assert_string_equal(b.kafka.sasl_username, "chatd");
    assert_string_equal(b.kafka.sasl_password, "kafka pw"); /* trimmed */
    assert_null(strstr(logged, "kafka pw"));                /* never logged */
    /* the key is the exact bytes, newline included; the accepted one works too */
    record_key *k;
    record_buf buf = {0};
    bus_event e, hello = {.kind = BUS_EV_PRESENCE_HELLO, .server_id = 1};
    assert_int_equal(record_key_new(&k, "exact bytes\n", 12), 0);
    assert_int_equal(record_event_encode(&buf, k, &hello), 0);
    assert_int_equal(record_event_decode(buf.data, buf.len, b.key, &e), 0);
    record_key_free(k);
    assert_int_equal(record_key_new(&k, "the next one", 12), 0);
    assert_int_equal(record_event_encode(&buf, k, &hello), 0);
    assert_int_equal(record_event_decode(buf.data, buf.len, b.key, &e), 0);
    record_key_free(k);
    record_buf_free(&buf);
    assert_int_equal(load(&b, &c, BACKENDS_BUS), 0); /* loaded once: nothing read again */
    backends_free(&b);
    put("kafka_username.txt", NULL);
    put("kafka_password.txt", NULL);
    put("cluster_secret_accept.txt", NULL);

    put("zookeeper_password.txt", "\n");
    c.zookeeper = "z:1";
    expect_refusal(&c, BACKENDS_ZOOKEEPER, "holds no usable password");
    put("zookeeper_password.txt", "zk pw\n");
    assert_int_equal(load(&b, &c, BACKENDS_ZOOKEEPER), 0);
    assert_string_equal(b.zk.password, "zk pw");
    backends_free(&b);
    put("zookeeper_password.txt", NULL);
}

/* Against a Redis that requires a password. */
static void test_redis_password(void **state) {
    chatd_config c = base();
    char redis[32];
    snprintf(redis, sizeof redis, "127.0.0.1:%d", rs.port);
    c.redis = redis;
    expect_refusal(&c, BACKENDS_REDIS, "requires a password: put it in redis_password.txt");
    put("redis_password.txt", "wrong\n");
    expect_refusal(&c, BACKENDS_REDIS, "refused our password (redis_password.txt)");
    assert_null(strstr(logged, "wrong"));
    put("redis_password.txt", "redis pw\n");
    backends b = {0};
    assert_int_equal(load(&b, &c, BACKENDS_REDIS), 0);
    assert_string_equal(b.redis.host, "127.0.0.1");
    assert_int_equal(b.redis.port, rs.port);
    assert_string_equal(b.redis.password, "redis pw");
    backends_free(&b);
    /* unreachable at start-up: a warning, the links will retry */
    snprintf(redis, sizeof redis, "127.0.0.1:%d", svc_free_port());
    assert_int_equal(load(&b, &c, BACKENDS_REDIS), 0);
    assert_non_null(strstr(logged, "connecting in the background"));
    backends_free(&b);
    put("redis_password.txt", NULL);
}

static void test_pg_conninfo(void **state) {
    chatd_config c = base();
    c.pg = "host=db user=chatd";
    char *ci = backends_pg_conninfo(&c);
    assert_string_equal(ci, "host=db user=chatd");
    free(ci);
    put("db_password.txt", "it's a \\ pw\n");
    ci = backends_pg_conninfo(&c);
    assert_string_equal(ci, "host=db user=chatd password='it\\'s a \\\\ pw'");
    free(ci);
    put("db_password.txt", NULL);
}

static int group_setup(void **state) {
    if (!svc_mkdtemp(dir, sizeof dir, "chatd-backends-")) return -1;
    return redisserver_start_auth(&rs, "redis pw");
}

static int group_teardown(void **state) {
    redisserver_stop(&rs);
    svc_rmrf(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostport),     cmocka_unit_test(test_flags_named_in_errors),
        cmocka_unit_test(test_secret_files), cmocka_unit_test(test_redis_password),
        cmocka_unit_test(test_pg_conninfo),
    };
    return cmocka_run_group_tests_name("backends", tests, group_setup, group_teardown);
}
