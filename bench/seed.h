/*
 * seed: a population of users with history, written straight into a
 * store's database (SQLite or PostgreSQL) with every counter chatd keeps at
 * write time consistent — because millions of messages cannot go through
 * the protocol in a benchmark.
 *
 * The population ("U:B:M:G:K", --population): users <prefix>u0..u(U-1)
 * (users_name), all of them members of B big channels; the first M users
 * ("measured": the ones whose connects are timed) also sit in groups of G,
 * each group sharing K small channels. A measured user is thus in B + K
 * channels; the defaults 1000:2:200:10:18 give 20 channels, two of them
 * with 1,000 members. Messages ("BIG:SMALL", --messages): how many each big
 * and each small channel holds.
 *
 * Every value is a closed form of (channel, seq, member), so the rows and
 * the counters over them are computed without reading anything back:
 *   - every 100th message (seq % 100 == 0) is a `system` notice, the others
 *     are users' messages; count_no(s) = s - s/100 (non-system messages up
 *     to s);
 *   - the sender of user message s is member (count_no - 1) mod n of the
 *     channel's n members (in join order), and its own_no is
 *     (count_no - 1) / n + 1, and its own_prev the seq of count_no - n
 *     (0 when count_no <= n);
 *   - message ids are Snowflakes: the millisecond base + s * span / (N + 1)
 *     (strictly increasing in s), with the channel's index in the low 22
 *     bits (unique across channels), so they follow seq order and are older
 *     than any id chatd hands out later;
 *   - a measured user has read each of its channels up to a seq a little
 *     before its end (0-19 % of it unread, varying by user and channel);
 *     the others have never read (no mark).
 * Counters: channels.msg_count = count_no(N), last_seq = N, last_message_id
 * = id(N), member_count = n; a member's own_count / read_own = its messages
 * up to the end / up to its mark, own_seq the seq of its last message, read_seq / read_count = the
 * mark's seq and count_no, last_read_message_id = id(mark).
 *
 * Every user gets the same password hash: one argon2id hash of --password
 * with chatd's `--argon2 min` limits, computed once.
 */
#ifndef BENCH_SEED_H
#define BENCH_SEED_H

#include <stddef.h>
#include <stdint.h>

#define SEED_SYSTEM_EVERY 100

typedef struct seed_plan {
    const char *prefix;
    size_t users, big, measured, group, small; /* U:B:M:G:K */
    int64_t big_msgs, small_msgs;
    int64_t base_ms, span_ms; /* messages are spread over [base, base + span) */
    uint32_t tag;             /* from the prefix: the first group of channel ids */
} seed_plan;

typedef struct seed_channel {
    size_t index; /* 0..B-1 big, then small channels group by group */
    char id[37];
    char name[64];
    size_t n;     /* members */
    int64_t msgs; /* N: messages (seq 1..N) */
    int64_t created_ms;
    char creator[40]; /* member 0 */
    /* counters with all N messages stored */
    int64_t last_seq, msg_count;
    uint64_t last_message_id;
} seed_channel;

typedef struct seed_member {
    size_t j;    /* position in join order */
    size_t user; /* user index */
    char name[40];
    int is_admin; /* member 0, the creator */
    int64_t joined_ms;
    /* counters with all N messages stored (zero before) */
    int64_t own_count, read_seq, read_count, read_own;
    int64_t own_seq;       /* seq of its latest message (0: none) */
    uint64_t last_read_id; /* 0: never read */
    int64_t last_read_ms;  /* -1: never read */
} seed_member;

typedef struct seed_msg {
    int64_t seq, count_no, own_no, created_ms;
    int64_t own_prev; /* seq of the sender's previous message (0: none) */
    uint64_t id;
    int system;
    char user[40]; /* sender name, or "system" */
    char content[96];
} seed_msg;

/* Parses --population / --messages for prefix; 0, or -1 after a message. */
int seed_plan_init(seed_plan *p, const char *prefix, const char *population, const char *messages);
size_t seed_channel_count(const seed_plan *p);
/* Messages in all channels together. */
int64_t seed_message_count(const seed_plan *p);
void seed_channel_at(const seed_plan *p, size_t index, seed_channel *c);
/* Member j (< c->n) of channel c. */
void seed_member_at(const seed_plan *p, const seed_channel *c, size_t j, seed_member *m);
/* Message seq s (1..c->msgs) of channel c. */
void seed_msg_at(const seed_plan *p, const seed_channel *c, int64_t s, seed_msg *m);
/* Channels user u is in: writes up to cap indexes; returns how many there are. */
size_t seed_channels_of(const seed_plan *p, size_t u, size_t *out, size_t cap);

#endif
