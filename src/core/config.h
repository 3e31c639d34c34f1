/*
 * config: chatd's settings, from flags > environment (CHATD_<FLAG>, e.g.
 * CHATD_PORT) > the configuration file (--config FILE, default
 * /etc/chatd/chatd.conf when it exists: INI, keys are the long option names,
 * optionally under [chatd]) > defaults. `chatd --help` prints every flag;
 * `chatd --print-config` the effective values and where each came from.
 *
 * Reloads (SIGHUP): config_reload() builds the configuration again from the
 * same flags, environment and file; config_update() copies the options
 * marked reloadable into the running configuration and names the others
 * that changed (they need a restart).
 *
 * Ownership: a chatd_config owns its strings (file values are copied; flag
 * and environment values point into argv and environ, which live as long
 * as the process); config_free() releases them. Strings of the running
 * configuration stay valid until config_free, across updates.
 */
#ifndef CHATD_CONFIG_H
#define CHATD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct chatd_config {
    const char *role;      /* "all" (embedded default), "api", "chat", "dispatcher" */
    const char *host;      /* listen address */
    int port;              /* 0 = any free port */
    const char *port_file; /* written with the bound port once listening */
    const char *advertise; /* host clients dial (default: the listen host) */
    const char *data_dir;
    const char *secrets_dir;
    int fsync;
    int64_t search_lag; /* SQLite: texts queued for the search index before commits index too */
    int argon2_min;     /* weakest argon2id limits (tests only) */
    int64_t token_ttl_s;
    uint64_t presence_timeout_ms;
    double rate_per_sec, rate_burst;
    uint64_t abuse_close_ms;
    size_t max_frame; /* WebSocket message cap */
    size_t max_content;
    unsigned node_id;
    /* limits against abuse (docs/OPERATIONS.md "Limits and abuse") */
    size_t max_connections; /* 0 = derived from the open-file limit */
    size_t max_pending_per_addr;
    unsigned max_conns_per_user;
    uint64_t handshake_timeout_ms;
    uint64_t ping_interval_ms;
    size_t max_queued_bytes;
    size_t max_channels_per_user;
    size_t max_hash_queue;       /* password hashes waiting, in all */
    double register_per_sec;     /* accounts created per second, in all */
    unsigned auth_fail_per_addr; /* failed logins per address per minute */
    int trust_proxy;             /* take the client address from X-Forwarded-For */
    uint64_t cache_ttl_ms;       /* cluster: channel members re-read from the store after this */
    size_t big_channel;          /* members beyond which a channel is "big" (quieter) */
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
    int kafka_tls;                    /* TLS to the Kafka brokers */
    /* the browser client (web/web.h) */
    const char *web_root; /* serve it from this directory, not the built-in copy */
    int no_web;           /* do not serve it */
    /* operations (docs/OPERATIONS.md) */
    const char *config_file;     /* the INI file read, NULL = none */
    int log_format;              /* LOG_FORMAT_TEXT | LOG_FORMAT_JSON */
    const char *admin_host;      /* the admin listener's address */
    int admin_port;              /* /metrics, /health, /ready there; 0 = no admin listener */
    const char *allowed_origins; /* ORIGIN[,ORIGIN...] of browser WebSockets; NULL = any */
    const char *tls_cert;        /* PEM chain: the public port speaks TLS; NULL = plain */
    const char *tls_key;         /* its private key */
    struct config_meta *meta__;  /* config.c: sources, owned strings, argv for reloads */
} chatd_config;

/* Fills defaults, the file, CHATD_* then argv. Returns 0, 1 when --help,
 * --version or --print-config was printed (exit 0), or -1 after printing
 * an error (exit 2). argv must outlive c (main's does). Free with
 * config_free, also after an error. */
int config_parse(chatd_config *c, int argc, char **argv);

/* Builds in *next the configuration cur's flags, environment and file
 * give now (the file is read again). 0, or -1 with err set ("FILE:LINE:
 * ..." for a bad file); free *next with config_free in both cases. */
int config_reload(const chatd_config *cur, chatd_config *next, char *err, size_t errlen);

/* What changed between the running configuration and a reloaded one:
 * called once per option whose value differs, with both values as
 * --print-config shows them (secrets masked) and whether it was applied. */
typedef void (*config_change_cb)(void *data, const char *name, const char *was, const char *now,
                                 int applied);
/* Copies the reloadable options of next into live (strings are copied:
 * next may be freed afterwards) and reports every difference to cb (may be
 * NULL). Returns how many changed options need a restart. */
int config_update(chatd_config *live, const chatd_config *next, config_change_cb cb, void *data);

/* Prints every option with its effective value and its source, as an INI
 * file chatd could read back; values of options named like a password,
 * secret or token, and passwords inside --pg, are masked. */
void config_print(const chatd_config *c, FILE *f);

/* Releases what c owns; c is zeroed. */
void config_free(chatd_config *c);

#endif
