/*
 * ratelog: at most one log line per interval for an event an outsider can
 * repeat at will (a forged bus record, a rogue znode, a Redis that keeps
 * refusing our password). Without it, whoever can trigger the event can
 * fill the disk through our log. The events in between are counted, and
 * the next line that is allowed says how many were held back.
 *
 * Plain data, zero-initialised; not thread-safe (one per thread, in
 * practice the loop thread).
 */
#ifndef CHATD_RATELOG_H
#define CHATD_RATELOG_H

#include <stdint.h>

typedef struct ratelog {
    uint64_t next_ms;    /* clock_mono_ms() from which the next line may go */
    uint64_t suppressed; /* events held back since the last line */
} ratelog;

/* 1: log now (*held_back = events held back since the last line, reset to
 * 0); 0: stay quiet (the event is counted). */
int ratelog_allow(ratelog *r, uint64_t interval_ms, uint64_t *held_back);

#endif
