/*
 * scenario storm: a reconnect storm after a restart. --connections sockets
 * of --users seeded users (scenario seed; socket i is user i mod U) are
 * opened the usual way (--connect-window handshakes in flight): the time
 * that takes is the "fresh connects" figure. Then the server is restarted
 * under them: SIGTERM to --server-pid (chatd closes every socket with 1001
 * and exits), and once it has exited --restart-cmd starts it again on the
 * same port (sh -c; the command should `exec` the server, which then is
 * this process's child, stopped with SIGTERM when the scenario ends). Every
 * socket reconnects on its own with the `chat` client's back-off and jitter
 * (dial.h), without any window, as a fleet of real clients would.
 *
 * Figures: from the restart command to the last socket having its
 * channels_list again (and from the SIGTERM), the connect latency of the
 * attempts that succeeded (p50/p99), each socket's time from its loss to
 * being up again, the attempts made, and the ratio to the fresh connects.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "dial.h"
#include "users.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int all_up(dial_set *d) {
    bench_progress("storm: %zu/%zu up, %zu connecting, %zu backing off, %llu attempts", d->up, d->n,
                   d->connecting, d->waiting, (unsigned long long)d->attempts);
    return d->up == d->n;
}

static int settled(dial_set *d) {
    bench_progress("storm: fresh connects %zu/%zu up, %zu failed", d->up, d->n, d->failed);
    return dial_settled(d);
}

/* 1 while pid runs (a zombie has exited: it only waits for its parent). */
static int running(int pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int g_old_pid;
static int old_gone(dial_set *d) {
    bench_progress("storm: waiting for the server to exit; %zu sockets still up", d->up);
    return !running(g_old_pid);
}

/* sh -c cmd in its own process group; the child's pid, or -1. */
static int spawn(const char *cmd) {
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop_child(int pid) {
    if (pid <= 0) return;
    kill(-pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(100000);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void latency(json_t *r, const char *key, const stats_hist *h) {
    json_t *l = json_object();
    bench_latency_json(l, h);
    json_object_set_new(r, key, l);
}

json_t *scenario_storm(const bench_opts *o) {
    if (!o->restart_cmd || o->server_pid <= 0) {
        bench_log("storm: needs --server-pid and --restart-cmd");
        return NULL;
    }
    size_t n = (size_t)o->connections;
    size_t nusers = o->users > 0 && (size_t)o->users < n ? (size_t)o->users : n;
    json_t *r = bench_result(o);
    json_object_set_new(r, "connections", json_integer((json_int_t)n));
    json_object_set_new(r, "users", json_integer((json_int_t)nusers));
    dial_set d;
    users_result ur = {0};
    int child = -1;
    if (dial_login(&d, o, n, nusers, 1, r, &ur) < 0) {
        if (!d.s) {
            json_decref(r);
            return NULL;
        }
        bench_log("storm: %zu users could not log in (last HTTP status %d)", ur.failed,
                  ur.last_status);
        goto fail;
    }

    /* fresh connects */
    double t0 = bench_now_s();
    dial_open(&d, 0, n);
    dial_run_until(&d, settled, t0 + o->setup_timeout);
    double fresh = bench_now_s() - t0;
    bench_progress_done();
    if (d.up != n) {
        bench_log("storm: only %zu of %zu sockets came up (last HTTP status %d, last error %s)",
                  d.up, n, d.last_http_status, d.last_err ? uv_strerror(d.last_err) : "none");
        goto fail;
    }
    json_object_set_new(r, "fresh_s", json_real(fresh));
    json_object_set_new(r, "fresh_connects_per_s", json_real((double)n / fresh));
    latency(r, "fresh_latency", &d.lat);

    /* the restart */
    stats_reset(&d.lat);
    d.reconnect = 1;
    d.window = (size_t)-1;
    uint64_t attempts0 = d.attempts;
    g_old_pid = o->server_pid;
    double t_kill = bench_now_s();
    kill(o->server_pid, SIGTERM);
    dial_run_until(&d, old_gone, t_kill + 30);
    double t_exit = bench_now_s();
    if (running(o->server_pid)) {
        bench_log("storm: the server did not exit within 30 s of SIGTERM");
        goto fail;
    }
    child = spawn(o->restart_cmd);
    double t_start = bench_now_s();
    int ok = dial_run_until(&d, all_up, t_start + o->setup_timeout);
    bench_progress_done();
    double t_last = (double)d.t_last_up / 1e9;
    json_object_set_new(r, "shutdown_s", json_real(t_exit - t_kill));
    json_object_set_new(r, "lost", json_integer((json_int_t)d.lost));
    json_object_set_new(r, "back", json_integer((json_int_t)d.up));
    json_object_set_new(r, "all_back", json_boolean(ok));
    json_object_set_new(r, "restart_to_all_back_s", ok ? json_real(t_last - t_start) : json_null());
    json_object_set_new(r, "sigterm_to_all_back_s", ok ? json_real(t_last - t_kill) : json_null());
    json_object_set_new(r, "storm_over_fresh",
                        ok ? json_real((t_last - t_start) / fresh) : json_null());
    json_object_set_new(r, "attempts", json_integer((json_int_t)(d.attempts - attempts0)));
    latency(r, "reconnect_latency", &d.lat);
    latency(r, "down_time", &d.back);
    long rss = child > 0 ? bench_rss_kib(child) : -1;
    json_object_set_new(r, "server_rss_after_kib", rss >= 0 ? json_integer(rss) : json_null());
    if (!ok)
        bench_log(
            "storm: %zu of %zu sockets back within %.0f s (last HTTP status %d, last error %s)",
            d.up, n, o->setup_timeout, d.last_http_status,
            d.last_err ? uv_strerror(d.last_err) : "none");
    dial_close_all(&d);
    dial_free(&d);
    stop_child(child);
    return r;
fail:
    dial_close_all(&d);
    dial_free(&d);
    stop_child(child);
    json_decref(r);
    return NULL;
}
