/*
 * redis_link: one connection to Redis on the loop, kept up. It is the only
 * code in chatd that connects to Redis: the bus (bus_redis.c, two links),
 * the dispatcher (dispatch_redis.c) and the user map (usermap.c) each hold
 * links and decide for themselves what their commands do while a link is
 * down (queue and resend, restart a poll, repair on reconnect).
 *
 * What a link does for them:
 *  - connects with a timeout: hiredis 0.14 has none, so a watchdog drops a
 *    connect (with its AUTH) that has not completed within
 *    REDIS_LINK_CONNECT_TIMEOUT_MS — a connect can hang while Redis
 *    restarts;
 *  - sends AUTH with the password (<secrets>/redis_password.txt) before
 *    any command of the user's; a refusal is logged and retried like a
 *    lost connection (the start-up check, redis_link_connect_sync, is
 *    where a wrong password stops a process);
 *  - reconnects after any failure, backing off from REDIS_LINK_BACKOFF_MIN_MS
 *    to REDIS_LINK_BACKOFF_MAX_MS;
 *  - tells the user when commands may be sent (up) and when the link went
 *    down (down: the callbacks of the commands in flight have already been
 *    called with a NULL reply).
 * Failures to connect are logged at most once per REDIS_LINK_LOG_MS; the
 * password is never logged.
 *
 * Everything runs on the loop thread.
 */
#ifndef CHATD_REDIS_LINK_H
#define CHATD_REDIS_LINK_H

#include "core/err.h"
#include <stddef.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

typedef struct uv_loop_s uv_loop_t;

#define REDIS_LINK_CONNECT_TIMEOUT_MS 2000
#define REDIS_LINK_BACKOFF_MIN_MS 100
#define REDIS_LINK_BACKOFF_MAX_MS 2000
#define REDIS_LINK_LOG_MS 10000

/* Where Redis is and how to log in. Borrowed by the calls below (copied). */
typedef struct redis_link_config {
    const char *host;     /* name or address (an IPv6 address without brackets) */
    int port;             /* 1..65535 */
    const char *password; /* NULL or "": no AUTH. Never logged. */
} redis_link_config;

typedef struct redis_link_handler {
    void *data;
    /* Connected (and authenticated): commands may be sent from now on. */
    void (*up)(void *data);
    /* The connection is gone; the link reconnects by itself. May be NULL. */
    void (*down)(void *data);
    /* After redis_link_close: the link is gone and no callback of it will
     * run again (a safe point to free data). May be NULL. */
    void (*closed)(void *data);
} redis_link_handler;

typedef struct redis_link redis_link;

/* Starts connecting on loop and returns at once; name prefixes the log
 * lines ("usermap", "bus_redis"...). h is copied. 0, CHATD_EINVAL (no host, a
 * port out of range, a name or host too long) or CHATD_ENOMEM. */
int redis_link_open(redis_link **out, uv_loop_t *loop, const redis_link_config *cfg,
                    const char *name, const redis_link_handler *h);
/* 1 between up and down, else 0. */
int redis_link_is_up(const redis_link *l);
/* The live context while up, else NULL. A reply callback compares its ac
 * with this to tell a reply of the current connection from a late one. */
redisAsyncContext *redis_link_ctx(const redis_link *l);
/* Sends a command (hiredis format or argv; lens may be NULL for C
 * strings). 0 (fn will be called: with a NULL reply if the link goes down
 * first), or CHATD_ENOTCONN while down / CHATD_EIO (fn will not be called). */
int redis_link_command(redis_link *l, redisCallbackFn *fn, void *priv, const char *fmt, ...);
int redis_link_command_argv(redis_link *l, redisCallbackFn *fn, void *priv, int argc,
                            const char **argv, const size_t *lens);
/* Drops the connection and reconnects (after a reply that shows the
 * connection is in a bad state). Safe inside a reply callback. */
void redis_link_reset(redis_link *l);
/* Closes: the callbacks of commands in flight are called with a NULL reply
 * before it returns (or, inside one of this link's reply callbacks, right
 * after that callback); up and down are never called again. The memory is
 * released once the loop has run again, then h->closed runs. NULL is fine. */
void redis_link_close(redis_link *l);

/* Blocking connect, AUTH and PING, for start-up: 0 (*out is a ready
 * context; redisFree it), CHATD_EACCES (Redis refused the password, or wants
 * one and none is configured), CHATD_EIO (unreachable or not answering within
 * timeout_ms). err gets a sentence naming host and port, never the
 * password. */
int redis_link_connect_sync(const redis_link_config *cfg, int timeout_ms, redisContext **out,
                            char *err, size_t errlen);

#endif
