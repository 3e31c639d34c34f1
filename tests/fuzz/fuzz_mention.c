/*
 * libFuzzer target for mention_next: arbitrary bytes. Every mention found
 * must lie inside the input, follow an '@' that starts the text or follows
 * a non-name byte, consist of name bytes only, not end in '.' or '-', and
 * the scan must always move forward and end.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proto/mention.h"

static int name_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    size_t pos = 0, off, len, prev = 0;
    while (mention_next(s, size, &pos, &off, &len)) {
        if (off == 0 || off + len > size || len == 0 || pos <= prev || pos > size) abort();
        if (s[off - 1] != '@' || off - 1 < prev) abort();
        if (off >= 2 && name_byte((unsigned char)s[off - 2])) abort();
        for (size_t i = 0; i < len; i++)
            if (!name_byte((unsigned char)s[off + i])) abort();
        if (s[off + len - 1] == '.' || s[off + len - 1] == '-') abort();
        prev = pos;
    }
    if (pos != size) abort();
    return 0;
}
