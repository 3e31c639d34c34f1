/*
 * harness: see harness.h. Everything here is blocking and single-threaded,
 * which keeps the tests easy to read: a test is a script of "send this,
 * expect that".
 */
#define _GNU_SOURCE
#include "integration/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/token.h"
#include "integration/hcluster.h"
#include "net/client.h"
#include "integration/rawsock.h"
#include "svcutil.h"

/* ---- ownership: everything handed out is freed here ---- */
static char **g_strs;
static size_t g_nstrs, g_capstrs;
static json_t **g_jsons;
static size_t g_njsons, g_capjsons;
static chatd_srv *g_srvs[16];
static int g_inited;

void harness__grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return;
    *cap = *cap ? *cap * 2 : 64;
    *arr = realloc(*arr, *cap * elem);
    if (!*arr) abort();
}

const char *harness__keep_str(char *s) {
    harness__grow((void **)&g_strs, &g_capstrs, g_nstrs, sizeof *g_strs);
    g_strs[g_nstrs++] = s;
    return s;
}

json_t *harness__keep_json(json_t *j) {
    if (!j) return NULL;
    harness__grow((void **)&g_jsons, &g_capjsons, g_njsons, sizeof *g_jsons);
    g_jsons[g_njsons++] = j;
    return j;
}

void harness__init(void) {
    struct rlimit rl;

    if (g_inited) return;
    g_inited = 1;
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    atexit(harness_cleanup);
}

const char *hfmt(const char *fmt, ...) {
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    return harness__keep_str(s);
}

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- server process ---- */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *dir) {
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static int has_flag(const chatd_srv *s, const char *flag) {
    for (int i = 0; s->args[i]; i++)
        if (strcmp(s->args[i], flag) == 0) return 1;
    return 0;
}

void chatd_dump_log(const chatd_srv *s, size_t tail_bytes) {
    char path[300];
    if (s->cluster) {
        hcluster_dump_logs(s->cluster);
        return;
    }
    snprintf(path, sizeof path, "%s/chatd.log", s->dir);
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)tail_bytes ? size - (long)tail_bytes : 0;
    fseek(f, from, SEEK_SET);
    fprintf(stderr, "---- %s (last %ld bytes) ----\n", path, size - from);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

/* ---- TLS mode (CHATD_IT_TLS=1): every server speaks https:// and wss://
 * with a certificate from a throw-away CA (scripts/mkcert.sh), and every
 * client of the harness trusts that CA. ---- */
static int g_tls_state; /* 0 unknown, 1 off, 2 on */
static tls_ctx *g_tls;
static char g_cert_dir[256], g_cert[300], g_key[300];

tls_ctx *harness_tls(void) {
    if (g_tls_state) return g_tls;
    const char *on = getenv("CHATD_IT_TLS");
    g_tls_state = 1;
    if (!on || strcmp(on, "1") != 0) return NULL;
    if (!svc_mkdtemp(g_cert_dir, sizeof g_cert_dir, "chatd-it-tls-")) abort();
    char cmd[700], err[512], ca[300];
    snprintf(cmd, sizeof cmd, "%s/../../scripts/mkcert.sh '%s'", CHATD_FIXTURES, g_cert_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "harness: %s failed\n", cmd);
        abort();
    }
    snprintf(ca, sizeof ca, "%s/ca.pem", g_cert_dir);
    snprintf(g_cert, sizeof g_cert, "%s/server.pem", g_cert_dir);
    snprintf(g_key, sizeof g_key, "%s/server.key", g_cert_dir);
    if (tls_ctx_client(&g_tls, ca, err, sizeof err) != 0) {
        fprintf(stderr, "harness: %s\n", err);
        abort();
    }
    g_tls_state = 2;
    return g_tls;
}

const char *harness_tls_dir(void) {
    return harness_tls() ? g_cert_dir : NULL;
}

/* out[] = the harness defaults not overridden by s->args, then s->args,
 * then NULL (room: 2 * 7 + 40). */
static void with_defaults(const chatd_srv *s, const char **out) {
    static const char *defaults[][2] = {
        {"--argon2", "min"},
        {"--fsync", "off"},
        {"--log-level", "info"},
        /* tests make accounts and fail logins faster than people do */
        {"--register-per-sec", "100000"},
        {"--auth-fail-per-addr", "100000"}};
    int n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (has_flag(s, defaults[i][0])) continue;
        out[n++] = defaults[i][0];
        out[n++] = defaults[i][1];
    }
    if (harness_tls() && !has_flag(s, "--tls-cert")) {
        out[n++] = "--tls-cert";
        out[n++] = g_cert;
        out[n++] = "--tls-key";
        out[n++] = g_key;
    }
    for (int i = 0; s->args[i]; i++)
        out[n++] = s->args[i];
    out[n] = NULL;
}

/* Cluster mode: the whole cluster instead of one process. With the
 * default flags and CHATD_IT_CLUSTER_SHARED=DIR (scripts/run-tests.sh),
 * the one cluster in DIR that the test binaries share. 0 or -1. */
static int start_cluster(chatd_srv *s, const char *bus) {
    const char *flags[60];
    const char *shared = getenv("CHATD_IT_CLUSTER_SHARED");
    with_defaults(s, flags);
    s->cluster = calloc(1, sizeof *s->cluster);
    if (!s->cluster) abort();
    int rc = shared && *shared && !s->args[0] ? hcluster_attach(s->cluster, bus, shared, flags)
                                              : hcluster_up(s->cluster, bus, flags);
    if (rc != 0) return -1;
    s->port = s->cluster->api_port;
    hcluster_warm_up(s);
    return 0;
}

/* Spawns the process and waits for the port file. 0 or -1. */
static int spawn(chatd_srv *s) {
    const char *bin = getenv("CHATD_BIN");
    char portfile[300], data[300], secrets[300], logpath[300];
    const char *argv[80];
    int n = 0;

    if (!bin || !*bin) bin = "build/chatd";
    snprintf(portfile, sizeof portfile, "%s/port", s->dir);
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(secrets, sizeof secrets, "%s/secrets", s->dir);
    snprintf(logpath, sizeof logpath, "%s/chatd.log", s->dir);
    unlink(portfile);

    argv[n++] = bin;
    argv[n++] = "all";
    argv[n++] = "--host";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    argv[n++] = "--data";
    argv[n++] = data;
    argv[n++] = "--secrets";
    argv[n++] = secrets;
    with_defaults(s, argv + n);

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        if (getppid() != parent) _exit(127);
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(bin, (char *const *)argv);
        fprintf(stderr, "harness: execv %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    s->pid = pid;
    s->port = 0;

    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            fprintf(stderr, "harness: chatd (%s) exited during start-up (status %d)\n", bin, st);
            chatd_dump_log(s, 4000);
            return -1;
        }
        FILE *f = fopen(portfile, "r");
        if (f) {
            int port = 0;
            int ok = fscanf(f, "%d", &port);
            fclose(f);
            if (ok == 1 && port > 0 && port < 65536) {
                s->port = port;
                return 0;
            }
        }
        sleep_ms(10);
    }
    fprintf(stderr, "harness: chatd did not write %s within 10 s\n", portfile);
    chatd_dump_log(s, 4000);
    chatd_kill9(s);
    return -1;
}

chatd_srv *H_SRV;

int harness_group_setup(void **state) {
    (void)state;
    H_SRV = chatd_start(NULL);
    return H_SRV ? 0 : -1;
}

int harness_group_teardown(void **state) {
    (void)state;
    int rc = chatd_stop(H_SRV);
    chatd_free(H_SRV);
    H_SRV = NULL;
    return rc == 0 ? 0 : -1;
}

chatd_srv *chatd_start(const char *const *extra_args) {
    harness__init();
    chatd_srv *s = calloc(1, sizeof *s);
    int n = 0;

    if (!s) abort();
    for (; extra_args && extra_args[n] && n < 39; n++)
        s->args[n] = strdup(extra_args[n]);
    s->args[n] = NULL;
    if (!svc_mkdtemp(s->dir, sizeof s->dir, "chatd-it-")) {
        free(s);
        fail_msg("mkdtemp: %s", strerror(errno));
        return NULL;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/secrets", s->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/data", s->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/secrets/jwt_secret.txt", s->dir);
    if (write_file(path, H_SECRET, H_SECRET_LEN) != 0) fail_msg("cannot write %s", path);
    for (size_t i = 0; i < sizeof g_srvs / sizeof g_srvs[0]; i++)
        if (!g_srvs[i]) {
            g_srvs[i] = s;
            break;
        }
    const char *bus = hcluster_env_bus();
    if (bus) {
        if (start_cluster(s, bus) != 0) fail_msg("the cluster (%s bus) did not start", bus);
        return s;
    }
    if (spawn(s) != 0) {
        fail_msg("chatd did not start (dir %s)", s->dir);
        return NULL;
    }
    return s;
}

static int wait_exit(chatd_srv *s, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    int st;
    while (now_ms() < deadline) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1 - (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        }
        if (r < 0) {
            s->pid = 0;
            return -1;
        }
        sleep_ms(5);
    }
    return -1000; /* still running */
}

static void single_only(const chatd_srv *s, const char *what) {
    if (s && s->cluster) fail_msg("%s: not in cluster mode (one process only)", what);
}

int chatd_stop(chatd_srv *s) {
    if (s && s->cluster) return hcluster_down(s->cluster);
    if (!s || s->pid <= 0) return -1;
    kill(s->pid, SIGTERM);
    int rc = wait_exit(s, 10000);
    if (rc == -1000) {
        fprintf(stderr, "harness: chatd did not exit within 10 s of SIGTERM\n");
        chatd_dump_log(s, 3000);
        chatd_kill9(s);
        return -1;
    }
    if (rc != 0) {
        fprintf(stderr, "harness: chatd exit status %d after SIGTERM (< -1: signal %d)\n", rc,
                -rc - 1);
        chatd_dump_log(s, 3000);
        return rc < 0 ? -1 : rc;
    }
    return 0;
}

void chatd_term(chatd_srv *s) {
    single_only(s, "chatd_term");
    if (s && s->pid > 0) kill(s->pid, SIGTERM);
}

int chatd_wait(chatd_srv *s, int timeout_ms) {
    single_only(s, "chatd_wait");
    if (!s || s->pid <= 0) fail_msg("chatd_wait: not running");
    int rc = wait_exit(s, timeout_ms);
    if (rc == -1000) {
        chatd_dump_log(s, 3000);
        chatd_kill9(s);
        fail_msg("chatd did not exit within %d ms", timeout_ms);
    }
    if (rc != 0) chatd_dump_log(s, 3000);
    return rc < 0 ? -1 : rc;
}

void chatd_kill9(chatd_srv *s) {
    single_only(s, "chatd_kill9");
    if (!s || s->pid <= 0) return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

void chatd_restart(chatd_srv *s) {
    single_only(s, "chatd_restart");
    assert_int_equal(s->pid, 0);
    if (spawn(s) != 0) fail_msg("chatd did not restart (dir %s)", s->dir);
}

void chatd_free(chatd_srv *s) {
    if (!s) return;
    if (s->cluster) {
        hcluster_down(s->cluster);
        free(s->cluster);
        s->cluster = NULL;
    }
    if (s->pid > 0) chatd_kill9(s);
    const char *keep = getenv("CHATD_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0)
        fprintf(stderr, "harness: kept %s\n", s->dir);
    else
        rm_rf(s->dir);
    for (int i = 0; s->args[i]; i++)
        free(s->args[i]);
    for (size_t i = 0; i < sizeof g_srvs / sizeof g_srvs[0]; i++)
        if (g_srvs[i] == s) g_srvs[i] = NULL;
    free(s);
}

/* ---- names, tokens ---- */
const char *uniq_name(const char *prefix) {
    static int counter;
    char tail[24];
    snprintf(tail, sizeof tail, "%d_%d", ++counter, (int)getpid());
    size_t room = 32 - strlen(tail);
    return hfmt("%.*s%s", (int)room, prefix, tail);
}

const char *new_user(chatd_srv *s, const char *prefix) {
    const char *name = uniq_name(prefix);
    int st = register_user(s, name, H_PASSWORD);
    if (st != 201) fail_msg("register %s: status %d, expected 201", name, st);
    return name;
}

const char *forge_token(const char *username, int64_t iat_offset_s, int64_t ttl_s) {
    char *tok = NULL;
    int rc = token_issue((const uint8_t *)H_SECRET, H_SECRET_LEN, username,
                         (int64_t)time(NULL) + iat_offset_s, ttl_s, &tok);
    if (rc != 0) fail_msg("token_issue(%s) = %d", username, rc);
    return harness__keep_str(tok);
}

const char *b64url(const void *data, size_t len) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *p = data;
    char *out = malloc(len * 4 / 3 + 4);
    size_t o = 0, i = 0;

    if (!out) abort();
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
    }
    out[o] = '\0';
    return harness__keep_str(out);
}

/* ---- HTTP ---- */
int http_call(chatd_srv *s, const char *method, const char *path, const char *body,
              json_t **body_json, const char **raw) {
    client_response r;
    memset(&r, 0, sizeof r);
    if (body_json) *body_json = NULL;
    if (raw) *raw = NULL;
    if (client_http_request(harness_tls(), "127.0.0.1", s->port, method, path, body,
                            body ? strlen(body) : 0, 10000, &r) != 0)
        fail_msg("HTTP %s %s: network error/timeout (server port %d)", method, path, s->port);
    int status = r.status;
    if (body_json && r.body)
        *body_json = harness__keep_json(json_loadb(r.body, r.body_len, 0, NULL));
    if (raw) {
        *raw = r.body ? harness__keep_str(r.body) : "";
        r.body = NULL;
    }
    client_response_free(&r);
    return status;
}

int register_user(chatd_srv *s, const char *name, const char *pw) {
    json_t *req = json_pack("{s:s,s:s}", "username", name, "password", pw);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    int st = http_call(s, "POST", "/register", body, NULL, NULL);
    free(body);
    return st;
}

const char *auth(chatd_srv *s, const char *name, const char *pw) {
    return jstr(auth_response(s, name, pw), "sessionToken");
}

json_t *auth_response(chatd_srv *s, const char *name, const char *pw) {
    json_t *req = json_pack("{s:s,s:s}", "username", name, "password", pw);
    char *body = json_dumps(req, JSON_COMPACT);
    json_t *resp = NULL;
    const char *raw = NULL;
    json_decref(req);
    int st = http_call(s, "POST", "/auth", body, &resp, &raw);
    free(body);
    if (st != 200) fail_msg("POST /auth %s: status %d body %s", name, st, raw);
    return resp;
}

int chatd_log_count(const chatd_srv *s, const char *needle) {
    FILE *f = fopen(hfmt("%s/chatd.log", s->dir), "r");
    if (!f) return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle)) n++;
    fclose(f);
    return n;
}

void chatd_reload(chatd_srv *s) {
    single_only(s, "chatd_reload");
    int before = chatd_log_count(s, "reload done");
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    int64_t deadline = now_ms() + 5000;
    while (chatd_log_count(s, "reload done") == before) {
        if (now_ms() > deadline) {
            chatd_dump_log(s, 2000);
            fail_msg("no \"reload done\" within 5 s of SIGHUP");
        }
        sleep_ms(20);
    }
}

int raw_http(chatd_srv *s, const void *data, size_t len, const char **response) {
    size_t rcap = 65536;
    char *resp = malloc(rcap + 1);
    if (!resp) abort();
    int fd = raw_connect(s->port, NULL);
    if (fd < 0) fail_msg("raw_http: cannot connect to port %d", s->port);
    int rlen = raw_exchange(fd, data, len, resp, rcap, 5000);
    close(fd);
    resp[rlen] = '\0';
    int status = 0;
    if (rlen >= 12 && strncmp(resp, "HTTP/1.", 7) == 0) status = atoi(resp + 9);
    if (response)
        *response = harness__keep_str(resp);
    else
        free(resp);
    return status;
}

int chatd_serves(const chatd_srv *s, const char *kind, int port) {
    if (!s->cluster) return port == s->port;
    int is_chat = strcmp(kind, "chat") == 0;
    for (int i = 0; i < (is_chat ? HC_CHAT : HC_PRESENCE); i++)
        if (port == (is_chat ? s->cluster->chat_port[i] : s->cluster->presence_port[i])) return 1;
    return 0;
}

int chatd_ws_port(chatd_srv *s, const char *path) {
    return s->cluster ? hcluster_ws_port(s->cluster, path) : s->port;
}

static double metric_one(chatd_srv *s, const char *name);

double metric_value(chatd_srv *s, const char *name) {
    if (!s->cluster) return metric_one(s, name);
    int ports[16], n = hcluster_http_ports(s->cluster, ports, 16);
    double sum = -1;
    for (int i = 0; i < n; i++) {
        chatd_srv one = {.port = ports[i]};
        double v = metric_one(&one, name);
        if (v >= 0) sum = (sum < 0 ? 0 : sum) + v;
    }
    return sum;
}

static double metric_one(chatd_srv *s, const char *name) {
    const char *raw = NULL;
    int st = http_call(s, "GET", "/metrics", NULL, NULL, &raw);
    size_t nl = strlen(name);
    if (st != 200) fail_msg("GET /metrics: status %d", st);
    for (const char *line = raw; line && *line;) {
        const char *end = strchr(line, '\n');
        if (line[0] != '#' && strncmp(line, name, nl) == 0 &&
            (line[nl] == ' ' || line[nl] == '{')) {
            const char *sp = line + nl;
            if (*sp == '{') sp = strchr(sp, '}') ? strchr(sp, '}') + 1 : sp;
            return strtod(sp, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/* ---- JSON accessors ---- */
const char *jdump(json_t *o) {
    if (!o) return "(null)";
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    return s ? harness__keep_str(s) : "(unencodable)";
}

static json_t *jget(json_t *o, const char *key) {
    if (!json_is_object(o)) fail_msg("expected an object with \"%s\", got %s", key, jdump(o));
    json_t *v = json_object_get(o, key);
    if (!v) fail_msg("field \"%s\" missing in %.600s", key, jdump(o));
    return v;
}

const char *jstr(json_t *o, const char *key) {
    json_t *v = jget(o, key);
    if (!json_is_string(v)) fail_msg("field \"%s\" is not a string in %.600s", key, jdump(o));
    return json_string_value(v);
}

json_int_t jint(json_t *o, const char *key) {
    json_t *v = jget(o, key);
    if (!json_is_integer(v)) fail_msg("field \"%s\" is not an integer in %.600s", key, jdump(o));
    return json_integer_value(v);
}

json_t *jobj(json_t *o, const char *key) {
    json_t *v = jget(o, key);
    if (!json_is_object(v)) fail_msg("field \"%s\" is not an object in %.600s", key, jdump(o));
    return v;
}

json_t *jarr(json_t *o, const char *key) {
    json_t *v = jget(o, key);
    if (!json_is_array(v)) fail_msg("field \"%s\" is not an array in %.600s", key, jdump(o));
    return v;
}

int jbool(json_t *o, const char *key) {
    json_t *v = jget(o, key);
    if (!json_is_boolean(v)) fail_msg("field \"%s\" is not a boolean in %.600s", key, jdump(o));
    return json_is_true(v);
}

int jarr_has_str(json_t *arr, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static int digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

int is_iso_ms(const char *s) {
    /* 2026-11-24T20:31:05.123Z */
    return s && strlen(s) == 24 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) && s[7] == '-' &&
           digits(s + 8, 2) && s[10] == 'T' && digits(s + 11, 2) && s[13] == ':' &&
           digits(s + 14, 2) && s[16] == ':' && digits(s + 17, 2) && s[19] == '.' &&
           digits(s + 20, 3) && s[23] == 'Z';
}

int is_uuid(const char *s) {
    if (!s || strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

int is_decimal_id(const char *s) {
    if (!s || !*s || strlen(s) > 20 || s[0] == '0') return 0;
    return digits(s, (int)strlen(s)) && strtoull(s, NULL, 10) > 0;
}

/* ---- cleanup ---- */
void harness_cleanup(void) {
    for (size_t i = 0; i < sizeof g_srvs / sizeof g_srvs[0]; i++)
        if (g_srvs[i]) chatd_free(g_srvs[i]);
    for (size_t i = 0; i < g_njsons; i++)
        json_decref(g_jsons[i]);
    for (size_t i = 0; i < g_nstrs; i++)
        free(g_strs[i]);
    free(g_jsons);
    free(g_strs);
    g_jsons = NULL;
    g_strs = NULL;
    g_njsons = g_nstrs = g_capjsons = g_capstrs = 0;
    if (g_tls_state == 2) {
        tls_ctx_free(g_tls);
        g_tls = NULL;
        svc_rmrf(g_cert_dir);
        g_tls_state = 0;
    }
}
