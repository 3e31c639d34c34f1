/*
 * session: the domain's view of one live WebSocket (chat or presence).
 * The transport (src/net + src/roles glue) embeds a session in each
 * connection and implements session_io; the domain never sees a socket.
 *
 * Lifetime: the transport keeps a session alive while its socket is open.
 * The domain calls io->hold before any asynchronous step that will come
 * back to the session (a store op) and io->release after it; a session
 * whose `closed` flag is set must not be sent to (sending is still safe).
 */
#ifndef CHATD_SESSION_H
#define CHATD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/rcbuf.h"

typedef struct session session;
typedef struct ch_user ch_user;

typedef struct session_io {
    void (*send)(session *s, rcbuf *frame); /* takes its own reference */
    void (*close)(session *s, uint16_t code, const char *reason);
    void (*hold)(session *s);
    void (*release)(session *s);
} session_io;

struct session {
    const session_io *io;
    ch_user *user;
    int presence; /* 1: /presence socket, 0: /chat socket */
    int closed;   /* set by domain_session_closed */
    int counted;  /* presence counts this socket (presence.c) */
    /* Frames are handled in the order they came. While the session waits
     * for something a later frame may depend on (a membership change to
     * commit, a cache refresh, a cluster presence socket to open), frames
     * are held here and handled when the wait ends (domain.c). */
    unsigned waits;
    struct held_frame *held, *held_tail; /* owned */
    size_t nheld, held_bytes;
    session *prev, *next; /* in the user's list for this endpoint */
    uint32_t mark;        /* fan-out de-duplication generation */
    /* rate limit (token bucket) */
    double tokens;
    uint64_t refill_ms;
    uint64_t abuse_start_ms, last_reject_ms;
    /* explicit presence subscriptions */
    ch_user **subs;
    size_t nsubs, subcap;
};

#endif
