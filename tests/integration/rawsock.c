/* rawsock: plain TCP for wire-exact tests (see rawsock.h). */
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

int raw_connect(int port, const char *src_ip) {
    return make_socket(port, src_ip, 0);
}
int raw_connect_nb(int port, const char *src_ip) {
    return make_socket(port, src_ip, 1);
}

int raw_send(int fd, const void *data, size_t len, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
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
    struct pollfd p = {r->fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return 0;
    ssize_t n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, MSG_DONTWAIT);
    if (n > 0) {
        r->len += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    return -1;
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
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0) return 0;
        ssize_t n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return 1;
    }
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
