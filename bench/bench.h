/*
 * bench: what every part of chat-bench shares — the options, the clock,
 * the progress line on stderr, and small probes of the server under test
 * (its RSS from /proc, its /metrics text).
 *
 * Scenarios (scenario_*.c) take the options and return their results as a
 * JSON object (jansson; the caller owns the reference), which main.c
 * prints as a table or, with --json, as is.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#define BENCH_MAX_SERVERS 64

typedef struct bench_opts {
    const char *url; /* http://host:port of chatd or the baseline */
    char host[256];
    int port;
    struct sockaddr_in dst;
    const char *scenario; /* see bench_usage() */
    int channels;         /* R */
    int members;          /* M per channel (users are distinct per channel) */
    int senders;          /* S */
    double rate;          /* offered msgs/s in total; 0 = saturation (windowed) */
    int window;           /* messages in flight per sender at saturation */
    const char *sweep;    /* fractions of the saturation rate, "0.25,0.5" ; "" = none */
    double duration;      /* measured seconds per phase */
    double warmup;        /* seconds before each measurement */
    int connections;      /* N (connections scenario) */
    int users;            /* distinct users for N connections (0 = N) */
    double hold;          /* seconds to hold them */
    int server_pid;       /* for VmRSS; 0 = unknown (= server_pids[0]) */
    int server_pids[BENCH_MAX_SERVERS];  /* every chatd process (a cluster's) */
    int server_ports[BENCH_MAX_SERVERS]; /* the port each listens on (0: not given) */
    int nservers;
    int json;
    int sources; /* source addresses 127.0.0.1..N (0 = auto) */
    const char *password;
    const char *prefix;
    int concurrency;         /* parallel HTTP setup connections */
    int connect_window;      /* WebSocket handshakes in flight */
    int content_bytes;       /* message content size (>= 32) */
    double setup_timeout;    /* bound on each setup step, seconds */
    const char *db;          /* "sqlite:PATH" | "pg:CONNINFO" (seed, store, history's check) */
    const char *population;  /* seeded users "U:B:M:G:K" (seed.h) */
    const char *messages;    /* seeded messages per channel "BIG:SMALL" (seed.h) */
    int direct;              /* fanout channels are direct-message pairs */
    int edits;               /* scenario edits: senders edit their message (protocol 1.1) */
    const char *restart_cmd; /* storm: starts the server again (sh -c) */
    int processes;           /* scale: generator processes (0 = auto) */
    int rounds;              /* history: bursts of concurrent connects */
    const char *ca_file;     /* https:// --url: the CA that signed chatd's certificate */
} bench_opts;

/* ---- options (opts.c) ---- */
/* Parses argv into *o (defaults depend on the scenario); 0 or -1 after a
 * message on stderr. */
int bench_parse_opts(int argc, char **argv, bench_opts *o);
void bench_usage(FILE *f);

/* ---- clock (CLOCK_MONOTONIC: sender and receiver share the machine) ---- */
uint64_t bench_now_ns(void);
double bench_now_s(void);

/* ---- progress line on stderr: at most a few per second; overwritten in
 * place on a terminal, one line every 2 s otherwise ---- */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the current progress line (so the next message starts clean). */
void bench_progress_done(void);
/* A message on stderr that is always shown. */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- server probes ---- */
/* VmRSS of pid in KiB, or -1. */
long bench_rss_kib(int pid);
/* CPU seconds (user + system) used so far by pid, or by this process when
 * pid is 0; -1 when unknown. */
double bench_cpu_s(int pid);
/* CPU seconds used so far by every --server-pid process together (all
 * threads: /proc/PID/stat utime + stime); -1 when none is given or one is
 * unreadable. */
double bench_servers_cpu_s(const bench_opts *o);
/* Adds "server_cpu_us_per_msg" and "server_cpu_us_per_delivery" to obj:
 * cpu_s of server CPU spent over msgs stored and deliveries made (null
 * when unknown or zero). */
void bench_cpu_per(json_t *obj, double cpu_s, uint64_t msgs, uint64_t deliveries);
/* A scenario's result object, started with "scenario" and "url". */
json_t *bench_result(const bench_opts *o);
/* Adds {"p50_ms",…,"max_ms","mean_ms","samples"} for the latencies (ns)
 * of h to obj. */
struct stats_hist;
void bench_latency_json(json_t *obj, const struct stats_hist *h);
/* GET /metrics; returns the malloc'd body or NULL. */
char *bench_fetch_metrics(const bench_opts *o);
/* Value of the sample line `name value` in a metrics text; -1 if absent.
 * name may include labels exactly as printed (`x_bucket{le="0.001"}`). */
double bench_metric(const char *text, const char *name);

/* Source address for connection i (127.0.0.(1 + i % sources)); NULL when
 * sources <= 1 (let the kernel pick). */
const struct sockaddr_in *bench_source(const bench_opts *o, size_t i);

/* ---- scenarios: each returns a new JSON object, or NULL after printing
 * why it could not run ---- */
json_t *scenario_fanout(const bench_opts *o);
json_t *scenario_connections(const bench_opts *o);
json_t *scenario_durable(const bench_opts *o);
/* No server: the kernel's CPU cost of one small loopback TCP write. */
json_t *scenario_loopback(const bench_opts *o);
/* Seeded users (seed.h): connect latency and rate, checked against --db. */
json_t *scenario_history(const bench_opts *o);
/* Seeded users' sockets through a server restart (--restart-cmd). */
json_t *scenario_storm(const bench_opts *o);
/* Sockets over several generator processes, one message to all of them. */
json_t *scenario_scale(const bench_opts *o);
/* No server: writes a seed (seed.h) into --db. */
json_t *scenario_seed(const bench_opts *o);
/* No server: the store (store.h) itself, appends with a window in flight. */
json_t *scenario_store(const bench_opts *o);
/* No server: seeds --messages into --db (sqlite:PATH) once, then times
 * searches through the store (scenario_search.c). */
json_t *scenario_search(const bench_opts *o);

#endif
