/*
 * bus: how a committed message reaches the sockets of its recipients.
 *
 * The domain publishes ONE record per delivery: an already-encoded payload
 * and the list of recipient usernames. The backend gets the record to
 * every process that holds a socket of a recipient and hands it to that
 * process's deliver callback. In the embedded shape (bus_local) that is a
 * direct call in the same process; cluster backends (Kafka, Redis Streams)
 * go through a dispatcher and per-server inboxes. Delivery is
 * at-least-once; clients de-duplicate by message_id.
 *
 * Threading: publish and deliver run on the loop thread.
 */
#ifndef CHATD_BUS_H
#define CHATD_BUS_H

#include <stddef.h>

#include "core/rcbuf.h"
#include "proto/types.h"

typedef struct uv_loop_s uv_loop_t;
typedef struct record_key record_key;               /* bus/record.h */
typedef struct redis_link_config redis_link_config; /* engine/redis_link.h */
typedef struct kafka_link_config kafka_link_config; /* engine/kafka_link.h */

typedef struct bus_record {
    const char *channel_id;        /* partition key; NULL for per-user pushes */
    rcbuf *payload;                /* the JSON text of the frame, encoded once (borrowed);
                                      each transport frames it once, in place */
    const char *const *recipients; /* usernames (borrowed) */
    size_t n_recipients;
    int presence; /* 1: to /presence sockets, 0: to /chat sockets */
    /* Optional, in-process only: the publisher's own handle for each
     * recipient (recipients[i]'s), handed back unchanged to a deliver()
     * that runs inside publish() (the local bus), so the receiver need not
     * look each name up again. NULL otherwise; never sent anywhere. */
    void *const *local_hints;
    /* 1: the frame announces a change of the channel's record, members or
     * roles (a `system` notice; needs channel_id). A receiver's cached copy
     * of the channel is stale from this frame on, whether or not the
     * BUS_EV_CHANNEL event, which travels another way, is in yet. */
    int changed;
} bus_record;

/* A change of shared state one server tells every other (cluster only).
 * Typed: one struct per kind, one binary codec (record.c). */
typedef enum bus_event_kind {
    BUS_EV_CHANNEL = 1,        /* a channel's record or membership changed: re-read it */
    BUS_EV_PRESENCE = 2,       /* the publisher's view of a user's presence */
    BUS_EV_PRESENCE_HELLO = 3, /* the publisher started: tell it which users you hold */
} bus_event_kind;

#define BUS_EVENT_NAME_MAX 64 /* bytes of a channel id or a username in an event */

typedef struct bus_event {
    bus_event_kind kind;
    unsigned server_id; /* the publisher (set by the bus) */
    union {
        struct {
            char channel_id[BUS_EVENT_NAME_MAX + 1];
        } channel;
        struct {
            char user[BUS_EVENT_NAME_MAX + 1];
            proto_status status;
            int64_t last_seen_ms; /* when that status was seen: last writer wins */
            int holds;            /* the publisher holds live sockets of the user */
            int status_set;       /* the status was just set (not only the hold changed) */
        } presence;
    } u;
} bus_event;

typedef struct bus_handler {
    void *data;
    /* Writes r->payload to the local sockets of r's recipients. The record
     * and everything in it are only valid during the call. */
    void (*deliver)(void *data, const bus_record *r);
    /* Cluster only: another server changed shared state (never our own
     * events). The event is valid during the call. May be NULL. */
    void (*event)(void *data, const bus_event *e);
} bus_handler;

typedef struct bus bus;

/* Everything is borrowed and must outlive the bus. */
typedef struct bus_config {
    unsigned server_id;             /* this chat server's node id: its inbox */
    const record_key *key;          /* the cluster secret: seals what is published, and
                                     * whatever is read must carry its mac */
    const kafka_link_config *kafka; /* kafka backend */
    const redis_link_config *redis; /* redis backend */
} bus_config;

typedef struct bus_backend {
    const char *name;
    /* Creates the bus; deliveries go to h (copied). cfg may be NULL for the
     * local backend. 0 or negative. */
    int (*open)(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h);
    /* Sends r to every process holding a recipient. The backend takes its
     * own reference to r->payload if it keeps it past the call. */
    void (*publish)(bus *b, const bus_record *r);
    /* Broadcasts a state-change event to every OTHER chat server (their
     * handler.event). NULL for the local backend: nobody else to tell. */
    void (*publish_event)(bus *b, const bus_event *e);
    void (*close)(bus *b);
} bus_backend;

extern const bus_backend bus_local_backend;
/* Cluster backends: publish to `chat-messages`, deliver from this server's
 * inbox `chat-inbox.<server_id>` (filled by the dispatchers). */
extern const bus_backend bus_kafka_backend, bus_redis_backend;

#endif
