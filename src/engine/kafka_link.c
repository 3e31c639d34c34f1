/*
 * kafka_link: librdkafka's configuration and its wake-ups on the loop
 * (see kafka_link.h).
 */
#define _GNU_SOURCE /* pipe2 */
#include "engine/kafka_link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "core/err.h"
#include "core/log.h"

struct kafka_link {
    kafka_link_handler h;
    rd_kafka_t *producer, *consumer;
    rd_kafka_queue_t *pq, *cq; /* the producer's main queue, the consumer's queue */
    int pipefd[2];
    uv_poll_t wake;
    uv_timer_t tick;
    int handles; /* uv handles not yet closed */
};

static int set_pairs(rd_kafka_conf_t *c, const char *const *kv, char *err, size_t errlen) {
    for (; kv && *kv; kv += 2)
        if (rd_kafka_conf_set(c, kv[0], kv[1], err, errlen) != RD_KAFKA_CONF_OK) return -1;
    return 0;
}

rd_kafka_conf_t *kafka_link_conf(const kafka_link_config *cfg, const char *const *kv, char *err,
                                 size_t errlen) {
    const char *protocol = cfg->sasl_mechanism ? (cfg->tls ? "sasl_ssl" : "sasl_plaintext")
                                               : (cfg->tls ? "ssl" : "plaintext");
    const char *const base[] = {"bootstrap.servers", cfg->brokers, "log_level", "4",
                                "security.protocol", protocol,     NULL};
    const char *const sasl[] = {"sasl.mechanism",
                                cfg->sasl_mechanism,
                                "sasl.username",
                                cfg->sasl_username ? cfg->sasl_username : "",
                                "sasl.password",
                                cfg->sasl_password ? cfg->sasl_password : "",
                                NULL};
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (!cfg->brokers) {
        snprintf(err, errlen, "no Kafka bootstrap servers");
        goto fail;
    }
    if (set_pairs(c, base, err, errlen) != 0) goto fail;
    if (cfg->sasl_mechanism && set_pairs(c, sasl, err, errlen) != 0) goto fail;
    if (set_pairs(c, kv, err, errlen) != 0) goto fail;
    return c;
fail:
    rd_kafka_conf_destroy(c);
    return NULL;
}

static void pump(kafka_link *l) {
    char drain[64];
    while (read(l->pipefd[0], drain, sizeof(drain)) > 0) {
    }
    l->h.pump(l->h.data);
}

static void on_wake(uv_poll_t *h, int status, int events) {
    pump(h->data);
}

static void on_tick(uv_timer_t *t) {
    pump(t->data);
}

static void destroy(kafka_link *l) {
    if (l->pq) rd_kafka_queue_destroy(l->pq);
    if (l->cq) rd_kafka_queue_destroy(l->cq);
    if (l->consumer) {
        rd_kafka_consumer_close(l->consumer);
        rd_kafka_destroy(l->consumer);
    }
    if (l->producer) {
        rd_kafka_flush(l->producer, KAFKA_LINK_FLUSH_MS);
        rd_kafka_destroy(l->producer);
    }
    for (int i = 0; i < 2; i++)
        if (l->pipefd[i] >= 0) close(l->pipefd[i]);
    free(l);
}

/* Makes one handle from cfg + kv (+ extra pairs); NULL with err set. */
static rd_kafka_t *make_handle(rd_kafka_type_t type, const kafka_link_config *cfg,
                               const char *const *kv, const char *const *extra,
                               const kafka_link_handler *h, char *err, size_t errlen) {
    rd_kafka_conf_t *c = kafka_link_conf(cfg, kv, err, errlen);
    if (!c) return NULL;
    if (set_pairs(c, extra, err, errlen) != 0) {
        rd_kafka_conf_destroy(c);
        return NULL;
    }
    rd_kafka_conf_set_opaque(c, h->data);
    if (type == RD_KAFKA_PRODUCER && h->delivery) rd_kafka_conf_set_dr_msg_cb(c, h->delivery);
    rd_kafka_t *rk = rd_kafka_new(type, c, err, errlen);
    if (!rk) rd_kafka_conf_destroy(c); /* rd_kafka_new owns it only on success */
    return rk;
}

int kafka_link_open(kafka_link **out, uv_loop_t *loop, const kafka_link_config *cfg,
                    const char *name, const char *const *producer_kv,
                    const char *const *consumer_kv, const kafka_link_handler *h) {
    char wait[16], err[256] = "";
    const size_t errlen = sizeof(err);
    snprintf(wait, sizeof(wait), "%d", cfg->fetch_wait_ms > 0 ? cfg->fetch_wait_ms : 100);
    const char *const consumer_extra[] = {"fetch.wait.max.ms", wait, NULL};
    *out = NULL;
    kafka_link *l = calloc(1, sizeof(*l));
    if (!l) {
        log_error("%s: out of memory", name);
        return -1;
    }
    l->h = *h;
    l->pipefd[0] = l->pipefd[1] = -1;
    if (!(l->producer = make_handle(RD_KAFKA_PRODUCER, cfg, producer_kv, NULL, h, err, errlen)) ||
        !(l->consumer =
              make_handle(RD_KAFKA_CONSUMER, cfg, consumer_kv, consumer_extra, h, err, errlen)))
        goto fail;
    rd_kafka_poll_set_consumer(l->consumer);
    l->cq = rd_kafka_queue_get_consumer(l->consumer);
    l->pq = rd_kafka_queue_get_main(l->producer);
    if (pipe2(l->pipefd, O_NONBLOCK | O_CLOEXEC)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    rd_kafka_queue_io_event_enable(l->cq, l->pipefd[1], "w", 1);
    rd_kafka_queue_io_event_enable(l->pq, l->pipefd[1], "w", 1);
    uv_poll_init(loop, &l->wake, l->pipefd[0]);
    uv_timer_init(loop, &l->tick);
    l->wake.data = l->tick.data = l;
    l->handles = 2;
    uv_poll_start(&l->wake, UV_READABLE, on_wake);
    uv_timer_start(&l->tick, on_tick, KAFKA_LINK_TICK_MS, KAFKA_LINK_TICK_MS);
    *out = l;
    return 0;
fail:
    log_error("%s: %s", name, err);
    destroy(l);
    return -1;
}

int kafka_link_probe(rd_kafka_t **probe, const kafka_link_config *cfg, int timeout_ms, char *why,
                     size_t whylen) {
    char err[256] = "";
    if (!*probe) {
        rd_kafka_conf_t *conf = kafka_link_conf(cfg, NULL, err, sizeof(err));
        if (conf) *probe = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!*probe) {
            snprintf(why, whylen, "Kafka: %s", err);
            return CHATD_EIO;
        }
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(*probe, 0, NULL, &md, timeout_ms);
    int ok = e == RD_KAFKA_RESP_ERR_NO_ERROR && md && md->broker_cnt > 0;
    if (!ok)
        snprintf(why, whylen, "Kafka %s: %s", cfg->brokers,
                 e ? rd_kafka_err2str(e) : "no broker answers");
    if (md) rd_kafka_metadata_destroy(md);
    return ok ? 0 : CHATD_EIO;
}

rd_kafka_t *kafka_link_producer(const kafka_link *l) {
    return l->producer;
}

rd_kafka_t *kafka_link_consumer(const kafka_link *l) {
    return l->consumer;
}

rd_kafka_queue_t *kafka_link_consumer_queue(const kafka_link *l) {
    return l->cq;
}

static void on_handle_closed(uv_handle_t *h) {
    kafka_link *l = h->data;
    if (--l->handles > 0) return;
    kafka_link_handler kh = l->h;
    destroy(l);
    if (kh.closed) kh.closed(kh.data);
}

void kafka_link_close(kafka_link *l) {
    if (!l) return;
    rd_kafka_queue_io_event_enable(l->cq, -1, NULL, 0);
    rd_kafka_queue_io_event_enable(l->pq, -1, NULL, 0);
    uv_close((uv_handle_t *)&l->wake, on_handle_closed);
    uv_close((uv_handle_t *)&l->tick, on_handle_closed);
}
