/*
 * usermap: the cluster's per-user state in Redis — which chat servers hold
 * live sockets of which users (a user may be connected to several servers:
 * several devices), and each user's last presence status.
 *
 *   user:<name>:servers   SET of server ids      (read by dispatchers)
 *   server:<id>:users     HASH user -> socket count on that server
 *   presence:<name>       STRING "<status> <last_seen_ms>" (chat/presence.c)
 *   server:<id>:synced    "1" once server <id> has (re-)registered its users
 *
 * A chat server calls usermap_add on a user's first socket there and
 * usermap_remove on the last (or on every socket: the hash counts them, and
 * the server leaves the user's set when the count reaches 0);
 * usermap_forget_server removes everything a (dead) server had registered.
 * Lookups are synchronous-looking but never block the loop: they run on
 * hiredis's async API with the libuv adapter.
 *
 * Redis going away: writes are never queued for later; instead the module
 * remembers what this process added and, on every reconnect, rewrites its
 * own servers' entries from that record (so a Redis restarted empty is
 * repaired), then marks them synced. Until a live chat server's mark is
 * there, a dispatcher's lookups name it for every user (its users may be
 * missing from the map): nothing sent meanwhile is lost for a user who
 * is online. Lookups fail fast while disconnected. All functions run on the
 * loop thread; none may be called after usermap_close.
 */
#ifndef CHATD_USERMAP_H
#define CHATD_USERMAP_H

#include "core/err.h"
#include <stddef.h>
#include <stdint.h>

#include "proto/types.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct usermap usermap;
typedef struct redis_link_config redis_link_config; /* engine/redis_link.h */

/* Connects to Redis as cfg says (borrowed; with AUTH when it has a
 * password), on a redis_link: reconnecting by itself after failures,
 * backing off from 100 ms to 2 s. Returns at once: the connection is made
 * on the loop. 0 or negative (bad arguments, out of memory). */
int usermap_open(usermap **out, uv_loop_t *loop, const redis_link_config *cfg);
/* 1 while connected to Redis, else 0. */
int usermap_connected(const usermap *m);
/* Lookups still pending complete (status negative) before it returns; the
 * memory is released once the loop has run the handles' close callbacks. */
void usermap_close(usermap *m);

/* A chat server: the id its users are registered under. Its synced mark
 * is written at every (re)connect, also while it has no user. */
void usermap_set_self(usermap *m, unsigned server_id);
/* A dispatcher: the chat servers alive now (from discovery; copied).
 * Lookups then add, for every user, each of them not marked synced. */
void usermap_set_live(usermap *m, const unsigned *ids, size_t n);

void usermap_add(usermap *m, const char *user, unsigned server_id);
void usermap_remove(usermap *m, const char *user, unsigned server_id);
void usermap_forget_server(usermap *m, unsigned server_id);

/* Looks up the servers of n users. cb runs on the loop thread with, for
 * each user i, servers[i] (array of ids) and nservers[i]; status 0, or
 * negative when Redis is unavailable (then the arrays are NULL). The
 * arrays are valid only during the callback. cb never runs inside
 * usermap_lookup: a lookup issued while disconnected fails on the next
 * loop turn, one in flight when the connection drops fails then. */
typedef void (*usermap_lookup_cb)(void *data, int status, const unsigned *const *servers,
                                  const size_t *nservers, size_t n);
void usermap_lookup(usermap *m, const char *const *users, size_t n, usermap_lookup_cb cb,
                    void *data);

/* Presence: stores a user's status and last-seen time,
 * unless Redis already holds a later last-seen (last writer wins, so the
 * order in which servers' writes arrive does not matter). Like the other
 * writes, dropped while Redis is away (the next change of that user
 * writes it again). */
void usermap_presence_put(usermap *m, const char *user, proto_status status, int64_t seen_ms);
/* Reads the stored presence of n users: cb gets values[i] for users[i]
 * (known 0 when Redis has none, or a value that does not parse) with
 * status 0, or a negative status and NULL values when the connection
 * failed meanwhile. Returns 0 (cb will run, never inside this call) or
 * CHATD_EINVAL (n == 0), CHATD_ENOTCONN, CHATD_ENOMEM (cb will not run). In Redis the
 * value is "<status> <last_seen_ms>" (the Lua compare-and-set reads it). */
typedef void (*usermap_presence_cb)(void *data, int status, const proto_presence *values, size_t n);
int usermap_presence_get(usermap *m, const char *const *users, size_t n, usermap_presence_cb cb,
                         void *data);

#endif
