/*
 * hcluster: a whole chatd cluster for the integration tests, brought up
 * and down with scripts/cluster (real Redis, ZooKeeper, PostgreSQL, a Kafka
 * mock cluster for --bus kafka, then 1 api + 3 chat + 2 presence + 2
 * dispatcher chatd processes on loopback).
 *
 * Two users:
 *  - test_cluster drives a cluster directly (kills processes by name);
 *  - the harness's cluster mode: with CHATD_IT_CLUSTER=redis|kafka in the
 *    environment, chatd_start() brings up a cluster instead of one
 *    process, so the protocol suite runs unchanged against it. HTTP goes to
 *    the API server; each new /chat socket goes to the next chat server and
 *    each /presence socket to the next presence server (round robin), so a
 *    test's users are spread over all of them.
 *
 * The cluster uses the harness's JWT secret (H_SECRET), so forged tokens
 * work on it. It is authenticated as scripts/cluster makes it (a cluster
 * secret for the bus, Redis with requirepass, ZooKeeper digest auth);
 * hcluster_secret reads those files for tests that act as an insider or
 * as an intruder (hforge.h). Memory: an hcluster is plain data owned by
 * the caller.
 */
#ifndef CHATD_IT_HCLUSTER_H
#define CHATD_IT_HCLUSTER_H

#include "integration/harness.h"

enum { HC_CHAT = 3, HC_PRESENCE = 2 };

typedef struct hcluster {
    char dir[128]; /* CHATD_CLUSTER_DIR; "" when down */
    char bus[8];   /* "redis" | "kafka" */
    int api_port;
    int chat_port[HC_CHAT]; /* chat1..chat3 */
    int presence_port[HC_PRESENCE];
    unsigned next_chat, next_presence; /* round robin for hcluster_ws_port */
    int shared;                        /* attached (hcluster_attach): down leaves it up */
} hcluster;

/* The bus named by CHATD_IT_CLUSTER ("redis" or "kafka"), or NULL when the
 * suite runs against single chatd processes. Anything else aborts. */
const char *hcluster_env_bus(void);

/* scripts/cluster up --bus bus, every chatd process with `flags` (NULL-
 * terminated, or NULL) appended. 0, or -1 after printing the logs' tails
 * (the cluster is then already down). */
int hcluster_up(hcluster *c, const char *bus, const char *const *flags);

/* The cluster in dir, shared by several test binaries in turn (one
 * cluster start instead of one per binary): brought up there with flags
 * when dir holds none yet, else used as it is. hcluster_down then only
 * forgets it; whoever chose dir stops it (`scripts/cluster down`).
 * 0, or -1 as hcluster_up. */
int hcluster_attach(hcluster *c, const char *bus, const char *dir, const char *const *flags);

/* scripts/cluster down: every process stopped by PID, the dir removed.
 * 0 when the script succeeded. A cluster that is not up: 0. A shared one
 * (hcluster_attach) is left up: 0. */
int hcluster_down(hcluster *c);

/* PID / port of one process by its scripts/cluster name ("api", "chat2",
 * "presence1", "dispatcher1", "redis"...); 0 when unknown. */
int hcluster_pid(const hcluster *c, const char *name);
int hcluster_port(const hcluster *c, const char *name);
/* Port of an engine ("redis", "zookeeper"); 0 when unknown. */
int hcluster_engine_port(const hcluster *c, const char *name);
/* Bytes of <secrets>/<name> ("cluster_secret.txt", "redis_password.txt"...)
 * into buf, NUL-terminated, trailing newlines kept; the length, or -1. */
int hcluster_secret(const hcluster *c, const char *name, char *buf, size_t cap);

/* The port a WebSocket to `path` goes to: the next chat server for /chat,
 * the next presence server for /presence, the API server otherwise. */
int hcluster_ws_port(hcluster *c, const char *path);

/* Every port that serves HTTP (api, chat, presence, dispatcher); returns
 * how many were written to ports (at most cap). */
int hcluster_http_ports(const hcluster *c, int *ports, int cap);

/* Prints the last lines of every chatd log to stderr. */
void hcluster_dump_logs(const hcluster *c);

/* Until messages and presence flow between all the servers (the first
 * deliveries wait for the dispatchers and inbox consumers to join their
 * groups): three users, one on each chat server, exchange one message and
 * one status change. s must be a cluster-mode server. Fails the test. */
void hcluster_warm_up(chatd_srv *s);

#endif
