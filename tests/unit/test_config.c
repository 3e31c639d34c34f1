/*
 * Unit tests for core/config's C API: defaults, flags, CHATD_* variables
 * and the file, in that precedence; bad values refused with the flag,
 * variable or file line named; --no-web; config_reload + config_update
 * (reloadable options applied, restart-only ones reported and kept); and
 * config_print (sources, masked passwords, output that reads back).
 * tests/scripts/test_config.sh checks the same through the chatd binary.
 * Each test starts with no CHATD_* variable set and writes its files into
 * a temporary directory of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "svcutil.h"

extern char **environ;

static char dir[128], conf[256];

/* Unsets every CHATD_* variable; CHATD_CONFIG='' (no /etc file). */
static void clean_env(void) {
    for (;;) {
        char name[128] = "";
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "CHATD_", 6)) continue;
            snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
            break;
        }
        if (!name[0]) break;
        unsetenv(name);
    }
    setenv("CHATD_CONFIG", "", 1);
}

static int setup(void **state) {
    clean_env();
    assert_non_null(svc_mkdtemp(dir, sizeof(dir), "chatd-config-"));
    snprintf(conf, sizeof(conf), "%s/chatd.conf", dir);
    return 0;
}

static int teardown(void **state) {
    clean_env();
    svc_rmrf(dir);
    return 0;
}

static void write_file(const char *path, const char *text) {
    assert_int_equal(svc_write_file(path, text), 0);
}

/* ---- parsing with what it prints captured ---- */

/* argv for config_parse: argv[0] "chatd", then the arguments (at most 30),
 * in static storage (the configuration keeps pointing into it). */
typedef struct args {
    char *v[32];
    int n;
} args;

static args A;

static char **argv_of(const char *const *list) {
    A.n = 0;
    A.v[A.n++] = "chatd";
    for (; *list; list++) {
        assert_true(A.n < 31);
        A.v[A.n++] = (char *)*list;
    }
    A.v[A.n] = NULL;
    return A.v;
}

/* config_parse with stdout and stderr caught into out (what it printed). */
static int parse(chatd_config *c, const char *const *list, char *out, size_t cap) {
    char **argv = argv_of(list); /* no cmocka assertion while the output is caught */
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(p[1], 1);
    dup2(p[1], 2);
    int rc = config_parse(c, A.n, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    char sink[4096];
    while ((n = read(p[0], len + 1 < cap ? out + len : sink,
                     len + 1 < cap ? cap - 1 - len : sizeof(sink))) > 0)
        if (len + 1 < cap) len += (size_t)n;
    out[len] = '\0';
    close(p[0]);
    return rc;
}

/* Parses list, which must succeed silently. */
static void parse_ok(chatd_config *c, const char *const *list) {
    char out[8192];
    int rc = parse(c, list, out, sizeof(out));
    if (rc != 0) fail_msg("config_parse: %d: %s", rc, out);
    assert_string_equal(out, "");
}

/* Parses list, which must fail (-1) with a message containing msg. */
static void parse_fails(const char *const *list, const char *msg) {
    chatd_config c;
    char out[8192];
    int rc = parse(&c, list, out, sizeof(out));
    config_free(&c);
    if (rc != -1) fail_msg("config_parse: %d, expected -1 (%s)", rc, msg);
    if (!strstr(out, msg)) fail_msg("expected '%s' in: %s", msg, out);
}

/* Asserts that config_print shows option name as "name = value", padded,
 * then "; source". */
static void expect_printed(const chatd_config *c, const char *name, const char *value,
                           const char *source) {
    char buf[16384], key[64];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    assert_non_null(f);
    config_print(c, f);
    fclose(f);
    snprintf(key, sizeof(key), "\n%s = ", name);
    const char *at = strstr(buf, key);
    if (!at) fail_msg("no line for %s in:\n%s", name, buf);
    at += strlen(key);
    size_t len = strcspn(at, "\n");
    const char *semi = memchr(at, ';', len);
    assert_non_null(semi);
    size_t vlen = (size_t)(semi - at);
    while (vlen && at[vlen - 1] == ' ')
        vlen--;
    if (vlen != strlen(value) || memcmp(at, value, vlen) ||
        strncmp(semi + 2, source, len - (size_t)(semi + 2 - at)) ||
        strlen(source) != len - (size_t)(semi + 2 - at))
        fail_msg("%s: printed '%.*s', expected '%s' from '%s'", name, (int)len, at, value, source);
}

/* ---- the tests ---- */

static void test_defaults(void **state) {
    chatd_config c;
    parse_ok(&c, (const char *[]){NULL});
    assert_string_equal(c.role, "all");
    assert_string_equal(c.host, "127.0.0.1");
    assert_string_equal(c.advertise, "127.0.0.1"); /* the listen host */
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.data_dir, "./data");
    assert_string_equal(c.secrets_dir, "./secrets");
    assert_int_equal(c.fsync, 1);
    assert_int_equal(c.argon2_min, 0);
    assert_int_equal(c.token_ttl_s, 86400);
    assert_int_equal(c.max_frame, 65536);
    assert_int_equal(c.max_content, 4000);
    assert_int_equal(c.node_id, 1);
    assert_int_equal(c.max_connections, 0);
    assert_int_equal(c.max_pending_per_addr, 256);
    assert_int_equal(c.max_conns_per_user, 20);
    assert_int_equal(c.handshake_timeout_ms, 10000);
    assert_int_equal(c.ping_interval_ms, 30000);
    assert_int_equal(c.max_queued_bytes, 16u << 20);
    assert_int_equal(c.max_hash_queue, 64);
    assert_true(c.rate_per_sec == 50 && c.rate_burst == 100 && c.register_per_sec == 10);
    assert_int_equal(c.auth_fail_per_addr, 30);
    assert_int_equal(c.trust_proxy, 0);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_int_equal(c.log_format, LOG_FORMAT_TEXT);
    assert_string_equal(c.bus, "kafka");
    assert_int_equal(c.no_web, 0);
    assert_null(c.web_root);
    assert_null(c.config_file);
    assert_null(c.pg);
    assert_int_equal(c.admin_port, 0);
    expect_printed(&c, "port", "8080", "default");
    config_free(&c);
}

static void test_flags(void **state) {
    chatd_config c;
    parse_ok(&c, (const char *[]){"--port", "9000", "--host", "0.0.0.0", "--fsync", "off",
                                  "--argon2", "min", "--rate-per-sec", "2.5", "--log-level",
                                  "debug", "--log-format", "json", "--no-web", "chat", NULL});
    assert_string_equal(c.role, "chat");
    assert_int_equal(c.port, 9000);
    assert_string_equal(c.host, "0.0.0.0");
    assert_string_equal(c.advertise, "0.0.0.0");
    assert_int_equal(c.fsync, 0);
    assert_int_equal(c.argon2_min, 1);
    assert_true(c.rate_per_sec == 2.5);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.log_format, LOG_FORMAT_JSON);
    assert_int_equal(c.no_web, 1);
    expect_printed(&c, "port", "9000", "flag --port");
    expect_printed(&c, "no-web", "1", "flag --no-web");
    config_free(&c);
}

static void test_environment_and_flags_over_it(void **state) {
    setenv("CHATD_PORT", "9100", 1);
    setenv("CHATD_MAX_CONNS_PER_USER", "3", 1);
    setenv("CHATD_TRUST_PROXY", "on", 1);
    setenv("CHATD_ALLOWED_ORIGINS", "https://a.example", 1);
    chatd_config c;
    parse_ok(&c, (const char *[]){"--port", "9200", NULL});
    assert_int_equal(c.port, 9200);
    assert_int_equal(c.max_conns_per_user, 3);
    assert_int_equal(c.trust_proxy, 1);
    assert_string_equal(c.allowed_origins, "https://a.example");
    expect_printed(&c, "max-conns-per-user", "3", "environment CHATD_MAX_CONNS_PER_USER");
    config_free(&c);
}

/* flag > environment > file > default, each value's source printed. */
static void test_file_precedence(void **state) {
    write_file(conf, "# a comment\n"
                     "[chatd]\n"
                     "port = 9001\n"
                     "rate-per-sec = 11\n"
                     "max-conns-per-user = 7   ; inline comment\n"
                     "allowed-origins = \"https://chat.example.com\"\n"
                     "no-web = 1\n");
    setenv("CHATD_RATE_PER_SEC", "12", 1);
    chatd_config c;
    parse_ok(&c, (const char *[]){"--config", conf, "--port", "9003", NULL});
    assert_int_equal(c.port, 9003);
    assert_true(c.rate_per_sec == 12);
    assert_int_equal(c.max_conns_per_user, 7);
    assert_string_equal(c.allowed_origins, "https://chat.example.com");
    assert_int_equal(c.no_web, 1);
    assert_int_equal(c.max_channels_per_user, 10000);
    assert_string_equal(c.config_file, conf);
    char want[512];
    snprintf(want, sizeof(want), "%s:5", conf);
    expect_printed(&c, "max-conns-per-user", "7", want);
    expect_printed(&c, "rate-per-sec", "12", "environment CHATD_RATE_PER_SEC");
    expect_printed(&c, "port", "9003", "flag --port");
    expect_printed(&c, "max-channels-per-user", "10000", "default");
    config_free(&c);
    /* CHATD_CONFIG names the file as well */
    setenv("CHATD_CONFIG", conf, 1);
    parse_ok(&c, (const char *[]){NULL});
    assert_int_equal(c.port, 9001);
    assert_true(c.rate_per_sec == 12);
    config_free(&c);
}

static void test_no_web(void **state) {
    chatd_config c;
    parse_ok(&c, (const char *[]){"--no-web", NULL});
    assert_int_equal(c.no_web, 1);
    config_free(&c);
    setenv("CHATD_NO_WEB", "1", 1);
    parse_ok(&c, (const char *[]){NULL});
    assert_int_equal(c.no_web, 1);
    config_free(&c);
    setenv("CHATD_NO_WEB", "0", 1);
    parse_ok(&c, (const char *[]){NULL});
    assert_int_equal(c.no_web, 0);
    expect_printed(&c, "no-web", "0", "environment CHATD_NO_WEB");
    config_free(&c);
    parse_ok(&c, (const char *[]){"--no-web", NULL}); /* the flag wins */
    assert_int_equal(c.no_web, 1);
    config_free(&c);
    setenv("CHATD_NO_WEB", "yes", 1);
    parse_fails((const char *[]){NULL}, "CHATD_NO_WEB: invalid value for no-web: 'yes'");
    unsetenv("CHATD_NO_WEB");
    parse_fails((const char *[]){"--no-web=1", NULL}, "unknown flag");
}

static void test_bad_values(void **state) {
    parse_fails((const char *[]){"--port", "x", NULL}, "invalid value for --port: 'x'");
    parse_fails((const char *[]){"--port", "-1", NULL}, "invalid value for --port: '-1'");
    parse_fails((const char *[]){"--port", "", NULL}, "invalid value for --port: ''");
    parse_fails((const char *[]){"--port", "70000", NULL}, "--port must be 0..65535");
    parse_fails((const char *[]){"--admin-port", "65536", NULL}, "--admin-port must be 0..65535");
    parse_fails((const char *[]){"--node-id", "1024", NULL}, "--node-id must be 0..1023");
    parse_fails((const char *[]){"--fsync", "yes", NULL}, "invalid value for --fsync: 'yes'");
    parse_fails((const char *[]){"--argon2", "max", NULL}, "invalid value for --argon2: 'max'");
    parse_fails((const char *[]){"--rate-per-sec", "0", NULL}, "--rate-per-sec: '0'");
    parse_fails((const char *[]){"--rate-burst", "-3", NULL}, "--rate-burst: '-3'");
    parse_fails((const char *[]){"--log-level", "loud", NULL}, "--log-level: 'loud'");
    parse_fails((const char *[]){"--bus", "zmq", NULL}, "--bus must be kafka or redis");
    parse_fails((const char *[]){"--web-root", "/nonexistent/chatd-web", NULL},
                "--web-root /nonexistent/chatd-web is not a directory");
    parse_fails((const char *[]){"--no-such-flag", NULL}, "unknown flag");
    parse_fails((const char *[]){"all", "extra", NULL}, "unexpected argument 'extra'");
    setenv("CHATD_PORT", "y", 1);
    parse_fails((const char *[]){NULL}, "CHATD_PORT: invalid value for port: 'y'");
    unsetenv("CHATD_PORT");
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/nope.conf", dir);
    parse_fails((const char *[]){"--config", missing, NULL}, missing);
}

/* A number too large for its option is refused, not cut down to one
 * that passes the range checks. */
static void test_out_of_range_numbers(void **state) {
    parse_fails((const char *[]){"--port", "4294968376", NULL}, "--port: '4294968376'");
    parse_fails((const char *[]){"--node-id", "4294967297", NULL}, "--node-id: '4294967297'");
    parse_fails((const char *[]){"--token-ttl", "99999999999999999999", NULL},
                "--token-ttl: '99999999999999999999'");
    parse_fails((const char *[]){"--rate-per-sec", "nan", NULL}, "--rate-per-sec: 'nan'");
}

/* File errors name the file and the line. */
static void test_bad_files(void **state) {
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"port = 1\n\nport = x\n", ":3: invalid value for port: 'x'"},
        {"[chatd]\nno-such-option = 1\n", ":2: unknown option 'no-such-option'"},
        {"port 8080\n", ":1: syntax error"},
        {"[other]\nport = 1\n", ":2: unknown section [other]"},
        {"config = /etc/x\n", ":1: 'config' cannot be set"},
        {"log-format = xml\n", ":1: invalid value for log-format: 'xml'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(conf, bad[i].text);
        char want[512];
        snprintf(want, sizeof(want), "%s%s", conf, bad[i].msg);
        parse_fails((const char *[]){"--config", conf, NULL}, want);
    }
}

/* ---- reloads ---- */

typedef struct change {
    char name[64], was[256], now[256];
    int applied;
} change;

typedef struct changes {
    change c[16];
    int n;
} changes;

static void on_change(void *data, const char *name, const char *was, const char *now, int applied) {
    changes *ch = data;
    assert_true(ch->n < 16);
    change *c = &ch->c[ch->n++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->was, sizeof(c->was), "%s", was);
    snprintf(c->now, sizeof(c->now), "%s", now);
    c->applied = applied;
}

static const change *changed(const changes *ch, const char *name) {
    for (int i = 0; i < ch->n; i++)
        if (!strcmp(ch->c[i].name, name)) return &ch->c[i];
    fail_msg("%s not reported as changed", name);
    return NULL;
}

/* Reloadable options take their new value (from the file and the
 * environment); restart-only ones are reported and keep theirs. */
static void test_reload_applies_reloadable_only(void **state) {
    write_file(conf, "port = 9001\nrate-per-sec = 11\nallowed-origins = https://a.example\n"
                     "node-id = 5\n");
    chatd_config live;
    parse_ok(&live, (const char *[]){"--config", conf, NULL});
    write_file(conf, "port = 9002\nrate-per-sec = 22\nallowed-origins = https://b.example\n"
                     "node-id = 6\nlog-level = debug\n");
    setenv("CHATD_MAX_CONNS_PER_USER", "4", 1);
    chatd_config next;
    char err[512] = "";
    assert_int_equal(config_reload(&live, &next, err, sizeof(err)), 0);
    changes ch = {0};
    assert_int_equal(config_update(&live, &next, on_change, &ch), 2); /* port, node-id */
    config_free(&next);
    assert_int_equal(ch.n, 6);
    const change *c = changed(&ch, "rate-per-sec");
    assert_string_equal(c->was, "11");
    assert_string_equal(c->now, "22");
    assert_int_equal(c->applied, 1);
    assert_int_equal(changed(&ch, "allowed-origins")->applied, 1);
    assert_int_equal(changed(&ch, "log-level")->applied, 1);
    assert_int_equal(changed(&ch, "max-conns-per-user")->applied, 1);
    c = changed(&ch, "port");
    assert_string_equal(c->was, "9001");
    assert_string_equal(c->now, "9002");
    assert_int_equal(c->applied, 0);
    assert_int_equal(changed(&ch, "node-id")->applied, 0);
    assert_true(live.rate_per_sec == 22);
    assert_string_equal(live.allowed_origins, "https://b.example"); /* outlives next */
    assert_int_equal(live.log_level, LOG_DEBUG);
    assert_int_equal(live.max_conns_per_user, 4);
    assert_int_equal(live.port, 9001);
    assert_int_equal(live.node_id, 5);
    char want[512];
    snprintf(want, sizeof(want), "%s:2", conf);
    expect_printed(&live, "rate-per-sec", "22", want);
    expect_printed(&live, "max-conns-per-user", "4", "environment CHATD_MAX_CONNS_PER_USER");
    snprintf(want, sizeof(want), "%s:1", conf);
    expect_printed(&live, "port", "9001", want); /* the running value and its source */
    /* nothing changed: nothing reported */
    assert_int_equal(config_reload(&live, &next, err, sizeof(err)), 0);
    ch.n = 0;
    config_update(&live, &next, on_change, &ch);
    config_free(&next);
    assert_int_equal(ch.n, 2); /* port and node-id still differ */
    config_free(&live);
}

/* A bad file at reload is an error naming it; the running configuration
 * is kept. */
static void test_reload_bad_file(void **state) {
    write_file(conf, "rate-per-sec = 11\n");
    chatd_config live;
    parse_ok(&live, (const char *[]){"--config", conf, NULL});
    write_file(conf, "rate-per-sec = 12\nrate-burst = lots\n");
    chatd_config next;
    char err[512] = "", want[512];
    assert_int_equal(config_reload(&live, &next, err, sizeof(err)), -1);
    config_free(&next);
    snprintf(want, sizeof(want), "%s:2: invalid value for rate-burst: 'lots'", conf);
    assert_string_equal(err, want);
    assert_true(live.rate_per_sec == 11);
    config_free(&live);
}

/* ---- config_print ---- */

static void test_print_masks_passwords(void **state) {
    write_file(conf, "pg = host=db port=5432 password=hunter2 dbname=chatd\n");
    chatd_config c;
    parse_ok(&c, (const char *[]){"--config", conf, NULL});
    char want[300];
    snprintf(want, sizeof(want), "%s:1", conf);
    expect_printed(&c, "pg", "host=db port=5432 password=******** dbname=chatd", want);
    assert_string_equal(c.pg, "host=db port=5432 password=hunter2 dbname=chatd"); /* as is */
    config_free(&c);
    parse_ok(&c, (const char *[]){"--pg", "password = 'a b\\'c' user=chatd", NULL});
    expect_printed(&c, "pg", "password = ******** user=chatd", "flag --pg");
    config_free(&c);
}

/* What config_print writes is a file config_parse reads back. */
static void test_print_reads_back(void **state) {
    setenv("CHATD_RATE_PER_SEC", "12", 1);
    chatd_config c;
    parse_ok(&c, (const char *[]){"--max-conns-per-user", "7", "--no-web", "--log-format", "json",
                                  NULL});
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    config_print(&c, f);
    assert_int_equal(fclose(f), 0);
    config_free(&c);
    clean_env();
    parse_ok(&c, (const char *[]){"--config", conf, NULL});
    assert_true(c.rate_per_sec == 12);
    assert_int_equal(c.max_conns_per_user, 7);
    assert_int_equal(c.no_web, 1);
    assert_int_equal(c.log_format, LOG_FORMAT_JSON);
    assert_int_equal(c.port, 8080);
    config_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_and_flags_over_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_web, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_applies_reloadable_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_masks_passwords, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_reads_back, setup, teardown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
