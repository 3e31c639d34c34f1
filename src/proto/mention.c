/* mention: the @name scanner (see mention.h). */
#include "proto/mention.h"

static int name_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int mention_next(const char *s, size_t len, size_t *pos, size_t *name_off, size_t *name_len) {
    size_t i = *pos;
    while (i < len) {
        if (s[i] != '@' || (i > 0 && name_byte((unsigned char)s[i - 1]))) {
            i++;
            continue;
        }
        size_t start = i + 1, end = start;
        while (end < len && name_byte((unsigned char)s[end]))
            end++;
        size_t stop = end; /* scanning resumes after the whole run */
        while (end > start && (s[end - 1] == '.' || s[end - 1] == '-'))
            end--;
        i = stop;
        if (end > start) {
            *pos = stop;
            *name_off = start;
            *name_len = end - start;
            return 1;
        }
    }
    *pos = len;
    return 0;
}
