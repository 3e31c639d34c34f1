/*
 * Unit tests for bus/record: round trips of records and batches, and
 * rejection of every truncation and of corrupted headers, lengths and
 * names; the HMAC: every payload sealed, a wrong mac (one flipped bit
 * anywhere, another secret, no mac at all) refused as RECORD_EAUTH, the
 * extra key of a rotation accepted, and its cost per record measured.
 *
 * Structural corruptions are sealed again after they are made (reseal),
 * so that they reach the parser instead of stopping at the mac.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bus/record.h"
#include <stdio.h>
#include "core/clock.h"

static record_key *K; /* the cluster secret of these tests */

/* A new buffer of exactly n bytes of src (a trailing zero byte when n is
 * past its end), then sealed when seal is set. */
static record_buf prefix(const record_buf *src, size_t n, int seal) {
    record_buf b = {0};
    b.data = calloc(1, n + RECORD_MAC_LEN + 1);
    memcpy(b.data, src->data, n < src->len ? n : src->len);
    b.len = b.cap = n;
    if (seal) assert_int_equal(record_seal(&b, K), 0);
    return b;
}

/* Sealed payload p with one zero byte added to its body, sealed again. */
static record_buf trailing_byte(const record_buf *p) {
    record_buf body = *p;
    body.len -= RECORD_MAC_LEN;
    return prefix(&body, body.len + 1, 1);
}

/* Replaces b's mac by a fresh one over its (changed) bytes. */
static void reseal(record_buf *b) {
    assert_true(b->sealed && b->len >= RECORD_MAC_LEN);
    b->len -= RECORD_MAC_LEN;
    b->sealed = 0;
    assert_int_equal(record_seal(b, K), 0);
}

static const char *const names3[] = {"alice", "bob", "carol"};

static bus_record make(rcbuf *frame, const char *chan, const char *const *names, size_t n,
                       int presence) {
    bus_record r = {chan, frame, names, n, presence, NULL, 0};
    return r;
}

static void assert_same(const bus_record *a, const bus_record *b) {
    if (a->channel_id)
        assert_string_equal(a->channel_id, b->channel_id);
    else
        assert_null(b->channel_id);
    assert_int_equal(a->presence, b->presence);
    assert_int_equal(a->changed, b->changed);
    assert_int_equal(a->n_recipients, b->n_recipients);
    for (size_t i = 0; i < a->n_recipients; i++)
        assert_string_equal(a->recipients[i], b->recipients[i]);
    assert_int_equal(a->payload->len, b->payload->len);
    assert_memory_equal(rcbuf_payload(a->payload), rcbuf_payload(b->payload), a->payload->len);
}

static void test_record_roundtrip(void **state) {
    rcbuf *f = rcbuf_copy("\x81\x05hello", 7);
    bus_record cases[] = {
        make(f, "c-123", names3, 3, 0), make(f, NULL, names3, 1, 1), make(f, "chan", NULL, 0, 0),
        make(f, "c-changed", names3, 2, 0), /* .changed below: a notice of a change */
    };
    cases[3].changed = 1;
    record_buf b = {0};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        record_decoded d;
        assert_int_equal(record_encode(&b, &cases[i], K), 0);
        assert_int_equal(record_decode(b.data, b.len, K, &d), 0);
        assert_same(&cases[i], &d.r);
        record_decoded_clear(&d);
    }
    /* an empty frame is legal */
    rcbuf *empty = rcbuf_new(0);
    bus_record e = make(empty, "x", names3, 2, 0);
    record_decoded d;
    assert_int_equal(record_encode(&b, &e, K), 0);
    assert_int_equal(record_decode(b.data, b.len, K, &d), 0);
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
    assert_true(record_batch_open(&it, b.data, b.len, K) < 0); /* not sealed yet */
    assert_int_equal(record_seal(&b, K), 0);
    assert_int_equal(record_batch_add(&b, &in[0]), RECORD_EINVAL); /* sealed: closed */
    assert_int_equal(record_seal(&b, K), RECORD_EINVAL);
    assert_int_equal(record_batch_open(&it, b.data, b.len, K), 2);
    record_decoded d;
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(record_batch_next(&it, &d), 1);
        assert_same(&in[i], &d.r);
        record_decoded_clear(&d);
    }
    assert_int_equal(record_batch_next(&it, &d), 0);

    /* an empty batch is valid and yields nothing */
    assert_int_equal(record_batch_begin(&b), 0);
    assert_int_equal(record_seal(&b, K), 0);
    assert_int_equal(record_batch_open(&it, b.data, b.len, K), 0);
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
    assert_int_equal(record_encode(&b, &r, K), RECORD_EINVAL);
    r = make(f, "c", long_names, 1, 0);
    assert_int_equal(record_encode(&b, &r, K), RECORD_EINVAL);
    r = make(f, "", names3, 1, 0);
    assert_int_equal(record_encode(&b, &r, K), RECORD_EINVAL);
    r = make(NULL, "c", names3, 1, 0);
    assert_int_equal(record_encode(&b, &r, K), RECORD_EINVAL);
    r = make(f, "c", names3, 1, 0);
    assert_int_equal(record_encode(&b, &r, NULL), RECORD_EINVAL); /* no key, no record */
    /* adding to something that is not a batch */
    assert_int_equal(record_encode(&b, &r, K), 0);
    assert_int_equal(record_batch_add(&b, &r), RECORD_EINVAL);
    record_buf_free(&b);
    rcbuf_unref(f);
}

static void test_truncations_rejected(void **state) {
    rcbuf *f = rcbuf_copy("frame-bytes", 11);
    bus_record r = make(f, "chan", names3, 3, 1);
    record_buf rec = {0}, bat = {0};
    assert_int_equal(record_encode(&rec, &r, K), 0);
    assert_int_equal(record_batch_begin(&bat), 0);
    assert_int_equal(record_batch_add(&bat, &r), 0);
    assert_int_equal(record_batch_add(&bat, &r), 0);
    assert_int_equal(record_seal(&bat, K), 0);
    record_decoded d;
    record_batch_iter it;
    /* every truncation, of the sealed bytes and (sealed again) of the body */
    for (int sealed_again = 0; sealed_again < 2; sealed_again++) {
        for (size_t n = 0; n < rec.len - RECORD_MAC_LEN * sealed_again; n++) {
            record_buf cut = prefix(&rec, n, sealed_again);
            uint8_t *copy = malloc(cut.len ? cut.len : 1); /* exact size: ASan catches overreads */
            memcpy(copy, cut.data, cut.len);
            assert_true(record_decode(copy, cut.len, K, &d) < 0);
            assert_null(d.mem);
            free(copy);
            record_buf_free(&cut);
        }
        for (size_t n = 0; n < bat.len - RECORD_MAC_LEN * sealed_again; n++) {
            record_buf cut = prefix(&bat, n, sealed_again);
            assert_true(record_batch_open(&it, cut.data, cut.len, K) < 0);
            record_buf_free(&cut);
        }
    }
    /* trailing garbage, inside the mac */
    record_buf longer = trailing_byte(&rec);
    assert_int_equal(record_decode(longer.data, longer.len, K, &d), RECORD_EINVAL);
    record_buf_free(&longer);
    /* a record is not a batch and vice versa */
    assert_int_equal(record_batch_open(&it, rec.data, rec.len, K), RECORD_EINVAL);
    assert_int_equal(record_decode(bat.data, bat.len, K, &d), RECORD_EINVAL);
    record_buf_free(&rec);
    record_buf_free(&bat);
    rcbuf_unref(f);
}

static void test_corruptions_rejected(void **state) {
    rcbuf *f = rcbuf_copy("abc", 3);
    bus_record r = make(f, "ch", names3, 2, 0);
    record_buf b = {0};
    assert_int_equal(record_encode(&b, &r, K), 0);
    /* layout: c b 2 1 | flags | 00 02 'c' 'h' | n:4 | 00 05 alice | 00 03 bob | len:4 abc | mac */
    record_decoded d;
    struct {
        size_t off;
        uint8_t val;
    } muts[] = {
        {0, 'x'},  /* magic */
        {2, 1},    /* version 1 */
        {2, 3},    /* version 3 */
        {3, 9},    /* kind */
        {4, 0x80}, /* unknown flag */
        {4, 0x00}, /* channel flag cleared: body misparses */
        {4, 0x04}, /* "the channel changed" without a channel */
        {5, 0xff}, /* channel length too long */
        {6, 0},    /* channel length zero */
        {9, 0xff}, /* recipient count huge */
        {12, 3},   /* recipient count larger than the bytes */
        {14, 0},   /* name length 0 */
        {15, 0},   /* NUL inside a name */
        {28, 9},   /* frame length past the end */
    };
    for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
        record_buf copy = {0};
        copy.data = malloc(b.cap);
        memcpy(copy.data, b.data, b.len);
        copy.len = b.len;
        copy.cap = b.cap;
        copy.sealed = 1;
        assert_true(muts[i].off < b.len - RECORD_MAC_LEN);
        copy.data[muts[i].off] = muts[i].val;
        /* as it is, the mac gives it away; sealed again, the parser must */
        assert_int_equal(record_decode(copy.data, copy.len, K, &d), RECORD_EAUTH);
        reseal(&copy);
        int rc = record_decode(copy.data, copy.len, K, &d);
        if (rc != RECORD_EINVAL) fail_msg("mutation %zu (offset %zu): %d", i, muts[i].off, rc);
        record_buf_free(&copy);
    }
    /* a batch count larger than its bodies */
    record_buf bat = {0};
    assert_int_equal(record_batch_begin(&bat), 0);
    assert_int_equal(record_batch_add(&bat, &r), 0);
    assert_int_equal(record_seal(&bat, K), 0);
    bat.data[7] = 2;
    reseal(&bat);
    record_batch_iter it;
    assert_int_equal(record_batch_open(&it, bat.data, bat.len, K), RECORD_EINVAL);
    bat.data[4] = 0xff; /* count over the cap */
    reseal(&bat);
    assert_int_equal(record_batch_open(&it, bat.data, bat.len, K), RECORD_EINVAL);
    record_buf_free(&bat);
    record_buf_free(&b);
    rcbuf_unref(f);
}

static void test_random_garbage(void **state) {
    unsigned seed = 12345;
    record_decoded d;
    record_batch_iter it;
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        record_buf b = {0};
        size_t n = (size_t)(rand_r(&seed) % 64);
        b.data = malloc(n + RECORD_MAC_LEN + 1);
        b.len = b.cap = n;
        for (size_t k = 0; k < n; k++)
            b.data[k] = (uint8_t)rand_r(&seed);
        if (n >= 4 && (i & 1)) { /* valid header half of the time, to reach the body */
            b.data[0] = 'c', b.data[1] = 'b', b.data[2] = RECORD_VERSION,
            b.data[3] = 1 + (i & 2) / 2;
        }
        if (i & 4) assert_int_equal(record_seal(&b, K), 0); /* signed: the parser decides */
        int rc = record_decode(b.data, b.len, K, &d);
        if (rc == 0) {
            accepted++;
            record_decoded_clear(&d);
        } else if (!(i & 4)) {
            assert_true(rc < 0); /* unsigned garbage never gets in */
        }
        if (record_batch_open(&it, b.data, b.len, K) >= 0)
            while (record_batch_next(&it, &d) == 1)
                record_decoded_clear(&d);
        record_buf_free(&b);
    }
    assert_true(accepted < 100); /* random bytes are almost never a record */
}

static bus_event ev_presence(unsigned server, const char *user, proto_status st, int64_t seen,
                             int holds, int set) {
    bus_event e = {.kind = BUS_EV_PRESENCE, .server_id = server};
    snprintf(e.u.presence.user, sizeof e.u.presence.user, "%s", user);
    e.u.presence.status = st;
    e.u.presence.last_seen_ms = seen;
    e.u.presence.holds = holds;
    e.u.presence.status_set = set;
    return e;
}

/* Every kind of typed event comes back as it went. */
static void test_event_roundtrip(void **state) {
    record_buf b = {0};
    bus_event e, in = {.kind = BUS_EV_CHANNEL, .server_id = 7};
    snprintf(in.u.channel.channel_id, sizeof in.u.channel.channel_id, "c-42");
    assert_int_equal(record_event_encode(&b, K, &in), 0);
    assert_int_equal(record_event_decode(b.data, b.len, K, &e), 0);
    assert_int_equal(e.kind, BUS_EV_CHANNEL);
    assert_int_equal(e.server_id, 7);
    assert_string_equal(e.u.channel.channel_id, "c-42");

    in = ev_presence(3, "bob", PROTO_BUSY, 1795552265123LL, 1, 0);
    assert_int_equal(record_event_encode(&b, K, &in), 0);
    assert_int_equal(record_event_decode(b.data, b.len, K, &e), 0);
    assert_int_equal(e.kind, BUS_EV_PRESENCE);
    assert_string_equal(e.u.presence.user, "bob");
    assert_int_equal(e.u.presence.status, PROTO_BUSY);
    assert_int_equal(e.u.presence.last_seen_ms, 1795552265123LL);
    assert_int_equal(e.u.presence.holds, 1);
    assert_int_equal(e.u.presence.status_set, 0);

    in = (bus_event){.kind = BUS_EV_PRESENCE_HELLO, .server_id = 9};
    assert_int_equal(record_event_encode(&b, K, &in), 0);
    assert_int_equal(record_event_decode(b.data, b.len, K, &e), 0);
    assert_int_equal(e.kind, BUS_EV_PRESENCE_HELLO);
    assert_int_equal(e.server_id, 9);

    /* what cannot be encoded */
    in = ev_presence(1, "", PROTO_ONLINE, 1, 1, 1);
    assert_int_equal(record_event_encode(&b, K, &in), RECORD_EINVAL);
    in = ev_presence(1, "x", (proto_status)7, 1, 1, 1);
    assert_int_equal(record_event_encode(&b, K, &in), RECORD_EINVAL);
    in = (bus_event){.kind = (bus_event_kind)99};
    assert_int_equal(record_event_encode(&b, K, &in), RECORD_EINVAL);

    /* every truncation (sealed again) and a trailing byte are rejected */
    in = ev_presence(3, "bob", PROTO_AWAY, 5, 0, 1);
    assert_int_equal(record_event_encode(&b, K, &in), 0);
    for (size_t n = 0; n + RECORD_MAC_LEN < b.len; n++) {
        record_buf cut = prefix(&b, n, 1);
        assert_true(record_event_decode(cut.data, cut.len, K, &e) < 0);
        record_buf_free(&cut);
    }
    record_buf longer = trailing_byte(&b);
    assert_int_equal(record_event_decode(longer.data, longer.len, K, &e), RECORD_EINVAL);
    record_buf_free(&longer);
    /* a status or flag out of range, resealed, is refused */
    size_t status_at = b.len - RECORD_MAC_LEN - 10;
    record_buf bad = prefix(&b, b.len - RECORD_MAC_LEN, 0);
    bad.data[status_at] = 4;
    assert_int_equal(record_seal(&bad, K), 0);
    assert_int_equal(record_event_decode(bad.data, bad.len, K, &e), RECORD_EINVAL);
    record_buf_free(&bad);
    bad = prefix(&b, b.len - RECORD_MAC_LEN, 0);
    bad.data[b.len - RECORD_MAC_LEN - 1] = 4; /* flags: an unknown bit */
    assert_int_equal(record_seal(&bad, K), 0);
    assert_int_equal(record_event_decode(bad.data, bad.len, K, &e), RECORD_EINVAL);
    record_buf_free(&bad);
    /* an event is neither a record nor a batch */
    record_decoded d;
    record_batch_iter it;
    assert_int_equal(record_decode(b.data, b.len, K, &d), RECORD_EINVAL);
    assert_int_equal(record_batch_open(&it, b.data, b.len, K), RECORD_EINVAL);
    record_buf_free(&b);
}

/* A flipped bit anywhere, another secret, or no mac at all: EAUTH, for
 * records, batches and events alike; nothing is decoded. */
static void test_mac_rejects_forgeries(void **state) {
    const char *json = "{\"type\":\"chat_message\"}";
    rcbuf *f = rcbuf_copy(json, strlen(json));
    bus_record r = make(f, "chan", names3, 3, 0);
    record_key *other;
    assert_int_equal(record_key_new(&other, "another cluster", 15), 0);
    record_buf bufs[3] = {{0}};
    assert_int_equal(record_encode(&bufs[0], &r, K), 0);
    assert_int_equal(record_batch_begin(&bufs[1]), 0);
    assert_int_equal(record_batch_add(&bufs[1], &r), 0);
    assert_int_equal(record_seal(&bufs[1], K), 0);
    bus_event mallory = ev_presence(4, "mallory", PROTO_ONLINE, 1, 1, 1);
    assert_int_equal(record_event_encode(&bufs[2], K, &mallory), 0);
    record_decoded d;
    record_batch_iter it;
    bus_event e;
#define DECODE(i, buf, len, key)                                                                   \
    ((i) == 0   ? record_decode(buf, len, key, &d)                                                 \
     : (i) == 1 ? record_batch_open(&it, buf, len, key)                                            \
                : record_event_decode(buf, len, key, &e))
    for (int i = 0; i < 3; i++) {
        record_buf *b = &bufs[i];
        assert_true(DECODE(i, b->data, b->len, K) >= 0);
        if (i == 0) record_decoded_clear(&d);
        assert_int_equal(DECODE(i, b->data, b->len, other), RECORD_EAUTH);
        for (size_t byte = 0; byte < b->len; byte++)
            for (int bit = 0; bit < 8; bit += 3) {
                b->data[byte] ^= (uint8_t)(1u << bit);
                int rc = DECODE(i, b->data, b->len, K);
                b->data[byte] ^= (uint8_t)(1u << bit);
                if (rc != RECORD_EAUTH)
                    fail_msg("payload %d: bit %d of byte %zu: %d", i, bit, byte, rc);
            }
        /* the v1 form (no mac) of the same payload: too short, or a wrong mac */
        b->data[2] = 1;
        assert_true(DECODE(i, b->data, b->len - RECORD_MAC_LEN, K) < 0);
        b->data[2] = RECORD_VERSION;
        assert_true(DECODE(i, b->data, 3, K) == RECORD_EINVAL); /* too short for a mac */
        record_buf_free(b);
    }
#undef DECODE
    record_key_free(other);
    rcbuf_unref(f);
}

/* Rotation: a key that also accepts the next (or previous) secret reads
 * what either sealed, and seals only with its own. */
static void test_mac_rotation(void **state) {
    rcbuf *f = rcbuf_copy("x", 1);
    bus_record r = make(f, "c", names3, 1, 0);
    record_key *old_k, *new_k, *both;
    assert_int_equal(record_key_new(&old_k, "old secret", 10), 0);
    assert_int_equal(record_key_new(&new_k, "new secret", 10), 0);
    assert_int_equal(record_key_new(&both, "old secret", 10), 0);
    assert_int_equal(record_key_accept(both, "new secret", 10), 0);
    record_key *none;
    assert_int_equal(record_key_new(&none, "", 0),
                     RECORD_EINVAL); /* an empty secret is no secret */
    assert_null(none);
    record_buf b = {0};
    record_decoded d;
    assert_int_equal(record_encode(&b, &r, new_k), 0);
    assert_int_equal(record_decode(b.data, b.len, old_k, &d), RECORD_EAUTH);
    assert_int_equal(record_decode(b.data, b.len, both, &d), 0);
    record_decoded_clear(&d);
    assert_int_equal(record_encode(&b, &r, both), 0); /* sealed with "old secret" */
    assert_int_equal(record_decode(b.data, b.len, old_k, &d), 0);
    record_decoded_clear(&d);
    assert_int_equal(record_decode(b.data, b.len, new_k, &d), RECORD_EAUTH);
    record_buf_free(&b);
    record_key_free(old_k);
    record_key_free(new_k);
    record_key_free(both);
    rcbuf_unref(f);
}

/* What the mac costs: a typical chat_message record (a 300-byte frame, 5
 * recipients) sealed and checked, against the same without (prints). */
static void test_mac_cost(void **state) {
    enum { N = 100000 };
    char frame[300];
    memset(frame, 'x', sizeof frame);
    rcbuf *f = rcbuf_copy(frame, sizeof frame);
    const char *names[] = {"alice", "bob", "carol", "dave", "erin"};
    bus_record r = make(f, "0123456789abcdef", names, 5, 0);
    record_buf b = {0};
    record_decoded d;
    assert_int_equal(record_encode(&b, &r, K), 0);
    uint64_t t0 = clock_mono_ms();
    for (int i = 0; i < N; i++) {
        record_encode(&b, &r, K);
        record_decode(b.data, b.len, K, &d);
        record_decoded_clear(&d);
    }
    uint64_t both = clock_mono_ms() - t0;
    t0 = clock_mono_ms();
    uint8_t mac[RECORD_MAC_LEN];
    for (int i = 0; i < N; i++) {
        b.len -= RECORD_MAC_LEN; /* the two macs alone: one seal, one check */
        b.sealed = 0;
        record_seal(&b, K);
        memcpy(mac, b.data + b.len - RECORD_MAC_LEN, sizeof mac);
        b.len -= RECORD_MAC_LEN;
        b.sealed = 0;
        record_seal(&b, K);
    }
    uint64_t macs = clock_mono_ms() - t0;
    print_message("record of %zu bytes: encode+decode %.2f us, of which the two HMACs %.2f us\n",
                  b.len, 1000.0 * (double)both / N, 1000.0 * (double)macs / N);
    record_buf_free(&b);
    rcbuf_unref(f);
}

static int group_setup(void **state) {
    return record_key_new(&K, "test cluster secret\n", 20);
}

static int group_teardown(void **state) {
    record_key_free(K);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_roundtrip),     cmocka_unit_test(test_batch_roundtrip),
        cmocka_unit_test(test_encode_rejects),       cmocka_unit_test(test_truncations_rejected),
        cmocka_unit_test(test_corruptions_rejected), cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_event_roundtrip),      cmocka_unit_test(test_mac_rejects_forgeries),
        cmocka_unit_test(test_mac_rotation),         cmocka_unit_test(test_mac_cost),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
