/*
 * usermap: the user -> chat servers map in Redis (hiredis async API on the
 * process's libuv loop). Keys and meaning: see usermap.h.
 *
 * Every write is safe to repeat: add is HINCRBY + SADD, remove and forget
 * are Lua scripts (atomic, no MULTI). The module also keeps `mine`, this
 * process's own view of what it registered ("<id>:<user>" -> count). On
 * every (re)connect it rewrites Redis's entries for those server ids from
 * `mine` in one script per id, so writes lost while Redis was away (or a
 * Redis that restarted empty) are repaired without the caller doing
 * anything. Forgets issued while disconnected are kept and sent on connect.
 *
 * Reads never wait for a connection: a lookup while disconnected fails on
 * the next loop turn; one in flight when the connection drops fails when
 * hiredis reports the disconnect. The connection itself (connect timeout,
 * AUTH, reconnects with backoff) is a redis_link.
 */
#include "core/err.h"
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "cluster/usermap.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/strmap.h"
#include "engine/redis_link.h"

#define MAX_FORGETS 64 /* pending forgets kept while disconnected */

/* KEYS[1] server:<id>:users, KEYS[2] user:<u>:servers; ARGV user, id. */
static const char REMOVE_LUA[] = "local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)\n"
                                 "if n <= 0 then\n"
                                 "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
                                 "  redis.call('SREM', KEYS[2], ARGV[2])\n"
                                 "end\n"
                                 "return n\n";

/* KEYS[1] server:<id>:users; ARGV[1] id, then pairs user, count.
 * Forgets everything server <id> had, then registers the pairs (none for
 * a plain forget). The user:<u>:servers keys are derived, not declared:
 * fine for one Redis, not for Redis Cluster. */
static const char SYNC_LUA[] = "for _, u in ipairs(redis.call('HKEYS', KEYS[1])) do\n"
                               "  redis.call('SREM', 'user:' .. u .. ':servers', ARGV[1])\n"
                               "end\n"
                               "redis.call('DEL', KEYS[1])\n"
                               "for i = 2, #ARGV, 2 do\n"
                               "  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
                               "  redis.call('SADD', 'user:' .. ARGV[i] .. ':servers', ARGV[1])\n"
                               "end\n"
                               "return 1\n";

/* KEYS[1] presence:<name>; ARGV[1] "<status> <seen_ms>", ARGV[2] seen_ms.
 * Last writer wins by last_seen, as in every server's model: servers write
 * in any order (one concluding "offline" while another has just seen the
 * user), and an older status must not overwrite a newer one. */
static const char PRESENCE_LUA[] = "local cur = redis.call('GET', KEYS[1])\n"
                                   "if cur then\n"
                                   "  local seen = tonumber(string.match(cur, ' (%d+)$'))\n"
                                   "  if seen and seen > tonumber(ARGV[2]) then return 0 end\n"
                                   "end\n"
                                   "redis.call('SET', KEYS[1], ARGV[1])\n"
                                   "return 1\n";

/* One usermap_lookup: n SMEMBERS replies gathered, then one callback. */
typedef struct lookup {
    usermap_lookup_cb cb;
    void *data;
    size_t n, remaining;
    int status;
    unsigned **servers;
    size_t *nservers;
    unsigned *unsynced; /* live servers whose entries Redis may lack (owned) */
    size_t nunsynced;
    struct lookup *next; /* in usermap.failed */
} lookup;

struct usermap {
    uv_loop_t *loop;
    redis_link *link;
    int closing;
    int open_handles;      /* link + fail_timer, for freeing after close */
    uv_timer_t fail_timer; /* fires failed lookups on the next loop turn */
    lookup *failed;
    strmap mine; /* "<id>:<user>" -> (void *)(uintptr_t)count */
    unsigned forgets[MAX_FORGETS];
    size_t nforgets;
    int has_self; /* a chat server: its own id, marked synced even with no user */
    unsigned self_id;
    unsigned *live; /* a dispatcher: the chat servers alive now (owned) */
    size_t nlive;
};

/* ---- lookups ---- */

static void lookup_free(lookup *l) {
    for (size_t i = 0; l->servers && i < l->n; i++)
        free(l->servers[i]);
    free(l->servers);
    free(l->nservers);
    free(l->unsynced);
    free(l);
}

/* A live server that has not re-registered its users since Redis lost
 * them gets every recipient: it delivers to the sockets it has. */
static int add_unsynced(lookup *l) {
    for (size_t i = 0; i < l->n; i++) {
        size_t have = l->nservers[i];
        unsigned *s = realloc(l->servers[i], (have + l->nunsynced) * sizeof *s);
        if (!s) return CHATD_ENOMEM;
        l->servers[i] = s;
        for (size_t k = 0; k < l->nunsynced; k++) {
            size_t j = 0;
            while (j < have && s[j] != l->unsynced[k])
                j++;
            if (j == have) s[l->nservers[i]++] = l->unsynced[k];
        }
    }
    return 0;
}

static void lookup_finish(lookup *l) {
    if (l->status == 0 && l->nunsynced) l->status = add_unsynced(l);
    if (l->status == 0)
        l->cb(l->data, 0, (const unsigned *const *)l->servers, l->nservers, l->n);
    else
        l->cb(l->data, l->status, NULL, NULL, l->n);
    lookup_free(l);
}

static void on_fail_timer(uv_timer_t *t) {
    usermap *m = t->data;
    while (m->failed) {
        lookup *l = m->failed;
        m->failed = l->next;
        lookup_finish(l);
    }
}

/* Completes l on the next loop turn, never inside usermap_lookup. */
static void lookup_defer(usermap *m, lookup *l) {
    l->next = m->failed;
    m->failed = l;
    uv_timer_start(&m->fail_timer, on_fail_timer, 0, 0);
}

/* The privdata of one SMEMBERS: its lookup and which user it answers. */
typedef struct lookup_part {
    lookup *l;
    size_t i;
} lookup_part;

static void on_members(redisAsyncContext *ac, void *reply, void *privdata) {
    lookup_part *p = privdata;
    lookup *l = p->l;
    redisReply *r = reply;
    if (!r) {
        l->status = CHATD_ENOTCONN;
    } else if (r->type != REDIS_REPLY_ARRAY) {
        l->status = CHATD_EIO;
    } else if (r->elements > 0) {
        l->servers[p->i] = malloc(r->elements * sizeof(unsigned));
        if (!l->servers[p->i]) l->status = CHATD_ENOMEM;
        for (size_t k = 0; l->servers[p->i] && k < r->elements; k++) {
            redisReply *e = r->element[k];
            if (e->type == REDIS_REPLY_STRING)
                l->servers[p->i][l->nservers[p->i]++] = (unsigned)strtoul(e->str, NULL, 10);
        }
    }
    free(p);
    if (--l->remaining == 0) lookup_finish(l);
}

/* The MGET of the live servers' synced marks. */
static void on_synced(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    lookup *l = privdata;
    redisReply *r = reply;
    if (!r) {
        l->status = CHATD_ENOTCONN;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != l->nunsynced) {
        l->status = CHATD_EIO;
    } else { /* keep the ones without a mark */
        size_t k = 0;
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->type != REDIS_REPLY_STRING) l->unsynced[k++] = l->unsynced[i];
        if (k)
            log_debug("usermap: %zu live server(s) not re-registered yet: they get every recipient",
                      k);
        l->nunsynced = k;
    }
    if (--l->remaining == 0) lookup_finish(l);
}

/* Asks for the synced marks of the live servers (a dispatcher's). */
static void ask_synced(usermap *m, lookup *l) {
    l->unsynced = xmalloc(m->nlive * sizeof *l->unsynced);
    const char **argv = xmalloc((m->nlive + 1) * sizeof *argv);
    char(*keys)[32] = xmalloc(m->nlive * sizeof *keys);
    argv[0] = "MGET";
    for (size_t i = 0; i < m->nlive; i++) {
        l->unsynced[i] = m->live[i];
        snprintf(keys[i], sizeof keys[i], "server:%u:synced", m->live[i]);
        argv[i + 1] = keys[i];
    }
    l->nunsynced = m->nlive;
    l->remaining++;
    if (redis_link_command_argv(m->link, on_synced, l, (int)m->nlive + 1, argv, NULL) != 0) {
        l->status = CHATD_EIO;
        l->remaining--;
    }
    free(argv);
    free(keys);
}

void usermap_lookup(usermap *m, const char *const *users, size_t n, usermap_lookup_cb cb,
                    void *data) {
    lookup *l = calloc(1, sizeof *l);
    if (!l) {
        cb(data, CHATD_ENOMEM, NULL, NULL, n); /* nothing sensible left to defer with */
        return;
    }
    l->cb = cb;
    l->data = data;
    l->n = n;
    l->servers = calloc(n ? n : 1, sizeof *l->servers);
    l->nservers = calloc(n ? n : 1, sizeof *l->nservers);
    if (!l->servers || !l->nservers)
        l->status = CHATD_ENOMEM;
    else if (!redis_link_is_up(m->link) || m->closing)
        l->status = CHATD_ENOTCONN;
    if (l->status != 0 || n == 0) {
        lookup_defer(m, l);
        return;
    }
    /* One extra count held while queueing, so no reply can finish l early. */
    l->remaining = n + 1;
    if (m->nlive) ask_synced(m, l);
    for (size_t i = 0; i < n; i++) {
        char key[320];
        lookup_part *p = malloc(sizeof *p);
        int len = snprintf(key, sizeof key, "user:%s:servers", users[i]);
        const char *argv[2] = {"SMEMBERS", key};
        size_t argvlen[2] = {8, (size_t)len};
        if (!p || len >= (int)sizeof key ||
            redis_link_command_argv(m->link, on_members, p, 2, argv, argvlen) != 0) {
            free(p);
            l->status = CHATD_EIO;
            l->remaining--;
            continue;
        }
        p->l = l;
        p->i = i;
    }
    if (--l->remaining == 0) lookup_defer(m, l);
}

/* ---- writes ---- */

static void on_write_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR) log_warn("usermap: redis: %s", r->str);
}

/* Dropped while Redis is away (resync repairs on reconnect). */
static void send_argv(usermap *m, redisCallbackFn *fn, void *priv, int argc, const char **argv) {
    if (!m->closing) redis_link_command_argv(m->link, fn, priv, argc, argv, NULL);
}

/* Adds delta to this process's own record of (server_id, user). */
static void mine_adjust(usermap *m, const char *user, unsigned server_id, int delta) {
    char key[320];
    if (snprintf(key, sizeof key, "%u:%s", server_id, user) >= (int)sizeof key) return;
    intptr_t n = (intptr_t)strmap_get(&m->mine, key) + delta;
    if (n > 0)
        strmap_put(&m->mine, key, (void *)n);
    else
        strmap_del(&m->mine, key);
}

void usermap_add(usermap *m, const char *user, unsigned server_id) {
    char hash[64], set[320], id[16];
    snprintf(hash, sizeof hash, "server:%u:users", server_id);
    snprintf(set, sizeof set, "user:%s:servers", user);
    snprintf(id, sizeof id, "%u", server_id);
    mine_adjust(m, user, server_id, +1);
    const char *incr[] = {"HINCRBY", hash, user, "1"};
    const char *sadd[] = {"SADD", set, id};
    send_argv(m, on_write_reply, NULL, 4, incr);
    send_argv(m, on_write_reply, NULL, 3, sadd);
}

void usermap_remove(usermap *m, const char *user, unsigned server_id) {
    char hash[64], set[320], id[16];
    snprintf(hash, sizeof hash, "server:%u:users", server_id);
    snprintf(set, sizeof set, "user:%s:servers", user);
    snprintf(id, sizeof id, "%u", server_id);
    mine_adjust(m, user, server_id, -1);
    const char *eval[] = {"EVAL", REMOVE_LUA, "2", hash, set, user, id};
    send_argv(m, on_write_reply, NULL, 7, eval);
}

static void forget_pending(usermap *m, unsigned server_id, int pending) {
    size_t i = 0;
    while (i < m->nforgets && m->forgets[i] != server_id)
        i++;
    if (pending && i == m->nforgets && m->nforgets < MAX_FORGETS)
        m->forgets[m->nforgets++] = server_id;
    if (!pending && i < m->nforgets) m->forgets[i] = m->forgets[--m->nforgets];
}

/* The privdata of one forget: lives until its reply. */
typedef struct forget_req {
    usermap *m;
    unsigned server_id;
} forget_req;

static void on_forget_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    forget_req *f = privdata;
    redisReply *r = reply;
    if (r && r->type != REDIS_REPLY_ERROR && !f->m->closing)
        forget_pending(f->m, f->server_id, 0);
    else if (r && r->type == REDIS_REPLY_ERROR)
        log_warn("usermap: forget: %s", r->str);
    free(f);
}

static void send_forget(usermap *m, unsigned server_id) {
    char hash[64], id[16];
    snprintf(hash, sizeof hash, "server:%u:users", server_id);
    snprintf(id, sizeof id, "%u", server_id);
    const char *eval[] = {"EVAL", SYNC_LUA, "1", hash, id};
    forget_req *f = malloc(sizeof(*f));
    if (!f || m->closing) {
        free(f);
        return;
    }
    *f = (forget_req){m, server_id};
    if (redis_link_command_argv(m->link, on_forget_reply, f, 5, eval, NULL) != 0) free(f);
}

void usermap_forget_server(usermap *m, unsigned server_id) {
    /* Drop our own record too, or the next reconnect would bring it back.
     * Collect the keys first: the map must not change while iterating. */
    char prefix[16];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%u:", server_id), ndrop = 0;
    char **drop = malloc((strmap_len(&m->mine) + 1) * sizeof *drop);
    strmap_entry *e;
    for (size_t cur = 0; drop && (e = strmap_next(&m->mine, &cur));)
        if (!strncmp(e->key, prefix, plen)) drop[ndrop++] = e->key;
    for (size_t i = 0; i < ndrop; i++) {
        char key[320];
        snprintf(key, sizeof key, "%s", drop[i]); /* strmap_del frees the map's copy */
        strmap_del(&m->mine, key);
    }
    free(drop);
    forget_pending(m, server_id, 1);
    send_forget(m, server_id);
}

static void mark_synced(usermap *m, unsigned id) {
    char key[32];
    snprintf(key, sizeof key, "server:%u:synced", id);
    const char *argv[] = {"SET", key, "1"};
    send_argv(m, on_write_reply, NULL, 3, argv);
}

void usermap_set_self(usermap *m, unsigned server_id) {
    m->has_self = 1;
    m->self_id = server_id;
    if (redis_link_is_up(m->link)) mark_synced(m, server_id); /* nothing of it to re-register */
}

void usermap_set_live(usermap *m, const unsigned *ids, size_t n) {
    free(m->live);
    m->live = n ? xmalloc(n * sizeof *ids) : NULL;
    if (n) memcpy(m->live, ids, n * sizeof *ids);
    m->nlive = n;
}

/* After a (re)connect: make Redis agree with `mine`, one script per id. */
static void resync(usermap *m) {
    for (size_t i = 0; i < m->nforgets; i++)
        send_forget(m, m->forgets[i]);

    size_t n = strmap_len(&m->mine), nids = 0;
    unsigned *ids = malloc((n ? n : 1) * sizeof *ids);
    const char **argv = malloc((5 + 2 * n) * sizeof *argv);
    char(*counts)[24] = malloc((n ? n : 1) * sizeof *counts);
    strmap_entry *e;
    if (!ids || !argv || !counts) goto done;
    for (size_t cur = 0; (e = strmap_next(&m->mine, &cur));) {
        unsigned id = (unsigned)strtoul(e->key, NULL, 10);
        size_t k = 0;
        while (k < nids && ids[k] != id)
            k++;
        if (k == nids) ids[nids++] = id;
    }
    for (size_t k = 0; k < nids; k++) {
        char hash[64], id[16];
        snprintf(hash, sizeof hash, "server:%u:users", ids[k]);
        snprintf(id, sizeof id, "%u", ids[k]);
        int argc = 0, nc = 0;
        argv[argc++] = "EVAL";
        argv[argc++] = SYNC_LUA;
        argv[argc++] = "1";
        argv[argc++] = hash;
        argv[argc++] = id;
        for (size_t cur = 0; (e = strmap_next(&m->mine, &cur));) {
            char *colon = strchr(e->key, ':');
            if ((unsigned)strtoul(e->key, NULL, 10) != ids[k] || !colon) continue;
            snprintf(counts[nc], sizeof counts[nc], "%" PRIdPTR, (intptr_t)e->value);
            argv[argc++] = colon + 1;
            argv[argc++] = counts[nc++];
        }
        send_argv(m, on_write_reply, NULL, argc, argv);
    }
    if (nids) log_info("usermap: re-registered users of %zu server id(s)", nids);
    /* Then the marks a dispatcher checks (after the scripts: one connection
     * keeps the order). Until they are there it sends these servers every
     * recipient, as their users may be missing from a Redis that restarted. */
    for (size_t k = 0; k < nids; k++)
        mark_synced(m, ids[k]);
    if (m->has_self) mark_synced(m, m->self_id);
done:
    free(ids);
    free(argv);
    free(counts);
}

/* ---- presence ---- */

void usermap_presence_put(usermap *m, const char *user, proto_status status, int64_t seen_ms) {
    char key[320], val[64];
    if (snprintf(key, sizeof key, "presence:%s", user) >= (int)sizeof key) return;
    char seen[24];
    snprintf(val, sizeof val, "%s %" PRId64, proto_status_name(status), seen_ms);
    snprintf(seen, sizeof seen, "%" PRId64, seen_ms);
    const char *eval[] = {"EVAL", PRESENCE_LUA, "1", key, val, seen};
    send_argv(m, on_write_reply, NULL, 6, eval);
}

typedef struct presence_get {
    usermap_presence_cb cb;
    void *data;
    size_t n;
} presence_get;

/* "<status> <last_seen_ms>" as stored by usermap_presence_put; anything
 * else (Redis is shared: trust nothing) is unknown. */
static proto_presence parse_presence(const char *s, size_t len) {
    proto_presence p = {0};
    const char *sp = memchr(s, ' ', len);
    if (!sp || proto_status_parse(s, (size_t)(sp - s), &p.status) != 0) return p;
    char num[24];
    size_t n = len - (size_t)(sp + 1 - s);
    if (n == 0 || n >= sizeof num) return p;
    memcpy(num, sp + 1, n);
    num[n] = '\0';
    char *end;
    long long v = strtoll(num, &end, 10);
    if (*end || v < 0) return p;
    p.seen_ms = v;
    p.known = 1;
    return p;
}

static void on_presence(redisAsyncContext *ac, void *reply, void *privdata) {
    presence_get *g = privdata;
    redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != g->n) {
        g->cb(g->data, r ? CHATD_EIO : CHATD_ENOTCONN, NULL, g->n);
    } else {
        proto_presence *vals = calloc(g->n ? g->n : 1, sizeof *vals);
        if (!vals) {
            g->cb(g->data, CHATD_ENOMEM, NULL, g->n);
        } else {
            for (size_t i = 0; i < g->n; i++)
                if (r->element[i]->type == REDIS_REPLY_STRING)
                    vals[i] = parse_presence(r->element[i]->str, r->element[i]->len);
            g->cb(g->data, 0, vals, g->n);
            free(vals);
        }
    }
    free(g);
}

int usermap_presence_get(usermap *m, const char *const *users, size_t n, usermap_presence_cb cb,
                         void *data) {
    if (n == 0) return CHATD_EINVAL;
    if (!redis_link_is_up(m->link) || m->closing) return CHATD_ENOTCONN;
    presence_get *g = malloc(sizeof *g);
    const char **argv = malloc((n + 1) * sizeof *argv);
    char(*keys)[320] = malloc((n ? n : 1) * sizeof *keys);
    size_t *lens = malloc((n + 1) * sizeof *lens);
    int rc = CHATD_ENOMEM;
    if (g && argv && keys && lens) {
        argv[0] = "MGET";
        lens[0] = 4;
        for (size_t i = 0; i < n; i++) {
            int len = snprintf(keys[i], sizeof keys[i], "presence:%s", users[i]);
            argv[i + 1] = keys[i];
            lens[i + 1] = len < (int)sizeof keys[i] ? (size_t)len : sizeof keys[i] - 1;
        }
        *g = (presence_get){cb, data, n};
        rc = redis_link_command_argv(m->link, on_presence, g, (int)n + 1, argv, lens) == 0
                 ? 0
                 : CHATD_ENOTCONN;
    }
    if (rc != 0) free(g);
    free(argv);
    free(keys);
    free(lens);
    return rc;
}

/* ---- connection ---- */

static void link_up(void *data) {
    resync(data);
}

static void on_closed(void *data) {
    usermap *m = data;
    if (--m->open_handles == 0) {
        strmap_free(&m->mine);
        free(m->live);
        free(m);
    }
}

static void on_handle_closed(uv_handle_t *h) {
    on_closed(h->data);
}

int usermap_open(usermap **out, uv_loop_t *loop, const redis_link_config *cfg) {
    *out = NULL;
    usermap *m = calloc(1, sizeof *m);
    if (!m) return CHATD_ENOMEM;
    m->loop = loop;
    strmap_init(&m->mine);
    redis_link_handler h = {m, link_up, NULL, on_closed};
    int rc = redis_link_open(&m->link, loop, cfg, "usermap", &h);
    if (rc != 0) {
        strmap_free(&m->mine);
        free(m);
        return rc;
    }
    uv_timer_init(loop, &m->fail_timer);
    m->fail_timer.data = m;
    m->open_handles = 2;
    *out = m;
    return 0;
}

int usermap_connected(const usermap *m) {
    return redis_link_is_up(m->link);
}

void usermap_close(usermap *m) {
    if (!m) return;
    m->closing = 1;
    redis_link_close(m->link);     /* in-flight lookups complete with CHATD_ENOTCONN */
    on_fail_timer(&m->fail_timer); /* and so do deferred ones, now */
    uv_close((uv_handle_t *)&m->fail_timer, on_handle_closed);
}
