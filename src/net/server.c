/*
 * server: accepts connections and drives them. All reads land in one
 * shared 64 KiB buffer (connections are parsed in place, so idle ones hold
 * no read memory), and all writes are flushed from a uv_check handle: the
 * check phase runs once per loop turn after I/O, so every frame queued to a
 * connection during that turn goes out in a single writev.
 */
#include "net/server.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

void conn__flush(conn *c);
void conn__on_read(conn *c, char *data, size_t len);
void conn__on_eof(conn *c);

static char read_buf[64 * 1024];
static int read_buf_busy;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    (void)suggested;
    if (read_buf_busy) { /* never happens with one loop thread; be safe */
        buf->base = malloc(sizeof(read_buf));
        buf->len = buf->base ? sizeof(read_buf) : 0;
        return;
    }
    read_buf_busy = 1;
    buf->base = read_buf;
    buf->len = sizeof(read_buf);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    conn *c = stream->data;
    if (nread > 0) conn__on_read(c, buf->base, (size_t)nread);
    else if (nread < 0) conn__on_eof(c);
    if (buf->base == read_buf) read_buf_busy = 0;
    else free(buf->base);
}

static void track(server *s, conn *c) {
    if (s->nall == s->allcap) {
        size_t ncap = s->allcap ? s->allcap * 2 : 64;
        conn **n = realloc(s->all, ncap * sizeof(*n));
        if (!n) abort();
        s->all = n;
        s->allcap = ncap;
    }
    s->all[s->nall++] = c;
}

void server__forget(server *s, conn *c) {
    for (size_t i = s->nall; i-- > 0;) {
        if (s->all[i] == c) {
            s->all[i] = s->all[--s->nall];
            return;
        }
    }
}

static void on_reject_closed(uv_handle_t *h) {
    conn *c = h->data;
    http_req_reset(c->req);
    free(c->req);
    free(c);
}

static void on_connection(uv_stream_t *listener, int status) {
    server *s = listener->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    conn *c = calloc(1, sizeof(*c));
    if (!c) abort();
    c->srv = s;
    c->refs = 1;
    c->endpoint = -1;
    c->req = malloc(sizeof(*c->req));
    if (!c->req) abort();
    http_req_init(c->req);
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        c->state = CONN_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, on_reject_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    track(s, c);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_check(uv_check_t *h) {
    server *s = h->data;
    while (s->dirty) {
        conn *c = s->dirty;
        s->dirty = c->next_dirty;
        c->next_dirty = NULL;
        conn__flush(c);
        conn_unref(c);
    }
}

void server__mark_dirty(server *s, conn *c) {
    if (c->dirty) return;
    c->dirty = 1;
    conn_ref(c);
    c->next_dirty = s->dirty;
    s->dirty = c;
}

int server_start(server *s, uv_loop_t *loop, const char *host, int port,
                 const server_handlers *h, const server_limits *lim) {
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->h = *h;
    s->lim = *lim;
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (rc != 0) return rc;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    uv_check_init(loop, &s->flusher);
    s->flusher.data = s;
    uv_check_start(&s->flusher, on_check);
    s->listening = 1;
    return 0;
}

void server_stop_accepting(server *s) {
    if (!s->listening) return;
    s->listening = 0;
    uv_close((uv_handle_t *)&s->listener, NULL);
}

/* Runs fn on a snapshot of the live connections (fn may close them). */
static void for_each_conn(server *s, void (*fn)(conn *c, uint16_t code, const char *reason),
                          uint16_t code, const char *reason) {
    size_t n = s->nall;
    conn **copy = malloc((n ? n : 1) * sizeof(*copy));
    if (!copy) abort();
    memcpy(copy, s->all, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++) conn_ref(copy[i]);
    for (size_t i = 0; i < n; i++) fn(copy[i], code, reason);
    for (size_t i = 0; i < n; i++) conn_unref(copy[i]);
    free(copy);
}

static void close_one(conn *c, uint16_t code, const char *reason) {
    if (c->state == CONN_WS) conn_close_ws(c, code, reason);
    else if (c->state == CONN_HTTP && !c->http_busy) conn_abort(c);
}

static void abort_one(conn *c, uint16_t code, const char *reason) {
    (void)code, (void)reason;
    conn_abort(c);
}

void server_close_all(server *s, uint16_t code, const char *reason) {
    for_each_conn(s, close_one, code, reason);
}

void server_abort_all(server *s) { for_each_conn(s, abort_one, 0, NULL); }

void server_free(server *s) {
    server_stop_accepting(s);
    if (s->flusher.loop && !uv_is_closing((uv_handle_t *)&s->flusher))
        uv_close((uv_handle_t *)&s->flusher, NULL);
    free(s->all);
    s->all = NULL;
    s->nall = s->allcap = 0;
}
