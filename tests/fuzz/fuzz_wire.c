/*
 * libFuzzer target for the connection's protocol core (src/net/wire.c),
 * driven exactly as conn.c drives it: bytes fed in chunks, events pulled
 * one at a time, requests answered (wire_http_done) and upgrades accepted
 * (wire_upgraded) as a server would. The first input byte picks the
 * chunking and whether the stream starts with a valid upgrade (to reach
 * WebSocket framing at once) or is parsed as HTTP from the first byte.
 *
 * Checked, any failure aborting (a crash for libFuzzer):
 *  - every text message is valid UTF-8 and within the size cap; control
 *    payloads are at most 125 bytes;
 *  - nothing comes after a terminal event (bad request, violation, close);
 *  - the bytes the wire keeps stay under its cap;
 *  - resumability: the same input fed in one piece and fed in chunks gives
 *    the same events with the same payloads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "net/wire.h"
#include "net/ws.h"

#define MAX_MSG 4096
#define MAX_EVENTS 4096

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) abort();                                                                         \
    } while (0)

typedef struct trace {
    int kinds[MAX_EVENTS];
    uint32_t sums[MAX_EVENTS]; /* payload checksum */
    size_t lens[MAX_EVENTS];
    int n;
} trace;

static uint32_t sum(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static const char UPGRADE[] =
    "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

/* Feeds data[0..len) in chunks of `chunk` bytes (0 = at once). */
static void run(const uint8_t *data, size_t len, size_t chunk, trace *t) {
    wire w;
    wire_init(&w, MAX_MSG);
    int ended = 0;
    t->n = 0;
    size_t off = 0;
    while (off < len) {
        size_t n = chunk ? (len - off < chunk ? len - off : chunk) : len;
        char *piece = malloc(n);
        if (!piece) abort();
        memcpy(piece, data + off, n);
        off += n;
        if (wire_feed(&w, piece, n) != 0) { /* over the cap: the server drops it */
            free(piece);
            break;
        }
        wire_event ev;
        while (wire_next(&w, &ev) != WIRE_IDLE) {
            CHECK(!ended);
            CHECK(t->n < MAX_EVENTS);
            t->kinds[t->n] = ev.kind;
            t->lens[t->n] = ev.len;
            t->sums[t->n] = ev.data ? sum(ev.data, ev.len) : 0;
            t->n++;
            switch (ev.kind) {
            case WIRE_REQUEST:
                wire_http_done(&w);
                break;
            case WIRE_UPGRADE:
                wire_upgraded(&w);
                break;
            case WIRE_TEXT:
                CHECK(ev.len <= MAX_MSG);
                CHECK(utf8_valid((const uint8_t *)ev.data, ev.len));
                break;
            case WIRE_PING:
            case WIRE_PONG:
                CHECK(ev.len <= 125);
                break;
            case WIRE_BAD_REQUEST:
            case WIRE_VIOLATION:
            case WIRE_CLOSE:
                ended = 1;
                break;
            default:
                break;
            }
        }
        int kept = wire_keep_rest(&w);
        free(piece);
        if (kept != 0) break;
        CHECK(wire_buffered(&w) <= 2 * (MAX_MSG + WS_MAX_HEADER + HTTP_MAX_HEAD + HTTP_MAX_BODY) +
                                       sizeof(http_req) + MAX_MSG);
    }
    wire_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    size_t body = size - 1;
    size_t pre = (mode & 1) ? sizeof(UPGRADE) - 1 : 0;
    uint8_t *in = malloc(pre + body + 1);
    if (!in) abort();
    memcpy(in, UPGRADE, pre);
    memcpy(in + pre, data + 1, body);
    size_t len = pre + body;

    static trace whole, pieces;
    run(in, len, 0, &whole);
    run(in, len, 1 + (mode >> 1), &pieces); /* chunks of 1..128 bytes */
    /* Resumable: the same events, unless the piecewise run was cut short
     * by the buffer cap (then its events are a prefix). */
    CHECK(pieces.n <= whole.n);
    for (int i = 0; i < pieces.n; i++) {
        CHECK(pieces.kinds[i] == whole.kinds[i]);
        CHECK(pieces.lens[i] == whole.lens[i]);
        CHECK(pieces.sums[i] == whole.sums[i]);
    }
    free(in);
    return 0;
}
