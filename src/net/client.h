/*
 * client: a small blocking HTTP/1.1 + WebSocket client over TCP, built on
 * the project's own codec (ws.h). Used by the integration tests, the `chat`
 * CLI and tooling. Blocking with explicit timeouts: simple to reason about
 * in tests; the CLI polls wsc_fd() in its own loop.
 *
 * Errors: functions return 0 / a negative value; nothing is printed.
 */
#ifndef CHATD_CLIENT_H
#define CHATD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* ---- URLs ---- */
typedef struct client_url {
    char host[256];
    int port;
    char path[1024];      /* "/" when absent; includes the query */
} client_url;
/* Parses http://host[:port][/path] or ws://...; 0 or -1. */
int client_parse_url(const char *url, client_url *out);

/* ---- HTTP ---- */
typedef struct http_response {
    int status;
    char *body;           /* NUL-terminated, malloc'd */
    size_t body_len;
    char *headers;        /* raw header block, malloc'd */
} http_response;

/* Sends one request (Connection: close) and reads the whole response.
 * body may be NULL (no body); content_type defaults to application/json.
 * Returns 0 (any HTTP status) or -1 on a network error/timeout. */
int http_request(const char *host, int port, const char *method, const char *path,
                 const char *body, size_t body_len, int timeout_ms, http_response *out);
void http_response_free(http_response *r);

/* ---- WebSocket ---- */
typedef struct wsc wsc;

typedef struct wsc_msg {
    int opcode;           /* WS_OP_TEXT, WS_OP_BINARY, WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG */
    char *data;           /* NUL-terminated payload, malloc'd (free with wsc_msg_free) */
    size_t len;
    uint16_t close_code;  /* for WS_OP_CLOSE: 1005 when none */
    char close_reason[124];
} wsc_msg;

/*
 * Connects and performs the upgrade for `path` (e.g. "/chat?token=...").
 * extra_headers: NULL or "Name: value\r\n..." lines. On success returns a
 * client. On failure returns NULL and, if http_status is not NULL, stores
 * the HTTP status the server answered with (0 for a network error).
 */
wsc *wsc_connect(const char *host, int port, const char *path, const char *extra_headers,
                 int timeout_ms, int *http_status);

/* Sends a masked text frame. 0 or -1. */
int wsc_send_text(wsc *c, const char *s, size_t len);
/* Sends one masked frame with explicit fin/opcode (for protocol tests). */
int wsc_send_frame(wsc *c, int fin, int opcode, const void *data, size_t len);
/* Sends raw bytes as they are (for malformed-frame tests). */
int wsc_send_raw(wsc *c, const void *data, size_t len);

/*
 * Waits up to timeout_ms for the next whole message (fragments are
 * reassembled; pings are answered automatically and not returned).
 * Returns 1 with *m filled, 0 on timeout, -1 when the connection is
 * closed or broken without a close frame. A close frame is returned as a
 * message (opcode WS_OP_CLOSE) once; the client answers it.
 */
int wsc_recv(wsc *c, int timeout_ms, wsc_msg *m);
void wsc_msg_free(wsc_msg *m);

/* Data already buffered (so poll() on the fd would miss it). */
int wsc_pending(const wsc *c);
int wsc_fd(const wsc *c);

/* Sends a close frame (if code != 0) and frees the client. NULL ok. */
void wsc_close(wsc *c, uint16_t code);

#endif
