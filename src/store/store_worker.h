/*
 * store_worker: what every store backend shares — a worker thread, the op
 * queue, group commit (the worker takes everything queued, up to max_batch
 * ops, and hands it to the backend as ONE batch, i.e. one transaction) and
 * the hand-back of completed ops to the loop thread through uv_async, where
 * done() runs in submission order, for STORE_WORKER_TURN_BUDGET_MS at most
 * per loop turn.
 *
 * The backend supplies run(): it executes a batch on the worker thread and
 * sets each op's status (store_worker_fail_batch marks a failed
 * transaction); and may supply idle(): background work in small steps
 * while nothing is queued (SQLite's search indexing). Everything else
 * about threads lives here.
 *
 * Lifetime: store_worker_stop() commits what is queued, joins the thread,
 * runs the remaining done() callbacks (later submits complete with
 * STORE_ECLOSED) and closes the async handle; the worker's memory goes when
 * the loop has run once more.
 */
#ifndef CHATD_STORE_WORKER_H
#define CHATD_STORE_WORKER_H

#include <uv.h>

#include "store/store.h"

typedef struct store_worker store_worker;

/* Loop time given to done() callbacks per turn, at most (the one running
 * when it runs out finishes); the rest follow on the next turns, after the
 * loop has polled for I/O. A whole batch of answers handled in one turn (a
 * reconnect storm's channel lists, each a big frame to encode) would hold
 * the loop long enough for the kernel's accept queue to overflow: it drops
 * new clients' SYNs, and each of them then waits a 1 s retransmit. Cheap
 * answers (a message's fan-out is a reference per recipient) still come
 * back by the thousand per turn, so each connection's frames go out in
 * one writev. */
#define STORE_WORKER_TURN_BUDGET_MS 10

/* Runs ops (a list linked by next__, n of them) in one transaction. Worker
 * thread, no lock held. */
typedef void (*store_worker_run_fn)(void *backend, store_op *ops, unsigned n);

/* Background work of the backend, done when nothing is queued: one small
 * step (it delays a batch submitted meanwhile by its length). Returns < 0
 * when nothing is left (it is called again after the next batch), 0 when
 * more may be left (called again while the queue stays empty), or N > 0 to
 * be called again once the queue has stayed empty N ms more. Worker thread,
 * no lock held; pause() waits for it as for a batch. */
typedef int (*store_worker_idle_fn)(void *backend);

/* Starts the thread; idle may be NULL. 0, or STORE_EIO (nothing to free
 * then). */
int store_worker_start(store_worker **out, uv_loop_t *loop, int max_batch, store_worker_run_fn run,
                       store_worker_idle_fn idle, void *backend);
/* Queues op (loop thread); its done() runs later on the loop thread. */
void store_worker_submit(store_worker *w, store_op *op);
/* pause=1 waits until no batch runs and starts none until pause=0: the
 * backend's connection is then the caller's (load(), tests). */
void store_worker_pause(store_worker *w, int pause);
/* Stops as described above; after_join(backend) runs once the thread has
 * finished and before the last done()s (close the connection there).
 * Returns 0, or -1 when a stop is already running (close() called from a
 * done() that the stop runs): the caller must then do nothing. */
int store_worker_stop(store_worker *w, void (*after_join)(void *backend));
/* Marks every op of a failed transaction STORE_EIO and drops its outputs. */
void store_worker_fail_batch(store_op *ops);

#endif
