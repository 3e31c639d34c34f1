/*
 * bus_test_util: the workload and the checks shared by test_bus_kafka.c and
 * test_bus_redis.c. Two fake chat servers (ids 1 and 2); users u0..u19,
 * u0..u9 on server 1, u10..u19 on server 2, u5 on both (two devices);
 * "ghost" is on no server. Record i goes to three users of channel c<i%3>.
 * A sink collects what one chat server's bus delivers, as canonical
 * strings "frame|channel|presence|sorted,recipients", so a check is a
 * comparison of two sorted string arrays.
 *
 * Header-only (static functions): each test program gets its own copy.
 */
#ifndef CHATD_TESTS_BUS_TEST_UTIL_H
#define CHATD_TESTS_BUS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "bus/bus.h"

#define BT_USERS 20

static const char *bt_user(int k) {
    static char names[BT_USERS][8];
    snprintf(names[k], sizeof(names[k]), "u%d", k);
    return names[k];
}

static int bt_user_on(const char *name, unsigned server) {
    if (strcmp(name, "ghost") == 0) return 0;
    int k = atoi(name + 1);
    return k == 5 || (server == 1 ? k < 10 : k >= 10);
}

/* A synchronous connection to Redis, logged in with password (or none). */
static redisContext *bt_redis(int port, const char *password) {
    redisContext *c = redisConnect("127.0.0.1", port);
    if (c && !c->err && password) freeReplyObject(redisCommand(c, "AUTH %s", password));
    if (c && c->err) {
        redisFree(c);
        c = NULL;
    }
    return c;
}

/* Writes the usermap keys (usermap.h's layout) for the users above. */
static int bt_populate(int port, const char *password) {
    redisContext *c = bt_redis(port, password);
    if (!c) return -1;
    for (int k = 0; k < BT_USERS; k++)
        for (unsigned s = 1; s <= 2; s++)
            if (bt_user_on(bt_user(k), s)) {
                redisReply *r = redisCommand(c, "SADD user:%s:servers %u", bt_user(k), s);
                freeReplyObject(r);
                r = redisCommand(c, "HINCRBY server:%u:users %s 1", s, bt_user(k));
                freeReplyObject(r);
            }
    redisFree(c);
    return 0;
}

typedef struct bt_msg {
    char chan[16], payload[32];
    const char *names[3];
    size_t n;
    int presence;
    rcbuf *buf;
} bt_msg;

static void bt_make(bt_msg *m, int i) {
    memset(m, 0, sizeof(*m));
    snprintf(m->chan, sizeof(m->chan), "c%d", i % 3);
    snprintf(m->payload, sizeof(m->payload), "frame-%d", i);
    if (i % 11 == 0) { /* nobody connected anywhere (record 0 opens the first poll) */
        m->names[m->n++] = "ghost";
    } else {
        m->names[m->n++] = bt_user(i % BT_USERS);
        if ((i * 7 + 3) % BT_USERS != i % BT_USERS)
            m->names[m->n++] = bt_user((i * 7 + 3) % BT_USERS);
        m->names[m->n++] = "ghost";
    }
    m->presence = i % 5 == 0;
    m->buf = rcbuf_copy(m->payload, strlen(m->payload));
}

/* Publishes records [from, to) through b. */
static void bt_publish(const bus_backend *be, bus *b, int from, int to) {
    for (int i = from; i < to; i++) {
        bt_msg m;
        bt_make(&m, i);
        bus_record r = {i % 4 == 3 ? NULL : m.chan, m.buf, m.names, m.n, m.presence, NULL, 0};
        be->publish(b, &r);
        rcbuf_unref(m.buf);
    }
}

static int bt_cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *bt_canon(const char *frame, size_t flen, const char *chan, int presence,
                      const char *const *names, size_t n) {
    const char *sorted[8];
    char *s = malloc(256);
    if (n > 8) n = 8;
    memcpy(sorted, names, n * sizeof(*names));
    qsort(sorted, n, sizeof(*sorted), bt_cmp_str);
    int len = snprintf(s, 256, "%.*s|%s|%d|", (int)flen, frame, chan ? chan : "-", presence);
    for (size_t i = 0; i < n; i++)
        len += snprintf(s + len, 256 - (size_t)len, "%s%s", i ? "," : "", sorted[i]);
    return s;
}

typedef struct bt_sink {
    unsigned server;
    char **got;
    size_t n, cap;
    size_t events;
    char last_event[96];
} bt_sink;

static void bt_deliver(void *data, const bus_record *r) {
    bt_sink *s = data;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->got = realloc(s->got, s->cap * sizeof(*s->got));
    }
    s->got[s->n++] = bt_canon(rcbuf_payload(r->payload), r->payload->len, r->channel_id,
                              r->presence, (const char *const *)r->recipients, r->n_recipients);
}

/* A channel event with this id (the tests' events are channel events). */
static inline bus_event bt_channel_event(unsigned server_id, const char *id) {
    bus_event e = {.kind = BUS_EV_CHANNEL, .server_id = server_id};
    snprintf(e.u.channel.channel_id, sizeof e.u.channel.channel_id, "%s", id);
    return e;
}

static void bt_event(void *data, const bus_event *e) {
    bt_sink *s = data;
    s->events++;
    snprintf(s->last_event, sizeof(s->last_event), "%s:%s",
             e->kind == BUS_EV_CHANNEL ? "channel" : "other",
             e->kind == BUS_EV_CHANNEL ? e->u.channel.channel_id : "");
}

static void bt_sink_reset(bt_sink *s) {
    for (size_t i = 0; i < s->n; i++)
        free(s->got[i]);
    s->n = 0;
}

/* Number of deliveries server s should get for records [from, to). */
static size_t bt_expected_count(unsigned server, int from, int to) {
    size_t n = 0;
    for (int i = from; i < to; i++) {
        bt_msg m;
        bt_make(&m, i);
        for (size_t k = 0; k < m.n; k++)
            if (bt_user_on(m.names[k], server)) {
                n++;
                break;
            }
        rcbuf_unref(m.buf);
    }
    return n;
}

/* 0 when s holds exactly the deliveries of records [from, to) for its
 * server, each once; otherwise prints the first difference and returns -1. */
static int bt_check(bt_sink *s, int from, int to) {
    size_t ne = 0;
    char **exp = calloc((size_t)(to - from) + 1, sizeof(*exp));
    for (int i = from; i < to; i++) {
        bt_msg m;
        const char *mine[3];
        size_t n = 0;
        bt_make(&m, i);
        for (size_t k = 0; k < m.n; k++)
            if (bt_user_on(m.names[k], s->server)) mine[n++] = m.names[k];
        if (n)
            exp[ne++] = bt_canon(m.payload, strlen(m.payload), i % 4 == 3 ? NULL : m.chan,
                                 m.presence, mine, n);
        rcbuf_unref(m.buf);
    }
    qsort(exp, ne, sizeof(*exp), bt_cmp_str);
    qsort(s->got, s->n, sizeof(*s->got), bt_cmp_str);
    int rc = 0;
    if (ne != s->n) {
        fprintf(stderr, "server %u: expected %zu deliveries, got %zu\n", s->server, ne, s->n);
        rc = -1;
    }
    for (size_t i = 0; i < ne && i < s->n && rc == 0; i++)
        if (strcmp(exp[i], s->got[i])) {
            fprintf(stderr, "server %u: expected %s, got %s\n", s->server, exp[i], s->got[i]);
            rc = -1;
        }
    for (size_t i = 0; i < ne; i++)
        free(exp[i]);
    free(exp);
    return rc;
}

/* Runs loop until pred(arg) or timeout_ms; returns pred's last value. */
typedef int (*bt_pred)(void *arg);
typedef struct bt_wait {
    bt_pred pred;
    void *arg;
    uint64_t deadline;
    int ok;
} bt_wait;

static void bt_wait_tick(uv_timer_t *t) {
    bt_wait *w = t->data;
    if ((w->ok = w->pred(w->arg)) || uv_now(t->loop) >= w->deadline) uv_stop(t->loop);
}

static int bt_run_until(uv_loop_t *loop, bt_pred pred, void *arg, unsigned timeout_ms) {
    uv_timer_t t;
    uv_update_time(loop);
    bt_wait w = {pred, arg, uv_now(loop) + timeout_ms, 0};
    uv_timer_init(loop, &t);
    t.data = &w;
    uv_timer_start(&t, bt_wait_tick, 10, 10);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return w.ok;
}

/* Lets the loop run for ms (to finish closes, or to prove nothing comes). */
static int bt_never(void *arg) {
    return 0;
}
static void bt_run_for(uv_loop_t *loop, unsigned ms) {
    bt_run_until(loop, bt_never, NULL, ms);
}

#endif
