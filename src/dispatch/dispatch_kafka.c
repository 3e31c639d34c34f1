/*
 * dispatch_kafka: the dispatcher over Kafka (see dispatcher.h).
 *
 * One poll at a time: take up to batch_max records from the consumer
 * queue, route them (dispatcher.c), produce one batch per chat server to
 * partition 0 of `chat-inbox.<id>` (always the same partition: the chat
 * server reads partitions independently, and a channel's messages must
 * reach it in order, also from one poll to the next), wait for every
 * delivery report, and only then store and commit the poll's offsets.
 * Offsets are stored manually
 * (enable.auto.offset.store=false), so a commit — ours after each poll,
 * or librdkafka's automatic one, or the final one in consumer_close — can
 * only cover records whose batches the brokers already hold.
 *
 * A record that fails the HMAC check or does not parse is skipped (its
 * offset is committed with the poll's) and counted (bus/inbox.h).
 *
 * The handles, their settings (brokers, SASL, TLS) and the loop's
 * wake-ups are a kafka_link (engine/kafka_link.h), as in bus_kafka.c; the
 * loop never blocks, except in open and close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "core/log.h"
#include "core/alloc.h"
#include "dispatch/dispatcher.h"
#include "engine/kafka_link.h"

#define RETRY_MS 500

enum { IDLE, ROUTING, PRODUCING, WAITING }; /* WAITING: route again at the next tick */

struct dispatcher {
    uv_loop_t *loop;
    usermap *map;
    dispatcher_stats st;
    const record_key *key;
    unsigned batch_max;
    kafka_link *link;
    rd_kafka_t *producer; /* the link's */
    int closing;
    /* the poll in flight */
    int state;
    dispatcher__poll *cur;
    rd_kafka_topic_partition_list_t *offsets; /* next offset per partition */
    size_t outstanding;                       /* delivery reports awaited */
    unsigned char *failed;                    /* per batch of cur: must be produced again */
    uint64_t retry_at;
};

static void produce_batch(dispatcher *d, size_t i) {
    const dispatcher__batch *b = &d->cur->out[i];
    char topic[64];
    snprintf(topic, sizeof(topic), DISPATCH_INBOX_PREFIX "%u", b->server_id);
    rd_kafka_resp_err_t e;
    do {
        e = rd_kafka_producev(d->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(b->buf.data, b->buf.len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(d->producer, 10); /* rare: the local queue is full */
    } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (e) { /* cannot even be queued: treat like a failed delivery */
        log_warn("dispatcher: produce to %s: %s", topic, rd_kafka_err2str(e));
        d->failed[i] = 1;
        return;
    }
    d->outstanding++;
}

static void finish_poll(dispatcher *d) {
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(kafka_link_consumer(d->link), d->offsets);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_commit(kafka_link_consumer(d->link), NULL, 1);
    else /* the partitions were revoked meanwhile: their next owner redoes them */
        log_info("dispatcher: offsets not stored: %s", rd_kafka_err2str(e));
    d->st.polls++;
    d->st.records += d->cur->n;
    for (size_t i = 0; i < d->cur->n_out; i++) {
        d->st.batches++;
        d->st.deliveries += d->cur->out[i].deliveries;
    }
    dispatcher__poll_free(d->cur);
    d->cur = NULL;
    free(d->failed);
    d->failed = NULL;
    rd_kafka_topic_partition_list_destroy(d->offsets);
    d->offsets = NULL;
    d->state = IDLE;
}

/* All delivery reports of the poll are in: produce the failed batches
 * again, or acknowledge the poll. */
static void produce_settled(dispatcher *d) {
    size_t again = 0;
    for (size_t i = 0; i < d->cur->n_out; i++)
        again += d->failed[i];
    if (again == 0) {
        finish_poll(d);
        return;
    }
    for (size_t i = 0; i < d->cur->n_out; i++)
        if (d->failed[i]) {
            d->failed[i] = 0;
            produce_batch(d, i);
        }
    if (d->outstanding == 0) { /* nothing could be queued: try later */
        for (size_t i = 0; i < d->cur->n_out; i++)
            d->failed[i] = 1;
        d->state = WAITING;
        d->retry_at = uv_now(d->loop) + RETRY_MS;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    dispatcher *d = opaque;
    if (d->closing || d->state != PRODUCING) return;
    size_t i = (size_t)(uintptr_t)m->_private;
    if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
        m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        log_warn("dispatcher: %s does not exist; its batch is dropped",
                 rd_kafka_topic_name(m->rkt));
    } else if (m->err) {
        log_warn("dispatcher: batch to %s failed (%s); producing it again",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        d->failed[i] = 1;
    }
    if (--d->outstanding == 0) produce_settled(d);
}

static void on_routed(void *data, dispatcher__poll *p, int status) {
    dispatcher *d = data;
    if (status < 0) {
        log_warn("dispatcher: usermap unavailable (%d); retrying", status);
        d->state = WAITING;
        d->retry_at = uv_now(d->loop) + RETRY_MS;
        return;
    }
    d->state = PRODUCING;
    d->failed = xcalloc(p->n_out ? p->n_out : 1, 1);
    d->outstanding = 0;
    for (size_t i = 0; i < p->n_out; i++)
        produce_batch(d, i);
    if (d->outstanding == 0) produce_settled(d);
}

/* Takes up to batch_max records into a new poll; 1 when a poll started. */
static int start_poll(dispatcher *d) {
    rd_kafka_message_t **msgs = malloc(d->batch_max * sizeof(*msgs));
    if (!msgs) return 0;
    ssize_t n =
        rd_kafka_consume_batch_queue(kafka_link_consumer_queue(d->link), 0, msgs, d->batch_max);
    size_t good = 0;
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("dispatcher: consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!d->cur) {
            d->cur = dispatcher__poll_new(d->key);
            d->offsets = rd_kafka_topic_partition_list_new(8);
            if (!d->cur || !d->offsets) abort();
        }
        if (dispatcher__poll_add(d->cur, m->payload, m->len, DISPATCH_TOPIC) != 0) d->st.rejected++;
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(d->offsets, topic, m->partition);
        if (!tp) tp = rd_kafka_topic_partition_list_add(d->offsets, topic, m->partition);
        if (m->offset + 1 > tp->offset) tp->offset = m->offset + 1;
        good++;
        rd_kafka_message_destroy(m);
    }
    free(msgs);
    if (good == 0) return 0;
    d->state = ROUTING;
    dispatcher__poll_route(d->cur, d->map, on_routed, d);
    return 1;
}

static void pump(void *data) {
    dispatcher *d = data;
    rd_kafka_poll(d->producer, 0); /* delivery reports */
    if (d->state == WAITING && uv_now(d->loop) >= d->retry_at) {
        if (d->cur->n_out && d->failed) {
            d->state = PRODUCING;
            produce_settled(d);
        } else {
            d->state = ROUTING;
            dispatcher__poll_route(d->cur, d->map, on_routed, d);
        }
    }
    /* Routing completes synchronously when no lookup is needed: keep going
     * while polls finish on the spot, so the queue is drained. */
    while (d->state == IDLE && start_poll(d)) {
    }
}

static void free_dispatcher(void *data) {
    dispatcher *d = data;
    dispatcher__poll_free(d->cur);
    free(d->failed);
    if (d->offsets) rd_kafka_topic_partition_list_destroy(d->offsets);
    free(d);
}

static int kafka_open(dispatcher **out, uv_loop_t *loop, const dispatcher_config *cfg, usermap *m) {
    static const char *const producer_kv[] = {"linger.ms", "2", NULL};
    static const char *const consumer_kv[] = {"group.id",
                                              DISPATCH_GROUP,
                                              "enable.auto.commit",
                                              "true",
                                              "auto.commit.interval.ms",
                                              "1000",
                                              "enable.auto.offset.store",
                                              "false",
                                              "auto.offset.reset",
                                              "earliest",
                                              "enable.partition.eof",
                                              "false",
                                              "session.timeout.ms",
                                              "6000",
                                              "heartbeat.interval.ms",
                                              "1000",
                                              NULL};
    if (!cfg || !cfg->kafka || !cfg->key) return -1;
    dispatcher *d = calloc(1, sizeof(*d));
    if (!d) return -1;
    d->loop = loop;
    d->map = m;
    d->key = cfg->key;
    d->batch_max = cfg->batch_max ? cfg->batch_max : 500;
    kafka_link_handler kh = {d, pump, on_delivery, free_dispatcher};
    if (kafka_link_open(&d->link, loop, cfg->kafka, "dispatcher", producer_kv, consumer_kv, &kh)) {
        free_dispatcher(d);
        return -1;
    }
    d->producer = kafka_link_producer(d->link);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, DISPATCH_TOPIC, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(kafka_link_consumer(d->link), topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        log_error("dispatcher: kafka: subscribe: %s", rd_kafka_err2str(e));
        d->closing = 1;
        kafka_link_close(d->link); /* frees d once closed */
        return -1;
    }
    *out = d;
    return 0;
}

static void kafka_stats(const dispatcher *d, dispatcher_stats *out) {
    *out = d->st;
}

static void kafka_close(dispatcher *d) {
    d->closing = 1;
    kafka_link_close(d->link); /* commits the stored offsets, leaves the group, frees d */
}

const dispatcher_backend dispatcher_kafka_backend = {"kafka", kafka_open, kafka_stats, kafka_close};
