/*
 * hforge: forged bus payloads and ZooKeeper clients for the cluster trust
 * tests (see hforge.h). The payloads are built with the library's own
 * codec (bus/record.h), so a genuine one is byte for byte what chatd
 * writes, and a forged one differs only in its mac.
 */
#include "integration/hforge.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "bus_forge.h"
#include "net/ws.h"

void hforge_message(record_buf *out, const hcluster *c, int genuine, int batch, const char *channel,
                    const char *sender, const char *recipient, const char *content) {
    char secret[4096];
    int n = genuine ? hcluster_secret(c, "cluster_secret.txt", secret, sizeof secret)
                    : snprintf(secret, sizeof secret, "a guess at the cluster secret");
    if (n <= 0) fail_msg("no cluster secret in %s", c->dir);
    record_key *k;
    assert_int_equal(record_key_new(&k, secret, (size_t)n), 0);
    const char *json = hfmt("{\"type\":\"chat_message\",\"channel_id\":\"%s\",\"message_id\":"
                            "\"%lld\",\"sender_id\":\"%s\",\"content\":\"%s\",\"seq\":999,"
                            "\"timestamp\":\"2026-01-01T00:00:00.000Z\"}",
                            channel, (long long)now_ms(), sender, content);
    rcbuf *frame = rcbuf_copy(json, strlen(json)); /* a payload, as chat servers publish */
    const char *to[] = {recipient};
    bus_record r = {channel, frame, to, 1, 0, NULL, 0};
    bus_forge(out, k, &r, batch);
    rcbuf_unref(frame);
    record_key_free(k);
}

static void inject_redis(const hcluster *c, const char *where, const void *buf, size_t len) {
    char pw[512];
    redisContext *rc = redisConnect("127.0.0.1", hcluster_engine_port(c, "redis"));
    if (!rc || rc->err) fail_msg("hforge: cannot reach the cluster's Redis");
    if (hcluster_secret(c, "redis_password.txt", pw, sizeof pw) > 0)
        freeReplyObject(redisCommand(rc, "AUTH %s", pw)); /* the intruder reached Redis */
    const char *field = !strcmp(where, "chat-messages") ? "r"
                        : !strcmp(where, "chat-events") ? "e"
                                                        : "b";
    redisReply *r = redisCommand(rc, "XADD %s * %s %b", where, field, buf, len);
    if (!r || r->type != REDIS_REPLY_STRING)
        fail_msg("hforge: XADD %s: %s", where, r && r->str ? r->str : rc->errstr);
    freeReplyObject(r);
    redisFree(rc);
}

static void inject_kafka(const hcluster *c, const char *where, const char *key, const void *buf,
                         size_t len) {
    char brokers[512], err[256];
    FILE *f = fopen(hfmt("%s/kafka.bootstrap", c->dir), "r");
    if (!f || !fgets(brokers, sizeof brokers, f)) fail_msg("hforge: no kafka.bootstrap");
    fclose(f);
    brokers[strcspn(brokers, "\n")] = '\0';
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p) fail_msg("hforge: kafka producer: %s", err);
    rd_kafka_resp_err_t e =
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(where), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)buf, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e || rd_kafka_flush(p, 10000)) fail_msg("hforge: produce to %s failed", where);
    rd_kafka_destroy(p);
}

void hforge_inject(const hcluster *c, const char *where, const char *key, const void *buf,
                   size_t len) {
    if (!strcmp(c->bus, "kafka"))
        inject_kafka(c, where, key, buf, len);
    else
        inject_redis(c, where, buf, len);
}

static void quiet_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {}

zhandle_t *hforge_zk(const hcluster *c, int insider) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(hfmt("127.0.0.1:%d", hcluster_engine_port(c, "zookeeper")),
                                   quiet_watcher, 10000, NULL, NULL, 0);
    if (!zh) fail_msg("hforge: zookeeper_init failed");
    char pw[512];
    if (insider && hcluster_secret(c, "zookeeper_password.txt", pw, sizeof pw) > 0) {
        const char *cred = hfmt("chatd:%s", pw);
        assert_int_equal(zoo_add_auth(zh, "digest", cred, (int)strlen(cred), NULL, NULL), ZOK);
    }
    for (int i = 0; i < 250 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++)
        usleep(20 * 1000);
    if (zoo_state(zh) != ZOO_CONNECTED_STATE) fail_msg("hforge: ZooKeeper did not connect");
    return zh;
}
