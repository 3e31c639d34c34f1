/* Unit tests for net/ws: the RFC 6455 frame codec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rcbuf.h"
#include "core/utf8.h"
#include "net/ws.h"

#define NOLIMIT UINT64_MAX

/* RFC 6455 5.7: a masked "Hello" from a client, and the unmasked one. */
static const uint8_t rfc_masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                           0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t rfc_hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};

static void test_parse_rfc_examples(void **st) {
    ws_header h;
    uint8_t buf[sizeof(rfc_masked_hello)];
    memcpy(buf, rfc_masked_hello, sizeof(buf));

    assert_int_equal(ws_parse_header(buf, sizeof(buf), 1, NOLIMIT, &h), 6);
    assert_int_equal(h.fin, 1);
    assert_int_equal(h.opcode, WS_OP_TEXT);
    assert_int_equal(h.masked, 1);
    assert_int_equal(h.payload_len, 5);
    assert_memory_equal(h.mask, "\x37\xfa\x21\x3d", 4);
    ws_mask(buf + 6, 5, h.mask, 0);
    assert_memory_equal(buf + 6, "Hello", 5);

    assert_int_equal(ws_parse_header(rfc_hello, sizeof(rfc_hello), 0, NOLIMIT, &h), 2);
    assert_int_equal(h.fin, 1);
    assert_int_equal(h.opcode, WS_OP_TEXT);
    assert_int_equal(h.masked, 0);
    assert_int_equal(h.payload_len, 5);
}

static void test_parse_lengths(void **st) {
    ws_header h;
    /* 16-bit: 256 bytes, masked binary (RFC 5.7 example header). */
    const uint8_t h16[] = {0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4};
    assert_int_equal(ws_parse_header(h16, sizeof(h16), 1, NOLIMIT, &h), 8);
    assert_int_equal(h.opcode, WS_OP_BINARY);
    assert_int_equal(h.payload_len, 256);
    assert_memory_equal(h.mask, "\x01\x02\x03\x04", 4);

    /* 64-bit: 65536 bytes, unmasked (RFC example). */
    const uint8_t h64[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_int_equal(ws_parse_header(h64, sizeof(h64), 0, NOLIMIT, &h), 10);
    assert_int_equal(h.payload_len, 65536);

    /* Large 64-bit value, all bytes significant. */
    const uint8_t big[] = {0x82, 0xFF, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 9, 9, 9, 9};
    assert_int_equal(ws_parse_header(big, sizeof(big), 1, NOLIMIT, &h), 14);
    assert_true(h.payload_len == 0x0123456789ABCDEFull);

    /* Top bit of the 64-bit length must be zero. */
    const uint8_t top[] = {0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ws_parse_header(top, sizeof(top), 0, NOLIMIT, &h), WS_ERR_PROTOCOL);

    /* Non-minimal encodings are accepted (documented choice). */
    const uint8_t nm16[] = {0x81, 0x7E, 0x00, 0x05};
    assert_int_equal(ws_parse_header(nm16, sizeof(nm16), 0, NOLIMIT, &h), 4);
    assert_int_equal(h.payload_len, 5);
    const uint8_t nm64[] = {0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(ws_parse_header(nm64, sizeof(nm64), 0, NOLIMIT, &h), 10);
    assert_int_equal(h.payload_len, 5);

    /* Zero-length frame. */
    const uint8_t empty[] = {0x81, 0x80, 1, 2, 3, 4};
    assert_int_equal(ws_parse_header(empty, sizeof(empty), 1, NOLIMIT, &h), 6);
    assert_int_equal(h.payload_len, 0);
}

/* Every proper prefix of a valid header is WS_INCOMPLETE and leaves *h
 * untouched; the whole header parses to its length. */
static void test_incomplete_every_split(void **st) {
    const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1ull << 40};
    const uint8_t mask[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
        for (int masked = 0; masked <= 1; masked++) {
            uint8_t buf[WS_MAX_HEADER + 4];
            size_t n = ws_write_header(buf, 1, WS_OP_BINARY, lens[li], masked ? mask : NULL);
            memset(buf + n, 0xEE, 4); /* payload bytes must not matter */
            for (size_t k = 0; k < n; k++) {
                ws_header h;
                memset(&h, 0x5A, sizeof(h));
                int r = ws_parse_header(buf, k, masked, NOLIMIT, &h);
                if (r != WS_INCOMPLETE)
                    fail_msg("len %llu masked %d prefix %zu: got %d", (unsigned long long)lens[li],
                             masked, k, r);
                assert_int_equal(h.fin, 0x5A5A5A5A);
            }
            ws_header h;
            assert_int_equal(ws_parse_header(buf, n, masked, NOLIMIT, &h), (int)n);
            assert_int_equal(ws_parse_header(buf, n + 4, masked, NOLIMIT, &h), (int)n);
            assert_true(h.payload_len == lens[li]);
        }
}

static void mask_ref(uint8_t *d, size_t len, const uint8_t m[4], uint64_t off) {
    for (size_t i = 0; i < len; i++)
        d[i] ^= m[(off + i) % 4];
}

static void test_mask_roundtrip_and_offsets(void **st) {
    enum { N = 1031 };
    uint8_t orig[N], a[N], b[N];
    const uint8_t m[4] = {0x12, 0x34, 0x56, 0x78};
    srand(1234);
    for (size_t i = 0; i < N; i++)
        orig[i] = (uint8_t)rand();

    /* Whole-buffer masking equals the byte-at-a-time reference, for every
     * length up to 40 and every starting offset (tail and word paths). */
    for (size_t len = 0; len <= 40; len++)
        for (uint64_t off = 0; off < 8; off++) {
            memcpy(a, orig, 48);
            memcpy(b, orig, 48);
            ws_mask(a, len, m, off);
            mask_ref(b, len, m, off);
            assert_memory_equal(a, b, 48); /* bytes past len untouched */
        }

    /* Masking in arbitrary pieces with running offsets equals one pass. */
    memcpy(a, orig, N);
    memcpy(b, orig, N);
    ws_mask(a, N, m, 0);
    size_t pos = 0, step = 1;
    while (pos < N) {
        size_t n = step < N - pos ? step : N - pos;
        ws_mask(b + pos, n, m, pos);
        pos += n;
        step = step * 3 % 17 + 1;
    }
    assert_memory_equal(a, b, N);
    assert_memory_not_equal(a, orig, N);

    /* Unmasking restores the data. */
    ws_mask(a, N, m, 0);
    assert_memory_equal(a, orig, N);

    /* Unaligned start pointers work too (memcpy-based word access). */
    memcpy(a, orig, N);
    memcpy(b, orig, N);
    ws_mask(a + 3, 100, m, 5);
    mask_ref(b + 3, 100, m, 5);
    assert_memory_equal(a, b, N);

    /* Huge offsets only matter modulo 4. */
    memcpy(a, orig, 64);
    memcpy(b, orig, 64);
    ws_mask(a, 64, m, (1ull << 40) + 2);
    mask_ref(b, 64, m, 2);
    assert_memory_equal(a, b, 64);
}

static void test_fragment_sequence(void **st) {
    /* "Hel" + "lo" + ping in between + "!" : text(fin=0) cont(fin=0) ping cont(fin=1). */
    uint8_t stream[128];
    size_t n = 0;
    const uint8_t m[4] = {9, 8, 7, 6};
    n += ws_write_header(stream + n, 0, WS_OP_TEXT, 3, m);
    memcpy(stream + n, "Hel", 3), ws_mask(stream + n, 3, m, 0), n += 3;
    n += ws_write_header(stream + n, 0, WS_OP_CONT, 2, m);
    memcpy(stream + n, "lo", 2), ws_mask(stream + n, 2, m, 0), n += 2;
    n += ws_write_header(stream + n, 1, WS_OP_PING, 0, m);
    n += ws_write_header(stream + n, 1, WS_OP_CONT, 1, m);
    memcpy(stream + n, "!", 1), ws_mask(stream + n, 1, m, 0), n += 1;

    const int want_fin[] = {0, 0, 1, 1};
    const int want_op[] = {WS_OP_TEXT, WS_OP_CONT, WS_OP_PING, WS_OP_CONT};
    char msg[16];
    size_t mlen = 0, pos = 0;
    for (int i = 0; i < 4; i++) {
        ws_header h;
        int r = ws_parse_header(stream + pos, n - pos, 1, 1 << 16, &h);
        assert_true(r > 0);
        assert_int_equal(h.fin, want_fin[i]);
        assert_int_equal(h.opcode, want_op[i]);
        pos += (size_t)r;
        ws_mask(stream + pos, h.payload_len, h.mask, 0);
        if (h.opcode == WS_OP_TEXT || h.opcode == WS_OP_CONT) {
            memcpy(msg + mlen, stream + pos, h.payload_len);
            mlen += h.payload_len;
        }
        pos += h.payload_len;
    }
    assert_int_equal(pos, n);
    assert_int_equal(mlen, 6);
    assert_memory_equal(msg, "Hello!", 6);
}

static void test_control_frames(void **st) {
    ws_header h;
    /* 125-byte ping is the largest allowed. */
    const uint8_t ping125[] = {0x89, 0x80 | 125, 0, 0, 0, 0};
    assert_int_equal(ws_parse_header(ping125, sizeof(ping125), 1, NOLIMIT, &h), 6);
    assert_int_equal(h.payload_len, 125);
    /* 126 bytes (16-bit form) is a violation, as is the 64-bit form. */
    const uint8_t ping126[] = {0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0};
    assert_int_equal(ws_parse_header(ping126, sizeof(ping126), 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
    const uint8_t close127[] = {0x88, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_int_equal(ws_parse_header(close127, sizeof(close127), 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
    /* ... detected from the first two bytes alone. */
    assert_int_equal(ws_parse_header(ping126, 2, 1, NOLIMIT, &h), WS_ERR_PROTOCOL);

    /* Fragmented control frames (FIN clear), detected from byte one. */
    const uint8_t ops[] = {WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
    for (size_t i = 0; i < 3; i++) {
        uint8_t f[] = {ops[i], 0x80, 1, 2, 3, 4};
        assert_int_equal(ws_parse_header(f, sizeof(f), 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
        assert_int_equal(ws_parse_header(f, 1, 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
        f[0] |= 0x80;
        assert_int_equal(ws_parse_header(f, sizeof(f), 1, NOLIMIT, &h), 6);
        assert_int_equal(h.opcode, ops[i]);
    }
}

static void test_reserved_bits_and_opcodes(void **st) {
    ws_header h;
    for (int bit = 0x10; bit <= 0x40; bit <<= 1) {
        uint8_t f[] = {(uint8_t)(0x81 | bit), 0x80, 1, 2, 3, 4};
        assert_int_equal(ws_parse_header(f, sizeof(f), 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
        assert_int_equal(ws_parse_header(f, 1, 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
    }
    for (int op = 0; op < 16; op++) {
        uint8_t f[] = {(uint8_t)(0x80 | op), 0x80, 1, 2, 3, 4};
        int known = op <= 2 || (op >= 8 && op <= 10);
        int r = ws_parse_header(f, sizeof(f), 1, NOLIMIT, &h);
        if (known)
            assert_int_equal(r, 6);
        else
            assert_int_equal(r, WS_ERR_PROTOCOL);
    }
}

static void test_mask_direction(void **st) {
    ws_header h;
    /* A client frame must be masked; a server frame must not be. */
    assert_int_equal(ws_parse_header(rfc_hello, sizeof(rfc_hello), 1, NOLIMIT, &h),
                     WS_ERR_PROTOCOL);
    assert_int_equal(ws_parse_header(rfc_masked_hello, sizeof(rfc_masked_hello), 0, NOLIMIT, &h),
                     WS_ERR_PROTOCOL);
    assert_int_equal(ws_parse_header(rfc_hello, 2, 1, NOLIMIT, &h), WS_ERR_PROTOCOL);
}

static void test_too_big(void **st) {
    ws_header h;
    uint8_t f[WS_MAX_HEADER];
    const uint8_t m[4] = {1, 2, 3, 4};
    size_t n = ws_write_header(f, 1, WS_OP_TEXT, 65536, m);
    assert_int_equal(ws_parse_header(f, n, 1, 65536, &h), (int)n);
    n = ws_write_header(f, 1, WS_OP_TEXT, 65537, m);
    assert_int_equal(ws_parse_header(f, n, 1, 65536, &h), WS_ERR_TOO_BIG);
    /* Reported as soon as the length is known, before the mask arrives. */
    assert_int_equal(ws_parse_header(f, 10, 1, 65536, &h), WS_ERR_TOO_BIG);
    n = ws_write_header(f, 1, WS_OP_BINARY, 100, m);
    assert_int_equal(ws_parse_header(f, n, 1, 99, &h), WS_ERR_TOO_BIG);
    assert_int_equal(ws_parse_header(f, n, 1, 100, &h), (int)n);
    /* Protocol errors win over size. */
    const uint8_t rsv_big[] = {0xC1, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_int_equal(ws_parse_header(rsv_big, sizeof(rsv_big), 1, 10, &h), WS_ERR_PROTOCOL);
}

static void test_write_header(void **st) {
    struct {
        uint64_t len;
        size_t hlen;
    } cases[] = {
        {0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {1ull << 32, 10},
    };
    const uint8_t m[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (int masked = 0; masked <= 1; masked++) {
            uint8_t out[WS_MAX_HEADER];
            size_t n = ws_write_header(out, i & 1, i & 1 ? WS_OP_BINARY : WS_OP_CONT, cases[i].len,
                                       masked ? m : NULL);
            assert_int_equal(n, cases[i].hlen + (masked ? 4 : 0));
            ws_header h;
            assert_int_equal(ws_parse_header(out, n, masked, NOLIMIT, &h), (int)n);
            assert_true(h.payload_len == cases[i].len);
            assert_int_equal(h.fin, (int)(i & 1));
            assert_int_equal(h.masked, masked);
            if (masked) assert_memory_equal(h.mask, m, 4);
        }
    uint8_t out[WS_MAX_HEADER];
    assert_int_equal(ws_write_header(out, 1, WS_OP_TEXT, 5, NULL), 2);
    assert_memory_equal(out, rfc_hello, 2);
}

static void test_close_payload_parse(void **st) {
    uint16_t code = 0;
    assert_int_equal(ws_parse_close(NULL, 0, &code), 0);
    assert_int_equal(code, 1005);
    assert_int_equal(ws_parse_close((const uint8_t *)"\x03", 1, &code), CHATD_EINVAL);

    const unsigned valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                              1011, 3000, 3999, 4000, 4001, 4002, 4999};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        uint8_t p[2] = {(uint8_t)(valid[i] >> 8), (uint8_t)valid[i]};
        code = 0;
        assert_int_equal(ws_parse_close(p, 2, &code), 0);
        assert_int_equal(code, valid[i]);
    }
    const unsigned invalid[] = {0,    1,    999,  1004, 1005, 1006, 1012,
                                1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        uint8_t p[2] = {(uint8_t)(invalid[i] >> 8), (uint8_t)invalid[i]};
        if (ws_parse_close(p, 2, &code) != CHATD_EINVAL)
            fail_msg("close code %u accepted", invalid[i]);
    }

    const uint8_t good_reason[] = "\x03\xE8"
                                  "bye \xE2\x82\xAC";
    assert_int_equal(ws_parse_close(good_reason, sizeof(good_reason) - 1, &code), 0);
    assert_int_equal(code, 1000);
    const uint8_t bad_reason[] = "\x03\xE8"
                                 "bye \xED\xA0\x80";
    assert_int_equal(ws_parse_close(bad_reason, sizeof(bad_reason) - 1, &code), CHATD_EUTF8);
    const uint8_t cut_reason[] = "\x03\xE8"
                                 "bye \xE2\x82";
    assert_int_equal(ws_parse_close(cut_reason, sizeof(cut_reason) - 1, &code), CHATD_EUTF8);
}

static void test_close_payload_build(void **st) {
    uint8_t out[125];
    uint16_t code = 0;
    size_t n = ws_close_payload(out, WS_CLOSE_AUTH, "Authentication failed");
    assert_int_equal(n, 2 + strlen("Authentication failed"));
    assert_int_equal(out[0], 3000 >> 8);
    assert_int_equal(out[1], 3000 & 0xFF);
    assert_memory_equal(out + 2, "Authentication failed", n - 2);
    assert_int_equal(ws_parse_close(out, n, &code), 0);
    assert_int_equal(code, 3000);

    assert_int_equal(ws_close_payload(out, 1000, NULL), 2);
    assert_int_equal(ws_close_payload(out, 0, "ignored"), 0);

    /* Long ASCII reason: cut at exactly 123 bytes. */
    char longr[300];
    memset(longr, 'x', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    assert_int_equal(ws_close_payload(out, 1000, longr), 125);

    /* Long multi-byte reason: cut on a character boundary, still valid. */
    char euros[301];
    for (int i = 0; i < 100; i++)
        memcpy(euros + 3 * i, "\xE2\x82\xAC", 3);
    euros[300] = '\0';
    n = ws_close_payload(out, 1001, euros);
    assert_int_equal(n, 2 + 123); /* 41 whole euros = 123 bytes */
    assert_int_equal(ws_parse_close(out, n, &code), 0);
    char mixed[301];
    mixed[0] = 'a';
    memcpy(mixed + 1, euros, 300);
    mixed[300] = '\0';
    n = ws_close_payload(out, 1001, mixed);
    assert_int_equal(n, 2 + 121); /* 'a' + 40 euros; the 41st would be cut */
    assert_true(utf8_valid(out + 2, n - 2));
    assert_int_equal(ws_parse_close(out, n, &code), 0);
}

/* A payload is framed in place, once, however many times it is sent. */
static void test_frame_text_in_place(void **st) {
    rcbuf *b = rcbuf_copy("hello", 5);
    char *payload = rcbuf_payload(b);
    assert_int_equal(ws_frame_text(b), 0);
    assert_int_equal(b->hdr, 2);
    assert_ptr_equal(rcbuf_wire(b) + 2, payload); /* no copy: the header went in front */
    assert_int_equal(rcbuf_wire_len(b), 7);
    assert_int_equal((uint8_t)rcbuf_wire(b)[0], 0x81);
    assert_int_equal((uint8_t)rcbuf_wire(b)[1], 5);
    assert_int_equal(ws_frame_text(b), 0); /* again: nothing changes */
    assert_int_equal(b->hdr, 2);
    rcbuf_unref(b);

    /* a 70000-byte payload takes a 10-byte header */
    b = rcbuf_new_room(RCBUF_ROOM, 70000);
    memset(rcbuf_payload(b), 'x', 70000);
    assert_int_equal(ws_frame_text(b), 0);
    ws_header h;
    assert_int_equal(
        ws_parse_header((uint8_t *)rcbuf_wire(b), rcbuf_wire_len(b), 0, UINT64_MAX, &h), 10);
    assert_int_equal(h.payload_len, 70000);
    rcbuf_unref(b);

    /* no room in front: refused, untouched */
    b = rcbuf_new(3);
    memcpy(b->data, "abc", 3);
    assert_int_equal(ws_frame_text(b), -1);
    assert_int_equal(b->hdr, 0);
    rcbuf_unref(b);
}

static void test_accept_key(void **st) {
    /* The worked example of RFC 6455 section 1.3. */
    char out[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    memset(out, 'Z', sizeof(out));
    ws_accept_key(key, strlen(key), out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

    /* Only key_len bytes are used. */
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==trailing", 24, out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ws_accept_key("x", 1, out);
    assert_int_equal(strlen(out), 28);
    assert_string_not_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rfc_examples),
        cmocka_unit_test(test_parse_lengths),
        cmocka_unit_test(test_incomplete_every_split),
        cmocka_unit_test(test_mask_roundtrip_and_offsets),
        cmocka_unit_test(test_fragment_sequence),
        cmocka_unit_test(test_control_frames),
        cmocka_unit_test(test_reserved_bits_and_opcodes),
        cmocka_unit_test(test_mask_direction),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_write_header),
        cmocka_unit_test(test_close_payload_parse),
        cmocka_unit_test(test_close_payload_build),
        cmocka_unit_test(test_frame_text_in_place),
        cmocka_unit_test(test_accept_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
