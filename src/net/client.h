/*
 * client: a small blocking HTTP/1.1 + WebSocket client over TCP, built on
 * the project's own codec (ws.h). Used by the integration tests, the `chat`
 * CLI and tooling. Blocking with explicit timeouts: simple to reason about
 * in tests; the CLI polls wsc_fd() in its own loop.
 *
 * Errors: functions return 0 / a negative value; nothing is printed.
 * Timeouts are in milliseconds; a negative timeout waits forever.
 * TLS: every call that connects takes a tls_ctx (net/tls.h: a client
 * context from tls_ctx_client, trusting a CA file); NULL means plain TCP.
 */
#ifndef CHATD_CLIENT_H
#define CHATD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "net/tls.h"

/* ---- URLs ---- */
typedef struct client_url {
    char host[256];
    int port;
    char path[1024]; /* "/" when absent; includes the query */
    int tls;         /* https:// or wss:// */
} client_url;
/* Parses http[s]://host[:port][/path] or ws[s]://...; 0 or -1. The port
 * defaults to 80 (443 with TLS); an IPv6 literal is written [::1] (stored
 * without the brackets); a "#fragment" is dropped. */
int client_parse_url(const char *url, client_url *out);

/* ---- HTTP ---- */
typedef struct client_response {
    int status;
    char *body; /* NUL-terminated, malloc'd */
    size_t body_len;
    char *headers; /* raw head: status line and header lines, each
                      ending "\r\n", then the empty line; malloc'd */
} client_response;

/* Sends one request (Connection: close) and reads the whole response.
 * body may be NULL (no body); a body is sent as Content-Type:
 * application/json with its Content-Length. The response body ends at
 * Content-Length or when the server closes; a chunked body is decoded.
 * timeout_ms bounds the whole exchange. Returns 0 (any HTTP status; free
 * *out with client_response_free) or -1 on a network error/timeout/truncated
 * response (then *out holds nothing to free). */
int client_http_request(tls_ctx *tls, const char *host, int port, const char *method,
                        const char *path, const char *body, size_t body_len, int timeout_ms,
                        client_response *out);
void client_response_free(client_response *r);

/* ---- WebSocket ---- */
typedef struct wsc wsc;

typedef struct wsc_msg {
    int opcode; /* WS_OP_TEXT, WS_OP_BINARY, WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG */
    char *data; /* NUL-terminated payload, malloc'd (free with wsc_msg_free) */
    size_t len;
    uint16_t close_code; /* for WS_OP_CLOSE: 1005 when none */
    char close_reason[124];
} wsc_msg;

/*
 * Connects and performs the upgrade for `path` (e.g. "/chat?token=...").
 * extra_headers: NULL or "Name: value\r\n..." lines. On success returns a
 * client. On failure returns NULL and, if http_status is not NULL, stores
 * the HTTP status the server answered with (0 for a network error; 101
 * when the server switched protocols but its Sec-WebSocket-Accept or
 * Upgrade header was wrong). timeout_ms bounds connect + handshake.
 * Frames the server sends right after its 101 are kept for wsc_recv.
 */
wsc *wsc_connect(tls_ctx *tls, const char *host, int port, const char *path,
                 const char *extra_headers, int timeout_ms, int *http_status);

/* Sends a masked text frame (fresh random key per frame). 0 or -1.
 * Sends wait at most 10 s for socket buffer room. */
int wsc_send_text(wsc *c, const char *s, size_t len);
/* Sends one masked frame with explicit fin/opcode (for protocol tests:
 * nothing is checked, so oversized or fragmented control frames go out
 * as asked). Sending WS_OP_CLOSE marks the close as sent. */
int wsc_send_frame(wsc *c, int fin, int opcode, const void *data, size_t len);
/* Sends raw bytes as they are (for malformed-frame tests). */
int wsc_send_raw(wsc *c, const void *data, size_t len);

/*
 * Waits up to timeout_ms for the next whole message (fragments are
 * reassembled; pings are answered automatically and not returned).
 * Returns 1 with *m filled, 0 on timeout, -1 when the connection is
 * closed or broken without a close frame. A close frame is returned as a
 * message (opcode WS_OP_CLOSE) once; the client answers it (echoing the
 * code, or 1002 if the payload was invalid) and further calls return -1.
 * Pongs are returned. Messages over 16 MiB, or server frames that break
 * RFC 6455 (masked, bad fragmentation, reserved bits...), make the client
 * send close 1009/1002 and return -1. Text is not UTF-8 checked: callers
 * see exactly what the server sent. On 0 and -1, *m holds nothing.
 * timeout_ms 0 only consumes what is already available.
 */
int wsc_recv(wsc *c, int timeout_ms, wsc_msg *m);
void wsc_msg_free(wsc_msg *m);

/* 1 when wsc_recv may return without the socket becoming readable: a
 * whole frame is already buffered, the TLS layer holds received bytes
 * (poll() on the fd would miss them), or the connection is over. */
int wsc_pending(const wsc *c);
int wsc_fd(const wsc *c);

/* Sends a close frame (if code != 0 and none was exchanged yet), waits up
 * to 200 ms for the server's close, closes the fd and frees the client.
 * NULL ok. */
void wsc_close(wsc *c, uint16_t code);

#endif
