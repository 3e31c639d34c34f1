/*
 * bus_forge: one bus payload sealed with a key of the test's choosing —
 * the cluster secret (genuine) or a guess (forged) — as a RECORD (what
 * goes into chat-messages) or as a one-delivery BATCH (what goes into an
 * inbox). The trust tests write it into Redis or Kafka themselves, as an
 * intruder would (unit: bus_contract.h; integration: hforge.c).
 * Header-only, for cmocka tests (fails the test on error).
 */
#ifndef CHATD_TESTS_BUS_FORGE_H
#define CHATD_TESTS_BUS_FORGE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bus/record.h"

static inline void bus_forge(record_buf *out, const record_key *k, const bus_record *r, int batch) {
    if (!batch) {
        assert_int_equal(record_encode(out, r, k), 0);
        return;
    }
    assert_int_equal(record_batch_begin(out), 0);
    assert_int_equal(record_batch_add(out, r), 0);
    assert_int_equal(record_seal(out, k), 0);
}

#endif
