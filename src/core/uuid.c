/*
 * uuid: RFC 4122 version 4 UUIDs from 122 random bits.
 */
#include "core/uuid.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

void uuid_v4(char out[37]) {
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    char *p = out;

    /* Idempotent and thread-safe. Failing means no usable CSPRNG; ids
     * from a weak source would be worse than stopping. */
    if (sodium_init() < 0) abort();
    randombytes_buf(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10xx (RFC 4122) */

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0x0f];
    }
    *p = '\0';
}
