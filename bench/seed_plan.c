/*
 * seed_plan: the closed forms of seed.h — which users are in which
 * channels, what every message row holds, and the counters over them.
 */
#include "seed.h"

#include "bench.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

int seed_plan_init(seed_plan *p, const char *prefix, const char *population, const char *messages) {
    memset(p, 0, sizeof *p);
    p->prefix = prefix;
    if (sscanf(population, "%zu:%zu:%zu:%zu:%zu", &p->users, &p->big, &p->measured, &p->group,
               &p->small) != 5 ||
        p->users < 1 || p->group < 1 || p->measured > p->users || p->measured % p->group != 0 ||
        seed_channel_count(p) > 0x3FFFFF) {
        bench_log("--population wants U:B:M:G:K with M <= U and M a multiple of G (got %s)",
                  population);
        return -1;
    }
    long long big, small;
    if (sscanf(messages, "%lld:%lld", &big, &small) != 2 || big < 0 || small < 0) {
        bench_log("--messages wants BIG:SMALL, messages per big and per small channel (got %s)",
                  messages);
        return -1;
    }
    p->big_msgs = big;
    p->small_msgs = small;
    /* 40 days ago, over 30 days: at least a millisecond per message and
     * channel, and older than anything chatd will write */
    p->base_ms = (int64_t)time(NULL) * 1000 - 40 * DAY_MS;
    p->base_ms -= p->base_ms % DAY_MS; /* the same for runs on one day */
    p->span_ms = 30 * DAY_MS;
    if (big >= p->span_ms || small >= p->span_ms) {
        bench_log("--messages: at most %lld per channel", (long long)p->span_ms - 1);
        return -1;
    }
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *s = prefix; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    p->tag = h;
    return 0;
}

static size_t groups(const seed_plan *p) {
    return p->measured / p->group;
}

size_t seed_channel_count(const seed_plan *p) {
    return p->big + groups(p) * p->small;
}

int64_t seed_message_count(const seed_plan *p) {
    return (int64_t)p->big * p->big_msgs + (int64_t)(groups(p) * p->small) * p->small_msgs;
}

static int64_t count_no(int64_t s) {
    return s - s / SEED_SYSTEM_EVERY;
}

/* Messages of member j among the first c user messages of an n-member channel. */
static int64_t own_upto(size_t j, size_t n, int64_t c) {
    return c > (int64_t)j ? (c - 1 - (int64_t)j) / (int64_t)n + 1 : 0;
}

/* The seq of the user message with count_no cn (>= 1): every 100th seq is
 * a notice, so the 99 user messages of each hundred are seqs 100k+1..100k+99. */
static int64_t seq_of(int64_t cn) {
    return cn + (cn - 1) / (SEED_SYSTEM_EVERY - 1);
}

static int64_t msg_ms(const seed_plan *p, const seed_channel *c, int64_t s) {
    return p->base_ms + s * (p->span_ms / (c->msgs + 1));
}

static uint64_t msg_id(const seed_plan *p, const seed_channel *c, int64_t s) {
    return ((uint64_t)msg_ms(p, c, s) << 22) | (uint64_t)(c->index & 0x3FFFFF);
}

/* The user behind member j of channel index ch. */
static size_t member_user(const seed_plan *p, size_t ch, size_t j) {
    if (ch < p->big) return j;
    return (ch - p->big) / p->small * p->group + j;
}

void seed_channel_at(const seed_plan *p, size_t index, seed_channel *c) {
    memset(c, 0, sizeof *c);
    c->index = index;
    snprintf(c->id, sizeof c->id, "%08x-5eed-4000-8000-%012zx", p->tag, index);
    if (index < p->big) {
        snprintf(c->name, sizeof c->name, "%s-big%zu", p->prefix, index);
        c->n = p->users;
        c->msgs = p->big_msgs;
    } else {
        size_t k = index - p->big;
        snprintf(c->name, sizeof c->name, "%s-g%zu-%zu", p->prefix, k / p->small, k % p->small);
        c->n = p->group;
        c->msgs = p->small_msgs;
    }
    c->created_ms = p->base_ms - DAY_MS + (int64_t)index * 1000;
    users_name(c->creator, sizeof c->creator, p->prefix, member_user(p, index, 0));
    c->last_seq = c->msgs;
    c->msg_count = count_no(c->msgs);
    c->last_message_id = c->msgs ? msg_id(p, c, c->msgs) : 0;
}

void seed_member_at(const seed_plan *p, const seed_channel *c, size_t j, seed_member *m) {
    memset(m, 0, sizeof *m);
    m->j = j;
    m->user = member_user(p, c->index, j);
    users_name(m->name, sizeof m->name, p->prefix, m->user);
    m->is_admin = j == 0;
    m->joined_ms = c->created_ms + 1 + (int64_t)j;
    m->own_count = own_upto(j, c->n, c->msg_count);
    m->own_seq = m->own_count ? seq_of((int64_t)j + 1 + (m->own_count - 1) * (int64_t)c->n) : 0;
    m->last_read_ms = -1;
    if (m->user >= p->measured || c->msgs == 0) return;
    int64_t unread = c->msgs * (int64_t)((m->user * 7 + c->index * 13) % 20) / 100;
    int64_t r = c->msgs - unread;
    if (r < 1) return;
    m->read_seq = r;
    m->read_count = count_no(r);
    m->read_own = own_upto(j, c->n, m->read_count);
    m->last_read_id = msg_id(p, c, r);
    m->last_read_ms = msg_ms(p, c, r) + 1000;
}

void seed_msg_at(const seed_plan *p, const seed_channel *c, int64_t s, seed_msg *m) {
    m->seq = s;
    m->count_no = count_no(s);
    m->created_ms = msg_ms(p, c, s);
    m->id = msg_id(p, c, s);
    m->system = s % SEED_SYSTEM_EVERY == 0;
    if (m->system) {
        m->own_no = m->own_prev = 0;
        snprintf(m->user, sizeof m->user, "system");
        snprintf(m->content, sizeof m->content, "a seeded notice, number %lld", (long long)s);
        return;
    }
    size_t j = (size_t)((m->count_no - 1) % (int64_t)c->n);
    m->own_no = (m->count_no - 1) / (int64_t)c->n + 1;
    m->own_prev = m->count_no > (int64_t)c->n ? seq_of(m->count_no - (int64_t)c->n) : 0;
    users_name(m->user, sizeof m->user, p->prefix, member_user(p, c->index, j));
    snprintf(m->content, sizeof m->content,
             "seeded history message %lld of channel %zu, sixty-odd bytes", (long long)s, c->index);
}

size_t seed_channels_of(const seed_plan *p, size_t u, size_t *out, size_t cap) {
    size_t n = 0;
    for (size_t b = 0; b < p->big; b++, n++)
        if (n < cap) out[n] = b;
    if (u >= p->measured) return n;
    size_t first = p->big + u / p->group * p->small;
    for (size_t k = 0; k < p->small; k++, n++)
        if (n < cap) out[n] = first + k;
    return n;
}
