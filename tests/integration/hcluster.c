/*
 * hcluster: see hcluster.h. A thin layer over scripts/cluster: it owns the
 * processes; this file only reads its pid and port files.
 */
#define _GNU_SOURCE
#include "integration/hcluster.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/chatkit.h"
#include "svcutil.h"

#define WARM_MS 60000 /* first deliveries: consumer groups joining */

static int run(const char *cmd) {
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const char *hcluster_env_bus(void) {
    const char *b = getenv("CHATD_IT_CLUSTER");
    if (!b || !*b) return NULL;
    if (strcmp(b, "redis") != 0 && strcmp(b, "kafka") != 0) {
        fprintf(stderr, "harness: CHATD_IT_CLUSTER must be redis or kafka, not '%s'\n", b);
        abort();
    }
    return b;
}

static int read_int(const hcluster *c, const char *fmt, const char *name) {
    char path[160];
    snprintf(path, sizeof path, fmt, c->dir, name);
    FILE *f = fopen(path, "r");
    int v = 0;
    if (!f) return 0;
    if (fscanf(f, "%d", &v) != 1) v = 0;
    fclose(f);
    return v;
}

int hcluster_pid(const hcluster *c, const char *name) {
    return c->dir[0] ? read_int(c, "%s/pids/%s", name) : 0;
}

int hcluster_port(const hcluster *c, const char *name) {
    return c->dir[0] ? read_int(c, "%s/%s/port", name) : 0;
}

int hcluster_engine_port(const hcluster *c, const char *name) {
    return c->dir[0] ? read_int(c, "%s/ports/%s", name) : 0;
}

int hcluster_secret(const hcluster *c, const char *name, char *buf, size_t cap) {
    FILE *f = c->dir[0] && cap ? fopen(hfmt("%s/secrets/%s", c->dir, name), "rb") : NULL;
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (int)n;
}

void hcluster_dump_logs(const hcluster *c) {
    if (c->dir[0]) run(hfmt("tail -n 25 %s/*/chatd.log >&2", c->dir));
}

static void read_ports(hcluster *c) {
    c->api_port = hcluster_port(c, "api");
    for (int i = 0; i < HC_CHAT; i++)
        c->chat_port[i] = hcluster_port(c, hfmt("chat%d", i + 1));
    for (int i = 0; i < HC_PRESENCE; i++)
        c->presence_port[i] = hcluster_port(c, hfmt("presence%d", i + 1));
}

/* scripts/cluster up in c->dir (made, empty). 0 or -1 (then down). */
static int up_in_dir(hcluster *c, const char *bus, const char *const *flags) {
    const char *bin = getenv("CHATD_BIN");
    char build[512], secret[160];
    char *extra = NULL;
    size_t extra_len = 0;
    FILE *ex = open_memstream(&extra, &extra_len);

    snprintf(c->bus, sizeof c->bus, "%s", bus);
    snprintf(build, sizeof build, "%s", bin && *bin ? bin : "build/chatd");
    for (int i = 0; flags && flags[i]; i++)
        fprintf(ex, "%s%s", i ? " " : "", flags[i]);
    fclose(ex);
    harness__keep_str(extra);
    if (strchr(extra, '\'')) {
        fprintf(stderr, "hcluster: a flag contains a quote: %s\n", extra);
        c->dir[0] = '\0';
        return -1;
    }
    /* The harness's secret, so tests can forge tokens (scripts/cluster
     * keeps a secret it finds). */
    snprintf(secret, sizeof secret, "%s/secrets", c->dir);
    mkdir(secret, 0700);
    snprintf(secret, sizeof secret, "%s/secrets/jwt_secret.txt", c->dir);
    FILE *f = fopen(secret, "wb");
    if (!f || fwrite(H_SECRET, 1, H_SECRET_LEN, f) != H_SECRET_LEN || fclose(f) != 0) {
        fprintf(stderr, "hcluster: cannot write %s\n", secret);
        c->dir[0] = '\0';
        return -1;
    }

    if (run(hfmt("CHATD_CLUSTER_DIR=%s CHATD_BUILD=%s CHATD_CLUSTER_FLAGS='%s' "
                 "scripts/cluster up --bus %s >/dev/null",
                 c->dir, dirname(build), extra, bus)) != 0) {
        fprintf(stderr, "hcluster: scripts/cluster up --bus %s failed\n", bus);
        hcluster_dump_logs(c);
        c->shared = 0; /* this one is broken: take it down whoever made it */
        hcluster_down(c);
        return -1;
    }
    read_ports(c);
    return 0;
}

int hcluster_up(hcluster *c, const char *bus, const char *const *flags) {
    memset(c, 0, sizeof *c);
    if (!svc_mkdtemp(c->dir, sizeof c->dir, "chatd-hc-")) {
        fprintf(stderr, "hcluster: mkdtemp: %s\n", strerror(errno));
        c->dir[0] = '\0';
        return -1;
    }
    return up_in_dir(c, bus, flags);
}

int hcluster_attach(hcluster *c, const char *bus, const char *dir, const char *const *flags) {
    memset(c, 0, sizeof *c);
    if (strlen(dir) >= sizeof c->dir) {
        fprintf(stderr, "hcluster: cluster dir too long: %s\n", dir);
        return -1;
    }
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    snprintf(c->bus, sizeof c->bus, "%s", bus);
    c->shared = 1;
    if (access(hfmt("%s/api_url", dir), F_OK) == 0) { /* already up */
        read_ports(c);
        return 0;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "hcluster: mkdir %s: %s\n", dir, strerror(errno));
        c->dir[0] = '\0';
        return -1;
    }
    return up_in_dir(c, bus, flags);
}

int hcluster_down(hcluster *c) {
    if (!c->dir[0]) return 0;
    if (c->shared) { /* left up for the next test binary */
        c->dir[0] = '\0';
        return 0;
    }
    const char *keep = getenv("CHATD_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0) { /* the logs outlive the cluster */
        run(hfmt("mkdir -p %s.logs && for f in %s/*/chatd.log; do "
                 "cp \"$f\" %s.logs/$(basename $(dirname \"$f\")).log; done",
                 c->dir, c->dir, c->dir));
        fprintf(stderr, "hcluster: kept the logs in %s.logs\n", c->dir);
    }
    int rc = run(hfmt("CHATD_CLUSTER_DIR=%s scripts/cluster down >/dev/null", c->dir));
    c->dir[0] = '\0';
    return rc == 0 ? 0 : -1;
}

int hcluster_ws_port(hcluster *c, const char *path) {
    if (strncmp(path, "/chat", 5) == 0 && (path[5] == '\0' || path[5] == '?'))
        return c->chat_port[c->next_chat++ % HC_CHAT];
    if (strncmp(path, "/presence", 9) == 0 && (path[9] == '\0' || path[9] == '?'))
        return c->presence_port[c->next_presence++ % HC_PRESENCE];
    return c->api_port;
}

int hcluster_http_ports(const hcluster *c, int *ports, int cap) {
    static const char *names[] = {"api",       "chat1",     "chat2",       "chat3",
                                  "presence1", "presence2", "dispatcher1", "dispatcher2"};
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && n < cap; i++) {
        int p = hcluster_port(c, names[i]);
        if (p > 0) ports[n++] = p;
    }
    return n;
}

/* ---- warm-up ---- */
void hcluster_warm_up(chatd_srv *s) {
    const char *u[HC_CHAT];
    tconn *c[HC_CHAT];
    for (int i = 0; i < HC_CHAT; i++) {
        u[i] = new_user(s, "warm");
        c[i] = chat_login(s, u[i]); /* round robin: one on each chat server */
    }
    send_pack(c[0], "{s:s,s:s,s:[ss]}", "type", "create_channel", "name", "warm-up", "participants",
              u[1], u[2]);
    const char *ch =
        jstr(jobj(recv_type(c[0], "channel_created", WARM_MS), "channel"), "channel_id");
    for (int i = 1; i < HC_CHAT; i++)
        recv_list_with_in(c[i], ch, WARM_MS);
    send_json(c[0], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"warm\"}", ch);
    for (int i = 0; i < HC_CHAT; i++)
        if (!try_recv_msg(c[i], ch, "warm", WARM_MS))
            fail_msg("cluster warm-up: chat server %d never delivered", i + 1);

    /* presence: a change on one presence server reaches the other */
    tconn *p0 = presence_login(s, u[0]), *p1 = presence_login(s, u[1]);
    recv_type(p0, "initial_presence", WARM_MS);
    recv_type(p1, "initial_presence", WARM_MS);
    send_json(p0, "{\"type\":\"status_update\",\"status\":\"away\"}");
    if (!try_recv_presence(p1, u[0], "away", WARM_MS))
        fail_msg("cluster warm-up: a presence change did not cross presence servers");

    tconn_close(p0);
    tconn_close(p1);
    for (int i = 0; i < HC_CHAT; i++)
        tconn_close(c[i]);
    s->cluster->next_chat = s->cluster->next_presence = 0;
}
