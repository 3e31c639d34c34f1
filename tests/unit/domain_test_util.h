/*
 * domain_test_util: what the domain unit tests share (test_presence_order,
 * test_channels, test_messages). The domain (chat/domain.h) is driven as
 * roles/app.c drives it, over a real SQLite store in a temporary directory
 * and a private libuv loop, but its sessions are captured in memory: each
 * keeps a reference to every frame the domain sent it, which is what its
 * socket would have been sent.
 *
 * The store is reached through a wrapper backend (sf_backend) that
 * passes every op to SQLite unless the test made that kind of op fail
 * (dt_fail): then done() runs on a later loop turn with the chosen error
 * and nothing is stored — a disk or a database gone bad, on demand. The
 * wrapper also counts the ops in flight, so that a test can run the loop
 * until the domain has nothing left to hear back (dt_settle).
 *
 * Header-only because each tests/unit/test_*.c is linked alone with the
 * library: every helper is static inline.
 */
#ifndef CHATD_DOMAIN_TEST_UTIL_H
#define CHATD_DOMAIN_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "bus/bus.h"
#include "chat/domain.h"
#include "core/alloc.h"
#include "core/log.h"
#include "store/store.h"
#include "store_fail_util.h"
#include "svcutil.h"

enum { DT_MAX_FRAMES = 128, DT_MAX_SOCKS = 16, DT_MAX_DOMAINS = 2, DT_JSON_RING = 16 };

/* ---- captured sessions ---- */

typedef struct tsession {
    session s;                   /* first: the domain sees &t->s */
    domain *d;                   /* the domain it was opened on (dt_login), or NULL */
    rcbuf *frame[DT_MAX_FRAMES]; /* every frame sent, in order (a reference each) */
    int frames;
    int holds;           /* io->hold minus io->release */
    uint16_t close_code; /* io->close asked for (0: never) */
} tsession;

static inline void dt__s_send(session *s, rcbuf *frame) {
    tsession *t = (tsession *)s;
    if (t->frames == DT_MAX_FRAMES) fail_msg("more than %d frames to one session", DT_MAX_FRAMES);
    t->frame[t->frames++] = rcbuf_ref(frame);
}
static inline void dt__s_close(session *s, uint16_t code, const char *reason) {
    ((tsession *)s)->close_code = code;
}
static inline void dt__s_hold(session *s) {
    ((tsession *)s)->holds++;
}
static inline void dt__s_release(session *s) {
    ((tsession *)s)->holds--;
}
static const session_io dt_session_io = {dt__s_send, dt__s_close, dt__s_hold, dt__s_release};

/* Frame i's JSON text (the domain sends payloads, framed by a transport). */
static inline const char *dt_text(const tsession *t, int i) {
    static char text[DT_JSON_RING][8192];
    static int next;
    char *out = text[next++ % DT_JSON_RING];
    rcbuf *f = t->frame[i];
    snprintf(out, sizeof(text[0]), "%.*s", (int)f->len, rcbuf_payload(f));
    return out;
}

/* The last frame's JSON text ("" when none). */
static inline const char *dt_last(const tsession *t) {
    return t->frames ? dt_text(t, t->frames - 1) : "";
}

/* ---- the fixture ---- */

typedef struct dt_fixture {
    char dir[128];
    uv_loop_t loop;
    store *st;                    /* the wrapper; the domain's store */
    tsession socks[DT_MAX_SOCKS]; /* outlive the store: its last done()s may name them */
    int nsocks;
    domain *dom[DT_MAX_DOMAINS]; /* dt_domain's: flushed each turn, freed by dt_close */
    bus *bus[DT_MAX_DOMAINS];
    int ndom;
} dt_fixture;

/* A fresh database in a new temporary directory, a loop, the wrapper. */
static inline void dt_open(dt_fixture *f, const char *prefix) {
    char path[192];
    memset(f, 0, sizeof(*f));
    log_set_level(LOG_WARN);
    assert_non_null(svc_mkdtemp(f->dir, sizeof(f->dir), prefix));
    snprintf(path, sizeof(path), "%s/chatd.db", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    f->st = sf_open(&f->loop, path);
}

/* Ops of the kinds in mask (1 << STORE_*) fail with status from now on
 * (0: none fail). */
static inline void dt_fail(dt_fixture *f, unsigned mask, int status) {
    sf_fail(f->st, mask, status);
}

/* One loop turn (without blocking), then the end-of-turn work of
 * roles/app.c (domain_flush) for the fixture's domains. */
static inline void dt_turn(dt_fixture *f) {
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < f->ndom; i++)
        domain_flush(f->dom[i]);
}

/* Runs the loop until done(arg) (at most 2 s, then the test fails). */
static inline void dt_run_until(dt_fixture *f, int (*done)(void *arg), void *arg,
                                const char *what) {
    for (int i = 0; i < 2000 && !done(arg); i++) {
        dt_turn(f);
        if (!done(arg)) usleep(1000);
    }
    if (!done(arg)) fail_msg("still waiting for %s after 2 s", what);
}

static inline int dt__idle(void *arg) {
    return sf_pending(((dt_fixture *)arg)->st) == 0;
}

/* Runs the loop until no store op is in flight, also after the
 * end-of-turn work (which may ask the store for channel lists). Lists
 * pushed to one user less than a second apart wait for a later turn
 * (domain.c coalesces them): a test that wants the second one waits for
 * its frame. */
static inline void dt_settle(dt_fixture *f) {
    do {
        dt_run_until(f, dt__idle, f, "the store");
        dt_turn(f);
    } while (sf_pending(f->st));
}

typedef struct dt__frames_arg {
    const tsession *t;
    int n;
} dt__frames_arg;

static inline int dt__has_frames(void *arg) {
    dt__frames_arg *a = arg;
    return a->t->frames >= a->n;
}

/* Runs the loop until t has received at least `frames` frames. */
static inline void dt_run_until_frames(dt_fixture *f, const tsession *t, int frames) {
    dt__frames_arg a = {t, frames};
    dt_run_until(f, dt__has_frames, &a, "a frame");
}

/* A new captured session (not open yet). */
static inline tsession *dt_socket(dt_fixture *f) {
    assert_true(f->nsocks < DT_MAX_SOCKS);
    tsession *t = &f->socks[f->nsocks++];
    memset(t, 0, sizeof(*t));
    t->s.io = &dt_session_io;
    return t;
}

/* A /chat (presence 0) or /presence socket of user on d, opened. */
static inline tsession *dt_login(dt_fixture *f, domain *d, const char *user, int presence) {
    tsession *t = dt_socket(f);
    t->d = d;
    domain_session_open(d, &t->s, user, presence);
    return t;
}

/* Hands t's domain one client frame (printf-style JSON). */
static inline void dt_send(tsession *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void dt_send(tsession *t, const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    domain_session_message(t->d, &t->s, buf, (size_t)n);
}

static inline void dt__user_done(store_op *op) {
    *(int *)op->data = 1;
}

static inline int dt__flag(void *arg) {
    return *(int *)arg;
}

/* Registers users in the store (as /register would), before dt_domain
 * loads them. NULL-terminated. */
static inline void dt_users(dt_fixture *f, const char *const *names) {
    for (; *names; names++) {
        int done = 0;
        store_op op = {.kind = STORE_USER_CREATE, .done = dt__user_done, .data = &done};
        op.u.user_create.username = *names;
        op.u.user_create.pw_hash = "$argon2id$test";
        op.u.user_create.created_ms = 1;
        store_sqlite_backend.submit(sf_real(f->st), &op);
        dt_run_until(f, dt__flag, &done, "a user");
        assert_int_equal(op.status, STORE_OK);
    }
}

/* The embedded shape's domain: loaded from the store, with the local bus
 * (publishing is delivering). Flushed by dt_turn, freed by dt_close. */
static inline domain *dt_domain(dt_fixture *f, const domain_config *cfg) {
    assert_true(f->ndom < DT_MAX_DOMAINS);
    domain *d = domain_new(cfg, &sf_backend, f->st);
    assert_non_null(d);
    bus_handler h = {d, domain_deliver, domain_event};
    assert_int_equal(bus_local_backend.open(&f->bus[f->ndom], &f->loop, NULL, &h), 0);
    domain_attach_bus(d, &bus_local_backend, f->bus[f->ndom]);
    f->dom[f->ndom++] = d;
    return d;
}

/* Closes the store (its last done()s run first), the loop and the
 * fixture's domains, and removes the directory. Domains the test made
 * itself it frees after this. */
static inline void dt_close(dt_fixture *f) {
    sf_backend.close(f->st);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < f->nsocks; i++) /* every session was released */
        assert_int_equal(f->socks[i].holds, 0);
    for (int i = 0; i < f->ndom; i++) {
        domain_free(f->dom[i]);
        bus_local_backend.close(f->bus[i]);
    }
    assert_int_equal(uv_loop_close(&f->loop), 0);
    for (int i = 0; i < f->nsocks; i++)
        for (int j = 0; j < f->socks[i].frames; j++)
            rcbuf_unref(f->socks[i].frame[j]);
    svc_rmrf(f->dir);
}

/* ---- frames as JSON ---- */

/* Frame i parsed; valid until DT_JSON_RING more are parsed (the ring
 * keeps them: tests do not decref). */
static inline json_t *dt_json(const tsession *t, int i) {
    static json_t *ring[DT_JSON_RING];
    static int next;
    json_t **slot = &ring[next++ % DT_JSON_RING];
    json_decref(*slot);
    json_error_t err;
    *slot = json_loads(dt_text(t, i), 0, &err);
    if (!*slot) fail_msg("frame %d is not JSON: %s", i, err.text);
    return *slot;
}

static inline const char *dt_type(const tsession *t, int i) {
    return json_string_value(json_object_get(dt_json(t, i), "type"));
}

/* How many frames of this type t was sent from frame `from` on. */
static inline int dt_count(const tsession *t, const char *type, int from) {
    int n = 0;
    for (int i = from; i < t->frames; i++)
        n += !strcmp(dt_type(t, i), type);
    return n;
}

/* The last frame of this type t was sent (the test fails when none). */
static inline json_t *dt_last_of(const tsession *t, const char *type) {
    for (int i = t->frames - 1; i >= 0; i--)
        if (!strcmp(dt_type(t, i), type)) return dt_json(t, i);
    fail_msg("no %s frame among %d", type, t->frames);
    return NULL;
}

/* A string field of a JSON object ("" when absent or not a string). */
static inline const char *dt_str(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Asserts that t's last frame is an error with this code, request type and
 * (when msg is not NULL) sentence. */
static inline void dt_expect_error(const tsession *t, const char *code, const char *request_type,
                                   const char *msg) {
    json_t *e = t->frames ? dt_json(t, t->frames - 1) : NULL;
    if (!e || strcmp(dt_str(e, "type"), "error"))
        fail_msg("expected an error frame, last: %s", dt_last(t));
    assert_string_equal(dt_str(e, "code"), code);
    assert_string_equal(dt_str(e, "request_type"), request_type);
    if (msg) assert_string_equal(dt_str(e, "error"), msg);
}

/* ---- channels ---- */

/* The channel id of t's last channel_created (copied: stays valid). */
static inline const char *dt_created_id(const tsession *t) {
    static char id[DT_JSON_RING][37];
    static int next;
    char *out = id[next++ % DT_JSON_RING];
    json_t *ch = json_object_get(dt_last_of(t, "channel_created"), "channel");
    snprintf(out, 37, "%s", dt_str(ch, "channel_id"));
    return out;
}

/* t creates a group channel with participants (a JSON array's inside)
 * and the store commits it; its id. */
static inline const char *dt_create_group(dt_fixture *f, tsession *t, const char *name,
                                          const char *participants) {
    int before = dt_count(t, "channel_created", 0);
    dt_send(t, "{\"type\":\"create_channel\",\"name\":\"%s\",\"participants\":[%s]}", name,
            participants);
    dt_settle(f);
    assert_int_equal(dt_count(t, "channel_created", 0), before + 1);
    return dt_created_id(t);
}

/* The entry of channel id in t's last channels_list, or NULL. */
static inline json_t *dt_list_entry(const tsession *t, const char *id) {
    json_t *list = json_object_get(dt_last_of(t, "channels_list"), "channels");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (!strcmp(dt_str(json_array_get(list, i), "channel_id"), id))
            return json_array_get(list, i);
    return NULL;
}

/* ---- who was sent what ---- */

/* Frame counts of every session of the fixture at one moment. */
typedef struct dt_marks {
    int n[DT_MAX_SOCKS];
} dt_marks;

static inline dt_marks dt_mark(const dt_fixture *f) {
    dt_marks m;
    for (int i = 0; i < f->nsocks; i++)
        m.n[i] = f->socks[i].frames;
    return m;
}

/* Where t's frames since m begin, and how many there are. */
static inline int dt_from(const dt_fixture *f, const dt_marks *m, const tsession *t) {
    return m->n[t - f->socks];
}
static inline int dt_since(const dt_fixture *f, const dt_marks *m, const tsession *t) {
    return t->frames - dt_from(f, m, t);
}

/* Asserts that t's frames since m are exactly these types, in order
 * (NULL-terminated). */
static inline void dt_expect_types(const dt_fixture *f, const dt_marks *m, const tsession *t,
                                   const char *const *types) {
    int k = dt_from(f, m, t), n = 0;
    for (; types[n]; n++) {
        if (k + n >= t->frames) fail_msg("frame %d: none, expected %s", n, types[n]);
        assert_string_equal(dt_type(t, k + n), types[n]);
    }
    if (dt_since(f, m, t) != n)
        fail_msg("%d frames, expected %d; last: %s", dt_since(f, m, t), n, dt_last(t));
}

/* ---- the cast of test_channels and test_messages ---- */

/* alice with two chat sockets, bob, carol and dave with one each, all
 * registered, on the embedded domain. */
typedef struct dt_cast {
    domain *dom;
    tsession *a1, *a2, *b, *c, *d;
} dt_cast;

static inline void dt_cast_open(dt_fixture *f, dt_cast *k, const char *prefix) {
    dt_open(f, prefix);
    dt_users(f, (const char *[]){"alice", "bob", "carol", "dave", NULL});
    domain_config cfg;
    domain_config_default(&cfg);
    k->dom = dt_domain(f, &cfg);
    k->a1 = dt_login(f, k->dom, "alice", 0);
    k->a2 = dt_login(f, k->dom, "alice", 0);
    k->b = dt_login(f, k->dom, "bob", 0);
    k->c = dt_login(f, k->dom, "carol", 0);
    k->d = dt_login(f, k->dom, "dave", 0);
    dt_settle(f);
    for (int i = 0; i < f->nsocks; i++) { /* each has its (empty) channels_list */
        assert_int_equal(f->socks[i].frames, 1);
        assert_string_equal(dt_type(&f->socks[i], 0), "channels_list");
    }
}

/* Closes every session still open, then the fixture. */
static inline void dt_cast_close(dt_fixture *f, dt_cast *k) {
    for (int i = 0; i < f->nsocks; i++)
        domain_session_closed(k->dom, &f->socks[i].s);
    dt_close(f);
}

/* ---- two cluster servers over a test's own bus ---- */

/* Two cluster domains (node ids 2 and 3) on the fixture's store, each with
 * a bus of the test's backend bb (a relay the test drives by hand), and
 * users known to both. dt_pair_close frees them after dt_close. */
typedef struct dt_pair {
    domain *d[2];
    bus *b[2];
    const bus_backend *bb;
} dt_pair;

static inline void dt_pair_open(dt_fixture *f, dt_pair *p, const bus_backend *bb,
                                const char *const *users) {
    p->bb = bb;
    for (int i = 0; i < 2; i++) {
        domain_config cfg;
        domain_config_default(&cfg);
        cfg.node_id = 2 + (unsigned)i;
        cfg.cluster = 1;
        p->d[i] = domain_new(&cfg, &sf_backend, f->st);
        assert_non_null(p->d[i]);
        assert_int_equal(bb->open(&p->b[i], &f->loop, NULL, NULL), 0);
        domain_attach_bus(p->d[i], bb, p->b[i]);
        for (const char *const *u = users; *u; u++)
            domain_user_added(p->d[i], *u);
    }
}

/* Closes the fixture (the last done()s still need the domains), then the
 * pair. */
static inline void dt_pair_close(dt_fixture *f, dt_pair *p) {
    dt_close(f);
    for (int i = 0; i < 2; i++) {
        domain_free(p->d[i]);
        p->bb->close(p->b[i]);
    }
}

#endif
