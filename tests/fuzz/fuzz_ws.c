/*
 * libFuzzer target for the WebSocket frame codec (src/net/ws.c) on its
 * own: reads the input as a stream of client frames and cross-checks the
 * codec against itself:
 *  - re-encoding a parsed header and parsing it again gives the same header;
 *  - every proper prefix of a header is WS_INCOMPLETE (resumability);
 *  - unmasking in two pieces equals unmasking at once;
 *  - a valid close payload is rebuilt byte for byte by ws_close_payload.
 * Any disagreement aborts, so libFuzzer reports it as a crash. The
 * connection's reassembly and UTF-8 rules are fuzzed through the real
 * connection core by fuzz_wire.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws.h"

#define FUZZ_MAX_MSG (64 * 1024)

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) abort();                                                                         \
    } while (0)

static void check_header_roundtrip(const uint8_t *buf, int hlen, const ws_header *h) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) abort();
    memcpy(buf, data, size);

    size_t pos = 0;

    while (pos < size) {
        ws_header h;
        int r = ws_parse_header(buf + pos, size - pos, 1, FUZZ_MAX_MSG, &h);
        if (r < 0) break; /* incomplete, or the server would close */
        CHECK(r >= 2 && r <= WS_MAX_HEADER && h.masked);
        check_header_roundtrip(buf + pos, r, &h);
        if (h.payload_len > size - pos - (size_t)r) break; /* payload not all here yet */
        pos += (size_t)r;

        uint8_t *p = buf + pos;
        size_t plen = (size_t)h.payload_len;
        pos += plen;

        /* Unmask in two pieces and compare with a one-shot unmask. */
        uint8_t *copy = malloc(plen ? plen : 1);
        if (!copy) abort();
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

        /* Data frames: reassembly and UTF-8 rules are the connection
         * core's (fuzz_wire.c drives the real one). */
    }

    free(buf);
    return 0;
}
