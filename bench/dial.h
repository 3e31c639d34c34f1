/*
 * dial: many WebSockets to /chat for users that already have session
 * tokens — the connect side of the connections, history and storm
 * scenarios. A socket is "up" once its first channels_list arrived (it is
 * authenticated and the server has read the user's channels); the connect
 * latency of an attempt is the time from starting its TCP connect to that
 * frame.
 *
 * Sockets are opened from a FIFO queue with at most `window` handshakes in
 * flight. With `reconnect` set, a socket that closes or fails is dialled
 * again after the `chat` client's back-off (src/cli/session.c: a wait
 * between base/2 and base, base 100 ms doubling to 5 s, reset once up),
 * as a fleet of real clients would after a server restart; without it, a
 * failed attempt counts as failed and a socket lost while up as lost.
 *
 * Memory: the set owns its socket array (the caller's tokens and addresses
 * are borrowed and must outlive it); dial_free releases it.
 */
#ifndef BENCH_DIAL_H
#define BENCH_DIAL_H

#include "bench.h"
#include "stats.h"
#include "wsconn.h"

enum { DIAL_IDLE, DIAL_QUEUED, DIAL_CONNECTING, DIAL_UP, DIAL_WAIT, DIAL_FAILED };

typedef struct dial_sock {
    wsconn ws;
    uint64_t t_start; /* ns: this attempt began */
    uint64_t t_lost;  /* ns: went down while up (0: not down) */
    uint64_t t_next;  /* ns: next attempt (DIAL_WAIT) */
    uint32_t user;    /* index into the tokens */
    uint16_t backoff_ms;
    uint8_t state;   /* DIAL_* */
    uint8_t closing; /* dial_close_all: the close is ours */
} dial_sock;

typedef struct dial_set dial_set;
struct dial_set {
    const bench_opts *o;
    uv_loop_t *loop;
    dial_sock *s;
    size_t n;
    char **tokens;          /* per user */
    struct sockaddr_in *at; /* per user: where to dial (NULL: o->dst) */
    size_t nusers;          /* socket i belongs to user i % nusers */
    size_t window;          /* handshakes in flight */
    int reconnect;
    int own_tokens; /* dial_login's: freed with the set */
    size_t *queue, qhead, qlen;
    size_t connecting, up, failed, lost, waiting;
    uint64_t attempts;
    uint64_t t_last_up; /* ns */
    stats_hist lat;     /* connect latency of the attempts that came up */
    stats_hist back;    /* reconnect: from loss to up again */
    int last_http_status, last_err;
    /* optional: each socket's first channels_list after coming up */
    void (*on_list)(dial_set *d, size_t i, const char *p, size_t n);
    /* optional: every later text frame */
    void (*on_frame)(dial_set *d, size_t i, char *p, size_t n);
    void *data; /* caller's */
    uv_timer_t tick;
};

/* 0, or -1 when out of memory. Sockets start DIAL_IDLE. */
int dial_init(dial_set *d, const bench_opts *o, size_t n, char **tokens, struct sockaddr_in *at,
              size_t nusers);
/* dial_init for n sockets of nusers users of o->prefix, which it logs in
 * (users.h; existing: they exist, /auth only); the set then owns their
 * tokens. Adds "login_s" to r. 0 when every user got a token, -1 when out
 * of memory (nothing to free) or when some did not (*ur says how many; the
 * set must be freed). */
struct users_result;
int dial_login(dial_set *d, const bench_opts *o, size_t n, size_t nusers, int existing, json_t *r,
               struct users_result *ur);
/* Queues sockets [first, first + count) for dialling. */
void dial_open(dial_set *d, size_t first, size_t count);
/* Runs the loop until done(d) or the deadline (bench_now_s()); 1 when done. */
int dial_run_until(dial_set *d, int (*done)(dial_set *d), double deadline);
/* Every queued socket has been dialled and is up or failed. */
int dial_settled(dial_set *d);
/* Closes every socket (no reconnects) and waits for the closes (5 s at most). */
void dial_close_all(dial_set *d);
void dial_free(dial_set *d);

#endif
