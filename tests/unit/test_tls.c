/*
 * test_tls: net/tls.c between two tls_conns in memory (no sockets): the
 * handshake, ALPN, data both ways in records of every size, close_notify,
 * the caps, and every refusal — an unknown CA, a name the certificate does
 * not carry, a key that does not match, a reload from broken files.
 * Certificates come from scripts/mkcert.sh (the openssl tool).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/tls.h"
#include "svcutil.h"

static char dir[256], other[256];

static const char *path(const char *d, const char *name) {
    static char buf[4][400];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", d, name);
    return buf[i];
}

static int mkcert(const char *d, const char *names) {
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s/../../scripts/mkcert.sh '%s' %s", CHATD_FIXTURES, d, names);
    return system(cmd);
}

static int setup(void **state) {
    (void)state;
    if (!svc_mkdtemp(dir, sizeof dir, "tls-") || !svc_mkdtemp(other, sizeof other, "tls-other-"))
        return -1;
    return mkcert(dir, "127.0.0.1 chat.example") || mkcert(other, "127.0.0.1");
}

static int teardown(void **state) {
    (void)state;
    svc_rmrf(dir);
    svc_rmrf(other);
    return 0;
}

/* Moves what a has sealed to b. */
static void move(tls_conn *a, tls_conn *b) {
    rcbuf *out = tls_conn_take_out(a);
    if (!out) return;
    assert_int_equal(tls_conn_feed(b, out->data, out->len), 0);
    rcbuf_unref(out);
}

/* Runs both handshakes to the end: 0, or the first failure. */
static int shake(tls_conn *client, tls_conn *server) {
    for (int round = 0; round < 10; round++) {
        int c = tls_conn_handshake(client);
        move(client, server);
        int s = tls_conn_handshake(server);
        move(server, client);
        if (c != 0 && c != CHATD_EINCOMPLETE) return c;
        if (s != 0 && s != CHATD_EINCOMPLETE) return s;
        if (c == 0 && s == 0) return 0;
    }
    return CHATD_ETIMEDOUT;
}

static tls_ctx *server_ctx(void) {
    tls_ctx *t = NULL;
    char err[512];
    if (tls_ctx_server(&t, path(dir, "server.pem"), path(dir, "server.key"), err, sizeof err))
        fail_msg("%s", err);
    return t;
}

static tls_ctx *client_ctx(const char *ca) {
    tls_ctx *t = NULL;
    char err[512];
    if (tls_ctx_client(&t, ca, err, sizeof err)) fail_msg("%s", err);
    return t;
}

/* Reads everything b can decrypt now into out; the byte count. */
static size_t read_all(tls_conn *b, char *out, size_t cap) {
    size_t got = 0;
    for (;;) {
        ssize_t n = tls_conn_read(b, out + got, cap - got);
        if (n <= 0) {
            assert_int_equal(n, CHATD_EINCOMPLETE);
            return got;
        }
        got += (size_t)n;
    }
}

static void test_handshake_and_data(void **state) {
    (void)state;
    tls_ctx *sc = server_ctx(), *cc = client_ctx(path(dir, "ca.pem"));
    tls_conn *s = tls_conn_new(sc, NULL), *c = tls_conn_new(cc, "127.0.0.1");
    assert_int_equal(tls_conn_write(c, "early", 5), CHATD_EINCOMPLETE);
    assert_int_equal(shake(c, s), 0);
    assert_string_equal(tls_conn_version(s), "TLSv1.3");

    /* Every size from empty to beyond one record (16 KiB), both ways. */
    static char big[100000], got[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    size_t sizes[] = {1, 100, 16384, 16385, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        assert_int_equal(tls_conn_write(c, big, sizes[k]), 0);
        move(c, s);
        assert_true(tls_conn_buffered(s));
        assert_int_equal(read_all(s, got, sizeof got), sizes[k]);
        assert_memory_equal(got, big, sizes[k]);
        assert_false(tls_conn_buffered(s));
        assert_int_equal(tls_conn_write(s, big, sizes[k]), 0);
        move(s, c);
        assert_int_equal(read_all(c, got, sizeof got), sizes[k]);
        assert_memory_equal(got, big, sizes[k]);
    }
    /* close_notify: the peer reads "closed", once. */
    tls_conn_close_notify(c);
    move(c, s);
    char one[8];
    assert_int_equal(tls_conn_read(s, one, sizeof one), CHATD_ECLOSED);
    tls_conn_free(c);
    tls_conn_free(s);
    tls_ctx_free(cc);
    tls_ctx_free(sc);
}

static void test_feed_is_capped(void **state) {
    (void)state;
    tls_ctx *sc = server_ctx();
    tls_conn *s = tls_conn_new(sc, NULL);
    static char junk[512 * 1024];
    assert_int_equal(tls_conn_feed(s, junk, sizeof junk), 0);
    assert_int_equal(tls_conn_feed(s, junk, sizeof junk), 0);
    assert_int_equal(tls_conn_feed(s, junk, 1), CHATD_ETOOBIG);
    /* and what was fed is not TLS: the handshake fails, it does not hang */
    char buf[16];
    assert_int_equal(tls_conn_read(s, buf, sizeof buf), CHATD_EINVAL);
    tls_conn_free(s);
    tls_ctx_free(sc);
}

static void test_refusals(void **state) {
    (void)state;
    tls_ctx *sc = server_ctx();
    /* a CA that did not sign the server's certificate */
    tls_ctx *wrong = client_ctx(path(other, "ca.pem"));
    tls_conn *s = tls_conn_new(sc, NULL), *c = tls_conn_new(wrong, "127.0.0.1");
    assert_int_equal(shake(c, s), CHATD_EINVAL);
    assert_non_null(strstr(tls_conn_error(c), "certificate"));
    tls_conn_free(c);
    tls_conn_free(s);
    tls_ctx_free(wrong);

    /* a name the certificate does not carry; one it does */
    tls_ctx *cc = client_ctx(path(dir, "ca.pem"));
    s = tls_conn_new(sc, NULL);
    c = tls_conn_new(cc, "elsewhere.example");
    assert_int_equal(shake(c, s), CHATD_EINVAL);
    tls_conn_free(c);
    tls_conn_free(s);
    s = tls_conn_new(sc, NULL);
    c = tls_conn_new(cc, "chat.example");
    assert_int_equal(shake(c, s), 0);
    tls_conn_free(c);
    tls_conn_free(s);

    /* a key that is not the certificate's, a missing file: the error names it */
    tls_ctx *bad = NULL;
    char err[512];
    assert_int_equal(
        tls_ctx_server(&bad, path(dir, "server.pem"), path(other, "server.key"), err, sizeof err),
        CHATD_EINVAL);
    assert_null(bad);
    assert_non_null(strstr(err, "does not match"));
    assert_int_equal(
        tls_ctx_server(&bad, path(dir, "nope.pem"), path(dir, "server.key"), err, sizeof err),
        CHATD_EINVAL);
    assert_non_null(strstr(err, "nope.pem"));

    /* a reload from broken files changes nothing: handshakes still work */
    assert_int_equal(
        tls_ctx_reload(sc, path(dir, "nope.pem"), path(dir, "server.key"), err, sizeof err),
        CHATD_EINVAL);
    s = tls_conn_new(sc, NULL);
    c = tls_conn_new(cc, "127.0.0.1");
    assert_int_equal(shake(c, s), 0);
    tls_conn_free(c);
    tls_conn_free(s);
    tls_ctx_free(cc);
    tls_ctx_free(sc);
}

static void test_reload_keeps_open_connections(void **state) {
    (void)state;
    tls_ctx *sc = server_ctx(), *cc = client_ctx(path(dir, "ca.pem"));
    tls_conn *s = tls_conn_new(sc, NULL), *c = tls_conn_new(cc, "127.0.0.1");
    assert_int_equal(shake(c, s), 0);
    /* the other CA's certificate now: new clients trusting only dir's CA fail */
    char err[512];
    assert_int_equal(
        tls_ctx_reload(sc, path(other, "server.pem"), path(other, "server.key"), err, sizeof err),
        0);
    tls_conn *s2 = tls_conn_new(sc, NULL), *c2 = tls_conn_new(cc, "127.0.0.1");
    assert_int_equal(shake(c2, s2), CHATD_EINVAL);
    tls_conn_free(c2);
    tls_conn_free(s2);
    /* the open one still works both ways */
    char got[16];
    assert_int_equal(tls_conn_write(c, "ping", 4), 0);
    move(c, s);
    assert_int_equal(read_all(s, got, sizeof got), 4);
    assert_int_equal(tls_conn_write(s, "pong", 4), 0);
    move(s, c);
    assert_int_equal(read_all(c, got, sizeof got), 4);
    assert_memory_equal(got, "pong", 4);
    tls_conn_free(c);
    tls_conn_free(s);
    tls_ctx_free(cc);
    tls_ctx_free(sc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_feed_is_capped),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_reload_keeps_open_connections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
