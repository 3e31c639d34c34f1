/*
 * tls: TLS for chatd's connections, on OpenSSL with memory BIOs. No socket
 * I/O happens here: the caller moves bytes between the network and a
 * tls_conn (ciphertext in with tls_conn_feed, out with tls_conn_take_out)
 * and between the tls_conn and the protocol (plaintext out with
 * tls_conn_read, in with tls_conn_write). The same code serves the server
 * (src/net/conn.c), the blocking client (client.h) and chat-bench.
 *
 * Policy: TLS 1.2 and 1.3 only; for 1.2, ECDHE with AES-GCM or
 * ChaCha20-Poly1305 only; ALPN "http/1.1" (a client that offers ALPN
 * without it is refused, one that offers none is served). A client
 * verifies the server's certificate against the CA file it was given (or
 * the system's store) and checks the name or IP address it dialled.
 *
 * Errors: 0 or a negative CHATD_E* code (core/err.h); err/errlen, where
 * given, receive a sentence naming the file and OpenSSL's reason.
 * Threading: a tls_ctx and its tls_conns belong to one thread.
 */
#ifndef CHATD_TLS_H
#define CHATD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/rcbuf.h"

typedef struct tls_ctx tls_ctx;
typedef struct tls_conn tls_conn;

/* A server context from a PEM certificate chain and its private key. */
int tls_ctx_server(tls_ctx **out, const char *cert_file, const char *key_file, char *err,
                   size_t errlen);
/* A client context trusting ca_file (PEM), or the system's CAs when NULL. */
int tls_ctx_client(tls_ctx **out, const char *ca_file, char *err, size_t errlen);
/* Server: reads the certificate and key again. New handshakes use them;
 * connections already open keep theirs. On an error nothing changes. */
int tls_ctx_reload(tls_ctx *t, const char *cert_file, const char *key_file, char *err,
                   size_t errlen);
/* Frees the context; connections made from it stay valid until freed. */
void tls_ctx_free(tls_ctx *t);

/* A connection's TLS state: accepting (server ctx) or connecting to host
 * (client ctx; host is checked against the certificate). NULL on OOM. */
tls_conn *tls_conn_new(tls_ctx *t, const char *host);
void tls_conn_free(tls_conn *c);

/* Ciphertext from the network. 0, or CHATD_ETOOBIG when more than 1 MiB
 * waits unread (a peer that sends faster than it is read). */
int tls_conn_feed(tls_conn *c, const void *data, size_t len);
/* Advances the handshake: 0 once complete, CHATD_EINCOMPLETE while it
 * needs more input (send tls_conn_take_out first), CHATD_EINVAL when it
 * failed (a bad certificate, an old protocol version, no common cipher). */
int tls_conn_handshake(tls_conn *c);
/* Plaintext received: > 0 bytes, CHATD_EINCOMPLETE when more ciphertext is
 * needed, CHATD_ECLOSED after the peer's close_notify, CHATD_EINVAL on a
 * protocol error. Drives the handshake itself when it is not done. */
ssize_t tls_conn_read(tls_conn *c, void *buf, size_t cap);
/* Plaintext to send, sealed into records at once (copied). 0, or
 * CHATD_EINCOMPLETE before the handshake is complete, CHATD_EINVAL. */
int tls_conn_write(tls_conn *c, const void *data, size_t len);
/* Sends close_notify (once). */
void tls_conn_close_notify(tls_conn *c);
/* Bytes of ciphertext waiting to go out. */
size_t tls_conn_pending_out(const tls_conn *c);
/* All waiting ciphertext in one new rcbuf (the caller owns the
 * reference), or NULL when there is none. */
rcbuf *tls_conn_take_out(tls_conn *c);
/* Whether received bytes wait inside (decrypted, or records not yet
 * decrypted): a read may return data without new input, so a poll() on
 * the socket is not the whole story. */
bool tls_conn_buffered(const tls_conn *c);
/* The negotiated protocol ("TLSv1.3"), for logs and tests. */
const char *tls_conn_version(const tls_conn *c);
/* OpenSSL's reason for the last failure on this connection ("" if none). */
const char *tls_conn_error(const tls_conn *c);

#endif
