/*
 * client_internal: what the two halves of the client (client.h) share.
 * client_http.c defines these socket, deadline, buffer and response-head
 * helpers and uses them for HTTP; client.c uses them for the WebSocket
 * handshake and frames. Not part of the API: only those two files include
 * this header. Errors are -1 (and CHATD_ETIMEDOUT for a timeout where noted).
 */
#ifndef CHATD_CLIENT_INTERNAL_H
#define CHATD_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/tls.h"

/* ---- deadlines: CLOCK_MONOTONIC milliseconds, -1 = wait forever ---- */
int64_t client__deadline_after(int timeout_ms);
/* Milliseconds left (0 when past), or -1 for "forever": a poll() timeout. */
int client__remaining_ms(int64_t deadline);

/* ---- sockets (non-blocking; every wait bounded by the deadline) ---- */
/* A connection: TCP, and TLS over it when tls is set. */
typedef struct client__sock {
    int fd; /* -1 when closed */
    tls_conn *tls;
} client__sock;
/* Connects to host:port (any address family) and, with tls, completes the
 * TLS handshake (the certificate checked against host). 0, or -1 with
 * *s closed. */
int client__open(client__sock *s, tls_ctx *tls, const char *host, int port, int64_t deadline);
void client__close(client__sock *s);
/* Sends all of data; 0, or -1 on an error or when time runs out. */
int client__send_all(client__sock *s, const void *data, size_t len, int64_t deadline);
/* Whether received bytes wait in the TLS layer (poll() would miss them). */
int client__buffered(const client__sock *s);
/* "host:port" for a Host header, with brackets around an IPv6 literal. */
void client__format_host(char *out, size_t cap, const char *host, int port);

/* ---- a growable byte buffer: {0} is empty; the owner frees p ---- */
typedef struct client__buf {
    char *p;
    size_t len, cap;
} client__buf;
/* Makes room for at least `extra` more bytes plus a NUL; 0 or -1. */
int client__buf_reserve(client__buf *b, size_t extra);
/* Reads once into b (room for `chunk` bytes made first), keeping b->p
 * NUL-terminated: > 0 bytes read, 0 at EOF, -1 error, CHATD_ETIMEDOUT. */
ssize_t client__buf_read(client__buf *b, client__sock *s, size_t chunk, int64_t deadline);

/* ---- HTTP response heads ---- */
/* Reads until b holds a whole head (at most 64 KiB); its length with the
 * final CRLFCRLF, or -1. Bytes after the head stay in b. */
ssize_t client__read_head(client__buf *b, client__sock *s, int64_t deadline);
/* The status code of "HTTP/1.x NNN ...", or -1. */
int client__head_status(const char *p, size_t len);
/* Header `name` (case-insensitive) in a head: its value with blanks
 * trimmed, *vlen set; NULL when absent. Points into p. */
const char *client__head_find(const char *p, size_t len, const char *name, size_t *vlen);
/* 1 when v[0..vlen) contains tok, case-insensitively. */
int client__value_has(const char *v, size_t vlen, const char *tok);

#endif
