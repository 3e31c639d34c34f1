/*
 * snowflake: 64-bit, time-ordered, cluster-unique message ids.
 *
 * Layout (most significant first):
 *   1 bit  zero (ids are positive as signed 64-bit integers)
 *   41 bits milliseconds since the Unix epoch (no custom epoch; good until 2039)
 *   10 bits node id (0..1023, from service discovery)
 *   12 bits per-millisecond sequence (0..4095)
 *
 * A generator never hands out the same or a smaller id twice: if the wall
 * clock goes backwards it keeps using the last millisecond it saw, and if
 * the 4096 ids of one millisecond are used up it borrows the next
 * millisecond (so the embedded time may run slightly ahead of the clock).
 *
 * Not thread-safe: use one generator per event-loop thread. Ids are still
 * unique across generators only if their node ids differ.
 */
#ifndef CHATD_SNOWFLAKE_H
#define CHATD_SNOWFLAKE_H

#include <stdint.h>

#define SNOWFLAKE_NODE_BITS 10
#define SNOWFLAKE_SEQ_BITS 12
#define SNOWFLAKE_MAX_NODE ((1u << SNOWFLAKE_NODE_BITS) - 1)
#define SNOWFLAKE_MAX_SEQ ((1u << SNOWFLAKE_SEQ_BITS) - 1)

typedef struct snowflake {
    unsigned node;   /* 0..1023 */
    int64_t last_ms; /* millisecond of the last id handed out (-1: none yet) */
    unsigned seq;    /* sequence of the last id handed out */
} snowflake;

/* Initialise a generator; node_id is masked to 10 bits. */
void snowflake_init(snowflake *s, unsigned node_id /* 0..1023 */);

/* Next id, given the current wall-clock time (clock_now_ms()). Always
 * strictly greater than the previous id from the same generator. */
uint64_t snowflake_next(snowflake *s, int64_t now_ms);

/* Makes every later id from s greater than id (which another generator
 * handed out): a cluster keeps a channel's ids in commit order with it. */
void snowflake_skip_past(snowflake *s, uint64_t id);

/* Milliseconds since the Unix epoch embedded in an id. */
int64_t snowflake_time_ms(uint64_t id);

/* Node id embedded in an id. */
unsigned snowflake_node(uint64_t id);

#endif
