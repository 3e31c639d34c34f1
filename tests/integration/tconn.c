/*
 * tconn: see tconn.h. A received frame goes into the connection's backlog
 * until a test asks for a frame like it, so waiting for one reply never
 * loses another that arrived first.
 */
#define _GNU_SOURCE
#include "integration/tconn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/token.h"

static tconn *g_conns; /* every open connection, closed at exit */

static void close_all(void) {
    while (g_conns)
        tconn_drop(g_conns);
}

/* ---- WebSocket connections ---- */
tconn *ws_open(chatd_srv *s, const char *path, const char *extra_headers, const char *label) {
    int status = 0;
    static int registered;
    harness__init();
    if (!registered) {
        registered = 1;
        atexit(close_all); /* runs before harness_cleanup (registered earlier) */
    }
    wsc *ws = wsc_connect(harness_tls(), "127.0.0.1", chatd_ws_port(s, path), path, extra_headers,
                          5000, &status);
    if (!ws) fail_msg("WebSocket upgrade %.80s failed: HTTP status %d", path, status);
    tconn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->ws = ws;
    c->srv = s;
    c->close_code = 0;
    snprintf(c->label, sizeof c->label, "%s", label ? label : path);
    c->next_all = g_conns;
    g_conns = c;
    return c;
}

static void token_user(const char *token, char *out, size_t cap) {
    if (token_verify((const uint8_t *)H_SECRET, H_SECRET_LEN, token, (int64_t)time(NULL), out,
                     cap) != 0)
        out[0] = '\0';
}

/* Opens /<endpoint>?token=T and waits for the endpoint's first frame,
 * which stays in the backlog for the test. */
static tconn *connect_first(chatd_srv *s, const char *endpoint, const char *token,
                            const char *first_type) {
    char user[40];
    token_user(token, user, sizeof user);
    tconn *c =
        ws_open(s, hfmt("/%s?token=%s", endpoint, token), NULL, hfmt("%s/%s", user, endpoint));
    snprintf(c->user, sizeof c->user, "%s", user);
    json_t *first = recv_type(c, first_type, H_TIMEOUT);
    harness__grow((void **)&c->backlog, &c->cap_backlog, c->n_backlog, sizeof *c->backlog);
    memmove(c->backlog + 1, c->backlog, c->n_backlog * sizeof *c->backlog);
    c->backlog[0] = json_incref(first);
    c->n_backlog++;
    return c;
}

tconn *chat_connect(chatd_srv *s, const char *token) {
    return connect_first(s, "chat", token, "channels_list");
}

tconn *presence_connect(chatd_srv *s, const char *token) {
    return connect_first(s, "presence", token, "initial_presence");
}

tconn *chat_login(chatd_srv *s, const char *user) {
    return chat_connect(s, auth(s, user, H_PASSWORD));
}

tconn *presence_login(chatd_srv *s, const char *user) {
    return presence_connect(s, auth(s, user, H_PASSWORD));
}

static void unlink_conn(tconn *c) {
    for (tconn **pp = &g_conns; *pp; pp = &(*pp)->next_all)
        if (*pp == c) {
            *pp = c->next_all;
            break;
        }
    for (size_t i = 0; i < c->n_backlog; i++)
        json_decref(c->backlog[i]);
    free(c->backlog);
    free(c);
}

void tconn_close(tconn *c) {
    if (!c) return;
    wsc_close(c->ws, c->closed ? 0 : 1000);
    unlink_conn(c);
}

void tconn_drop(tconn *c) {
    if (!c) return;
    wsc_close(c->ws, 0);
    unlink_conn(c);
}

void send_text(tconn *c, const char *data, size_t len) {
    if (wsc_send_text(c->ws, data, len) != 0)
        fail_msg("%s: send failed (closed=%d code=%d)", c->label, c->closed, c->close_code);
}

void send_json(tconn *c, const char *fmt, ...) {
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    harness__keep_str(s);
    send_text(c, s, (size_t)n);
}

void send_pack(tconn *c, const char *fmt, ...) {
    va_list ap;
    json_error_t err;
    va_start(ap, fmt);
    json_t *j = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!j) fail_msg("send_pack: bad pack format: %s", err.text);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    harness__keep_str(s);
    send_text(c, s, strlen(s));
}

/* Reads one message into the backlog. 1 = got something, 0 = timeout,
 * -1 = closed. */
static int pump(tconn *c, int timeout_ms) {
    wsc_msg m;
    if (c->closed) return -1;
    memset(&m, 0, sizeof m);
    int r = wsc_recv(c->ws, timeout_ms < 0 ? 0 : timeout_ms, &m);
    if (r == 0) return 0;
    if (r < 0) {
        c->closed = 1;
        c->close_code = -1;
        return -1;
    }
    json_t *j = NULL;
    switch (m.opcode) {
    case WS_OP_TEXT:
        j = json_loadb(m.data, m.len, 0, NULL);
        if (!j || !json_is_object(j)) {
            json_decref(j);
            j = json_pack("{s:s,s:s%}", "type", "__not_a_json_object__", "raw", m.data, m.len);
        }
        break;
    case WS_OP_BINARY:
        j = json_pack("{s:s,s:i}", "type", "__binary__", "len", (int)m.len);
        break;
    case WS_OP_CLOSE:
        c->closed = 1;
        c->close_code = m.close_code;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", m.close_reason);
        wsc_msg_free(&m);
        return -1;
    case WS_OP_PONG:
        c->pongs++;
        snprintf(c->last_pong, sizeof c->last_pong, "%.*s", (int)(m.len < 127 ? m.len : 127),
                 m.data ? m.data : "");
        break;
    default:
        break;
    }
    wsc_msg_free(&m);
    if (j) {
        harness__grow((void **)&c->backlog, &c->cap_backlog, c->n_backlog, sizeof *c->backlog);
        c->backlog[c->n_backlog++] = j;
    }
    return 1;
}

static json_t *take(tconn *c, size_t i) {
    json_t *j = c->backlog[i];
    memmove(c->backlog + i, c->backlog + i + 1, (c->n_backlog - i - 1) * sizeof *c->backlog);
    c->n_backlog--;
    return harness__keep_json(j);
}

json_t *try_recv_match(tconn *c, frame_pred pred, const void *ctx, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    size_t scanned = 0;
    for (;;) {
        for (; scanned < c->n_backlog; scanned++)
            if (pred(c->backlog[scanned], ctx)) return take(c, scanned);
        int64_t left = deadline - now_ms();
        if (left < 0) return NULL;
        if (pump(c, (int)left) < 0) {
            /* a close: look at anything appended before it, then give up */
            for (; scanned < c->n_backlog; scanned++)
                if (pred(c->backlog[scanned], ctx)) return take(c, scanned);
            return NULL;
        }
    }
}

static int pred_type(json_t *f, const void *ctx) {
    json_t *t = json_object_get(f, "type");
    return json_is_string(t) && strcmp(json_string_value(t), (const char *)ctx) == 0;
}

json_t *try_recv_type(tconn *c, const char *type, int timeout_ms) {
    return try_recv_match(c, pred_type, type, timeout_ms);
}

static void report_backlog(tconn *c) {
    fprintf(stderr, "  [%s] closed=%d close_code=%d reason='%s'; %zu frame(s) queued:\n", c->label,
            c->closed, c->close_code, c->close_reason, c->n_backlog);
    for (size_t i = 0; i < c->n_backlog && i < 12; i++)
        fprintf(stderr, "    %.300s\n", jdump(c->backlog[i]));
}

json_t *recv_match(tconn *c, frame_pred pred, const void *ctx, int timeout_ms, const char *what) {
    json_t *j = try_recv_match(c, pred, ctx, timeout_ms);
    if (!j) {
        report_backlog(c);
        fail_msg("%s: no %s within %d ms", c->label, what, timeout_ms);
    }
    return j;
}

json_t *recv_type(tconn *c, const char *type, int timeout_ms) {
    json_t *j = try_recv_type(c, type, timeout_ms);
    if (!j) {
        report_backlog(c);
        fail_msg("%s: no \"%s\" frame within %d ms", c->label, type, timeout_ms);
    }
    return j;
}

void recv_none(tconn *c, int ms) {
    if (c->n_backlog == 0) pump(c, ms);
    if (c->n_backlog > 0) {
        report_backlog(c);
        fail_msg("%s: expected no frame, got %s", c->label, jdump(c->backlog[0]));
    }
}

void recv_none_type(tconn *c, const char *type, int ms) {
    json_t *j = try_recv_type(c, type, ms);
    if (j) fail_msg("%s: expected no \"%s\" frame, got %s", c->label, type, jdump(j));
}

void drain(tconn *c, int ms) {
    int64_t deadline = now_ms() + ms;
    while (now_ms() < deadline && pump(c, (int)(deadline - now_ms())) > 0) {
    }
    for (size_t i = 0; i < c->n_backlog; i++)
        json_decref(c->backlog[i]);
    c->n_backlog = 0;
}

size_t backlog_count(tconn *c, const char *type) {
    size_t n = 0;
    for (size_t i = 0; i < c->n_backlog; i++)
        if (!type || pred_type(c->backlog[i], type)) n++;
    return n;
}

void expect_close(tconn *c, int code, const char *reason) {
    int64_t deadline = now_ms() + 5000;
    while (!c->closed && now_ms() < deadline)
        pump(c, (int)(deadline - now_ms()));
    if (!c->closed) {
        report_backlog(c);
        fail_msg("%s: expected close %d, connection still open after 5 s", c->label, code);
    }
    if (c->close_code != code) {
        report_backlog(c);
        fail_msg("%s: expected close code %d, got %d (reason '%s'; -1 = EOF without a close "
                 "frame)",
                 c->label, code, c->close_code, c->close_reason);
    }
    if (reason) assert_string_equal(c->close_reason, reason);
}

json_t *expect_error(tconn *c, const char *code, const char *request_type) {
    json_t *e = recv_type(c, "error", H_TIMEOUT);
    const char *got = jstr(e, "code");
    if (strcmp(got, code) != 0)
        fail_msg("%s: expected error code %s, got %s", c->label, code, jdump(e));
    const char *msg = jstr(e, "error");
    if (!*msg) fail_msg("error frame with an empty \"error\" sentence: %s", jdump(e));
    /* request_type is the type as sent; null when there was none */
    json_t *rt = json_object_get(e, "request_type");
    if (request_type)
        assert_string_equal(jstr(e, "request_type"), request_type);
    else if (!json_is_string(rt) && !json_is_null(rt))
        fail_msg("request_type must be a string or null: %s", jdump(e));
    return e;
}
