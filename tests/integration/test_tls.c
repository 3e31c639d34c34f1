/*
 * test_tls: chatd's own TLS (--tls-cert/--tls-key; docs/OPERATIONS.md,
 * "TLS"). The server speaks https:// and wss:// on one port with TLS 1.2
 * or 1.3 only (1.1 is refused), ALPN http/1.1 (a client offering only h2
 * is refused), nothing in clear; /auth marks its servers "tls"; SIGHUP
 * re-reads the certificate (new handshakes see the new one, open sockets
 * stay open); the chat CLI speaks it with --ca-file and refuses a server
 * it cannot verify. (The whole protocol suite also runs over TLS:
 * scripts/run-tests.sh, CHATD_IT_TLS=1.)
 */
#include "integration/chatkit.h"
#include "integration/ptyx.h"
#include "integration/rawsock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A handshake made here with OpenSSL directly, to offer what chatd's own
 * client never would. Returns the SSL (connected) or NULL; *alert gets
 * OpenSSL's reason on failure. */
typedef struct probe {
    int max_version;           /* 0 = any */
    int min_version;           /* 0 = default */
    const unsigned char *alpn; /* wire format, or NULL */
    unsigned alpn_len;
} probe;

static SSL *handshake(int port, const probe *p, char *why, size_t whylen) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    /* OpenSSL 3 refuses TLS < 1.2 at its default security level even as
     * a client: lower it so that the refusal under test is the server's. */
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    if (p->min_version) SSL_CTX_set_min_proto_version(ctx, p->min_version);
    if (p->max_version) SSL_CTX_set_max_proto_version(ctx, p->max_version);
    if (p->alpn) SSL_CTX_set_alpn_protos(ctx, p->alpn, p->alpn_len);
    SSL_CTX_load_verify_locations(ctx, hfmt("%s/ca.pem", harness_tls_dir()), NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *s = SSL_new(ctx);
    SSL_CTX_free(ctx); /* s keeps its reference */
    SSL_set_fd(s, fd);
    if (SSL_connect(s) == 1) return s;
    unsigned long e = ERR_get_error();
    snprintf(why, whylen, "%s", e ? ERR_reason_error_string(e) : "handshake failed");
    ERR_clear_error();
    SSL_free(s);
    close(fd);
    return NULL;
}

static void probe_free(SSL *s) {
    if (!s) return;
    int fd = SSL_get_fd(s);
    SSL_free(s);
    close(fd);
}

/* The serial number of the certificate the server presents now. */
static long long served_serial(int port) {
    char why[200];
    SSL *s = handshake(port, &(probe){0}, why, sizeof why);
    if (!s) fail_msg("TLS handshake failed: %s", why);
    X509 *cert = SSL_get1_peer_certificate(s);
    assert_non_null(cert);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), NULL);
    char *hex = BN_bn2hex(bn);
    long long v = (long long)strtoull(hex + (strlen(hex) > 15 ? strlen(hex) - 15 : 0), NULL, 16);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    probe_free(s);
    return v;
}

static void test_versions_and_alpn(void **state) {
    chatd_srv *s = H_SRV;
    char why[200];
    SSL *ok12 = handshake(s->port, &(probe){.max_version = TLS1_2_VERSION}, why, sizeof why);
    if (!ok12) fail_msg("TLS 1.2 refused: %s", why);
    assert_string_equal(SSL_get_version(ok12), "TLSv1.2");
    probe_free(ok12);
    SSL *ok13 = handshake(s->port, &(probe){0}, why, sizeof why);
    if (!ok13) fail_msg("TLS 1.3 refused: %s", why);
    assert_string_equal(SSL_get_version(ok13), "TLSv1.3");
    probe_free(ok13);

    SSL *old = handshake(s->port, &(probe){.max_version = TLS1_1_VERSION}, why, sizeof why);
    if (old) fail_msg("a TLS 1.1 handshake succeeded (%s)", SSL_get_version(old));
    SSL *old10 = handshake(s->port, &(probe){.max_version = TLS1_VERSION}, why, sizeof why);
    if (old10) fail_msg("a TLS 1.0 handshake succeeded");

    static const unsigned char http11[] = "\x02h2\x08http/1.1";
    SSL *alpn = handshake(s->port, &(probe){.alpn = http11, .alpn_len = sizeof http11 - 1}, why,
                          sizeof why);
    if (!alpn) fail_msg("ALPN h2,http/1.1 refused: %s", why);
    const unsigned char *sel = NULL;
    unsigned sel_len = 0;
    SSL_get0_alpn_selected(alpn, &sel, &sel_len);
    assert_int_equal(sel_len, 8);
    assert_memory_equal(sel, "http/1.1", 8);
    probe_free(alpn);
    static const unsigned char h2[] = "\x02h2";
    SSL *only_h2 =
        handshake(s->port, &(probe){.alpn = h2, .alpn_len = sizeof h2 - 1}, why, sizeof why);
    if (only_h2) fail_msg("a client offering only h2 was served");

    /* Plain HTTP on the TLS port gets no HTTP answer. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    char buf[64] = "";
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    close(fd);
    if (n > 0 && !memcmp(buf, "HTTP/", 5)) fail_msg("plain HTTP answered on the TLS port");
    assert_true(metric_value(s, "chatd_connections_dropped_total{reason=\"tls\"}") >= 3);
    /* ...and the server is fine. */
    assert_int_equal(http_call(s, "GET", "/health", NULL, NULL, NULL), 200);
}

static void test_auth_names_tls_servers(void **state) {
    chatd_srv *s = H_SRV;
    const char *u = new_user(s, "tls");
    json_t *r = auth_response(s, u, H_PASSWORD);
    json_t *servers = jobj(r, "servers");
    assert_true(jbool(jobj(servers, "chat"), "tls"));
    assert_true(jbool(jobj(servers, "presence"), "tls"));
    /* and the sockets it names speak wss:// (the harness dials them so) */
    tconn *c = chat_login(s, u);
    recv_type(c, "channels_list", H_TIMEOUT);
    tconn_close(c);
}

static void test_sighup_rotates_certificate(void **state) {
    chatd_srv *s = H_SRV;
    const char *alice = new_user(s, "rot"), *bob = new_user(s, "rot");
    tconn *a = chat_login(s, alice), *b = chat_login(s, bob);
    recv_type(a, "channels_list", H_TIMEOUT);
    recv_type(b, "channels_list", H_TIMEOUT);
    const char *ch = create_group(a, uniq_name("tls"), (const char *[]){bob, NULL});
    recv_list_with(b, ch);

    long long before = served_serial(s->port);
    /* A new certificate from the same CA, in the same files. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s/../../scripts/mkcert.sh '%s'", CHATD_FIXTURES, harness_tls_dir());
    assert_int_equal(system(cmd), 0);
    chatd_reload(s);
    assert_int_equal(chatd_log_count(s, "TLS certificate and key read again"), 1);
    long long after = served_serial(s->port);
    if (after == before) fail_msg("the server still presents serial %llx after SIGHUP", before);

    /* The sockets opened before the reload still carry messages both ways. */
    send_msg(a, ch, "after the rotation");
    recv_msg(b, ch, "after the rotation");
    send_msg(b, ch, "still here");
    recv_msg(a, ch, "still here");
    tconn_close(a);
    tconn_close(b);

    /* A broken certificate file keeps the one in force. */
    FILE *f = fopen(hfmt("%s/server.pem", harness_tls_dir()), "w");
    assert_non_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
    chatd_reload(s);
    assert_true(chatd_log_count(s, "keeping the certificate in force") >= 1);
    assert_int_equal(served_serial(s->port), after);
    assert_int_equal(system(cmd), 0); /* leave a good one for the other tests */
    chatd_reload(s);
}

static void test_cli_speaks_tls(void **state) {
    chatd_srv *s = H_SRV;
    const char *u = new_user(s, "cli");
    const char *api = hfmt("https://127.0.0.1:%d", s->port);
    const char *ca = hfmt("%s/ca.pem", harness_tls_dir());
    const char *env[] = {hfmt("TEST_PASSWORD=%s", H_PASSWORD), NULL};
    const char *err = NULL, *out = NULL;
    int rc = ptyx_run((const char *[]){"--api", api, "--ca-file", ca, "-u", u, "send",
                                       hfmt("@%s", u), "hello", NULL},
                      env, NULL, 15000, &out, &err);
    /* No DM with oneself: the server's refusal proves the wss round trip. */
    if (rc != 4) fail_msg("chat send over TLS: exit %d, stderr %s", rc, err);
    const char *other = new_user(s, "cli");
    tconn *o = chat_login(s, other);
    recv_type(o, "channels_list", H_TIMEOUT);
    const char *ch = create_group(o, uniq_name("clitls"), (const char *[]){u, NULL});
    rc = ptyx_run(
        (const char *[]){"--api", api, "--ca-file", ca, "-u", u, "send", ch, "over wss", NULL}, env,
        NULL, 15000, &out, &err);
    if (rc != 0) fail_msg("chat send over TLS: exit %d, stderr %s", rc, err);
    recv_msg(o, ch, "over wss");
    tconn_close(o);

    /* Without the CA the certificate cannot be verified: no login. */
    rc = ptyx_run((const char *[]){"--api", api, "-u", u, "send", ch, "x", NULL}, env, NULL, 15000,
                  &out, &err);
    assert_int_equal(rc, 3);
}

int main(void) {
    setenv("CHATD_IT_TLS", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_and_alpn),
        cmocka_unit_test(test_auth_names_tls_servers),
        cmocka_unit_test(test_sighup_rotates_certificate),
        cmocka_unit_test(test_cli_speaks_tls),
    };
    return cmocka_run_group_tests(tests, harness_group_setup, harness_group_teardown);
}
