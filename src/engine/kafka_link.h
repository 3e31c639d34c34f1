/*
 * kafka_link: the one place chatd configures librdkafka and ties it to the
 * loop. The chat server's bus (bus_kafka.c) and the dispatcher
 * (dispatch_kafka.c) each hold one link: a producer and a consumer made
 * from the same settings (brokers, security, fetch wait), both of whose
 * queues write a byte to a pipe when they become non-empty
 * (rd_kafka_queue_io_event_enable). A uv_poll on that pipe, and a slow
 * timer for any wake-up that could be missed, call the user's pump, which
 * serves delivery reports and drains the consumer queue. librdkafka runs
 * its own threads; the loop never blocks on them except in open and close.
 *
 * Security: with SASL credentials (<secrets>/kafka_username.txt and
 * kafka_password.txt) the link logs in with sasl_mechanism (PLAIN unless
 * --kafka-sasl-mechanism says SCRAM-SHA-256 or SCRAM-SHA-512), over TLS
 * when tls is set (SASL_SSL, else SASL_PLAINTEXT: PLAIN then sends the
 * password in the clear, fine on a private network only). An unknown
 * mechanism is refused when the link is made.
 */
#ifndef CHATD_KAFKA_LINK_H
#define CHATD_KAFKA_LINK_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

typedef struct uv_loop_s uv_loop_t;

/* Borrowed by the calls below (librdkafka copies what it keeps). */
typedef struct kafka_link_config {
    const char *brokers;        /* bootstrap servers, "host:port,..." */
    int fetch_wait_ms;          /* consumers' fetch.wait.max.ms; 0 = 100 */
    const char *sasl_mechanism; /* NULL: no SASL; else PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 */
    const char *sasl_username;  /* with sasl_mechanism */
    const char *sasl_password;  /* with sasl_mechanism; never logged */
    int tls;                    /* 1: TLS to the brokers (SSL / SASL_SSL) */
} kafka_link_config;

/* A librdkafka configuration for cfg: bootstrap servers, security, a quiet
 * log level, then the key/value pairs of kv (NULL-terminated, may be
 * NULL). The caller owns the result (rd_kafka_new takes it over). NULL
 * with err set when librdkafka refuses a setting (e.g. the mechanism). */
rd_kafka_conf_t *kafka_link_conf(const kafka_link_config *cfg, const char *const *kv, char *err,
                                 size_t errlen);

typedef struct kafka_link_handler {
    void *data; /* also the librdkafka opaque of both handles */
    /* The queues may hold something: serve them (loop thread). */
    void (*pump)(void *data);
    /* The producer's delivery reports (librdkafka's dr_msg_cb), served by
     * rd_kafka_poll(producer) inside pump. May be NULL. */
    void (*delivery)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
    /* After kafka_link_close: both handles are destroyed. May be NULL. */
    void (*closed)(void *data);
} kafka_link_handler;

typedef struct kafka_link kafka_link;

/* Makes the producer (cfg + producer_kv) and the consumer (cfg +
 * fetch.wait.max.ms + consumer_kv) and starts waking the loop for them.
 * 0, or -1 after logging why, prefixed with name (nothing is left open). */
int kafka_link_open(kafka_link **out, uv_loop_t *loop, const kafka_link_config *cfg,
                    const char *name, const char *const *producer_kv,
                    const char *const *consumer_kv, const kafka_link_handler *h);
rd_kafka_t *kafka_link_producer(const kafka_link *l);
rd_kafka_t *kafka_link_consumer(const kafka_link *l);
rd_kafka_queue_t *kafka_link_consumer_queue(const kafka_link *l);
/* Stops waking the loop; once the loop has closed its handles, closes the
 * consumer (which commits the offsets stored so far and leaves its
 * group), flushes the producer (at most KAFKA_LINK_FLUSH_MS: delivery
 * reports may still run) and destroys both, then calls h->closed. */
void kafka_link_close(kafka_link *l);

/* Readiness (/ready): do the brokers answer a metadata request within
 * timeout_ms? *probe is a producer kept between calls (made on the first;
 * free it with rd_kafka_destroy). Blocks: call it off the loop. 0, or
 * CHATD_EIO with why set. */
int kafka_link_probe(rd_kafka_t **probe, const kafka_link_config *cfg, int timeout_ms, char *why,
                     size_t whylen);

#define KAFKA_LINK_TICK_MS 100
#define KAFKA_LINK_FLUSH_MS 5000

#endif
