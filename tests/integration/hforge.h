/*
 * hforge: what an intruder (or a careless insider) could do to a cluster
 * made by hcluster.h, for the tests that show chatd refuses it:
 *  - write bus payloads straight into the engine — the Redis streams or
 *    the Kafka topics (chat-messages, chat-inbox.<id>, chat-events) — with
 *    the engine's own client, as anyone who can reach Redis or Kafka can;
 *    sealed with the cluster's secret (genuine: the control that shows the
 *    path is real) or with a guess (forged);
 *  - talk to ZooKeeper anonymously, or with the cluster's ZooKeeper
 *    password (as a compromised host that holds it).
 * Everything fails the current test on error. Memory: payloads are
 * record_bufs the caller frees; ZooKeeper handles are the caller's to close.
 */
#ifndef CHATD_IT_HFORGE_H
#define CHATD_IT_HFORGE_H

#include <zookeeper/zookeeper.h>

#include "bus/record.h"
#include "integration/hcluster.h"

/* A chat_message bus payload to one recipient in channel, "from" sender,
 * as a RECORD (for chat-messages) or a BATCH (for an inbox). genuine: sealed
 * with the cluster secret; else with a wrong key. */
void hforge_message(record_buf *out, const hcluster *c, int genuine, int batch, const char *channel,
                    const char *sender, const char *recipient, const char *content);

/* Writes buf into stream/topic `where` of c's bus (its --bus engine),
 * keyed by `key` on Kafka (the partition: use the channel id). */
void hforge_inject(const hcluster *c, const char *where, const char *key, const void *buf,
                   size_t len);

/* A connected ZooKeeper client: with the cluster's zookeeper password
 * (insider = 1) or anonymous. */
zhandle_t *hforge_zk(const hcluster *c, int insider);

#endif
