/*
 * rcbuf: an immutable, reference-counted byte buffer.
 *
 * This is the heart of "encode once, send many": a server frame's payload
 * is encoded exactly once into an rcbuf, framed in place exactly once by
 * the transport (the header goes into room kept in front of the payload:
 * no copy), and every recipient's write queue holds a reference to the
 * same bytes. The count is not atomic: rcbufs live on the event-loop
 * thread only.
 *
 * Layout: data[0 .. head) is room for a transport header, of which the
 * last `hdr` bytes are written once the buffer is framed; the payload is
 * data[head .. head + len). A plain buffer has head = hdr = 0.
 */
#ifndef CHATD_RCBUF_H
#define CHATD_RCBUF_H

#include <stddef.h>
#include <stdint.h>

/* Room a payload keeps for a transport header (a WebSocket header is at
 * most 14 bytes). */
#define RCBUF_ROOM 16

typedef struct rcbuf {
    unsigned refs;
    uint16_t head; /* room before the payload */
    uint16_t hdr;  /* header bytes written at the end of that room (0: not framed) */
    size_t len;    /* payload bytes */
    char data[];
} rcbuf;

/* New buffer of len payload bytes (uninitialised), no room, refcount 1.
 * Aborts on OOM. */
rcbuf *rcbuf_new(size_t len);
/* The same with `room` bytes kept in front of the payload. */
rcbuf *rcbuf_new_room(size_t room, size_t len);
/* New buffer holding a copy of data[0..len), with RCBUF_ROOM in front.
 * Refcount 1. */
rcbuf *rcbuf_copy(const void *data, size_t len);
static inline rcbuf *rcbuf_ref(rcbuf *b) {
    b->refs++;
    return b;
}
/* Drops one reference; frees at zero. NULL is ignored. */
void rcbuf_unref(rcbuf *b);

/* The payload. */
static inline char *rcbuf_payload(rcbuf *b) {
    return b->data + b->head;
}
/* What goes on the wire: the header written in front (if any), then the
 * payload. */
static inline char *rcbuf_wire(rcbuf *b) {
    return b->data + b->head - b->hdr;
}
static inline size_t rcbuf_wire_len(const rcbuf *b) {
    return b->hdr + b->len;
}

#endif
