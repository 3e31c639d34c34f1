/*
 * chat-bench: load generator for chatd and the Node.js baseline
 * (bench/baseline). Parses the options, raises the fd limit, runs one
 * scenario and prints its results as a table or, with --json, as JSON.
 * See docs/BENCHMARKS.md for how the scenarios are run together.
 */
#include "bench.h"

#include "net/client.h"

#include <arpa/inet.h>
#include <getopt.h>
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

/* ---- options ---- */

static void usage(FILE *f) {
    fputs(
        "usage: chat-bench --url http://HOST:PORT --scenario fanout|connections|durable [options]\n"
        "       chat-bench --scenario loopback [--members N] [--duration SEC]\n"
        "                      (no server: the kernel's CPU cost of one delivery here)\n"
        "\n"
        "  --channels R        channels (fanout 1, durable 100)\n"
        "  --members M         distinct users per channel (fanout 100, durable 1;\n"
        "                      loopback: sockets, 1000)\n"
        "  --senders S         sending users, spread over the channels (default R)\n"
        "  --rate X|open-loop  offered msgs/s in total; open-loop (= 0, the default) keeps\n"
        "                      --window messages in flight per sender: the saturation rate\n"
        "  --window W          messages in flight per sender at saturation (default 8)\n"
        "  --sweep F,F,...     after saturation, fixed-rate steps at these fractions of it\n"
        "                      (fanout; default 0.5; \"\" for none)\n"
        "  --duration SEC      measured seconds per phase (default 5)\n"
        "  --warmup SEC        unmeasured seconds before each phase (default 1)\n"
        "  --content-bytes B   message content size (default 64)\n"
        "  --connections N     idle sockets (connections scenario, default 1000)\n"
        "  --users U           distinct users behind them (default N)\n"
        "  --hold SEC          how long to hold them (default 10)\n"
        "  --server-pid PID    server process, for its VmRSS\n"
        "  --sources N         spread client addresses over 127.0.0.1..N (default: one per\n"
        "                      25,000 sockets)\n"
        "  --prefix P          user name prefix (default b<pid>); existing users just log in\n"
        "  --password PW       (default bench-password-1)\n"
        "  --concurrency C     parallel HTTP setup connections (default 32)\n"
        "  --connect-window K  WebSocket handshakes in flight (default 256)\n"
        "  --setup-timeout S   bound on each setup step (default 120)\n"
        "  --json              print the results as JSON on stdout\n",
        f);
}

static int parse_opts(int argc, char **argv, bench_opts *o) {
    static char prefix[32];
    static const struct option L[] = {
        {"url", 1, 0, 'u'},           {"scenario", 1, 0, 's'},       {"channels", 1, 0, 'R'},
        {"members", 1, 0, 'M'},       {"senders", 1, 0, 'S'},        {"rate", 1, 0, 'r'},
        {"window", 1, 0, 'w'},        {"sweep", 1, 0, 'W'},          {"duration", 1, 0, 'd'},
        {"warmup", 1, 0, 'm'},        {"connections", 1, 0, 'N'},    {"users", 1, 0, 'U'},
        {"hold", 1, 0, 'H'},          {"server-pid", 1, 0, 'P'},     {"json", 0, 0, 'j'},
        {"sources", 1, 0, 'A'},       {"password", 1, 0, 'p'},       {"prefix", 1, 0, 'x'},
        {"concurrency", 1, 0, 'c'},   {"connect-window", 1, 0, 'k'}, {"content-bytes", 1, 0, 'b'},
        {"setup-timeout", 1, 0, 'T'}, {"help", 0, 0, 'h'},           {0, 0, 0, 0}};
    snprintf(prefix, sizeof prefix, "b%d", (int)getpid());
    *o = (bench_opts){.scenario = "fanout",
                      .channels = -1,
                      .members = -1,
                      .senders = -1,
                      .window = 8,
                      .sweep = "0.5",
                      .duration = 5,
                      .warmup = 1,
                      .connections = 1000,
                      .hold = 10,
                      .password = "bench-password-1",
                      .prefix = prefix,
                      .concurrency = 32,
                      .connect_window = 256,
                      .content_bytes = 64,
                      .setup_timeout = 120};
    int ch;
    while ((ch = getopt_long(argc, argv, "", L, NULL)) != -1) {
        switch (ch) {
        case 'u':
            o->url = optarg;
            break;
        case 's':
            o->scenario = optarg;
            break;
        case 'R':
            o->channels = atoi(optarg);
            break;
        case 'M':
            o->members = atoi(optarg);
            break;
        case 'S':
            o->senders = atoi(optarg);
            break;
        case 'r':
            o->rate = strcmp(optarg, "open-loop") == 0 ? 0 : atof(optarg);
            break;
        case 'w':
            o->window = atoi(optarg);
            break;
        case 'W':
            o->sweep = optarg;
            break;
        case 'd':
            o->duration = atof(optarg);
            break;
        case 'm':
            o->warmup = atof(optarg);
            break;
        case 'N':
            o->connections = atoi(optarg);
            break;
        case 'U':
            o->users = atoi(optarg);
            break;
        case 'H':
            o->hold = atof(optarg);
            break;
        case 'P':
            o->server_pid = atoi(optarg);
            break;
        case 'j':
            o->json = 1;
            break;
        case 'A':
            o->sources = atoi(optarg);
            break;
        case 'p':
            o->password = optarg;
            break;
        case 'x':
            o->prefix = optarg;
            break;
        case 'c':
            o->concurrency = atoi(optarg);
            break;
        case 'k':
            o->connect_window = atoi(optarg);
            break;
        case 'b':
            o->content_bytes = atoi(optarg);
            break;
        case 'T':
            o->setup_timeout = atof(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    int durable = strcmp(o->scenario, "durable") == 0;
    int loopback = strcmp(o->scenario, "loopback") == 0;
    if (o->channels < 0) o->channels = durable ? 100 : 1;
    if (o->members < 0) o->members = durable ? 1 : loopback ? 1000 : 100;
    if (o->senders < 0) o->senders = o->channels;
    if (!o->url && !loopback) {
        fprintf(stderr, "chat-bench: --url is required\n");
        return -1;
    }
    client_url u;
    if (o->url && (client_parse_url(o->url, &u) < 0 || u.port <= 0)) {
        fprintf(stderr, "chat-bench: bad --url %s\n", o->url);
        return -1;
    }
    if (o->url) {
        snprintf(o->host, sizeof o->host, "%s", u.host);
        o->port = u.port;
        if (uv_ip4_addr(u.host, u.port, &o->dst) < 0) {
            fprintf(stderr, "chat-bench: --url needs an IPv4 address (got %s)\n", u.host);
            return -1;
        }
    }
    if (o->channels < 1 || o->members < 1 || o->senders < 0 || o->window < 1 || o->duration <= 0 ||
        o->warmup < 0 || o->connections < 1 || o->hold < 0 || o->content_bytes < 32 ||
        o->content_bytes > 3900 || o->concurrency < 1 || o->connect_window < 1 ||
        strlen(o->prefix) > 20) {
        fprintf(stderr, "chat-bench: an option is out of range (see --help)\n");
        return -1;
    }
    return 0;
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
    printf("  %-11s %11s %11.0f %13.0f %8.2f %8.2f %8.2f %8.2f %8.2f %8.0f %6.0f %6.0f\n",
           json_string_value(json_object_get(p, "phase")), offered, num(p, "msgs_per_s"),
           num(p, "deliveries_per_s"), num(l, "p50_ms"), num(l, "p90_ms"), num(l, "p99_ms"),
           num(l, "p999_ms"), num(l, "max_ms"), num(p, "missing_deliveries"),
           num(p, "server_cpu_pct"), num(p, "bench_cpu_pct"));
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
    printf("\n  %-11s %11s %11s %13s %8s %8s %8s %8s %8s %8s %6s %6s\n", "phase", "offered/s",
           "msgs/s", "deliveries/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "missing",
           "srv%", "gen%");
    if (sat) print_phase(sat);
    size_t i;
    json_array_foreach(steps, i, v) print_phase(v);
    putchar('\n');
}

int main(int argc, char **argv) {
    bench_opts o;
    if (parse_opts(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    long fds = raise_fd_limit();
    int conns = strcmp(o.scenario, "connections") == 0;
    size_t sockets = conns ? (size_t)o.connections : (size_t)o.channels * (size_t)o.members;
    if (fds > 0 && (long)sockets + 64 > fds) {
        if (!conns) {
            bench_log("%zu sockets need more file descriptors than the limit (%ld)", sockets, fds);
            return 1;
        }
        bench_log("--connections %d is over the file descriptor limit (%ld): capped to %ld",
                  o.connections, fds, fds - 64);
        o.connections = (int)(fds - 64);
        sockets = (size_t)o.connections;
    }
    setup_sources(&o, sockets);

    json_t *r = NULL;
    if (strcmp(o.scenario, "fanout") == 0)
        r = scenario_fanout(&o);
    else if (conns)
        r = scenario_connections(&o);
    else if (strcmp(o.scenario, "durable") == 0)
        r = scenario_durable(&o);
    else if (strcmp(o.scenario, "loopback") == 0)
        r = scenario_loopback(&o);
    else {
        fprintf(stderr, "chat-bench: unknown scenario %s\n", o.scenario);
        return 2;
    }
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
