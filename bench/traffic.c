/*
 * traffic: the measured part of the message scenarios (see crowd.h):
 * sending chat_message frames that carry their send time, and turning
 * deliveries into throughput and latency.
 */
#define _GNU_SOURCE /* memmem */
#include "crowd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BACKLOG (1u << 20) /* a sender with 1 MiB unsent skips its turn */
#define DRAIN_S 5.0

static int send_one(crowd *c, crowd_sender *s) {
    crowd_member *m = &c->m[s->member];
    if (m->ws.state != WSCONN_OPEN) return -1;
    if (wsconn_backlog(&m->ws) > MAX_BACKLOG) {
        c->skipped++;
        return -1;
    }
    size_t need = (size_t)c->o->content_bytes + 200;
    if (c->frame_cap < need) {
        free(c->frame);
        c->frame = malloc(need);
        c->frame_cap = c->frame ? need : 0;
        if (!c->frame) return -1;
    }
    int n;
    if (c->o->edits && s->target[0]) /* protocol 1.1: an edit of the sender's message */
        n = snprintf(c->frame, c->frame_cap,
                     "{\"type\":\"edit_message\",\"channelId\":\"%s\",\"message_id\":\"%s\","
                     "\"content\":\"T%llu:%ld:",
                     c->chan_id[m->channel], s->target, (unsigned long long)bench_now_ns(),
                     (long)(s - c->s));
    else
        n = snprintf(c->frame, c->frame_cap,
                     "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"T%llu:%ld:",
                     c->chan_id[m->channel], (unsigned long long)bench_now_ns(), (long)(s - c->s));
    int content_at = (int)(strstr(c->frame, "\"content\":\"") - c->frame) + 11;
    while (n - content_at < c->o->content_bytes)
        c->frame[n++] = 'x';
    memcpy(c->frame + n, "\"}", 3);
    n += 2;
    if (wsconn_send_text(&m->ws, c->frame, (size_t)n) < 0) return -1;
    s->inflight++;
    c->sent++;
    return 0;
}

/* edits: the sender's first echoed chat_message is the one it edits. */
static void remember_target(crowd_sender *s, const char *p, size_t n) {
    static const char id_key[] = "\"message_id\":\"", type[] = "\"type\":\"chat_message\"";
    const char *k = memmem(p, n, id_key, sizeof id_key - 1);
    if (!k || !memmem(p, n, type, sizeof type - 1)) return;
    k += sizeof id_key - 1;
    size_t len = strspn(k, "0123456789");
    if (len == 0 || len >= sizeof s->target) return;
    memcpy(s->target, k, len);
    s->target[len] = '\0';
}

void crowd__on_delivery(crowd *c, crowd_member *m, const char *p, size_t n) {
    const char *k = memmem(p, n, "\"content\":\"T", 12);
    char *end;
    unsigned long long sent = strtoull(k + 12, &end, 10);
    long sender = *end == ':' ? strtol(end + 1, NULL, 10) : -1;
    uint64_t now = bench_now_ns();
    c->delivered++;
    int in_window = now >= c->t_meas && now < c->t_end;
    if (in_window) c->delivered_win++;
    if (sent >= c->t_meas && sent < c->t_end && now >= sent) stats_record(&c->lat, now - sent);
    if (sender >= 0 && sender == m->sender) { /* our own echo: the server's ack */
        crowd_sender *s = &c->s[sender];
        if (c->o->edits && !s->target[0]) remember_target(s, p, n);
        if (s->inflight) s->inflight--;
        c->acked++;
        if (in_window) c->acked_win++;
        if (c->saturate && c->phase_active > 0) send_one(c, s);
    }
}

static uint64_t last_ns, last_delivered; /* for the progress line's rate */

static void report_progress(crowd *c, const char *name) {
    uint64_t now = bench_now_ns();
    if (now - last_ns < 1000000000ull) return;
    double dt = (double)(now - last_ns) / 1e9;
    double rate = last_ns ? (double)(c->delivered - last_delivered) / dt : 0;
    last_ns = now;
    last_delivered = c->delivered;
    const char *stage = now < c->t_meas ? "warmup" : now < c->t_end ? "measure" : "drain";
    bench_progress("%s [%s]: sent %llu, acked %llu, delivered %llu (%.0f/s), errors %llu", name,
                   stage, (unsigned long long)c->sent, (unsigned long long)c->acked,
                   (unsigned long long)c->delivered, rate, (unsigned long long)c->errors);
}

static const char *g_phase_name;

static void on_tick(uv_timer_t *t) {
    crowd *c = t->data;
    report_progress(c, g_phase_name);
    if (c->saturate || c->phase_active <= 0) return;
    uint64_t now = bench_now_ns();
    double due = (double)(now - c->t_start) / 1e9 * c->rate;
    uint64_t target = (uint64_t)due;
    uint64_t offered = c->sent + c->skipped;
    for (uint64_t i = offered; i < target && c->nsenders; i++) {
        crowd_sender *s = &c->s[c->rr++ % c->nsenders];
        send_one(c, s);
    }
}

static int phase_over(crowd *c) {
    return bench_now_ns() >= c->t_end;
}

static int drained(crowd *c) {
    report_progress(c, g_phase_name);
    return c->delivered >= c->sent * c->per_channel;
}

json_t *crowd_phase(crowd *c, const char *name, double rate, double warmup, double duration) {
    g_phase_name = name;
    last_ns = last_delivered = 0;
    c->sent = c->acked = c->delivered = c->delivered_win = c->acked_win = c->skipped = 0;
    c->errors = c->rate_limited = 0;
    c->first_error[0] = '\0';
    for (size_t i = 0; i < c->nsenders; i++)
        c->s[i].inflight = 0;
    stats_reset(&c->lat);
    c->saturate = rate <= 0;
    c->rate = rate;
    c->t_start = bench_now_ns();
    c->t_meas = c->t_start + (uint64_t)(warmup * 1e9);
    c->t_end = c->t_meas + (uint64_t)(duration * 1e9);
    c->phase_active = 1;
    size_t failed_before = c->failed;

    uv_timer_stop(&c->tick);
    c->tick.data = c;
    uv_timer_start(&c->tick, on_tick, 1, 1);
    if (c->saturate)
        for (size_t k = 0; k < c->nsenders; k++)
            for (int w = 0; w < c->o->window; w++)
                send_one(c, &c->s[k]);
    crowd_run_until(c, phase_over, c->t_meas / 1e9);
    double srv0 = bench_servers_cpu_s(c->o), me0 = bench_cpu_s(0), w0 = bench_now_s();
    uint64_t acked0 = c->acked, delivered0 = c->delivered;
    crowd_run_until(c, phase_over, bench_now_s() + duration + 1);
    double wall = bench_now_s() - w0;
    double srv1 = bench_servers_cpu_s(c->o), me1 = bench_cpu_s(0);
    uint64_t acked_cpu = c->acked - acked0, delivered_cpu = c->delivered - delivered0;
    c->phase_active = 0;
    double t_drain = bench_now_s();
    crowd_run_until(c, drained, t_drain + DRAIN_S);
    double drain_s = bench_now_s() - t_drain;
    bench_progress_done();

    json_t *r = json_object();
    uint64_t expected = c->sent * c->per_channel;
    json_object_set_new(r, "phase", json_string(name));
    json_object_set_new(r, "offered_msgs_per_s", c->saturate ? json_null() : json_real(rate));
    json_object_set_new(r, "msgs_per_s", json_real((double)c->acked_win / duration));
    json_object_set_new(r, "deliveries_per_s", json_real((double)c->delivered_win / duration));
    json_object_set_new(r, "sent", json_integer((json_int_t)c->sent));
    json_object_set_new(r, "deliveries", json_integer((json_int_t)c->delivered));
    json_object_set_new(
        r, "missing_deliveries",
        json_integer((json_int_t)(expected > c->delivered ? expected - c->delivered : 0)));
    json_object_set_new(r, "skipped_backlogged", json_integer((json_int_t)c->skipped));
    json_object_set_new(r, "errors", json_integer((json_int_t)c->errors));
    json_object_set_new(r, "rate_limited", json_integer((json_int_t)c->rate_limited));
    json_object_set_new(r, "sockets_lost", json_integer((json_int_t)(c->failed - failed_before)));
    json_object_set_new(r, "drain_s", json_real(drain_s));
    /* who used the 2 cores while measuring: the server, and this generator */
    int cpu_known = srv0 >= 0 && srv1 >= 0;
    json_object_set_new(r, "server_cpu_pct",
                        cpu_known ? json_real((srv1 - srv0) / wall * 100) : json_null());
    /* per message stored (acked) and per delivery made while the CPU was read */
    bench_cpu_per(r, cpu_known ? srv1 - srv0 : -1, acked_cpu, delivered_cpu);
    json_object_set_new(r, "bench_cpu_pct", json_real((me1 - me0) / wall * 100));
    if (c->first_error[0]) json_object_set_new(r, "first_error", json_string(c->first_error));
    json_t *lat = json_object();
    bench_latency_json(lat, &c->lat);
    json_object_set_new(r, "latency", lat);
    uv_timer_stop(&c->tick);
    uv_timer_start(&c->tick, on_tick, 50, 50);
    return r;
}
