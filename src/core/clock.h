/*
 * clock: the two clocks the server needs, in milliseconds.
 *
 * Wall-clock time (CLOCK_REALTIME) is what goes into Snowflake ids, JWT
 * iat/exp and created_at fields; it may jump. Monotonic time
 * (CLOCK_MONOTONIC) is for measuring intervals (timeouts, throttles,
 * latencies) and never goes backwards.
 */
#ifndef CHATD_CLOCK_H
#define CHATD_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_now_ms(void);

/* Milliseconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
uint64_t clock_mono_ms(void);

#endif
