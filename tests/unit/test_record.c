/*
 * Unit tests for bus/record: round trips of records and batches, and
 * rejection of every truncation and of corrupted headers, lengths and names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/record.h"

static const char *const names3[] = {"alice", "bob", "carol"};

static bus_record make(rcbuf *frame, const char *chan, const char *const *names, size_t n,
                       int presence) {
    bus_record r = {chan, frame, names, n, presence};
    return r;
}

static void assert_same(const bus_record *a, const bus_record *b) {
    if (a->channel_id)
        assert_string_equal(a->channel_id, b->channel_id);
    else
        assert_null(b->channel_id);
    assert_int_equal(a->presence, b->presence);
    assert_int_equal(a->n_recipients, b->n_recipients);
    for (size_t i = 0; i < a->n_recipients; i++)
        assert_string_equal(a->recipients[i], b->recipients[i]);
    assert_int_equal(a->frame->len, b->frame->len);
    assert_memory_equal(a->frame->data, b->frame->data, a->frame->len);
}

static void test_record_roundtrip(void **state) {
    rcbuf *f = rcbuf_copy("\x81\x05hello", 7);
    bus_record cases[] = {
        make(f, "c-123", names3, 3, 0),
        make(f, NULL, names3, 1, 1),
        make(f, "chan", NULL, 0, 0),
    };
    record_buf b = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        record_decoded d;
        assert_int_equal(record_encode(&b, &cases[i]), 0);
        assert_int_equal(record_decode(b.data, b.len, &d), 0);
        assert_same(&cases[i], &d.r);
        record_decoded_clear(&d);
    }
    /* an empty frame is legal */
    rcbuf *empty = rcbuf_new(0);
    bus_record e = make(empty, "x", names3, 2, 0);
    record_decoded d;
    assert_int_equal(record_encode(&b, &e), 0);
    assert_int_equal(record_decode(b.data, b.len, &d), 0);
    assert_same(&e, &d.r);
    record_decoded_clear(&d);
    rcbuf_unref(empty);
    record_buf_free(&b);
    rcbuf_unref(f);
}

static void test_batch_roundtrip(void **state) {
    rcbuf *f1 = rcbuf_copy("one", 3), *f2 = rcbuf_copy("second frame", 12);
    bus_record in[] = {make(f1, "c1", names3, 2, 0), make(f2, NULL, names3 + 2, 1, 1)};
    record_buf b = {0};
    assert_int_equal(record_batch_begin(&b), 0);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(record_batch_add(&b, &in[i]), 0);

    record_batch_iter it;
    assert_int_equal(record_batch_open(&it, b.data, b.len), 2);
    record_decoded d;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(record_batch_next(&it, &d), 1);
        assert_same(&in[i], &d.r);
        record_decoded_clear(&d);
    }
    assert_int_equal(record_batch_next(&it, &d), 0);

    /* an empty batch is valid and yields nothing */
    assert_int_equal(record_batch_begin(&b), 0);
    assert_int_equal(record_batch_open(&it, b.data, b.len), 0);
    assert_int_equal(record_batch_next(&it, &d), 0);
    record_buf_free(&b);
    rcbuf_unref(f1);
    rcbuf_unref(f2);
}

static void test_encode_rejects(void **state) {
    rcbuf *f = rcbuf_copy("x", 1);
    const char *bad_names[] = {"ok", ""};
    char long_name[RECORD_MAX_NAME + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    const char *long_names[] = {long_name};
    record_buf b = {0};
    bus_record r = make(f, "c", bad_names, 2, 0);
    assert_int_equal(record_encode(&b, &r), RECORD_EINVAL);
    r = make(f, "c", long_names, 1, 0);
    assert_int_equal(record_encode(&b, &r), RECORD_EINVAL);
    r = make(f, "", names3, 1, 0);
    assert_int_equal(record_encode(&b, &r), RECORD_EINVAL);
    r = make(NULL, "c", names3, 1, 0);
    assert_int_equal(record_encode(&b, &r), RECORD_EINVAL);
    /* adding to something that is not a batch */
    r = make(f, "c", names3, 1, 0);
    assert_int_equal(record_encode(&b, &r), 0);
    assert_int_equal(record_batch_add(&b, &r), RECORD_EINVAL);
    record_buf_free(&b);
    rcbuf_unref(f);
}

static void test_truncations_rejected(void **state) {
    rcbuf *f = rcbuf_copy("frame-bytes", 11);
    bus_record r = make(f, "chan", names3, 3, 1);
    record_buf rec = {0}, bat = {0};
    assert_int_equal(record_encode(&rec, &r), 0);
    assert_int_equal(record_batch_begin(&bat), 0);
    assert_int_equal(record_batch_add(&bat, &r), 0);
    assert_int_equal(record_batch_add(&bat, &r), 0);
    record_decoded d;
    record_batch_iter it;
    for (size_t n = 0; n < rec.len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan catches overreads */
        memcpy(copy, rec.data, n);
        assert_true(record_decode(copy, n, &d) < 0);
        assert_null(d.mem);
        free(copy);
    }
    for (size_t n = 0; n < bat.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, bat.data, n);
        assert_true(record_batch_open(&it, copy, n) < 0);
        free(copy);
    }
    /* trailing garbage */
    uint8_t *longer = malloc(rec.len + 1);
    memcpy(longer, rec.data, rec.len);
    longer[rec.len] = 0;
    assert_true(record_decode(longer, rec.len + 1, &d) < 0);
    free(longer);
    /* a record is not a batch and vice versa */
    assert_true(record_batch_open(&it, rec.data, rec.len) < 0);
    assert_true(record_decode(bat.data, bat.len, &d) < 0);
    record_buf_free(&rec);
    record_buf_free(&bat);
    rcbuf_unref(f);
}

static void test_corruptions_rejected(void **state) {
    rcbuf *f = rcbuf_copy("abc", 3);
    bus_record r = make(f, "ch", names3, 2, 0);
    record_buf b = {0};
    assert_int_equal(record_encode(&b, &r), 0);
    /* layout: c b 1 1 | flags | 00 02 'c' 'h' | n:4 | 00 05 alice | 00 03 bob | len:4 abc */
    record_decoded d;
    struct {
        size_t off;
        uint8_t val;
    } muts[] = {
        {0, 'x'},  /* magic */
        {2, 2},    /* version */
        {3, 9},    /* kind */
        {4, 0x80}, /* unknown flag */
        {4, 0x00}, /* channel flag cleared: body misparses */
        {5, 0xff}, /* channel length too long */
        {6, 0},    /* channel length zero */
        {9, 0xff}, /* recipient count huge */
        {12, 3},   /* recipient count larger than the bytes */
        {14, 0},   /* name length 0 */
        {15, 0},   /* NUL inside a name */
        {28, 9},   /* frame length past the end */
    };
    for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        assert_true(muts[i].off < b.len);
        copy[muts[i].off] = muts[i].val;
        int rc = record_decode(copy, b.len, &d);
        if (rc == 0) fail_msg("mutation %zu (offset %zu) was accepted", i, muts[i].off);
        free(copy);
    }
    /* a batch count larger than its bodies */
    record_buf bat = {0};
    assert_int_equal(record_batch_begin(&bat), 0);
    assert_int_equal(record_batch_add(&bat, &r), 0);
    bat.data[7] = 2;
    record_batch_iter it;
    assert_true(record_batch_open(&it, bat.data, bat.len) < 0);
    bat.data[4] = 0xff; /* count over the cap */
    assert_true(record_batch_open(&it, bat.data, bat.len) < 0);
    record_buf_free(&bat);
    record_buf_free(&b);
    rcbuf_unref(f);
}

static void test_random_garbage(void **state) {
    uint8_t buf[64];
    unsigned seed = 12345;
    record_decoded d;
    record_batch_iter it;
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof(buf));
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rand_r(&seed);
        if (n >= 4 && (i & 1)) { /* valid header half of the time, to reach the body */
            buf[0] = 'c', buf[1] = 'b', buf[2] = RECORD_VERSION, buf[3] = 1 + (i & 2) / 2;
        }
        if (record_decode(buf, n, &d) == 0) {
            accepted++;
            record_decoded_clear(&d);
        }
        if (record_batch_open(&it, buf, n) >= 0)
            while (record_batch_next(&it, &d) == 1)
                record_decoded_clear(&d);
    }
    assert_true(accepted < 100); /* random bytes are almost never a record */
}

static void test_event_roundtrip(void **state) {
    record_buf b = {0};
    record_event e;
    assert_int_equal(record_event_encode(&b, 7, "channel", "c-42"), 0);
    assert_int_equal(record_event_decode(b.data, b.len, &e), 0);
    assert_int_equal(e.server_id, 7);
    assert_string_equal(e.kind, "channel");
    assert_string_equal(e.arg, "c-42");
    assert_int_equal(record_event_encode(&b, 1, "user", ""), 0);
    assert_int_equal(record_event_decode(b.data, b.len, &e), 0);
    assert_string_equal(e.arg, "");
    assert_int_equal(record_event_encode(&b, 1, "", "x"), RECORD_EINVAL);
    /* every truncation and a trailing byte are rejected */
    assert_int_equal(record_event_encode(&b, 3, "user", "bob"), 0);
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.data, n);
        assert_true(record_event_decode(copy, n, &e) < 0);
        free(copy);
    }
    uint8_t *longer = calloc(1, b.len + 1);
    memcpy(longer, b.data, b.len);
    assert_true(record_event_decode(longer, b.len + 1, &e) < 0);
    free(longer);
    /* an event is neither a record nor a batch */
    record_decoded d;
    record_batch_iter it;
    assert_true(record_decode(b.data, b.len, &d) < 0);
    assert_true(record_batch_open(&it, b.data, b.len) < 0);
    record_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_roundtrip),     cmocka_unit_test(test_batch_roundtrip),
        cmocka_unit_test(test_encode_rejects),       cmocka_unit_test(test_truncations_rejected),
        cmocka_unit_test(test_corruptions_rejected), cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_event_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
