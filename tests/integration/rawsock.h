/*
 * rawsock: TCP sockets for tests that must control exactly what goes
 * on the wire and when — bytes in one packet, half-sent requests, sockets
 * that never read, a chosen source address (127.0.0.2 counts as another
 * client on loopback) — which the blocking WebSocket client (net/client.h)
 * deliberately hides. Also small probes of a server process.
 *
 * In the harness's TLS mode (CHATD_IT_TLS=1) raw_connect completes a TLS
 * handshake and every function here reads and writes through it: "one
 * packet" then means one TLS write. raw_connect_nb stays plain TCP.
 *
 * Failures: functions return -1 / 0 rather than failing the test, so that a
 * test can assert what a misbehaving server did. Sockets are the caller's
 * to close.
 */
#ifndef CHATD_IT_RAWSOCK_H
#define CHATD_IT_RAWSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Connects to 127.0.0.1:port from src_ip (NULL = any). Blocking fd, or -1. */
int raw_connect(int port, const char *src_ip);
/* The same, non-blocking and without waiting for the handshake to finish. */
int raw_connect_nb(int port, const char *src_ip);
/* Writes everything (waits up to timeout_ms for room). 0 or -1. */
int raw_send(int fd, const void *data, size_t len, int timeout_ms);

/* A WebSocket upgrade request for path with a valid key (harness-owned). */
const char *raw_upgrade_request(const char *path);
/* Builds a masked client frame into out (>= len + 14 bytes). Its length. */
size_t raw_client_frame(uint8_t *out, int fin, int opcode, const void *payload, size_t len);

/* Reads an HTTP response head (until the empty line); returns its status,
 * 0 on EOF/timeout. Bytes after the head are kept for raw_ws_next. */
typedef struct raw_reader {
    int fd;
    uint8_t buf[1 << 16];
    size_t len;
} raw_reader;
int raw_read_head(raw_reader *r, int timeout_ms);
/* Next server frame: 1 (opcode, payload copied into out[cap], *len), 0 on
 * timeout, -1 on EOF or a malformed frame. */
int raw_ws_next(raw_reader *r, int timeout_ms, int *opcode, char *out, size_t cap, size_t *len);
/* 1 when the peer closed the socket (EOF or reset) within timeout_ms,
 * reading and discarding whatever comes first. */
int raw_wait_eof(int fd, int timeout_ms);

/* Sends data while reading the answer (stops sending once the server
 * answers: it may close before reading everything). The bytes read into
 * resp[cap] (not NUL-terminated), until EOF, cap or timeout_ms. */
int raw_exchange(int fd, const void *data, size_t len, char *resp, size_t cap, int timeout_ms);

/* VmRSS of pid in KiB, or -1. */
long raw_rss_kib(pid_t pid);

#endif
