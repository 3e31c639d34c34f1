/*
 * domain: chatd's chat and presence logic — channels, membership, messages,
 * read state, presence — over an abstract store and abstract sessions.
 * No sockets and no backend headers here: the same code serves the
 * embedded shape and the cluster roles.
 *
 * Threading: every function runs on the loop thread.
 */
#ifndef CHATD_DOMAIN_H
#define CHATD_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "chat/session.h"
#include "proto/request.h"
#include "store/store.h"

typedef struct domain domain;

typedef struct domain_config {
    proto_limits limits;
    double rate_per_sec;          /* client frames per second per connection (50) */
    double rate_burst;            /* bucket size (100) */
    uint64_t abuse_close_ms;      /* sustained over-limit time before close 1008 (10000) */
    uint64_t presence_timeout_ms; /* silence before a user counts as offline (60000) */
    unsigned node_id;             /* Snowflake node id */
    size_t max_channels_per_user; /* create/join/add beyond it: too_large (10000) */
    size_t big_channel;           /* more members than this: a big channel (500), see
                                     chat__is_big */
    uint64_t cache_ttl_ms;        /* cluster: membership older than this is re-read (5000) */
    int cluster;                  /* the model is a cache of a shared store */
} domain_config;

void domain_config_default(domain_config *c);

/* Creates the domain and loads users/channels/members from the store.
 * The store stays the caller's; it must outlive the domain. NULL on error. */
domain *domain_new(const domain_config *cfg, const store_backend *sb, store *st);
void domain_free(domain *d);
/* Sets the bus the domain publishes deliveries on (before serving). The
 * bus must have been opened with domain_deliver as its handler. */
void domain_attach_bus(domain *d, const bus_backend *bb, bus *b);
/* bus_handler.deliver: writes a record's frame to local sessions. */
void domain_deliver(void *data, const bus_record *r);

/* 1 when the user is known to this process's model. */
int domain_user_exists(const domain *d, const char *username);
/* Calls cb(data, exists) — at once when the model knows the user, else
 * (cluster: registered through another process) after asking the store. */
typedef void (*domain_user_cb)(void *data, int exists);
void domain_user_lookup(domain *d, const char *username, domain_user_cb cb, void *data);
/* bus_handler.event: another server changed shared state. */
void domain_event(void *data, const bus_event *e);
/* Cluster: the chat or presence server with this node id has died (its
 * ZooKeeper znode vanished); users it alone held go offline. */
void domain_server_gone(domain *d, unsigned server_id);
/* Cluster: where every server keeps each user's latest presence, so that a
 * presence socket opening here starts from the truth rather than from what
 * this server's events have told it so far (Redis: usermap_presence_*).
 * get: 0 and cb later (values[i] for users[i]; status 0, or negative and
 * nothing read), or negative and no cb. */
typedef void (*domain_presence_cb)(void *data, int status, const proto_presence *values, size_t n);
typedef struct presence_share {
    void *ctx;
    void (*put)(void *ctx, const char *user, proto_status status, int64_t seen_ms);
    int (*get)(void *ctx, const char *const *users, size_t n, domain_presence_cb cb, void *data);
} presence_share;
void domain_attach_presence(domain *d, const presence_share *ps);
/* A user was registered through the API. */
void domain_user_added(domain *d, const char *username);

/* A WebSocket was authenticated as `username` (which exists). The session
 * memory is the caller's; it must stay valid until domain_session_closed. */
void domain_session_open(domain *d, session *s, const char *username, int presence);
/* One client text frame (valid UTF-8). */
void domain_session_message(domain *d, session *s, const char *payload, size_t len);
/* Any frame arrived (liveness for presence). */
void domain_session_activity(domain *d, session *s);
/* The socket is gone. After this the domain holds no pointer to s except
 * inside pending store ops that hold() it. */
void domain_session_closed(domain *d, session *s);
/* A ping arrived: 1 to answer it, 0 when the connection is over its
 * rate-limit budget (pings share it with every other frame). */
int domain_session_ping(domain *d, session *s);
/* Periodic housekeeping (presence timeouts, delayed channel lists). Call
 * about once a second. */
void domain_tick(domain *d);
/* End of a loop turn: sends what was coalesced during the turn (channel
 * lists). Cheap when there is nothing to send. */
void domain_flush(domain *d);
/* Open sessions (chat + presence) of a user on this server. */
unsigned domain_user_conns(const domain *d, const char *username);

/* Live session counts (for discovery/health). */
size_t domain_sessions(const domain *d, int presence);

/* A reload (SIGHUP): takes cfg's rate limits (rate_per_sec, rate_burst,
 * abuse_close_ms), limits.max_content, max_channels_per_user,
 * presence_timeout_ms and cache_ttl_ms; node_id and cluster are ignored.
 * Open sessions keep their tokens and go on under the new limits. */
void domain_set_limits(domain *d, const domain_config *cfg);

#endif
