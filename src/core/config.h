/*
 * config: chatd's settings, from flags > environment (CHATD_<FLAG>, e.g.
 * CHATD_PORT) > defaults. `chatd --help` prints every flag.
 */
#ifndef CHATD_CONFIG_H
#define CHATD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct chatd_config {
    const char *role;          /* "all" (embedded default), "api", "chat", "dispatcher" */
    const char *host;          /* listen address */
    int port;                  /* 0 = any free port */
    const char *port_file;     /* written with the bound port once listening */
    const char *advertise;     /* host clients dial (default: the listen host) */
    const char *data_dir;
    const char *secrets_dir;
    int fsync;
    int argon2_min;            /* weakest argon2id limits (tests only) */
    int64_t token_ttl_s;
    uint64_t presence_timeout_ms;
    double rate_per_sec, rate_burst;
    uint64_t abuse_close_ms;
    size_t max_frame;          /* WebSocket message cap */
    size_t max_content;
    unsigned node_id;
    /* limits against abuse (docs/OPERATIONS.md "Limits and abuse") */
    size_t max_connections;    /* 0 = derived from the open-file limit */
    size_t max_pending_per_addr;
    unsigned max_conns_per_user;
    uint64_t handshake_timeout_ms;
    uint64_t ping_interval_ms;
    size_t max_queued_bytes;
    size_t max_channels_per_user;
    size_t max_hash_queue;     /* password hashes waiting, in all */
    double register_per_sec;   /* accounts created per second, in all */
    unsigned auth_fail_per_addr; /* failed logins per address per minute */
    int trust_proxy;           /* take the client address from X-Forwarded-For */
    uint64_t cache_ttl_ms;
    size_t big_channel;        /* members beyond which a channel is "big" (quieter) */     /* cluster: channel members re-read from the store after this */
    int log_level;
    /* cluster roles */
    const char *redis;         /* HOST:PORT */
    const char *zookeeper;     /* HOST:PORT[,HOST:PORT...] */
    const char *bus;           /* "kafka" | "redis" */
    const char *kafka;         /* bootstrap brokers */
    int kafka_fetch_wait_ms;   /* fetch.wait.max.ms of every consumer */
    const char *pg;            /* libpq conninfo (password from secrets/db_password.txt) */
    const char *allowed_hosts; /* HOST[,HOST...]: the only hosts /auth may name; NULL = any */
    const char *kafka_sasl_mechanism; /* PLAIN (default) | SCRAM-SHA-256 | SCRAM-SHA-512 */
    int kafka_tls;             /* TLS to the Kafka brokers */
    /* the browser client (web/web.h) */
    const char *web_root;      /* serve it from this directory, not the built-in copy */
    int no_web;                /* do not serve it */
} chatd_config;

/* Fills defaults, applies CHATD_* then argv. Returns 0, 1 when --help or
 * --version was printed (exit 0), or -1 after printing an error (exit 2). */
int config_parse(chatd_config *c, int argc, char **argv);

#endif
