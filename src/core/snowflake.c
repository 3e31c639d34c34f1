/*
 * snowflake: see snowflake.h for the layout. The only subtle part is
 * keeping ids strictly increasing when the wall clock misbehaves.
 */
#include "core/snowflake.h"

#define SNOWFLAKE_TIME_SHIFT (SNOWFLAKE_NODE_BITS + SNOWFLAKE_SEQ_BITS)
#define SNOWFLAKE_TIME_MASK ((UINT64_C(1) << 41) - 1)

void snowflake_init(snowflake *s, unsigned node_id) {
    s->node = node_id & SNOWFLAKE_MAX_NODE;
    s->last_ms = -1;
    s->seq = 0;
}

uint64_t snowflake_next(snowflake *s, int64_t now_ms) {
    if (now_ms > s->last_ms) {
        s->last_ms = now_ms;
        s->seq = 0;
    } else if (s->seq < SNOWFLAKE_MAX_SEQ) {
        /* Same millisecond, or the clock went backwards: keep last_ms. */
        s->seq++;
    } else {
        /* 4096 ids used in this millisecond: borrow the next one. */
        s->last_ms++;
        s->seq = 0;
    }
    return (((uint64_t)s->last_ms & SNOWFLAKE_TIME_MASK) << SNOWFLAKE_TIME_SHIFT) |
           ((uint64_t)s->node << SNOWFLAKE_SEQ_BITS) | s->seq;
}

void snowflake_skip_past(snowflake *s, uint64_t id) {
    int64_t ms = snowflake_time_ms(id);
    if (ms >= s->last_ms) { /* the next id takes a later millisecond */
        s->last_ms = ms;
        s->seq = SNOWFLAKE_MAX_SEQ;
    }
}

int64_t snowflake_time_ms(uint64_t id) {
    return (int64_t)((id >> SNOWFLAKE_TIME_SHIFT) & SNOWFLAKE_TIME_MASK);
}

unsigned snowflake_node(uint64_t id) {
    return (unsigned)((id >> SNOWFLAKE_SEQ_BITS) & SNOWFLAKE_MAX_NODE);
}
