/*
 * store_fail_util: a store that fails on demand, for unit tests. A wrapper
 * backend (sf_backend) in front of a real SQLite store passes every op on,
 * unless the test made that kind of op fail (sf_fail): then done() runs on
 * a later loop turn with the chosen error and nothing is stored — a disk or
 * a database gone bad, as the store interface reports it. It also counts
 * the ops in flight, so that a test can run the loop until whoever uses
 * the store has nothing left to hear back (sf_pending).
 *
 * Header-only because each tests/unit/test_*.c is linked alone with the
 * library: every helper is static inline.
 */
#ifndef CHATD_STORE_FAIL_UTIL_H
#define CHATD_STORE_FAIL_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/alloc.h"
#include "store/store.h"

typedef struct sf_call {
    store_done_cb done;
    void *data;
    store *w;
} sf_call;

struct store {
    store *real;
    uv_timer_t timer;  /* completes the ops made to fail */
    store_op **failed; /* waiting for the timer */
    size_t nfailed, capfailed;
    unsigned fail_mask; /* 1 << store_op_kind */
    int fail_status;    /* what they complete with */
    int pending;        /* ops submitted whose done() has not run */
};

static inline int sf__load(store *w, const store_load_cbs *cbs) {
    return store_sqlite_backend.load(w->real, cbs);
}

static inline void sf__done(store_op *op) {
    sf_call *k = op->data;
    op->done = k->done;
    op->data = k->data;
    k->w->pending--;
    free(k);
    op->done(op);
}

static inline void sf__fail_now(store *w) {
    while (w->nfailed) {
        store_op *op = w->failed[0];
        memmove(w->failed, w->failed + 1, --w->nfailed * sizeof(*w->failed));
        op->status = w->fail_status;
        op->done(op);
    }
}

static inline void sf__timer(uv_timer_t *t) {
    sf__fail_now(t->data);
}

static inline void sf__submit(store *w, store_op *op) {
    sf_call *k = xmalloc(sizeof(*k));
    *k = (sf_call){op->done, op->data, w};
    op->done = sf__done;
    op->data = k;
    w->pending++;
    if (!(w->fail_mask & (1u << op->kind))) {
        store_sqlite_backend.submit(w->real, op);
        return;
    }
    if (w->nfailed == w->capfailed) {
        w->capfailed = w->capfailed ? 2 * w->capfailed : 8;
        w->failed = xrealloc(w->failed, w->capfailed * sizeof(*w->failed));
    }
    w->failed[w->nfailed++] = op;
    uv_timer_start(&w->timer, sf__timer, 0, 0);
}

static inline void sf__closed(uv_handle_t *h) {
    store *w = h->data;
    free(w->failed);
    free(w);
}

static inline void sf__close(store *w) {
    store_sqlite_backend.close(w->real);
    w->fail_mask = ~0u; /* the real store is gone: whatever comes now fails */
    sf__fail_now(w);
    uv_close((uv_handle_t *)&w->timer, sf__closed);
}

static const store_backend sf_backend = {"sqlite (test wrapper)", NULL, sf__load, sf__submit,
                                         sf__close};

/* Opens SQLite at path on loop behind the wrapper; the wrapper is the
 * store to use (with sf_backend). Nothing fails until sf_fail. */
static inline store *sf_open(uv_loop_t *loop, const char *path) {
    store_config cfg = {.path = path, .fsync = 0, .max_batch = 64};
    store *w = xcalloc(1, sizeof(*w));
    assert_int_equal(store_sqlite_backend.open(&w->real, &cfg, loop), STORE_OK);
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->fail_status = STORE_EIO;
    return w;
}

/* Ops of the kinds in mask (1 << STORE_*) fail with status from now on
 * (mask 0: none fail). */
static inline void sf_fail(store *w, unsigned mask, int status) {
    w->fail_mask = mask;
    w->fail_status = status;
}

/* Ops submitted whose done() has not run yet. */
static inline int sf_pending(const store *w) {
    return w->pending;
}

/* The SQLite store behind the wrapper (ops submitted to it directly with
 * store_sqlite_backend are neither counted nor made to fail). */
static inline store *sf_real(store *w) {
    return w->real;
}

#endif
