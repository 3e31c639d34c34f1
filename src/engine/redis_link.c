/*
 * redis_link: one self-healing connection to Redis (see redis_link.h).
 *
 * States: DOWN (no context; the timer counts the backoff), CONNECTING (a
 * context exists, its connect or its AUTH has not been answered; the timer
 * is the watchdog), UP. hiredis frees a context itself after a failed
 * connect and after a disconnect; the link forgets it (l->ac = NULL) in
 * those callbacks, and sets l->ac = NULL BEFORE freeing one itself, so a
 * callback whose ac is not l->ac is about a context already let go and is
 * ignored.
 */
#include "core/err.h"
#include "engine/redis_link.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/adapters/libuv.h>
#include <uv.h>

#include "core/log.h"
#include "core/ratelog.h"

enum { DOWN, CONNECTING, UP };

struct redis_link {
    uv_loop_t *loop;
    char name[32];
    char host[256];
    int port;
    char *password; /* NULL: no AUTH; wiped on close */
    redis_link_handler h;
    redisAsyncContext *ac; /* NULL while DOWN */
    int state, closing;
    int backoff_ms;
    int failing; /* a failure was logged since the last UP */
    uv_timer_t timer;
    ratelog rl;
};

static void on_timer(uv_timer_t *t);

static void failed(redis_link *l, const char *what, const char *why) {
    uint64_t held;
    l->failing = 1;
    if (ratelog_allow(&l->rl, REDIS_LINK_LOG_MS, &held))
        log_warn("%s: Redis %s:%d: %s: %s (retrying; %" PRIu64 " more failures since the last "
                 "report)",
                 l->name, l->host, l->port, what, why, held);
}

static void schedule_retry(redis_link *l) {
    if (l->closing) return;
    uv_timer_start(&l->timer, on_timer, (uint64_t)l->backoff_ms, 0);
    l->backoff_ms *= 2;
    if (l->backoff_ms > REDIS_LINK_BACKOFF_MAX_MS) l->backoff_ms = REDIS_LINK_BACKOFF_MAX_MS;
}

static void become_up(redis_link *l) {
    uv_timer_stop(&l->timer);
    l->state = UP;
    l->backoff_ms = REDIS_LINK_BACKOFF_MIN_MS;
    if (l->failing) log_info("%s: connected to Redis %s:%d", l->name, l->host, l->port);
    l->failing = 0;
    l->h.up(l->h.data);
}

static void on_auth(redisAsyncContext *ac, void *r, void *priv) {
    redis_link *l = priv;
    const redisReply *reply = r;
    if (!reply || ac != l->ac || l->closing) return; /* lost meanwhile: on_disconnect retries */
    if (reply->type == REDIS_REPLY_ERROR) {
        failed(l, "AUTH refused", reply->str); /* Redis never echoes the password */
        redisAsyncDisconnect(ac);              /* on_disconnect schedules the retry */
        return;
    }
    become_up(l);
}

static void on_connect(const redisAsyncContext *ac, int status) {
    redis_link *l = ac->data;
    if (ac != l->ac) return;
    if (status != REDIS_OK) { /* hiredis frees ac after this returns */
        l->ac = NULL;
        l->state = DOWN;
        failed(l, "cannot connect", ac->errstr);
        uv_timer_stop(&l->timer);
        schedule_retry(l);
        return;
    }
    if (!l->password) become_up(l); /* else on_auth does */
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    redis_link *l = ac->data; /* hiredis frees ac after this returns */
    if (ac != l->ac) return;
    int was_up = l->state == UP;
    l->ac = NULL;
    l->state = DOWN;
    if (l->closing) return;
    if (was_up)
        log_warn("%s: lost Redis %s:%d: %s", l->name, l->host, l->port,
                 status == REDIS_OK ? "closed" : ac->errstr);
    uv_timer_stop(&l->timer);
    schedule_retry(l);
    if (was_up && l->h.down) l->h.down(l->h.data);
}

static void start_connect(redis_link *l) {
    redisAsyncContext *ac = redisAsyncConnect(l->host, l->port);
    if (!ac || ac->err || redisLibuvAttach(ac, l->loop) != REDIS_OK) {
        failed(l, "cannot connect", ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        schedule_retry(l);
        return;
    }
    ac->data = l;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    l->ac = ac;
    l->state = CONNECTING;
    /* Queued now, sent as soon as the connect completes, before anything else. */
    if (l->password && redisAsyncCommand(ac, on_auth, l, "AUTH %s", l->password) != REDIS_OK) {
        l->ac = NULL;
        l->state = DOWN;
        redisAsyncFree(ac);
        schedule_retry(l);
        return;
    }
    uv_timer_start(&l->timer, on_timer, REDIS_LINK_CONNECT_TIMEOUT_MS, 0);
}

/* DOWN: the backoff is over. CONNECTING: the watchdog fired. */
static void on_timer(uv_timer_t *t) {
    redis_link *l = t->data;
    if (l->closing) return;
    if (l->state == CONNECTING) {
        redisAsyncContext *ac = l->ac;
        l->ac = NULL;
        l->state = DOWN;
        failed(l, "cannot connect", "no answer (connect or AUTH timed out)");
        redisAsyncFree(ac); /* its callbacks see ac != l->ac */
        schedule_retry(l);
    } else if (l->state == DOWN) {
        start_connect(l);
    }
}

int redis_link_open(redis_link **out, uv_loop_t *loop, const redis_link_config *cfg,
                    const char *name, const redis_link_handler *h) {
    *out = NULL;
    if (!cfg || !cfg->host || !*cfg->host || strlen(cfg->host) >= sizeof(((redis_link *)0)->host) ||
        cfg->port <= 0 || cfg->port > 65535 || !name ||
        strlen(name) >= sizeof(((redis_link *)0)->name) || !h || !h->up)
        return CHATD_EINVAL;
    redis_link *l = calloc(1, sizeof(*l));
    if (!l) return CHATD_ENOMEM;
    if (cfg->password && *cfg->password && !(l->password = strdup(cfg->password))) {
        free(l);
        return CHATD_ENOMEM;
    }
    l->loop = loop;
    snprintf(l->name, sizeof(l->name), "%s", name);
    snprintf(l->host, sizeof(l->host), "%s", cfg->host);
    l->port = cfg->port;
    l->h = *h;
    l->backoff_ms = REDIS_LINK_BACKOFF_MIN_MS;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    start_connect(l);
    *out = l;
    return 0;
}

int redis_link_is_up(const redis_link *l) {
    return l && l->state == UP;
}

redisAsyncContext *redis_link_ctx(const redis_link *l) {
    return l && l->state == UP ? l->ac : NULL;
}

int redis_link_command(redis_link *l, redisCallbackFn *fn, void *priv, const char *fmt, ...) {
    if (!redis_link_ctx(l) || l->closing) return CHATD_ENOTCONN;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(l->ac, fn, priv, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? 0 : CHATD_EIO;
}

int redis_link_command_argv(redis_link *l, redisCallbackFn *fn, void *priv, int argc,
                            const char **argv, const size_t *lens) {
    if (!redis_link_ctx(l) || l->closing) return CHATD_ENOTCONN;
    return redisAsyncCommandArgv(l->ac, fn, priv, argc, argv, lens) == REDIS_OK ? 0 : CHATD_EIO;
}

void redis_link_reset(redis_link *l) {
    if (l->ac && !l->closing) redisAsyncDisconnect(l->ac); /* on_disconnect reconnects */
}

static void on_closed(uv_handle_t *h) {
    redis_link *l = h->data;
    redis_link_handler rh = l->h;
    if (l->password) {
        explicit_bzero(l->password, strlen(l->password));
        free(l->password);
    }
    free(l);
    if (rh.closed) rh.closed(rh.data);
}

void redis_link_close(redis_link *l) {
    if (!l) return;
    l->closing = 1;
    uv_timer_stop(&l->timer);
    if (l->ac) {
        redisAsyncContext *ac = l->ac;
        l->ac = NULL;
        l->state = DOWN;
        redisAsyncFree(ac); /* pending callbacks get NULL; on_disconnect ignores it */
    }
    uv_close((uv_handle_t *)&l->timer, on_closed);
}

int redis_link_connect_sync(const redis_link_config *cfg, int timeout_ms, redisContext **out,
                            char *err, size_t errlen) {
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisReply *r = NULL;
    int rc = CHATD_EIO;
    *out = NULL;
    redisContext *c = redisConnectWithTimeout(cfg->host, cfg->port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "cannot connect to Redis %s:%d: %s", cfg->host, cfg->port,
                 c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (cfg->password && *cfg->password) {
        r = redisCommand(c, "AUTH %s", cfg->password);
        if (!r) {
            snprintf(err, errlen, "Redis %s:%d did not answer AUTH: %s", cfg->host, cfg->port,
                     c->errstr);
            goto fail;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "Redis %s:%d refused our password (redis_password.txt): %s",
                     cfg->host, cfg->port, r->str);
            rc = CHATD_EACCES;
            goto fail;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        int noauth = r && !strncmp(r->str, "NOAUTH", 6);
        snprintf(err, errlen, "Redis %s:%d %s%s", cfg->host, cfg->port,
                 noauth ? "requires a password: put it in redis_password.txt in the secrets "
                          "directory"
                        : "did not answer PING: ",
                 noauth ? ""
                 : r    ? r->str
                        : c->errstr);
        if (noauth) rc = CHATD_EACCES;
        goto fail;
    }
    freeReplyObject(r);
    *out = c;
    return 0;
fail:
    freeReplyObject(r);
    if (c) redisFree(c);
    return rc;
}
