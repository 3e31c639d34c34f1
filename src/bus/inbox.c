/*
 * inbox: checking, handing on or rejecting bus payloads (see inbox.h).
 * The one place where a forged payload is turned into a counter and a
 * rate-limited log line, whichever bus or role read it.
 */
#include "bus/inbox.h"

#include <inttypes.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelog.h"

void bus_inbox_reject(int rc, const char *source) {
    static ratelog rl[2]; /* loop thread only */
    int forged = rc == RECORD_EAUTH;
    uint64_t held;
    metrics_bus_rejected(forged);
    if (!ratelog_allow(&rl[forged], BUS_INBOX_LOG_MS, &held)) return;
    if (forged)
        log_warn("bus: dropped a payload from %s that failed the HMAC check (forged, or "
                 "cluster_secret.txt differs between processes); %" PRIu64
                 " more since the last report",
                 source, held);
    else
        log_warn("bus: dropped a malformed payload from %s (error %d); %" PRIu64
                 " more since the last report",
                 source, rc, held);
}

void bus_inbox_batch(const bus_handler *h, const record_key *k, const void *buf, size_t len,
                     const char *source) {
    record_batch_iter it;
    record_decoded d;
    int rc = buf ? record_batch_open(&it, buf, len, k) : RECORD_EINVAL;
    if (rc < 0) {
        bus_inbox_reject(rc, source);
        return;
    }
    while ((rc = record_batch_next(&it, &d)) == 1) {
        h->deliver(h->data, &d.r);
        record_decoded_clear(&d);
    }
    if (rc < 0) log_error("bus: out of memory delivering a batch from %s", source);
}

void bus_inbox_event(const bus_handler *h, const record_key *k, unsigned self, const void *buf,
                     size_t len, const char *source) {
    bus_event e;
    int rc = buf ? record_event_decode(buf, len, k, &e) : RECORD_EINVAL;
    if (rc < 0) {
        bus_inbox_reject(rc, source);
        return;
    }
    if (e.server_id != self && h->event) h->event(h->data, &e);
}
