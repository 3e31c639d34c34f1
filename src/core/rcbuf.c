/*
 * rcbuf: immutable, reference-counted byte buffers (see rcbuf.h).
 *
 * One allocation per buffer: the header, the room and the bytes are
 * contiguous, so a frame shared by thousands of recipients costs one malloc
 * and one free.
 */
#include "core/rcbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rcbuf *rcbuf_new_room(size_t room, size_t len) {
    if (room > UINT16_MAX || len > SIZE_MAX - sizeof(rcbuf) - room) {
        fprintf(stderr, "rcbuf_new: size overflow (%zu bytes)\n", len);
        abort();
    }
    rcbuf *b = malloc(sizeof(rcbuf) + room + len);
    if (!b) {
        fprintf(stderr, "rcbuf_new: out of memory (%zu bytes)\n", len);
        abort();
    }
    b->refs = 1;
    b->head = (uint16_t)room;
    b->hdr = 0;
    b->len = len;
    return b;
}

rcbuf *rcbuf_new(size_t len) {
    return rcbuf_new_room(0, len);
}

rcbuf *rcbuf_copy(const void *data, size_t len) {
    rcbuf *b = rcbuf_new_room(RCBUF_ROOM, len);
    if (len) memcpy(rcbuf_payload(b), data, len);
    return b;
}

void rcbuf_unref(rcbuf *b) {
    if (!b) return;
    if (--b->refs == 0) free(b);
}
