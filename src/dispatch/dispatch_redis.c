/*
 * dispatch_redis: the dispatcher over Redis Streams (see dispatcher.h).
 *
 * One dispatcher reads the stream at a time: the one holding the lease
 * (the key chat-dispatcher-lease, LEASE_MS, renewed between polls). A
 * stream read by a group of several consumers hands each entry to any of
 * them, so two dispatchers would deliver one channel's records in two
 * interleaved streams, out of order; with the lease every chat server
 * gets a channel's records in the order they were published. The other
 * dispatchers stand by, asking for the lease every RETRY_MS, and one
 * takes over within LEASE_MS of the holder's death (at once when it
 * closes: it gives the lease back). Who takes the lease first claims
 * every entry still pending in the group (XAUTOCLAIM with no idle time:
 * the former holder's poll in flight), older than anything it reads next.
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
 * connection abandons the poll the same way; the Redis link
 * (engine/redis_link.h) reconnects, with AUTH, and the group is created
 * again if it is missing (Redis restarted empty). An entry whose record
 * fails the HMAC check or does not parse is acknowledged and dropped
 * (bus/inbox.h counts it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "bus/inbox.h"
#include "core/alloc.h"
#include "core/log.h"
#include "dispatch/dispatcher.h"
#include "engine/redis_link.h"

#define INBOX_MAXLEN 100000
#define BLOCK_MS 1000
#define RETRY_MS 500
#define LEASE_KEY "chat-dispatcher-lease"
#define LEASE_MS 5000 /* > BLOCK_MS + a poll, with room: renewed after LEASE_MS / 3 */

/* KEYS[1] the lease, ARGV[1] this dispatcher, ARGV[2] LEASE_MS:
 * 1 taken, 2 renewed, 0 held by another. */
#define LEASE_SCRIPT                                                                               \
    "local v = redis.call('GET', KEYS[1]) "                                                        \
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 2 end "                   \
    "if v then return 0 end "                                                                      \
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1"
/* Gives the lease back if it is still ours. */
#define RELEASE_SCRIPT                                                                             \
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

enum { IDLE, LEASING, READING, ROUTING, ROUTE_WAIT, PRODUCING, PRODUCE_WAIT, ACKING };

struct dispatcher {
    uv_loop_t *loop;
    usermap *map;
    dispatcher_stats st;
    const record_key *key;
    char consumer[128];
    unsigned batch_max, claim_idle_ms;
    redis_link *link;
    uv_timer_t timer; /* retries */
    int closing, state;
    int handles; /* the timer and the link, until closed */
    uint64_t next_claim;
    char cursor[64];         /* XAUTOCLAIM position */
    uint64_t renew_at;       /* loop time the lease must be renewed by; 0: not held */
    int claim_all;           /* the lease was just taken: claim every pending entry */
    redis_link_config redis; /* for giving the lease back on close */
    /* the poll in flight */
    dispatcher__poll *cur;
    char **ids; /* stream ids of cur's entries (also the undecodable ones) */
    size_t n_ids, ids_cap;
    size_t outstanding;
    int failed;
};

static void step(dispatcher *d);

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

static void on_timer(uv_timer_t *t) {
    step(t->data);
}

/* The link went down: the poll is abandoned, its entries stay pending
 * (XAUTOCLAIM brings them back). */
static void link_down(void *data) {
    dispatcher *d = data;
    uv_timer_stop(&d->timer);
    d->renew_at = 0; /* ask again: it may have expired meanwhile */
    drop_poll(d);
}

/* ac is the context a reply came on: 1 when it is still the live one. */
static int current(const dispatcher *d, const redisAsyncContext *ac) {
    return !d->closing && ac == redis_link_ctx(d->link);
}

static void wait_then_step(dispatcher *d, int state) {
    d->state = state;
    uv_timer_start(&d->timer, on_timer, RETRY_MS, 0);
}

static void on_group(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || !current(d, ac)) return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0)
        log_warn("dispatcher: XGROUP CREATE: %s", reply->str);
    d->state = IDLE;
    step(d);
}

static void create_group(dispatcher *d) {
    d->state = READING; /* busy until on_group */
    if (redis_link_command(d->link, on_group, d, "XGROUP CREATE %s %s 0 MKSTREAM", DISPATCH_TOPIC,
                           DISPATCH_GROUP) != 0)
        d->state = IDLE; /* down again: the next up starts over */
}

/* Connected (again): make sure the group exists, then poll. */
static void link_up(void *data) {
    dispatcher *d = data;
    drop_poll(d);
    create_group(d);
}

static void on_acked(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || !current(d, ac)) return;
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
    const char **argv = xmalloc(argc * sizeof(*argv));
    argv[0] = "XACK";
    argv[1] = DISPATCH_TOPIC;
    argv[2] = DISPATCH_GROUP;
    for (size_t i = 0; i < d->n_ids; i++)
        argv[3 + i] = d->ids[i];
    d->state = ACKING;
    redis_link_command_argv(d->link, on_acked, d, (int)argc, argv,
                            NULL); /* down: link_down resets */
    free(argv);
}

static void produce(dispatcher *d);

static void on_added(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || !current(d, ac) || d->state != PRODUCING) return;
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
        if (redis_link_command(d->link, on_added, d,
                               "XADD " DISPATCH_INBOX_PREFIX "%u MAXLEN ~ %d * b %b", b->server_id,
                               INBOX_MAXLEN, b->buf.data, b->buf.len) != 0)
            return; /* down: link_down drops the poll */
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

static void on_lease(redisAsyncContext *ac, void *r, void *priv) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || !current(d, ac)) return;
    if (reply->type != REDIS_REPLY_INTEGER || reply->integer == 0) { /* error, or held */
        if (reply->type == REDIS_REPLY_ERROR) log_warn("dispatcher: lease: %s", reply->str);
        if (d->renew_at) log_info("dispatcher: the lease went to another dispatcher; standing by");
        d->renew_at = 0;
        wait_then_step(d, IDLE);
        return;
    }
    if (reply->integer == 1 || !d->renew_at) {
        /* taken, or kept across a lost link: first what is left pending
         * (the former holder's poll, or our own abandoned one) */
        log_info("dispatcher: holding the lease; dispatching");
        d->claim_all = 1;
        d->next_claim = uv_now(d->loop);
        snprintf(d->cursor, sizeof(d->cursor), "0-0");
    }
    d->renew_at = uv_now(d->loop) + LEASE_MS / 3;
    d->state = IDLE;
    step(d);
}

static void lease(dispatcher *d) {
    d->state = LEASING;
    if (redis_link_command(d->link, on_lease, d, "EVAL %s 1 %s %s %d", LEASE_SCRIPT, LEASE_KEY,
                           d->consumer, LEASE_MS) != 0)
        d->state = IDLE; /* down: link_up starts over */
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
        if (!d->cur && !(d->cur = dispatcher__poll_new(d->key))) abort();
        if (d->n_ids == d->ids_cap) {
            d->ids_cap = d->ids_cap ? d->ids_cap * 2 : 64;
            d->ids = xrealloc(d->ids, d->ids_cap * sizeof(*d->ids));
        }
        d->ids[d->n_ids++] = xstrdup(e->element[0]->str);
        const redisReply *kv = e->element[1], *v = NULL;
        for (size_t k = 0; kv->type == REDIS_REPLY_ARRAY && k + 1 < kv->elements; k += 2)
            if (kv->element[k]->type == REDIS_REPLY_STRING &&
                strcmp(kv->element[k]->str, "r") == 0 &&
                kv->element[k + 1]->type == REDIS_REPLY_STRING)
                v = kv->element[k + 1];
        if (!v) {
            d->st.rejected++;
            bus_inbox_reject(RECORD_EINVAL, DISPATCH_TOPIC);
        } else if (dispatcher__poll_add(d->cur, v->str, v->len, DISPATCH_TOPIC) != 0) {
            d->st.rejected++;
        }
        d->st.claimed += claimed;
    }
}

static void on_entries(redisAsyncContext *ac, void *r, void *priv, int claim) {
    dispatcher *d = priv;
    const redisReply *reply = r;
    if (!reply || !current(d, ac)) return;
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
        if (strcmp(d->cursor, "0-0") == 0) { /* a full pass: rest a while */
            d->next_claim = uv_now(d->loop) + d->claim_idle_ms / 2;
            d->claim_all = 0;
        }
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
        d->cur = dispatcher__poll_new(d->key);
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
    if (d->closing || !redis_link_is_up(d->link)) return;
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
    if (uv_now(d->loop) >= d->renew_at) {
        lease(d);
        return;
    }
    d->state = READING;
    int rc;
    if (uv_now(d->loop) >= d->next_claim)
        rc = redis_link_command(d->link, on_claim, d, "XAUTOCLAIM %s %s %s %u %s COUNT %u",
                                DISPATCH_TOPIC, DISPATCH_GROUP, d->consumer,
                                d->claim_all ? 0 : d->claim_idle_ms, d->cursor, d->batch_max);
    else
        rc = redis_link_command(
            d->link, on_read, d, "XREADGROUP GROUP %s %s COUNT %u BLOCK %d STREAMS %s >",
            DISPATCH_GROUP, d->consumer, d->batch_max, BLOCK_MS, DISPATCH_TOPIC);
    if (rc != 0) d->state = IDLE;
}

static void free_dispatcher(dispatcher *d) {
    free(d->ids);
    free(d);
}

static void on_closed(void *data) {
    dispatcher *d = data;
    if (--d->handles == 0) free_dispatcher(d);
}

static void on_timer_closed(uv_handle_t *h) {
    on_closed(h->data);
}

static int redis_open(dispatcher **out, uv_loop_t *loop, const dispatcher_config *cfg, usermap *m) {
    if (!cfg || !cfg->redis || !cfg->key) return -1;
    dispatcher *d = calloc(1, sizeof(*d));
    if (!d) return -1;
    d->loop = loop;
    d->map = m;
    d->key = cfg->key;
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
    d->redis = *cfg->redis;
    redis_link_handler h = {d, link_up, link_down, on_closed};
    if (redis_link_open(&d->link, loop, cfg->redis, "dispatcher", &h) != 0) {
        free_dispatcher(d);
        return -1;
    }
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    d->handles = 2;
    *out = d;
    return 0;
}

static void redis_stats(const dispatcher *d, dispatcher_stats *out) {
    *out = d->st;
}

/* Gives the lease back, so that a standby takes over at once instead of
 * after LEASE_MS (on its own short connection: the link drops what it has
 * not sent when it closes). Best effort: otherwise the lease expires. */
static void release_lease(dispatcher *d) {
    redisContext *c;
    char err[160];
    if (!d->renew_at || redis_link_connect_sync(&d->redis, 1000, &c, err, sizeof err) != 0) return;
    freeReplyObject(redisCommand(c, "EVAL %s 1 %s %s", RELEASE_SCRIPT, LEASE_KEY, d->consumer));
    redisFree(c);
}

static void redis_close(dispatcher *d) {
    d->closing = 1;
    release_lease(d);
    uv_timer_stop(&d->timer);
    redis_link_close(d->link); /* pending callbacks see closing and return */
    drop_poll(d);
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

const dispatcher_backend dispatcher_redis_backend = {"redis", redis_open, redis_stats, redis_close};
