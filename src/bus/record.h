/*
 * record: the bytes the cluster buses carry.
 *
 * Two payloads travel through Kafka topics and Redis streams:
 *
 *  - a RECORD (chat server -> `chat-messages`): one bus_record, i.e. one
 *    frame, its channel id, the presence flag and ALL its recipients;
 *  - a BATCH (dispatcher -> `chat-inbox.<serverId>`): many deliveries for
 *    one chat server, each a frame with only the recipients that server
 *    holds. Batching is what keeps the inbox traffic at one record per
 *    server per dispatcher poll instead of one per recipient.
 *
 * Wire format (all integers big-endian):
 *
 *   header   : 'c' 'b' version(=1) kind(1 record | 2 batch)
 *   record   : header body
 *   batch    : header count:u32 body{count}
 *   event    : header server_id:u32 kind_len:u16 kind arg_len:u16 arg
 *              (kind 3; kind non-empty, arg may be empty)
 *   body     : flags:u8 (bit0 presence, bit1 has channel)
 *              [channel_len:u16 channel]      (only with bit1)
 *              n_recipients:u32 (name_len:u16 name){n_recipients}
 *              frame_len:u32 frame
 *
 * Decoding never trusts its input: every length is checked against the
 * bytes left and against the caps below, names and channel ids must be
 * non-empty and contain no NUL byte, unknown flag bits, versions or kinds
 * and trailing bytes are rejected. A batch is validated as a whole before
 * the first delivery is handed out, so garbage never half-delivers.
 */
#ifndef CHATD_RECORD_H
#define CHATD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"

#define RECORD_VERSION 1
#define RECORD_MAX_NAME 255                  /* bytes of a username or channel id */
#define RECORD_MAX_RECIPIENTS 100000         /* per body */
#define RECORD_MAX_FRAME (16u * 1024 * 1024) /* bytes of one frame */
#define RECORD_MAX_BATCH 100000              /* deliveries per batch */

enum { RECORD_EINVAL = -1, RECORD_ETOOBIG = -2, RECORD_ENOMEM = -3 };

/* A growable output buffer. Zero-initialise it; record_buf_free releases. */
typedef struct record_buf {
    uint8_t *data;
    size_t len, cap;
} record_buf;

void record_buf_free(record_buf *b);

/* Replaces out's contents with the encoding of r as a RECORD.
 * 0, RECORD_EINVAL (a name empty/too long, NULL frame) or RECORD_ETOOBIG. */
int record_encode(record_buf *out, const bus_record *r);

/* Replaces out's contents with an empty BATCH; record_batch_add appends one
 * delivery (r's recipients are the ones that server holds) and updates the
 * count in place. 0 or negative (out is unchanged on failure). */
int record_batch_begin(record_buf *out);
int record_batch_add(record_buf *out, const bus_record *r);

/* A decoded record. d->r is valid until record_decoded_clear; d owns one
 * reference to d->r.frame (take your own with rcbuf_ref to keep it) and the
 * memory behind channel_id and recipients. */
typedef struct record_decoded {
    bus_record r;
    void *mem;
} record_decoded;

/* Decodes a RECORD. 0 (fill *out; clear it later) or negative (*out is
 * zeroed; nothing to clear). */
int record_decode(const void *buf, size_t len, record_decoded *out);
void record_decoded_clear(record_decoded *d);

/* Reads a BATCH. record_batch_open validates all of buf (pure, no
 * allocation) and returns the number of deliveries, or negative. Then
 * record_batch_next decodes them one by one: 1 (filled *out), 0 (end) or
 * RECORD_ENOMEM. buf must outlive the iterator. */
typedef struct record_batch_iter {
    const uint8_t *p;
    size_t left;
    uint32_t remaining;
} record_batch_iter;

int record_batch_open(record_batch_iter *it, const void *buf, size_t len);
int record_batch_next(record_batch_iter *it, record_decoded *out);

/* EVENT: kind and arg are C strings of at most RECORD_MAX_NAME bytes with
 * no NUL; decoding copies them into *out. 0 or negative. */
typedef struct record_event {
    unsigned server_id; /* the publisher, so that it can skip its own events */
    char kind[RECORD_MAX_NAME + 1];
    char arg[RECORD_MAX_NAME + 1];
} record_event;

int record_event_encode(record_buf *out, unsigned server_id, const char *kind, const char *arg);
int record_event_decode(const void *buf, size_t len, record_event *out);

#endif
