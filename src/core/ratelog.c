/* ratelog: one log line per interval for repeatable events (ratelog.h). */
#include "core/ratelog.h"

#include "core/clock.h"

int ratelog_allow(ratelog *r, uint64_t interval_ms, uint64_t *held_back) {
    uint64_t now = clock_mono_ms();
    if (r->next_ms != 0 && now < r->next_ms) {
        r->suppressed++;
        return 0;
    }
    *held_back = r->suppressed;
    r->suppressed = 0;
    r->next_ms = now + interval_ms;
    return 1;
}
