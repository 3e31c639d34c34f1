/*
 * libFuzzer target for bus/record: the decoders must reject or accept any
 * input without reading out of bounds, and whatever they accept must
 * re-encode to exactly the same bytes (the format has one encoding per
 * value), so decode and encode cannot drift apart.
 *
 * Every payload carries an HMAC, which random bytes never match. So that
 * the parser behind the mac is what gets fuzzed, each input is decoded
 * twice: as it is (it must be refused: no forgery gets in), and sealed
 * with the target's own key (record_seal appends a valid mac), when only
 * the parser decides. The corpus holds payloads without their mac.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/record.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) abort();                                                                         \
    } while (0)

static const record_key *key(void) {
    static record_key *k;
    if (!k) CHECK(record_key_new(&k, "fuzz secret", 11) == 0);
    return k;
}

/* Decodes data[0..size) under k as every kind; what is accepted must
 * re-encode to the same bytes. Returns how many decoders accepted it. */
static int decode_all(const uint8_t *data, size_t size, const record_key *k) {
    record_decoded d;
    record_buf out = {0};
    int accepted = 0;
    if (record_decode(data, size, k, &d) == 0) {
        CHECK(record_encode(&out, &d.r, k) == 0);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
        record_decoded_clear(&d);
        accepted++;
    }
    record_batch_iter it;
    int n = record_batch_open(&it, data, size, k);
    if (n >= 0) {
        CHECK(record_batch_begin(&out) == 0);
        int got = 0, rc;
        while ((rc = record_batch_next(&it, &d)) == 1) {
            CHECK(record_batch_add(&out, &d.r) == 0);
            record_decoded_clear(&d);
            got++;
        }
        CHECK(rc == 0 && got == n);
        CHECK(record_seal(&out, k) == 0);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
        accepted++;
    }
    bus_event e;
    if (record_event_decode(data, size, k, &e) == 0) {
        CHECK(record_event_encode(&out, k, &e) == 0);
        CHECK(out.len == size && memcmp(out.data, data, size) == 0);
        accepted++;
    }
    record_buf_free(&out);
    return accepted;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const record_key *k = key();
    CHECK(decode_all(data, size, k) == 0); /* unsealed: refused, whatever it holds */
    record_buf sealed = {0};
    sealed.data = malloc(size + RECORD_MAC_LEN + 1);
    CHECK(sealed.data != NULL);
    if (size) memcpy(sealed.data, data, size);
    sealed.len = sealed.cap = size;
    CHECK(record_seal(&sealed, k) == 0);
    decode_all(sealed.data, sealed.len, k);
    record_buf_free(&sealed);
    return 0;
}
