/*
 * stats: a latency histogram in the style of HdrHistogram, small and fixed.
 *
 * Why: a benchmark records millions of latencies; keeping them all to sort
 * would cost memory and time on the same 2-core machine as the server under
 * test. Log-linear buckets (64 sub-buckets per power of two, so every value
 * is recorded within ~1.6%) give percentiles at any rank with a fixed
 * 24 KiB array and O(1) recording. Values are nanoseconds (any unit works).
 *
 * Memory: a stats_hist is a plain value; no allocation.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>

#define STATS_SUB_BITS 6 /* 64 linear sub-buckets per octave */
#define STATS_SUB (1u << STATS_SUB_BITS)
#define STATS_OCTAVES 42 /* up to 2^47 ns (~39 h) */

typedef struct stats_hist {
    uint64_t count;
    uint64_t min, max; /* exact */
    double sum;        /* for the mean */
    uint64_t bucket[STATS_OCTAVES][STATS_SUB];
} stats_hist;

/* Empties the histogram. */
void stats_reset(stats_hist *h);
/* Records one value. */
void stats_record(stats_hist *h, uint64_t v);
/* Adds every sample of src to dst. */
void stats_merge(stats_hist *dst, const stats_hist *src);
/* Value at percentile p (0..100): the upper edge of the bucket holding the
 * sample of that rank, clamped to the exact max; 0 when empty. */
uint64_t stats_percentile(const stats_hist *h, double p);
/* Mean, 0 when empty. */
double stats_mean(const stats_hist *h);
/* A one-line text form ("count min max sum" then "octave:sub:count" for
 * each non-empty bucket, no newline) for handing a histogram to another
 * process; malloc'd, NULL when out of memory. */
char *stats_to_text(const stats_hist *h);
/* Reads stats_to_text's form into h; 0, or -1 when malformed. */
int stats_from_text(stats_hist *h, const char *text);

#endif
