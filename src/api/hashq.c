/*
 * hashq: bounded, per-address fair queue of password hashes (see hashq.h).
 *
 * Each client address has a FIFO of waiting jobs and a count of running
 * ones; the addresses with waiting jobs form a ring. A free worker serves
 * the first address in the ring that is under its running cap (one hash at
 * a time per address while there are several workers), then moves the
 * ring on, so every address gets a hash in turn however many it has
 * queued, and a new address is served next. One address can therefore
 * never hold every worker: somebody else's login starts at once.
 */
#include "api/hashq.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"

typedef struct addr_q {
    char addr[64];
    hashq_job *head, *tail;
    size_t n; /* waiting */
    unsigned running;
    struct addr_q *next_ring; /* in the ring while n > 0 */
} addr_q;

struct hashq {
    uv_loop_t *loop;
    unsigned workers, running, running_per_addr;
    size_t max_waiting, per_addr, waiting;
    strmap addrs; /* addr -> addr_q* (while it has waiting or running jobs) */
    addr_q *ring; /* the next address to consider; NULL when none waits */
    int closing;
};

hashq *hashq_new(uv_loop_t *loop, unsigned workers, size_t max_waiting, size_t per_addr) {
    hashq *q = xcalloc(1, sizeof(*q));
    q->loop = loop;
    q->workers = workers ? workers : 1;
    q->running_per_addr = 1; /* one address never holds more than one worker */
    q->max_waiting = max_waiting;
    q->per_addr = per_addr ? per_addr : 1;
    strmap_init(&q->addrs);
    return q;
}

size_t hashq_waiting(const hashq *q) {
    return q->waiting;
}

void hashq_set_limits(hashq *q, size_t max_waiting, size_t per_addr) {
    q->max_waiting = max_waiting;
    q->per_addr = per_addr ? per_addr : 1;
}

static addr_q *addr_of(hashq *q, const char *addr) {
    addr_q *a = strmap_get(&q->addrs, addr);
    if (a) return a;
    a = xcalloc(1, sizeof(*a));
    snprintf(a->addr, sizeof(a->addr), "%s", addr);
    strmap_put(&q->addrs, a->addr, a);
    return a;
}

static void addr_maybe_free(hashq *q, addr_q *a) {
    if (a->n || a->running) return;
    strmap_del(&q->addrs, a->addr);
    free(a);
}

static void ring_remove(hashq *q, addr_q *a) {
    addr_q *prev = a;
    while (prev->next_ring != a)
        prev = prev->next_ring;
    if (prev == a)
        q->ring = NULL;
    else {
        prev->next_ring = a->next_ring;
        if (q->ring == a) q->ring = a->next_ring;
    }
    a->next_ring = NULL;
}

static void start(hashq *q, addr_q *a, hashq_job *job);

/* Starts the next job round-robin, if a waiting address may run one. */
static void start_next(hashq *q) {
    addr_q *a = q->ring;
    if (!a || q->running >= q->workers) return;
    do {
        if (a->running < q->running_per_addr) {
            hashq_job *job = a->head;
            a->head = job->next__;
            if (!a->head) a->tail = NULL;
            a->n--;
            q->waiting--;
            q->ring = a->next_ring; /* the others come first next time */
            if (a->n == 0) ring_remove(q, a);
            start(q, a, job);
            return;
        }
        a = a->next_ring;
    } while (a != q->ring);
}

static void work_cb(uv_work_t *w) {
    hashq_job *job = w->data;
    job->run(job);
}

static void after_cb(uv_work_t *w, int status) {
    hashq_job *job = w->data;
    hashq *q = job->q__;
    addr_q *a = strmap_get(&q->addrs, job->addr);
    (void)status;
    q->running--;
    if (a) {
        a->running--;
        addr_maybe_free(q, a);
    }
    job->done(job, 0);
    if (q->closing) {
        if (q->running == 0) {
            strmap_free(&q->addrs);
            free(q);
        }
        return;
    }
    start_next(q);
}

static void start(hashq *q, addr_q *a, hashq_job *job) {
    q->running++;
    a->running++;
    job->q__ = q;
    job->work__.data = job;
    uv_queue_work(q->loop, &job->work__, work_cb, after_cb);
}

int hashq_submit(hashq *q, hashq_job *job) {
    job->next__ = NULL;
    job->q__ = q;
    addr_q *a = addr_of(q, job->addr);
    if (q->running < q->workers && a->running < q->running_per_addr && a->n == 0) {
        start(q, a, job);
        return 0;
    }
    int rc = q->waiting >= q->max_waiting ? HASHQ_EFULL : a->n >= q->per_addr ? HASHQ_EADDR : 0;
    if (rc) {
        addr_maybe_free(q, a);
        return rc;
    }
    if (a->n == 0) { /* a new address in the ring is served next */
        if (q->ring) {
            addr_q *last = q->ring;
            while (last->next_ring != q->ring)
                last = last->next_ring;
            last->next_ring = a;
            a->next_ring = q->ring;
        } else {
            a->next_ring = a;
        }
        q->ring = a;
    }
    if (a->tail)
        a->tail->next__ = job;
    else
        a->head = job;
    a->tail = job;
    a->n++;
    q->waiting++;
    start_next(q); /* a worker may be free for it */
    return 0;
}

void hashq_free(hashq *q) {
    if (!q) return;
    q->closing = 1;
    while (q->ring) {
        addr_q *a = q->ring;
        hashq_job *job = a->head;
        a->head = job->next__;
        if (!a->head) a->tail = NULL;
        a->n--;
        q->waiting--;
        if (a->n == 0) {
            ring_remove(q, a);
            addr_maybe_free(q, a);
        }
        job->done(job, HASHQ_ECLOSED);
    }
    if (q->running == 0) {
        strmap_free(&q->addrs);
        free(q);
    }
}
