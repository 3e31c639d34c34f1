/*
 * inbox: what a cluster process does with a payload it has read from the
 * bus — a chat server with its inbox batches and the events, a dispatcher
 * with the records of chat-messages. Anything that fails the HMAC check or
 * does not parse is dropped, never delivered in part, counted in
 * chatd_bus_rejected_total{reason="auth"|"malformed"}, and logged at most
 * once every BUS_INBOX_LOG_MS (whoever can write to Redis or Kafka can send
 * forgeries as fast as they like; the log must not grow with them).
 *
 * Used by bus_redis.c, bus_kafka.c and the dispatchers, on the loop thread.
 */
#ifndef CHATD_BUS_INBOX_H
#define CHATD_BUS_INBOX_H

#include <stddef.h>

#include "bus/bus.h"
#include "bus/record.h"

#define BUS_INBOX_LOG_MS 10000

/* Checks a BATCH from `source` (a stream or topic name, for the log) under
 * k and hands each delivery to h->deliver; or rejects it whole. */
void bus_inbox_batch(const bus_handler *h, const record_key *k, const void *buf, size_t len,
                     const char *source);
/* Checks an EVENT under k and hands it to h->event unless this server
 * (self) published it; or rejects it. */
void bus_inbox_event(const bus_handler *h, const record_key *k, unsigned self, const void *buf,
                     size_t len, const char *source);
/* Counts and (rate-limited) logs a payload from source that a record_*
 * decoder refused with rc (RECORD_EAUTH: forged; else malformed). */
void bus_inbox_reject(int rc, const char *source);

#endif
