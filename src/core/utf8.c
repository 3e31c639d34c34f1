/*
 * utf8: strict UTF-8 validation (RFC 3629), one byte-range table walked by
 * a tiny state machine, with an 8-bytes-at-a-time ASCII fast path (chat
 * text is mostly ASCII).
 *
 * The incremental state packs what the next byte must look like:
 *   bits 16..23  continuation bytes still needed (1..3); 0 = at a boundary
 *   bits  8..15  lowest allowed value for the next byte
 *   bits  0..7   highest allowed value for the next byte
 * Tightened ranges on the second byte are what reject overlongs (E0, F0),
 * surrogates (ED) and code points past U+10FFFF (F4).
 */
#include "core/utf8.h"

#include <string.h>

#define UTF8_BAD 0xFFFFFFFFu /* sticky: once invalid, always invalid */

static uint32_t utf8_state(uint32_t need, uint32_t lo, uint32_t hi) {
    return need << 16 | lo << 8 | hi;
}

/* State after a lead byte >= 0x80, or 0 when c cannot start a character. */
static uint32_t utf8_lead(uint8_t c) {
    if (c >= 0xC2 && c <= 0xDF) return utf8_state(1, 0x80, 0xBF);
    if (c == 0xE0) return utf8_state(2, 0xA0, 0xBF); /* no overlong 3-byte forms */
    if (c == 0xED) return utf8_state(2, 0x80, 0x9F); /* no surrogates U+D800..DFFF */
    if (c >= 0xE1 && c <= 0xEF) return utf8_state(2, 0x80, 0xBF);
    if (c == 0xF0) return utf8_state(3, 0x90, 0xBF); /* no overlong 4-byte forms */
    if (c >= 0xF1 && c <= 0xF3) return utf8_state(3, 0x80, 0xBF);
    if (c == 0xF4) return utf8_state(3, 0x80, 0x8F); /* nothing past U+10FFFF */
    return 0; /* 80..C1 (continuation, overlong 2-byte), F5..FF */
}

int utf8_feed(uint32_t *state, const uint8_t *s, size_t len) {
    uint32_t st = *state;
    size_t i = 0;

    if (st == UTF8_BAD) return -1;
    while (i < len) {
        if (st == 0) {
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & 0x8080808080808080ull) break;
                i += 8;
            }
            if (i == len) break;
            uint8_t c = s[i++];
            if (c < 0x80) continue;
            st = utf8_lead(c);
            if (st == 0) goto bad;
        } else {
            uint8_t c = s[i++];
            uint32_t need = st >> 16, lo = (st >> 8) & 0xFF, hi = st & 0xFF;
            if (c < lo || c > hi) goto bad;
            st = need > 1 ? utf8_state(need - 1, 0x80, 0xBF) : 0;
        }
    }
    *state = st;
    return 0;
bad:
    *state = UTF8_BAD;
    return -1;
}

bool utf8_valid(const uint8_t *s, size_t len) {
    uint32_t st = 0;
    return utf8_feed(&st, s, len) == 0 && st == 0;
}
