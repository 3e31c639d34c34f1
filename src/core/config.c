/*
 * config: one table of options drives flags, environment, the
 * configuration file, --help, --print-config and reloads. Layers are
 * applied lowest first (defaults, file, environment, flags), each
 * recording where an option's value came from.
 */
#include "core/config.h"
#include "core/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config_file.h"
#include "core/log.h"

#define CONFIG_DEFAULT_FILE "/etc/chatd/chatd.conf"

enum opt_kind {
    O_STR,
    O_INT,
    O_BOOL,
    O_DOUBLE,
    O_LEVEL,
    O_ONOFF,
    O_FORMAT,
    O_FLAG /* no argument */
};

typedef struct opt {
    const char *name;
    enum opt_kind kind;
    size_t offset;
    int size;
    const char *help;
    int reload;
} opt;

/* An option is reloadable (SIGHUP applies a new value) when its line ends
 * with R; the others leave the field out and need a restart. */
#define R 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define F(field) offsetof(chatd_config, field), (int)sizeof(((chatd_config *)0)->field)
static const opt opts[] = {
    {"host", O_STR, F(host), "listen address (default 127.0.0.1)"},
    {"port", O_INT, F(port), "listen port, 0 = any free port (default 8080)"},
    {"port-file", O_STR, F(port_file), "write the bound port to this file once listening"},
    {"advertise", O_STR, F(advertise), "host that /auth tells clients to dial (default: --host)"},
    {"data", O_STR, F(data_dir),
     "data directory: SQLite database, generated secret (default ./data)"},
    {"secrets", O_STR, F(secrets_dir), "directory holding jwt_secret.txt (default ./secrets)"},
    {"fsync", O_ONOFF, F(fsync), "on|off: make each commit durable on disk (default on)"},
    {"search-lag", O_INT, F(search_lag),
     "texts stored but not yet indexed for search before every commit indexes too; a search "
     "indexes them all first (default 1000000)"},
    {"argon2", O_BOOL, F(argon2_min),
     "interactive|min: password hashing cost (default interactive; min is for tests)"},
    {"token-ttl", O_INT, F(token_ttl_s), "session token lifetime in seconds (default 86400)", R},
    {"presence-timeout-ms", O_INT, F(presence_timeout_ms),
     "silence before a user is offline (default 60000)", R},
    {"rate-per-sec", O_DOUBLE, F(rate_per_sec),
     "client frames per second per connection (default 50)", R},
    {"rate-burst", O_DOUBLE, F(rate_burst), "rate limit burst (default 100)", R},
    {"abuse-close-ms", O_INT, F(abuse_close_ms),
     "sustained rate abuse before close 1008 (default 10000)", R},
    {"max-frame", O_INT, F(max_frame), "largest WebSocket message in bytes (default 65536)", R},
    {"max-content", O_INT, F(max_content), "largest message content in bytes (default 4000)", R},
    {"node-id", O_INT, F(node_id), "Snowflake node id 0..1023 (default 1)"},
    {"max-connections", O_INT, F(max_connections),
     "sockets in all; the oldest handshake makes room (default: open-file limit - 100, at most "
     "1000000)",
     R},
    {"max-pending-per-addr", O_INT, F(max_pending_per_addr),
     "sockets per peer address still in their handshake (default 256)", R},
    {"max-conns-per-user", O_INT, F(max_conns_per_user),
     "WebSockets per user on this server, 0 = no cap (default 20)", R},
    {"handshake-timeout-ms", O_INT, F(handshake_timeout_ms),
     "time to send a whole request; idle HTTP keep-alive (default 10000)", R},
    {"ping-interval-ms", O_INT, F(ping_interval_ms),
     "WebSocket silence before the server pings; twice = dead; 0 = never (default 30000)", R},
    {"max-queued-bytes", O_INT, F(max_queued_bytes),
     "unsent bytes for one socket before it is dropped (default 16777216)", R},
    {"max-channels-per-user", O_INT, F(max_channels_per_user),
     "channels one user may be in (default 10000)", R},
    {"max-hash-queue", O_INT, F(max_hash_queue),
     "password hashes waiting before /auth and /register answer 503 (default 64)", R},
    {"register-per-sec", O_DOUBLE, F(register_per_sec),
     "accounts created per second, all clients together (default 10)", R},
    {"auth-fail-per-addr", O_INT, F(auth_fail_per_addr),
     "failed logins per client address per minute before 429 (default 30)", R},
    {"big-channel", O_INT, F(big_channel),
     "a channel with more members is big: joins, leaves and read receipts are not pushed to "
     "everyone, no presence contacts (default 500)"},
    {"cache-ttl-ms", O_INT, F(cache_ttl_ms),
     "cluster: members the store has not confirmed for this long are re-read before use (default "
     "5000)",
     R},
    {"trust-proxy", O_ONOFF, F(trust_proxy),
     "on|off: the client address is the last X-Forwarded-For entry (default off)", R},
    {"log-level", O_LEVEL, F(log_level), "debug|info|warn|error (default info)", R},
    {"redis", O_STR, F(redis), "cluster: Redis HOST:PORT (user->server map)"},
    {"zookeeper", O_STR, F(zookeeper), "cluster: ZooKeeper HOST:PORT (discovery)"},
    {"bus", O_STR, F(bus), "cluster: kafka|redis (default kafka)"},
    {"kafka", O_STR, F(kafka), "cluster: Kafka bootstrap brokers (--bus kafka)"},
    {"kafka-fetch-wait-ms", O_INT, F(kafka_fetch_wait_ms),
     "cluster: longest a Kafka fetch waits for data (default 100)"},
    {"pg", O_STR, F(pg), "cluster: PostgreSQL conninfo; password from <secrets>/db_password.txt"},
    {"allowed-hosts", O_STR, F(allowed_hosts),
     "cluster: HOST[,HOST...] the only chat/presence hosts /auth may name"},
    {"kafka-sasl-mechanism", O_STR, F(kafka_sasl_mechanism),
     "cluster: PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 with <secrets>/kafka_username.txt, "
     "kafka_password.txt (default PLAIN)"},
    {"kafka-tls", O_ONOFF, F(kafka_tls), "cluster: on|off: TLS to the Kafka brokers (default off)"},
    {"web-root", O_STR, F(web_root),
     "serve the browser client from this directory, read on each request (development)"},
    {"no-web", O_FLAG, F(no_web),
     "do not serve the browser client (then / is 404); in a file or CHATD_NO_WEB: 1 or 0"},
    {"config", O_STR, F(config_file),
     "configuration file, INI (default /etc/chatd/chatd.conf when it exists; '' = none)", R},
    {"log-format", O_FORMAT, F(log_format),
     "text|json: one line per event, JSON objects for log collectors (default text)", R},
    {"admin-host", O_STR, F(admin_host), "address of the admin listener (default 127.0.0.1)"},
    {"admin-port", O_INT, F(admin_port),
     "serve /metrics, /health, /ready on this port only (0 = none: /metrics and /ready on the "
     "public port; default 0)"},
    {"tls-cert", O_STR, F(tls_cert),
     "PEM certificate chain: serve https:// and wss:// on --port (with --tls-key; SIGHUP re-reads "
     "both files)"},
    {"tls-key", O_STR, F(tls_key), "PEM private key of --tls-cert"},
    {"allowed-origins", O_STR, F(allowed_origins),
     "ORIGIN[,ORIGIN...]: browser WebSockets from other origins get 403 (default: any)", R},
};
#pragma GCC diagnostic pop
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

enum source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_FLAG };

struct config_meta {
    int argc;
    char **argv;
    unsigned char src[NOPTS];
    int line[NOPTS]; /* SRC_FILE: the line */
    char **owned;    /* strings this configuration allocated */
    size_t nowned, capowned;
};

static void usage(FILE *f) {
    fprintf(f, "usage: chatd [all|api|chat|presence|dispatcher] [options]\n\n"
               "Runs the chat server. With no role (or `all`) one process serves the HTTP API,\n"
               "/chat and /presence on one port and stores everything in SQLite.\n"
               "Cluster roles meet through PostgreSQL, Redis, ZooKeeper and Kafka (or Redis\n"
               "Streams): `api` serves the HTTP API, `chat` serves /chat, `presence` serves\n"
               "/presence, `dispatcher` routes messages to the chat servers.\n\noptions:\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(f, "  --%-22s %s%s\n", opts[i].name, opts[i].help,
                opts[i].reload ? " [SIGHUP]" : "");
    fprintf(f, "  --%-22s %s\n  --%-22s %s\n  --%-22s %s\n\n", "print-config",
            "print the effective configuration and where each value came from", "help",
            "print this help", "version", "print the version");
    fprintf(f, "Every option can also be set in the environment (--port-file is CHATD_PORT_FILE)\n"
               "or in the configuration file (port-file = ...). Flags win over the environment,\n"
               "which wins over the file. SIGHUP reloads the file and the JWT secrets; options\n"
               "marked [SIGHUP] then take their new value, the others need a restart.\n");
}

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static const opt *find_opt(const char *name) {
    for (size_t i = 0; i < NOPTS; i++)
        if (!strcmp(opts[i].name, name)) return &opts[i];
    return NULL;
}

static char *own(chatd_config *c, const char *v) {
    struct config_meta *m = c->meta__;
    if (m->nowned == m->capowned) {
        m->capowned = m->capowned ? 2 * m->capowned : 16;
        m->owned = xrealloc(m->owned, m->capowned * sizeof(*m->owned));
    }
    char *s = xstrdup(v);
    return m->owned[m->nowned++] = s;
}

/* Sets o from text v (copied when copy is set); 0, or -1 with err set.
 * An empty string leaves a string option unset. */
static int set_opt(chatd_config *c, const opt *o, const char *v, int copy, char *err,
                   size_t errlen) {
    char *p = (char *)c + o->offset;
    char *end = NULL;
    switch (o->kind) {
    case O_STR:
        *(const char **)p = !*v ? NULL : copy ? own(c, v) : v;
        return 0;
    case O_FLAG: /* the flag itself (v NULL), or 1|0 from a file or CHATD_NO_WEB */
        if (!v || !strcmp(v, "1") || !strcmp(v, "0")) {
            *(int *)p = !v || !strcmp(v, "1");
            return 0;
        }
        break;
    case O_INT: {
        errno = 0;
        long long n = strtoll(v, &end, 10);
        /* never cut down to a value that would pass the range checks */
        if (!*v || *end || n < 0 || errno == ERANGE || (o->size == 4 && n > INT_MAX)) break;
        if (o->size == 4)
            *(int *)p = (int)n;
        else
            *(int64_t *)p = n; /* all 8-byte ints are int64/uint64/size_t */
        return 0;
    }
    case O_DOUBLE: {
        double dv = strtod(v, &end);
        if (!*v || *end || !(dv > 0)) break; /* NaN too */
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
    case O_LEVEL:
    case O_FORMAT: {
        int l = o->kind == O_LEVEL ? log_parse_level(v) : log_parse_format(v);
        if (l < 0) break;
        *(int *)p = l;
        return 0;
    }
    }
    set_err(err, errlen, "invalid value for %s: '%s'", o->name, v);
    return -1;
}

/* The value of o in c as text (what --print-config shows, unmasked). */
static void format_opt(const chatd_config *c, const opt *o, char *out, size_t cap) {
    const char *p = (const char *)c + o->offset;
    int iv = o->size == 4 ? *(const int *)p : 0;
    switch (o->kind) {
    case O_STR:
        snprintf(out, cap, "%s", *(const char *const *)p ? *(const char *const *)p : "");
        break;
    case O_INT:
        snprintf(out, cap, "%lld", o->size == 4 ? (long long)iv : (long long)*(const int64_t *)p);
        break;
    case O_DOUBLE:
        snprintf(out, cap, "%g", *(const double *)p);
        break;
    case O_ONOFF:
        snprintf(out, cap, "%s", iv ? "on" : "off");
        break;
    case O_FLAG:
        snprintf(out, cap, "%d", iv);
        break;
    case O_BOOL:
        snprintf(out, cap, "%s", iv ? "min" : "interactive");
        break;
    case O_LEVEL:
        snprintf(out, cap, "%s", log_level_name(iv));
        break;
    case O_FORMAT:
        snprintf(out, cap, "%s", log_format_name(iv));
        break;
    }
}

/* Options whose value is itself a secret are named so: *password*, or a
 * last word "secret" or "token" (not "token-ttl", not the "secrets" dir). */
static int secret_name(const char *name) {
    const char *last = strrchr(name, '-');
    last = last ? last + 1 : name;
    return strstr(name, "password") || !strcmp(last, "secret") || !strcmp(last, "token");
}

/* The value as shown: secrets masked, and a password inside a libpq
 * conninfo (password=... / password='...') too. */
static void shown_opt(const chatd_config *c, const opt *o, char *out, size_t cap) {
    format_opt(c, o, out, cap);
    if (secret_name(o->name) && *out) {
        snprintf(out, cap, "********");
        return;
    }
    for (char *pw = strstr(out, "password"); pw; pw = strstr(pw + 1, "password")) {
        char *v = pw + 8;
        while (*v == ' ')
            v++;
        if (*v != '=') continue;
        v++;
        while (*v == ' ')
            v++;
        size_t n = 0;
        if (*v == '\'') {
            for (n = 1; v[n] && v[n] != '\''; n += v[n] == '\\' && v[n + 1] ? 2 : 1) {
            }
            if (v[n]) n++;
        } else {
            n = strcspn(v, " ");
        }
        size_t tail = strlen(v + n);
        if ((size_t)(v - out) + 8 + tail + 1 > cap) continue;
        memmove(v + 8, v + n, tail + 1);
        memcpy(v, "********", 8);
    }
}

static void set_defaults(chatd_config *c) {
    memset(c, 0, sizeof(*c));
    c->role = "all";
    c->host = "127.0.0.1";
    c->port = 8080;
    c->data_dir = "./data";
    c->secrets_dir = "./secrets";
    c->fsync = 1;
    c->search_lag = 1000000;
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
    c->admin_host = "127.0.0.1";
}

static void env_name(const opt *o, char env[64]) {
    size_t k = 6;
    memcpy(env, "CHATD_", 6);
    for (const char *s = o->name; *s && k < 63; s++)
        env[k++] = *s == '-' ? '_' : (char)toupper((unsigned char)*s);
    env[k] = '\0';
}

typedef struct file_ctx {
    chatd_config *c;
} file_ctx;

static int file_pair(void *data, const char *key, const char *value, int line, char *err,
                     size_t errlen) {
    chatd_config *c = ((file_ctx *)data)->c;
    const opt *o = find_opt(key);
    if (!o) {
        set_err(err, errlen, "unknown option '%s' (see chatd --help)", key);
        return -1;
    }
    if (o->offset == offsetof(chatd_config, config_file)) {
        set_err(err, errlen, "'config' cannot be set in the configuration file");
        return -1;
    }
    if (set_opt(c, o, value, 1, err, errlen) != 0) return -1;
    c->meta__->src[o - opts] = SRC_FILE;
    c->meta__->line[o - opts] = line;
    return 0;
}

/* Every check that spans options, after all layers. */
static int validate(chatd_config *c, char *err, size_t errlen) {
    if (c->node_id > 1023) {
        set_err(err, errlen, "--node-id must be 0..1023");
        return -1;
    }
    if (c->port > 65535 || c->admin_port > 65535) {
        set_err(err, errlen, "--%s must be 0..65535", c->port > 65535 ? "port" : "admin-port");
        return -1;
    }
    if (!c->tls_cert != !c->tls_key) {
        set_err(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    struct stat st;
    if (c->web_root && (stat(c->web_root, &st) != 0 || !S_ISDIR(st.st_mode))) {
        set_err(err, errlen, "--web-root %s is not a directory", c->web_root);
        return -1;
    }
    if (!c->advertise) c->advertise = c->host;
    if (!c->bus) c->bus = "kafka";
    if (strcmp(c->bus, "kafka") && strcmp(c->bus, "redis")) {
        set_err(err, errlen, "--bus must be kafka or redis");
        return -1;
    }
    return 0;
}

enum { BUILD_OK = 0, BUILD_PRINTED = 1, BUILD_ERROR = -1 };

/* Builds c from scratch out of argv, the environment and the file. With
 * interactive set, --help, --version and --print-config print and return
 * BUILD_PRINTED, and getopt reports unknown flags itself. */
static int build(chatd_config *c, int argc, char **argv, int interactive, char *err,
                 size_t errlen) {
    set_defaults(c);
    struct config_meta *m = xcalloc(1, sizeof(*m));
    c->meta__ = m;
    m->argc = argc;
    m->argv = argv;

    /* The flags first, applied last: --config names the file. */
    struct option lopts[NOPTS + 4];
    for (size_t i = 0; i < NOPTS; i++)
        lopts[i] =
            (struct option){opts[i].name, opts[i].kind == O_FLAG ? no_argument : required_argument,
                            NULL, (int)i + 1000};
    lopts[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    lopts[NOPTS + 1] = (struct option){"version", no_argument, NULL, 'V'};
    lopts[NOPTS + 2] = (struct option){"print-config", no_argument, NULL, 'P'};
    lopts[NOPTS + 3] = (struct option){NULL, 0, NULL, 0};
    int nflags = 0, print = 0;
    struct {
        int opt;
        const char *value;
    } flags[argc > 0 ? argc : 1];
    optind = 0; /* glibc: full re-initialisation (a reload parses again) */
    opterr = interactive;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        if (ch == 'h' && interactive) {
            usage(stdout);
            return BUILD_PRINTED;
        }
        if (ch == 'V' && interactive) {
            printf("chatd 0.1.0\n");
            return BUILD_PRINTED;
        }
        if (ch == 'P') {
            print = 1;
            continue;
        }
        if (ch < 1000) {
            if (interactive) usage(stderr);
            set_err(err, errlen, "unknown flag (see chatd --help)");
            return BUILD_ERROR;
        }
        flags[nflags].opt = ch - 1000;
        flags[nflags++].value = optarg;
    }
    if (optind < argc) c->role = argv[optind++];
    if (optind < argc) {
        set_err(err, errlen, "unexpected argument '%s'", argv[optind]);
        return BUILD_ERROR;
    }

    /* Which file: --config, else CHATD_CONFIG, else the default if present
     * ('' in either means none). */
    const opt *cfg_opt = find_opt("config");
    char env[64];
    env_name(cfg_opt, env);
    const char *path = getenv(env);
    int chosen = path != NULL;
    for (int i = 0; i < nflags; i++)
        if (&opts[flags[i].opt] == cfg_opt) path = flags[i].value, chosen = 1;
    if (!chosen && access(CONFIG_DEFAULT_FILE, F_OK) == 0) path = CONFIG_DEFAULT_FILE;
    if (path && *path) {
        file_ctx fc = {c};
        if (config_file_read(path, file_pair, &fc, err, errlen) != 0) return BUILD_ERROR;
    }

    for (size_t i = 0; i < NOPTS; i++) { /* environment */
        env_name(&opts[i], env);
        const char *v = getenv(env);
        if (!v) continue;
        char why[300];
        if (set_opt(c, &opts[i], v, 0, why, sizeof(why)) != 0) {
            set_err(err, errlen, "%s: %s", env, why);
            return BUILD_ERROR;
        }
        m->src[i] = SRC_ENV;
    }
    for (int i = 0; i < nflags; i++) {
        char why[300];
        if (set_opt(c, &opts[flags[i].opt], flags[i].value, 0, why, sizeof(why)) != 0) {
            set_err(err, errlen, "invalid value for --%s: '%s'", opts[flags[i].opt].name,
                    flags[i].value);
            return BUILD_ERROR;
        }
        m->src[flags[i].opt] = SRC_FLAG;
    }
    if (!chosen && path) { /* the default file was read: say so */
        c->config_file = path;
        m->src[cfg_opt - opts] = SRC_DEFAULT;
    }
    if (validate(c, err, errlen) != 0) return BUILD_ERROR;
    if (print && interactive) {
        config_print(c, stdout);
        return BUILD_PRINTED;
    }
    return BUILD_OK;
}

int config_parse(chatd_config *c, int argc, char **argv) {
    char err[1024] = "";
    int rc = build(c, argc, argv, 1, err, sizeof(err));
    if (rc == BUILD_ERROR && err[0]) fprintf(stderr, "chatd: %s\n", err);
    return rc;
}

int config_reload(const chatd_config *cur, chatd_config *next, char *err, size_t errlen) {
    return build(next, cur->meta__->argc, cur->meta__->argv, 0, err, errlen) == BUILD_OK ? 0 : -1;
}

int config_update(chatd_config *live, const chatd_config *next, config_change_cb cb, void *data) {
    int restart = 0;
    for (size_t i = 0; i < NOPTS; i++) {
        const opt *o = &opts[i];
        char was[1024], now[1024];
        format_opt(live, o, was, sizeof(was));
        format_opt(next, o, now, sizeof(now));
        if (!strcmp(was, now)) continue;
        shown_opt(live, o, was, sizeof(was));
        shown_opt(next, o, now, sizeof(now));
        if (o->reload) {
            char *to = (char *)live + o->offset;
            const char *from = (const char *)next + o->offset;
            if (o->kind != O_STR)
                memcpy(to, from, (size_t)o->size);
            else if (*(const char *const *)from)
                *(const char **)to = own(live, *(const char *const *)from);
            else
                *(const char **)to = NULL;
            live->meta__->src[i] = next->meta__->src[i];
            live->meta__->line[i] = next->meta__->line[i];
        } else {
            restart++;
        }
        if (cb) cb(data, o->name, was, now, o->reload);
    }
    return restart;
}

void config_print(const chatd_config *c, FILE *f) {
    const struct config_meta *m = c->meta__;
    fprintf(f,
            "# chatd effective configuration (role %s); each value's source follows it.\n"
            "# Secrets are masked. This is a configuration file chatd reads back.\n[chatd]\n",
            c->role);
    for (size_t i = 0; i < NOPTS; i++) {
        char v[1024], from[600];
        shown_opt(c, &opts[i], v, sizeof(v));
        char env[64];
        env_name(&opts[i], env);
        switch (m ? m->src[i] : SRC_DEFAULT) {
        case SRC_FILE:
            snprintf(from, sizeof(from), "%s:%d", c->config_file, m->line[i]);
            break;
        case SRC_ENV:
            snprintf(from, sizeof(from), "environment %s", env);
            break;
        case SRC_FLAG:
            snprintf(from, sizeof(from), "flag --%s", opts[i].name);
            break;
        default:
            snprintf(from, sizeof(from), "default");
            break;
        }
        if (opts[i].offset == offsetof(chatd_config, config_file)) { /* not readable back */
            fprintf(f, "; config = %s ; %s\n", v, from);
            continue;
        }
        fprintf(f, "%s = %s%*s; %s\n", opts[i].name, v,
                (int)(strlen(opts[i].name) + strlen(v) < 40 ? 40 - strlen(opts[i].name) - strlen(v)
                                                            : 1),
                "", from);
    }
}

void config_free(chatd_config *c) {
    struct config_meta *m = c->meta__;
    if (m) {
        for (size_t i = 0; i < m->nowned; i++)
            free(m->owned[i]);
        free(m->owned);
        free(m);
    }
    memset(c, 0, sizeof(*c));
}
