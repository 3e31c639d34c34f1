/*
 * bus_redis: the chat server's side of the Redis Streams bus.
 *
 *   publish        XADD chat-messages MAXLEN ~ cap * r <record>
 *   publish_event  XADD chat-events MAXLEN ~ cap * e <event>
 *   inbox          XREAD BLOCK on chat-inbox.<server_id> and chat-events
 *
 * The dispatchers (dispatch_redis.c) turn chat-messages entries into
 * batches in our inbox. Two Redis links (engine/redis_link.h: connect
 * timeout, AUTH, reconnect with backoff): one only ever waits in XREAD
 * BLOCK, the other publishes, so a blocked read never delays a publish.
 * The read starts after the last entries that existed when open() ran
 * (looked up synchronously, start-up only) and then always names the last
 * id it saw, so nothing is skipped between two reads. A publish made while
 * the publishing link is down, or lost with it before Redis answered,
 * waits in a bounded queue and is sent again when the link is up
 * (at-least-once: clients de-duplicate by message_id); only past
 * PENDING_MAX records is one dropped (it is in the store: clients recover
 * it with fetch_history). Every payload is sealed with the cluster secret,
 * and what is read must carry its mac (bus/inbox.h drops the rest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bus/bus.h"
#include "core/alloc.h"
#include "bus/inbox.h"
#include "bus/record.h"
#include "core/log.h"
#include "engine/redis_link.h"

#define TOPIC "chat-messages"
#define EVENTS "chat-events"
#define INBOX_PREFIX "chat-inbox."
#define TOPIC_MAXLEN 1000000
#define EVENTS_MAXLEN 10000
#define READ_COUNT 256
#define READ_BLOCK_MS 5000
#define OPEN_TIMEOUT_MS 2000
#define PENDING_MAX 100000

/* One XADD, kept until Redis has answered it. */
typedef struct pub_entry {
    struct pub_entry *next;
    struct bus *b;
    const char *stream;
    int maxlen;
    const char *field;
    size_t len;
    char data[];
} pub_entry;

struct bus {
    uv_loop_t *loop;
    bus_handler h;
    unsigned server_id;
    const record_key *key;
    redis_link *pub, *sub;
    int closing, links; /* links: opened and not yet closed */
    char inbox[64];
    char inbox_id[64], events_id[64]; /* last entry ids seen */
    record_buf enc;
    unsigned dropped;                  /* publishes lost past PENDING_MAX, logged once per outage */
    int pub_was_up;                    /* the publishing link has been up before (a reconnect) */
    pub_entry *pending, *pending_tail; /* waiting for a connection */
    size_t npending;
};

static const redisReply *field(const redisReply *kv, const char *name) {
    if (!kv || kv->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->type == REDIS_REPLY_STRING ? kv->element[i + 1] : NULL;
    return NULL;
}

static void read_inbox(bus *b);

/* reply: nil (BLOCK timed out) or [[stream, [[id, [field, value...]]...]]...] */
static void on_read(redisAsyncContext *ac, void *r, void *priv) {
    bus *b = priv;
    const redisReply *reply = r;
    if (!reply || b->closing || ac != redis_link_ctx(b->sub)) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("bus_redis: XREAD: %s", reply->str);
        redis_link_reset(b->sub); /* reconnect in a moment rather than spin */
        return;
    }
    for (size_t s = 0; reply->type == REDIS_REPLY_ARRAY && s < reply->elements; s++) {
        const redisReply *st = reply->element[s];
        if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
            st->element[0]->type != REDIS_REPLY_STRING || st->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        int is_events = strcmp(st->element[0]->str, EVENTS) == 0;
        char *last = is_events ? b->events_id : b->inbox_id;
        const redisReply *entries = st->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            const redisReply *e = entries->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING)
                continue;
            snprintf(last, sizeof(b->inbox_id), "%s", e->element[0]->str);
            const redisReply *v = field(e->element[1], is_events ? "e" : "b");
            if (is_events)
                bus_inbox_event(&b->h, b->key, b->server_id, v ? v->str : NULL, v ? v->len : 0,
                                EVENTS);
            else
                bus_inbox_batch(&b->h, b->key, v ? v->str : NULL, v ? v->len : 0, b->inbox);
            if (b->closing || ac != redis_link_ctx(b->sub)) /* a handler closed the bus */
                return;
        }
    }
    read_inbox(b);
}

static void read_inbox(bus *b) {
    redis_link_command(b->sub, on_read, b, "XREAD COUNT %d BLOCK %d STREAMS %s %s %s %s",
                       READ_COUNT, READ_BLOCK_MS, b->inbox, EVENTS, b->inbox_id, b->events_id);
}

static void sub_up(void *data) {
    read_inbox(data);
}

/* ---- publishing ---- */

static void queue_pending(bus *b, pub_entry *e) {
    if (b->npending >= PENDING_MAX) {
        if (b->dropped++ == 0)
            log_warn("bus_redis: Redis is down and %d records wait: dropping new ones",
                     PENDING_MAX);
        free(e);
        return;
    }
    e->next = NULL;
    if (b->pending_tail)
        b->pending_tail->next = e;
    else
        b->pending = e;
    b->pending_tail = e;
    b->npending++;
}

static void on_published(redisAsyncContext *ac, void *r, void *priv) {
    const redisReply *reply = r;
    pub_entry *e = priv;
    bus *b = e->b;
    if (!reply && !b->closing) { /* the connection went before Redis answered: again later */
        queue_pending(b, e);
        return;
    }
    if (reply && reply->type == REDIS_REPLY_ERROR) log_warn("bus_redis: XADD: %s", reply->str);
    free(e);
}

static void send_entry(bus *b, pub_entry *e) {
    if (redis_link_command(b->pub, on_published, e, "XADD %s MAXLEN ~ %d * %s %b", e->stream,
                           e->maxlen, e->field, e->data, e->len) != 0)
        queue_pending(b, e);
}

/* The publishing link is up: send what waited. */
static void pub_up(void *data) {
    bus *b = data;
    if (b->pub_was_up && (b->npending || b->dropped))
        log_info("bus_redis: publishing again (%zu records were waiting, %u dropped)", b->npending,
                 b->dropped);
    b->pub_was_up = 1;
    b->dropped = 0;
    pub_entry *e = b->pending;
    b->pending = b->pending_tail = NULL;
    b->npending = 0;
    while (e) { /* send_entry queues again whatever cannot go (the link went again) */
        pub_entry *next = e->next;
        send_entry(b, e);
        e = next;
    }
}

static void add_entry(bus *b, const char *stream, int maxlen, const char *fieldname) {
    pub_entry *e = xmalloc(sizeof(*e) + b->enc.len);
    e->b = b;
    e->stream = stream;
    e->maxlen = maxlen;
    e->field = fieldname;
    e->len = b->enc.len;
    memcpy(e->data, b->enc.data, b->enc.len);
    send_entry(b, e);
}

static void redis_publish(bus *b, const bus_record *r) {
    if (record_encode(&b->enc, r, b->key)) {
        log_warn("bus_redis: record not encodable, dropped");
        return;
    }
    add_entry(b, TOPIC, TOPIC_MAXLEN, "r");
}

static void redis_publish_event(bus *b, const bus_event *e) {
    bus_event mine = *e;
    mine.server_id = b->server_id;
    if (record_event_encode(&b->enc, b->key, &mine)) {
        log_warn("bus_redis: event not encodable, dropped");
        return;
    }
    add_entry(b, EVENTS, EVENTS_MAXLEN, "e");
}

/* ---- opening and closing ---- */

/* Synchronously (start-up only) finds the last id of a stream, "0-0" if empty. */
static int last_id(redisContext *c, const char *stream, char *out, size_t outlen) {
    redisReply *r = redisCommand(c, "XREVRANGE %s + - COUNT 1", stream);
    int rc = -1;
    if (r && r->type == REDIS_REPLY_ARRAY) {
        rc = 0;
        if (r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
            r->element[0]->elements >= 1 && r->element[0]->element[0]->type == REDIS_REPLY_STRING)
            snprintf(out, outlen, "%s", r->element[0]->element[0]->str);
        else
            snprintf(out, outlen, "0-0");
    }
    freeReplyObject(r);
    return rc;
}

static void free_bus(bus *b) {
    while (b->pending) {
        pub_entry *next = b->pending->next;
        free(b->pending);
        b->pending = next;
    }
    record_buf_free(&b->enc);
    free(b);
}

static void link_closed(void *data) {
    bus *b = data;
    if (--b->links == 0) free_bus(b);
}

static int redis_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    char err[512];
    redisContext *c;
    if (!cfg || !cfg->redis || !cfg->key) return -1;
    if (redis_link_connect_sync(cfg->redis, OPEN_TIMEOUT_MS, &c, err, sizeof(err)) != 0) {
        log_error("bus_redis: %s", err);
        return -1;
    }
    bus *b = calloc(1, sizeof(*b));
    if (!b) {
        redisFree(c);
        return -1;
    }
    b->loop = loop;
    b->h = *h;
    b->server_id = cfg->server_id;
    b->key = cfg->key;
    snprintf(b->inbox, sizeof(b->inbox), INBOX_PREFIX "%u", cfg->server_id);
    int rc = last_id(c, b->inbox, b->inbox_id, sizeof(b->inbox_id)) ||
             last_id(c, EVENTS, b->events_id, sizeof(b->events_id));
    redisFree(c);
    if (rc) {
        log_error("bus_redis: cannot read the inbox %s", b->inbox);
        free_bus(b);
        return -1;
    }
    redis_link_handler ph = {b, pub_up, NULL, link_closed}, sh = {b, sub_up, NULL, link_closed};
    if (redis_link_open(&b->pub, loop, cfg->redis, "bus_redis", &ph) != 0 ||
        (b->links++, redis_link_open(&b->sub, loop, cfg->redis, "bus_redis inbox", &sh) != 0)) {
        b->closing = 1;
        if (b->links)
            redis_link_close(b->pub); /* frees b when closed */
        else
            free_bus(b);
        return -1;
    }
    b->links++;
    *out = b;
    return 0;
}

static void redis_close(bus *b) {
    b->closing = 1;
    /* Pending callbacks run now (or right after the running one) with no
     * reply and see closing; b goes when both links are gone. */
    redis_link_close(b->pub);
    redis_link_close(b->sub);
}

const bus_backend bus_redis_backend = {"redis", redis_open, redis_publish, redis_publish_event,
                                       redis_close};
