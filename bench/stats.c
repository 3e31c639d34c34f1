/*
 * stats: log-linear latency buckets (see stats.h). Values below 64 are
 * exact (octave 0); above, octave k holds [64·2^(k-1), 64·2^k) split into
 * 64 equal sub-buckets.
 */
#include "stats.h"

#include <string.h>

static void index_of(uint64_t v, unsigned *oct, unsigned *sub) {
    if (v < STATS_SUB) {
        *oct = 0;
        *sub = (unsigned)v;
        return;
    }
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= STATS_SUB_BITS */
    unsigned k = msb - STATS_SUB_BITS + 1;
    if (k >= STATS_OCTAVES) {
        *oct = STATS_OCTAVES - 1;
        *sub = STATS_SUB - 1;
        return;
    }
    *oct = k;
    *sub = (unsigned)((v >> (k - 1)) - STATS_SUB);
}

/* The largest value that falls into bucket (oct, sub). */
static uint64_t upper_edge(unsigned oct, unsigned sub) {
    if (oct == 0) return sub;
    return (((uint64_t)STATS_SUB + sub + 1) << (oct - 1)) - 1;
}

void stats_reset(stats_hist *h) {
    memset(h, 0, sizeof *h);
}

void stats_record(stats_hist *h, uint64_t v) {
    unsigned oct, sub;
    index_of(v, &oct, &sub);
    h->bucket[oct][sub]++;
    if (h->count == 0 || v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    h->count++;
    h->sum += (double)v;
}

void stats_merge(stats_hist *dst, const stats_hist *src) {
    if (src->count == 0) return;
    for (unsigned o = 0; o < STATS_OCTAVES; o++)
        for (unsigned s = 0; s < STATS_SUB; s++) dst->bucket[o][s] += src->bucket[o][s];
    if (dst->count == 0 || src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
}

uint64_t stats_percentile(const stats_hist *h, double p) {
    if (h->count == 0) return 0;
    if (p >= 100.0) return h->max;
    /* rank of the wanted sample, 1-based; at least the first */
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned o = 0; o < STATS_OCTAVES; o++)
        for (unsigned s = 0; s < STATS_SUB; s++) {
            seen += h->bucket[o][s];
            if (seen >= rank) {
                uint64_t v = upper_edge(o, s);
                return v > h->max ? h->max : v;
            }
        }
    return h->max;
}

double stats_mean(const stats_hist *h) {
    return h->count ? h->sum / (double)h->count : 0.0;
}
