/*
 * tconn: a test's WebSocket connection to chatd (over net/client.h) with a
 * small backlog: frames received while waiting for another one are kept,
 * in order, until a test asks for them. Waiting is by frame type or by
 * any predicate; "nothing arrives" and close codes can be asserted too.
 *
 * Memory: a tconn is freed by tconn_close()/tconn_drop(), or at exit.
 * Frames returned by the recv functions are harness-owned (see harness.h).
 */
#ifndef CHATD_IT_TCONN_H
#define CHATD_IT_TCONN_H

#include "integration/harness.h"
#include "net/client.h"
#include "net/ws.h"

typedef struct tconn {
    wsc *ws;
    chatd_srv *srv;
    char user[40];    /* the token's username ("" when none) */
    char label[48];   /* for messages: user name + endpoint */
    json_t **backlog; /* frames received but not yet asked for */
    size_t n_backlog, cap_backlog;
    int closed;     /* a close frame (or EOF) was seen */
    int close_code; /* from the close frame; -1 on EOF without one */
    char close_reason[124];
    int pongs; /* pong frames seen */
    char last_pong[128];
    struct tconn *next_all;
} tconn;

/* Opens a WebSocket on path ("/chat?token=..."); asserts the upgrade
 * succeeded. extra_headers: NULL or "Name: v\r\n" lines. */
tconn *ws_open(chatd_srv *s, const char *path, const char *extra_headers, const char *label);
/* /chat?token=T; waits for the initial channels_list (kept in the backlog). */
tconn *chat_connect(chatd_srv *s, const char *token);
/* /presence?token=T; waits for initial_presence (kept in the backlog). */
tconn *presence_connect(chatd_srv *s, const char *token);
/* Convenience: auth + chat_connect / presence_connect. */
tconn *chat_login(chatd_srv *s, const char *user);
tconn *presence_login(chatd_srv *s, const char *user);
/* Sends a close frame (1000) and frees. NULL ok. */
void tconn_close(tconn *c);
/* Closes the TCP connection without a close frame. */
void tconn_drop(tconn *c);

/* Sends a text frame (printf-style / jansson json_pack-style). */
void send_json(tconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void send_pack(tconn *c, const char *fmt, ...);
void send_text(tconn *c, const char *data, size_t len);

/* A predicate on a received frame. */
typedef int (*frame_pred)(json_t *frame, const void *ctx);

/* Returns the first frame (backlog first, then new ones) for which pred is
 * true, removing it from the backlog; others stay queued. NULL on timeout
 * or close (no failure). */
json_t *try_recv_match(tconn *c, frame_pred pred, const void *ctx, int timeout_ms);
/* Same for {"type": type}. */
json_t *try_recv_type(tconn *c, const char *type, int timeout_ms);
/* Like try_recv_type, but fails the test (listing what did arrive). */
json_t *recv_type(tconn *c, const char *type, int timeout_ms);
json_t *recv_match(tconn *c, frame_pred pred, const void *ctx, int timeout_ms, const char *what);
/* Asserts nothing at all arrives within ms (and the backlog is empty). */
void recv_none(tconn *c, int ms);
/* Asserts no frame of this type arrives within ms (backlog included). */
void recv_none_type(tconn *c, const char *type, int ms);
/* Drops the backlog and whatever arrives within ms. */
void drain(tconn *c, int ms);
/* Waits for a close frame; asserts its code (and reason when not NULL). */
void expect_close(tconn *c, int code, const char *reason);
/* Receives an `error` frame; asserts its shape, code and request_type
 * (request_type NULL = not checked). Returns it. */
json_t *expect_error(tconn *c, const char *code, const char *request_type);
/* Number of frames waiting in the backlog of a given type (NULL = any). */
size_t backlog_count(tconn *c, const char *type);

#endif
