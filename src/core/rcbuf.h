/*
 * rcbuf: an immutable, reference-counted byte buffer.
 *
 * This is the heart of "encode once, send many": a server frame is encoded
 * and WebSocket-framed exactly once into an rcbuf, and every recipient's
 * write queue holds a reference to the same bytes. The count is not atomic:
 * rcbufs live on the event-loop thread only.
 */
#ifndef CHATD_RCBUF_H
#define CHATD_RCBUF_H

#include <stddef.h>

typedef struct rcbuf {
    unsigned refs;
    size_t len;
    char data[]; /* len bytes follow */
} rcbuf;

/* New buffer of len bytes (uninitialised), refcount 1. Aborts on OOM. */
rcbuf *rcbuf_new(size_t len);
/* New buffer holding a copy of data[0..len). Refcount 1. */
rcbuf *rcbuf_copy(const void *data, size_t len);
static inline rcbuf *rcbuf_ref(rcbuf *b) { b->refs++; return b; }
/* Drops one reference; frees at zero. NULL is ignored. */
void rcbuf_unref(rcbuf *b);

#endif
