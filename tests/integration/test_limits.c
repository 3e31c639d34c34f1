/*
 * test_limits: chatd against users who try to crash, starve or bloat it
 * (issue #10), on an embedded server each: a second device that never
 * reads while its channel is flooded, a ping flood from a socket that
 * never reads, a thousand half-open HTTP requests, a channel spammer, the
 * per-user caps, and the rate-limit budget that pings share.
 */
#include "integration/chatkit.h"
#include "integration/rawsock.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/ws.h"

#define BIG_BUDGET "--rate-per-sec", "1000000", "--rate-burst", "1000000"

/* A socket upgraded as `user` on /chat that never reads again. */
static int deaf_socket(chatd_srv *s, const char *user) {
    int fd = raw_connect(s->port, NULL);
    assert_true(fd >= 0);
    const char *up = raw_upgrade_request(hfmt("/chat?token=%s", forge_token(user, 0, 3600)));
    assert_int_equal(raw_send(fd, up, strlen(up), 2000), 0);
    raw_reader *r = calloc(1, sizeof *r);
    r->fd = fd;
    assert_int_equal(raw_read_head(r, H_TIMEOUT), 101);
    free(r);
    return fd;
}

/* Finding 2: a user's second device stops reading while another user
 * floods their channel. The server drops that device (it is over its
 * memory cap) in the middle of fanning out to the user's devices; the
 * reading device must still get every message, in order. (Before the
 * fix: heap-use-after-free under ASan, a missed message without.) */
static void test_slow_second_device(void **state) {
    const char *flags[] = {BIG_BUDGET, "--max-queued-bytes", "1048576", NULL};
    chatd_srv *s = chatd_start(flags);
    member m[2];
    const char *ch = group_with(s, m, 2, "slow");
    int deaf = deaf_socket(s, m[1].name);
    char content[3001];
    memset(content, 'x', 3000);
    content[3000] = '\0';
    const int total = 3000, chunk = 50;
    int64_t next_seq = -1;
    for (int sent = 0; sent < total; sent += chunk) {
        for (int i = 0; i < chunk; i++)
            send_pack(m[0].c, "{s:s, s:s, s:s}", "type", "chat_message", "channelId", ch, "content",
                      content);
        for (int i = 0; i < chunk; i++) {
            json_t *mine = recv_type(m[0].c, "chat_message", 10000);
            (void)mine;
            json_t *got = recv_type(m[1].c, "chat_message", 10000);
            int64_t seq = jint(got, "seq");
            if (next_seq >= 0 && seq != next_seq)
                fail_msg("the reading device got seq %lld after %lld: a message was lost",
                         (long long)seq, (long long)next_seq - 1);
            next_seq = seq + 1;
        }
    }
    /* the deaf device was dropped, the server is fine */
    assert_true(raw_wait_eof(deaf, 10000));
    close(deaf);
    assert_int_equal(http_call(s, "GET", "/health", NULL, NULL, NULL), 200);
    tconn_close(m[0].c);
    tconn_close(m[1].c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Waits until the server's CPU time stops growing (it has worked through
 * its input), at most timeout_ms. */
static void wait_idle(pid_t pid, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    long last = -1;
    int still = 0;
    while (now_ms() < deadline && still < 3) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        long ut = 0, st = 0;
        if (f) {
            if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut,
                       &st) != 2)
                ut = st = 0;
            fclose(f);
        }
        still = ut + st == last ? still + 1 : 0;
        last = ut + st;
        sleep_ms(200);
    }
}

/* Finding 3: pings from a client that never reads. Only the newest
 * unanswered ping is answered and a socket whose queue is full is not
 * read any more: the server's memory stays flat. */
static void test_ping_flood(void **state) {
    const char *flags[] = {BIG_BUDGET, NULL};
    chatd_srv *s = chatd_start(flags);
    const char *u = new_user(s, "pf");
    int fd = deaf_socket(s, u);
    wait_idle(s->pid, 3000);
    long before = raw_rss_kib(s->pid);
    static uint8_t pings[1 << 16];
    size_t n = 0;
    while (n + 6 <= sizeof pings)
        n += raw_client_frame(pings + n, 1, WS_OP_PING, "", 0);
    size_t sent = 0;
    while (sent < (16u << 20)) {                       /* 16 MiB of 6-byte pings: 2.8 million */
        if (raw_send(fd, pings, n, 20000) != 0) break; /* the server may give up on us */
        sent += n;
    }
    wait_idle(s->pid, 60000);
    long after = raw_rss_kib(s->pid);
    fprintf(stderr, "ping flood: %zu bytes of pings, server RSS %ld -> %ld KiB\n", sent, before,
            after);
    if (after - before > 64 * 1024)
        fail_msg("a ping flood grew the server by %ld KiB (limit 64 MiB)", after - before);
    close(fd);
    assert_int_equal(http_call(s, "GET", "/health", NULL, NULL, NULL), 200);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Pings share the connection's rate-limit budget: past it they go
 * unanswered. */
static void test_pings_share_the_budget(void **state) {
    const char *flags[] = {"--rate-per-sec", "1", "--rate-burst", "3", NULL};
    chatd_srv *s = chatd_start(flags);
    tconn *c = chat_login(s, new_user(s, "pb"));
    drain(c, 300);
    int answered = 0;
    for (int i = 0; i < 10; i++) {
        int before = c->pongs;
        wsc_send_frame(c->ws, 1, WS_OP_PING, "p", 1);
        try_recv_type(c, "__never__", 100);
        answered += c->pongs > before;
    }
    if (answered < 3 || answered > 5) fail_msg("%d of 10 pings answered at 1/s, burst 3", answered);
    tconn_close(c);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Finding 3 (caps): WebSockets per user. */
static void test_connections_per_user(void **state) {
    const char *flags[] = {"--max-conns-per-user", "3", NULL};
    chatd_srv *s = chatd_start(flags);
    const char *u = new_user(s, "cap");
    const char *tok = auth(s, u, H_PASSWORD);
    tconn *c1 = chat_connect(s, tok), *c2 = chat_connect(s, tok);
    tconn *p1 = presence_connect(s, tok);
    tconn *c4 = ws_open(s, hfmt("/chat?token=%s", tok), NULL, "4th");
    expect_close(c4, 1008, NULL);
    if (!strstr(c4->close_reason, "too many connections"))
        fail_msg("4th socket closed with \"%s\"", c4->close_reason);
    tconn_close(c4);
    tconn_close(c2); /* room again */
    sleep_ms(100);
    tconn *c5 = chat_connect(s, tok);
    tconn_close(c5);
    tconn_close(c1);
    tconn_close(p1);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Finding 5: half-sent HTTP requests. A peer address may hold only so many
 * sockets in their handshake, at the connection cap the oldest handshake
 * makes room, and a handshake that does not finish in time is dropped; a
 * legitimate request is answered throughout. */
static void test_half_open_sockets(void **state) {
    const char *flags[] = {"--handshake-timeout-ms",
                           "2000",
                           "--max-pending-per-addr",
                           "100",
                           "--max-connections",
                           "300",
                           NULL};
    chatd_srv *s = chatd_start(flags);
    const char *head = "GET /health HTTP/1.1\r\nHost: x\r\n"; /* never finished */
    int fds[1000], n = 0;
    const char *sources[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"};
    for (int i = 0; i < 1000; i++) {
        int fd = raw_connect_nb(s->port, sources[i % 5]);
        if (fd < 0) continue;
        fds[n++] = fd;
        sleep_ms(i % 50 == 0); /* let the server accept in order */
        raw_send(fd, head, strlen(head), 100);
    }
    for (int round = 0; round < 3; round++) {
        int64_t t0 = now_ms();
        int st = http_call(s, "GET", "/health", NULL, NULL, NULL);
        int64_t took = now_ms() - t0;
        if (st != 200 || took > 1000)
            fail_msg("/health with 1000 half-open sockets: %d after %lld ms", st, (long long)took);
        sleep_ms(200);
    }
    /* after the handshake timeout (checked once a second) every half-open
     * socket is gone */
    sleep_ms(3500);
    int open = 0;
    for (int i = 0; i < n; i++) {
        open += !raw_wait_eof(fds[i], 0) && !raw_wait_eof(fds[i], 50);
        close(fds[i]);
    }
    if (open) fail_msg("%d of %d half-open sockets still open after the timeout", open, n);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Finding 4: a spammer adds a victim to 2,000 channels. The victim is not
 * flooded with channel lists (one per second at most), stays connected,
 * and connects again in under a second. */
static void test_channel_spam_victim(void **state) {
    const char *flags[] = {BIG_BUDGET, NULL};
    chatd_srv *s = chatd_start(flags);
    const char *spammer = new_user(s, "spam"), *victim = new_user(s, "vic");
    tconn *sc = chat_login(s, spammer), *vc = chat_login(s, victim);
    drain(vc, 0);
    const int total = 2000, chunk = 100;
    int lists = 0;
    json_t *last = NULL, *l;
    int64_t t0 = now_ms();
    for (int done = 0; done < total; done += chunk) {
        for (int i = 0; i < chunk; i++)
            send_pack(sc, "{s:s, s:s, s:[s]}", "type", "create_channel", "name",
                      hfmt("spam %d", done + i), "participants", victim);
        for (int i = 0; i < chunk; i++)
            recv_type(sc, "channel_joined", 10000);
        drain(sc, 0);
        while ((l = try_recv_type(vc, "channels_list", 0))) {
            last = l;
            lists++;
        }
        assert_false(vc->closed);
    }
    /* the last list arrives within a second or so */
    while ((l = try_recv_type(vc, "channels_list", 2500))) {
        last = l;
        lists++;
    }
    int64_t secs = (now_ms() - t0) / 1000 + 2;
    if (lists > secs) fail_msg("%d channel lists in %lld s: not coalesced", lists, (long long)secs);
    if (!last || json_array_size(jarr(last, "channels")) != (size_t)total)
        fail_msg("the victim's last list has %zu channels, want %d",
                 last ? json_array_size(jarr(last, "channels")) : 0, total);
    assert_false(vc->closed);
    tconn_close(vc);

    int64_t c0 = now_ms();
    tconn *again = chat_login(s, victim); /* waits for its channels_list */
    int64_t took = now_ms() - c0;
    json_t *list = recv_type(again, "channels_list", 0);
    assert_int_equal(json_array_size(jarr(list, "channels")), total);
    if (took > 1000) fail_msg("reconnecting with 2000 channels took %lld ms", (long long)took);
    tconn_close(again);
    tconn_close(sc);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

/* Finding 4 (cap): channels per user. */
static void test_channels_per_user(void **state) {
    const char *flags[] = {"--max-channels-per-user", "3", NULL};
    chatd_srv *s = chatd_start(flags);
    const char *a = new_user(s, "cpu"), *b = new_user(s, "cpu");
    tconn *ca = chat_login(s, a), *cb = chat_login(s, b);
    const char *open = NULL;
    for (int i = 0; i < 3; i++)
        open = create_group(cb, hfmt("b%d", i), (const char *[]){NULL});
    drain(ca, 0);
    /* b is full: a cannot add b anywhere, b cannot join or create */
    send_pack(ca, "{s:s, s:s, s:[s]}", "type", "create_channel", "name", "with b", "participants",
              b);
    json_t *e = expect_error(ca, "too_large", "create_channel");
    if (!strstr(jstr(e, "error"), b)) fail_msg("too_large does not name %s: %s", b, jdump(e));
    const char *mine = create_group(ca, "a's", (const char *[]){NULL});
    send_pack(cb, "{s:s, s:s}", "type", "join_channel", "channelId", mine);
    expect_error(cb, "too_large", "join_channel");
    send_pack(cb, "{s:s, s:s, s:[]}", "type", "create_channel", "name", "b4", "participants");
    expect_error(cb, "too_large", "create_channel");
    /* leaving one makes room */
    send_pack(cb, "{s:s, s:s}", "type", "leave_channel", "channelId", open);
    recv_type(cb, "channel_left", H_TIMEOUT);
    send_pack(cb, "{s:s, s:s}", "type", "join_channel", "channelId", mine);
    recv_type(cb, "channel_joined", H_TIMEOUT);
    tconn_close(ca);
    tconn_close(cb);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_second_device),     cmocka_unit_test(test_ping_flood),
        cmocka_unit_test(test_pings_share_the_budget), cmocka_unit_test(test_connections_per_user),
        cmocka_unit_test(test_half_open_sockets),      cmocka_unit_test(test_channel_spam_victim),
        cmocka_unit_test(test_channels_per_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
