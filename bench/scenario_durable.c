/*
 * scenario durable: many senders, each alone in its own channel by
 * default (members 1), at full speed: every echo is a message the server
 * has durably stored (PROTOCOL.md: the echo is the sender's ack), so
 * echoes/s is stored messages/s. Commit latency comes from chatd's
 * /metrics histogram chatd_store_commit_seconds, read before and after
 * (absent on the baseline, which stores nothing durably).
 */
#include "crowd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const LE[] = {"0.0005", "0.001", "0.002", "0.005", "0.01", "0.025",
                                 "0.05",   "0.1",   "0.25",  "0.5",   "1",    "+Inf"};
enum { NLE = sizeof LE / sizeof LE[0] };

typedef struct commit_snap {
    double count, sum, ops, bucket[NLE];
} commit_snap;

static int snap(const bench_opts *o, commit_snap *s) {
    char *t = bench_fetch_metrics(o);
    if (!t) return -1;
    s->count = bench_metric(t, "chatd_store_commit_seconds_count");
    s->sum = bench_metric(t, "chatd_store_commit_seconds_sum");
    s->ops = bench_metric(t, "chatd_store_commit_ops_total");
    for (int i = 0; i < NLE; i++) {
        char name[96];
        snprintf(name, sizeof name, "chatd_store_commit_seconds_bucket{le=\"%s\"}", LE[i]);
        s->bucket[i] = bench_metric(t, name);
    }
    free(t);
    return s->count < 0 ? -1 : 0;
}

/* Commit latency between two snapshots: mean, and p99 as the upper bound
 * of the bucket holding the 99th percentile commit. */
static json_t *commit_json(const commit_snap *a, const commit_snap *b) {
    json_t *j = json_object();
    double n = b->count - a->count;
    json_object_set_new(j, "commits", json_real(n));
    if (n <= 0) return j;
    json_object_set_new(j, "mean_ms", json_real((b->sum - a->sum) / n * 1e3));
    json_object_set_new(j, "ops_per_commit", json_real((b->ops - a->ops) / n));
    for (int i = 0; i < NLE; i++) {
        if (b->bucket[i] - a->bucket[i] >= 0.99 * n) {
            json_object_set_new(j, "p99_le_ms",
                                i == NLE - 1 ? json_null() : json_real(atof(LE[i]) * 1e3));
            break;
        }
    }
    return j;
}

json_t *scenario_durable(const bench_opts *o) {
    crowd c;
    const char *why = NULL;
    json_t *r = json_object();
    json_object_set_new(r, "scenario", json_string("durable"));
    json_object_set_new(r, "url", json_string(o->url));
    json_object_set_new(r, "channels", json_integer(o->channels));
    json_object_set_new(r, "members", json_integer(o->members));
    json_object_set_new(r, "senders", json_integer(o->senders));
    json_object_set_new(r, "window", json_integer(o->window));
    json_object_set_new(r, "content_bytes", json_integer(o->content_bytes));
    json_object_set_new(r, "duration_s", json_real(o->duration));
    json_t *setup = json_object();
    json_object_set_new(r, "setup", setup);
    if (crowd_setup(&c, o, (size_t)o->channels, (size_t)o->members, (size_t)o->senders, setup,
                    &why) < 0) {
        bench_log("durable: setup failed: %s", why);
        crowd_close(&c);
        json_decref(r);
        return NULL;
    }
    commit_snap before, after;
    int have = snap(o, &before) == 0;
    json_t *ph = crowd_phase(&c, "durable", o->rate, o->warmup, o->duration);
    have = have && snap(o, &after) == 0;
    json_object_set_new(r, "stored_msgs_per_s",
                        json_real(json_real_value(json_object_get(ph, "msgs_per_s"))));
    json_object_set_new(r, "commit", have ? commit_json(&before, &after) : json_null());
    json_t *steps = json_array();
    json_array_append_new(steps, ph);
    json_object_set_new(r, "steps", steps);
    crowd_close(&c);
    return r;
}
