/*
 * crowd: the population the message scenarios (fanout, durable) drive —
 * R channels of M distinct users, each user with one WebSocket to /chat,
 * S of them senders — and the traffic they exchange.
 *
 * Setup (crowd_setup): log every user in (users.h), open every socket
 * with a bounded number of handshakes in flight, wait for each socket's
 * first channels_list (it is authenticated and known to the server), then
 * have member 0 of each channel create it with the others as participants
 * (kind "direct" with --direct: a direct-message pair) and wait until every
 * member has received the fresh channels_list that says it is in. Only
 * then is anything measured.
 *
 * Traffic (crowd_phase): senders put their send time (CLOCK_MONOTONIC ns)
 * and index in the content, "T<ns>:<sender>:xxxx"; every receiver,
 * the sender's own echo included, records now - sent. With rate 0 each
 * sender keeps `window` messages in flight (the echo is the server's ack),
 * which finds the saturation throughput; with a rate, messages leave on a
 * 1 ms ticker spread round-robin over the senders (open loop: a slow server
 * shows as growing latency, not as a lower offered rate). With o->edits a
 * sender's first message is a chat_message and every later one an
 * edit_message of it carrying the same "T<ns>" content: deliveries are then
 * the message_updated frames.
 *
 * Memory: the crowd owns its arrays and sockets; crowd_close frees them.
 */
#ifndef BENCH_CROWD_H
#define BENCH_CROWD_H

#include "bench.h"
#include "stats.h"
#include "wsconn.h"

typedef struct crowd_member {
    wsconn ws;
    uint32_t channel; /* channel index */
    int32_t sender;   /* sender index, -1 when only a receiver */
    uint8_t lists;    /* channels_list frames seen (1 = connected, 2 = in its channel) */
    uint8_t up, failed;
} crowd_member;

typedef struct crowd_sender {
    uint32_t member;
    uint32_t inflight; /* sent, echo not yet seen */
    char target[24];   /* edits: the message this sender edits ("" until its echo) */
} crowd_sender;

typedef struct crowd {
    const bench_opts *o;
    uv_loop_t *loop;
    uv_timer_t tick;
    size_t nchannels, per_channel, nmembers, nsenders;
    crowd_member *m;
    crowd_sender *s;
    char **tokens;
    struct sockaddr_in *chat_at; /* per member: the chat server /auth named */
    char (*chan_id)[40];
    uint8_t *chan_state; /* 0 none, 1 create sent, 2 created */
    /* setup progress */
    size_t next_connect, connecting, up, failed, ready, created, creating;
    int last_http_status;
    int last_err; /* the last socket error (libuv code), 0 none */
    /* traffic (reset per phase) */
    int phase_active; /* senders may send */
    int saturate;
    double rate;
    uint64_t t_start, t_meas, t_end; /* ns: phase start, measurement window */
    uint64_t sent, acked, delivered, delivered_win, acked_win, skipped, errors, rate_limited;
    uint64_t rr; /* round-robin cursor over senders */
    char first_error[200];
    stats_hist lat;
    char *frame; /* scratch for outgoing frames */
    size_t frame_cap;
} crowd;

/* Builds the crowd. Returns 0, or -1 after writing why into *why (static
 * string). setup (may be NULL) gets timings and counts as JSON fields. */
int crowd_setup(crowd *c, const bench_opts *o, size_t channels, size_t members, size_t senders,
                json_t *setup, const char **why);

/* Runs one phase: warmup, then `duration` measured seconds, then a drain
 * (up to 5 s) until every delivery of every sent message has arrived.
 * rate 0 = saturation. Returns a new JSON object with the phase's figures. */
json_t *crowd_phase(crowd *c, const char *name, double rate, double warmup, double duration);

/* Closes every socket and frees everything. */
void crowd_close(crowd *c);

/* Runs the loop until done(c) or the deadline (absolute, bench_now_s());
 * returns 1 when done, 0 on timeout. */
int crowd_run_until(crowd *c, int (*done)(crowd *c), double deadline);

/* traffic.c's receive path (crowd.c routes chat_message frames here). */
void crowd__on_delivery(crowd *c, crowd_member *m, const char *p, size_t n);

#endif
