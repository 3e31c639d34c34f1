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
 * own events).
 *
 * librdkafka runs its own threads; the loop never blocks on them. Both
 * handles' queues write a byte to a pipe when they become non-empty
 * (rd_kafka_queue_io_event_enable); a uv_poll on the pipe wakes the loop,
 * which serves delivery reports and drains the inbox. A slow timer covers
 * any wake-up that could be missed.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "bus/bus.h"
#include "bus/record.h"
#include "core/log.h"

#define TOPIC "chat-messages"
#define EVENTS "chat-events"
#define INBOX_PREFIX "chat-inbox."
#define OPEN_TIMEOUT_MS 10000
#define TICK_MS 100
#define DRAIN_MAX 256

struct bus {
    uv_loop_t *loop;
    bus_handler h;
    rd_kafka_t *producer, *consumer;
    rd_kafka_queue_t *pq, *cq; /* the producer's main queue, the consumer's queue */
    int pipefd[2];
    uv_poll_t wake;
    uv_timer_t tick;
    int handles; /* uv handles not yet closed */
    unsigned server_id;
    record_buf enc;
    char inbox[64];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    if (m->err)
        log_warn("bus_kafka: a record to %s was lost: %s", rd_kafka_topic_name(m->rkt),
                 rd_kafka_err2str(m->err));
}

static rd_kafka_conf_t *base_conf(const char *brokers, char *err, size_t errlen) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", brokers, err, errlen) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "log_level", "4", err, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    return c;
}

static int set_all(rd_kafka_conf_t *c, const char *const *kv, char *err, size_t errlen) {
    for (; *kv; kv += 2)
        if (rd_kafka_conf_set(c, kv[0], kv[1], err, errlen) != RD_KAFKA_CONF_OK) return -1;
    return 0;
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
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(b->consumer, topic, p, &lo, &hi, OPEN_TIMEOUT_MS);
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
    rd_kafka_resp_err_t e = rc ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_assign(b->consumer, list);
    if (e) {
        log_error("bus_kafka: assign: %s", rd_kafka_err2str(e));
        rc = -1;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

static void deliver_event(bus *b, const rd_kafka_message_t *m) {
    record_event e;
    if (record_event_decode(m->payload, m->len, &e)) {
        log_warn("bus_kafka: skipping a malformed event");
        return;
    }
    if (e.server_id != b->server_id && b->h.event) b->h.event(b->h.data, e.kind, e.arg);
}

static void deliver_batch(bus *b, const rd_kafka_message_t *m) {
    record_batch_iter it;
    record_decoded d;
    if (record_batch_open(&it, m->payload, m->len) < 0) {
        log_warn("bus_kafka: skipping a malformed inbox record at %s offset %" PRId64, b->inbox,
                 m->offset);
        return;
    }
    while (record_batch_next(&it, &d) == 1) {
        b->h.deliver(b->h.data, &d.r);
        record_decoded_clear(&d);
    }
}

static void pump(bus *b) {
    char drain[64];
    while (read(b->pipefd[0], drain, sizeof(drain)) > 0) {
    }
    rd_kafka_poll(b->producer, 0); /* delivery reports */
    rd_kafka_message_t *msgs[DRAIN_MAX];
    ssize_t n;
    do {
        n = rd_kafka_consume_batch_queue(b->cq, 0, msgs, DRAIN_MAX);
        for (ssize_t i = 0; i < n; i++) {
            if (msgs[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                strcmp(rd_kafka_topic_name(msgs[i]->rkt), EVENTS) == 0)
                deliver_event(b, msgs[i]);
            else if (msgs[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                deliver_batch(b, msgs[i]);
            else if (msgs[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("bus_kafka: inbox: %s", rd_kafka_message_errstr(msgs[i]));
            rd_kafka_message_destroy(msgs[i]);
        }
    } while (n == DRAIN_MAX);
}

static void on_wake(uv_poll_t *h, int status, int events) {
    pump(h->data);
}
static void on_tick(uv_timer_t *t) {
    pump(t->data);
}

static void free_bus(bus *b) {
    if (b->pq) rd_kafka_queue_destroy(b->pq);
    if (b->cq) rd_kafka_queue_destroy(b->cq);
    if (b->consumer) {
        rd_kafka_consumer_close(b->consumer);
        rd_kafka_destroy(b->consumer);
    }
    if (b->producer) {
        rd_kafka_flush(b->producer, 5000);
        rd_kafka_destroy(b->producer);
    }
    for (int i = 0; i < 2; i++)
        if (b->pipefd[i] >= 0) close(b->pipefd[i]);
    record_buf_free(&b->enc);
    free(b);
}

static int kafka_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    char err[256] = "";
    rd_kafka_conf_t *pc = NULL, *cc = NULL;
    if (!cfg || !cfg->brokers) return -1;
    bus *b = calloc(1, sizeof(*b));
    if (!b) return -1;
    b->loop = loop;
    b->h = *h;
    b->server_id = cfg->server_id;
    b->pipefd[0] = b->pipefd[1] = -1;
    snprintf(b->inbox, sizeof(b->inbox), INBOX_PREFIX "%u", cfg->server_id);

    static const char *const producer_kv[] = {"linger.ms", "2", NULL};
    char wait[16];
    snprintf(wait, sizeof(wait), "%d", cfg->fetch_wait_ms > 0 ? cfg->fetch_wait_ms : 100);
    const char *const consumer_kv[] = {"enable.auto.commit", "false", "enable.partition.eof",
                                       "false", "fetch.wait.max.ms", wait, NULL};
    if (!(pc = base_conf(cfg->brokers, err, sizeof(err))) ||
        set_all(pc, producer_kv, err, sizeof(err)))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
    if (!(b->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err)))) goto fail;
    pc = NULL; /* owned by the handle now */
    /* assign() needs a group id although we never join or commit to it */
    if (!(cc = base_conf(cfg->brokers, err, sizeof(err))) ||
        set_all(cc, consumer_kv, err, sizeof(err)) ||
        rd_kafka_conf_set(cc, "group.id", b->inbox, err, sizeof(err)) != RD_KAFKA_CONF_OK)
        goto fail;
    if (!(b->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err)))) goto fail;
    cc = NULL;
    rd_kafka_poll_set_consumer(b->consumer);
    b->cq = rd_kafka_queue_get_consumer(b->consumer);
    b->pq = rd_kafka_queue_get_main(b->producer);
    if (assign_at_end(b)) goto fail;
    if (pipe2(b->pipefd, O_NONBLOCK | O_CLOEXEC)) {
        snprintf(err, sizeof(err), "pipe: %s", strerror(errno));
        goto fail;
    }
    rd_kafka_queue_io_event_enable(b->cq, b->pipefd[1], "w", 1);
    rd_kafka_queue_io_event_enable(b->pq, b->pipefd[1], "w", 1);
    uv_poll_init(loop, &b->wake, b->pipefd[0]);
    uv_timer_init(loop, &b->tick);
    b->wake.data = b->tick.data = b;
    b->handles = 2;
    uv_poll_start(&b->wake, UV_READABLE, on_wake);
    uv_timer_start(&b->tick, on_tick, TICK_MS, TICK_MS);
    *out = b;
    return 0;
fail:
    if (err[0]) log_error("bus_kafka: %s", err);
    if (pc) rd_kafka_conf_destroy(pc);
    if (cc) rd_kafka_conf_destroy(cc);
    free_bus(b);
    return -1;
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
    if (record_encode(&b->enc, r)) {
        log_warn("bus_kafka: record not encodable, dropped");
        return;
    }
    produce(b, TOPIC, r->channel_id ? r->channel_id : r->n_recipients ? r->recipients[0] : "");
}

static void kafka_publish_event(bus *b, const char *kind, const char *arg) {
    if (record_event_encode(&b->enc, b->server_id, kind, arg)) {
        log_warn("bus_kafka: event not encodable, dropped");
        return;
    }
    produce(b, EVENTS, kind);
}

static void on_handle_closed(uv_handle_t *h) {
    bus *b = h->data;
    if (--b->handles == 0) free_bus(b);
}

static void kafka_close(bus *b) {
    rd_kafka_queue_io_event_enable(b->cq, -1, NULL, 0);
    rd_kafka_queue_io_event_enable(b->pq, -1, NULL, 0);
    uv_close((uv_handle_t *)&b->wake, on_handle_closed);
    uv_close((uv_handle_t *)&b->tick, on_handle_closed);
}

const bus_backend bus_kafka_backend = {"kafka", kafka_open, kafka_publish, kafka_publish_event,
                                       kafka_close};
