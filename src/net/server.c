/*
 * server: accepts connections and drives them (see server.h). All reads
 * land in one shared 64 KiB buffer (connections are parsed in place, so
 * idle ones hold no read memory), and all the work that must not happen in
 * the middle of application code — parsing held input, closing aborted
 * connections, flushing writes — runs from a uv_check handle at the end of
 * each loop turn, so every frame queued to a connection during the turn
 * goes out in a single writev.
 *
 * Caps: a socket beyond max_connections evicts the oldest connection that
 * has not completed a WebSocket upgrade (slow or idle handshakes make room
 * for new ones); a peer address with max_pending_per_addr sockets still in
 * their handshake gets its new ones refused. A once-a-second sweep applies
 * the handshake/idle timeout and pings silent WebSockets.
 */
#include "net/server.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

void server_limits_default(server_limits *l) {
    l->max_message = 64 * 1024;
    l->max_queued = 16u << 20;
    l->read_pause = 1u << 20;
    l->max_connections = 100000;
    l->max_pending_per_addr = 256;
    l->handshake_ms = 10000;
    l->ping_ms = 30000;
}

/* The accept queue: as deep as the kernel allows (Linux caps it at
 * net.core.somaxconn, 4096 by default). After a restart every client
 * reconnects within the same second; a shallow queue drops their SYNs and
 * each dropped one waits the kernel's 1 s retransmit. */
#define LISTEN_BACKLOG 65535

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
    if (nread > 0)
        conn__on_read(c, buf->base, (size_t)nread);
    else if (nread < 0)
        conn__on_eof(c);
    if (buf->base == read_buf)
        read_buf_busy = 0;
    else
        free(buf->base);
}

void server__read_start(server *s, conn *c) {
    (void)s;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- bookkeeping: all connections, HTTP-state list, peer addresses ---- */

static void track(server *s, conn *c) {
    if (s->nall == s->allcap) {
        size_t ncap = s->allcap ? s->allcap * 2 : 64;
        conn **n = xrealloc(s->all, ncap * sizeof(*n));
        s->all = n;
        s->allcap = ncap;
    }
    c->all_index = s->nall;
    s->all[s->nall++] = c;
}

static void http_link(server *s, conn *c) {
    c->prev_http = s->http_newest;
    c->next_http = NULL;
    if (s->http_newest)
        s->http_newest->next_http = c;
    else
        s->http_oldest = c;
    s->http_newest = c;
}

static void http_unlink(server *s, conn *c) {
    if (c->prev_http)
        c->prev_http->next_http = c->next_http;
    else if (s->http_oldest == c)
        s->http_oldest = c->next_http;
    else
        return; /* not linked */
    if (c->next_http)
        c->next_http->prev_http = c->prev_http;
    else
        s->http_newest = c->prev_http;
    c->prev_http = c->next_http = NULL;
}

static server_addr *addr_get(server *s, const char *ip) {
    server_addr *a = strmap_get(&s->addrs, ip);
    if (a) return a;
    a = xcalloc(1, sizeof(*a));
    snprintf(a->ip, sizeof(a->ip), "%s", ip);
    strmap_put(&s->addrs, a->ip, a);
    return a;
}

static void addr_release(server *s, server_addr *a) {
    if (--a->conns) return;
    strmap_del(&s->addrs, a->ip);
    free(a);
}

void server__upgraded(server *s, conn *c) {
    http_unlink(s, c);
    if (c->addr && c->addr->pending) c->addr->pending--;
}

void server__forget(server *s, conn *c) {
    if (c->all_index < s->nall && s->all[c->all_index] == c) {
        conn *last = s->all[--s->nall];
        s->all[c->all_index] = last;
        last->all_index = c->all_index;
    }
    if (c->prev_http || s->http_oldest == c) { /* still in its handshake */
        http_unlink(s, c);
        if (c->addr && c->addr->pending) c->addr->pending--;
    }
    if (c->addr) addr_release(s, c->addr);
    c->addr = NULL;
}

const char *server__peer(const conn *c) {
    return c->addr ? c->addr->ip : "?";
}

/* ---- accepting ---- */

static void on_reject_closed(uv_handle_t *h) {
    free(h->data);
}

static void refuse(server *s, conn *c, const char *ip, const char *why) {
    s->refused++;
    metrics_conn_dropped(METRICS_DROP_REFUSED);
    log_debug("refusing a connection from %s: %s", ip, why);
    c->state = CONN_CLOSED;
    uv_close((uv_handle_t *)&c->tcp, on_reject_closed);
}

static void peer_ip(uv_tcp_t *t, char out[46]) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    out[0] = '\0';
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) != 0) return;
    if (ss.ss_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)&ss, out, 46);
    else
        uv_ip4_name((struct sockaddr_in *)&ss, out, 46);
}

static void on_connection(uv_stream_t *listener, int status) {
    server *s = listener->data;
    if (status < 0) {
        log_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    conn *c = xcalloc(1, sizeof(*c));
    c->srv = s;
    c->refs = 1;
    c->endpoint = -1;
    wire_init(&c->w, s->lim.max_message);
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        refuse(s, c, "?", "accept failed");
        return;
    }
    char ip[46];
    peer_ip(&c->tcp, ip);
    server_addr *a = addr_get(s, ip);
    const char *why = NULL;
    if (a->pending >= s->lim.max_pending_per_addr) {
        why = "too many connections from this address are still in their handshake";
    } else if (s->nall >= s->lim.max_connections) {
        conn *victim = s->http_oldest;
        while (victim && victim->doomed)
            victim = victim->next_http;
        if (victim) {
            s->refused++;
            metrics_conn_dropped(METRICS_DROP_EVICTED);
            log_debug("at the connection limit: dropping the oldest handshake (%s)",
                      server__peer(victim));
            conn_abort(victim);
        } else {
            why = "the server is at its connection limit";
        }
    }
    if (why) {
        if (a->conns == 0) {
            strmap_del(&s->addrs, a->ip);
            free(a);
        }
        refuse(s, c, ip, why);
        return;
    }
    a->conns++;
    a->pending++;
    c->addr = a;
    c->since_ms = c->last_rx_ms = clock_mono_ms();
    track(s, c);
    http_link(s, c);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    if (s->tls && !(c->tls = tls_conn_new(s->tls, NULL))) {
        conn_abort(c);
        return;
    }
    server__read_start(s, c);
}

/* ---- the end of each loop turn ---- */

static conn *pop(conn **head, conn *(*next)(conn *)) {
    conn *c = *head;
    *head = next(c);
    return c;
}
static conn *next_resume(conn *c) {
    return c->next_resume;
}
static conn *next_doomed(conn *c) {
    return c->next_doomed;
}
static conn *next_dirty(conn *c) {
    return c->next_dirty;
}

static void on_turn_end(uv_check_t *h) {
    server *s = h->data;
    for (;;) {
        conn *c;
        if (s->resumed) {
            c = pop(&s->resumed, next_resume);
            c->resume = 0;
            conn__pump(c);
            wire_keep_rest(&c->w); /* frees the own buffer once drained */
        } else if (s->doomed) {
            c = pop(&s->doomed, next_doomed);
            conn__close_now(c);
        } else if (s->dirty) {
            c = pop(&s->dirty, next_dirty);
            conn__flush(c);
        } else {
            return;
        }
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

void server__doom(server *s, conn *c) {
    conn_ref(c);
    c->next_doomed = s->doomed;
    s->doomed = c;
}

void server__resume(server *s, conn *c) {
    if (c->resume) return;
    c->resume = 1;
    conn_ref(c);
    c->next_resume = s->resumed;
    s->resumed = c;
}

static void on_sweep(uv_timer_t *t) {
    server *s = t->data;
    uint64_t now = clock_mono_ms();
    for (size_t i = 0; i < s->nall; i++)
        conn__sweep(s->all[i], now);
}

int server_start(server *s, uv_loop_t *loop, const char *host, int port, const server_handlers *h,
                 const server_limits *lim) {
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->h = *h;
    s->lim = *lim;
    strmap_init(&s->addrs);
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (rc != 0) return rc;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG, on_connection);
    if (rc != 0) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    uv_check_init(loop, &s->turn_end);
    s->turn_end.data = s;
    uv_check_start(&s->turn_end, on_turn_end);
    uv_timer_init(loop, &s->sweeper);
    s->sweeper.data = s;
    uv_timer_start(&s->sweeper, on_sweep, 1000, 1000);
    uv_unref((uv_handle_t *)&s->sweeper); /* it alone does not keep the loop alive */
    s->listening = 1;
    return 0;
}

void server_use_tls(server *s, tls_ctx *t) {
    s->tls = t;
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
    conn **copy = xmalloc((n ? n : 1) * sizeof(*copy));
    if (n) memcpy(copy, s->all, n * sizeof(*copy)); /* s->all is NULL before the first */
    for (size_t i = 0; i < n; i++)
        conn_ref(copy[i]);
    for (size_t i = 0; i < n; i++)
        fn(copy[i], code, reason);
    for (size_t i = 0; i < n; i++)
        conn_unref(copy[i]);
    free(copy);
}

static void close_one(conn *c, uint16_t code, const char *reason) {
    if (c->state == CONN_WS)
        conn_close_ws(c, code, reason);
    else if (c->state == CONN_HTTP && c->w.mode != WIRE_HTTP_HELD)
        conn_abort(c);
}

/* Shutdown only (never inside application code): closes at once. */
static void abort_one(conn *c, uint16_t code, const char *reason) {
    (void)code, (void)reason;
    conn__close_now(c);
}

void server_close_all(server *s, uint16_t code, const char *reason) {
    for_each_conn(s, close_one, code, reason);
}

void server_abort_all(server *s) {
    for_each_conn(s, abort_one, 0, NULL);
}

void server_free(server *s) {
    server_stop_accepting(s);
    if (s->turn_end.loop && !uv_is_closing((uv_handle_t *)&s->turn_end))
        uv_close((uv_handle_t *)&s->turn_end, NULL);
    if (s->sweeper.loop && !uv_is_closing((uv_handle_t *)&s->sweeper))
        uv_close((uv_handle_t *)&s->sweeper, NULL);
    free(s->all);
    s->all = NULL;
    s->nall = s->allcap = 0;
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&s->addrs, &i));)
        free(e->value);
    strmap_free(&s->addrs);
}
