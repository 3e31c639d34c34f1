/*
 * backends: the cluster's engine settings from flags and secret files
 * (see backends.h). Every part is loaded at most once per process.
 */
#include "core/err.h"
#include "engine/backends.h"
#include "core/alloc.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/secret.h"
#include "core/log.h"
#include "engine/hostport.h"

#define SECRET_MAX 65536
#define PASSWORD_MAX 4096
#define REDIS_CHECK_MS 2000

static int secret_path(const chatd_config *cfg, const char *name, char *path, size_t cap) {
    if (snprintf(path, cap, "%s/%s", cfg->secrets_dir, name) >= (int)cap) {
        log_error("--secrets: path too long: %s", cfg->secrets_dir);
        return -1;
    }
    return 0;
}

/* DIR/name as a C string without trailing CR/LF: 0 (*out malloc'd), 1
 * (no such file, *out NULL), -1 (logged). */
static int read_password(const chatd_config *cfg, const char *name, char **out) {
    char path[PATH_MAX], err[512];
    uint8_t *buf;
    size_t len;
    *out = NULL;
    if (secret_path(cfg, name, path, sizeof(path)) != 0) return -1;
    int rc = secret_read_file(path, name, PASSWORD_MAX, &buf, &len, err, sizeof(err));
    if (rc == CHATD_ENOTFOUND) return 1;
    if (rc != 0) {
        log_error("%s", err);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0'; /* the buffer has a spare byte */
    if (len == 0 || memchr(buf, '\0', len)) {
        log_error("%s holds no usable password (empty, or a NUL byte)", path);
        explicit_bzero(buf, len);
        free(buf);
        return -1;
    }
    *out = (char *)buf;
    return 0;
}

static void wipe(char **s) {
    if (*s) {
        explicit_bzero(*s, strlen(*s));
        free(*s);
    }
    *s = NULL;
}

/* ---- Redis ---- */

static int load_redis(backends *b, const chatd_config *cfg, const char *role) {
    char err[512];
    if (!cfg->redis) {
        log_error("the %s role needs --redis HOST:PORT", role);
        return -1;
    }
    if (hostport_parse(cfg->redis, b->redis_host, sizeof(b->redis_host), &b->redis.port, 0) != 0) {
        log_error("--redis: '%s' is not HOST:PORT (port 1..65535, IPv6 as [ADDRESS]:PORT)",
                  cfg->redis);
        return -1;
    }
    b->redis.host = b->redis_host;
    if (read_password(cfg, "redis_password.txt", &b->redis_password) < 0) return -1;
    b->redis.password = b->redis_password;
    redisContext *c;
    int rc = redis_link_connect_sync(&b->redis, REDIS_CHECK_MS, &c, err, sizeof(err));
    if (rc == CHATD_EACCES) {
        log_error("%s", err);
        return -1;
    }
    if (rc == 0)
        redisFree(c);
    else
        log_warn("%s (at start-up; connecting in the background)", err);
    return 0;
}

/* ---- ZooKeeper ---- */

/* "h:p,h:p[/chroot]": every server a valid HOST:PORT, none empty. */
static int zk_connect_valid(const char *s) {
    char host[256], one[300];
    int port;
    size_t servers = strcspn(s, "/");
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",/");
        if (len >= sizeof(one)) return 0;
        memcpy(one, p, len);
        one[len] = '\0';
        if (hostport_parse(one, host, sizeof(host), &port, 0) != 0) return 0;
        p += len;
        if ((size_t)(p - s) >= servers) return 1; /* the end, or the chroot */
        p++;                                      /* past the comma */
    }
}

static int load_zookeeper(backends *b, const chatd_config *cfg, const char *role) {
    if (!cfg->zookeeper) {
        log_error("the %s role needs --zookeeper HOST:PORT[,HOST:PORT...]", role);
        return -1;
    }
    if (!zk_connect_valid(cfg->zookeeper)) {
        log_error("--zookeeper: '%s' is not HOST:PORT[,HOST:PORT...] (port 1..65535)",
                  cfg->zookeeper);
        return -1;
    }
    if (cfg->allowed_hosts && discovery_allowed_valid(cfg->allowed_hosts) != 0) {
        log_error("--allowed-hosts: '%s' is not HOST[,HOST...]", cfg->allowed_hosts);
        return -1;
    }
    if (read_password(cfg, "zookeeper_password.txt", &b->zk_password) < 0) return -1;
    if (!b->zk_password)
        log_warn("no zookeeper_password.txt in %s: znodes are open to anyone who reaches "
                 "ZooKeeper",
                 cfg->secrets_dir);
    b->zk.connect = cfg->zookeeper;
    b->zk.session_timeout_ms = BACKENDS_ZK_SESSION_MS;
    b->zk.password = b->zk_password;
    return 0;
}

/* ---- the bus ---- */

static int load_cluster_key(backends *b, const chatd_config *cfg) {
    char path[PATH_MAX], err[512];
    uint8_t *buf;
    size_t len;
    const char *names[] = {"cluster_secret.txt", "cluster_secret_accept.txt"};
    for (int i = 0; i < 2; i++) {
        if (secret_path(cfg, names[i], path, sizeof(path)) != 0) return -1;
        int rc = secret_read_file(path, "cluster secret", SECRET_MAX, &buf, &len, err, sizeof(err));
        if (rc == CHATD_ENOTFOUND && i == 1) return 0;
        if (rc == CHATD_ENOTFOUND)
            log_error("no cluster secret: %s does not exist; create it (any bytes, e.g. 64 random "
                      "hex characters, the same file for every chat, presence and dispatcher "
                      "process) before starting this role",
                      path);
        else if (rc != 0)
            log_error("%s", err);
        if (rc != 0) return -1;
        rc = i == 0 ? record_key_new(&b->key, buf, len) : record_key_accept(b->key, buf, len);
        explicit_bzero(buf, len);
        free(buf);
        if (rc != 0) {
            log_error("cannot use the cluster secret in %s", path);
            return -1;
        }
        if (i == 1) log_info("also accepting bus payloads sealed with %s (rotation)", path);
    }
    return 0;
}

static int load_kafka(backends *b, const chatd_config *cfg) {
    const char *mech = cfg->kafka_sasl_mechanism;
    if (!cfg->kafka || !*cfg->kafka) {
        log_error("--bus kafka needs --kafka BROKERS");
        return -1;
    }
    if (mech && strcmp(mech, "PLAIN") && strcmp(mech, "SCRAM-SHA-256") &&
        strcmp(mech, "SCRAM-SHA-512")) {
        log_error("--kafka-sasl-mechanism: '%s' is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
                  mech);
        return -1;
    }
    int u = read_password(cfg, "kafka_username.txt", &b->kafka_username);
    int p = u < 0 ? -1 : read_password(cfg, "kafka_password.txt", &b->kafka_password);
    if (u < 0 || p < 0) return -1;
    if (u != p) {
        log_error("Kafka SASL needs both kafka_username.txt and kafka_password.txt in %s",
                  cfg->secrets_dir);
        return -1;
    }
    if (u == 1 && mech) {
        log_error("--kafka-sasl-mechanism needs kafka_username.txt and kafka_password.txt in %s",
                  cfg->secrets_dir);
        return -1;
    }
    b->kafka.brokers = cfg->kafka;
    b->kafka.fetch_wait_ms = cfg->kafka_fetch_wait_ms;
    b->kafka.tls = cfg->kafka_tls;
    if (u == 0) {
        b->kafka.sasl_mechanism = mech ? mech : "PLAIN";
        b->kafka.sasl_username = b->kafka_username;
        b->kafka.sasl_password = b->kafka_password;
    }
    return 0;
}

static int load_bus(backends *b, const chatd_config *cfg, const char *role) {
    b->bus_redis = !strcmp(cfg->bus, "redis");
    if (b->bus_redis && backends_load(b, cfg, role, BACKENDS_REDIS) != 0) return -1;
    if (!b->bus_redis && load_kafka(b, cfg) != 0) return -1;
    return load_cluster_key(b, cfg);
}

int backends_load(backends *b, const chatd_config *cfg, const char *role, unsigned need) {
    static const struct {
        unsigned part;
        int (*load)(backends *, const chatd_config *, const char *);
    } parts[] = {{BACKENDS_REDIS, load_redis},
                 {BACKENDS_ZOOKEEPER, load_zookeeper},
                 {BACKENDS_BUS, load_bus}};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (!(need & parts[i].part) || (b->loaded & parts[i].part)) continue;
        if (parts[i].load(b, cfg, role) != 0) return -1;
        b->loaded |= parts[i].part;
    }
    return 0;
}

void backends_free(backends *b) {
    wipe(&b->redis_password);
    wipe(&b->zk_password);
    wipe(&b->kafka_username);
    wipe(&b->kafka_password);
    record_key_free(b->key);
    memset(b, 0, sizeof(*b));
}

/* ---- PostgreSQL ---- */

char *backends_pg_conninfo(const chatd_config *cfg) {
    char *pw = NULL;
    if (!cfg->pg) return NULL;
    if (read_password(cfg, "db_password.txt", &pw) < 0) return NULL;
    size_t cap = strlen(cfg->pg) + (pw ? 2 * strlen(pw) : 0) + 32;
    char *out = xmalloc(cap);
    size_t n = (size_t)snprintf(out, cap, "%s", cfg->pg);
    if (pw) {
        n += (size_t)snprintf(out + n, cap - n, " password='");
        for (const char *p = pw; *p; p++) {
            if (*p == '\'' || *p == '\\') out[n++] = '\\';
            out[n++] = *p;
        }
        out[n++] = '\'';
        out[n] = '\0';
    }
    wipe(&pw);
    return out;
}
