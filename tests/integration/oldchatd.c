/*
 * oldchatd: a protocol 1.0 stand-in server for the CLI's compatibility
 * tests. See oldchatd.h. One child process, blocking sockets and one
 * poll() loop: the client under test is the only peer.
 */
#define _GNU_SOURCE
#include "integration/oldchatd.h"
#include "integration/harness.h"
#include "net/ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#define MAX_CONNS 16
#define BUF_CAP (1 << 16)

enum { K_HTTP, K_CHAT, K_PRESENCE };

typedef struct fconn {
    int fd;
    int kind;
    uint8_t buf[BUF_CAP];
    size_t len;
} fconn;

static fconn *g_conns[MAX_CONNS];
static volatile sig_atomic_t g_away;
static char g_user[64] = "alice";
static json_t *g_msgs; /* the channel's messages, oldest first */
static unsigned long long g_next_id = 7400000000000000000ull;
static int g_seq;
static int g_port;
static const char *g_log;

static void on_usr1(int sig) {
    (void)sig;
    g_away = 1;
}

static void send_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

static void ws_send(fconn *c, int opcode, const void *data, size_t len) {
    uint8_t head[WS_MAX_HEADER];
    size_t hl = ws_write_header(head, 1, opcode, len, NULL);
    send_all(c->fd, head, hl);
    send_all(c->fd, data, len);
}

static void ws_send_json(fconn *c, json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT);
    ws_send(c, WS_OP_TEXT, s, strlen(s));
    free(s);
    json_decref(o);
}

static void drop(int i) {
    close(g_conns[i]->fd);
    free(g_conns[i]);
    g_conns[i] = NULL;
}

static json_t *make_msg(const char *user, const char *content, const char *cmid) {
    char id[24];
    snprintf(id, sizeof id, "%llu", g_next_id++);
    json_t *m =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{}, s:i}", "channel_id", OLDCHATD_CHANNEL,
                  "message_id", id, "user_id", user, "sender_id", user, "content", content,
                  "created_at", "2026-12-02T10:00:00.000Z", "metadata", "seq", ++g_seq);
    if (cmid) json_object_set_new(m, "client_msg_id", json_string(cmid));
    json_array_append(g_msgs, m);
    return m;
}

static json_t *channels_list(void) {
    json_t *last = json_array_get(g_msgs, json_array_size(g_msgs) - 1);
    return json_pack("{s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:n, s:[s], s:i, s:O, s:n}]}", "type",
                     "channels_list", "channels", "user_id", g_user, "channel_id", OLDCHATD_CHANNEL,
                     "channel_name", "Old", "channel_type", "group", "is_direct", 0, "last_read_at",
                     "other_participants", "bob", "unread_count", 0, "last_message_id",
                     last ? json_object_get(last, "message_id") : json_null(),
                     "last_read_message_id");
}

static unsigned long long id_of(json_t *m) {
    const char *s = json_string_value(json_object_get(m, "message_id"));
    return s ? strtoull(s, NULL, 10) : 0;
}

/* fetch_history: after / before / the newest, up to limit. */
static json_t *history(json_t *req) {
    const char *after = json_string_value(json_object_get(req, "after"));
    const char *before = json_string_value(json_object_get(req, "before"));
    json_int_t limit = json_integer_value(json_object_get(req, "limit"));
    if (limit <= 0 || limit > 100) limit = 50;
    json_t *out = json_array();
    size_t n = json_array_size(g_msgs), i;
    if (after) {
        unsigned long long a = strtoull(after, NULL, 10);
        for (i = 0; i < n && (json_int_t)json_array_size(out) < limit; i++)
            if (id_of(json_array_get(g_msgs, i)) > a)
                json_array_append(out, json_array_get(g_msgs, i));
    } else {
        unsigned long long b = before ? strtoull(before, NULL, 10) : ~0ull;
        size_t first = n;
        json_int_t taken = 0;
        while (first > 0 && taken < limit) {
            if (id_of(json_array_get(g_msgs, first - 1)) < b) taken++;
            first--;
        }
        for (i = first; i < n; i++)
            if (id_of(json_array_get(g_msgs, i)) < b)
                json_array_append(out, json_array_get(g_msgs, i));
    }
    return json_pack("{s:s, s:s, s:o, s:b}", "type", "history", "channel_id", OLDCHATD_CHANNEL,
                     "messages", out, "has_more", 0);
}

static void log_type(const char *type) {
    FILE *f = fopen(g_log, "a");
    if (!f) return;
    fprintf(f, "%s\n", type);
    fclose(f);
}

static void broadcast(json_t *frame) {
    for (int i = 0; i < MAX_CONNS; i++)
        if (g_conns[i] && g_conns[i]->kind == K_CHAT) ws_send_json(g_conns[i], json_incref(frame));
    json_decref(frame);
}

static void on_chat_frame(fconn *c, json_t *f) {
    const char *type = json_string_value(json_object_get(f, "type"));
    const char *ch = json_string_value(json_object_get(f, "channelId"));
    type = type ? type : "";
    log_type(type);
    if (strcmp(type, "chat_message") == 0 && ch && strcmp(ch, OLDCHATD_CHANNEL) == 0) {
        json_t *m = make_msg(g_user, json_string_value(json_object_get(f, "content")),
                             json_string_value(json_object_get(f, "client_msg_id")));
        json_t *frame = json_deep_copy(m);
        json_object_set_new(frame, "type", json_string("chat_message"));
        json_decref(m);
        broadcast(frame);
    } else if (strcmp(type, "join_channel") == 0) {
        ws_send_json(c,
                     json_pack("{s:s, s:s, s:O, s:[{s:s, s:s, s:s, s:s}]}", "type",
                               "channel_joined", "channelId", OLDCHATD_CHANNEL, "messages", g_msgs,
                               "participants", "channel_id", OLDCHATD_CHANNEL, "user_id", g_user,
                               "joined_at", "2026-12-02T10:00:00.000Z", "role", "admin"));
    } else if (strcmp(type, "fetch_history") == 0) {
        ws_send_json(c, history(f));
    } else if (strcmp(type, "mark_channel_read") == 0) {
        ws_send_json(c, json_pack("{s:s, s:s, s:s, s:n, s:s}", "type", "channel_read", "channel_id",
                                  OLDCHATD_CHANNEL, "user_id", g_user, "last_read_message_id",
                                  "last_read_at", "2026-12-02T10:00:00.000Z"));
    } else {
        ws_send_json(c, json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "error",
                                  "Unknown message type", "code", "unknown_type", "request_type",
                                  type));
    }
}

/* Every complete frame in c's buffer. -1 when c must be dropped. */
static int ws_input(fconn *c) {
    for (;;) {
        ws_header h;
        int hl = ws_parse_header(c->buf, c->len, 1, BUF_CAP - WS_MAX_HEADER, &h);
        if (hl == WS_INCOMPLETE) return 0;
        if (hl < 0) return -1;
        size_t total = (size_t)hl + (size_t)h.payload_len;
        if (c->len < total) return 0;
        uint8_t *payload = c->buf + hl;
        ws_mask(payload, (size_t)h.payload_len, h.mask, 0);
        if (h.opcode == WS_OP_CLOSE) {
            ws_send(c, WS_OP_CLOSE, payload, h.payload_len >= 2 ? 2 : 0);
            return -1;
        }
        if (h.opcode == WS_OP_PING) ws_send(c, WS_OP_PONG, payload, (size_t)h.payload_len);
        if (h.opcode == WS_OP_TEXT) {
            json_t *f = json_loadb((const char *)payload, (size_t)h.payload_len, 0, NULL);
            if (json_is_object(f) && c->kind == K_CHAT) on_chat_frame(c, f);
            json_decref(f);
        }
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
    }
}

/* A complete HTTP request in c's buffer: answers it. 1 = handled (the
 * connection may now be a WebSocket), 0 = incomplete, -1 = drop. */
static int http_input(fconn *c) {
    c->buf[c->len < BUF_CAP ? c->len : BUF_CAP - 1] = '\0';
    char *end = strstr((char *)c->buf, "\r\n\r\n");
    if (!end) return 0;
    size_t head = (size_t)(end - (char *)c->buf) + 4;
    char *cl = strcasestr((char *)c->buf, "Content-Length:");
    size_t body_len = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
    if (c->len < head + body_len) return 0;
    if (strncmp((char *)c->buf, "POST /auth ", 11) == 0) {
        json_t *b = json_loadb((char *)c->buf + head, body_len, 0, NULL);
        const char *u = json_string_value(json_object_get(b, "username"));
        if (u) snprintf(g_user, sizeof g_user, "%s", u);
        json_decref(b);
        char port[16];
        snprintf(port, sizeof port, "%d", g_port);
        json_t *r = json_pack("{s:s, s:{s:{s:s, s:s, s:i}, s:{s:s, s:s, s:i}}}", "sessionToken",
                              "token", "servers", "chat", "host", "127.0.0.1", "port", port, "id",
                              1, "presence", "host", "127.0.0.1", "port", port, "id", 1);
        char *s = json_dumps(r, JSON_COMPACT);
        char *resp = NULL;
        if (asprintf(&resp,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n%s",
                     strlen(s), s) < 0)
            abort();
        send_all(c->fd, resp, strlen(resp));
        free(resp);
        free(s);
        json_decref(r);
        return -1;
    }
    int chat = strncmp((char *)c->buf, "GET /chat", 9) == 0;
    int pres = strncmp((char *)c->buf, "GET /presence", 13) == 0;
    char *key = strcasestr((char *)c->buf, "Sec-WebSocket-Key:");
    if ((!chat && !pres) || !key) {
        const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(c->fd, nf, strlen(nf));
        return -1;
    }
    key += 18;
    while (*key == ' ')
        key++;
    char accept[29];
    ws_accept_key(key, strcspn(key, "\r\n "), accept);
    char resp[256];
    snprintf(resp, sizeof resp,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
             "Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
             accept);
    send_all(c->fd, resp, strlen(resp));
    memmove(c->buf, c->buf + head + body_len, c->len - head - body_len);
    c->len -= head + body_len;
    c->kind = chat ? K_CHAT : K_PRESENCE;
    if (chat)
        ws_send_json(c, channels_list());
    else
        ws_send_json(c, json_pack("{s:s, s:[]}", "type", "initial_presence", "presence"));
    return 1;
}

static void go_away(void) {
    uint8_t payload[125];
    size_t n = ws_close_payload(payload, 1001, "server going away");
    for (int i = 0; i < MAX_CONNS; i++) {
        if (!g_conns[i] || g_conns[i]->kind == K_HTTP) continue;
        ws_send(g_conns[i], WS_OP_CLOSE, payload, n);
        drop(i);
    }
    json_decref(make_msg("bob", "missed while away", NULL));
}

static void serve(int lfd) {
    for (;;) {
        if (g_away) {
            g_away = 0;
            go_away();
        }
        struct pollfd fds[MAX_CONNS + 1];
        int idx[MAX_CONNS + 1], n = 0;
        fds[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
        idx[n++] = -1;
        for (int i = 0; i < MAX_CONNS; i++)
            if (g_conns[i]) {
                fds[n] = (struct pollfd){.fd = g_conns[i]->fd, .events = POLLIN};
                idx[n++] = i;
            }
        if (poll(fds, (nfds_t)n, 50) <= 0) continue;
        if (fds[0].revents) {
            int fd = accept(lfd, NULL, NULL);
            int slot = 0;
            while (slot < MAX_CONNS && g_conns[slot])
                slot++;
            if (fd >= 0 && slot < MAX_CONNS) {
                g_conns[slot] = calloc(1, sizeof(fconn));
                g_conns[slot]->fd = fd;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (int k = 1; k < n; k++) {
            int i = idx[k];
            fconn *c = g_conns[i];
            if (!c || !fds[k].revents) continue;
            ssize_t r = read(c->fd, c->buf + c->len, BUF_CAP - 1 - c->len);
            if (r <= 0) {
                drop(i);
                continue;
            }
            c->len += (size_t)r;
            int rc = c->kind == K_HTTP ? http_input(c) : 0;
            if (rc >= 0 && c->kind != K_HTTP) rc = ws_input(c);
            if (rc < 0) drop(i);
        }
    }
}

oldchatd *oldchatd_start(const char *dir) {
    oldchatd *o = calloc(1, sizeof *o);
    snprintf(o->log, sizeof o->log, "%s/frames.log", dir);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        fail_msg("oldchatd: cannot listen: %s", strerror(errno));
    o->port = ntohs(sa.sin_port);
    o->pid = fork();
    if (o->pid < 0) fail_msg("oldchatd: fork: %s", strerror(errno));
    if (o->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGUSR1, on_usr1);
        g_port = o->port;
        g_log = o->log;
        g_msgs = json_array();
        json_decref(make_msg("bob", "hello from the old days", NULL));
        serve(lfd);
        _exit(0);
    }
    close(lfd);
    return o;
}

void oldchatd_away(oldchatd *o) {
    kill(o->pid, SIGUSR1);
}

int oldchatd_count(const oldchatd *o, const char *type) {
    FILE *f = fopen(o->log, "r");
    char line[128];
    int n = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        n += strcmp(line, type) == 0;
    }
    fclose(f);
    return n;
}

void oldchatd_stop(oldchatd *o) {
    if (!o) return;
    kill(o->pid, SIGKILL);
    waitpid(o->pid, NULL, 0);
    free(o);
}
