/*
 * stats: log-linear latency buckets (see stats.h). Values below 64 are
 * exact (octave 0); above, octave k holds [64·2^(k-1), 64·2^k) split into
 * 64 equal sub-buckets.
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
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
        for (unsigned s = 0; s < STATS_SUB; s++)
            dst->bucket[o][s] += src->bucket[o][s];
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

char *stats_to_text(const stats_hist *h) {
    size_t cap = 128, len = 0;
    char *t = malloc(cap);
    if (!t) return NULL;
    len = (size_t)snprintf(t, cap, "%llu %llu %llu %.17g", (unsigned long long)h->count,
                           (unsigned long long)h->min, (unsigned long long)h->max, h->sum);
    for (unsigned o = 0; o < STATS_OCTAVES; o++)
        for (unsigned s = 0; s < STATS_SUB; s++) {
            if (!h->bucket[o][s]) continue;
            if (len + 64 > cap) {
                char *nt = realloc(t, cap *= 2);
                if (!nt) {
                    free(t);
                    return NULL;
                }
                t = nt;
            }
            len += (size_t)snprintf(t + len, cap - len, " %u:%u:%llu", o, s,
                                    (unsigned long long)h->bucket[o][s]);
        }
    return t;
}

int stats_from_text(stats_hist *h, const char *text) {
    stats_reset(h);
    unsigned long long count, min, max;
    int used = 0;
    if (sscanf(text, "%llu %llu %llu %lf%n", &count, &min, &max, &h->sum, &used) != 4) return -1;
    h->count = count;
    h->min = min;
    h->max = max;
    uint64_t seen = 0;
    for (const char *p = text + used; *p == ' ';) {
        unsigned o, s;
        unsigned long long c;
        int n = 0;
        if (sscanf(p, " %u:%u:%llu%n", &o, &s, &c, &n) != 3 || o >= STATS_OCTAVES || s >= STATS_SUB)
            return -1;
        h->bucket[o][s] += c;
        seen += c;
        p += n;
    }
    return seen == h->count ? 0 : -1;
}
