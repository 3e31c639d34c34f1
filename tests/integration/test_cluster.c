/*
 * test_cluster: a real cluster (scripts/cluster: Redis, ZooKeeper,
 * PostgreSQL, 1 api + 3 chat + 2 presence + 2 dispatcher chatd processes) with each bus
 * backend — Redis Streams and Kafka (librdkafka's mock cluster, 3 brokers).
 * Users placed on different chat servers by /auth create a channel, chat
 * both ways, see each other's read receipts, presence and the same
 * history; a dispatcher killed with -9 leaves the other to carry on with
 * nothing lost; Redis restarted empty and service resumes; a chat server
 * killed with -9 under steady traffic: its user re-authenticates, lands
 * elsewhere and recovers every acknowledged message exactly once.
 *
 * Trust (the cluster is authenticated: bus HMAC, Redis requirepass,
 * ZooKeeper digest ACLs; hforge.h plays the intruder): a chat_message
 * forged into chat-messages and into an inbox, straight through Redis or
 * Kafka, reaches nobody and is counted, while the same payload sealed with
 * the cluster secret is delivered; an anonymous ZooKeeper client cannot
 * register, rewrite or delete a server, and a rogue znode written with
 * ZooKeeper's password is never named by /auth (--allowed-hosts); a role
 * with a wrong Redis password, or without the cluster secret, refuses to
 * start and says why.
 */
#include "integration/chatkit.h"
#include "integration/hcluster.h"
#include "integration/hforge.h"
#include "svcutil.h"

#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hcluster cl;
static chatd_srv api_srv; /* only .port is used: the API server */

static int run(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void down_at_exit(void) {
    hcluster_down(&cl);
}

static void cluster_up(const char *bus_name) {
    static int registered;
    if (!registered++) atexit(down_at_exit); /* even if a failure skips the teardown */
    /* one user holds 20 idle sockets per server in the dead-server drill */
    const char *flags[] = {
        "--argon2", "min", "--allowed-hosts", "127.0.0.1", "--max-conns-per-user", "100", NULL};
    if (hcluster_up(&cl, bus_name, flags) != 0)
        fail_msg("scripts/cluster up --bus %s failed", bus_name);
    api_srv.port = cl.api_port;
}

/* Teardown: always stops what cluster_up started, even after a failure. */
static int cluster_down(void **state) {
    (void)state;
    return hcluster_down(&cl);
}

/* The first deliveries after start-up wait for the dispatchers to join
 * their consumer group, and those after a dispatcher dies for the group to
 * rebalance (Kafka's session timeout): allow for that. */
#define SLOW_MS 30000

static void wait_list_with(tconn *c, const char *ch) {
    recv_list_with_in(c, ch, SLOW_MS);
}

static json_t *wait_msg(tconn *c, const char *ch, const char *content) {
    json_t *m = try_recv_msg(c, ch, content, SLOW_MS);
    if (!m) fail_msg("no chat_message '%s' within %d ms", content, SLOW_MS);
    return m;
}

static void wait_presence(tconn *c, const char *user, const char *status) {
    if (!try_recv_presence(c, user, status, SLOW_MS))
        fail_msg("%s: no presence_update %s=%s within %d ms", c->label, user, status, SLOW_MS);
}

/* Logs in through the API and connects to the chat server it names;
 * *server gets that server's node id. */
static const char *last_token;
static int last_presence_port;

static tconn *login_anywhere(const char *user, json_int_t *server, chatd_srv *where) {
    json_t *resp = auth_response(&api_srv, user, H_PASSWORD);
    json_t *chat = jobj(jobj(resp, "servers"), "chat");
    where->port = atoi(jstr(chat, "port")); /* a string (compat) */
    *server = jint(chat, "id");
    last_token = jstr(resp, "sessionToken");
    last_presence_port = atoi(jstr(jobj(jobj(resp, "servers"), "presence"), "port"));
    return chat_connect(where, last_token);
}

static void cross_server_chat(void) {
    static chatd_srv at[3];
    const char *u[3];
    json_int_t srv[3];
    tconn *c[3];
    for (int i = 0; i < 3; i++) {
        u[i] = uniq_name(i == 0 ? "ca" : i == 1 ? "cb" : "cc");
        assert_int_equal(register_user(&api_srv, u[i], H_PASSWORD), 201);
    }
    /* /auth picks the least-loaded server; counts refresh every second. */
    c[0] = login_anywhere(u[0], &srv[0], &at[0]);
    const char *token0 = last_token;
    recv_type(c[0], "channels_list", H_TIMEOUT);
    for (int tries = 0;; tries++) {
        c[1] = login_anywhere(u[1], &srv[1], &at[1]);
        if (srv[1] != srv[0]) break;
        if (tries == 20) fail_msg("/auth kept answering server %lld", (long long)srv[0]);
        tconn_close(c[1]);
        sleep_ms(300);
    }
    const char *token1 = last_token;
    static chatd_srv pres, pres2;
    pres.port = last_presence_port; /* a presence server, as /auth named it */
    recv_type(c[1], "channels_list", H_TIMEOUT);
    c[2] = login_anywhere(u[2], &srv[2], &at[2]);
    recv_type(c[2], "channels_list", H_TIMEOUT);
    printf("users on chat servers %lld, %lld, %lld\n", (long long)srv[0], (long long)srv[1],
           (long long)srv[2]);

    const char *ch = create_group(c[0], "across", (const char *[]){u[1], u[2], NULL});
    wait_list_with(c[1], ch);
    wait_list_with(c[2], ch);

    /* Deliveries go through the dispatchers, which may still be joining
     * their consumer group: the first ones get the slow timeout. */
    send_json(c[0], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", ch,
              "hello from server A");
    json_t *m = wait_msg(c[0], ch, "hello from server A");
    assert_int_equal(jint(m, "seq"), 1);
    check_message(wait_msg(c[1], ch, "hello from server A"), ch, u[0], "hello from server A");
    check_message(wait_msg(c[2], ch, "hello from server A"), ch, u[0], "hello from server A");
    send_json(c[1], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", ch,
              "and back from B");
    wait_msg(c[1], ch, "and back from B");
    wait_msg(c[0], ch, "and back from B");

    send_json(c[1], "{\"type\":\"mark_channel_read\",\"channelId\":\"%s\"}", ch);
    json_t *r = recv_type(c[0], "channel_read", SLOW_MS);
    assert_string_equal(jstr(r, "user_id"), u[1]);

    json_t *h = fetch_history(c[2], ch, NULL, NULL, 0);
    assert_int_equal(json_array_size(jarr(h, "messages")), 2);

    /* Presence across servers: B's presence socket (on a presence server)
     * hears A, whose presence socket is on A's chat server's peer, go away. */
    tconn *pb = presence_connect(&pres, token1);
    recv_type(pb, "initial_presence", H_TIMEOUT);
    /* A's presence socket on the other presence server. */
    for (int i = 0; i < HC_PRESENCE; i++)
        if (cl.presence_port[i] != pres.port) pres2.port = cl.presence_port[i];
    tconn *pa = presence_connect(&pres2, token0);
    recv_type(pa, "initial_presence", H_TIMEOUT);
    send_json(pa, "{\"type\":\"status_update\",\"status\":\"away\"}");
    wait_presence(pb, u[0], "away");
    tconn_close(pa);
    tconn_close(pb);

    /* kill -9 one dispatcher: the other carries every message. */
    int pid = hcluster_pid(&cl, "dispatcher1");
    if (pid <= 0) fail_msg("no dispatcher pid");
    kill(pid, SIGKILL);
    for (int i = 0; i < 10; i++)
        send_json(c[0], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", ch,
                  hfmt("after the kill %d", i));
    for (int i = 0; i < 10; i++) {
        wait_msg(c[0], ch, hfmt("after the kill %d", i)); /* the echo, through the bus too */
        wait_msg(c[1], ch, hfmt("after the kill %d", i));
        wait_msg(c[2], ch, hfmt("after the kill %d", i));
    }

    /* Redis restarts (empty): service resumes without restarting chatd. */
    assert_int_equal(
        run(hfmt("CHATD_CLUSTER_DIR=%s scripts/cluster restart-redis >/dev/null", cl.dir)), 0);
    for (int i = 0; i < 5; i++)
        send_json(c[1], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", ch,
                  hfmt("after redis %d", i));
    for (int i = 0; i < 5; i++) {
        wait_msg(c[1], ch, hfmt("after redis %d", i));
        wait_msg(c[0], ch, hfmt("after redis %d", i));
        wait_msg(c[2], ch, hfmt("after redis %d", i));
    }
    for (int i = 0; i < 3; i++)
        tconn_close(c[i]);
}

/* Token and chat server of a fresh /auth, without connecting. */
static const char *auth_only(const char *user, int *chat_port) {
    json_t *resp = auth_response(&api_srv, user, H_PASSWORD);
    *chat_port = atoi(jstr(jobj(jobj(resp, "servers"), "chat"), "port"));
    return jstr(resp, "sessionToken");
}

/* A login storm (30 /auth in a row, well inside one refresh of the
 * servers' connection counts) is spread over every chat server instead
 * of all landing on the one that was least loaded at the last refresh. */
static void auth_burst_spreads(void) {
    const char *u = uniq_name("burst");
    int hits[HC_CHAT] = {0};
    assert_int_equal(register_user(&api_srv, u, H_PASSWORD), 201);
    for (int i = 0; i < 30; i++) {
        int port = 0;
        auth_only(u, &port);
        for (int k = 0; k < HC_CHAT; k++)
            hits[k] += cl.chat_port[k] == port;
    }
    fprintf(stderr, "30 logins in a burst went to the chat servers %d, %d, %d\n", hits[0], hits[1],
            hits[2]);
    for (int k = 0; k < HC_CHAT; k++)
        if (!hits[k]) fail_msg("no login in the burst went to chat%d", k + 1);
}

static int pred_msg_in(json_t *f, const void *ch) {
    json_t *t = json_object_get(f, "type"), *c = json_object_get(f, "channel_id");
    return json_is_string(t) && !strcmp(json_string_value(t), "chat_message") &&
           json_is_string(c) && !strcmp(json_string_value(c), ch);
}

/* kill -9 the chat server of one member while another sends steadily:
 * within seconds /auth stops naming the silent server (long before its
 * ZooKeeper session expires); the member re-authenticates, lands on a live
 * server and recovers with
 * fetch_history after; every acknowledged message is there exactly once
 * after de-duplication by message_id. Meanwhile a watcher sees the member
 * go offline when the dead server's ZooKeeper session expires, and online
 * again after the reconnect. */
static void chat_server_killed(void) {
    enum { N = 30, KILL_AT = 10 };
    static chatd_srv at[2];
    const char *a = uniq_name("ka"), *b = uniq_name("kb");
    json_int_t sa, sb;
    assert_int_equal(register_user(&api_srv, a, H_PASSWORD), 201);
    assert_int_equal(register_user(&api_srv, b, H_PASSWORD), 201);
    tconn *ca = login_anywhere(a, &sa, &at[0]);
    tconn *cb = NULL;
    for (int tries = 0;; tries++) {
        cb = login_anywhere(b, &sb, &at[1]);
        if (sb != sa) break;
        if (tries == 20) fail_msg("/auth kept answering server %lld", (long long)sa);
        tconn_close(cb);
        sleep_ms(300);
    }
    const char *ch = create_group(cb, "fault", (const char *[]){a, NULL});
    wait_list_with(ca, ch);
    /* B watches A's presence from a presence server. */
    static chatd_srv pres;
    pres.port = cl.presence_port[0];
    tconn *pb = presence_connect(&pres, last_token);
    recv_type(pb, "initial_presence", H_TIMEOUT);

    /* Which chatN is A's server? Its pid goes. */
    int victim = 0;
    for (int i = 0; i < HC_CHAT && !victim; i++)
        if (cl.chat_port[i] == at[0].port) victim = i + 1;
    if (!victim) fail_msg("no chat server listens on %d", at[0].port);
    /* Idle sockets of B's on each other chat server keep A's the least
     * loaded even with every client /auth names to it below counted
     * (discovery_pick_spread: a dead server never refreshes, so they add
     * up): the pick can only move on because the dead server went quiet. */
    enum { PADS = 20 };
    const char *token_b = last_token;
    tconn *pad[PADS * (HC_CHAT - 1)];
    int npad = 0;
    for (int i = 0; i < HC_CHAT; i++) {
        static chatd_srv other[HC_CHAT];
        if (i + 1 == victim) continue;
        other[i].port = cl.chat_port[i];
        for (int k = 0; k < PADS; k++)
            pad[npad++] = chat_connect(&other[i], token_b);
    }
    for (int port = 0, tries = 0; port != at[0].port; sleep_ms(200)) {
        auth_only(a, &port);
        if (++tries > 50)
            fail_msg("/auth never named A's server (%d), the least loaded", at[0].port);
    }
    char acked[N][24];
    int64_t killed_at = 0;
    for (int i = 0; i < N; i++) {
        if (i == KILL_AT) {
            kill(hcluster_pid(&cl, hfmt("chat%d", victim)), SIGKILL);
            killed_at = now_ms();
        }
        const char *text = hfmt("steady %d", i);
        send_json(cb, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", ch,
                  text);
        json_t *m = wait_msg(cb, ch, text); /* the echo: acknowledged */
        snprintf(acked[i], sizeof acked[i], "%s", jstr(m, "message_id"));
        sleep_ms(50);
    }

    /* /auth stops naming the dead server once it has been silent for
     * DISCOVERY_STALE_MS (it refreshed every second), well before its
     * ZooKeeper session (10 s) expires and takes its znode. */
    int named_dead = 0;
    for (int port = at[0].port; port == at[0].port; sleep_ms(500)) { /* < PADS polls */
        auth_only(a, &port);
        named_dead += port == at[0].port;
        if (now_ms() - killed_at > 8000)
            fail_msg("/auth still names the dead server %lld ms after the kill",
                     (long long)(now_ms() - killed_at));
    }
    fprintf(stderr,
            "/auth passed over the dead server %lld ms after the kill (named it %d times)\n",
            (long long)(now_ms() - killed_at), named_dead);

    /* What A saw live before its server died. */
    json_t *seen = json_object();
    const char *last = NULL;
    json_t *f;
    while ((f = try_recv_match(ca, pred_msg_in, ch, 2000))) {
        json_object_set_new(seen, jstr(f, "message_id"), json_true());
        last = jstr(f, "message_id");
    }
    tconn_drop(ca);

    /* Its server's ZooKeeper session expires: A, held nowhere else, is
     * offline for everyone. */
    wait_presence(pb, a, "offline");

    /* Re-auth (to a live server, as above), then recover. */
    int port = 0;
    const char *token = NULL;
    for (int64_t until = now_ms() + SLOW_MS;;) {
        token = auth_only(a, &port);
        if (port != at[0].port) break;
        if (now_ms() > until) fail_msg("/auth still names the dead server after %d ms", SLOW_MS);
        sleep_ms(500);
    }
    static chatd_srv again;
    again.port = port;
    ca = chat_connect(&again, token);
    wait_presence(pb, a, "online");
    for (int page = 0; page < 10; page++) {
        json_t *h = fetch_history(ca, ch, NULL, last, 100);
        json_t *msgs = jarr(h, "messages");
        for (size_t i = 0; i < json_array_size(msgs); i++) {
            json_t *m = json_array_get(msgs, i);
            json_object_set_new(seen, jstr(m, "message_id"), json_true());
            last = jstr(m, "message_id");
        }
        if (!jbool(h, "has_more")) break;
    }
    for (int i = 0; i < N; i++)
        if (!json_object_get(seen, acked[i]))
            fail_msg("acknowledged message %d (%s) is missing", i, acked[i]);
    assert_int_equal(json_object_size(seen), N); /* exactly once after de-duplication */
    json_decref(seen);
    for (int i = 0; i < npad; i++)
        tconn_close(pad[i]);
    tconn_close(pb);
    tconn_close(ca);
    tconn_close(cb);
}

/* ---- trust ---- */

/* The bus payloads every process has dropped for a wrong mac. */
static double bus_rejected(void) {
    chatd_srv all = {.cluster = &cl};
    double v = metric_value(&all, "chatd_bus_rejected_total"); /* the reason="auth" line */
    return v < 0 ? 0 : v;
}

static void forged_records_dropped(void) {
    static chatd_srv at_a, at_b;
    const char *a = uniq_name("fa"), *b = uniq_name("fb");
    json_int_t sa, sb;
    assert_int_equal(register_user(&api_srv, a, H_PASSWORD), 201);
    assert_int_equal(register_user(&api_srv, b, H_PASSWORD), 201);
    tconn *ca = login_anywhere(a, &sa, &at_a);
    recv_type(ca, "channels_list", H_TIMEOUT);
    tconn *cb = login_anywhere(b, &sb, &at_b);
    const char *ch = create_group(cb, "forgeries", (const char *[]){a, NULL});
    wait_list_with(ca, ch);
    send_json(cb, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"warm\"}", ch);
    wait_msg(ca, ch, "warm"); /* the dispatchers have joined */

    double before = bus_rejected();
    const char *inbox = hfmt("chat-inbox.%lld", (long long)sa);
    record_buf p = {0};
    hforge_message(&p, &cl, 0, 0, ch, b, a, "forged via chat-messages");
    hforge_inject(&cl, "chat-messages", ch, p.data, p.len);
    hforge_message(&p, &cl, 0, 1, ch, b, a, "forged via the inbox");
    hforge_inject(&cl, inbox, ch, p.data, p.len);
    hforge_message(&p, &cl, 1, 1, ch, b, a, "genuine via the inbox"); /* the control */
    hforge_inject(&cl, inbox, ch, p.data, p.len);
    record_buf_free(&p);
    /* through the real path, behind the forged record on its partition */
    send_json(cb, "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"%s\"}", ch,
              "after the forgeries");
    wait_msg(ca, ch, "genuine via the inbox");
    wait_msg(ca, ch, "after the forgeries");
    /* frames wait in the connection's backlog: a forged one would be found */
    if (try_recv_msg(ca, ch, "forged via chat-messages", 1000))
        fail_msg("a record forged into chat-messages was delivered");
    if (try_recv_msg(ca, ch, "forged via the inbox", 100))
        fail_msg("a batch forged into %s was delivered", inbox);
    double after = bus_rejected();
    fprintf(stderr, "bus payloads rejected for a wrong mac: %.0f -> %.0f\n", before, after);
    assert_true(after >= before + 2); /* one at a dispatcher, one at the chat server */
    tconn_close(ca);
    tconn_close(cb);
}

static void rogue_znode_never_named(void) {
    const char *u = uniq_name("rogue");
    assert_int_equal(register_user(&api_srv, u, H_PASSWORD), 201);
    const char *rogue = "/chat-service/999";
    zhandle_t *anon = hforge_zk(&cl, 0), *insider = hforge_zk(&cl, 1);
    struct String_vector kids = {0};
    assert_int_equal(zoo_get_children(anon, "/chat-service", 0, &kids), ZOK); /* readable */
    const char *real = NULL;
    for (int i = 0; i < kids.count && !real; i++)
        if (strcmp(kids.data[i], "server-ids") != 0) real = hfmt("/chat-service/%s", kids.data[i]);
    deallocate_String_vector(&kids);
    if (!real) fail_msg("no chat server in ZooKeeper");
    const char *json = "{\"id\":999,\"host\":\"evil.example\",\"port\":6666,\"timestamp\":1,"
                       "\"connections\":0}";
    /* anonymous: nothing */
    assert_int_equal(zoo_create(anon, rogue, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE,
                                ZOO_EPHEMERAL, NULL, 0),
                     ZNOAUTH);
    assert_int_equal(zoo_set(anon, real, json, (int)strlen(json), -1), ZNOAUTH);
    assert_int_equal(zoo_delete(anon, real, -1), ZNOAUTH);
    /* with ZooKeeper's password: a rogue server, idle and fresh, which every
     * pick would choose; /auth must never name it */
    assert_int_equal(zoo_create(insider, rogue, json, (int)strlen(json), &ZOO_OPEN_ACL_UNSAFE,
                                ZOO_EPHEMERAL, NULL, 0),
                     ZOK);
    for (int i = 0; i < 20; i++) {
        const char *fresh = hfmt("{\"id\":999,\"host\":\"evil.example\",\"port\":6666,"
                                 "\"timestamp\":%lld,\"connections\":0}",
                                 (long long)now_ms());
        assert_int_equal(zoo_set(insider, rogue, fresh, (int)strlen(fresh), -1), ZOK);
        json_t *chat = jobj(jobj(auth_response(&api_srv, u, H_PASSWORD), "servers"), "chat");
        if (!strcmp(jstr(chat, "host"), "evil.example") || jint(chat, "id") == 999)
            fail_msg("/auth named the rogue server: %s", jdump(chat));
        sleep_ms(150);
    }
    zookeeper_close(insider);
    zookeeper_close(anon);
    if (run(hfmt("grep -q 'not in --allowed-hosts' %s/api/chatd.log", cl.dir)) != 0)
        fail_msg("the API server never saw the rogue instance (no skip in its log)");
}

/* Runs `chatd dispatcher` with flags and a secrets dir; it must exit 1
 * within seconds, its log saying `why` (no single quote at its start). */
static void refuses_to_start(const char *secrets, const char *flags, const char *why) {
    const char *bin = getenv("CHATD_BIN");
    const char *log = hfmt("%s/refusal.log", secrets);
    int rc = run(hfmt("timeout 20 %s dispatcher --port 0 --data %s --secrets %s %s > %s 2>&1",
                      bin && *bin ? bin : "build/chatd", secrets, secrets, flags, log));
    if (rc != 1) fail_msg("chatd %s: exit %d, not 1 (see %s)", flags, rc, log);
    if (run(hfmt("grep -q -- '%s' %s", why, log)) != 0) {
        run(hfmt("cat %s >&2", log));
        fail_msg("chatd %s: its log does not say '%s'", flags, why);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) fail_msg("cannot write %s", path);
}

static void startup_refusals(void) {
    char dir[128], pw[512];
    if (!svc_mkdtemp(dir, sizeof dir, "chatd-refuse-")) fail_msg("mkdtemp");
    const char *engines =
        hfmt("--bus redis --redis 127.0.0.1:%d --zookeeper 127.0.0.1:%d",
             hcluster_engine_port(&cl, "redis"), hcluster_engine_port(&cl, "zookeeper"));
    write_file(hfmt("%s/cluster_secret.txt", dir), "any");
    write_file(hfmt("%s/redis_password.txt", dir), "not the password\n");
    refuses_to_start(dir, engines, "refused our password (redis_password.txt)");
    remove(hfmt("%s/redis_password.txt", dir));
    refuses_to_start(dir, engines, "requires a password: put it in redis_password.txt");
    assert_true(hcluster_secret(&cl, "redis_password.txt", pw, sizeof pw) > 0);
    write_file(hfmt("%s/redis_password.txt", dir), pw);
    remove(hfmt("%s/cluster_secret.txt", dir));
    refuses_to_start(dir, engines, "no cluster secret: ");
    refuses_to_start(dir, "--bus redis --redis 127.0.0.1:99999 --zookeeper 127.0.0.1:1",
                     "error --redis: ");
    svc_rmrf(dir);
}

/* A membership the store no longer has (a leave whose bus event was lost,
 * simulated by deleting the row behind the servers' backs) stops working
 * everywhere within --cache-ttl-ms: each server re-reads members the store
 * has not confirmed for that long before it uses them. */
static void lost_leave_event(void) {
    static chatd_srv at[2];
    const char *u[2];
    json_int_t srv[2];
    tconn *c[2];
    for (int i = 0; i < 2; i++) {
        u[i] = uniq_name(i ? "lb" : "la");
        assert_int_equal(register_user(&api_srv, u[i], H_PASSWORD), 201);
        c[i] = login_anywhere(u[i], &srv[i], &at[i]);
        recv_type(c[i], "channels_list", H_TIMEOUT);
    }
    const char *ch = create_group(c[0], "lost leave", (const char *[]){u[1], NULL});
    wait_list_with(c[1], ch);
    send_json(c[1], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"in\"}", ch);
    wait_msg(c[0], ch, "in");
    wait_msg(c[1], ch, "in"); /* its own echo */
    int pg = hcluster_engine_port(&cl, "postgres");
    if (run(hfmt("psql -q -h 127.0.0.1 -p %d -U postgres -c \"DELETE FROM members WHERE "
                 "channel_id = '%s' AND user_id = '%s'\" > /dev/null",
                 pg, ch, u[1])) != 0)
        fail_msg("psql could not delete the membership");
    sleep_ms(5500); /* the servers' view of the channel is now older than the TTL */
    send_json(c[1], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"out\"}", ch);
    expect_error(c[1], "forbidden", "chat_message");
    send_json(c[0], "{\"type\":\"chat_message\",\"channelId\":\"%s\",\"content\":\"after\"}", ch);
    wait_msg(c[0], ch, "after");
    recv_none_type(c[1], "chat_message", 1500);
    tconn_close(c[0]);
    tconn_close(c[1]);
}

static void test_cluster_redis_streams(void **state) {
    cluster_up("redis");
    forged_records_dropped();
    rogue_znode_never_named();
    startup_refusals();
    cross_server_chat();
    lost_leave_event();
    auth_burst_spreads();
    chat_server_killed();
}

static void test_cluster_kafka(void **state) {
    cluster_up("kafka");
    forged_records_dropped();
    cross_server_chat();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_cluster_redis_streams, cluster_down),
        cmocka_unit_test_teardown(test_cluster_kafka, cluster_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
