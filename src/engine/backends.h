/*
 * backends: every setting of the cluster's engines, read in ONE place from
 * the flags and the secrets directory (--secrets DIR), for every role:
 *
 *   BACKENDS_REDIS      --redis HOST:PORT          + DIR/redis_password.txt (optional: AUTH)
 *   BACKENDS_ZOOKEEPER  --zookeeper HOST:PORT[,..] + DIR/zookeeper_password.txt (optional:
 *                                                    digest auth and closed znode ACLs)
 *                       --allowed-hosts HOST[,..]  (checked here, used by /auth)
 *   BACKENDS_BUS        --bus kafka|redis          + DIR/cluster_secret.txt (required: the
 *                                                    HMAC key of every bus payload) and
 *                                                    DIR/cluster_secret_accept.txt (optional:
 *                                                    also accepted, for a rotation)
 *                       --kafka BROKERS, --kafka-fetch-wait-ms, --kafka-tls,
 *                       --kafka-sasl-mechanism     + DIR/kafka_username.txt and
 *                                                    kafka_password.txt (optional: SASL)
 *   backends_pg_conninfo --pg CONNINFO             + DIR/db_password.txt (optional)
 *
 * host:port values are validated (engine/hostport.h); every error is one
 * log line naming the flag or the file. Password files are text: trailing
 * CR/LF are dropped, and they must not be empty. The cluster secret is
 * exact bytes, like jwt_secret.txt. Nothing secret is ever logged.
 *
 * A redis part also checks, once and blocking (start-up), that Redis takes
 * our password: a refused or missing password stops the role with a clear
 * message; an unreachable Redis is only a warning (the links retry).
 */
#ifndef CHATD_BACKENDS_H
#define CHATD_BACKENDS_H

#include "bus/record.h"
#include "core/config.h"
#include "discovery/discovery.h"
#include "engine/kafka_link.h"
#include "engine/redis_link.h"

enum { BACKENDS_REDIS = 1, BACKENDS_ZOOKEEPER = 2, BACKENDS_BUS = 4 };

#define BACKENDS_ZK_SESSION_MS 10000

/* Zero-initialise; the public fields are valid once their part is loaded
 * and until backends_free. */
typedef struct backends {
    unsigned loaded;         /* BACKENDS_* parts filled so far */
    redis_link_config redis; /* REDIS */
    discovery_config zk;     /* ZOOKEEPER */
    int bus_redis;           /* BUS: 1 Redis Streams, 0 Kafka */
    kafka_link_config kafka; /* BUS, with --bus kafka */
    record_key *key;         /* BUS: the cluster secret */
    /* private: what the pointers above point into */
    char redis_host[256];
    char *redis_password, *zk_password, *kafka_username, *kafka_password;
} backends;

/* Fills the parts of need that are not loaded yet, from cfg; role names
 * the role in messages ("the dispatcher role needs --redis HOST:PORT").
 * 0, or -1 after logging why (parts loaded before stay loaded). */
int backends_load(backends *b, const chatd_config *cfg, const char *role, unsigned need);
/* Wipes the secrets and frees everything; b is zeroed. */
void backends_free(backends *b);

/* --pg plus DIR/db_password.txt as one libpq conninfo (the password
 * quoted). The caller frees it as soon as the connection is made (it holds
 * the password). NULL after logging why. */
char *backends_pg_conninfo(const chatd_config *cfg);

#endif
