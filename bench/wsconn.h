/*
 * wsconn: one non-blocking WebSocket client connection on libuv, built for
 * load generation: tens of thousands per process, one thread.
 *
 * Why not src/net/client.h: that client is blocking (one thread per
 * socket), fine for setup steps but not for 100,000 sockets. This one
 * keeps per-connection state small (the struct below plus a read buffer
 * that exists only while a frame is incomplete) and parses frames in place
 * from one shared read buffer with the project's codec (net/ws.h).
 *
 * Lifecycle: the caller owns the wsconn memory (typically one array for
 * all connections) and must keep it alive until on_close has run.
 * wsconn_open() -> on_open (101 verified) -> on_text for each text message
 * -> on_close exactly once (after a failure, a server close, or
 * wsconn_close()). After on_close the struct may be reused or freed.
 * Frames the server sends: text (delivered), ping (answered with pong),
 * close (answered, then on_close). Fragmented or binary messages end the
 * connection with an error (neither chatd nor the baseline sends them).
 *
 * TLS: with wsconn_tls set (a client context, net/tls.h) every connection
 * opened afterwards speaks wss://: the TLS handshake, then the upgrade
 * inside it; reads are decrypted into a second shared buffer and parsed
 * there the same way.
 */
#ifndef BENCH_WSCONN_H
#define BENCH_WSCONN_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/tls.h"

typedef struct wsconn wsconn;

typedef struct wsconn_cbs {
    void (*on_open)(wsconn *c);
    /* A whole text message. p[0..n) lives until the callback returns and
     * may be modified in place (it is NUL-terminated at p[n]). */
    void (*on_text)(wsconn *c, char *p, size_t n);
    /* err: 0 after a clean close, otherwise a negative libuv/-1 code;
     * http_status: the handshake's status when it failed before 101. */
    void (*on_close)(wsconn *c, int err, int http_status);
} wsconn_cbs;

enum { WSCONN_IDLE = 0, WSCONN_CONNECTING, WSCONN_HANDSHAKE, WSCONN_OPEN, WSCONN_CLOSING };

struct wsconn {
    uv_tcp_t tcp;
    const wsconn_cbs *cbs;
    void *user;    /* caller's pointer */
    uint32_t id;   /* caller's index */
    uint8_t state; /* WSCONN_* */
    uint8_t close_sent;
    int16_t http_status; /* handshake status seen (0: none yet) */
    int err;             /* reported by on_close */
    char *rbuf;          /* incomplete frame / handshake tail; NULL when drained */
    uint32_t rlen, rcap;
    tls_conn *tls; /* wss://: the TLS state (owned), else NULL */
    char *upgrade; /* wss://: the upgrade request, sent once TLS is up (owned) */
};

/* The TLS context for connections opened from now on (NULL: plain ws://). */
extern tls_ctx *wsconn_tls;

/*
 * Starts connecting to dst (from src when not NULL: bound before connect,
 * with IP_BIND_ADDRESS_NO_PORT so the port is picked per destination) and
 * sends the upgrade for `path` (e.g. "/chat?token=..."; copied). Returns 0
 * or a negative libuv error: then no callback fires, but c must stay
 * untouched until the loop has run once more (its handle is closing).
 */
int wsconn_open(uv_loop_t *loop, wsconn *c, const struct sockaddr_in *dst,
                const struct sockaddr_in *src, const char *host, const char *path,
                const wsconn_cbs *cbs);

/* Sends one masked text frame (payload copied). 0, or -1 when the
 * connection is not open or the write failed (the connection is then
 * being closed). */
int wsconn_send_text(wsconn *c, const char *s, size_t n);

/* Bytes queued in the kernel-refused write backlog of this connection. */
size_t wsconn_backlog(const wsconn *c);

/* Sends a close frame when open, then closes the socket; on_close follows
 * (err 0). Safe to call in any state, more than once. */
void wsconn_close(wsconn *c);

/* Messages the process sent/received, for progress lines. */
extern uint64_t wsconn_frames_in, wsconn_bytes_in;

#endif
