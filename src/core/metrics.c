/*
 * metrics: process-wide counters rendered for GET /metrics (see metrics.h).
 *
 * Every value is a C11 atomic with relaxed ordering: counters are read
 * only for display, so no ordering between them is needed, and the store's
 * worker thread can record commit times without a lock. The histogram keeps
 * per-bucket (non-cumulative) counts; rendering accumulates them, as the
 * Prometheus text format wants cumulative `le` buckets.
 */
#include "core/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define RELAXED memory_order_relaxed

static _Atomic int64_t conns[2]; /* [0] chat, [1] presence */
static _Atomic uint64_t msgs_in, msgs_out;
static _Atomic uint64_t errors[METRICS_MAX_CODES];
static const char *const *error_names; /* set once at start-up */
static unsigned n_error_names;

/* HTTP statuses chatd sends; anything else is counted as "other". */
static const int http_codes[] = {101, 200, 201, 204, 400, 401, 403, 404,
                                 405, 409, 413, 426, 429, 431, 500, 503};
#define N_HTTP (sizeof http_codes / sizeof http_codes[0])
static _Atomic uint64_t http[N_HTTP + 1]; /* last slot: other */

static const double commit_bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,  0.5,   1};
#define N_BOUNDS (sizeof commit_bounds / sizeof commit_bounds[0])
static _Atomic uint64_t commit_buckets[N_BOUNDS + 1]; /* last slot: +Inf only */
static _Atomic uint64_t commit_sum_ns, commit_ops;
static _Atomic uint64_t bus_rejected[2]; /* [0] malformed, [1] forged */

void metrics_conn_open(int presence) {
    atomic_fetch_add_explicit(&conns[!!presence], 1, RELAXED);
}

void metrics_conn_close(int presence) {
    atomic_fetch_sub_explicit(&conns[!!presence], 1, RELAXED);
}

static _Atomic uint64_t drops[METRICS_DROP_COUNT];
static const char *const drop_names[METRICS_DROP_COUNT] = {
    "refused", "evicted", "handshake_timeout", "slow_reader", "dead_peer", "tls"};

void metrics_conn_dropped(metrics_drop why) {
    if ((unsigned)why < METRICS_DROP_COUNT) atomic_fetch_add_explicit(&drops[why], 1, RELAXED);
}

void metrics_msg_in(void) {
    atomic_fetch_add_explicit(&msgs_in, 1, RELAXED);
}

void metrics_msg_out(uint64_t n) {
    atomic_fetch_add_explicit(&msgs_out, n, RELAXED);
}

void metrics_error(unsigned code) {
    if (code < METRICS_MAX_CODES) atomic_fetch_add_explicit(&errors[code], 1, RELAXED);
}

void metrics_error_names(const char *const *names, unsigned n) {
    error_names = names;
    n_error_names = n < METRICS_MAX_CODES ? n : METRICS_MAX_CODES;
}

void metrics_http(int status) {
    size_t i = 0;
    while (i < N_HTTP && http_codes[i] != status)
        i++;
    atomic_fetch_add_explicit(&http[i], 1, RELAXED);
}

void metrics_commit(double seconds, unsigned n_ops) {
    if (!(seconds >= 0)) /* also catches NaN */
        seconds = 0;
    size_t i = 0;
    while (i < N_BOUNDS && seconds > commit_bounds[i])
        i++;
    atomic_fetch_add_explicit(&commit_buckets[i], 1, RELAXED);
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(&commit_sum_ns, ns > 1e18 ? (uint64_t)1e18 : (uint64_t)ns, RELAXED);
    atomic_fetch_add_explicit(&commit_ops, n_ops, RELAXED);
}

void metrics_bus_rejected(int forged) {
    atomic_fetch_add_explicit(&bus_rejected[!!forged], 1, RELAXED);
}

#define LOAD(x) atomic_load_explicit(&(x), RELAXED)

uint64_t metrics_bus_rejected_count(int forged) {
    return LOAD(bus_rejected[!!forged]);
}

char *metrics_render(size_t *len) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f) abort();

    fputs("# HELP chatd_connections Live WebSocket connections.\n"
          "# TYPE chatd_connections gauge\n",
          f);
    fprintf(f, "chatd_connections{endpoint=\"chat\"} %lld\n", (long long)LOAD(conns[0]));
    fprintf(f, "chatd_connections{endpoint=\"presence\"} %lld\n", (long long)LOAD(conns[1]));

    fputs(
        "# HELP chatd_connections_dropped_total Connections the server refused or closed itself.\n"
        "# TYPE chatd_connections_dropped_total counter\n",
        f);
    for (int i = 0; i < METRICS_DROP_COUNT; i++)
        fprintf(f, "chatd_connections_dropped_total{reason=\"%s\"} %llu\n", drop_names[i],
                (unsigned long long)LOAD(drops[i]));

    fputs("# HELP chatd_messages_in_total Client frames accepted.\n"
          "# TYPE chatd_messages_in_total counter\n",
          f);
    fprintf(f, "chatd_messages_in_total %llu\n", (unsigned long long)LOAD(msgs_in));
    fputs("# HELP chatd_messages_out_total Frames queued to client sockets.\n"
          "# TYPE chatd_messages_out_total counter\n",
          f);
    fprintf(f, "chatd_messages_out_total %llu\n", (unsigned long long)LOAD(msgs_out));

    fputs("# HELP chatd_errors_total Error frames sent, by protocol error code.\n"
          "# TYPE chatd_errors_total counter\n",
          f);
    for (unsigned c = 0; c < n_error_names; c++)
        fprintf(f, "chatd_errors_total{code=\"%s\"} %llu\n", error_names[c],
                (unsigned long long)LOAD(errors[c]));

    fputs("# HELP chatd_http_responses_total HTTP responses sent, by status.\n"
          "# TYPE chatd_http_responses_total counter\n",
          f);
    for (size_t i = 0; i < N_HTTP; i++)
        fprintf(f, "chatd_http_responses_total{status=\"%d\"} %llu\n", http_codes[i],
                (unsigned long long)LOAD(http[i]));
    fprintf(f, "chatd_http_responses_total{status=\"other\"} %llu\n",
            (unsigned long long)LOAD(http[N_HTTP]));

    fputs("# HELP chatd_store_commit_seconds Time to commit one store transaction.\n"
          "# TYPE chatd_store_commit_seconds histogram\n",
          f);
    uint64_t cum = 0;
    for (size_t i = 0; i < N_BOUNDS; i++) {
        cum += LOAD(commit_buckets[i]);
        fprintf(f, "chatd_store_commit_seconds_bucket{le=\"%g\"} %llu\n", commit_bounds[i],
                (unsigned long long)cum);
    }
    /* +Inf and _count are the same sum, so they always agree. */
    uint64_t count = cum + LOAD(commit_buckets[N_BOUNDS]);
    fprintf(f, "chatd_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)count);
    fprintf(f, "chatd_store_commit_seconds_sum %.9f\n", (double)LOAD(commit_sum_ns) / 1e9);
    fprintf(f, "chatd_store_commit_seconds_count %llu\n", (unsigned long long)count);
    fputs("# HELP chatd_store_commit_ops_total Store operations committed.\n"
          "# TYPE chatd_store_commit_ops_total counter\n",
          f);
    fprintf(f, "chatd_store_commit_ops_total %llu\n", (unsigned long long)LOAD(commit_ops));

    fputs(
        "# HELP chatd_bus_rejected_total Cluster bus payloads dropped: reason auth failed the "
        "HMAC check (forged, or another cluster secret), malformed was authentic but unreadable.\n"
        "# TYPE chatd_bus_rejected_total counter\n",
        f);
    fprintf(f, "chatd_bus_rejected_total{reason=\"auth\"} %llu\n",
            (unsigned long long)LOAD(bus_rejected[1]));
    fprintf(f, "chatd_bus_rejected_total{reason=\"malformed\"} %llu\n",
            (unsigned long long)LOAD(bus_rejected[0]));

    if (fclose(f) != 0) abort();
    if (len) *len = size;
    return buf;
}
