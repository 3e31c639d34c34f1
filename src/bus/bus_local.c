/*
 * bus_local: the embedded shape's bus. Every recipient's sockets live in
 * this process, so publishing is delivering: one direct call, no copy.
 */
#include <stdlib.h>

#include "bus/bus.h"

struct bus {
    bus_handler h;
};

static int local_open(bus **out, uv_loop_t *loop, const bus_config *cfg, const bus_handler *h) {
    (void)loop, (void)cfg;
    bus *b = malloc(sizeof(*b));
    if (!b) return -1;
    b->h = *h;
    *out = b;
    return 0;
}

static void local_publish(bus *b, const bus_record *r) {
    b->h.deliver(b->h.data, r);
}

static void local_close(bus *b) {
    free(b);
}

const bus_backend bus_local_backend = {"local", local_open, local_publish, NULL, local_close};
