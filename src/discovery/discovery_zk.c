/*
 * discovery_zk: the ZooKeeper discovery backend (libzookeeper_mt).
 *
 * Layout in ZooKeeper (all under one service, e.g. "chat-service"):
 *   /<service>                      persistent parent
 *   /<service>/server-ids/id-N      ephemeral sequential: node id = N mod 1024
 *   /<service>/<id>                 ephemeral: {"id","host","port","timestamp","connections"}
 *
 * Why a cache: list() is called on the loop thread for every /auth and must
 * not wait for a round trip. The first list() of a service sets a child
 * watch on /<service> and a data watch on every instance node; the watch
 * callbacks and completions run on ZooKeeper's completion thread and keep
 * the cache current, under `mu`. An instance whose process dies loses its
 * session; ZooKeeper then deletes its ephemeral node and the child watch
 * drops it from the cache.
 *
 * Session expiry: an expired handle is dead for good. The watcher wakes the
 * loop (uv_async), which closes it and opens a new session; when that one
 * connects, the watcher re-creates this process's registrations and
 * re-arms the watches.
 *
 * Who may change what: with a password (zookeeper_password.txt) every
 * handle adds digest auth as DISCOVERY_ZK_USER right after zookeeper_init
 * (the client library sends it before any queued request, and again on
 * every reconnect), and every znode is created with `acl`: READ for
 * world:anyone, ALL for digest:chatd:<hash>. Nobody else can then register
 * a fake instance (CREATE on /<service>), rewrite or delete ours. A parent
 * that already exists open to others (made by an older chatd) or closed to
 * us gets ours with zoo_set_acl; if that is refused (someone else made it
 * first), the caller's open-time step fails with a message saying so. A
 * parent that also names another chatd digest is left as it is (a
 * password rotation, docs/OPERATIONS.md).
 *
 * Locking rules: `mu` protects the caches, the registrations, `zh`,
 * `connected` and `restore`. Asynchronous zoo_a* calls may be made with
 * `mu` held (they only queue a request); synchronous zoo_* calls never are
 * (their answer is delivered by the completion thread, which may be waiting
 * for `mu`). `zh` is replaced only on the loop thread.
 */
#include "core/err.h"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <uv.h>
#include <zookeeper/zookeeper.h>

#include "core/clock.h"
#include "core/log.h"
#include "discovery/discovery.h"

#define ZK_MAX_SERVICES 4
#define ZK_NAME_MAX 64
#define ZK_PATH_MAX 160
#define ZK_FIRST_FILL_MS 2000 /* how long the first list() waits for the cache */

typedef struct zk_entry {
    char name[24];     /* child node name: the decimal id */
    int have;          /* inst holds parsed data */
    int inflight;      /* a data read is queued */
    uint64_t heard_ms; /* clock_mono_ms() when inst last got a new timestamp */
    discovery_instance inst;
} zk_entry;

typedef struct zk_service {
    discovery *d;
    char name[ZK_NAME_MAX]; /* "" = unused slot */
    int listed;             /* a child listing has completed at least once */
    int inflight;           /* data reads queued for this service */
    zk_entry *entries;
    size_t n, cap;
} zk_service;

typedef struct zk_reg {
    char service[ZK_NAME_MAX]; /* "" = unused slot */
    discovery_instance self;
} zk_reg;

struct discovery {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on connection changes and cache fills */
    zhandle_t *zh;
    int connected; /* zh is in ZOO_CONNECTED_STATE */
    int restore;   /* zh is a replacement session: re-register on connect */
    char connect[256];
    int timeout_ms;
    char auth[320];      /* "chatd:<password>", "" without a password; wiped on close */
    char digest_id[128]; /* "chatd:<base64 sha1>" */
    struct ACL acl_entries[2];
    struct ACL_vector acl; /* what every znode is created with */
    uv_async_t *expired;   /* NULL without a loop; freed by its close callback */
    zk_service svc[ZK_MAX_SERVICES];
    zk_reg reg[ZK_MAX_SERVICES];
};

/* A queued data read: which instance node of which service. */
typedef struct zk_read {
    zk_service *s;
    char name[24];
} zk_read;

static void children_done(int rc, const struct String_vector *strings, const void *data);

/* ---- small helpers ---- */

static void deadline_after(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static const char *basename_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int valid_service(const char *service) {
    size_t len = strlen(service);
    return len > 0 && len < ZK_NAME_MAX && !strchr(service, '/');
}

/* The instance JSON; caller frees. NULL on allocation failure. */
static char *instance_json(const discovery_instance *in) {
    json_t *o = json_pack("{s:I,s:s,s:i,s:I,s:I}", "id", (json_int_t)in->id, "host", in->host,
                          "port", in->port, "timestamp", (json_int_t)in->timestamp_ms,
                          "connections", (json_int_t)in->connections);
    if (o && in->tls) json_object_set_new(o, "tls", json_true());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static int parse_instance(const char *buf, int len, discovery_instance *out) {
    json_t *o = json_loadb(buf, (size_t)len, 0, NULL);
    json_int_t id = -1, port = 0, ts = 0, conns = 0;
    const char *host = NULL;
    int rc = -1;
    if (o &&
        json_unpack(o, "{s:I,s:s,s:I,s:I,s:I}", "id", &id, "host", &host, "port", &port,
                    "timestamp", &ts, "connections", &conns) == 0 &&
        id >= 0 && id < 1024 && strlen(host) < sizeof out->host && port > 0 && port < 65536 &&
        conns >= 0) {
        memset(out, 0, sizeof *out);
        out->id = (unsigned)id;
        strcpy(out->host, host);
        out->port = (int)port;
        out->timestamp_ms = ts;
        out->connections = (uint64_t)conns;
        out->tls = json_is_true(json_object_get(o, "tls"));
        rc = 0;
    }
    json_decref(o);
    return rc;
}

static const char *why(int rc) {
    return rc == ZNOAUTH ? "not allowed (the znode belongs to someone else, or "
                           "zookeeper_password.txt differs from the other processes')"
                         : zerror(rc);
}

/* 1 when v lets our identity do everything and every identity that is not
 * a digest (world, ip...) at most read. Other digest entries are left
 * alone: during a password rotation a parent names both passwords. */
static int acl_closed(const struct ACL_vector *v, const char *digest_id) {
    int ours = 0;
    for (int i = 0; i < v->count; i++) {
        const struct ACL *a = &v->data[i];
        int digest = !strcmp(a->id.scheme, "digest");
        if (digest && !strcmp(a->id.id, digest_id) && (a->perms & ZOO_PERM_ALL) == ZOO_PERM_ALL)
            ours = 1;
        if (!digest && (a->perms & ~ZOO_PERM_READ)) return 0;
    }
    return ours;
}

/* With a password: gives an existing node our ACL if it is open to others
 * or closed to us. */
static int close_node(discovery *d, const char *path) {
    struct ACL_vector have = {0};
    struct Stat st;
    int rc = zoo_get_acl(d->zh, path, &have, &st);
    if (rc == ZOK && !acl_closed(&have, d->digest_id)) {
        rc = zoo_set_acl(d->zh, path, st.aversion, &d->acl);
        if (rc == ZOK)
            log_info("discovery: %s was open to others: now only chatd may change it", path);
    }
    deallocate_ACL_vector(&have);
    if (rc == ZOK) return 0;
    log_error("discovery: cannot secure %s: %s", path, why(rc));
    return -1;
}

/* Creates a persistent node if it is missing (synchronous). */
static int ensure_node(discovery *d, const char *path) {
    int rc = zoo_create(d->zh, path, NULL, -1, &d->acl, ZOO_PERSISTENT, NULL, 0);
    if (rc == ZOK) return 0;
    if (rc == ZNODEEXISTS) return d->auth[0] ? close_node(d, path) : 0;
    log_error("discovery: create %s: %s", path, why(rc));
    return -1;
}

/* ---- the cache (all *_locked functions run with d->mu held) ---- */

static zk_service *find_service_locked(discovery *d, const char *name) {
    for (int i = 0; i < ZK_MAX_SERVICES; i++)
        if (!strcmp(d->svc[i].name, name)) return &d->svc[i];
    return NULL;
}

static zk_entry *find_entry_locked(zk_service *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->entries[i].name, name)) return &s->entries[i];
    return NULL;
}

static void remove_entry_locked(zk_service *s, zk_entry *e) {
    *e = s->entries[--s->n];
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

static void data_done(int rc, const char *value, int len, const struct Stat *stat,
                      const void *data) {
    zk_read *r = (zk_read *)data;
    zk_service *s = r->s;
    pthread_mutex_lock(&s->d->mu);
    s->inflight--;
    zk_entry *e = find_entry_locked(s, r->name);
    if (e) {
        e->inflight = 0;
        if (rc == ZOK && value) {
            discovery_instance got;
            int had = e->have;
            e->have = parse_instance(value, len, &got) == 0;
            if (!e->have) log_warn("discovery: bad data in /%s/%s", s->name, r->name);
            /* a refresh is a new timestamp: re-reading the same data (after
             * a reconnect) says nothing about the instance being alive */
            if (e->have && (!had || got.timestamp_ms != e->inst.timestamp_ms))
                e->heard_ms = clock_mono_ms();
            if (e->have) e->inst = got;
        } else if (rc == ZNONODE) {
            remove_entry_locked(s, e);
        }
    }
    pthread_cond_broadcast(&s->d->cv);
    pthread_mutex_unlock(&s->d->mu);
    free(r);
}

/* Queues a read (with a data watch) of one instance node. */
static void read_entry_locked(zk_service *s, zk_entry *e) {
    zk_read *r = calloc(1, sizeof *r);
    char path[ZK_PATH_MAX];
    if (!r || !s->d->zh) {
        free(r);
        return;
    }
    r->s = s;
    snprintf(r->name, sizeof r->name, "%s", e->name);
    snprintf(path, sizeof path, "/%s/%s", s->name, e->name);
    int rc = zoo_awget(s->d->zh, path, data_watcher, s, data_done, r);
    if (rc != ZOK) {
        log_warn("discovery: read %s: %s", path, zerror(rc));
        free(r);
        return;
    }
    e->inflight = 1;
    s->inflight++;
}

static void data_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    zk_service *s = ctx;
    if (type != ZOO_CHANGED_EVENT && type != ZOO_DELETED_EVENT) return;
    pthread_mutex_lock(&s->d->mu);
    zk_entry *e = find_entry_locked(s, basename_of(path));
    if (e && type == ZOO_DELETED_EVENT)
        remove_entry_locked(s, e);
    else if (e)
        read_entry_locked(s, e);
    pthread_mutex_unlock(&s->d->mu);
}

static void child_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

/* Queues a listing (with a child watch) of /<service>. */
static void list_children_locked(zk_service *s) {
    char path[ZK_PATH_MAX];
    snprintf(path, sizeof path, "/%s", s->name);
    if (!s->d->zh) return;
    int rc = zoo_awget_children(s->d->zh, path, child_watcher, s, children_done, s);
    if (rc != ZOK) log_warn("discovery: list %s: %s", path, zerror(rc));
}

static void child_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    zk_service *s = ctx;
    if (type != ZOO_CHILD_EVENT && type != ZOO_DELETED_EVENT) return;
    pthread_mutex_lock(&s->d->mu);
    list_children_locked(s);
    pthread_mutex_unlock(&s->d->mu);
}

static int in_strings(const struct String_vector *v, const char *name) {
    for (int i = 0; i < v->count; i++)
        if (!strcmp(v->data[i], name)) return 1;
    return 0;
}

/* A fresh listing: drop instances that are gone, read the new ones. */
static void children_done(int rc, const struct String_vector *strings, const void *data) {
    zk_service *s = (zk_service *)data;
    pthread_mutex_lock(&s->d->mu);
    if (rc == ZOK && strings) {
        for (size_t i = 0; i < s->n;) {
            if (in_strings(strings, s->entries[i].name))
                i++;
            else
                remove_entry_locked(s, &s->entries[i]);
        }
        for (int i = 0; i < strings->count; i++) {
            const char *name = strings->data[i];
            if (!strcmp(name, "server-ids") || strlen(name) >= sizeof s->entries[0].name ||
                find_entry_locked(s, name))
                continue;
            if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 8;
                zk_entry *grown = realloc(s->entries, cap * sizeof *grown);
                if (!grown) break;
                s->entries = grown;
                s->cap = cap;
            }
            zk_entry *e = &s->entries[s->n++];
            memset(e, 0, sizeof *e);
            snprintf(e->name, sizeof e->name, "%s", name);
        }
        /* Also retries reads that failed earlier (e.g. on connection loss). */
        for (size_t i = 0; i < s->n; i++)
            if (!s->entries[i].have && !s->entries[i].inflight)
                read_entry_locked(s, &s->entries[i]);
    } else if (rc != ZCLOSING) {
        log_warn("discovery: listing /%s: %s", s->name, zerror(rc));
    }
    s->listed = 1;
    pthread_cond_broadcast(&s->d->cv);
    pthread_mutex_unlock(&s->d->mu);
}

/* ---- session ---- */

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

static void create_done(const int rc, const char *value, const void *data) {
    if (rc != ZOK && rc != ZCLOSING) log_warn("discovery: re-register: %s", why(rc));
}

/* A new handle (mu held or not yet shared); with a password, logs in. */
static zhandle_t *new_handle(discovery *d) {
    zhandle_t *zh = zookeeper_init(d->connect, session_watcher, d->timeout_ms, NULL, d, 0);
    if (zh && d->auth[0]) {
        int rc = zoo_add_auth(zh, "digest", d->auth, (int)strlen(d->auth), NULL, NULL);
        if (rc != ZOK) {
            log_error("discovery: zoo_add_auth: %s", zerror(rc));
            zookeeper_close(zh);
            return NULL;
        }
    }
    return zh;
}

/* A new session after expiry: put back what the old one had. */
static void restore_locked(discovery *d) {
    for (int i = 0; i < ZK_MAX_SERVICES; i++) {
        zk_reg *g = &d->reg[i];
        if (!g->service[0]) continue;
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof path, "/%s/%u", g->service, g->self.id);
        g->self.timestamp_ms = clock_now_ms();
        char *json = instance_json(&g->self);
        if (!json) continue;
        int rc = zoo_acreate(d->zh, path, json, (int)strlen(json), &d->acl, ZOO_EPHEMERAL,
                             create_done, NULL);
        if (rc != ZOK) log_warn("discovery: re-register %s: %s", path, zerror(rc));
        free(json);
    }
    log_info("discovery: new ZooKeeper session, registrations restored");
}

static void session_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    discovery *d = ctx;
    if (type != ZOO_SESSION_EVENT) return;
    pthread_mutex_lock(&d->mu);
    if (zh == d->zh) {
        d->connected = state == ZOO_CONNECTED_STATE;
        if (state == ZOO_CONNECTED_STATE) {
            if (d->restore) restore_locked(d);
            d->restore = 0;
            /* Watches survive a reconnect of the same session, but listings
             * that failed while disconnected did not set theirs: re-list. */
            for (int i = 0; i < ZK_MAX_SERVICES; i++)
                if (d->svc[i].name[0]) list_children_locked(&d->svc[i]);
        } else if (state == ZOO_EXPIRED_SESSION_STATE) {
            log_warn("discovery: ZooKeeper session expired; opening a new one");
            if (d->expired) uv_async_send(d->expired);
        }
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
}

/* Loop thread: replace an expired handle by a new session. */
static void on_expired(uv_async_t *async) {
    discovery *d = async->data;
    pthread_mutex_lock(&d->mu);
    zhandle_t *old = d->zh;
    int dead = old && zoo_state(old) == ZOO_EXPIRED_SESSION_STATE;
    if (dead) d->zh = NULL;
    pthread_mutex_unlock(&d->mu);
    if (!dead) return;
    zookeeper_close(old);

    pthread_mutex_lock(&d->mu);
    d->restore = 1;
    d->connected = 0;
    d->zh = new_handle(d);
    if (!d->zh) log_error("discovery: zookeeper_init %s: %s", d->connect, strerror(errno));
    pthread_mutex_unlock(&d->mu);
}

static void free_async(uv_handle_t *h) {
    free(h);
}

static void zk_close(discovery *d) {
    if (!d) return;
    if (d->expired) uv_close((uv_handle_t *)d->expired, free_async);
    pthread_mutex_lock(&d->mu);
    zhandle_t *zh = d->zh;
    d->zh = NULL;
    pthread_mutex_unlock(&d->mu);
    if (zh) zookeeper_close(zh); /* ends the session: our ephemeral nodes go now */
    for (int i = 0; i < ZK_MAX_SERVICES; i++)
        free(d->svc[i].entries);
    explicit_bzero(d->auth, sizeof d->auth);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

int discovery_zookeeper_digest(const char *user, const char *password, char *out, size_t cap) {
    char cred[320];
    unsigned char sha[SHA_DIGEST_LENGTH];
    unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    int n = snprintf(cred, sizeof cred, "%s:%s", user, password);
    if (n < 0 || (size_t)n >= sizeof cred) return -1;
    SHA1((const unsigned char *)cred, (size_t)n, sha);
    explicit_bzero(cred, sizeof cred);
    EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
    n = snprintf(out, cap, "%s:%s", user, (const char *)b64);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Fills d->acl: open to all without a password, else read-all, chatd-all. */
static int set_acl(discovery *d, const char *password) {
    if (!password || !*password) {
        d->acl = ZOO_OPEN_ACL_UNSAFE;
        return 0;
    }
    int n = snprintf(d->auth, sizeof d->auth, "%s:%s", DISCOVERY_ZK_USER, password);
    if (n < 0 || (size_t)n >= sizeof d->auth ||
        discovery_zookeeper_digest(DISCOVERY_ZK_USER, password, d->digest_id,
                                   sizeof d->digest_id) != 0)
        return -1;
    d->acl_entries[0] = (struct ACL){ZOO_PERM_READ, ZOO_ANYONE_ID_UNSAFE};
    d->acl_entries[1] = (struct ACL){ZOO_PERM_ALL, {"digest", d->digest_id}};
    d->acl = (struct ACL_vector){2, d->acl_entries};
    return 0;
}

static int zk_open(discovery **out, const discovery_config *cfg, uv_loop_t *loop) {
    *out = NULL;
    if (!cfg || !cfg->connect || strlen(cfg->connect) >= sizeof((discovery *)0)->connect ||
        cfg->session_timeout_ms <= 0)
        return CHATD_EINVAL;
    const char *connect = cfg->connect;
    int session_timeout_ms = cfg->session_timeout_ms;
    discovery *d = calloc(1, sizeof *d);
    if (!d) return CHATD_ENOMEM;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    snprintf(d->connect, sizeof d->connect, "%s", connect);
    d->timeout_ms = session_timeout_ms;
    if (set_acl(d, cfg->password) != 0) {
        zk_close(d);
        return CHATD_EINVAL;
    }
    for (int i = 0; i < ZK_MAX_SERVICES; i++)
        d->svc[i].d = d;
    if (loop) {
        d->expired = calloc(1, sizeof *d->expired);
        if (!d->expired || uv_async_init(loop, d->expired, on_expired) != 0) {
            free(d->expired);
            d->expired = NULL;
            zk_close(d);
            return CHATD_ENOMEM;
        }
        d->expired->data = d; /* stays active (keeps the loop alive) until close() */
    }
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);

    struct timespec deadline;
    deadline_after(&deadline, session_timeout_ms);
    pthread_mutex_lock(&d->mu);
    d->zh = new_handle(d);
    int rc = d->zh ? 0 : CHATD_EIO;
    while (rc == 0 && !d->connected)
        if (pthread_cond_timedwait(&d->cv, &d->mu, &deadline) == ETIMEDOUT) rc = CHATD_ETIMEDOUT;
    pthread_mutex_unlock(&d->mu);
    if (rc != 0) {
        log_error("discovery: cannot connect to ZooKeeper at %s", connect);
        zk_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* ---- registration ---- */

static int zk_alloc_node_id(discovery *d, const char *service, unsigned *node_id) {
    char path[ZK_PATH_MAX], created[ZK_PATH_MAX];
    if (!valid_service(service)) return CHATD_EINVAL;
    snprintf(path, sizeof path, "/%s", service);
    if (ensure_node(d, path) != 0) return CHATD_EIO;
    snprintf(path, sizeof path, "/%s/server-ids", service);
    if (ensure_node(d, path) != 0) return CHATD_EIO;
    snprintf(path, sizeof path, "/%s/server-ids/id-", service);
    int rc = zoo_create(d->zh, path, NULL, -1, &d->acl, ZOO_EPHEMERAL_SEQUENTIAL, created,
                        sizeof created);
    if (rc != ZOK) {
        log_error("discovery: create %s: %s", path, why(rc));
        return CHATD_EIO;
    }
    const char *digits = strrchr(created, '-');
    char *end;
    unsigned long long n = digits ? strtoull(digits + 1, &end, 10) : 0;
    if (!digits || end == digits + 1 || *end) return CHATD_EIO;
    *node_id = (unsigned)(n % 1024);
    return 0;
}

static int zk_register(discovery *d, const char *service, const discovery_instance *self) {
    char path[ZK_PATH_MAX];
    if (!valid_service(service) || self->id >= 1024) return CHATD_EINVAL;
    snprintf(path, sizeof path, "/%s", service);
    if (ensure_node(d, path) != 0) return CHATD_EIO;

    pthread_mutex_lock(&d->mu);
    zk_reg *slot = NULL;
    for (int i = 0; i < ZK_MAX_SERVICES && !slot; i++)
        if (!d->reg[i].service[0] || !strcmp(d->reg[i].service, service)) slot = &d->reg[i];
    pthread_mutex_unlock(&d->mu);
    if (!slot) return CHATD_EFULL;

    discovery_instance me = *self;
    me.timestamp_ms = clock_now_ms();
    char *json = instance_json(&me);
    if (!json) return CHATD_ENOMEM;
    snprintf(path, sizeof path, "/%s/%u", service, me.id);
    int rc = zoo_create(d->zh, path, json, (int)strlen(json), &d->acl, ZOO_EPHEMERAL, NULL, 0);
    free(json);
    if (rc != ZOK) {
        log_error("discovery: register %s: %s", path, why(rc));
        return rc == ZNODEEXISTS ? CHATD_EEXIST : CHATD_EIO;
    }
    pthread_mutex_lock(&d->mu);
    snprintf(slot->service, sizeof slot->service, "%s", service);
    slot->self = me;
    pthread_mutex_unlock(&d->mu);
    return 0;
}

static void set_done(int rc, const struct Stat *stat, const void *data) {
    if (rc != ZOK && rc != ZCLOSING) log_warn("discovery: refresh: %s", why(rc));
}

static int zk_update(discovery *d, const char *service, uint64_t connections) {
    int rc = CHATD_ENOTFOUND;
    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < ZK_MAX_SERVICES; i++) {
        zk_reg *g = &d->reg[i];
        if (!g->service[0] || strcmp(g->service, service)) continue;
        g->self.connections = connections;
        g->self.timestamp_ms = clock_now_ms();
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof path, "/%s/%u", service, g->self.id);
        char *json = instance_json(&g->self);
        rc = CHATD_ENOMEM;
        if (json && d->zh)
            rc = zoo_aset(d->zh, path, json, (int)strlen(json), -1, set_done, NULL) == ZOK
                     ? 0
                     : CHATD_EIO;
        free(json);
        break;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

/* ---- listing ---- */

static size_t zk_list(discovery *d, const char *service, discovery_instance *out, size_t max) {
    if (!valid_service(service)) return 0;
    pthread_mutex_lock(&d->mu);
    zk_service *s = find_service_locked(d, service);
    pthread_mutex_unlock(&d->mu);

    if (!s) { /* first call: make sure the parent exists, then watch it */
        char path[ZK_PATH_MAX];
        snprintf(path, sizeof path, "/%s", service);
        if (ensure_node(d, path) != 0) return 0;
        pthread_mutex_lock(&d->mu);
        s = find_service_locked(d, "");
        if (s) {
            snprintf(s->name, sizeof s->name, "%s", service);
            list_children_locked(s);
            struct timespec deadline;
            deadline_after(&deadline, ZK_FIRST_FILL_MS);
            while (!s->listed || s->inflight > 0)
                if (pthread_cond_timedwait(&d->cv, &d->mu, &deadline) == ETIMEDOUT) break;
        }
        pthread_mutex_unlock(&d->mu);
        if (!s) return 0;
    }

    size_t n = 0;
    uint64_t now = clock_mono_ms();
    pthread_mutex_lock(&d->mu);
    for (size_t i = 0; i < s->n && n < max; i++) {
        zk_entry *e = &s->entries[i];
        if (!e->have) continue;
        out[n] = e->inst;
        out[n++].silent_ms = now > e->heard_ms ? now - e->heard_ms : 0;
    }
    pthread_mutex_unlock(&d->mu);
    return n;
}

int discovery_zookeeper_session(discovery *d, int64_t *session_id, char passwd[16]) {
    int rc = CHATD_ENOTCONN;
    pthread_mutex_lock(&d->mu);
    const clientid_t *cid = d->zh ? zoo_client_id(d->zh) : NULL;
    if (cid) {
        *session_id = cid->client_id;
        memcpy(passwd, cid->passwd, 16);
        rc = 0;
    }
    pthread_mutex_unlock(&d->mu);
    return rc;
}

static int zk_connected(discovery *d) {
    pthread_mutex_lock(&d->mu);
    int up = d->zh && d->connected;
    pthread_mutex_unlock(&d->mu);
    return up;
}

const discovery_backend discovery_zookeeper_backend = {
    .name = "zookeeper",
    .open = zk_open,
    .alloc_node_id = zk_alloc_node_id,
    .register_instance = zk_register,
    .update = zk_update,
    .list = zk_list,
    .close = zk_close,
    .connected = zk_connected,
};
