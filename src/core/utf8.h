/*
 * utf8: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF). Used for WebSocket text frames (close 1007) and
 * for message content.
 */
#ifndef CHATD_UTF8_H
#define CHATD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when s[0..len) is entirely valid UTF-8. */
bool utf8_valid(const uint8_t *s, size_t len);

/* Incremental validator for fragmented text messages. Start with state 0;
 * feed chunks (a character may be split across them); returns 0 while
 * still valid, -1 at the first invalid byte. After -1 the state stays
 * invalid (further feeds return -1, *state != 0). At message end, the
 * message is valid iff *state == 0 (no partial character pending). */
int utf8_feed(uint32_t *state, const uint8_t *s, size_t len);

#endif
