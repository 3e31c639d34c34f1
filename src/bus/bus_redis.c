/*
 * bus_redis: the chat server's side of the Redis Streams bus.
 *
 *   publish        XADD chat-messages MAXLEN ~ cap * r <record>
 *   publish_event  XADD chat-events MAXLEN ~ cap * e <event>
 *   inbox          XREAD BLOCK on chat-inbox.<server_id> and chat-events
 *
 * The dispatchers (dispatch_redis.c) turn chat-messages entries into
 * batches in our inbox. Two async hiredis connections on the loop (libuv
 * adapter): one only ever waits in XREAD BLOCK, the other publishes, so a
 * blocked read never delays a publish. The read starts after the last
 * entries that existed when open() ran (looked up synchronously, start-up
 * only) and then always names the last id it saw, so nothing is skipped
 * between two reads. Lost connections are re-made every RECONNECT_MS. A
 * publish made while the publishing connection is down, or lost with it
 * before Redis answered, waits in a bounded queue and is sent again on
 * reconnect (at-least-once: clients de-duplicate by message_id); only past
 * PENDING_MAX records is one dropped (it is in the store: clients recover
 * it with fetch_history).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include "bus/bus.h"
#include "bus/record.h"
#include "core/log.h"

#define TOPIC "chat-messages"
#define EVENTS "chat-events"
#define INBOX_PREFIX "chat-inbox."
#define TOPIC_MAXLEN 1000000
#define EVENTS_MAXLEN 10000
#define READ_COUNT 256
#define READ_BLOCK_MS 5000
#define RECONNECT_MS 500
#define CONNECT_TIMEOUT_MS 2000 /* hiredis has none: a connect may hang while Redis restarts */
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
    char host[256];
    int port;
    redisAsyncContext *pub, *sub; /* NULL while down */
    int pub_ok, sub_ok;           /* their connect has completed */
    uv_timer_t timer;             /* reconnects */
    int closing;
    char inbox[64];
    char inbox_id[64], events_id[64]; /* last entry ids seen */
    record_buf enc;
    unsigned dropped; /* publishes lost past PENDING_MAX, logged once per outage */
    pub_entry *pending, *pending_tail; /* waiting for a connection */
    size_t npending;
};

static void on_timer(uv_timer_t *t);

static void lost(bus *b, const redisAsyncContext *ac) {
    if (b->pub == ac) b->pub = NULL, b->pub_ok = 0;
    if (b->sub == ac) b->sub = NULL, b->sub_ok = 0;
    if (!b->closing && !uv_is_active((uv_handle_t *)&b->timer))
        uv_timer_start(&b->timer, on_timer, RECONNECT_MS, 0);
}

static void flush_pending(bus *b);

static void on_connect(const redisAsyncContext *ac, int status) {
    bus *b = ac->data;
    if (status == REDIS_OK) {
        if (ac == b->sub) b->sub_ok = 1;
        if (ac == b->pub) {
            b->pub_ok = 1;
            if (b->npending)
                log_info("bus_redis: publishing again (%zu records were waiting, %u dropped)",
                         b->npending, b->dropped);
            b->dropped = 0;
            flush_pending(b);
        }
        return;
    }
    log_warn("bus_redis: cannot connect to Redis %s:%d: %s", b->host, b->port, ac->errstr);
    lost(b, ac);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    bus *b = ac->data;
    if (!b->closing) log_warn("bus_redis: lost Redis %s:%d", b->host, b->port);
    lost(b, ac);
}

static redisAsyncContext *make_conn(bus *b) {
    redisAsyncContext *ac = redisAsyncConnect(b->host, b->port);
    if (!ac) return NULL;
    if (ac->err) {
        log_warn("bus_redis: %s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = b;
    redisLibuvAttach(ac, b->loop);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

static const redisReply *field(const redisReply *kv, const char *name) {
    if (!kv || kv->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, name) == 0)
            return kv->element[i + 1]->type == REDIS_REPLY_STRING ? kv->element[i + 1] : NULL;
    return NULL;
}

static void deliver_batch(bus *b, const redisReply *v) {
    record_batch_iter it;
    record_decoded d;
    if (!v || record_batch_open(&it, v->str, v->len) < 0) {
        log_warn("bus_redis: skipping a malformed inbox entry");
        return;
    }
    while (record_batch_next(&it, &d) == 1) {
        b->h.deliver(b->h.data, &d.r);
        record_decoded_clear(&d);
    }
}

static void deliver_event(bus *b, const redisReply *v) {
    record_event e;
    if (!v || record_event_decode(v->str, v->len, &e)) {
        log_warn("bus_redis: skipping a malformed event");
        return;
    }
    if (e.server_id != b->server_id && b->h.event) b->h.event(b->h.data, e.kind, e.arg);
}

static void read_inbox(bus *b);

/* reply: nil (BLOCK timed out) or [[stream, [[id, [field, value...]]...]]...] */
static void on_read(redisAsyncContext *ac, void *r, void *priv) {
    bus *b = priv;
    const redisReply *reply = r;
    if (!reply || b->closing || ac != b->sub) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("bus_redis: XREAD: %s", reply->str);
        redisAsyncDisconnect(ac); /* reconnect in a moment rather than spin */
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
            if (is_events)
                deliver_event(b, field(e->element[1], "e"));
            else
                deliver_batch(b, field(e->element[1], "b"));
            if (b->closing || ac != b->sub) /* a handler closed the bus */
                return;
        }
    }
    read_inbox(b);
}

static void read_inbox(bus *b) {
    if (b->sub)
        redisAsyncCommand(b->sub, on_read, b, "XREAD COUNT %d BLOCK %d STREAMS %s %s %s %s",
                          READ_COUNT, READ_BLOCK_MS, b->inbox, EVENTS, b->inbox_id, b->events_id);
}

static void connect_sub(bus *b) {
    if ((b->sub = make_conn(b))) read_inbox(b);
}

static void connect_pub(bus *b) {
    b->pub = make_conn(b);
}

static void on_timer(uv_timer_t *t) {
    bus *b = t->data;
    /* A connect that has not completed by now never will: start again. */
    redisAsyncContext *stuck;
    if (b->pub && !b->pub_ok) stuck = b->pub, b->pub = NULL, redisAsyncFree(stuck);
    if (b->sub && !b->sub_ok) stuck = b->sub, b->sub = NULL, redisAsyncFree(stuck);
    if (!b->pub) connect_pub(b);
    if (!b->sub) connect_sub(b);
    if (!b->pub_ok || !b->sub_ok)
        uv_timer_start(&b->timer, on_timer, b->pub && b->sub ? CONNECT_TIMEOUT_MS : RECONNECT_MS, 0);
}

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

static void on_timer_closed(uv_handle_t *h) {
    bus *b = h->data;
    record_buf_free(&b->enc);
    free(b);
}

static int redis_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    if (!cfg || !cfg->redis_host || strlen(cfg->redis_host) >= sizeof(((bus *)0)->host)) return -1;
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(cfg->redis_host, cfg->redis_port, tv);
    if (!c || c->err) {
        log_error("bus_redis: cannot connect to Redis %s:%d: %s", cfg->redis_host, cfg->redis_port,
                  c ? c->errstr : "out of memory");
        if (c) redisFree(c);
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
    snprintf(b->host, sizeof(b->host), "%s", cfg->redis_host);
    b->port = cfg->redis_port;
    snprintf(b->inbox, sizeof(b->inbox), INBOX_PREFIX "%u", cfg->server_id);
    int rc = last_id(c, b->inbox, b->inbox_id, sizeof(b->inbox_id)) ||
             last_id(c, EVENTS, b->events_id, sizeof(b->events_id));
    redisFree(c);
    if (rc) {
        log_error("bus_redis: cannot read the inbox %s", b->inbox);
        free(b);
        return -1;
    }
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    connect_pub(b);
    connect_sub(b);
    uv_timer_start(&b->timer, on_timer, b->pub && b->sub ? CONNECT_TIMEOUT_MS : RECONNECT_MS, 0);
    *out = b;
    return 0;
}

static void queue_pending(bus *b, pub_entry *e) {
    if (b->npending >= PENDING_MAX) {
        if (b->dropped++ == 0)
            log_warn("bus_redis: Redis is down and %d records wait: dropping new ones", PENDING_MAX);
        free(e);
        return;
    }
    e->next = NULL;
    if (b->pending_tail) b->pending_tail->next = e;
    else b->pending = e;
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
    if (redisAsyncCommand(b->pub, on_published, e, "XADD %s MAXLEN ~ %d * %s %b", e->stream,
                          e->maxlen, e->field, e->data, e->len) != REDIS_OK)
        queue_pending(b, e);
}

static void flush_pending(bus *b) {
    pub_entry *e = b->pending;
    b->pending = b->pending_tail = NULL;
    b->npending = 0;
    while (e && b->pub) {
        pub_entry *next = e->next;
        send_entry(b, e);
        e = next;
    }
    while (e) { /* the connection went again meanwhile */
        pub_entry *next = e->next;
        queue_pending(b, e);
        e = next;
    }
}

static void add_entry(bus *b, const char *stream, int maxlen, const char *fieldname) {
    pub_entry *e = malloc(sizeof(*e) + b->enc.len);
    if (!e) abort();
    e->b = b;
    e->stream = stream;
    e->maxlen = maxlen;
    e->field = fieldname;
    e->len = b->enc.len;
    memcpy(e->data, b->enc.data, b->enc.len);
    if (b->pub) send_entry(b, e);
    else queue_pending(b, e);
}

static void redis_publish(bus *b, const bus_record *r) {
    if (record_encode(&b->enc, r)) {
        log_warn("bus_redis: record not encodable, dropped");
        return;
    }
    add_entry(b, TOPIC, TOPIC_MAXLEN, "r");
}

static void redis_publish_event(bus *b, const char *kind, const char *arg) {
    if (record_event_encode(&b->enc, b->server_id, kind, arg)) {
        log_warn("bus_redis: event not encodable, dropped");
        return;
    }
    add_entry(b, EVENTS, EVENTS_MAXLEN, "e");
}

static void redis_close(bus *b) {
    b->closing = 1;
    uv_timer_stop(&b->timer);
    /* Frees call pending callbacks with no reply and on_disconnect; both
     * see closing and do nothing. */
    if (b->pub) redisAsyncFree(b->pub);
    if (b->sub) redisAsyncFree(b->sub);
    b->pub = b->sub = NULL;
    while (b->pending) {
        pub_entry *next = b->pending->next;
        free(b->pending);
        b->pending = next;
    }
    uv_close((uv_handle_t *)&b->timer, on_timer_closed);
}

const bus_backend bus_redis_backend = {"redis", redis_open, redis_publish, redis_publish_event,
                                       redis_close};
