/*
 * hashq: where password hashing waits. argon2id is slow on purpose (tens of
 * milliseconds and 64 MiB each), so an unbounded queue of hashes is a way
 * to stall every login: hashq runs at most `workers` at once on libuv's
 * thread pool, lets at most `max_waiting` wait (beyond: HASHQ_EFULL, the
 * API answers 503 with Retry-After) and at most `per_addr` from one client
 * address (HASHQ_EADDR: 429). Waiting jobs are started round-robin by
 * address, so a client flooding logins delays someone else's login by at
 * most one hash per worker, never by its whole backlog.
 *
 * Threads: submit and done run on the loop thread; run() on a worker.
 * Ownership: jobs are the caller's; a job is handed back through done()
 * exactly once (after run(), or with status HASHQ_ECLOSED when the queue is
 * freed first); submit failing hands nothing back.
 */
#ifndef CHATD_HASHQ_H
#define CHATD_HASHQ_H

#include <stddef.h>
#include <uv.h>

#include "core/err.h"

enum { HASHQ_EFULL = CHATD_EFULL, HASHQ_EADDR = CHATD_EBUSY, HASHQ_ECLOSED = CHATD_ECLOSED };

typedef struct hashq hashq;
typedef struct hashq_job hashq_job;

struct hashq_job {
    void (*run)(hashq_job *job);              /* worker thread: the hash */
    void (*done)(hashq_job *job, int status); /* loop thread: 0 or HASHQ_ECLOSED */
    char addr[64];                            /* client address (set before submit) */
    /* internal */
    uv_work_t work__;
    hashq *q__;
    hashq_job *next__;
};

hashq *hashq_new(uv_loop_t *loop, unsigned workers, size_t max_waiting, size_t per_addr);
/* Frees the queue; waiting jobs get done(job, HASHQ_ECLOSED) first; running
 * ones finish and are handed back by libuv as the loop runs on (the queue's
 * memory goes with the last of them). */
void hashq_free(hashq *q);
/* Starts or queues job. 0, HASHQ_EFULL or HASHQ_EADDR. */
int hashq_submit(hashq *q, hashq_job *job);
/* New caps (a reload); jobs already waiting stay. */
void hashq_set_limits(hashq *q, size_t max_waiting, size_t per_addr);
/* Jobs waiting (not running). */
size_t hashq_waiting(const hashq *q);

#endif
