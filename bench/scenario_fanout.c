/*
 * scenario fanout: R channels x M members, S senders. First the
 * saturation throughput (each sender keeps a window of messages in flight),
 * then, for each fraction in --sweep, a fixed offered rate of that fraction
 * of the saturation message rate, to see latency against load. With
 * --rate X only that one fixed-rate phase runs.
 *
 * scenario dm is the same over direct-message pairs (--direct, members 2,
 * by default 1000 pairs with both sides sending): chatd's many-small-
 * conversations case, where each message has one other recipient.
 */
#include "crowd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *header(const bench_opts *o, const char *scenario) {
    json_t *r = json_object();
    json_object_set_new(r, "scenario", json_string(scenario));
    json_object_set_new(r, "url", json_string(o->url));
    json_object_set_new(r, "channels", json_integer(o->channels));
    json_object_set_new(r, "members", json_integer(o->members));
    json_object_set_new(r, "senders", json_integer(o->senders));
    json_object_set_new(r, "direct", json_boolean(o->direct));
    json_object_set_new(r, "content_bytes", json_integer(o->content_bytes));
    json_object_set_new(r, "duration_s", json_real(o->duration));
    return r;
}

json_t *scenario_fanout(const bench_opts *o) {
    crowd c;
    const char *why = NULL;
    json_t *r = header(o, o->scenario);
    json_t *setup = json_object();
    json_object_set_new(r, "setup", setup);
    if (crowd_setup(&c, o, (size_t)o->channels, (size_t)o->members, (size_t)o->senders, setup,
                    &why) < 0) {
        bench_log("%s: setup failed: %s", o->scenario, why);
        crowd_close(&c);
        json_decref(r);
        return NULL;
    }
    json_object_set_new(r, "window", json_integer(o->window));
    json_t *steps = json_array();
    json_object_set_new(r, "steps", steps);
    if (o->rate > 0) {
        json_array_append_new(steps, crowd_phase(&c, "fixed", o->rate, o->warmup, o->duration));
        crowd_close(&c);
        return r;
    }
    json_t *sat = crowd_phase(&c, "saturation", 0, o->warmup, o->duration);
    json_object_set_new(r, "saturation", sat);
    double sat_rate = json_real_value(json_object_get(sat, "msgs_per_s"));
    json_object_set_new(r, "saturation_msgs_per_s", json_real(sat_rate));
    json_object_set_new(r, "saturation_deliveries_per_s",
                        json_real(json_real_value(json_object_get(sat, "deliveries_per_s"))));
    char *list = strdup(o->sweep ? o->sweep : "");
    for (char *save = NULL, *f = strtok_r(list, ",", &save); f && sat_rate > 0;
         f = strtok_r(NULL, ",", &save)) {
        double frac = atof(f);
        if (frac <= 0) continue;
        char name[32];
        snprintf(name, sizeof name, "%.0f%%", frac * 100);
        json_t *step = crowd_phase(&c, name, frac * sat_rate, o->warmup, o->duration);
        json_object_set_new(step, "fraction", json_real(frac));
        json_array_append_new(steps, step);
        if (frac > 0.49 && frac < 0.51) json_object_set(r, "half_load", step);
    }
    free(list);
    crowd_close(&c);
    return r;
}
