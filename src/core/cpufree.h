/*
 * cpufree: how much of the machine's CPU went unused lately — for
 * background work that should only take CPU nobody else wants (the SQLite
 * store's search indexing).
 *
 * Reads the first line of /proc/stat (idle + iowait against the total, all
 * CPUs) and compares it with the previous reading. Linux only: where
 * /proc/stat cannot be read, every reading says "all free", i.e. the
 * background work just runs.
 *
 * Not thread-safe: one cpufree per thread (plain struct, no allocation).
 */
#ifndef CHATD_CPUFREE_H
#define CHATD_CPUFREE_H

#include <stdint.h>

typedef struct cpufree {
    uint64_t idle, total; /* jiffies at the last reading */
    uint64_t at_ms;       /* clock_mono_ms() of it; 0: none yet */
    double free_cores;    /* result of the last full interval */
} cpufree;

/* Unused CPU in cores (0 .. number of CPUs) between the last two readings,
 * taken at least min_ms apart: a call sooner returns the previous figure.
 * The first call reads and returns the number of CPUs (nothing measured
 * yet counts as free). */
double cpufree_cores(cpufree *c, unsigned min_ms);

#endif
