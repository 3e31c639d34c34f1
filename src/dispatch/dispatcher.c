/*
 * dispatcher: the routing step both dispatcher backends share (see
 * dispatcher.h). Given the records of one poll, it asks the usermap about
 * every distinct recipient ONCE, then regroups the deliveries by target
 * chat server so that each server gets one inbox batch per poll: the batch
 * carries each frame once, with only the recipients that server holds.
 */
#include "dispatch/dispatcher.h"

#include <stdlib.h>
#include <string.h>

#include "bus/inbox.h"
#include "core/log.h"
#include "core/strmap.h"

dispatcher__poll *dispatcher__poll_new(const record_key *key) {
    dispatcher__poll *p = calloc(1, sizeof(dispatcher__poll));
    if (p) p->key = key;
    return p;
}

int dispatcher__poll_add(dispatcher__poll *p, const void *buf, size_t len, const char *source) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        record_decoded *r = realloc(p->recs, cap * sizeof(*r));
        if (!r) return RECORD_ENOMEM;
        p->recs = r;
        p->cap = cap;
    }
    int rc = record_decode(buf, len, p->key, &p->recs[p->n]);
    if (rc) {
        bus_inbox_reject(rc, source);
        return rc;
    }
    p->n++;
    return 0;
}

static void free_out(dispatcher__poll *p) {
    for (size_t i = 0; i < p->n_out; i++)
        record_buf_free(&p->out[i].buf);
    free(p->out);
    p->out = NULL;
    p->n_out = 0;
}

void dispatcher__poll_free(dispatcher__poll *p) {
    if (!p) return;
    if (p->lookup_pending) {
        p->orphaned = 1;
        return;
    }
    for (size_t i = 0; i < p->n; i++)
        record_decoded_clear(&p->recs[i]);
    free(p->recs);
    free_out(p);
    free(p);
}

/* The batch currently filling for server s (the last one for s), or a new
 * one when there is none or it has reached DISPATCH_BATCH_BYTES. */
static dispatcher__batch *batch_for(dispatcher__poll *p, unsigned s, size_t *cap) {
    for (size_t i = p->n_out; i-- > 0;)
        if (p->out[i].server_id == s) {
            if (p->out[i].buf.len < DISPATCH_BATCH_BYTES) return &p->out[i];
            break;
        }
    if (p->n_out == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        dispatcher__batch *o = realloc(p->out, ncap * sizeof(*o));
        if (!o) return NULL;
        p->out = o;
        *cap = ncap;
    }
    dispatcher__batch *b = &p->out[p->n_out];
    memset(b, 0, sizeof(*b));
    b->server_id = s;
    if (record_batch_begin(&b->buf)) return NULL;
    p->n_out++;
    return b;
}

typedef struct pair {
    unsigned server;
    const char *name;
} pair;

static int pair_cmp(const void *a, const void *b) {
    unsigned x = ((const pair *)a)->server, y = ((const pair *)b)->server;
    return (x > y) - (x < y);
}

typedef struct route_ctx {
    dispatcher__poll *p;
    strmap index; /* recipient name -> 1 + position in the lookup */
    const char **names;
} route_ctx;

/* Adds every (record, server) delivery to the batches; 0 or negative. */
static int build_batches(dispatcher__poll *p, strmap *index, const unsigned *const *servers,
                         const size_t *nservers) {
    size_t out_cap = 0, pairs_cap = 0;
    pair *pairs = NULL;
    const char **names = NULL;
    int rc = 0;
    for (size_t r = 0; r < p->n && rc == 0; r++) {
        const bus_record *rec = &p->recs[r].r;
        size_t np = 0;
        for (size_t i = 0; i < rec->n_recipients; i++) {
            size_t u = (size_t)(uintptr_t)strmap_get(index, rec->recipients[i]) - 1;
            for (size_t k = 0; k < nservers[u]; k++) {
                if (np == pairs_cap) {
                    size_t ncap = pairs_cap ? pairs_cap * 2 : 64;
                    pair *q = realloc(pairs, ncap * sizeof(*q));
                    const char **nn = realloc(names, ncap * sizeof(*nn));
                    if (q) pairs = q;
                    if (nn) names = nn;
                    if (!q || !nn) {
                        rc = RECORD_ENOMEM;
                        goto done;
                    }
                    pairs_cap = ncap;
                }
                pairs[np++] = (pair){servers[u][k], rec->recipients[i]};
            }
        }
        if (np > 1) qsort(pairs, np, sizeof(*pairs), pair_cmp); /* none held: pairs may be NULL */
        for (size_t i = 0; i < np && rc == 0;) {
            size_t j = i;
            while (j < np && pairs[j].server == pairs[i].server) {
                names[j - i] = pairs[j].name;
                j++;
            }
            dispatcher__batch *b = batch_for(p, pairs[i].server, &out_cap);
            bus_record sub = {rec->channel_id, rec->payload, names,       j - i,
                              rec->presence,   NULL,         rec->changed};
            rc = b ? record_batch_add(&b->buf, &sub) : RECORD_ENOMEM;
            if (rc == 0) b->deliveries++;
            i = j;
        }
    }
done:
    free(pairs);
    free(names);
    for (size_t i = 0; i < p->n_out && rc == 0; i++)
        rc = record_seal(&p->out[i].buf, p->key);
    return rc;
}

static void on_lookup(void *data, int status, const unsigned *const *servers,
                      const size_t *nservers, size_t n) {
    route_ctx *c = data;
    dispatcher__poll *p = c->p;
    p->lookup_pending = 0;
    if (status == 0 && !p->orphaned) {
        status = build_batches(p, &c->index, servers, nservers);
        if (status) {
            log_error("dispatcher: cannot build inbox batches (%d)", status);
            free_out(p);
        }
    }
    strmap_free(&c->index);
    free(c->names);
    free(c);
    if (p->orphaned) {
        dispatcher__poll_free(p);
        return;
    }
    p->done(p->data, p, status);
}

void dispatcher__poll_route(dispatcher__poll *p, usermap *m, dispatcher__done_cb done, void *data) {
    free_out(p);
    p->done = done;
    p->data = data;
    route_ctx *c = calloc(1, sizeof(*c));
    size_t total = 0;
    for (size_t r = 0; r < p->n; r++)
        total += p->recs[r].r.n_recipients;
    if (!c || !(c->names = malloc((total ? total : 1) * sizeof(char *)))) {
        free(c);
        done(data, p, RECORD_ENOMEM);
        return;
    }
    c->p = p;
    strmap_init(&c->index);
    size_t n = 0;
    for (size_t r = 0; r < p->n; r++)
        for (size_t i = 0; i < p->recs[r].r.n_recipients; i++) {
            const char *name = p->recs[r].r.recipients[i];
            if (!strmap_get(&c->index, name)) {
                strmap_put(&c->index, name, (void *)(uintptr_t)(n + 1));
                c->names[n++] = name;
            }
        }
    if (n == 0) { /* nothing to look up: no batches */
        strmap_free(&c->index);
        free(c->names);
        free(c);
        done(data, p, 0);
        return;
    }
    p->lookup_pending = 1;
    usermap_lookup(m, c->names, n, on_lookup, c);
}
