/*
 * dial: many /chat WebSockets with a handshake window and, optionally, the
 * `chat` client's reconnect back-off (see dial.h). A 5 ms ticker moves
 * sockets whose back-off has passed into the queue.
 */
#define _GNU_SOURCE /* memmem */
#include "dial.h"

#include "users.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 100 /* src/cli/session.c */
#define BACKOFF_MAX_MS 5000
#define TICK_MS 5

static void pump(dial_set *d);

static void enqueue(dial_set *d, size_t i) {
    d->queue[(d->qhead + d->qlen++) % d->n] = i;
    d->s[i].state = DIAL_QUEUED;
}

/* The attempt failed or the socket went down: back off, or give up. */
static void down(dial_set *d, dial_sock *s) {
    if (!d->reconnect || s->closing) {
        s->state = DIAL_FAILED;
        return;
    }
    unsigned base = s->backoff_ms ? s->backoff_ms : BACKOFF_MIN_MS;
    unsigned wait = base / 2 + randombytes_uniform(base / 2 + 1);
    s->backoff_ms = (uint16_t)(base * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base * 2);
    s->t_next = bench_now_ns() + (uint64_t)wait * 1000000u;
    s->state = DIAL_WAIT;
    d->waiting++;
}

static void on_open(wsconn *w) {
    (void)w;
}

static void on_text(wsconn *w, char *p, size_t n) {
    dial_set *d = w->user;
    dial_sock *s = &d->s[w->id];
    if (s->state != DIAL_CONNECTING) {
        if (d->on_frame) d->on_frame(d, w->id, p, n);
        return;
    }
    if (!memmem(p, n, "\"type\":\"channels_list\"", 22)) return;
    uint64_t now = bench_now_ns();
    s->state = DIAL_UP;
    s->backoff_ms = 0;
    d->connecting--;
    d->up++;
    d->t_last_up = now;
    stats_record(&d->lat, now - s->t_start);
    if (s->t_lost) {
        stats_record(&d->back, now - s->t_lost);
        s->t_lost = 0;
    }
    if (d->on_list) d->on_list(d, w->id, p, n);
    pump(d);
}

static void on_close(wsconn *w, int err, int http_status) {
    dial_set *d = w->user;
    dial_sock *s = &d->s[w->id];
    if (http_status && http_status != 101) d->last_http_status = http_status;
    if (err) d->last_err = err;
    if (s->state == DIAL_CONNECTING) {
        d->connecting--;
        if (!d->reconnect || s->closing) d->failed++;
        down(d, s);
    } else if (s->state == DIAL_UP) {
        d->up--;
        if (!s->closing) {
            d->lost++;
            s->t_lost = bench_now_ns();
        }
        down(d, s);
    }
    pump(d);
}

static const wsconn_cbs CBS = {on_open, on_text, on_close};

/* Starts queued sockets while the window allows. */
static void pump(dial_set *d) {
    for (size_t budget = d->qlen; budget && d->qlen && d->connecting < d->window; budget--) {
        size_t i = d->queue[d->qhead];
        d->qhead = (d->qhead + 1) % d->n;
        d->qlen--;
        dial_sock *s = &d->s[i];
        if (s->closing) continue;
        if (s->ws.state != WSCONN_IDLE) { /* its last attempt is still closing */
            enqueue(d, i);
            continue;
        }
        const char *tok = d->tokens[s->user];
        char path[1024];
        snprintf(path, sizeof path, "/chat?token=%s", tok ? tok : "");
        s->ws.user = d;
        s->ws.id = (uint32_t)i;
        s->t_start = bench_now_ns();
        s->state = DIAL_CONNECTING;
        d->connecting++;
        d->attempts++;
        const struct sockaddr_in *dst = d->at ? &d->at[s->user] : &d->o->dst;
        int rc = wsconn_open(d->loop, &s->ws, dst, bench_source(d->o, i), d->o->host, path, &CBS);
        if (rc < 0) { /* no callback comes: count it here */
            d->connecting--;
            d->last_err = rc;
            if (!d->reconnect) d->failed++;
            down(d, s);
        }
    }
}

static void on_tick(uv_timer_t *t) {
    dial_set *d = t->data;
    if (d->waiting) {
        uint64_t now = bench_now_ns();
        for (size_t i = 0; i < d->n && d->waiting; i++) {
            dial_sock *s = &d->s[i];
            if (s->state == DIAL_WAIT && s->t_next <= now) {
                d->waiting--;
                enqueue(d, i);
            }
        }
    }
    pump(d);
}

int dial_init(dial_set *d, const bench_opts *o, size_t n, char **tokens, struct sockaddr_in *at,
              size_t nusers) {
    memset(d, 0, sizeof *d);
    d->o = o;
    d->loop = uv_default_loop();
    d->n = n;
    d->tokens = tokens;
    d->at = at;
    d->nusers = nusers ? nusers : 1;
    d->window = (size_t)o->connect_window;
    d->s = calloc(n ? n : 1, sizeof *d->s);
    d->queue = calloc(n ? n : 1, sizeof *d->queue);
    if (!d->s || !d->queue || sodium_init() < 0) {
        free(d->s);
        free(d->queue);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        d->s[i].user = (uint32_t)(i % d->nusers);
    uv_timer_init(d->loop, &d->tick);
    d->tick.data = d;
    uv_timer_start(&d->tick, on_tick, TICK_MS, TICK_MS);
    return 0;
}

int dial_login(dial_set *d, const bench_opts *o, size_t n, size_t nusers, int existing, json_t *r,
               users_result *ur) {
    memset(d, 0, sizeof *d);
    char **tokens = calloc(nusers ? nusers : 1, sizeof *tokens);
    if (!tokens || dial_init(d, o, n, tokens, NULL, nusers) < 0) {
        free(tokens);
        return -1;
    }
    d->own_tokens = 1;
    users_login(d->loop, &o->dst, o->host, o->prefix, o->password, 0, nusers, existing,
                o->concurrency, o->setup_timeout, tokens, NULL, ur);
    json_object_set_new(r, "login_s", json_real(ur->seconds));
    return ur->ok == nusers ? 0 : -1;
}

void dial_open(dial_set *d, size_t first, size_t count) {
    for (size_t i = first; i < first + count && i < d->n; i++) {
        dial_sock *s = &d->s[i];
        if (s->state == DIAL_UP || s->state == DIAL_CONNECTING || s->state == DIAL_QUEUED) continue;
        if (s->state == DIAL_WAIT) d->waiting--;
        s->closing = 0;
        s->backoff_ms = 0;
        enqueue(d, i);
    }
    pump(d);
}

int dial_run_until(dial_set *d, int (*done)(dial_set *d), double deadline) {
    while (!done(d)) {
        if (bench_now_s() >= deadline) return 0;
        uv_run(d->loop, UV_RUN_ONCE);
    }
    return 1;
}

int dial_settled(dial_set *d) {
    return d->qlen == 0 && d->connecting == 0 && d->waiting == 0;
}

static int all_closed(dial_set *d) {
    for (size_t i = 0; i < d->n; i++)
        if (d->s[i].ws.state != WSCONN_IDLE) return 0;
    return 1;
}

void dial_close_all(dial_set *d) {
    d->qlen = 0;
    for (size_t i = 0; i < d->n; i++) {
        dial_sock *s = &d->s[i];
        s->closing = 1;
        if (s->state == DIAL_WAIT) d->waiting--;
        if (s->state == DIAL_QUEUED || s->state == DIAL_WAIT) s->state = DIAL_IDLE;
        wsconn_close(&s->ws);
    }
    dial_run_until(d, all_closed, bench_now_s() + 5);
}

void dial_free(dial_set *d) {
    if (!d->s) return;
    if (!uv_is_closing((uv_handle_t *)&d->tick)) uv_close((uv_handle_t *)&d->tick, NULL);
    uv_run(d->loop, UV_RUN_NOWAIT);
    for (size_t i = 0; d->own_tokens && i < d->nusers; i++)
        free(d->tokens[i]);
    if (d->own_tokens) free(d->tokens);
    free(d->s);
    free(d->queue);
    memset(d, 0, sizeof *d);
}
