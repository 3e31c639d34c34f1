/* rawsock: TCP (or TLS in the harness's TLS mode) for wire-exact tests
 * (see rawsock.h). */
#define _GNU_SOURCE /* memmem */
#include "integration/rawsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "integration/harness.h"
#include "net/ws.h"

static int make_socket(int port, const char *src_ip, int nonblock) {
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return -1;
    if (src_ip) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, src_ip, &src.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* TLS mode: each socket raw_connect made has its TLS state here, by fd
 * (a new socket with the same number replaces a closed one's). */
enum { RAW_MAX_FD = 4096 };
static tls_conn *g_tls[RAW_MAX_FD];

static tls_conn *tls_of(int fd) {
    return fd >= 0 && fd < RAW_MAX_FD ? g_tls[fd] : NULL;
}

static void set_tls(int fd, tls_conn *t) {
    if (fd < 0 || fd >= RAW_MAX_FD) {
        tls_conn_free(t);
        return;
    }
    tls_conn_free(g_tls[fd]);
    g_tls[fd] = t;
}

static int send_plain(int fd, const void *data, size_t len, int64_t deadline);

/* Sends what the TLS layer sealed. 0 or -1. */
static int flush_tls(int fd, tls_conn *t, int64_t deadline) {
    rcbuf *out = tls_conn_take_out(t);
    if (!out) return 0;
    int rc = send_plain(fd, out->data, out->len, deadline);
    rcbuf_unref(out);
    return rc;
}

/* Reads ciphertext once into t: 1, 0 on timeout, -1 at EOF or an error. */
static int feed_tls(int fd, tls_conn *t, int timeout_ms) {
    char raw[16384];
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return 0;
    ssize_t n = recv(fd, raw, sizeof raw, MSG_DONTWAIT);
    if (n > 0) return tls_conn_feed(t, raw, (size_t)n) == 0 ? 1 : -1;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    return -1;
}

/* Plaintext: > 0 bytes, 0 on timeout, -1 at EOF or an error. */
static ssize_t recv_some(int fd, void *buf, size_t cap, int timeout_ms) {
    tls_conn *t = tls_of(fd);
    if (!t) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return 0;
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n > 0) return n;
        return n < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    }
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        ssize_t n = tls_conn_read(t, buf, cap);
        if (n > 0) return n;
        if (n != CHATD_EINCOMPLETE) return -1;
        int left = (int)(deadline - now_ms());
        if (left <= 0) return 0;
        int f = feed_tls(fd, t, left);
        if (f <= 0) return f;
    }
}

int raw_connect(int port, const char *src_ip) {
    int fd = make_socket(port, src_ip, 0);
    tls_ctx *ctx = harness_tls();
    if (fd < 0 || !ctx) {
        if (fd >= 0) set_tls(fd, NULL);
        return fd;
    }
    tls_conn *t = tls_conn_new(ctx, "127.0.0.1");
    int64_t deadline = now_ms() + 5000;
    for (;;) {
        int h = tls_conn_handshake(t);
        if (flush_tls(fd, t, deadline) != 0) break;
        if (h == 0) {
            set_tls(fd, t);
            return fd;
        }
        if (h != CHATD_EINCOMPLETE || feed_tls(fd, t, (int)(deadline - now_ms())) <= 0) break;
    }
    tls_conn_free(t);
    close(fd);
    return -1;
}

int raw_connect_nb(int port, const char *src_ip) {
    int fd = make_socket(port, src_ip, 1);
    if (fd >= 0) set_tls(fd, NULL);
    return fd;
}

int raw_send(int fd, const void *data, size_t len, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    tls_conn *t = tls_of(fd);
    if (!t) return send_plain(fd, data, len, deadline);
    if (tls_conn_write(t, data, len) != 0) return -1;
    return flush_tls(fd, t, deadline);
}

static int send_plain(int fd, const void *data, size_t len, int64_t deadline) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
        int left = (int)(deadline - now_ms());
        if (left <= 0) return -1;
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, left);
    }
    return 0;
}

const char *raw_upgrade_request(const char *path) {
    return hfmt("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n",
                path);
}

size_t raw_client_frame(uint8_t *out, int fin, int opcode, const void *payload, size_t len) {
    static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
    size_t h = ws_write_header(out, fin, opcode, len, mask);
    memcpy(out + h, payload, len);
    ws_mask(out + h, len, mask, 0);
    return h + len;
}

/* Reads more into r; 1 read, 0 timeout, -1 EOF/error. */
static int fill(raw_reader *r, int timeout_ms) {
    if (r->len == sizeof r->buf) return -1;
    ssize_t n = recv_some(r->fd, r->buf + r->len, sizeof r->buf - r->len, timeout_ms);
    if (n > 0) r->len += (size_t)n;
    return n > 0 ? 1 : (int)n;
}

int raw_read_head(raw_reader *r, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        uint8_t *end = memmem(r->buf, r->len, "\r\n\r\n", 4);
        if (end) {
            int status = 0;
            if (r->len > 12 && !memcmp(r->buf, "HTTP/1.1 ", 9)) status = atoi((char *)r->buf + 9);
            size_t head = (size_t)(end - r->buf) + 4;
            memmove(r->buf, r->buf + head, r->len - head);
            r->len -= head;
            return status;
        }
        int left = (int)(deadline - now_ms());
        if (left <= 0 || fill(r, left) < 0) return 0;
    }
}

int raw_ws_next(raw_reader *r, int timeout_ms, int *opcode, char *out, size_t cap, size_t *len) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        ws_header h;
        int hl = ws_parse_header(r->buf, r->len, 0, UINT64_MAX, &h);
        if (hl >= 0 && r->len - (size_t)hl >= h.payload_len) {
            size_t n = (size_t)h.payload_len;
            *opcode = h.opcode;
            *len = n;
            memcpy(out, r->buf + hl, n < cap ? n : cap);
            memmove(r->buf, r->buf + hl + n, r->len - hl - n);
            r->len -= (size_t)hl + n;
            return 1;
        }
        if (hl < 0 && hl != WS_INCOMPLETE) return -1;
        int left = (int)(deadline - now_ms());
        if (left <= 0) return 0;
        int f = fill(r, left);
        if (f < 0) return -1;
    }
}

int raw_wait_eof(int fd, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    char junk[4096];
    for (;;) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) return 0;
        if (recv_some(fd, junk, sizeof junk, left) < 0) return 1;
    }
}

int raw_exchange(int fd, const void *data, size_t len, char *resp, size_t cap, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    size_t off = 0, rlen = 0;
    /* Interleave writing and reading: stop writing as soon as the server
     * answers (it may reply before reading everything, then close). */
    while (rlen < cap) {
        int left = (int)(deadline - now_ms());
        if (left <= 0) break;
        if (off < len) {
            size_t chunk = len - off > 4096 ? 4096 : len - off;
            if (raw_send(fd, (const char *)data + off, chunk, left) != 0)
                off = len;
            else
                off += chunk;
        }
        ssize_t n = recv_some(fd, resp + rlen, cap - rlen, off < len ? 0 : left);
        if (n > 0) {
            rlen += (size_t)n;
            off = len; /* stop sending */
        } else if (n < 0) {
            break;
        }
    }
    return (int)rlen;
}

long raw_rss_kib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}
