/*
 * discovery: which chat and presence servers are alive, and how loaded.
 * Chat and presence servers register themselves; the API server lists
 * them to answer /auth with the least-loaded live instance of each.
 * Backends: static (the embedded shape: just this process) and ZooKeeper
 * (ephemeral znodes /chat-service/<id>, /presence-service/<id> holding
 * {"id","host","port","timestamp","connections"}; node ids from ephemeral
 * sequential znodes /<service>/server-ids/id-N, N mod 1024).
 *
 * Threading: every function is called on the loop thread. A backend whose
 * client library has its own threads (ZooKeeper) keeps a mutex-protected
 * cache that list() reads, kept current by watches.
 */
#ifndef CHATD_DISCOVERY_H
#define CHATD_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct uv_loop_s uv_loop_t;

typedef struct discovery_instance {
    unsigned id;    /* node id 0..1023 (also the Snowflake node) */
    char host[256]; /* what clients dial */
    int port;
    uint64_t connections; /* live sockets */
    int64_t timestamp_ms; /* last refresh, by the instance's own clock */
    uint64_t silent_ms;   /* list(): how long ago this process last heard a
                           * refresh from it */
    bool tls;             /* clients dial it with wss:// ("tls": true in its znode) */
} discovery_instance;

/* Live instances refresh every second (update()). One silent this long is
 * presumed dead before its session expires: a process killed with -9 keeps
 * its ephemeral znode for the whole ZooKeeper session timeout (10 s), and
 * /auth should stop sending clients to it well before that. */
#define DISCOVERY_STALE_MS 3000

typedef struct discovery discovery;

/* How to reach the registry. Borrowed by open (copied). */
typedef struct discovery_config {
    const char *connect;    /* backend-specific ("127.0.0.1:2181" for ZooKeeper) */
    int session_timeout_ms; /* > 0 */
    /* ZooKeeper: NULL or "" leaves every znode open to all (the ACL
     * world:anyone:cdrwa). Otherwise the client adds digest auth as
     * DISCOVERY_ZK_USER:<password> (<secrets>/zookeeper_password.txt) and
     * every znode it creates may be read by anyone but created under,
     * written, deleted or re-ACLed only by that identity; a parent node it
     * finds open is closed the same way, and one whose ACL it cannot fix
     * makes open-time calls fail. Never logged. */
    const char *password;
} discovery_config;

#define DISCOVERY_ZK_USER "chatd"

typedef struct discovery_backend {
    const char *name;
    /* Connects as cfg says and blocks until connected or the session
     * timeout passes. 0 or negative. An instance whose process dies drops
     * out of others' list() within the session timeout. With a loop, an
     * expired session is replaced on the loop thread and this process's
     * registrations are re-created. */
    int (*open)(discovery **out, const discovery_config *cfg, uv_loop_t *loop);
    /* Allocates a node id for `service` ("chat-service", "presence-service"). */
    int (*alloc_node_id)(discovery *d, const char *service, unsigned *node_id);
    /* Registers this process as a live instance of service (ephemeral). */
    int (*register_instance)(discovery *d, const char *service, const discovery_instance *self);
    /* Refreshes this instance's connection count and timestamp. */
    int (*update)(discovery *d, const char *service, uint64_t connections);
    /* Copies up to max live instances of service into out; returns how many. */
    size_t (*list)(discovery *d, const char *service, discovery_instance *out, size_t max);
    void (*close)(discovery *d);
    /* 1 when the registry is reachable now (/ready); NULL: always. Any thread. */
    int (*connected)(discovery *d);
} discovery_backend;

extern const discovery_backend discovery_zookeeper_backend;

/* ZooKeeper backend only, for tests and diagnostics: this client's current
 * session id and password (as zookeeper_init's clientid_t takes them).
 * 0, or negative without a session. */
int discovery_zookeeper_session(discovery *d, int64_t *session_id, char passwd[16]);

/* ZooKeeper's digest id for user:password, as its DigestAuthenticationProvider
 * computes it: "user:" base64(sha1("user:password")). 0, or -1 when out is
 * too small. */
int discovery_zookeeper_digest(const char *user, const char *password, char *out, size_t cap);

/* The instance with the fewest connections (ties: lowest id) among those
 * heard from within DISCOVERY_STALE_MS; when every one is silent (this
 * process's own ZooKeeper link is what failed, most likely), among all of
 * them. -1 if the list is empty. */
int discovery_pick(const discovery_instance *list, size_t n, discovery_instance *out);

/* A burst of picks, spread: an instance's connection count is only as new
 * as its last refresh (once a second), so a login storm would all land on
 * whichever instance was least loaded then. This remembers how many
 * clients were named to each instance since its last refresh and counts
 * them as connections. One per service per picking process (plain data,
 * zero-initialised; loop thread only). */
enum { DISCOVERY_SPREAD_MAX = 64 };
typedef struct discovery_spread {
    struct {
        unsigned id;
        int64_t timestamp_ms; /* the refresh the count below is on top of */
        uint64_t named;       /* clients named to it since that refresh */
    } seen[DISCOVERY_SPREAD_MAX];
    size_t n;
} discovery_spread;

/* discovery_pick over list (at most DISCOVERY_SPREAD_MAX instances are
 * considered) with the clients named since each refresh added (out's
 * connections include them); notes the pick. 0, or -1 if the list is empty. */
int discovery_pick_spread(discovery_spread *sp, const discovery_instance *list, size_t n,
                          discovery_instance *out);

/* --allowed-hosts (a comma-separated list of host names or addresses,
 * compared case-insensitively with an instance's advertised host): /auth
 * names only instances on those hosts, so that a rogue znode (someone who
 * got write access to ZooKeeper, or a misconfigured --advertise) cannot
 * send clients elsewhere. allowed NULL: every host.
 *
 * discovery_allowed_valid: 0 when allowed is well formed (non-empty names
 * without spaces, each shorter than 256 bytes), else -1.
 * discovery_host_allowed: whether host is in allowed (or allowed is NULL).
 * discovery_filter_allowed: keeps, in order, the instances of list whose
 * host is allowed; returns how many (the others are dropped). */
int discovery_allowed_valid(const char *allowed);
bool discovery_host_allowed(const char *allowed, const char *host);
size_t discovery_filter_allowed(const char *allowed, discovery_instance *list, size_t n);

#endif
