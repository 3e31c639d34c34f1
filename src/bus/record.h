/*
 * record: the bytes the cluster buses carry.
 *
 * Two payloads travel through Kafka topics and Redis streams:
 *
 *  - a RECORD (chat server -> `chat-messages`): one bus_record, i.e. one
 *    payload (a frame's JSON text), its channel id, the presence flag and ALL its recipients;
 *  - a BATCH (dispatcher -> `chat-inbox.<serverId>`): many deliveries for
 *    one chat server, each a payload with only the recipients that server
 *    holds. Batching is what keeps the inbox traffic at one record per
 *    server per dispatcher poll instead of one per recipient.
 *
 * Wire format (all integers big-endian):
 *
 *   header   : 'c' 'b' version(=2) kind(1 record | 2 batch | 3 event)
 *   record   : header body mac
 *   batch    : header count:u32 body{count} mac
 *   event    : header server_id:u32 ev:u8 ev_body mac       (a bus_event)
 *   ev_body  : ev 1 channel changed : name                 (the channel id)
 *              ev 2 presence        : name status:u8 last_seen_ms:i64 flags:u8
 *                                     (bit0 holds, bit1 status set; status < 4)
 *              ev 3 presence hello  : (nothing)
 *   name     : name_len:u16 name (1..BUS_EVENT_NAME_MAX bytes, no NUL)
 *   body     : flags:u8 (bit0 presence, bit1 has channel, bit2 the channel
 *              changed: only with bit1)
 *              [channel_len:u16 channel]      (only with bit1)
 *              n_recipients:u32 (name_len:u16 name){n_recipients}
 *              payload_len:u32 payload
 *   mac      : HMAC-SHA256(cluster secret, every byte before it), 32 bytes
 *
 * Version 2 added the mac: whoever can write to Redis or Kafka could
 * otherwise put any frame in front of any user (a chat_message "from"
 * anyone). Every payload is sealed with the key of cluster_secret.txt and
 * every decoder checks the mac (constant time) BEFORE it parses anything,
 * so only bytes written by a holder of the secret reach the parser; a
 * payload that fails is RECORD_EAUTH. A v1 payload (no mac) fails too.
 * The mac does not stop a replay of a genuine payload: delivery is
 * at-least-once anyway and clients de-duplicate by message_id.
 *
 * Decoding never trusts its input: every length is checked against the
 * bytes left and against the caps below, names and channel ids must be
 * non-empty and contain no NUL byte, unknown flag bits, versions or kinds
 * and trailing bytes are rejected. A batch is validated as a whole before
 * the first delivery is handed out, so garbage never half-delivers.
 *
 * Threading: a record_key is read-only once made (every operation copies
 * its precomputed HMAC state), so one key serves any number of threads.
 */
#ifndef CHATD_RECORD_H
#define CHATD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "bus/bus.h"
#include "core/err.h"

#define RECORD_VERSION 2
#define RECORD_MAC_LEN 32                      /* HMAC-SHA256 */
#define RECORD_MAX_NAME 255                    /* bytes of a username or channel id */
#define RECORD_MAX_RECIPIENTS 100000           /* per body */
#define RECORD_MAX_PAYLOAD (16u * 1024 * 1024) /* bytes of one payload */
#define RECORD_MAX_BATCH 100000                /* deliveries per batch */

/* RECORD_EAUTH: the mac is wrong (forged, corrupted, another cluster's
 * secret, or a v1 payload); RECORD_EINVAL: authentic but malformed. */
enum {
    RECORD_EINVAL = CHATD_EINVAL,
    RECORD_ETOOBIG = CHATD_ETOOBIG,
    RECORD_ENOMEM = CHATD_ENOMEM,
    RECORD_EAUTH = CHATD_EAUTH,
};

/* The cluster secret, ready to seal and check payloads. */
typedef struct record_key record_key;

/* Makes a key from secret (len > 0 bytes, copied into HMAC state; the
 * caller may wipe its copy). 0, RECORD_EINVAL or RECORD_ENOMEM. */
int record_key_new(record_key **out, const void *secret, size_t len);
/* Also accepts payloads sealed with `secret` (never seals with it): the
 * middle step of a secret rotation. One such extra key at most; a second
 * call replaces it. 0 or RECORD_EINVAL. Not thread-safe with users of k. */
int record_key_accept(record_key *k, const void *secret, size_t len);
/* Wipes and frees k (NULL is fine). */
void record_key_free(record_key *k);

/* A growable output buffer. Zero-initialise it; record_buf_free releases.
 * sealed: the mac is the last RECORD_MAC_LEN bytes (nothing may be added). */
typedef struct record_buf {
    uint8_t *data;
    size_t len, cap;
    int sealed;
} record_buf;

void record_buf_free(record_buf *b);

/* Appends the mac of b's bytes under k and marks b sealed. The encoders
 * below seal by themselves; this is for a batch (after its last
 * record_batch_add) and for tests that sign bytes of their own. 0,
 * RECORD_EINVAL (already sealed) or RECORD_ENOMEM. */
int record_seal(record_buf *b, const record_key *k);

/* Replaces out's contents with the sealed encoding of r as a RECORD.
 * 0, RECORD_EINVAL (a name empty/too long, NULL payload) or RECORD_ETOOBIG. */
int record_encode(record_buf *out, const bus_record *r, const record_key *k);

/* Replaces out's contents with an empty, unsealed BATCH; record_batch_add
 * appends one delivery (r's recipients are the ones that server holds) and
 * updates the count in place; record_seal(out, k) finishes it. 0 or
 * negative (out is unchanged on failure; RECORD_EINVAL once sealed). */
int record_batch_begin(record_buf *out);
int record_batch_add(record_buf *out, const bus_record *r);

/* A decoded record. d->r is valid until record_decoded_clear; d owns one
 * reference to d->r.payload (take your own with rcbuf_ref to keep it) and the
 * memory behind channel_id and recipients. */
typedef struct record_decoded {
    bus_record r;
    void *mem;
} record_decoded;

/* Checks the mac under k, then decodes a RECORD. 0 (fill *out; clear it
 * later) or negative, RECORD_EAUTH for a wrong mac (*out is zeroed;
 * nothing to clear). */
int record_decode(const void *buf, size_t len, const record_key *k, record_decoded *out);
void record_decoded_clear(record_decoded *d);

/* Reads a BATCH. record_batch_open checks the mac under k and validates all
 * of buf (pure: nothing is allocated but the HMAC's context) and returns the number of deliveries,
 * or negative (RECORD_EAUTH for a wrong mac). Then record_batch_next decodes them one by one: 1
 * (filled *out), 0 (end) or RECORD_ENOMEM. buf must outlive the iterator. */
typedef struct record_batch_iter {
    const uint8_t *p;
    size_t left;
    uint32_t remaining;
} record_batch_iter;

int record_batch_open(record_batch_iter *it, const void *buf, size_t len, const record_key *k);
int record_batch_next(record_batch_iter *it, record_decoded *out);

/* EVENT: one bus_event (bus.h). Encoding takes e->server_id as the
 * publisher and seals; RECORD_EINVAL for an unknown kind, a name that is
 * empty, too long or holds a NUL, or a status out of range. Decoding checks
 * the mac, then every field, and fills *out (zeroed on failure). 0 or
 * negative (RECORD_EAUTH for a wrong mac). */
int record_event_encode(record_buf *out, const record_key *k, const bus_event *e);
int record_event_decode(const void *buf, size_t len, const record_key *k, bus_event *out);

#endif
