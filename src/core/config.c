/* config: one table of options drives flags, environment and --help. */
#include "core/config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"

enum opt_kind { O_STR, O_INT, O_BOOL, O_DOUBLE, O_LEVEL, O_ONOFF, O_FLAG /* no argument */ };

typedef struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    int size;
    const char *help;
} opt;

#define F(field) offsetof(chatd_config, field), (int)sizeof(((chatd_config *)0)->field)
static const opt opts[] = {
    {"host", O_STR, F(host), "listen address (default 127.0.0.1)"},
    {"port", O_INT, F(port), "listen port, 0 = any free port (default 8080)"},
    {"port-file", O_STR, F(port_file), "write the bound port to this file once listening"},
    {"advertise", O_STR, F(advertise), "host that /auth tells clients to dial (default: --host)"},
    {"data", O_STR, F(data_dir), "data directory: SQLite database, generated secret (default ./data)"},
    {"secrets", O_STR, F(secrets_dir), "directory holding jwt_secret.txt (default ./secrets)"},
    {"fsync", O_ONOFF, F(fsync), "on|off: make each commit durable on disk (default on)"},
    {"argon2", O_BOOL, F(argon2_min), "interactive|min: password hashing cost (default interactive; min is for tests)"},
    {"token-ttl", O_INT, F(token_ttl_s), "session token lifetime in seconds (default 86400)"},
    {"presence-timeout-ms", O_INT, F(presence_timeout_ms), "silence before a user is offline (default 60000)"},
    {"rate-per-sec", O_DOUBLE, F(rate_per_sec), "client frames per second per connection (default 50)"},
    {"rate-burst", O_DOUBLE, F(rate_burst), "rate limit burst (default 100)"},
    {"abuse-close-ms", O_INT, F(abuse_close_ms), "sustained rate abuse before close 1008 (default 10000)"},
    {"max-frame", O_INT, F(max_frame), "largest WebSocket message in bytes (default 65536)"},
    {"max-content", O_INT, F(max_content), "largest message content in bytes (default 4000)"},
    {"node-id", O_INT, F(node_id), "Snowflake node id 0..1023 (default 1)"},
    {"max-connections", O_INT, F(max_connections), "sockets in all; the oldest handshake makes room (default: open-file limit - 100, at most 1000000)"},
    {"max-pending-per-addr", O_INT, F(max_pending_per_addr), "sockets per peer address still in their handshake (default 256)"},
    {"max-conns-per-user", O_INT, F(max_conns_per_user), "WebSockets per user on this server, 0 = no cap (default 20)"},
    {"handshake-timeout-ms", O_INT, F(handshake_timeout_ms), "time to send a whole request; idle HTTP keep-alive (default 10000)"},
    {"ping-interval-ms", O_INT, F(ping_interval_ms), "WebSocket silence before the server pings; twice = dead; 0 = never (default 30000)"},
    {"max-queued-bytes", O_INT, F(max_queued_bytes), "unsent bytes for one socket before it is dropped (default 16777216)"},
    {"max-channels-per-user", O_INT, F(max_channels_per_user), "channels one user may be in (default 10000)"},
    {"max-hash-queue", O_INT, F(max_hash_queue), "password hashes waiting before /auth and /register answer 503 (default 64)"},
    {"register-per-sec", O_DOUBLE, F(register_per_sec), "accounts created per second, all clients together (default 10)"},
    {"auth-fail-per-addr", O_INT, F(auth_fail_per_addr), "failed logins per client address per minute before 429 (default 30)"},
    {"big-channel", O_INT, F(big_channel), "a channel with more members is big: joins, leaves and read receipts are not pushed to everyone, no presence contacts (default 500)"},
    {"cache-ttl-ms", O_INT, F(cache_ttl_ms), "cluster: members the store has not confirmed for this long are re-read before use (default 5000)"},
    {"trust-proxy", O_ONOFF, F(trust_proxy), "on|off: the client address is the last X-Forwarded-For entry (default off)"},
    {"log-level", O_LEVEL, F(log_level), "debug|info|warn|error (default info)"},
    {"redis", O_STR, F(redis), "cluster: Redis HOST:PORT (user->server map)"},
    {"zookeeper", O_STR, F(zookeeper), "cluster: ZooKeeper HOST:PORT (discovery)"},
    {"bus", O_STR, F(bus), "cluster: kafka|redis (default kafka)"},
    {"kafka", O_STR, F(kafka), "cluster: Kafka bootstrap brokers (--bus kafka)"},
    {"kafka-fetch-wait-ms", O_INT, F(kafka_fetch_wait_ms), "cluster: longest a Kafka fetch waits for data (default 100)"},
    {"pg", O_STR, F(pg), "cluster: PostgreSQL conninfo; password from <secrets>/db_password.txt"},
    {"allowed-hosts", O_STR, F(allowed_hosts), "cluster: HOST[,HOST...] the only chat/presence hosts /auth may name"},
    {"kafka-sasl-mechanism", O_STR, F(kafka_sasl_mechanism), "cluster: PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 with <secrets>/kafka_username.txt, kafka_password.txt (default PLAIN)"},
    {"kafka-tls", O_ONOFF, F(kafka_tls), "cluster: on|off: TLS to the Kafka brokers (default off)"},
    {"web-root", O_STR, F(web_root), "serve the browser client from this directory, read on each request (development)"},
    {"no-web", O_FLAG, F(no_web), "do not serve the browser client (then / is 404)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void usage(FILE *f) {
    fprintf(f, "usage: chatd [all|api|chat|presence|dispatcher] [options]\n\n"
               "Runs the chat server. With no role (or `all`) one process serves the HTTP API,\n"
               "/chat and /presence on one port and stores everything in SQLite.\n"
               "Cluster roles meet through PostgreSQL, Redis, ZooKeeper and Kafka (or Redis\n"
               "Streams): `api` serves the HTTP API, `chat` serves /chat, `presence` serves\n"
               "/presence, `dispatcher` routes messages to the chat servers.\n\noptions:\n");
    for (size_t i = 0; i < NOPTS; i++) fprintf(f, "  --%-22s %s\n", opts[i].name, opts[i].help);
    fprintf(f, "  --%-22s %s\n  --%-22s %s\n\n", "help", "print this help", "version",
            "print the version");
    fprintf(f, "Every option can also be set in the environment: --port-file is CHATD_PORT_FILE.\n");
}

static int set_opt(chatd_config *c, const opt *o, const char *v) {
    char *p = (char *)c + o->offset;
    char *end = NULL;
    switch (o->kind) {
    case O_STR: *(const char **)p = v; return 0;
    case O_FLAG: /* the flag itself (v NULL), or CHATD_NO_WEB=1|0 */
        if (!v || !strcmp(v, "1") || !strcmp(v, "0")) {
            *(int *)p = !v || !strcmp(v, "1");
            return 0;
        }
        break;
    case O_INT: {
        long long n = strtoll(v, &end, 10);
        if (!*v || *end || n < 0) break;
        if (o->size == 4) *(int *)p = (int)n;
        else *(int64_t *)p = n; /* all 8-byte ints are int64/uint64/size_t */
        return 0;
    }
    case O_DOUBLE: {
        double dv = strtod(v, &end);
        if (!*v || *end || dv <= 0) break;
        *(double *)p = dv;
        return 0;
    }
    case O_ONOFF:
        if (!strcmp(v, "on") || !strcmp(v, "off")) {
            *(int *)p = !strcmp(v, "on");
            return 0;
        }
        break;
    case O_BOOL:
        if (!strcmp(v, "min") || !strcmp(v, "interactive")) {
            *(int *)p = !strcmp(v, "min");
            return 0;
        }
        break;
    case O_LEVEL: {
        int l = log_parse_level(v);
        if (l < 0) break;
        *(int *)p = l;
        return 0;
    }
    }
    fprintf(stderr, "chatd: invalid value for --%s: '%s'\n", o->name, v);
    return -1;
}

int config_parse(chatd_config *c, int argc, char **argv) {
    memset(c, 0, sizeof(*c));
    c->role = "all";
    c->host = "127.0.0.1";
    c->port = 8080;
    c->data_dir = "./data";
    c->secrets_dir = "./secrets";
    c->fsync = 1;
    c->token_ttl_s = 86400;
    c->presence_timeout_ms = 60000;
    c->rate_per_sec = 50;
    c->rate_burst = 100;
    c->abuse_close_ms = 10000;
    c->max_frame = 64 * 1024;
    c->max_content = 4000;
    c->node_id = 1;
    c->max_pending_per_addr = 256;
    c->max_conns_per_user = 20;
    c->handshake_timeout_ms = 10000;
    c->ping_interval_ms = 30000;
    c->max_queued_bytes = 16u << 20;
    c->max_channels_per_user = 10000;
    c->max_hash_queue = 64;
    c->register_per_sec = 10;
    c->auth_fail_per_addr = 30;
    c->cache_ttl_ms = 5000;
    c->big_channel = 500;
    c->log_level = LOG_INFO;
    c->kafka_fetch_wait_ms = 100;

    for (size_t i = 0; i < NOPTS; i++) { /* environment */
        char env[64] = "CHATD_";
        size_t k = 6;
        for (const char *s = opts[i].name; *s && k < sizeof(env) - 1; s++)
            env[k++] = *s == '-' ? '_' : (char)toupper((unsigned char)*s);
        env[k] = '\0';
        const char *v = getenv(env);
        if (v && set_opt(c, &opts[i], v) != 0) return -1;
    }

    struct option lopts[NOPTS + 3];
    for (size_t i = 0; i < NOPTS; i++)
        lopts[i] = (struct option){opts[i].name,
                                   opts[i].kind == O_FLAG ? no_argument : required_argument, NULL,
                                   (int)i + 1000};
    lopts[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[NOPTS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    lopts[NOPTS + 2] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        if (ch == 'h') {
            usage(stdout);
            return 1;
        }
        if (ch == 'V') {
            printf("chatd 0.1.0\n");
            return 1;
        }
        if (ch < 1000) {
            usage(stderr);
            return -1;
        }
        if (set_opt(c, &opts[ch - 1000], optarg) != 0) return -1;
    }
    if (optind < argc) c->role = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "chatd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    struct stat st;
    if (c->node_id > 1023) {
        fprintf(stderr, "chatd: --node-id must be 0..1023\n");
        return -1;
    }
    if (c->port > 65535) {
        fprintf(stderr, "chatd: --port must be 0..65535\n");
        return -1;
    }
    if (c->web_root && (stat(c->web_root, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "chatd: --web-root %s is not a directory\n", c->web_root);
        return -1;
    }
    if (!c->advertise) c->advertise = c->host;
    if (!c->bus) c->bus = "kafka";
    if (strcmp(c->bus, "kafka") && strcmp(c->bus, "redis")) {
        fprintf(stderr, "chatd: --bus must be kafka or redis\n");
        return -1;
    }
    return 0;
}
