/*
 * crowd: setup of R channels x M users with one WebSocket each (see
 * crowd.h). Frames are recognised by cheap substring checks: the hot path
 * (a chat_message carrying our "T<ns>" content) never builds a JSON tree;
 * setup replies are rare and only looked at for their type.
 */
#define _GNU_SOURCE /* memmem */
#include "crowd.h"

#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREATES_IN_FLIGHT 8

static const char CONTENT_MARK[] = "\"content\":\"T";

static void start_connects(crowd *c);

static crowd *crowd_of(wsconn *w) {
    return w->user;
}

static void note_error(crowd *c, const char *p, size_t n) {
    c->errors++;
    if (memmem(p, n, "rate_limited", 12)) c->rate_limited++;
    if (!c->first_error[0]) snprintf(c->first_error, sizeof c->first_error, "%.*s", (int)n, p);
}

/* channel_created: {"type":"channel_created","channel":{"channel_id":"…",…}} */
static void on_created(crowd *c, crowd_member *m, const char *p, size_t n) {
    const char *k = memmem(p, n, "\"channel_id\":\"", 14);
    if (!k || c->chan_state[m->channel] == 2) return;
    k += 14;
    const char *e = memchr(k, '"', (size_t)(p + n - k));
    if (!e || e - k >= (long)sizeof c->chan_id[0]) return;
    memcpy(c->chan_id[m->channel], k, (size_t)(e - k));
    c->chan_id[m->channel][e - k] = '\0';
    c->chan_state[m->channel] = 2;
    c->created++;
    c->creating--;
}

static void on_text(wsconn *w, char *p, size_t n) {
    crowd *c = crowd_of(w);
    crowd_member *m = &c->m[w->id];
    if (memmem(p, n, CONTENT_MARK, sizeof CONTENT_MARK - 1)) {
        crowd__on_delivery(c, m, p, n);
        return;
    }
    if (memmem(p, n, "\"type\":\"channels_list\"", 22)) {
        if (m->lists < 255) m->lists++;
        if (m->lists == 1) { /* connected and authenticated */
            m->up = 1;
            c->up++;
            c->connecting--;
            start_connects(c);
        } else if (m->lists == 2) {
            c->ready++;
        }
        return;
    }
    if (memmem(p, n, "\"type\":\"channel_created\"", 24)) {
        on_created(c, m, p, n);
        return;
    }
    if (memmem(p, n, "\"type\":\"error\"", 14)) note_error(c, p, n);
}

static void on_open(wsconn *w) {
    (void)w;
}

static void on_close(wsconn *w, int err, int http_status) {
    crowd *c = crowd_of(w);
    crowd_member *m = &c->m[w->id];
    if (!m->up && !m->failed) c->connecting--;
    if (!m->failed && (c->phase_active >= 0)) {
        m->failed = 1;
        c->failed++;
        if (http_status) c->last_http_status = http_status;
        if (err) c->last_err = err;
    }
    if (c->next_connect < c->nmembers) start_connects(c);
}

static const wsconn_cbs CBS = {on_open, on_text, on_close};

static void start_connects(crowd *c) {
    const bench_opts *o = c->o;
    while (c->connecting < (size_t)o->connect_window && c->next_connect < c->nmembers) {
        size_t i = c->next_connect++;
        crowd_member *m = &c->m[i];
        if (!c->tokens[i]) {
            m->failed = 1;
            c->failed++;
            continue;
        }
        char path[1024];
        snprintf(path, sizeof path, "/chat?token=%s", c->tokens[i]);
        m->ws.user = c;
        m->ws.id = (uint32_t)i;
        if (wsconn_open(c->loop, &m->ws, &c->chat_at[i], bench_source(o, i), o->host, path, &CBS) <
            0) {
            m->failed = 1;
            c->failed++;
            continue;
        }
        c->connecting++;
    }
}

static void on_tick(uv_timer_t *t) {
    (void)t; /* wakes the loop so deadlines are checked; traffic.c adds work */
}

int crowd_run_until(crowd *c, int (*done)(crowd *c), double deadline) {
    while (!done(c)) {
        if (bench_now_s() >= deadline) return 0;
        uv_run(c->loop, UV_RUN_ONCE);
    }
    return 1;
}

static int all_connected(crowd *c) {
    bench_progress("connect: %zu/%zu up, %zu failed", c->up, c->nmembers, c->failed);
    return c->up + c->failed >= c->nmembers && c->connecting == 0;
}

static void send_creates(crowd *c) {
    size_t per = c->per_channel;
    for (size_t r = 0; r < c->nchannels && c->creating < CREATES_IN_FLIGHT; r++) {
        if (c->chan_state[r] != 0) continue;
        json_t *parts = json_array();
        char name[64];
        for (size_t k = 1; k < per; k++) {
            users_name(name, sizeof name, c->o->prefix, r * per + k);
            json_array_append_new(parts, json_string(name));
        }
        snprintf(name, sizeof name, "%sc%zu", c->o->prefix, r);
        json_t *req = json_pack("{s:s,s:s,s:o}", "type", "create_channel", "name", name,
                                "participants", parts);
        if (c->o->direct) json_object_set_new(req, "kind", json_string("direct"));
        char *txt = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        if (!txt) continue;
        wsconn_send_text(&c->m[r * per].ws, txt, strlen(txt));
        free(txt);
        c->chan_state[r] = 1;
        c->creating++;
    }
}

static int all_ready(crowd *c) {
    send_creates(c);
    bench_progress("channels: %zu/%zu created, %zu/%zu members ready", c->created, c->nchannels,
                   c->ready, c->nmembers);
    return c->created == c->nchannels && c->ready >= c->nmembers;
}

int crowd_setup(crowd *c, const bench_opts *o, size_t channels, size_t members, size_t senders,
                json_t *setup, const char **why) {
    memset(c, 0, sizeof *c);
    c->o = o;
    c->loop = uv_default_loop();
    c->nchannels = channels;
    c->per_channel = members;
    c->nmembers = channels * members;
    c->nsenders = senders > c->nmembers ? c->nmembers : senders;
    c->phase_active = 0;
    c->m = calloc(c->nmembers, sizeof *c->m);
    c->s = calloc(c->nsenders ? c->nsenders : 1, sizeof *c->s);
    c->tokens = calloc(c->nmembers, sizeof *c->tokens);
    c->chat_at = calloc(c->nmembers, sizeof *c->chat_at);
    c->chan_id = calloc(channels, sizeof *c->chan_id);
    c->chan_state = calloc(channels, 1);
    if (!c->m || !c->s || !c->tokens || !c->chat_at || !c->chan_id || !c->chan_state) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < c->nmembers; i++) {
        c->m[i].channel = (uint32_t)(i / members);
        c->m[i].sender = -1;
    }
    /* sender k: channel k % R, member (k / R) % M — spread over channels first */
    for (size_t k = 0; k < c->nsenders; k++) {
        size_t mi = (k % channels) * members + (k / channels) % members;
        c->s[k].member = (uint32_t)mi;
        c->m[mi].sender = (int32_t)k;
    }
    uv_timer_init(c->loop, &c->tick);
    c->tick.data = c;
    uv_timer_start(&c->tick, on_tick, 50, 50);

    users_result ur;
    users_login(c->loop, &o->dst, o->host, o->prefix, o->password, 0, c->nmembers, 0,
                o->concurrency, o->setup_timeout, c->tokens, c->chat_at, &ur);
    if (setup) {
        json_object_set_new(setup, "users", json_integer((json_int_t)c->nmembers));
        json_object_set_new(setup, "users_registered", json_integer((json_int_t)ur.registered));
        json_object_set_new(setup, "users_existing", json_integer((json_int_t)ur.existed));
        json_object_set_new(setup, "login_s", json_real(ur.seconds));
    }
    if (ur.ok != c->nmembers) {
        bench_log("login: %zu of %zu users failed (last HTTP status %d)", ur.failed, c->nmembers,
                  ur.last_status);
        *why = "could not log every user in";
        return -1;
    }
    double t0 = bench_now_s();
    start_connects(c);
    crowd_run_until(c, all_connected, t0 + o->setup_timeout);
    bench_progress_done();
    if (setup) json_object_set_new(setup, "connect_s", json_real(bench_now_s() - t0));
    if (c->up != c->nmembers) {
        bench_log("connect: %zu of %zu sockets failed (last HTTP status %d, last error %s)",
                  c->nmembers - c->up, c->nmembers, c->last_http_status,
                  c->last_err ? uv_strerror(c->last_err) : "none");
        *why = "could not open every WebSocket";
        return -1;
    }
    t0 = bench_now_s();
    int ok = crowd_run_until(c, all_ready, t0 + o->setup_timeout);
    bench_progress_done();
    if (setup) json_object_set_new(setup, "channels_s", json_real(bench_now_s() - t0));
    if (!ok || c->failed) {
        bench_log("channels: %zu/%zu created, %zu/%zu ready, %zu sockets lost; first error: %s",
                  c->created, c->nchannels, c->ready, c->nmembers, c->failed,
                  c->first_error[0] ? c->first_error : "none");
        *why = "channels were not ready in time";
        return -1;
    }
    c->errors = 0;
    c->first_error[0] = '\0';
    return 0;
}

static int all_closed(crowd *c) {
    size_t open = 0;
    for (size_t i = 0; i < c->nmembers; i++)
        open += c->m[i].ws.state != WSCONN_IDLE;
    return open == 0;
}

void crowd_close(crowd *c) {
    if (!c->m) return;
    c->phase_active = -1; /* closes from here on are expected */
    for (size_t i = 0; i < c->nmembers; i++)
        wsconn_close(&c->m[i].ws);
    crowd_run_until(c, all_closed, bench_now_s() + 5);
    if (!uv_is_closing((uv_handle_t *)&c->tick)) uv_close((uv_handle_t *)&c->tick, NULL);
    uv_run(c->loop, UV_RUN_NOWAIT);
    if (c->tokens)
        for (size_t i = 0; i < c->nmembers; i++)
            free(c->tokens[i]);
    free(c->tokens);
    free(c->chat_at);
    free(c->m);
    free(c->s);
    free(c->chan_id);
    free(c->chan_state);
    free(c->frame);
    memset(c, 0, sizeof *c);
}
