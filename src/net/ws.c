/*
 * ws: the RFC 6455 section 5 frame codec (see ws.h for the contract).
 *
 * Everything here works on caller-owned memory and never allocates (except
 * ws_accept_key, once per handshake, inside OpenSSL): the server frames a
 * message once and shares the bytes, and the fuzzer can drive the parser
 * with arbitrary input.
 */
#include "net/ws.h"

#include "core/rcbuf.h"
#include "core/utf8.h"

#include <openssl/evp.h>
#include <string.h>

static int ws_known_opcode(int op) {
    switch (op) {
    case WS_OP_CONT:
    case WS_OP_TEXT:
    case WS_OP_BINARY:
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        return 1;
    default:
        return 0;
    }
}

/*
 * Violations are reported as soon as the bytes that show them are present
 * (a bad first byte fails with len == 1), so a server can drop a bad peer
 * without waiting for the rest of the header.
 */
int ws_parse_header(const uint8_t *buf, size_t len, int from_client, uint64_t max_payload,
                    ws_header *h) {
    if (len < 1) return WS_INCOMPLETE;

    uint8_t b0 = buf[0];
    int fin = b0 >> 7;
    int opcode = b0 & 0x0F;
    int control = (opcode & 0x08) != 0;
    if (b0 & 0x70) /* RSV1..3: no extension is negotiated */
        return WS_ERR_PROTOCOL;
    if (!ws_known_opcode(opcode)) return WS_ERR_PROTOCOL;
    if (control && !fin) return WS_ERR_PROTOCOL;
    if (len < 2) return WS_INCOMPLETE;

    uint8_t b1 = buf[1];
    int masked = b1 >> 7;
    uint64_t plen = b1 & 0x7F;
    if (masked != (from_client != 0)) return WS_ERR_PROTOCOL;
    if (control && plen > 125) return WS_ERR_PROTOCOL;

    size_t pos = 2;
    if (plen == 126) {
        if (len < 4) return WS_INCOMPLETE;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        pos = 4;
    } else if (plen == 127) {
        if (len < 10) return WS_INCOMPLETE;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        if (plen >> 63) return WS_ERR_PROTOCOL;
        pos = 10;
    }
    if (plen > max_payload) return WS_ERR_TOO_BIG;

    if (masked) {
        if (len < pos + 4) return WS_INCOMPLETE;
        memcpy(h->mask, buf + pos, 4);
        pos += 4;
    } else {
        memset(h->mask, 0, 4);
    }
    h->fin = fin;
    h->opcode = opcode;
    h->masked = masked;
    h->payload_len = plen;
    return (int)pos;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset) {
    /* Rotate the key so key[0] applies to data[0]; eight bytes are two
     * whole key periods, so the phase is the same after each word. */
    uint8_t key[8];
    for (int i = 0; i < 8; i++)
        key[i] = mask[(offset + (uint64_t)i) & 3];

    uint64_t k;
    memcpy(&k, key, 8);
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= k;
        memcpy(data + i, &w, 8);
    }
    for (size_t j = 0; i < len; i++, j++)
        data[i] ^= key[j];
}

size_t ws_write_header(uint8_t *out, int fin, int opcode, uint64_t payload_len,
                       const uint8_t *mask) {
    size_t n = 0;
    uint8_t mbit = mask ? 0x80 : 0;

    out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
    if (payload_len <= 125) {
        out[n++] = (uint8_t)(mbit | payload_len);
    } else if (payload_len <= 0xFFFF) {
        out[n++] = mbit | 126;
        out[n++] = (uint8_t)(payload_len >> 8);
        out[n++] = (uint8_t)payload_len;
    } else {
        out[n++] = mbit | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(payload_len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

size_t ws_close_payload(uint8_t *out, uint16_t code, const char *reason) {
    if (code == 0) return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;

    size_t n = reason ? strlen(reason) : 0;
    if (n > 123) {
        n = 123;
        /* Do not cut a multi-byte character in half: back up to the
         * lead byte of the character that would be split. */
        while (n > 0 && ((uint8_t)reason[n] & 0xC0) == 0x80)
            n--;
    }
    if (n) memcpy(out + 2, reason, n);
    return 2 + n;
}

static int ws_close_code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

int ws_parse_close(const uint8_t *payload, size_t len, uint16_t *code) {
    if (len == 0) {
        *code = 1005; /* "no status received" */
        return 0;
    }
    if (len == 1 || len > 125) return CHATD_EINVAL;
    unsigned c = (unsigned)payload[0] << 8 | payload[1];
    if (!ws_close_code_valid(c)) return CHATD_EINVAL;
    if (!utf8_valid(payload + 2, len - 2)) return CHATD_EUTF8;
    *code = (uint16_t)c;
    return 0;
}

void ws_accept_key(const char *client_key, size_t key_len, char out[29]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int ok = 0;

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, client_key, key_len) == 1 &&
        EVP_DigestUpdate(ctx, guid, sizeof(guid) - 1) == 1 &&
        EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 20)
        ok = 1;
    EVP_MD_CTX_free(ctx);

    if (!ok) {
        out[0] = '\0'; /* never matches a real key: the handshake fails */
        return;
    }
    EVP_EncodeBlock((unsigned char *)out, digest, 20); /* 28 chars + NUL */
}

bool ws_key_valid(const char *key, size_t len) {
    /* base64 of 16 bytes: 22 significant characters, the last one carrying
     * only 2 bits (so one of A, Q, g, w), then "==". */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (len != 24 || key[22] != '=' || key[23] != '=') return 0;
    for (size_t i = 0; i < 22; i++)
        if (!key[i] || !strchr(alphabet, key[i])) return 0;
    return strchr("AQgw", key[21]) != NULL;
}

int ws_frame_text(rcbuf *b) {
    if (b->hdr) return 0;
    uint8_t hdr[WS_MAX_HEADER];
    size_t n = ws_write_header(hdr, 1, WS_OP_TEXT, b->len, NULL);
    if (n > b->head) return -1;
    memcpy(b->data + b->head - n, hdr, n);
    b->hdr = (uint16_t)n;
    return 0;
}
