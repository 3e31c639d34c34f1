/*
 * libFuzzer target for bus/record: the decoders must reject or accept any
 * input without reading out of bounds, and whatever they accept must
 * re-encode to exactly the same bytes (the format has one encoding per
 * value), so decode and encode cannot drift apart.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/record.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) abort();                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    record_decoded d;
    record_buf out = {0};
    if (record_decode(data, size, &d) == 0) {
        CHECK(record_encode(&out, &d.r) == 0);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
        record_decoded_clear(&d);
    }
    record_batch_iter it;
    int n = record_batch_open(&it, data, size);
    if (n >= 0) {
        CHECK(record_batch_begin(&out) == 0);
        int got = 0, rc;
        while ((rc = record_batch_next(&it, &d)) == 1) {
            CHECK(record_batch_add(&out, &d.r) == 0);
            record_decoded_clear(&d);
            got++;
        }
        CHECK(rc == 0 && got == n);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    record_event e;
    if (record_event_decode(data, size, &e) == 0) {
        CHECK(record_event_encode(&out, e.server_id, e.kind, e.arg) == 0);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
    }
    record_buf_free(&out);
    return 0;
}
