/*
 * Unit tests for store/store_worker: completions come back in submission
 * order, for STORE_WORKER_TURN_BUDGET_MS at most per loop turn (the loop
 * polls for I/O in between: a reconnect storm's answers must not hold it
 * while the accept queue overflows), and a stop runs every one left.
 * The backend is a stub run() that succeeds: what is tested is the worker's
 * own threading, not a store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store_worker.h"

/* Each done() takes COST_MS of loop time: a turn has room for
 * STORE_WORKER_TURN_BUDGET_MS / COST_MS of them, plus the one that runs
 * over. */
enum { N = 40, COST_MS = 2, PER_TURN = STORE_WORKER_TURN_BUDGET_MS / COST_MS + 1 };

static void burn_ms(int ms) {
    uint64_t until = uv_hrtime() + (uint64_t)ms * 1000000u;
    while (uv_hrtime() < until) {
    }
}

typedef struct fx {
    uv_loop_t loop;
    uv_prepare_t prepare; /* counts loop turns */
    unsigned turn;
    store_worker *w;
    store_op ops[N];
    int order[N]; /* index of each done() in call order */
    int done;
    unsigned last_turn, in_turn, max_in_turn, turns_with_done;
    int burn; /* done() takes COST_MS */
} fx;

static void run_ok(void *backend, store_op *ops, unsigned n) {
    for (store_op *op = ops; op; op = op->next__)
        op->status = STORE_OK;
}

static void on_prepare(uv_prepare_t *p) {
    ((fx *)p->data)->turn++;
}

static fx *F; /* the running test's fixture (done() has only the op) */

static void on_done(store_op *op) {
    fx *f = F;
    assert_int_equal(op->status, STORE_OK);
    if (f->done == 0 || f->turn != f->last_turn) {
        f->last_turn = f->turn;
        f->in_turn = 0;
        f->turns_with_done++;
    }
    if (++f->in_turn > f->max_in_turn) f->max_in_turn = f->in_turn;
    f->order[f->done++] = (int)(op - f->ops);
    if (f->burn) burn_ms(COST_MS);
}

static int setup(void **state) {
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_prepare_init(&f->loop, &f->prepare);
    f->prepare.data = f;
    uv_prepare_start(&f->prepare, on_prepare);
    assert_int_equal(store_worker_start(&f->w, &f->loop, 4 * N, run_ok, NULL, NULL), 0);
    F = f;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    if (f->w) store_worker_stop(f->w, NULL);
    uv_close((uv_handle_t *)&f->prepare, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void submit_all(fx *f) {
    for (int i = 0; i < N; i++) {
        memset(&f->ops[i], 0, sizeof f->ops[i]);
        f->ops[i].done = on_done;
        store_worker_submit(f->w, &f->ops[i]);
    }
}

/* Runs N ops as one batch (the worker is paused while they are queued)
 * and the loop until every done() has run. */
static void run_one_batch(fx *f) {
    store_worker_pause(f->w, 1);
    submit_all(f);
    store_worker_pause(f->w, 0);
    for (int i = 0; i < 100000 && f->done < N; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->done, N);
}

/* All N ops run as one batch (the worker is paused while they are queued),
 * yet their done()s are spread over turns, a bounded number each, in order.
 * Before the bound, all N ran in the one turn that saw the wake-up. */
static void test_drain_is_bounded_per_turn(void **state) {
    fx *f = *state;
    f->burn = 1;
    run_one_batch(f);
    for (int i = 0; i < N; i++)
        assert_int_equal(f->order[i], i);
    assert_true(f->max_in_turn <= PER_TURN);
    assert_true(f->turns_with_done >= (N + PER_TURN - 1) / PER_TURN);
}

/* Cheap done()s (a fan-out's) come back together: a batch's answers are
 * not cut into small turns when they fit the budget. */
static void test_cheap_dones_share_a_turn(void **state) {
    fx *f = *state;
    run_one_batch(f);
    assert_int_equal(f->turns_with_done, 1);
}

/* A stop commits what is queued and runs every done() before it returns,
 * not just one turn's worth. */
static void test_stop_runs_every_done(void **state) {
    fx *f = *state;
    submit_all(f);
    assert_int_equal(store_worker_stop(f->w, NULL), 0);
    f->w = NULL;
    assert_int_equal(f->done, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(f->order[i], i);
}

/* Without a max_batch the worker takes a backlog of several thousand ops
 * as one transaction (STORE_MAX_BATCH): with messages spread over many
 * channels a commit's cost is per page, so a backlog cut into 1,024-op
 * batches (as before) wrote the same pages again and again. */
static unsigned batches, biggest;
static void run_count(void *backend, store_op *ops, unsigned n) {
    batches++;
    if (n > biggest) biggest = n;
    run_ok(backend, ops, n);
}
static int done_n;
static void on_done_count(store_op *op) {
    done_n++;
}
static void test_default_batch_takes_a_backlog(void **state) {
    enum { BACKLOG = 6000 };
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    store_worker *w;
    assert_int_equal(store_worker_start(&w, &loop, 0, run_count, NULL, NULL), 0);
    store_op *ops = calloc(BACKLOG, sizeof(*ops));
    assert_non_null(ops);
    batches = biggest = 0;
    done_n = 0;
    store_worker_pause(w, 1);
    for (int i = 0; i < BACKLOG; i++) {
        ops[i].done = on_done_count;
        store_worker_submit(w, &ops[i]);
    }
    store_worker_pause(w, 0);
    for (int i = 0; i < 100000 && done_n < BACKLOG; i++)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(done_n, BACKLOG);
    assert_int_equal(batches, 1);
    assert_int_equal(biggest, BACKLOG);
    assert_true(STORE_MAX_BATCH >= BACKLOG);
    assert_int_equal(store_worker_stop(w, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(ops);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drain_is_bounded_per_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cheap_dones_share_a_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_runs_every_done, setup, teardown),
        cmocka_unit_test(test_default_batch_takes_a_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
