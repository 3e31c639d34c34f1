/*
 * opts: chat-bench's command line (bench.h's bench_opts): the usage text,
 * the parser and the defaults that depend on the scenario.
 */
#include "bench.h"

#include "net/client.h"
#include "wsconn.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bench_usage(FILE *f) {
    fputs(
        "usage: chat-bench --url http://HOST:PORT --scenario SCENARIO [options]\n"
        "scenarios:\n"
        "  fanout       R channels x M members, S senders: saturation, then a fixed-rate sweep\n"
        "  dm           --channels direct-message pairs (default 1000), both sides sending\n"
        "  edits        as fanout, but each sender edits one message of its own over and over:\n"
        "               the fan-out of message_updated (protocol 1.1; a reaction takes the same\n"
        "               path: one store write, one fan-out)\n"
        "  connections  N idle authenticated sockets held for a while; connects/s, RSS\n"
        "  durable      senders alone in their channels: stored (acked) msgs/s\n"
        "  history      users seeded with history (--population): 200 concurrent connects\n"
        "               to channels_list, p50/p99, then connects/s; with --db a check of\n"
        "               unread counts against a COUNT over the stored messages\n"
        "  storm        N sockets of seeded users up, then chatd restarted (--restart-cmd):\n"
        "               time until every socket has its channels_list again\n"
        "  scale        N sockets over --processes generator processes, all in one channel\n"
        "               (joins), then one message: time until the last socket has it\n"
        "  seed         (no server) writes --population and --messages into --db\n"
        "  store        (no server) the store itself (--db): appends/s with a window in flight\n"
        "  search       (no server) seeds --messages (default 1000000) into --db sqlite:PATH\n"
        "               once, then search latency through the store, by kind of query\n"
        "  loopback     (no server) the kernel's CPU cost of one delivery here\n"
        "\n"
        "  --channels R        channels (fanout 1, durable and store 100, dm 1000)\n"
        "  --members M         distinct users per channel (fanout 100, durable 1, dm 2;\n"
        "                      loopback: sockets, 1000)\n"
        "  --senders S         sending users, spread over the channels (default R; dm 2R)\n"
        "  --rate X|open-loop  offered msgs/s in total; open-loop (= 0, the default) keeps\n"
        "                      --window messages in flight per sender: the saturation rate\n"
        "  --window W          messages in flight per sender at saturation (default 8;\n"
        "                      store: appends in flight in all, 4096)\n"
        "  --sweep F,F,...     after saturation, fixed-rate steps at these fractions of it\n"
        "                      (fanout; default 0.5; \"\" for none)\n"
        "  --duration SEC      measured seconds per phase (default 5)\n"
        "  --warmup SEC        unmeasured seconds before each phase (default 1)\n"
        "  --content-bytes B   message content size (default 64)\n"
        "  --connections N     sockets (connections 1000, storm 10000, scale 100000,\n"
        "                      history: for connects/s, 2000)\n"
        "  --users U           distinct users behind them (default N; history: the\n"
        "                      concurrent connects, 200)\n"
        "  --rounds K          history: bursts of --users concurrent connects (default 10)\n"
        "  --hold SEC          how long to hold them (default 10)\n"
        "  --server-pid P[@PORT][,P[@PORT]]  the server's processes (a cluster's chatd\n"
        "                      processes): VmRSS, CPU (utime + stime, all threads, summed);\n"
        "                      scale: @PORT names a chat server's port (RSS per socket)\n"
        "  --restart-cmd CMD   storm: a shell command that starts the server again on the\n"
        "                      same port (run with sh -c; chat-bench stops it at the end)\n"
        "  --processes P       scale: generator processes (default: one per 16,000 sockets)\n"
        "                      (client addresses: at least two per process, so that no\n"
        "                      address has more than --connect-window handshakes pending)\n"
        "  --db sqlite:PATH|pg:CONNINFO   seed, store: the database; history: checked\n"
        "  --population U:B:M:G:K   seeded users: U users all in B big channels; the first M\n"
        "                      in groups of G sharing K small channels (default 1000:2:200:10:18)\n"
        "  --messages BIG:SMALL   seed: messages per big / small channel (default 0:0)\n"
        "  --direct            fanout: the channels are direct (members 2)\n"
        "  --sources N         spread client addresses over 127.0.0.1..N (default: one per\n"
        "                      25,000 sockets)\n"
        "  --prefix P          user name prefix (default b<pid>); existing users just log in\n"
        "  --password PW       (default bench-password-1)\n"
        "  --ca-file F         an https:// --url: trust this CA (PEM); every socket is wss://\n"
        "  --concurrency C     parallel HTTP setup connections (default 32)\n"
        "  --connect-window K  WebSocket handshakes in flight (default 256)\n"
        "  --setup-timeout S   bound on each setup step (default 120)\n"
        "  --json              print the results as JSON on stdout\n",
        f);
}

/* "1,2@8081,3" -> pids (and the port a server listens on, when given);
 * -1 when malformed or too many. */
static int parse_pids(const char *s, bench_opts *o) {
    o->nservers = 0;
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10), port = 0;
        if (end == p || v <= 0 || o->nservers >= BENCH_MAX_SERVERS) return -1;
        if (*end == '@') {
            const char *q = end + 1;
            port = strtol(q, &end, 10);
            if (end == q || port <= 0 || port > 65535) return -1;
        }
        o->server_ports[o->nservers] = (int)port;
        o->server_pids[o->nservers++] = (int)v;
        if (*end && *end != ',') return -1;
        p = *end == ',' ? end + 1 : end;
    }
    o->server_pid = o->nservers ? o->server_pids[0] : 0;
    return 0;
}

static int is(const bench_opts *o, const char *name) {
    return strcmp(o->scenario, name) == 0;
}

/* Scenario-dependent defaults for what the command line left unset (-1). */
static void defaults(bench_opts *o) {
    int durable = is(o, "durable") || is(o, "store"), dm = is(o, "dm");
    if (is(o, "search") && o->channels < 0) o->channels = 100;
    if (is(o, "search") && o->members < 0) o->members = 20; /* the searcher's channels */
    if (o->channels < 0) o->channels = durable ? 100 : dm ? 1000 : 1;
    if (o->members < 0) o->members = durable ? 1 : is(o, "loopback") ? 1000 : dm ? 2 : 100;
    if (dm) o->direct = 1;
    if (is(o, "edits")) o->edits = 1;
    if (o->senders < 0) o->senders = dm ? o->channels * 2 : o->channels;
    if (o->window < 0) o->window = is(o, "store") ? 4096 : 8;
    if (o->connections < 0)
        o->connections = is(o, "storm")     ? 10000
                         : is(o, "scale")   ? 100000
                         : is(o, "history") ? 2000
                                            : 1000;
    if (o->users < 0) o->users = is(o, "history") ? 200 : 0;
    if (is(o, "scale") && o->processes == 0) o->processes = (o->connections + 15999) / 16000;
}

static int needs_url(const bench_opts *o) {
    return !is(o, "loopback") && !is(o, "seed") && !is(o, "store") && !is(o, "search");
}

int bench_parse_opts(int argc, char **argv, bench_opts *o) {
    static char prefix[32];
    static const struct option L[] = {{"url", 1, 0, 'u'},
                                      {"scenario", 1, 0, 's'},
                                      {"channels", 1, 0, 'R'},
                                      {"members", 1, 0, 'M'},
                                      {"senders", 1, 0, 'S'},
                                      {"rate", 1, 0, 'r'},
                                      {"window", 1, 0, 'w'},
                                      {"sweep", 1, 0, 'W'},
                                      {"duration", 1, 0, 'd'},
                                      {"warmup", 1, 0, 'm'},
                                      {"connections", 1, 0, 'N'},
                                      {"users", 1, 0, 'U'},
                                      {"hold", 1, 0, 'H'},
                                      {"server-pid", 1, 0, 'P'},
                                      {"json", 0, 0, 'j'},
                                      {"sources", 1, 0, 'A'},
                                      {"password", 1, 0, 'p'},
                                      {"prefix", 1, 0, 'x'},
                                      {"concurrency", 1, 0, 'c'},
                                      {"connect-window", 1, 0, 'k'},
                                      {"content-bytes", 1, 0, 'b'},
                                      {"setup-timeout", 1, 0, 'T'},
                                      {"db", 1, 0, 'D'},
                                      {"population", 1, 0, 'O'},
                                      {"messages", 1, 0, 'G'},
                                      {"direct", 0, 0, 'i'},
                                      {"restart-cmd", 1, 0, 'X'},
                                      {"processes", 1, 0, 'n'},
                                      {"rounds", 1, 0, 'K'},
                                      {"help", 0, 0, 'h'},
                                      {"ca-file", 1, 0, 'C'},
                                      {0, 0, 0, 0}};
    snprintf(prefix, sizeof prefix, "b%d", (int)getpid());
    *o = (bench_opts){.scenario = "fanout",
                      .channels = -1,
                      .members = -1,
                      .senders = -1,
                      .window = -1,
                      .sweep = "0.5",
                      .duration = 5,
                      .warmup = 1,
                      .connections = -1,
                      .users = -1,
                      .hold = 10,
                      .password = "bench-password-1",
                      .prefix = prefix,
                      .concurrency = 32,
                      .connect_window = 256,
                      .content_bytes = 64,
                      .setup_timeout = 120,
                      .population = "1000:2:200:10:18",
                      .messages = "0:0",
                      .rounds = 10};
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
            if (parse_pids(optarg, o) < 0) {
                fprintf(stderr, "chat-bench: bad --server-pid %s\n", optarg);
                return -1;
            }
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
        case 'D':
            o->db = optarg;
            break;
        case 'O':
            o->population = optarg;
            break;
        case 'G':
            o->messages = optarg;
            break;
        case 'i':
            o->direct = 1;
            break;
        case 'X':
            o->restart_cmd = optarg;
            break;
        case 'n':
            o->processes = atoi(optarg);
            break;
        case 'K':
            o->rounds = atoi(optarg);
            break;
        case 'C':
            o->ca_file = optarg;
            break;
        case 'h':
            bench_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    defaults(o);
    if (!o->url && needs_url(o)) {
        fprintf(stderr, "chat-bench: --url is required\n");
        return -1;
    }
    client_url u;
    if (o->url && (client_parse_url(o->url, &u) < 0 || u.port <= 0)) {
        fprintf(stderr, "chat-bench: bad --url %s\n", o->url);
        return -1;
    }
    if (o->url && u.tls) { /* wss:// for every socket, https:// for setup */
        char err[512];
        if (tls_ctx_client(&wsconn_tls, o->ca_file, err, sizeof err) != 0) {
            fprintf(stderr, "chat-bench: %s\n", err);
            return -1;
        }
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
        o->warmup < 0 || o->connections < 1 || o->users < 0 || o->hold < 0 ||
        o->content_bytes < 32 || o->content_bytes > 3900 || o->concurrency < 1 ||
        o->connect_window < 1 || strlen(o->prefix) > 20 || o->processes < 0 || o->rounds < 1 ||
        (o->direct && o->members != 2)) {
        fprintf(stderr, "chat-bench: an option is out of range (see --help)\n");
        return -1;
    }
    return 0;
}
