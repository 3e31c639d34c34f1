/*
 * chat-bench: load generator for chatd and the Node.js baseline
 * (bench/baseline). Parses the options, raises the fd limit, runs one
 * scenario and prints its results as a table or, with --json, as JSON.
 * See docs/BENCHMARKS.md for how the scenarios are run together.
 */
#include "bench.h"
#include "stats.h"

#include "core/log.h"
#include "net/client.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---- shared helpers (bench.h) ---- */

uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double bench_now_s(void) {
    return (double)bench_now_ns() / 1e9;
}

static int g_tty = -1, g_line_open;
static double g_last_progress;

void bench_progress(const char *fmt, ...) {
    if (g_tty < 0) g_tty = isatty(2);
    double now = bench_now_s(), every = g_tty ? 0.2 : 2.0;
    if (now - g_last_progress < every) return;
    g_last_progress = now;
    char line[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (g_tty) {
        fprintf(stderr, "\r%s\033[K", line);
        g_line_open = 1;
    } else {
        fprintf(stderr, "%s\n", line);
    }
}

void bench_progress_done(void) {
    if (g_line_open) fputc('\n', stderr);
    g_line_open = 0;
    g_last_progress = 0;
}

void bench_log(const char *fmt, ...) {
    bench_progress_done();
    va_list ap;
    va_start(ap, fmt);
    fputs("chat-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

long bench_rss_kib(int pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

double bench_cpu_s(int pid) {
    if (pid == 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double bench_servers_cpu_s(const bench_opts *o) {
    if (o->nservers == 0) return -1;
    double sum = 0;
    for (int i = 0; i < o->nservers; i++) {
        double c = bench_cpu_s(o->server_pids[i]);
        if (c < 0) return -1;
        sum += c;
    }
    return sum;
}

void bench_cpu_per(json_t *obj, double cpu_s, uint64_t msgs, uint64_t deliveries) {
    json_object_set_new(obj, "server_cpu_us_per_msg",
                        cpu_s >= 0 && msgs ? json_real(cpu_s * 1e6 / (double)msgs) : json_null());
    json_object_set_new(obj, "server_cpu_us_per_delivery",
                        cpu_s >= 0 && deliveries ? json_real(cpu_s * 1e6 / (double)deliveries)
                                                 : json_null());
}

json_t *bench_result(const bench_opts *o) {
    json_t *r = json_object();
    json_object_set_new(r, "scenario", json_string(o->scenario));
    json_object_set_new(r, "url", o->url ? json_string(o->url) : json_null());
    return r;
}

void bench_latency_json(json_t *obj, const stats_hist *h) {
    static const struct {
        const char *key;
        double p;
    } P[] = {{"p50_ms", 50}, {"p90_ms", 90}, {"p99_ms", 99}, {"p999_ms", 99.9}, {"max_ms", 100}};
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++)
        json_object_set_new(obj, P[i].key, json_real((double)stats_percentile(h, P[i].p) / 1e6));
    json_object_set_new(obj, "mean_ms", json_real(stats_mean(h) / 1e6));
    json_object_set_new(obj, "samples", json_integer((json_int_t)h->count));
}

char *bench_fetch_metrics(const bench_opts *o) {
    client_response r;
    if (client_http_request(NULL, o->host, o->port, "GET", "/metrics", NULL, 0, 5000, &r) < 0)
        return NULL;
    char *body = NULL;
    if (r.status == 200) {
        body = r.body;
        r.body = NULL;
    }
    client_response_free(&r);
    return body;
}

double bench_metric(const char *text, const char *name) {
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, nl) == 0 && p[nl] == ' ') return strtod(p + nl + 1, NULL);
    return -1;
}

static struct sockaddr_in g_sources[254];
static int g_nsources;

const struct sockaddr_in *bench_source(const bench_opts *o, size_t i) {
    return g_nsources > 1 ? &g_sources[i % (size_t)g_nsources] : NULL;
}

/* Raises RLIMIT_NOFILE to the hard limit; returns the soft limit now. */
static long raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}

static void setup_sources(const bench_opts *o, size_t sockets) {
    int n = o->sources > 0 ? o->sources : (int)(sockets / 25000 + 1);
    if (o->sources <= 0 && n < 2 * o->processes) n = 2 * o->processes; /* scale's workers */
    if (n > 254) n = 254;
    g_nsources = n;
    for (int i = 0; i < n; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "127.0.0.%d", i + 1);
        uv_ip4_addr(ip, 0, &g_sources[i]);
    }
}

/* ---- human output ---- */

static void print_value(const char *key, json_t *v) {
    if (json_is_real(v))
        printf("  %-34s %.3f\n", key, json_real_value(v));
    else if (json_is_integer(v))
        printf("  %-34s %lld\n", key, (long long)json_integer_value(v));
    else if (json_is_string(v))
        printf("  %-34s %s\n", key, json_string_value(v));
    else if (json_is_null(v))
        printf("  %-34s -\n", key);
}

static double num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : -1;
}

static void print_phase(json_t *p) {
    json_t *l = json_object_get(p, "latency");
    char offered[32] = "max";
    if (num(p, "offered_msgs_per_s") >= 0)
        snprintf(offered, sizeof offered, "%.0f", num(p, "offered_msgs_per_s"));
    printf(
        "  %-11s %11s %11.0f %13.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8.0f %6.0f %6.0f\n",
        json_string_value(json_object_get(p, "phase")), offered, num(p, "msgs_per_s"),
        num(p, "deliveries_per_s"), num(p, "server_cpu_us_per_msg"),
        num(p, "server_cpu_us_per_delivery"), num(l, "p50_ms"), num(l, "p90_ms"), num(l, "p99_ms"),
        num(l, "p999_ms"), num(l, "max_ms"), num(p, "missing_deliveries"), num(p, "server_cpu_pct"),
        num(p, "bench_cpu_pct"));
}

static void print_human(json_t *r) {
    const char *key;
    json_t *v;
    printf("chat-bench %s\n", json_string_value(json_object_get(r, "scenario")));
    json_object_foreach(r, key, v) {
        if (json_is_object(v)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                if (strcmp(key, "saturation") == 0 || strcmp(key, "half_load") == 0) continue;
                char full[96];
                snprintf(full, sizeof full, "%s.%s", key, k2);
                print_value(full, v2);
            }
        } else if (!json_is_array(v)) {
            print_value(key, v);
        }
    }
    json_t *sat = json_object_get(r, "saturation");
    json_t *steps = json_object_get(r, "steps");
    if (!sat && !json_array_size(steps)) return;
    printf("\n  %-11s %11s %11s %13s %8s %8s %8s %8s %8s %8s %8s %8s %6s %6s\n", "phase",
           "offered/s", "msgs/s", "deliveries/s", "us/msg", "us/dlv", "p50 ms", "p90 ms", "p99 ms",
           "p99.9 ms", "max ms", "missing", "srv%", "gen%");
    if (sat) print_phase(sat);
    size_t i;
    json_array_foreach(steps, i, v) print_phase(v);
    putchar('\n');
}

/* How a scenario's sockets are counted against the descriptor limit. */
enum { S_NONE, S_CROWD, S_CONNS };

static const struct {
    const char *name;
    json_t *(*run)(const bench_opts *o);
    int sockets;
} SCENARIOS[] = {
    {"fanout", scenario_fanout, S_CROWD},
    {"dm", scenario_fanout, S_CROWD},
    {"edits", scenario_fanout, S_CROWD},
    {"durable", scenario_durable, S_CROWD},
    {"connections", scenario_connections, S_CONNS},
    {"history", scenario_history, S_CONNS},
    {"storm", scenario_storm, S_CONNS},
    {"scale", scenario_scale, S_NONE},
    {"seed", scenario_seed, S_NONE},
    {"store", scenario_store, S_NONE},
    {"loopback", scenario_loopback, S_NONE},
    {"search", scenario_search, S_NONE},
};

int main(int argc, char **argv) {
    bench_opts o;
    if (bench_parse_opts(argc, argv, &o) < 0) {
        bench_usage(stderr);
        return 2;
    }
    size_t k = 0, nsc = sizeof SCENARIOS / sizeof SCENARIOS[0];
    while (k < nsc && strcmp(SCENARIOS[k].name, o.scenario) != 0)
        k++;
    if (k == nsc) {
        fprintf(stderr, "chat-bench: unknown scenario %s\n", o.scenario);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    log_set_level(log_parse_level("warn")); /* the store's own notes (migrations) are noise here */
    long fds = raise_fd_limit();
    int conns = SCENARIOS[k].sockets == S_CONNS;
    size_t sockets = conns ? (size_t)o.connections : (size_t)o.channels * (size_t)o.members;
    if (conns && (size_t)o.users > sockets) sockets = (size_t)o.users;
    if (SCENARIOS[k].sockets != S_NONE && fds > 0 && (long)sockets + 64 > fds) {
        if (!conns || (long)o.users + 64 > fds) {
            bench_log("%zu sockets need more file descriptors than the limit (%ld)", sockets, fds);
            return 1;
        }
        bench_log("--connections %d is over the file descriptor limit (%ld): capped to %ld",
                  o.connections, fds, fds - 64);
        o.connections = (int)(fds - 64);
        sockets = (size_t)o.connections;
    }
    setup_sources(&o, sockets);

    json_t *r = SCENARIOS[k].run(&o);
    if (!r) return 1;
    json_object_set_new(r, "fd_limit", json_integer(fds));
    if (o.json) {
        char *t = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        puts(t);
        free(t);
    } else {
        print_human(r);
    }
    json_decref(r);
    uv_loop_close(uv_default_loop());
    return 0;
}
