/*
 * ws: the RFC 6455 WebSocket frame codec (section 5), ours, in one file.
 *
 * Pure and non-allocating (in the style of picohttpparser): the parser
 * reads a frame header from bytes and says how many it consumed; the
 * caller owns every buffer. That is what lets the server pre-encode one
 * frame for thousands of recipients, and what makes the codec easy to
 * unit-test and fuzz.
 *
 * Server-side policy checks (client frames must be masked, control frames
 * <= 125 bytes and not fragmented, RSV bits zero, known opcodes) are done
 * by ws_parse_header when `from_client` is set; violations return
 * WS_ERR_PROTOCOL (close 1002).
 */
#ifndef CHATD_WS_H
#define CHATD_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes used by chatd (RFC 6455 section 7.4 + application codes). */
enum {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_BAD_DATA = 1007, /* invalid UTF-8 */
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_AUTH = 3000, /* /chat auth failure (compat) */
    WS_CLOSE_PRESENCE_NOTOKEN = 4001,
    WS_CLOSE_PRESENCE_BADTOKEN = 4002,
};

/* Parser results (negative). */
#define WS_INCOMPLETE CHATD_EINCOMPLETE /* need more bytes */
#define WS_ERR_PROTOCOL CHATD_EINVAL    /* RFC violation: close 1002 */
#define WS_ERR_TOO_BIG CHATD_ETOOBIG    /* payload length > max_payload: close 1009 */

typedef struct ws_header {
    int fin;              /* 1 when FIN bit set */
    int opcode;           /* WS_OP_* */
    int masked;           /* 1 when MASK bit set */
    uint8_t mask[4];      /* masking key when masked */
    uint64_t payload_len; /* payload length */
} ws_header;

/*
 * Parses one frame header from buf[0..len). On success returns the header
 * length (2..14) and fills *h; the payload follows. Returns WS_INCOMPLETE
 * when more bytes are needed, WS_ERR_PROTOCOL on a violation (reserved
 * bits, unknown opcode, control frame fragmented or > 125 bytes, a 64-bit
 * length with the top bit set, non-minimal length encoding is accepted),
 * WS_ERR_TOO_BIG when payload_len > max_payload. With from_client set, an
 * unmasked frame is WS_ERR_PROTOCOL; without it (client side parsing
 * server frames), a masked frame is WS_ERR_PROTOCOL.
 * Errors are reported as soon as the bytes showing them are present (a
 * bad first byte fails even when len == 1), so errors may come before
 * WS_INCOMPLETE would. *h is written only on success. Pass UINT64_MAX as
 * max_payload for no limit. Control-frame limits apply in both directions.
 */
int ws_parse_header(const uint8_t *buf, size_t len, int from_client, uint64_t max_payload,
                    ws_header *h);

/* XORs data[0..len) in place with mask; `offset` is the position of data[0]
 * within the frame payload (so a payload can be unmasked in pieces).
 * Masking twice with the same key and offset restores the data. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/*
 * Writes a frame header into out (needs WS_MAX_HEADER bytes) for a payload
 * of payload_len bytes and returns its length. mask NULL = unmasked (server
 * frames); otherwise the MASK bit and key are written and the caller must
 * ws_mask() the payload with the same key (client frames). The shortest
 * length encoding is used; payload_len must be < 2^63.
 */
#define WS_MAX_HEADER 14
size_t ws_write_header(uint8_t *out, int fin, int opcode, uint64_t payload_len,
                       const uint8_t *mask);

/*
 * Builds a close payload (2-byte code + reason) into out (>= 125 bytes);
 * reason (NULL = none) is truncated to fit 123 bytes, never inside a
 * UTF-8 character. Code 0 builds an empty payload ("no status"). Returns
 * the payload length (0 or 2..125).
 */
size_t ws_close_payload(uint8_t *out, uint16_t code, const char *reason);

/*
 * Validates a received close payload: empty is fine (code 1005 reported),
 * 1 byte is a protocol error, codes must be valid per RFC 6455 7.4.1
 * (1000-1003, 1007-1011, 3000-4999), reason must be UTF-8.
 * Returns 0 and sets *code, CHATD_EINVAL on a protocol violation, or
 * CHATD_EUTF8 for a reason that is not UTF-8.
 */
int ws_parse_close(const uint8_t *payload, size_t len, uint16_t *code);

/* Frames a text payload in place, once: writes the header into the room
 * kept in front of it (rcbuf.h). Framing it again does nothing. 0, or -1
 * when there is not enough room (nothing changed then). */
struct rcbuf;
int ws_frame_text(struct rcbuf *b);

/* true when a Sec-WebSocket-Key is what RFC 6455 4.1 requires: the base64
 * encoding of 16 bytes (24 characters), else 0. */
bool ws_key_valid(const char *key, size_t len);

/* Computes Sec-WebSocket-Accept for a client key: writes 28 chars + NUL
 * (base64 of SHA-1(key + RFC GUID)). If OpenSSL fails, writes "" (which
 * matches no key, so the handshake fails rather than being accepted). */
void ws_accept_key(const char *client_key, size_t key_len, char out[29]);

#endif
