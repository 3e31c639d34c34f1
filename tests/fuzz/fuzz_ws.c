/*
 * libFuzzer target for the WebSocket codec: consumes the input exactly as
 * the server consumes a client's byte stream (header, unmask, reassemble,
 * UTF-8 check, close payload), and cross-checks the codec against itself:
 *  - re-encoding a parsed header and parsing it again gives the same header;
 *  - every proper prefix of a header is WS_INCOMPLETE (resumability);
 *  - unmasking in two pieces equals unmasking at once;
 *  - utf8_feed over fragments agrees with utf8_valid over the whole message.
 * Any disagreement aborts, so libFuzzer reports it as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "net/ws.h"

#define FUZZ_MAX_MSG (64 * 1024)

#define CHECK(x)         \
    do {                 \
        if (!(x))        \
            abort();     \
    } while (0)

static void check_header_roundtrip(const uint8_t *buf, int hlen, const ws_header *h)
{
    uint8_t out[WS_MAX_HEADER];
    ws_header h2;
    size_t n = ws_write_header(out, h->fin, h->opcode, h->payload_len, h->mask);
    CHECK(n <= (size_t)hlen); /* ours is minimal; the input may not be */
    CHECK(ws_parse_header(out, n, 1, FUZZ_MAX_MSG, &h2) == (int)n);
    CHECK(h2.fin == h->fin && h2.opcode == h->opcode && h2.masked == 1);
    CHECK(h2.payload_len == h->payload_len && memcmp(h2.mask, h->mask, 4) == 0);
    for (int k = 0; k < hlen; k++) {
        int r = ws_parse_header(buf, (size_t)k, 1, FUZZ_MAX_MSG, &h2);
        CHECK(r == WS_INCOMPLETE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    uint8_t *msg = malloc(FUZZ_MAX_MSG + 1);
    if (!buf || !msg)
        abort();
    memcpy(buf, data, size);

    size_t pos = 0, msg_len = 0;
    int msg_op = 0; /* opcode of the fragmented message in progress, 0 = none */
    uint32_t utf8_state = 0;

    while (pos < size) {
        ws_header h;
        int r = ws_parse_header(buf + pos, size - pos, 1, FUZZ_MAX_MSG, &h);
        if (r < 0)
            break; /* incomplete, or the server would close */
        CHECK(r >= 2 && r <= WS_MAX_HEADER && h.masked);
        check_header_roundtrip(buf + pos, r, &h);
        if (h.payload_len > size - pos - (size_t)r)
            break; /* payload not all here yet */
        pos += (size_t)r;

        uint8_t *p = buf + pos;
        size_t plen = (size_t)h.payload_len;
        pos += plen;

        /* Unmask in two pieces and compare with a one-shot unmask. */
        uint8_t *copy = malloc(plen ? plen : 1);
        if (!copy)
            abort();
        memcpy(copy, p, plen);
        size_t split = plen ? data[0] % (plen + 1) : 0;
        ws_mask(p, split, h.mask, 0);
        ws_mask(p + split, plen - split, h.mask, split);
        ws_mask(copy, plen, h.mask, 0);
        CHECK(memcmp(copy, p, plen) == 0);
        free(copy);

        if (h.opcode & 0x08) { /* control frame */
            CHECK(h.fin && plen <= 125);
            if (h.opcode == WS_OP_CLOSE) {
                uint16_t code = 0;
                if (ws_parse_close(p, plen, &code) == 0) {
                    CHECK(code == 1005 || (code >= 1000 && code <= 4999));
                    /* Rebuilding the payload gives back the same bytes. */
                    if (plen >= 2) {
                        char reason[124];
                        uint8_t out[125];
                        memcpy(reason, p + 2, plen - 2);
                        reason[plen - 2] = '\0';
                        if (strlen(reason) == plen - 2) {
                            CHECK(ws_close_payload(out, code, reason) == plen);
                            CHECK(memcmp(out, p, plen) == 0);
                        }
                    }
                }
                break; /* nothing is read after a close */
            }
            continue;
        }

        if (h.opcode == WS_OP_CONT) {
            if (!msg_op)
                break; /* continuation without a start: close 1002 */
        } else {
            if (msg_op)
                break; /* new message inside a fragmented one: close 1002 */
            msg_op = h.opcode;
            msg_len = 0;
            utf8_state = 0;
        }
        if (plen > FUZZ_MAX_MSG - msg_len)
            break; /* reassembled message too big: close 1009 */
        memcpy(msg + msg_len, p, plen);
        msg_len += plen;

        int bad = 0;
        if (msg_op == WS_OP_TEXT)
            bad = utf8_feed(&utf8_state, p, plen) < 0;
        if (bad) {
            /* Invalid UTF-8 may be caught early; the whole-message check
             * must agree once more bytes can only make it worse. */
            CHECK(!utf8_valid(msg, msg_len));
            break; /* close 1007 */
        }
        if (h.fin) {
            if (msg_op == WS_OP_TEXT) {
                int ok = utf8_state == 0;
                CHECK(ok == utf8_valid(msg, msg_len));
                if (!ok)
                    break; /* close 1007 */
            }
            msg_op = 0;
        }
    }

    free(msg);
    free(buf);
    return 0;
}
