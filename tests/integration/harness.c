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

/* ---- ownership: everything handed out is freed here ---- */
static char **g_strs;
static size_t g_nstrs, g_capstrs;
static json_t **g_jsons;
static size_t g_njsons, g_capjsons;
static tconn *g_conns;
static chatd_srv *g_srvs[16];
static int g_inited;

static void grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return;
    *cap = *cap ? *cap * 2 : 64;
    *arr = realloc(*arr, *cap * elem);
    if (!*arr) abort();
}

static const char *keep_str(char *s) {
    grow((void **)&g_strs, &g_capstrs, g_nstrs, sizeof *g_strs);
    g_strs[g_nstrs++] = s;
    return s;
}

static json_t *keep_json(json_t *j) {
    if (!j) return NULL;
    grow((void **)&g_jsons, &g_capjsons, g_njsons, sizeof *g_jsons);
    g_jsons[g_njsons++] = j;
    return j;
}

static void harness_init(void) {
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
    return keep_str(s);
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
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void rm_rf(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

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
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
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

    static const char *defaults[][2] = {
        {"--host", "127.0.0.1"}, {"--port", "0"}, {"--argon2", "min"},
        {"--fsync", "off"},      {"--log-level", "info"},
    };
    argv[n++] = bin;
    argv[n++] = "all";
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (has_flag(s, defaults[i][0])) continue;
        argv[n++] = defaults[i][0];
        argv[n++] = defaults[i][1];
    }
    argv[n++] = "--port-file"; argv[n++] = portfile;
    argv[n++] = "--data"; argv[n++] = data;
    argv[n++] = "--secrets"; argv[n++] = secrets;
    for (int i = 0; s->args[i]; i++) argv[n++] = s->args[i];
    argv[n] = NULL;

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

chatd_srv *chatd_start(const char *const *extra_args) {
    harness_init();
    chatd_srv *s = calloc(1, sizeof *s);
    int n = 0;

    if (!s) abort();
    for (; extra_args && extra_args[n] && n < 39; n++) s->args[n] = strdup(extra_args[n]);
    s->args[n] = NULL;
    strcpy(s->dir, "/tmp/chatd-it-XXXXXX");
    if (!mkdtemp(s->dir)) {
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

int chatd_stop(chatd_srv *s) {
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

void chatd_kill9(chatd_srv *s) {
    if (!s || s->pid <= 0) return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

void chatd_restart(chatd_srv *s) {
    assert_int_equal(s->pid, 0);
    if (spawn(s) != 0) fail_msg("chatd did not restart (dir %s)", s->dir);
}

void chatd_free(chatd_srv *s) {
    if (!s) return;
    if (s->pid > 0) chatd_kill9(s);
    const char *keep = getenv("CHATD_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0)
        fprintf(stderr, "harness: kept %s\n", s->dir);
    else
        rm_rf(s->dir);
    for (int i = 0; s->args[i]; i++) free(s->args[i]);
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
    return keep_str(tok);
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
    return keep_str(out);
}

/* ---- HTTP ---- */
int http_call(chatd_srv *s, const char *method, const char *path, const char *body,
              json_t **body_json, const char **raw) {
    http_response r;
    memset(&r, 0, sizeof r);
    if (body_json) *body_json = NULL;
    if (raw) *raw = NULL;
    if (http_request("127.0.0.1", s->port, method, path, body, body ? strlen(body) : 0, 10000,
                     &r) != 0)
        fail_msg("HTTP %s %s: network error/timeout (server port %d)", method, path, s->port);
    int status = r.status;
    if (body_json && r.body) *body_json = keep_json(json_loadb(r.body, r.body_len, 0, NULL));
    if (raw) {
        *raw = r.body ? keep_str(r.body) : "";
        r.body = NULL;
    }
    http_response_free(&r);
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
    json_t *req = json_pack("{s:s,s:s}", "username", name, "password", pw);
    char *body = json_dumps(req, JSON_COMPACT);
    json_t *resp = NULL;
    const char *raw = NULL;
    json_decref(req);
    int st = http_call(s, "POST", "/auth", body, &resp, &raw);
    free(body);
    if (st != 200) fail_msg("POST /auth %s: status %d body %s", name, st, raw);
    return jstr(resp, "sessionToken");
}

int raw_http(chatd_srv *s, const void *data, size_t len, const char **response) {
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t off = 0, rlen = 0, rcap = 65536;
    char *resp = malloc(rcap + 1);
    int64_t deadline = now_ms() + 5000;

    if (fd < 0 || !resp) abort();
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail_msg("raw_http: connect: %s", strerror(errno));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    /* Interleave writing and reading: stop writing as soon as the server
     * answers (it may reply before reading everything, then close). */
    for (;;) {
        struct pollfd p = {fd, POLLIN | (off < len ? POLLOUT : 0), 0};
        int64_t left = deadline - now_ms();
        if (left <= 0) break;
        if (poll(&p, 1, (int)left) <= 0) break;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, resp + rlen, rcap - rlen, 0);
            if (n > 0) {
                rlen += (size_t)n;
                off = len; /* stop sending */
                if (rlen == rcap) break;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;
        }
        if (off < len && (p.revents & POLLOUT)) {
            size_t chunk = len - off > 4096 ? 4096 : len - off;
            ssize_t n = send(fd, (const char *)data + off, chunk, MSG_NOSIGNAL);
            if (n > 0) off += (size_t)n;
            else if (errno != EAGAIN && errno != EINTR) off = len;
        }
    }
    close(fd);
    resp[rlen] = '\0';
    int status = 0;
    if (rlen >= 12 && strncmp(resp, "HTTP/1.", 7) == 0) status = atoi(resp + 9);
    if (response) *response = keep_str(resp);
    else free(resp);
    return status;
}

double metric_value(chatd_srv *s, const char *name) {
    const char *raw = NULL;
    int st = http_call(s, "GET", "/metrics", NULL, NULL, &raw);
    size_t nl = strlen(name);
    if (st != 200) fail_msg("GET /metrics: status %d", st);
    for (const char *line = raw; line && *line;) {
        const char *end = strchr(line, '\n');
        if (line[0] != '#' && strncmp(line, name, nl) == 0 && (line[nl] == ' ' || line[nl] == '{')) {
            const char *sp = line + nl;
            if (*sp == '{') sp = strchr(sp, '}') ? strchr(sp, '}') + 1 : sp;
            return strtod(sp, NULL);
        }
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/* ---- WebSocket connections ---- */
tconn *ws_open(chatd_srv *s, const char *path, const char *extra_headers, const char *label) {
    int status = 0;
    harness_init();
    wsc *ws = wsc_connect("127.0.0.1", s->port, path, extra_headers, 5000, &status);
    if (!ws) fail_msg("WebSocket upgrade %.80s failed: HTTP status %d", path, status);
    tconn *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->ws = ws;
    c->srv = s;
    c->close_code = 0;
    snprintf(c->label, sizeof c->label, "%s", label ? label : path);
    c->next_all = g_conns;
    g_conns = c;
    return c;
}

static void token_user(const char *token, char *out, size_t cap) {
    if (token_verify((const uint8_t *)H_SECRET, H_SECRET_LEN, token, (int64_t)time(NULL), out,
                     cap) != 0)
        out[0] = '\0';
}

tconn *chat_connect(chatd_srv *s, const char *token) {
    char user[40];
    token_user(token, user, sizeof user);
    tconn *c = ws_open(s, hfmt("/chat?token=%s", token), NULL, hfmt("%s/chat", user));
    snprintf(c->user, sizeof c->user, "%s", user);
    json_t *cl = recv_type(c, "channels_list", H_TIMEOUT);
    /* keep it available to the test */
    grow((void **)&c->backlog, &c->cap_backlog, c->n_backlog, sizeof *c->backlog);
    memmove(c->backlog + 1, c->backlog, c->n_backlog * sizeof *c->backlog);
    c->backlog[0] = json_incref(cl);
    c->n_backlog++;
    return c;
}

tconn *presence_connect(chatd_srv *s, const char *token) {
    char user[40];
    token_user(token, user, sizeof user);
    tconn *c = ws_open(s, hfmt("/presence?token=%s", token), NULL, hfmt("%s/presence", user));
    snprintf(c->user, sizeof c->user, "%s", user);
    return c;
}

tconn *chat_login(chatd_srv *s, const char *user) {
    return chat_connect(s, auth(s, user, H_PASSWORD));
}

tconn *presence_login(chatd_srv *s, const char *user) {
    return presence_connect(s, auth(s, user, H_PASSWORD));
}

static void unlink_conn(tconn *c) {
    for (tconn **pp = &g_conns; *pp; pp = &(*pp)->next_all)
        if (*pp == c) {
            *pp = c->next_all;
            break;
        }
    for (size_t i = 0; i < c->n_backlog; i++) json_decref(c->backlog[i]);
    free(c->backlog);
    free(c);
}

void tconn_close(tconn *c) {
    if (!c) return;
    wsc_close(c->ws, c->closed ? 0 : 1000);
    unlink_conn(c);
}

void tconn_drop(tconn *c) {
    if (!c) return;
    wsc_close(c->ws, 0);
    unlink_conn(c);
}

void send_text(tconn *c, const char *data, size_t len) {
    if (wsc_send_text(c->ws, data, len) != 0)
        fail_msg("%s: send failed (closed=%d code=%d)", c->label, c->closed, c->close_code);
}

void send_json(tconn *c, const char *fmt, ...) {
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    keep_str(s);
    send_text(c, s, (size_t)n);
}

void send_pack(tconn *c, const char *fmt, ...) {
    va_list ap;
    json_error_t err;
    va_start(ap, fmt);
    json_t *j = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!j) fail_msg("send_pack: bad pack format: %s", err.text);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    keep_str(s);
    send_text(c, s, strlen(s));
}

/* Reads one message into the backlog. 1 = got something, 0 = timeout,
 * -1 = closed. */
static int pump(tconn *c, int timeout_ms) {
    wsc_msg m;
    if (c->closed) return -1;
    memset(&m, 0, sizeof m);
    int r = wsc_recv(c->ws, timeout_ms < 0 ? 0 : timeout_ms, &m);
    if (r == 0) return 0;
    if (r < 0) {
        c->closed = 1;
        c->close_code = -1;
        return -1;
    }
    json_t *j = NULL;
    switch (m.opcode) {
    case WS_OP_TEXT:
        j = json_loadb(m.data, m.len, 0, NULL);
        if (!j || !json_is_object(j)) {
            json_decref(j);
            j = json_pack("{s:s,s:s%}", "type", "__not_a_json_object__", "raw", m.data, m.len);
        }
        break;
    case WS_OP_BINARY:
        j = json_pack("{s:s,s:i}", "type", "__binary__", "len", (int)m.len);
        break;
    case WS_OP_CLOSE:
        c->closed = 1;
        c->close_code = m.close_code;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", m.close_reason);
        wsc_msg_free(&m);
        return -1;
    case WS_OP_PONG:
        c->pongs++;
        snprintf(c->last_pong, sizeof c->last_pong, "%.*s", (int)(m.len < 127 ? m.len : 127),
                 m.data ? m.data : "");
        break;
    default:
        break;
    }
    wsc_msg_free(&m);
    if (j) {
        grow((void **)&c->backlog, &c->cap_backlog, c->n_backlog, sizeof *c->backlog);
        c->backlog[c->n_backlog++] = j;
    }
    return 1;
}

static json_t *take(tconn *c, size_t i) {
    json_t *j = c->backlog[i];
    memmove(c->backlog + i, c->backlog + i + 1, (c->n_backlog - i - 1) * sizeof *c->backlog);
    c->n_backlog--;
    return keep_json(j);
}

json_t *try_recv_match(tconn *c, frame_pred pred, const void *ctx, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    size_t scanned = 0;
    for (;;) {
        for (; scanned < c->n_backlog; scanned++)
            if (pred(c->backlog[scanned], ctx)) return take(c, scanned);
        int64_t left = deadline - now_ms();
        if (left < 0) return NULL;
        if (pump(c, (int)left) < 0) {
            /* a close: look at anything appended before it, then give up */
            for (; scanned < c->n_backlog; scanned++)
                if (pred(c->backlog[scanned], ctx)) return take(c, scanned);
            return NULL;
        }
    }
}

static int pred_type(json_t *f, const void *ctx) {
    json_t *t = json_object_get(f, "type");
    return json_is_string(t) && strcmp(json_string_value(t), (const char *)ctx) == 0;
}

json_t *try_recv_type(tconn *c, const char *type, int timeout_ms) {
    return try_recv_match(c, pred_type, type, timeout_ms);
}

static void report_backlog(tconn *c) {
    fprintf(stderr, "  [%s] closed=%d close_code=%d reason='%s'; %zu frame(s) queued:\n",
            c->label, c->closed, c->close_code, c->close_reason, c->n_backlog);
    for (size_t i = 0; i < c->n_backlog && i < 12; i++)
        fprintf(stderr, "    %.300s\n", jdump(c->backlog[i]));
}

json_t *recv_match(tconn *c, frame_pred pred, const void *ctx, int timeout_ms, const char *what) {
    json_t *j = try_recv_match(c, pred, ctx, timeout_ms);
    if (!j) {
        report_backlog(c);
        fail_msg("%s: no %s within %d ms", c->label, what, timeout_ms);
    }
    return j;
}

json_t *recv_type(tconn *c, const char *type, int timeout_ms) {
    json_t *j = try_recv_type(c, type, timeout_ms);
    if (!j) {
        report_backlog(c);
        fail_msg("%s: no \"%s\" frame within %d ms", c->label, type, timeout_ms);
    }
    return j;
}

void recv_none(tconn *c, int ms) {
    if (c->n_backlog == 0) pump(c, ms);
    if (c->n_backlog > 0) {
        report_backlog(c);
        fail_msg("%s: expected no frame, got %s", c->label, jdump(c->backlog[0]));
    }
}

void recv_none_type(tconn *c, const char *type, int ms) {
    json_t *j = try_recv_type(c, type, ms);
    if (j) fail_msg("%s: expected no \"%s\" frame, got %s", c->label, type, jdump(j));
}

void drain(tconn *c, int ms) {
    int64_t deadline = now_ms() + ms;
    while (now_ms() < deadline && pump(c, (int)(deadline - now_ms())) > 0) {
    }
    for (size_t i = 0; i < c->n_backlog; i++) json_decref(c->backlog[i]);
    c->n_backlog = 0;
}

size_t backlog_count(tconn *c, const char *type) {
    size_t n = 0;
    for (size_t i = 0; i < c->n_backlog; i++)
        if (!type || pred_type(c->backlog[i], type)) n++;
    return n;
}

void expect_close(tconn *c, int code, const char *reason) {
    int64_t deadline = now_ms() + 5000;
    while (!c->closed && now_ms() < deadline) pump(c, (int)(deadline - now_ms()));
    if (!c->closed) {
        report_backlog(c);
        fail_msg("%s: expected close %d, connection still open after 5 s", c->label, code);
    }
    if (c->close_code != code) {
        report_backlog(c);
        fail_msg("%s: expected close code %d, got %d (reason '%s'; -1 = EOF without a close "
                 "frame)",
                 c->label, code, c->close_code, c->close_reason);
    }
    if (reason) assert_string_equal(c->close_reason, reason);
}

json_t *expect_error(tconn *c, const char *code, const char *request_type) {
    json_t *e = recv_type(c, "error", H_TIMEOUT);
    const char *got = jstr(e, "code");
    if (strcmp(got, code) != 0) fail_msg("%s: expected error code %s, got %s", c->label, code, jdump(e));
    const char *msg = jstr(e, "error");
    if (!*msg) fail_msg("error frame with an empty \"error\" sentence: %s", jdump(e));
    const char *rt = jstr(e, "request_type");
    if (request_type) assert_string_equal(rt, request_type);
    return e;
}

/* ---- chat helpers ---- */
static int pred_joined(json_t *f, const void *ctx) {
    return pred_type(f, "channel_joined") &&
           json_is_string(json_object_get(f, "channelId")) &&
           strcmp(json_string_value(json_object_get(f, "channelId")), ctx) == 0;
}

const char *create_group(tconn *c, const char *name, const char *const *participants) {
    json_t *arr = json_array();
    for (size_t i = 0; participants && participants[i]; i++)
        json_array_append_new(arr, json_string(participants[i]));
    send_pack(c, "{s:s,s:s,s:o}", "type", "create_channel", "name", name, "participants", arr);
    json_t *cr = recv_type(c, "channel_created", H_TIMEOUT);
    const char *id = jstr(jobj(cr, "channel"), "channel_id");
    recv_match(c, pred_joined, id, H_TIMEOUT, "channel_joined for the new channel");
    return id;
}

struct msg_ctx {
    const char *channel;
    const char *content;
};

static int pred_msg(json_t *f, const void *ctx) {
    const struct msg_ctx *m = ctx;
    json_t *ch = json_object_get(f, "channel_id"), *ct = json_object_get(f, "content");
    return pred_type(f, "chat_message") && json_is_string(ch) && json_is_string(ct) &&
           strcmp(json_string_value(ch), m->channel) == 0 &&
           strcmp(json_string_value(ct), m->content) == 0;
}

json_t *send_msg(tconn *c, const char *channel_id, const char *content) {
    struct msg_ctx m = {channel_id, content};
    send_pack(c, "{s:s,s:s,s:s}", "type", "chat_message", "channelId", channel_id, "content",
              content);
    return recv_match(c, pred_msg, &m, H_TIMEOUT, hfmt("echo of \"%.40s\"", content));
}

static int pred_history(json_t *f, const void *ctx) {
    json_t *ch = json_object_get(f, "channel_id");
    return pred_type(f, "history") && json_is_string(ch) &&
           strcmp(json_string_value(ch), ctx) == 0;
}

json_t *fetch_history(tconn *c, const char *channel_id, const char *before, const char *after,
                      int limit) {
    json_t *req = json_pack("{s:s,s:s}", "type", "fetch_history", "channelId", channel_id);
    if (before) json_object_set_new(req, "before", json_string(before));
    if (after) json_object_set_new(req, "after", json_string(after));
    if (limit) json_object_set_new(req, "limit", json_integer(limit));
    char *s = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    keep_str(s);
    send_text(c, s, strlen(s));
    return recv_match(c, pred_history, channel_id, 5000, "history reply");
}

json_t *fetch_all(tconn *c, const char *channel_id) {
    json_t *all = keep_json(json_array());
    const char *before = NULL;
    for (int pages = 0; pages < 10000; pages++) {
        json_t *h = fetch_history(c, channel_id, before, NULL, 100);
        json_t *msgs = jarr(h, "messages");
        json_t *page = json_copy(msgs);
        json_array_extend(page, all);
        json_array_clear(all);
        json_array_extend(all, page);
        json_decref(page);
        if (!jbool(h, "has_more") || json_array_size(msgs) == 0) break;
        before = jstr(json_array_get(msgs, 0), "message_id");
    }
    return all;
}

/* ---- JSON accessors ---- */
const char *jdump(json_t *o) {
    if (!o) return "(null)";
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
    return s ? keep_str(s) : "(unencodable)";
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
    json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static int digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

int is_iso_ms(const char *s) {
    /* 2026-11-24T20:31:05.123Z */
    return s && strlen(s) == 24 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2) &&
           s[7] == '-' && digits(s + 8, 2) && s[10] == 'T' && digits(s + 11, 2) &&
           s[13] == ':' && digits(s + 14, 2) && s[16] == ':' && digits(s + 17, 2) &&
           s[19] == '.' && digits(s + 20, 3) && s[23] == 'Z';
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
    while (g_conns) tconn_drop(g_conns);
    for (size_t i = 0; i < sizeof g_srvs / sizeof g_srvs[0]; i++)
        if (g_srvs[i]) chatd_free(g_srvs[i]);
    for (size_t i = 0; i < g_njsons; i++) json_decref(g_jsons[i]);
    for (size_t i = 0; i < g_nstrs; i++) free(g_strs[i]);
    free(g_jsons);
    free(g_strs);
    g_jsons = NULL;
    g_strs = NULL;
    g_njsons = g_nstrs = g_capjsons = g_capstrs = 0;
}
