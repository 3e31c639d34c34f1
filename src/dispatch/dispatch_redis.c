/*
 * dispatch_redis: the dispatcher over Redis Streams (see dispatcher.h).
 *
 * One async hiredis connection, one poll at a time:
 *
 *   XREADGROUP GROUP message-dispatcher-group <me> COUNT n BLOCK ms
 *       STREAMS chat-messages >                       (new entries)
 *   or XAUTOCLAIM chat-messages message-dispatcher-group <me> <idle> <cursor>
 *       COUNT n                                        (entries a dead member
 *                                                       left pending)
 *   route (dispatcher.c), then XADD chat-inbox.<id> * b <batch> per server,
 *   and only when every XADD succeeded: XACK chat-messages <group> <ids...>
 *
 * An entry is acknowledged only after its batches are in the inboxes, so
 * a dispatcher killed mid-poll leaves its entries pending; after
 * claim_idle_ms any member claims them with XAUTOCLAIM (which it runs
 * every claim_idle_ms / 2) and delivers them: at-least-once. A lost
 * connection abandons the poll the same way and reconnects; a missing
 * group (Redis restarted empty) is created again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include "core/log.h"
#include "dispatch/dispatcher.h"

#define INBOX_MAXLEN 100000
#define BLOCK_MS 1000
#define RETRY_MS 500
#define CONNECT_TIMEOUT_MS 2000

enum { IDLE, READING, ROUTING, ROUTE_WAIT, PRODUCING, PRODUCE_WAIT, ACKING };

struct dispatcher {
    uv_loop_t *loop;
    usermap *map;
    dispatcher_stats st;
    char host[256];
    int port;
    char consumer[128];
    unsigned batch_max, claim_idle_ms;
    redisAsyncContext *ac; /* NULL while down */
    int connected;         /* ac has completed its connect */
    uv_timer_t timer;      /* reconnects and retries */
    int closing, state;
    uint64_t next_claim;
    char cursor[64]; /* XAUTOCLAIM position */
    /* the poll in flight */
    dispatcher__poll *cur;
    char **ids; /* stream ids of cur's entries (also the undecodable ones) */
    size_t n_ids, ids_cap;
    size_t outstanding;
    int failed;
};

static void step(dispatcher *d);
static void connect_redis(dispatcher *d);

static void drop_poll(dispatcher *d) {
    dispatcher__poll_free(d->cur); /* deferred if a lookup is in flight */
    d->cur = NULL;
    for (size_t i = 0; i < d->n_ids; i++)
        free(d->ids[i]);
    d->n_ids = 0;
    d->outstanding = 0;
    d->failed = 0;
    d->state = IDLE;
}

static void lost(dispatcher *d, const redisAsyncContext *ac);

static void on_connect(const redisAsyncContext *ac, int status) {
    dispatcher *d = ac->data;
    if (status == REDIS_OK && ac == d->ac) d->connected = 1;
    if (status != REDIS_OK) {
        log_warn("dispatcher: cannot connect to Redis %s:%d: %s", d->host, d->port, ac->errstr);
        lost(d, ac);
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    dispatcher *d = ac->data;
    if (!d->closing) log_warn("dispatcher: lost Redis %s:%d", d->host, d->port);
    lost(d, ac);
}

static void on_timer(uv_timer_t *t) {
    dispatcher *d = t->data;
    if (d->ac && !d->connected) { /* a connect that never completed (hiredis has no timeout) */
        redisAsyncContext *ac = d->ac;
        d->ac = NULL;
        redisAsyncFree(ac);
    }
    if (!d->ac) {
        connect_redis(d);
        return;
    }
    step(d);
}

static void lost(dispatcher *d, const redisAsyncContext *ac) {
    if (d->ac != ac) return;
    d->ac = NULL;
    d->connected = 0;
    drop_poll(d); /* its entries stay pending: XAUTOCLAIM brings them back */
    if (!d->closing) uv_timer_start(&d->timer, on_timer, RETRY_MS, 0);
}

static void wait_then_step(dispatcher *d, int state) {
    d->state = state;
    uv_timer_start(&d->timer, on_timer, RETRY_MS, 0);
}

static void on_group(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || d->closing || ac != d->ac) return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0)
        log_warn("dispatcher: XGROUP CREATE: %s", reply->str);
    d->state = IDLE;
    step(d);
}

static void create_group(dispatcher *d) {
    d->state = READING; /* busy until on_group */
    redisAsyncCommand(d->ac, on_group, d, "XGROUP CREATE %s %s 0 MKSTREAM", DISPATCH_TOPIC,
                      DISPATCH_GROUP);
}

static void connect_redis(dispatcher *d) {
    redisAsyncContext *ac = redisAsyncConnect(d->host, d->port);
    if (!ac || ac->err) {
        log_warn("dispatcher: Redis: %s", ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        uv_timer_start(&d->timer, on_timer, RETRY_MS, 0);
        return;
    }
    ac->data = d;
    redisLibuvAttach(ac, d->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    d->ac = ac;
    d->connected = 0;
    create_group(d);
    uv_timer_start(&d->timer, on_timer, CONNECT_TIMEOUT_MS, 0); /* watchdog until connected */
}

static void on_acked(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || d->closing || ac != d->ac) return;
    if (reply->type == REDIS_REPLY_ERROR) { /* entries stay pending; claimed again later */
        log_warn("dispatcher: XACK: %s", reply->str);
    } else {
        d->st.polls++;
        d->st.records += d->cur->n;
        for (size_t i = 0; i < d->cur->n_out; i++) {
            d->st.batches++;
            d->st.deliveries += d->cur->out[i].deliveries;
        }
    }
    drop_poll(d);
    step(d);
}

static void ack(dispatcher *d) {
    size_t argc = 3 + d->n_ids;
    const char **argv = malloc(argc * sizeof(*argv));
    if (!argv) abort();
    argv[0] = "XACK";
    argv[1] = DISPATCH_TOPIC;
    argv[2] = DISPATCH_GROUP;
    for (size_t i = 0; i < d->n_ids; i++)
        argv[3 + i] = d->ids[i];
    d->state = ACKING;
    redisAsyncCommandArgv(d->ac, on_acked, d, (int)argc, argv, NULL);
    free(argv);
}

static void produce(dispatcher *d);

static void on_added(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || d->closing || ac != d->ac || d->state != PRODUCING) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("dispatcher: XADD to an inbox: %s", reply->str);
        d->failed = 1;
    }
    if (--d->outstanding > 0) return;
    if (d->failed) /* write them all again (duplicates are allowed), later */
        wait_then_step(d, PRODUCE_WAIT);
    else
        ack(d);
}

static void produce(dispatcher *d) {
    d->state = PRODUCING;
    d->failed = 0;
    d->outstanding = d->cur->n_out;
    for (size_t i = 0; i < d->cur->n_out; i++) {
        const dispatcher__batch *b = &d->cur->out[i];
        redisAsyncCommand(d->ac, on_added, d, "XADD " DISPATCH_INBOX_PREFIX "%u MAXLEN ~ %d * b %b",
                          b->server_id, INBOX_MAXLEN, b->buf.data, b->buf.len);
    }
    if (d->outstanding == 0) ack(d);
}

static void on_routed(void *data, dispatcher__poll *p, int status) {
    dispatcher *d = data;
    (void)p;
    if (status < 0) {
        log_warn("dispatcher: usermap unavailable (%d); retrying", status);
        wait_then_step(d, ROUTE_WAIT);
        return;
    }
    produce(d);
}

/* Takes the entries of an XREADGROUP / XAUTOCLAIM reply into a new poll:
 * entries = [[id, [field, value, ...]] | nil, ...]. */
static void take_entries(dispatcher *d, const redisReply *entries, int claimed) {
    for (size_t i = 0; entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements;
         i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue; /* deleted by trimming (Redis < 7 reports nil) */
        if (!d->cur && !(d->cur = dispatcher__poll_new())) abort();
        if (d->n_ids == d->ids_cap) {
            d->ids_cap = d->ids_cap ? d->ids_cap * 2 : 64;
            if (!(d->ids = realloc(d->ids, d->ids_cap * sizeof(*d->ids)))) abort();
        }
        d->ids[d->n_ids++] = strdup(e->element[0]->str);
        const redisReply *kv = e->element[1], *v = NULL;
        for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2)
            if (kv->element[k]->type == REDIS_REPLY_STRING &&
                strcmp(kv->element[k]->str, "r") == 0 &&
                kv->element[k + 1]->type == REDIS_REPLY_STRING)
                v = kv->element[k + 1];
        if (!v || dispatcher__poll_add(d->cur, v->str, v->len)) {
            d->st.rejected++;
            log_warn("dispatcher: skipping malformed entry %s", e->element[0]->str);
        }
        d->st.claimed += claimed;
    }
}

static void on_entries(redisAsyncContext *ac, void *r, void *priv, int claim) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || d->closing || ac != d->ac) return;
    d->state = IDLE;
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("dispatcher: %s: %s", claim ? "XAUTOCLAIM" : "XREADGROUP", reply->str);
        if (strncmp(reply->str, "NOGROUP", 7) == 0)
            create_group(d);
        else
            wait_then_step(d, IDLE);
        return;
    }
    if (claim && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(d->cursor, sizeof(d->cursor), "%s", reply->element[0]->str);
        if (strcmp(d->cursor, "0-0") == 0) /* a full pass: rest a while */
            d->next_claim = uv_now(d->loop) + d->claim_idle_ms / 2;
        take_entries(d, reply->element[1], 1);
    } else if (!claim && reply->type == REDIS_REPLY_ARRAY) {
        for (size_t s = 0; s < reply->elements; s++) {
            const redisReply *st = reply->element[s];
            if (st->type == REDIS_REPLY_ARRAY && st->elements == 2)
                take_entries(d, st->element[1], 0);
        }
    }
    if (d->n_ids == 0) {
        step(d);
        return;
    }
    if (!d->cur) /* only undecodable entries: just acknowledge them */
        d->cur = dispatcher__poll_new();
    d->state = ROUTING;
    dispatcher__poll_route(d->cur, d->map, on_routed, d);
}

static void on_read(redisAsyncContext *ac, void *r, void *priv) {
    on_entries(ac, r, priv, 0);
}
static void on_claim(redisAsyncContext *ac, void *r, void *priv) {
    on_entries(ac, r, priv, 1);
}

/* Starts the next action for the current state, unless one is in flight. */
static void step(dispatcher *d) {
    if (d->closing || !d->ac) return;
    switch (d->state) {
    case ROUTE_WAIT:
        d->state = ROUTING;
        dispatcher__poll_route(d->cur, d->map, on_routed, d);
        return;
    case PRODUCE_WAIT:
        produce(d);
        return;
    case IDLE:
        break;
    default:
        return;
    }
    d->state = READING;
    if (uv_now(d->loop) >= d->next_claim)
        redisAsyncCommand(d->ac, on_claim, d, "XAUTOCLAIM %s %s %s %u %s COUNT %u", DISPATCH_TOPIC,
                          DISPATCH_GROUP, d->consumer, d->claim_idle_ms, d->cursor, d->batch_max);
    else
        redisAsyncCommand(d->ac, on_read, d,
                          "XREADGROUP GROUP %s %s COUNT %u BLOCK %d STREAMS %s >", DISPATCH_GROUP,
                          d->consumer, d->batch_max, BLOCK_MS, DISPATCH_TOPIC);
}

static int redis_open(dispatcher **out, uv_loop_t *loop, const dispatcher_config *cfg, usermap *m) {
    if (!cfg || !cfg->redis_host || strlen(cfg->redis_host) >= sizeof(((dispatcher *)0)->host))
        return -1;
    dispatcher *d = calloc(1, sizeof(*d));
    if (!d) return -1;
    d->loop = loop;
    d->map = m;
    snprintf(d->host, sizeof(d->host), "%s", cfg->redis_host);
    d->port = cfg->redis_port;
    d->batch_max = cfg->batch_max ? cfg->batch_max : 500;
    d->claim_idle_ms = cfg->claim_idle_ms ? cfg->claim_idle_ms : 10000;
    if (cfg->consumer) {
        snprintf(d->consumer, sizeof(d->consumer), "%s", cfg->consumer);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(d->consumer, sizeof(d->consumer), "%s-%ld", host, (long)getpid());
    }
    snprintf(d->cursor, sizeof(d->cursor), "0-0");
    d->next_claim = uv_now(loop); /* claim first: a restarted member's own leftovers */
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    connect_redis(d);
    *out = d;
    return 0;
}

static void redis_stats(const dispatcher *d, dispatcher_stats *out) {
    *out = d->st;
}

static void on_timer_closed(uv_handle_t *h) {
    dispatcher *d = h->data;
    free(d->ids);
    free(d);
}

static void redis_close(dispatcher *d) {
    d->closing = 1;
    uv_timer_stop(&d->timer);
    if (d->ac) {
        redisAsyncContext *ac = d->ac;
        d->ac = NULL;
        redisAsyncFree(ac); /* pending callbacks see closing and return */
    }
    drop_poll(d);
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

const dispatcher_backend dispatcher_redis_backend = {"redis", redis_open, redis_stats, redis_close};
