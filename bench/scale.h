/*
 * scale: the two halves of scenario scale — more sockets than one process
 * may hold (ulimit -Hn), spread over several generator processes the way
 * users scale out, all in one channel, then one message to all of them.
 *
 * The coordinator (scenario_scale.c) forks --processes workers
 * (scale_worker.c), worker k taking users [first, first + n) of --prefix,
 * and drives them in lock step over a pair of pipes with one-line
 * messages (the workers' lines carry counts; figures are theirs, the
 * coordinator sums them):
 *
 *   worker -> coordinator             coordinator -> worker
 *   "login OK FAILED"                 "connect"
 *   "up UP FAILED PORT:N,PORT:N..."   "join CHANNEL_ID"
 *   "joined JOINED FAILED ERRORS"     "report"   (after the message went out)
 *   "got COUNT LAST_NS ERRORS HIST"   "close"    (the worker exits)
 *
 * "join -" means the users are members already (seeded): the worker
 * answers at once. UP counts sockets with their channels_list, PORT:N how many of them each
 * chat server port holds; LAST_NS is the CLOCK_MONOTONIC time the worker's
 * last socket got the message (every process on one machine shares that
 * clock), HIST the latencies (stats_to_text). A worker answers "report" at
 * once with what it has, or earlier, unasked, when every joined socket got
 * the message. A worker that cannot go on still answers each step, with
 * what it has.
 */
#ifndef BENCH_SCALE_H
#define BENCH_SCALE_H

#include "bench.h"

#include <stddef.h>

#define SCALE_LINE 65536 /* longest line either way */

/* Runs worker for users [first, first + n) until "close" or a broken pipe;
 * returns the process exit status. */
int scale_worker_main(const bench_opts *o, size_t first, size_t n, int ctl_in, int ctl_out);

#endif
