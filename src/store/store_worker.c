/*
 * store_worker: thread, queue, group commit and completion hand-back for
 * the store backends (see store_worker.h).
 *
 * Threads: the loop thread submits (queue under `mu`, wake the worker with
 * `cv`); the worker takes a batch, runs it without the lock, moves it to the
 * completed list and pokes `async`. uv_async coalesces wake-ups, so the
 * async callback drains the completed list, a bounded part per loop turn.
 */
#include "store/store_worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct store_worker {
    uv_loop_t *loop;
    uv_async_t async;
    pthread_t thread;
    int max_batch;
    store_worker_run_fn run;
    store_worker_idle_fn idle;
    void *backend;

    pthread_mutex_t mu;                /* guards everything down to `closing` */
    pthread_cond_t cv;                 /* broadcast on any change below */
    store_op *queue_head, *queue_tail; /* submitted, not yet run */
    store_op *done_head, *done_tail;   /* run, done() not yet called */
    int stopping;                      /* worker: run what is queued, then exit */
    int parked;                        /* paused: start no batch */
    int busy;                          /* a batch or an idle step is running */
    int idle_more;                     /* idle() may have work left */
    struct timespec idle_at;           /* not before then (CLOCK_MONOTONIC) */
    int closing;                       /* stop began: submits complete with ECLOSED */

    /* Loop thread only. */
    store_op *draining; /* taken from done_head, done() not yet called */
    int closed;         /* stop has run every done() */
};

static int ts_before(struct timespec a, struct timespec b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static void ts_add_ms(struct timespec *t, int ms) {
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    t->tv_sec += ms / 1000 + t->tv_nsec / 1000000000L;
    t->tv_nsec %= 1000000000L;
}

/* Appends the list first..last to a queue (head, tail). Caller holds mu. */
static void list_append(store_op **head, store_op **tail, store_op *first, store_op *last) {
    last->next__ = NULL;
    if (*tail)
        (*tail)->next__ = first;
    else
        *head = first;
    *tail = last;
}

void store_worker_fail_batch(store_op *ops) {
    for (store_op *op = ops; op; op = op->next__) {
        store_op_clear(op);
        if (op->kind == STORE_MSG_APPEND)
            op->u.msg_append.msg.seq = 0;
        else if (op->kind == STORE_MEMBER_ADD)
            op->u.member_add.added = 0;
        else if (op->kind == STORE_MARK_READ)
            op->u.mark_read.moved = 0;
        op->status = STORE_EIO;
    }
}

static void *worker_main(void *arg) {
    store_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while ((!w->queue_head || w->parked) && !w->stopping) {
            if (!w->idle_more || w->parked) {
                pthread_cond_wait(&w->cv, &w->mu);
                continue;
            }
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (ts_before(now, w->idle_at)) {
                pthread_cond_timedwait(&w->cv, &w->mu, &w->idle_at);
                continue;
            }
            w->busy = 1;
            pthread_mutex_unlock(&w->mu);
            int r = w->idle(w->backend);
            pthread_mutex_lock(&w->mu);
            w->busy = 0;
            w->idle_more = r >= 0;
            clock_gettime(CLOCK_MONOTONIC, &w->idle_at);
            ts_add_ms(&w->idle_at, r > 0 ? r : 0);
            pthread_cond_broadcast(&w->cv); /* pause() may wait for idle */
        }
        if (!w->queue_head) break; /* stopping, and everything is committed */

        /* Take up to max_batch ops off the front of the queue. */
        store_op *first = w->queue_head, *last = first;
        unsigned n = 1;
        while (last->next__ && n < (unsigned)w->max_batch) {
            last = last->next__;
            n++;
        }
        w->queue_head = last->next__;
        if (!w->queue_head) w->queue_tail = NULL;
        last->next__ = NULL;
        w->busy = 1;
        pthread_mutex_unlock(&w->mu);

        w->run(w->backend, first, n);

        pthread_mutex_lock(&w->mu);
        w->busy = 0;
        w->idle_more = w->idle != NULL;
        clock_gettime(CLOCK_MONOTONIC, &w->idle_at);
        list_append(&w->done_head, &w->done_tail, first, last);
        pthread_cond_broadcast(&w->cv); /* pause() may wait for idle */
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Calls done() for completed ops, in order, until budget_ns of loop time
 * has gone (checked after each; 0 = no limit). Loop thread. Returns 1 when
 * some were left for later. A done() may stop the worker, which finishes
 * this drain itself; stop then (returns 0). */
static int drain(store_worker *w, uint64_t budget_ns) {
    uint64_t until = budget_ns ? uv_hrtime() + budget_ns : 0;
    for (;;) {
        if (!w->draining) {
            pthread_mutex_lock(&w->mu);
            w->draining = w->done_head;
            w->done_head = w->done_tail = NULL;
            pthread_mutex_unlock(&w->mu);
            if (!w->draining) return 0;
        }
        store_op *op = w->draining;
        w->draining = op->next__;
        op->next__ = NULL;
        if (op->done) op->done(op);
        if (w->closed) return 0;
        if (until && uv_hrtime() >= until)
            return w->draining != NULL; /* newer: their own wake-up */
    }
}

static void on_async(uv_async_t *h) {
    store_worker *w = h->data;
    if (drain(w, STORE_WORKER_TURN_BUDGET_MS * 1000000ull))
        uv_async_send(&w->async); /* the rest next turn, after the loop polled for I/O */
}

static void on_closed(uv_handle_t *h) {
    store_worker *w = h->data;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void store_worker_submit(store_worker *w, store_op *op) {
    op->next__ = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->closing) {
        op->status = STORE_ECLOSED;
        list_append(&w->done_head, &w->done_tail, op, op);
        if (!w->closed) uv_async_send(&w->async); /* stop's own drain may also take it */
    } else {
        list_append(&w->queue_head, &w->queue_tail, op, op);
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

void store_worker_pause(store_worker *w, int pause) {
    pthread_mutex_lock(&w->mu);
    w->parked = pause;
    while (pause && w->busy)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int store_worker_stop(store_worker *w, void (*after_join)(void *backend)) {
    pthread_mutex_lock(&w->mu);
    if (w->closing) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    w->closing = 1;
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);

    pthread_join(w->thread, NULL); /* it commits the queue first */
    if (after_join) after_join(w->backend);
    drain(w, 0); /* also the ECLOSED ops submitted by these done()s */
    w->closed = 1;
    uv_close((uv_handle_t *)&w->async, on_closed);
    return 0;
}

int store_worker_start(store_worker **out, uv_loop_t *loop, int max_batch, store_worker_run_fn run,
                       store_worker_idle_fn idle, void *backend) {
    *out = NULL;
    store_worker *w = calloc(1, sizeof(*w));
    if (!w) return STORE_EIO;
    w->loop = loop;
    w->max_batch = max_batch > 0 ? max_batch : STORE_MAX_BATCH;
    w->run = run;
    w->idle = idle;
    w->idle_more = idle != NULL; /* work left from before may be waiting */
    w->backend = backend;
    if (pthread_mutex_init(&w->mu, NULL) != 0) goto fail_free;
    pthread_condattr_t ca; /* timed waits on the monotonic clock */
    if (pthread_condattr_init(&ca) != 0) goto fail_mutex;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) goto fail_mutex;
    if (uv_async_init(loop, &w->async, on_async) != 0) goto fail_cond;
    w->async.data = w;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        uv_close((uv_handle_t *)&w->async, on_closed); /* frees w */
        return STORE_EIO;
    }
    *out = w;
    return STORE_OK;

fail_cond:
    pthread_cond_destroy(&w->cv);
fail_mutex:
    pthread_mutex_destroy(&w->mu);
fail_free:
    free(w);
    return STORE_EIO;
}
