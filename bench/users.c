/*
 * users: parallel register + auth over keep-alive HTTP (see users.h).
 *
 * Each worker connection is a tiny state machine: send a request, collect
 * the response (head up to a blank line, then Content-Length bytes), act
 * on it, send the next. A connection that breaks is reopened and the step
 * retried a few times before the user counts as failed.
 */
#include "users.h"

#include "bench.h"
#include "net/client.h"
#include "wsconn.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_RESPONSE (64 * 1024)
#define MAX_RETRIES 3

enum { STEP_REGISTER, STEP_AUTH };

typedef struct job_ctx job_ctx;

typedef struct worker {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    job_ctx *ctx;
    int open, busy, closing;
    int handle;  /* its tcp handle exists: connecting, open or closing */
    size_t user; /* current user (index into tokens) */
    int step, retries;
    int fails; /* connection failures in a row */
    char req[512];
    char *resp;
    size_t rlen;
} worker;

struct job_ctx {
    uv_loop_t *loop;
    const struct sockaddr_in *dst;
    const char *host, *prefix, *password;
    size_t first, n, next;
    size_t done;
    int existing; /* only /auth */
    char **tokens;
    struct sockaddr_in *chat_at; /* NULL, or per user: the chat server /auth named */
    users_result *res;
    worker *w;
    int nw;
};

static void worker_start(worker *w);

void users_name(char *out, size_t cap, const char *prefix, size_t i) {
    snprintf(out, cap, "%su%zu", prefix, i);
}

static void finish_user(worker *w, char *token) {
    job_ctx *x = w->ctx;
    x->tokens[w->user] = token;
    if (token)
        x->res->ok++;
    else
        x->res->failed++;
    x->done++;
    bench_progress("users: %zu/%zu logged in (%zu failed)", x->res->ok, x->n, x->res->failed);
    w->busy = 0;
}

static void on_closed(uv_handle_t *h) {
    worker *w = h->data;
    w->open = 0;
    w->closing = 0;
    w->handle = 0;
    if (w->fails > MAX_RETRIES) { /* the server does not take connections */
        if (w->busy) finish_user(w, NULL);
        return;
    }
    if (w->busy || w->ctx->next < w->ctx->n) worker_start(w); /* reconnect */
}

static void worker_close(worker *w) {
    if (w->closing) return;
    w->closing = 1;
    uv_close((uv_handle_t *)&w->tcp, on_closed);
}

/* A request broke in flight: retry it on a fresh connection. */
static void worker_broken(worker *w) {
    if (w->busy && ++w->retries > MAX_RETRIES) finish_user(w, NULL);
    worker_close(w);
}

static void on_sent(uv_write_t *req, int status) {
    worker *w = req->data;
    if (status < 0) worker_broken(w);
}

static void send_step(worker *w) {
    char name[64];
    users_name(name, sizeof name, w->ctx->prefix, w->ctx->first + w->user);
    char body[256];
    int bl = snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name,
                      w->ctx->password);
    int n = snprintf(w->req, sizeof w->req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s",
                     w->step == STEP_REGISTER ? "/register" : "/auth", w->ctx->host, bl, body);
    w->rlen = 0;
    uv_buf_t b = uv_buf_init(w->req, (unsigned)n);
    w->write.data = w;
    if (uv_write(&w->write, (uv_stream_t *)&w->tcp, &b, 1, on_sent) < 0) worker_broken(w);
}

/* Takes the next user, or closes the worker when none is left. */
static void next_user(worker *w) {
    job_ctx *x = w->ctx;
    if (x->next >= x->n) {
        worker_close(w);
        return;
    }
    w->user = x->next++;
    w->busy = 1;
    w->step = w->ctx->existing ? STEP_AUTH : STEP_REGISTER;
    w->retries = 0;
    send_step(w);
}

/* The token of an /auth answer; *at becomes the chat server it names
 * (servers.chat: an IPv4 host, and a port as a string (compat) or number)
 * and stays as it is when the answer names none. */
static char *token_of(const char *body, struct sockaddr_in *at) {
    json_t *j = json_loads(body, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "sessionToken"));
    char *out = t ? strdup(t) : NULL;
    json_t *chat = json_object_get(json_object_get(j, "servers"), "chat");
    const char *host = json_string_value(json_object_get(chat, "host"));
    json_t *pv = json_object_get(chat, "port");
    long port =
        json_is_string(pv) ? strtol(json_string_value(pv), NULL, 10) : (long)json_integer_value(pv);
    struct in_addr a;
    if (at && host && port > 0 && port < 65536 && inet_pton(AF_INET, host, &a) == 1) {
        at->sin_addr = a;
        at->sin_port = htons((uint16_t)port);
    }
    json_decref(j);
    return out;
}

static void on_response(worker *w, int status, const char *body, int keep) {
    users_result *r = w->ctx->res;
    w->fails = 0;
    if (w->step == STEP_REGISTER) {
        if (status == 201)
            r->registered++;
        else if (status == 409)
            r->existed++;
        if (status == 201 || status == 409) {
            w->step = STEP_AUTH;
        } else {
            r->last_status = status;
            finish_user(w, NULL);
        }
    } else {
        struct sockaddr_in *at = w->ctx->chat_at ? &w->ctx->chat_at[w->user] : NULL;
        char *tok = status == 200 ? token_of(body, at) : NULL;
        if (!tok) r->last_status = status;
        finish_user(w, tok);
    }
    if (!keep) {
        worker_close(w);
        return;
    }
    if (w->busy)
        send_step(w);
    else
        next_user(w);
}

/* Finds a header's value in the head; NULL when absent. */
static const char *header(const char *head, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

static void try_parse(worker *w) {
    w->resp[w->rlen] = '\0';
    char *end = strstr(w->resp, "\r\n\r\n");
    if (!end) return;
    *end = '\0';
    const char *cl = header(w->resp, "Content-Length");
    const char *conn = header(w->resp, "Connection");
    size_t head = (size_t)(end - w->resp) + 4;
    size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
    if (w->rlen < head + blen) {
        *end = '\r';
        return;
    }
    int status = strncmp(w->resp, "HTTP/1.1 ", 9) == 0 ? atoi(w->resp + 9) : 0;
    int keep = cl && !(conn && strncasecmp(conn, "close", 5) == 0);
    char *body = w->resp + head;
    body[blen] = '\0';
    w->rlen = 0;
    on_response(w, status, body, keep);
}

static void on_alloc(uv_handle_t *h, size_t sug, uv_buf_t *b) {
    worker *w = h->data;
    *b = uv_buf_init(w->resp + w->rlen, (unsigned)(MAX_RESPONSE - 1 - w->rlen));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    worker *w = s->data;
    if (n < 0) {
        worker_broken(w);
        return;
    }
    w->rlen += (size_t)n;
    if (w->busy) try_parse(w);
    if (w->rlen >= MAX_RESPONSE - 1) worker_broken(w);
}

static void on_connect(uv_connect_t *c, int status) {
    worker *w = c->data;
    if (status < 0) {
        if (status != UV_ECANCELED) {
            w->fails++;
            worker_broken(w);
        }
        return;
    }
    w->open = 1;
    uv_read_start((uv_stream_t *)&w->tcp, on_alloc, on_read);
    if (w->busy)
        send_step(w);
    else
        next_user(w);
}

/* A connect refused at once (no local port left, say) would be refused
 * again at once: this worker stops; the others go on. */
static void on_start_failed(uv_handle_t *h) {
    worker *w = h->data;
    w->closing = 0;
    w->handle = 0;
}

static void worker_start(worker *w) {
    job_ctx *x = w->ctx;
    if (!w->busy && x->next >= x->n) return;
    uv_tcp_init(x->loop, &w->tcp);
    w->tcp.data = w;
    w->handle = 1;
    w->connect.data = w;
    if (uv_tcp_connect(&w->connect, &w->tcp, (const struct sockaddr *)x->dst, on_connect) < 0) {
        if (w->busy) finish_user(w, NULL);
        w->closing = 1;
        uv_close((uv_handle_t *)&w->tcp, on_start_failed);
    }
}

static void on_deadline(uv_timer_t *t) {
    job_ctx *x = t->data;
    for (int i = 0; i < x->nw; i++)
        if (!x->w[i].closing && (x->w[i].handle || x->w[i].busy)) { /* connecting too */
            x->w[i].busy = 0;
            worker_close(&x->w[i]);
        }
    x->next = x->n; /* no more starts */
    uv_close((uv_handle_t *)t, NULL);
}

/* wss:// runs (wsconn_tls set): one blocking https request after another
 * with the project's client (setup only: not what is measured). */
static int login_tls(const struct sockaddr_in *dst, const char *prefix, const char *password,
                     size_t first, size_t n, int existing, char **tokens,
                     struct sockaddr_in *chat_at, users_result *res) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &dst->sin_addr, ip, sizeof ip);
    int port = ntohs(dst->sin_port);
    double t0 = bench_now_s();
    for (size_t i = 0; i < n; i++) {
        char name[64], body[256];
        users_name(name, sizeof name, prefix, first + i);
        int len = snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name,
                           password);
        client_response r;
        if (!existing && client_http_request(wsconn_tls, ip, port, "POST", "/register", body,
                                             (size_t)len, 10000, &r) == 0) {
            res->registered += r.status == 201;
            res->existed += r.status == 409;
            client_response_free(&r);
        }
        if (client_http_request(wsconn_tls, ip, port, "POST", "/auth", body, (size_t)len, 10000,
                                &r) != 0)
            continue;
        tokens[i] = r.status == 200 ? token_of(r.body, chat_at ? &chat_at[i] : NULL) : NULL;
        if (tokens[i])
            res->ok++;
        else
            res->last_status = r.status;
        client_response_free(&r);
    }
    res->failed = n - res->ok;
    res->seconds = bench_now_s() - t0;
    return res->ok == n ? 0 : -1;
}

int users_login(uv_loop_t *loop, const struct sockaddr_in *dst, const char *host,
                const char *prefix, const char *password, size_t first, size_t n, int existing,
                int concurrency, double timeout_s, char **tokens, struct sockaddr_in *chat_at,
                users_result *res) {
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < n; i++)
        tokens[i] = NULL;
    for (size_t i = 0; chat_at && i < n; i++)
        chat_at[i] = *dst;
    if (wsconn_tls)
        return login_tls(dst, prefix, password, first, n, existing, tokens, chat_at, res);
    if (concurrency < 1) concurrency = 1;
    if ((size_t)concurrency > n) concurrency = (int)(n ? n : 1);
    job_ctx x = {loop, dst,      host,   prefix,  password, first, n,          0,
                 0,    existing, tokens, chat_at, res,      NULL,  concurrency};
    x.w = calloc((size_t)concurrency, sizeof *x.w);
    char *bufs = malloc((size_t)concurrency * MAX_RESPONSE);
    if (!x.w || !bufs) {
        free(x.w);
        free(bufs);
        return -1;
    }
    double t0 = bench_now_s();
    for (int i = 0; i < concurrency; i++) {
        x.w[i].ctx = &x;
        x.w[i].resp = bufs + (size_t)i * MAX_RESPONSE;
        worker_start(&x.w[i]);
    }
    uv_timer_t deadline;
    uv_timer_init(loop, &deadline);
    deadline.data = &x;
    uv_timer_start(&deadline, on_deadline, (uint64_t)(timeout_s * 1000), 0);
    uv_unref((uv_handle_t *)&deadline);
    /* Until no worker has a connection left: all users done, or every
     * worker gave up (the users never taken count as failed). The loop may
     * hold other handles (a caller's sockets), so uv_run alone never ends. */
    while (uv_run(loop, UV_RUN_ONCE)) {
        int active = 0;
        for (int i = 0; i < concurrency; i++)
            active |= x.w[i].handle || x.w[i].busy;
        if (!active) break;
    }
    if (!uv_is_closing((uv_handle_t *)&deadline)) uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    res->failed = n - res->ok;
    res->seconds = bench_now_s() - t0;
    bench_progress_done();
    free(x.w);
    free(bufs);
    return res->ok == n ? 0 : -1;
}
