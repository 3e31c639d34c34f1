/*
 * cpufree: unused CPU from /proc/stat (see cpufree.h).
 */
#include "core/cpufree.h"

#include <stdio.h>
#include <unistd.h>

#include "core/clock.h"

/* idle + iowait and the sum of all fields of the "cpu" line; -1 when
 * /proc/stat cannot be read. */
static int read_stat(uint64_t *idle, uint64_t *total) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4) return -1;
    *idle = v[3] + v[4];
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    return 0;
}

double cpufree_cores(cpufree *c, unsigned min_ms) {
    uint64_t now = clock_mono_ms();
    if (c->at_ms && now - c->at_ms < min_ms) return c->free_cores;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN); /* glibc reads /sys for it: not on every call */
    if (ncpu < 1) ncpu = 1;
    uint64_t idle, total;
    if (read_stat(&idle, &total) != 0) return c->free_cores = (double)ncpu;
    if (!c->at_ms || total <= c->total || idle < c->idle)
        c->free_cores = (double)ncpu; /* first reading: nothing measured yet */
    else
        c->free_cores = (double)ncpu * (double)(idle - c->idle) / (double)(total - c->total);
    c->idle = idle;
    c->total = total;
    c->at_ms = now;
    return c->free_cores;
}
