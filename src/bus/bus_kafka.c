/*
 * bus_kafka: the chat server's side of the Kafka bus.
 *
 * publish produces one record (bus/record.h) to `chat-messages`, keyed by
 * channel id (by the recipient for per-user pushes) so one channel's
 * messages stay in order on one partition. The dispatchers turn those into
 * batches in this server's inbox topic `chat-inbox.<server_id>`, which we
 * read with assign() (no consumer group: the inbox has a single reader),
 * starting at the end as it was when open() ran. publish_event produces to
 * `chat-events`, which every chat server reads the same way (skipping its
 * own events). Payloads are sealed with the cluster secret; whatever is
 * read must carry its mac (bus/inbox.h drops the rest).
 *
 * The producer, the consumer, their settings (brokers, SASL, TLS) and the
 * loop's wake-ups are a kafka_link (engine/kafka_link.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "bus/bus.h"
#include "bus/inbox.h"
#include "bus/record.h"
#include "core/log.h"
#include "engine/kafka_link.h"

#define TOPIC "chat-messages"
#define EVENTS "chat-events"
#define INBOX_PREFIX "chat-inbox."
#define OPEN_TIMEOUT_MS 10000
#define DRAIN_MAX 256

struct bus {
    bus_handler h;
    kafka_link *link;
    rd_kafka_t *producer; /* the link's */
    unsigned server_id;
    const record_key *key;
    record_buf enc;
    char inbox[64];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    if (m->err)
        log_warn("bus_kafka: a record to %s was lost: %s", rd_kafka_topic_name(m->rkt),
                 rd_kafka_err2str(m->err));
}

/* Blocks (start-up only) until the topic's partitions are known, then adds
 * each at its current end to list, so nothing produced after open is missed. */
static int add_topic_end(bus *b, const char *topic, rd_kafka_topic_partition_list_t *list) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(b->producer, topic, NULL);
    const rd_kafka_metadata_t *md = NULL;
    int parts = 0;
    /* Asking the producer handle lets the broker auto-create the topic. */
    for (int tries = 0; tries < 20 && parts == 0; tries++) {
        if (md) rd_kafka_metadata_destroy(md), md = NULL;
        if (rd_kafka_metadata(b->producer, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            parts = md->topics[0].partition_cnt;
        if (parts == 0) usleep(250 * 1000);
    }
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    if (parts == 0) {
        log_error("bus_kafka: topic %s is not available", topic);
        return -1;
    }
    int rc = 0;
    for (int p = 0; p < parts && rc == 0; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            kafka_link_consumer(b->link), topic, p, &lo, &hi, OPEN_TIMEOUT_MS);
        if (e) {
            log_error("bus_kafka: %s[%d]: %s", topic, p, rd_kafka_err2str(e));
            rc = -1;
        } else {
            rd_kafka_topic_partition_list_add(list, topic, p)->offset = hi;
        }
    }
    return rc;
}

static int assign_at_end(bus *b) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    int rc = add_topic_end(b, b->inbox, list) || add_topic_end(b, EVENTS, list) ? -1 : 0;
    rd_kafka_resp_err_t e =
        rc ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_assign(kafka_link_consumer(b->link), list);
    if (e) {
        log_error("bus_kafka: assign: %s", rd_kafka_err2str(e));
        rc = -1;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

static void pump(void *data) {
    bus *b = data;
    rd_kafka_poll(b->producer, 0); /* delivery reports */
    rd_kafka_message_t *msgs[DRAIN_MAX];
    ssize_t n;
    do {
        n = rd_kafka_consume_batch_queue(kafka_link_consumer_queue(b->link), 0, msgs, DRAIN_MAX);
        for (ssize_t i = 0; i < n; i++) {
            const rd_kafka_message_t *m = msgs[i];
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                strcmp(rd_kafka_topic_name(m->rkt), EVENTS) == 0)
                bus_inbox_event(&b->h, b->key, b->server_id, m->payload, m->len, EVENTS);
            else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                bus_inbox_batch(&b->h, b->key, m->payload, m->len, b->inbox);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("bus_kafka: inbox: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(msgs[i]);
        }
    } while (n == DRAIN_MAX);
}

static void free_bus(void *data) {
    bus *b = data;
    record_buf_free(&b->enc);
    free(b);
}

static int kafka_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    if (!cfg || !cfg->kafka || !cfg->key) return -1;
    bus *b = calloc(1, sizeof(*b));
    if (!b) return -1;
    b->h = *h;
    b->server_id = cfg->server_id;
    b->key = cfg->key;
    snprintf(b->inbox, sizeof(b->inbox), INBOX_PREFIX "%u", cfg->server_id);

    static const char *const producer_kv[] = {"linger.ms", "2", NULL};
    /* assign() needs a group id although we never join or commit to it */
    const char *const consumer_kv[] = {
        "enable.auto.commit", "false", "enable.partition.eof", "false", "group.id", b->inbox, NULL};
    kafka_link_handler kh = {b, pump, on_delivery, free_bus};
    if (kafka_link_open(&b->link, loop, cfg->kafka, "bus_kafka", producer_kv, consumer_kv, &kh)) {
        free_bus(b);
        return -1;
    }
    b->producer = kafka_link_producer(b->link);
    if (assign_at_end(b)) {
        kafka_link_close(b->link); /* frees b once closed */
        return -1;
    }
    *out = b;
    return 0;
}

/* Produces b->enc to topic; drops it (logged) only if the local queue stays full. */
static void produce(bus *b, const char *topic, const char *key) {
    for (int attempt = 0; attempt < 2; attempt++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            b->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(b->enc.data, b->enc.len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt == 1) {
            log_warn("bus_kafka: publish failed: %s", rd_kafka_err2str(e));
            return;
        }
        rd_kafka_poll(b->producer, 0); /* make room by serving delivery reports */
    }
}

static void kafka_publish(bus *b, const bus_record *r) {
    if (record_encode(&b->enc, r, b->key)) {
        log_warn("bus_kafka: record not encodable, dropped");
        return;
    }
    produce(b, TOPIC, r->channel_id ? r->channel_id : r->n_recipients ? r->recipients[0] : "");
}

static void kafka_publish_event(bus *b, const bus_event *e) {
    bus_event mine = *e;
    mine.server_id = b->server_id;
    if (record_event_encode(&b->enc, b->key, &mine)) {
        log_warn("bus_kafka: event not encodable, dropped");
        return;
    }
    /* Keyed by what the event is about: one user's (one channel's) events
     * stay in order. */
    produce(b, EVENTS,
            e->kind == BUS_EV_PRESENCE  ? e->u.presence.user
            : e->kind == BUS_EV_CHANNEL ? e->u.channel.channel_id
                                        : "hello");
}

static void kafka_close(bus *b) {
    kafka_link_close(b->link); /* frees b once closed */
}

const bus_backend bus_kafka_backend = {"kafka", kafka_open, kafka_publish, kafka_publish_event,
                                       kafka_close};
