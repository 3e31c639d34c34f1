/*
 * bus_kafka + dispatch_kafka against librdkafka's mock cluster (3
 * brokers), with the usermap in a real Redis that requires a password:
 * the bus contract (bus_contract.h: deliveries, batching, events, forged
 * payloads written straight into the topics dropped and counted,
 * takeover), then the Kafka link's security settings.
 *
 * SASL: librdkafka 2.0.2's mock brokers do not implement SaslHandshake
 * (checked here: a client configured for SASL cannot even fetch metadata
 * from them, while a plain one can), so a login with good or bad
 * credentials cannot be tested against them. What is tested: the link
 * applies the credentials (kafka_link_conf reads them back from the
 * configuration librdkafka was given), refuses an unknown mechanism, and
 * a SASL-configured bus really speaks SASL (it cannot use the mock).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bus_contract.h"
#include "engine/kafka_link.h"

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mc;
static kafka_link_config kafka_cfg, dispatcher_kafka_cfg;

/* ---- the contract's hooks ---- */

static const bus_backend *BE = &bus_kafka_backend;
static const dispatcher_backend *DB = &dispatcher_kafka_backend;

static void bc_bus_config(bus_config *c) {
    c->kafka = &kafka_cfg;
}

static void bc_dispatcher_config(dispatcher_config *dc, unsigned batch_max) {
    dc->kafka = &dispatcher_kafka_cfg;
}

/* Produces raw bytes with a producer of the test's own, keyed like the
 * bus (by channel) so that they land on one partition, in order. */
static void bc_inject(int where, const void *buf, size_t len) {
    static const char *const topic[] = {"chat-messages", "chat-inbox.1", "chat-events"};
    char err[256];
    rd_kafka_conf_t *c = kafka_link_conf(&kafka_cfg, NULL, err, sizeof err);
    assert_non_null(c);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic[where]), RD_KAFKA_V_KEY("c1", 2),
                                       RD_KAFKA_V_VALUE((void *)buf, len),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     0);
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
}

static void bc_settled(void) {}

static int setup(void **state) {
    char err[256];
    if (bc_setup(state)) return -1;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err));
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    SETUP_CHECK(mock_rk && (mc = rd_kafka_mock_cluster_new(mock_rk, 3)));
    kafka_cfg.brokers = rd_kafka_mock_cluster_bootstraps(mc);
    /* The mock holds an empty fetch for the whole wait, even when data
     * arrives meanwhile: the dispatcher's short wait (as scripts/cluster
     * sets it) makes a poll per burst in test_channel_order, the buses'
     * default one (100 ms) leaves a batch waiting on one broker while the
     * next may be fetched from another. */
    dispatcher_kafka_cfg = kafka_cfg;
    dispatcher_kafka_cfg.fetch_wait_ms = 10;
    rd_kafka_mock_topic_create(mc, DISPATCH_TOPIC, 4, 3);
    /* several partitions per inbox, as a topic the brokers create on first
     * use may have (the mock's default is 4; test_channel_order) */
    rd_kafka_mock_topic_create(mc, "chat-inbox.1", 4, 3);
    rd_kafka_mock_topic_create(mc, "chat-inbox.2", 4, 3);
    rd_kafka_mock_topic_create(mc, "chat-events", 1, 3);
    return bc_open_buses();
}

static int teardown(void **state) {
    int rc = bc_teardown(state);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mock_rk);
    return rc;
}

/* ---- the Kafka link's security ---- */

static const char *conf_get(rd_kafka_conf_t *c, const char *name, char *buf, size_t cap) {
    size_t n = cap;
    return rd_kafka_conf_get(c, name, buf, &n) == RD_KAFKA_CONF_OK ? buf : "(unset)";
}

static void test_sasl_settings_applied(void **state) {
    char err[256], v[256];
    kafka_link_config k = {.brokers = "127.0.0.1:1",
                           .sasl_mechanism = "SCRAM-SHA-512",
                           .sasl_username = "chatd",
                           .sasl_password = "kafka pw"};
    rd_kafka_conf_t *c = kafka_link_conf(&k, NULL, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(conf_get(c, "security.protocol", v, sizeof v), "sasl_plaintext");
    assert_string_equal(conf_get(c, "sasl.mechanisms", v, sizeof v), "SCRAM-SHA-512");
    assert_string_equal(conf_get(c, "sasl.username", v, sizeof v), "chatd");
    assert_string_equal(conf_get(c, "sasl.password", v, sizeof v), "kafka pw");
    rd_kafka_conf_destroy(c);
    k.tls = 1;
    k.sasl_mechanism = "PLAIN";
    assert_non_null(c = kafka_link_conf(&k, NULL, err, sizeof err));
    assert_string_equal(conf_get(c, "security.protocol", v, sizeof v), "sasl_ssl");
    assert_string_equal(conf_get(c, "sasl.mechanisms", v, sizeof v), "PLAIN");
    rd_kafka_conf_destroy(c);
    k.sasl_mechanism = NULL; /* no credentials: no SASL */
    assert_non_null(c = kafka_link_conf(&k, NULL, err, sizeof err));
    assert_string_equal(conf_get(c, "security.protocol", v, sizeof v), "ssl");
    rd_kafka_conf_destroy(c);
}

/* librdkafka takes any name in the configuration and refuses it when the
 * handle is made: the link does not open (and logs librdkafka's reason). */
static void test_unknown_mechanism_refused(void **state) {
    char err[256] = "";
    kafka_link_config k = {.brokers = "127.0.0.1:1",
                           .sasl_mechanism = "NOT-A-MECHANISM",
                           .sasl_username = "chatd",
                           .sasl_password = "pw"};
    kafka_link *l = NULL;
    kafka_link_handler h = {NULL, NULL, NULL, NULL};
    assert_int_equal(kafka_link_open(&l, &g.loop, &k, "test", NULL, NULL, &h), -1);
    assert_null(l);
    rd_kafka_conf_t *c = kafka_link_conf(&k, NULL, err, sizeof err);
    assert_null(rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err));
    rd_kafka_conf_destroy(c);
    print_message("refused: %s\n", err);
    assert_non_null(strstr(err, "NOT-A-MECHANISM"));
}

/* A producer made from the link's settings fetches metadata from the mock
 * without SASL, and cannot with it: the mock has no SASL, and the
 * credentials are really used. */
static void test_sasl_really_spoken(void **state) {
    char err[256];
    for (int sasl = 0; sasl < 2; sasl++) {
        kafka_link_config k = kafka_cfg;
        if (sasl) {
            k.sasl_mechanism = "PLAIN";
            k.sasl_username = "chatd";
            k.sasl_password = "pw";
        }
        rd_kafka_conf_t *c =
            kafka_link_conf(&k, (const char *const[]){"log_level", "0", NULL}, err, sizeof err);
        rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
        assert_non_null(p);
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(p, 1, NULL, &md, 2000);
        if (md) rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(p);
        if (sasl)
            assert_int_not_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        else
            assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        BUS_CONTRACT_TESTS,
        cmocka_unit_test(test_sasl_settings_applied),
        cmocka_unit_test(test_unknown_mechanism_refused),
        cmocka_unit_test(test_sasl_really_spoken),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
