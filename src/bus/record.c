/*
 * record: encoding and checked decoding of bus payloads (see record.h).
 *
 * Parsing is split in two: parse_body() is a pure walk that validates one
 * body and returns pointers into the input (a body_view); materialise()
 * then copies a view into C strings and an rcbuf. Validating a batch is
 * parse_body() over every body, with no allocation at all.
 */
#include "bus/record.h"

#include <stdlib.h>
#include <string.h>

#define HEADER_LEN 4
#define KIND_RECORD 1
#define KIND_BATCH 2
#define KIND_EVENT 3
#define FLAG_PRESENCE 0x01
#define FLAG_CHANNEL 0x02

/* ---- encoding ---------------------------------------------------------- */

void record_buf_free(record_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int buf_reserve(record_buf *b, size_t extra) {
    if (extra > SIZE_MAX / 2 - b->len) return RECORD_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return RECORD_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

/* Callers reserve first; these never fail. */
static void put_u8(record_buf *b, unsigned v) {
    b->data[b->len++] = (uint8_t)v;
}

static void put_u16(record_buf *b, unsigned v) {
    b->data[b->len++] = (uint8_t)(v >> 8);
    b->data[b->len++] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_bytes(record_buf *b, const void *p, size_t n) {
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static int name_ok(const char *s, size_t *len) {
    if (!s) return 0;
    *len = strlen(s);
    return *len > 0 && *len <= RECORD_MAX_NAME;
}

/* Size of r's body, or 0 when r cannot be encoded. */
static size_t body_size(const bus_record *r) {
    size_t n = 1 + 4 + 4, len;
    if (!r->frame || r->frame->len > RECORD_MAX_FRAME || r->n_recipients > RECORD_MAX_RECIPIENTS)
        return 0;
    if (r->channel_id) {
        if (!name_ok(r->channel_id, &len)) return 0;
        n += 2 + len;
    }
    for (size_t i = 0; i < r->n_recipients; i++) {
        if (!name_ok(r->recipients[i], &len)) return 0;
        n += 2 + len;
    }
    return n + r->frame->len;
}

static void put_body(record_buf *b, const bus_record *r) {
    unsigned flags = (r->presence ? FLAG_PRESENCE : 0) | (r->channel_id ? FLAG_CHANNEL : 0);
    put_u8(b, flags);
    if (r->channel_id) {
        size_t len = strlen(r->channel_id);
        put_u16(b, (unsigned)len);
        put_bytes(b, r->channel_id, len);
    }
    put_u32(b->data + b->len, (uint32_t)r->n_recipients);
    b->len += 4;
    for (size_t i = 0; i < r->n_recipients; i++) {
        size_t len = strlen(r->recipients[i]);
        put_u16(b, (unsigned)len);
        put_bytes(b, r->recipients[i], len);
    }
    put_u32(b->data + b->len, (uint32_t)r->frame->len);
    b->len += 4;
    put_bytes(b, r->frame->data, r->frame->len);
}

static void put_header(record_buf *b, unsigned kind) {
    put_u8(b, 'c');
    put_u8(b, 'b');
    put_u8(b, RECORD_VERSION);
    put_u8(b, kind);
}

int record_encode(record_buf *out, const bus_record *r) {
    size_t n = body_size(r);
    if (!n) return RECORD_EINVAL;
    out->len = 0;
    int rc = buf_reserve(out, HEADER_LEN + n);
    if (rc) return rc;
    put_header(out, KIND_RECORD);
    put_body(out, r);
    return 0;
}

int record_batch_begin(record_buf *out) {
    out->len = 0;
    int rc = buf_reserve(out, HEADER_LEN + 4);
    if (rc) return rc;
    put_header(out, KIND_BATCH);
    put_u32(out->data + out->len, 0);
    out->len += 4;
    return 0;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int record_batch_add(record_buf *out, const bus_record *r) {
    if (out->len < HEADER_LEN + 4 || out->data[3] != KIND_BATCH) return RECORD_EINVAL;
    uint32_t count = get_u32(out->data + HEADER_LEN);
    if (count >= RECORD_MAX_BATCH) return RECORD_ETOOBIG;
    size_t n = body_size(r);
    if (!n) return RECORD_EINVAL;
    int rc = buf_reserve(out, n);
    if (rc) return rc;
    put_body(out, r);
    put_u32(out->data + HEADER_LEN, count + 1);
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct body_view {
    unsigned flags;
    const uint8_t *channel;
    size_t channel_len;
    const uint8_t *names; /* n_names (u16 len, bytes) pairs, already checked */
    size_t names_len;     /* bytes of the names area */
    uint32_t n_names;
    const uint8_t *frame;
    size_t frame_len;
} body_view;

static int get_name(const uint8_t **p, size_t *left, const uint8_t **name, size_t *len) {
    if (*left < 2) return RECORD_EINVAL;
    size_t n = (size_t)(*p)[0] << 8 | (*p)[1];
    if (n == 0 || n > RECORD_MAX_NAME || *left - 2 < n || memchr(*p + 2, 0, n))
        return RECORD_EINVAL;
    *name = *p + 2;
    *len = n;
    *p += 2 + n;
    *left -= 2 + n;
    return 0;
}

/* Validates the body at *p; on success advances *pp and *leftp past it. */
static int parse_body(const uint8_t **pp, size_t *leftp, body_view *v) {
    const uint8_t *p = *pp;
    size_t left = *leftp;
    memset(v, 0, sizeof(*v));
    if (left < 1) return RECORD_EINVAL;
    v->flags = p[0];
    p++, left--;
    if (v->flags & ~(unsigned)(FLAG_PRESENCE | FLAG_CHANNEL)) return RECORD_EINVAL;
    if ((v->flags & FLAG_CHANNEL) && get_name(&p, &left, &v->channel, &v->channel_len))
        return RECORD_EINVAL;
    if (left < 4) return RECORD_EINVAL;
    v->n_names = get_u32(p);
    p += 4, left -= 4;
    if (v->n_names > RECORD_MAX_RECIPIENTS || v->n_names > left / 3)
        return RECORD_EINVAL; /* each name takes at least 3 bytes */
    v->names = p;
    for (uint32_t i = 0; i < v->n_names; i++) {
        const uint8_t *name;
        size_t len;
        if (get_name(&p, &left, &name, &len)) return RECORD_EINVAL;
    }
    v->names_len = (size_t)(p - v->names);
    if (left < 4) return RECORD_EINVAL;
    v->frame_len = get_u32(p);
    p += 4, left -= 4;
    if (v->frame_len > RECORD_MAX_FRAME || v->frame_len > left) return RECORD_EINVAL;
    v->frame = p;
    *pp = p + v->frame_len;
    *leftp = left - v->frame_len;
    return 0;
}

static int check_header(const uint8_t *p, size_t len, unsigned kind) {
    if (len < HEADER_LEN || p[0] != 'c' || p[1] != 'b' || p[2] != RECORD_VERSION || p[3] != kind)
        return RECORD_EINVAL;
    return 0;
}

/* One allocation holds the recipients array and every string: the names
 * area of the input has exactly one u16 length per string, which becomes
 * that string's NUL, so the strings fit in names_len bytes. */
static int materialise(const body_view *v, record_decoded *out) {
    memset(out, 0, sizeof(*out));
    size_t ptrs = (size_t)v->n_names * sizeof(char *);
    size_t size = ptrs + v->names_len + v->channel_len + 1;
    char *mem = malloc(size);
    if (!mem) return RECORD_ENOMEM;
    const char **names = (const char **)(void *)mem;
    char *s = mem + ptrs;
    const uint8_t *p = v->names;
    for (uint32_t i = 0; i < v->n_names; i++) {
        size_t len = (size_t)p[0] << 8 | p[1];
        memcpy(s, p + 2, len);
        s[len] = '\0';
        names[i] = s;
        s += len + 1;
        p += 2 + len;
    }
    if (v->flags & FLAG_CHANNEL) {
        memcpy(s, v->channel, v->channel_len);
        s[v->channel_len] = '\0';
        out->r.channel_id = s;
    }
    out->mem = mem;
    out->r.recipients = names;
    out->r.n_recipients = v->n_names;
    out->r.presence = (v->flags & FLAG_PRESENCE) != 0;
    out->r.frame = rcbuf_copy(v->frame, v->frame_len);
    return 0;
}

int record_decode(const void *buf, size_t len, record_decoded *out) {
    const uint8_t *p = buf;
    body_view v;
    memset(out, 0, sizeof(*out));
    if (check_header(p, len, KIND_RECORD)) return RECORD_EINVAL;
    p += HEADER_LEN, len -= HEADER_LEN;
    if (parse_body(&p, &len, &v) || len != 0) return RECORD_EINVAL;
    return materialise(&v, out);
}

void record_decoded_clear(record_decoded *d) {
    rcbuf_unref(d->r.frame);
    free(d->mem);
    memset(d, 0, sizeof(*d));
}

int record_batch_open(record_batch_iter *it, const void *buf, size_t len) {
    const uint8_t *p = buf;
    memset(it, 0, sizeof(*it));
    if (check_header(p, len, KIND_BATCH) || len < HEADER_LEN + 4) return RECORD_EINVAL;
    uint32_t count = get_u32(p + HEADER_LEN);
    if (count > RECORD_MAX_BATCH) return RECORD_EINVAL;
    const uint8_t *q = p + HEADER_LEN + 4;
    size_t left = len - HEADER_LEN - 4;
    for (uint32_t i = 0; i < count; i++) {
        body_view v;
        if (parse_body(&q, &left, &v)) return RECORD_EINVAL;
    }
    if (left != 0) return RECORD_EINVAL;
    it->p = p + HEADER_LEN + 4;
    it->left = len - HEADER_LEN - 4;
    it->remaining = count;
    return (int)count;
}

int record_batch_next(record_batch_iter *it, record_decoded *out) {
    body_view v;
    memset(out, 0, sizeof(*out));
    if (it->remaining == 0) return 0;
    if (parse_body(&it->p, &it->left, &v)) /* validated by open; cannot fail */
        return RECORD_EINVAL;
    it->remaining--;
    int rc = materialise(&v, out);
    return rc ? rc : 1;
}

/* ---- events ------------------------------------------------------------ */

int record_event_encode(record_buf *out, unsigned server_id, const char *kind, const char *arg) {
    size_t klen, alen = arg ? strlen(arg) : 0;
    if (!name_ok(kind, &klen) || alen > RECORD_MAX_NAME || (arg && memchr(arg, 0, alen)))
        return RECORD_EINVAL;
    out->len = 0;
    int rc = buf_reserve(out, HEADER_LEN + 4 + 2 + klen + 2 + alen);
    if (rc) return rc;
    put_header(out, KIND_EVENT);
    put_u32(out->data + out->len, server_id);
    out->len += 4;
    put_u16(out, (unsigned)klen);
    put_bytes(out, kind, klen);
    put_u16(out, (unsigned)alen);
    put_bytes(out, arg, alen);
    return 0;
}

int record_event_decode(const void *buf, size_t len, record_event *out) {
    const uint8_t *p = buf, *s;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (check_header(p, len, KIND_EVENT) || len < HEADER_LEN + 4) return RECORD_EINVAL;
    out->server_id = get_u32(p + HEADER_LEN);
    p += HEADER_LEN + 4, len -= HEADER_LEN + 4;
    if (get_name(&p, &len, &s, &n)) return RECORD_EINVAL;
    memcpy(out->kind, s, n);
    if (len >= 2 && p[0] == 0 && p[1] == 0 && len == 2) return 0; /* empty arg */
    if (get_name(&p, &len, &s, &n) || len != 0) {
        memset(out, 0, sizeof(*out));
        return RECORD_EINVAL;
    }
    memcpy(out->arg, s, n);
    return 0;
}
