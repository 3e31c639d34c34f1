/*
 * dispatcher: the `chatd dispatcher` role's engine.
 *
 * Chat servers publish one record per message to `chat-messages` (see
 * bus/record.h). A dispatcher consumes them in polls (a set of records at
 * a time) as a member of the group `message-dispatcher-group`, looks up
 * every recipient's chat servers in the usermap, and writes each chat
 * server ONE inbox batch per poll to `chat-inbox.<serverId>` — not one
 * record per recipient. Only after every batch of a poll is stored by the
 * broker does it acknowledge the poll's records (Kafka: store + commit
 * offsets; Redis Streams: XACK), so delivery is at-least-once: a
 * dispatcher that dies mid-poll leaves its records to another member of
 * the group (Kafka: rebalance; Redis: XAUTOCLAIM of entries pending longer
 * than claim_idle_ms, or at once by whoever takes the lease over).
 *
 * Order: one channel's records reach every chat server in the order they
 * were published (Kafka: a channel is one partition, a server's batches
 * go to partition 0 of its inbox; Redis: only the lease holder reads).
 *
 * Backends are chosen in one place (the role), like the bus backends.
 * Everything runs on the loop thread; open blocks for at most a few seconds
 * (start-up only).
 */
#ifndef CHATD_DISPATCHER_H
#define CHATD_DISPATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "bus/record.h"
#include "cluster/usermap.h"

#define DISPATCH_GROUP "message-dispatcher-group"
#define DISPATCH_TOPIC "chat-messages"
#define DISPATCH_INBOX_PREFIX "chat-inbox."

typedef struct dispatcher dispatcher;

/* Pointers are borrowed and must outlive the dispatcher. */
typedef struct dispatcher_config {
    const record_key *key;          /* the cluster secret: records must carry its mac,
                                     * batches are sealed with it */
    const kafka_link_config *kafka; /* kafka backend */
    const redis_link_config *redis; /* Redis holding the streams (redis backend) */
    const char *consumer;           /* redis: this member's name, unique in the group;
                                       NULL = "<hostname>-<pid>" */
    unsigned batch_max;             /* records per poll; 0 = 500 */
    unsigned claim_idle_ms;         /* redis: take over entries pending this long; 0 = 10000 */
} dispatcher_config;

typedef struct dispatcher_stats {
    uint64_t polls;      /* polls with >= 1 record, fully acknowledged */
    uint64_t records;    /* records in those polls */
    uint64_t batches;    /* inbox records written (about one per server per poll) */
    uint64_t deliveries; /* (frame, server) pairs inside those batches */
    uint64_t rejected;   /* forged or undecodable records, acknowledged and skipped */
    uint64_t claimed;    /* redis: entries taken over from other consumers */
} dispatcher_stats;

typedef struct dispatcher_backend {
    const char *name;
    /* Starts consuming. m (borrowed, must outlive the dispatcher) answers
     * the recipient lookups. 0 or negative. */
    int (*open)(dispatcher **out, uv_loop_t *loop, const dispatcher_config *cfg, usermap *m);
    void (*stats)(const dispatcher *d, dispatcher_stats *out);
    /* Stops; a poll in flight is abandoned (not acknowledged). The memory is
     * released once the loop has run again. */
    void (*close)(dispatcher *d);
} dispatcher_backend;

extern const dispatcher_backend dispatcher_kafka_backend, dispatcher_redis_backend;

/* ---- internal: the backend-neutral routing step, shared by dispatch_*.c ---- */

typedef struct dispatcher__batch {
    unsigned server_id;
    record_buf buf;    /* a record.h BATCH, ready to write to the inbox */
    size_t deliveries; /* bodies in buf */
} dispatcher__batch;

typedef struct dispatcher__poll dispatcher__poll;
/* status 0: p->out[0..n_out) hold the batches; negative: the usermap was
 * unavailable (route again later). Runs on the loop thread, possibly from
 * inside dispatcher__poll_route. */
typedef void (*dispatcher__done_cb)(void *data, dispatcher__poll *p, int status);

struct dispatcher__poll {
    const record_key *key; /* checks the records, seals the batches (borrowed) */
    record_decoded *recs;  /* the decoded records of this poll */
    size_t n, cap;
    dispatcher__batch *out;
    size_t n_out;
    /* private */
    dispatcher__done_cb done;
    void *data;
    int lookup_pending, orphaned;
};

/* NULL on OOM. key (borrowed) must outlive the poll. */
dispatcher__poll *dispatcher__poll_new(const record_key *key);
/* Checks and decodes one record into p. 0, or negative for garbage or a
 * forgery (p unchanged), already counted and logged (bus_inbox_reject)
 * as coming from `source`. */
int dispatcher__poll_add(dispatcher__poll *p, const void *buf, size_t len, const char *source);
/* Looks up all recipients with one usermap_lookup and builds p->out: for
 * each target server one sealed batch (split only past
 * DISPATCH_BATCH_BYTES). */
void dispatcher__poll_route(dispatcher__poll *p, usermap *m, dispatcher__done_cb done, void *data);
/* Frees p and its batches. With a lookup in flight, done is not called and
 * the memory goes when the lookup returns. */
void dispatcher__poll_free(dispatcher__poll *p);

#define DISPATCH_BATCH_BYTES (512 * 1024)

#endif
