/* tls: OpenSSL behind memory BIOs (see tls.h). */
#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/err.h"

#define TLS_MAX_UNREAD (1u << 20) /* ciphertext fed but not yet read */

/* TLS 1.2 suites: forward secrecy and AEAD only (1.3's are all AEAD). */
static const char CIPHERS_12[] = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL";
static const unsigned char ALPN[] = "\x08http/1.1";

struct tls_ctx {
    SSL_CTX *ssl;
    int server;
};

struct tls_conn {
    SSL *ssl;
    BIO *in, *out; /* network -> SSL, SSL -> network (memory BIOs, owned by ssl) */
    int done;      /* handshake complete */
    int notified;  /* close_notify sent */
    char why[160]; /* the last failure, for logs */
};

static void set_err(char *err, size_t errlen, const char *what, const char *file) {
    if (!err || !errlen) return;
    unsigned long e = ERR_peek_last_error();
    char reason[120] = "";
    if (e) ERR_error_string_n(e, reason, sizeof(reason));
    snprintf(err, errlen, "%s%s%s%s%s", what, file ? " " : "", file ? file : "",
             *reason ? ": " : "", reason);
    ERR_clear_error();
}

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned inlen, void *arg) {
    (void)s;
    (void)arg;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, ALPN, sizeof(ALPN) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* offered ALPN, but not http/1.1 */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *base_ctx(int server) {
    SSL_CTX *s = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!s) return NULL;
    SSL_CTX_set_min_proto_version(s, TLS1_2_VERSION);
    SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_cipher_list(s, CIPHERS_12) != 1) {
        SSL_CTX_free(s);
        return NULL;
    }
    return s;
}

static SSL_CTX *load_server(const char *cert, const char *key, char *err, size_t errlen) {
    SSL_CTX *s = base_ctx(1);
    if (!s) {
        set_err(err, errlen, "TLS: cannot create a context", NULL);
        return NULL;
    }
    /* The key first: a certificate that does not match it then fails the
     * check below with a clear sentence. */
    if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
        set_err(err, errlen, "TLS: cannot read the private key", key);
    } else if (SSL_CTX_use_certificate_chain_file(s, cert) != 1) {
        set_err(err, errlen, "TLS: cannot read the certificate chain", cert);
    } else if (SSL_CTX_check_private_key(s) != 1) {
        set_err(err, errlen, "TLS: the private key does not match the certificate", key);
    } else {
        SSL_CTX_set_alpn_select_cb(s, alpn_select, NULL);
        SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_SERVER);
        return s;
    }
    SSL_CTX_free(s);
    return NULL;
}

int tls_ctx_server(tls_ctx **out, const char *cert_file, const char *key_file, char *err,
                   size_t errlen) {
    *out = NULL;
    SSL_CTX *s = load_server(cert_file, key_file, err, errlen);
    if (!s) return CHATD_EINVAL;
    tls_ctx *t = xcalloc(1, sizeof(*t));
    t->ssl = s;
    t->server = 1;
    *out = t;
    return 0;
}

int tls_ctx_client(tls_ctx **out, const char *ca_file, char *err, size_t errlen) {
    *out = NULL;
    SSL_CTX *s = base_ctx(0);
    if (!s) {
        set_err(err, errlen, "TLS: cannot create a context", NULL);
        return CHATD_EINVAL;
    }
    int ok = ca_file ? SSL_CTX_load_verify_locations(s, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(s);
    if (ok != 1) {
        set_err(err, errlen, "TLS: cannot read the CA file", ca_file ? ca_file : "(system)");
        SSL_CTX_free(s);
        return CHATD_EINVAL;
    }
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_alpn_protos(s, ALPN, sizeof(ALPN) - 1);
    tls_ctx *t = xcalloc(1, sizeof(*t));
    t->ssl = s;
    *out = t;
    return 0;
}

int tls_ctx_reload(tls_ctx *t, const char *cert_file, const char *key_file, char *err,
                   size_t errlen) {
    SSL_CTX *s = load_server(cert_file, key_file, err, errlen);
    if (!s) return CHATD_EINVAL;
    SSL_CTX_free(t->ssl); /* reference counted: open connections keep the old one */
    t->ssl = s;
    return 0;
}

void tls_ctx_free(tls_ctx *t) {
    if (!t) return;
    SSL_CTX_free(t->ssl);
    free(t);
}

tls_conn *tls_conn_new(tls_ctx *t, const char *host) {
    tls_conn *c = xcalloc(1, sizeof(*c));
    c->ssl = SSL_new(t->ssl);
    c->in = BIO_new(BIO_s_mem());
    c->out = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->in || !c->out) {
        if (c->ssl) SSL_free(c->ssl);
        BIO_free(c->in);
        BIO_free(c->out);
        free(c);
        return NULL;
    }
    BIO_set_mem_eof_return(c->in, -1); /* empty: "retry", not EOF */
    SSL_set_bio(c->ssl, c->in, c->out);
    if (t->server) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (host && *host) {
            unsigned char addr[16];
            int ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
            X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
            if (ip) {
                X509_VERIFY_PARAM_set1_ip_asc(vp, host);
            } else {
                SSL_set_tlsext_host_name(c->ssl, host);
                SSL_set1_host(c->ssl, host);
            }
        }
    }
    return c;
}

void tls_conn_free(tls_conn *c) {
    if (!c) return;
    SSL_free(c->ssl); /* frees both BIOs */
    free(c);
}

int tls_conn_feed(tls_conn *c, const void *data, size_t len) {
    if (BIO_ctrl_pending(c->in) + len > TLS_MAX_UNREAD) return CHATD_ETOOBIG;
    if (len && BIO_write(c->in, data, (int)len) != (int)len) return CHATD_ENOMEM;
    return 0;
}

/* Maps an SSL call's result: EINCOMPLETE (wants input), ECLOSED, EINVAL. */
static int failure(tls_conn *c, int rc) {
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return CHATD_EINCOMPLETE;
    if (e == SSL_ERROR_ZERO_RETURN) return CHATD_ECLOSED;
    unsigned long err = ERR_peek_last_error();
    if (err)
        ERR_error_string_n(err, c->why, sizeof(c->why));
    else if (!c->why[0])
        snprintf(c->why, sizeof(c->why), "TLS error %d", e);
    if (!c->done && SSL_get_verify_result(c->ssl) != X509_V_OK)
        snprintf(c->why, sizeof(c->why), "certificate: %s",
                 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
    ERR_clear_error();
    return CHATD_EINVAL;
}

int tls_conn_handshake(tls_conn *c) {
    if (c->done) return 0;
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
        c->done = 1;
        return 0;
    }
    return failure(c, rc);
}

ssize_t tls_conn_read(tls_conn *c, void *buf, size_t cap) {
    if (!c->done) {
        int h = tls_conn_handshake(c);
        if (h != 0) return h;
    }
    size_t n = 0;
    int rc = SSL_read_ex(c->ssl, buf, cap, &n);
    if (rc == 1) return (ssize_t)n;
    return failure(c, rc);
}

int tls_conn_write(tls_conn *c, const void *data, size_t len) {
    if (!c->done) return CHATD_EINCOMPLETE;
    const char *p = data;
    while (len) { /* memory BIO: a write never blocks, partial writes continue */
        size_t n = 0;
        int rc = SSL_write_ex(c->ssl, p, len, &n);
        if (rc != 1) {
            failure(c, rc); /* records why */
            return CHATD_EINVAL;
        }
        p += n;
        len -= n;
    }
    return 0;
}

void tls_conn_close_notify(tls_conn *c) {
    if (c->notified || !c->done) return;
    c->notified = 1;
    SSL_shutdown(c->ssl);
    ERR_clear_error();
}

size_t tls_conn_pending_out(const tls_conn *c) {
    return BIO_ctrl_pending(c->out);
}

rcbuf *tls_conn_take_out(tls_conn *c) {
    size_t n = BIO_ctrl_pending(c->out);
    if (n == 0) return NULL;
    rcbuf *b = rcbuf_new(n);
    int got = BIO_read(c->out, b->data, (int)n);
    b->len = got > 0 ? (size_t)got : 0;
    return b;
}

bool tls_conn_buffered(const tls_conn *c) {
    return SSL_pending(c->ssl) > 0 || BIO_ctrl_pending(c->in) > 0;
}

const char *tls_conn_version(const tls_conn *c) {
    return SSL_get_version(c->ssl);
}

const char *tls_conn_error(const tls_conn *c) {
    return c->why;
}
