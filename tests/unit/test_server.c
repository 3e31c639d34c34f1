/*
 * Unit tests for net/server (and the conn I/O around it): the connection
 * caps, the handshake and ping timeouts, the deferred close of STYLE.md #6
 * and read back-pressure, through real loopback sockets on a private loop
 * (tests/unit/loop_test_util.h) with short timeouts. The application here
 * is this file's handlers: HTTP answers "ok" (or holds /hold unanswered),
 * every upgrade is accepted, and a text message is a command (below).
 */
#include "loop_test_util.h"

#include "core/log.h"
#include "core/rcbuf.h"
#include "net/server.h"

enum { MAX_WS = 8, FLOOD_FRAME = 16 * 1024 };

typedef struct fx {
    uv_loop_t loop;
    server srv;
    int started;
    int nhttp, nmsg, nclosed;
    int in_handler;    /* inside ws_message */
    int closed_inside; /* ws_closed ran inside another handler */
    conn *held;        /* a /hold request left unanswered (one reference) */
    conn *ws[MAX_WS];  /* upgraded connections, in order (one reference each) */
    int nws;
    int ws_gone[MAX_WS]; /* ws_closed seen for ws[i] */
} fx;

static fx *F;

static int ws_index(conn *c) {
    for (int i = 0; i < F->nws; i++)
        if (F->ws[i] == c) return i;
    return -1;
}

static void send_text(conn *c, const char *text, size_t len) {
    rcbuf *b = rcbuf_copy(text, len);
    conn_send_text(c, b);
    rcbuf_unref(b);
}

/* n frames of FLOOD_FRAME bytes to c. */
static void flood(conn *c, int n) {
    rcbuf *b = rcbuf_new_room(RCBUF_ROOM, FLOOD_FRAME);
    memset(rcbuf_payload(b), 'x', FLOOD_FRAME);
    for (int i = 0; i < n; i++)
        conn_send_text(c, b);
    rcbuf_unref(b);
}

static void on_http(void *data, conn *c, http_req *req) {
    fx *f = data;
    f->nhttp++;
    if (!strcmp(req->url, "/hold")) {
        conn_ref(c);
        f->held = c;
        return;
    }
    conn_http_respond(c, 200, "text/plain", "ok", 2);
}

static void on_upgrade(void *data, conn *c, http_req *req) {
    fx *f = data;
    int slow = !strcmp(req->url, "/slow"); /* req is released by the accept */
    conn_ws_accept(c, 0);
    c->user = f; /* an application session: ws_closed will be called */
    if (slow) {  /* a small kernel buffer: queues fill */
        int size = 4096;
        uv_send_buffer_size((uv_handle_t *)&c->tcp, &size);
    }
    assert_true(f->nws < MAX_WS);
    conn_ref(c);
    f->ws[f->nws++] = c;
}

/* Commands: "echo:TEXT" answers TEXT; "flood:N" queues N frames of 16 KiB
 * to the sender, "flood-others:N" to every other WebSocket; "abort-all"
 * aborts every WebSocket (the sender included) and then sends to each of
 * them, as a fan-out over a list of sessions would. */
static void on_message(void *data, conn *c, const char *payload, size_t len) {
    fx *f = data;
    char text[256];
    snprintf(text, sizeof(text), "%.*s", (int)len, payload);
    f->in_handler = 1;
    f->nmsg++;
    if (!strncmp(text, "echo:", 5)) {
        send_text(c, text + 5, strlen(text + 5));
    } else if (!strncmp(text, "flood:", 6)) {
        flood(c, atoi(text + 6));
    } else if (!strncmp(text, "flood-others:", 13)) {
        for (int i = 0; i < f->nws; i++)
            if (f->ws[i] != c) flood(f->ws[i], atoi(text + 13));
    } else if (!strcmp(text, "abort-all")) {
        int closed = f->nclosed;
        for (int i = 0; i < f->nws; i++)
            conn_abort(f->ws[i]);
        for (int i = 0; i < f->nws; i++)
            send_text(f->ws[i], "late", 4);   /* a no-op on a closing connection */
        assert_int_equal(f->nclosed, closed); /* nobody was closed under us */
        assert_int_equal(c->state, CONN_CLOSING);
        assert_true(c->refs > 0);
    }
    f->in_handler = 0;
}

static void on_closed(void *data, conn *c) {
    fx *f = data;
    f->nclosed++;
    if (f->in_handler) f->closed_inside++;
    int i = ws_index(c);
    assert_true(i >= 0);
    assert_int_equal(f->ws_gone[i], 0); /* once per connection */
    f->ws_gone[i] = 1;
}

static const server_handlers handlers = {
    .http = on_http, .ws_upgrade = on_upgrade, .ws_message = on_message, .ws_closed = on_closed};

/* Starts the server with lim (NULL: the defaults), the once-a-second
 * sweep made every 10 ms so that timeouts of 100 ms are applied on time. */
static void start(server_limits *lim) {
    server_limits defaults;
    server_limits_default(&defaults);
    server_handlers h = handlers;
    h.data = F;
    assert_int_equal(server_start(&F->srv, &F->loop, "127.0.0.1", 0, &h, lim ? lim : &defaults), 0);
    uv_timer_set_repeat(&F->srv.sweeper, 10);
    uv_timer_again(&F->srv.sweeper);
    F->started = 1;
}

static int setup(void **state) {
    F = calloc(1, sizeof(*F));
    assert_non_null(F);
    log_set_level(LOG_ERROR); /* the drops under test are logged as warnings */
    assert_int_equal(uv_loop_init(&F->loop), 0);
    return 0;
}

static int teardown(void **state) {
    if (F->started) {
        server_stop_accepting(&F->srv);
        server_abort_all(&F->srv);
        server_free(&F->srv);
    }
    uv_run(&F->loop, UV_RUN_DEFAULT);
    if (F->held) conn_unref(F->held);
    for (int i = 0; i < F->nws; i++)
        conn_unref(F->ws[i]);
    assert_int_equal(F->closed_inside, 0);
    assert_int_equal(uv_loop_close(&F->loop), 0);
    free(F);
    return 0;
}

/* ---- helpers ---- */

/* Runs the loop until the server holds n connections. */
static void until_conns(size_t n) {
    uint64_t end = clock_mono_ms() + 2000;
    while (F->srv.nall != n) {
        if (clock_mono_ms() > end) fail_msg("%zu connections, expected %zu", F->srv.nall, n);
        lt_turn(&F->loop, -1);
    }
}

static lt_sock *connect_one(int rcvbuf) {
    size_t before = F->srv.nall;
    lt_sock *s = lt_connect(F->srv.port, rcvbuf);
    until_conns(before + 1);
    return s;
}

/* A GET / on s is answered 200 "ok" (keep-alive). */
static void expect_ok(lt_sock *s) {
    lt_send_str(&F->loop, s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    lt_http r;
    lt_response(&F->loop, s, &r, 2000);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok");
}

/* s is still open: nothing closed it during a few loop turns. */
static void expect_open(lt_sock *s) {
    for (int i = 0; i < 5; i++) {
        lt_turn(&F->loop, s->fd);
        lt_read(s);
    }
    assert_int_equal(s->eof, 0);
}

/* "echo:TEXT" on WebSocket s comes back as TEXT (pings meanwhile are
 * answered). */
static void expect_echo(lt_sock *s, const char *text) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "echo:%s", text);
    lt_ws_text(&F->loop, s, cmd);
    lt_frame fr;
    do {
        assert_int_equal(lt_ws_next(&F->loop, s, &fr, 2000), 1);
        if (fr.opcode == WS_OP_PING) lt_ws_send(&F->loop, s, WS_OP_PONG, fr.payload, fr.len);
    } while (fr.opcode == WS_OP_PING);
    assert_int_equal(fr.opcode, WS_OP_TEXT);
    assert_string_equal(fr.payload, text);
}

static lt_sock *ws_connect(const char *path, int rcvbuf) {
    lt_sock *s = connect_one(rcvbuf);
    lt_ws_upgrade(&F->loop, s, path);
    return s;
}

/* ---- the tests ---- */

/* Pipelined keep-alive requests are answered in order on one socket. */
static void test_http_keepalive_pipelined(void **state) {
    start(NULL);
    lt_sock *s = connect_one(0);
    lt_send_str(&F->loop, s,
                "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    lt_http r;
    lt_response(&F->loop, s, &r, 2000);
    assert_int_equal(r.status, 200);
    lt_response(&F->loop, s, &r, 2000);
    assert_int_equal(r.status, 200);
    assert_int_equal(F->nhttp, 2);
    expect_open(s);
    lt_close(s);
}

/* At max_connections a new socket evicts the OLDEST connection still in
 * its HTTP state; WebSockets and newer handshakes stay. */
static void test_max_connections_evicts_oldest_handshake(void **state) {
    server_limits lim;
    server_limits_default(&lim);
    lim.max_connections = 3;
    start(&lim);
    lt_sock *a = connect_one(0); /* oldest handshake */
    lt_sock *ws = ws_connect("/chat", 0);
    lt_sock *c = connect_one(0); /* newer handshake */
    assert_int_equal(F->srv.refused, 0);
    lt_sock *d = lt_connect(F->srv.port, 0);
    assert_true(lt_wait_eof(&F->loop, a, 2000));
    assert_int_equal(F->srv.refused, 1);
    expect_ok(d); /* the newcomer is served */
    expect_open(c);
    expect_echo(ws, "still here");
    assert_int_equal(F->srv.nall, 3);
    /* next in line: c, then d (the WebSocket never) */
    lt_sock *e = lt_connect(F->srv.port, 0);
    assert_true(lt_wait_eof(&F->loop, c, 2000));
    expect_open(d);
    expect_ok(e);
    assert_int_equal(F->srv.refused, 2);
    assert_int_equal(F->nclosed, 0);
    lt_close(a), lt_close(ws), lt_close(c), lt_close(d), lt_close(e);
}

/* With only WebSockets at the cap there is nothing to evict: the new
 * socket is refused and the WebSockets go on. */
static void test_max_connections_refuses_when_all_upgraded(void **state) {
    server_limits lim;
    server_limits_default(&lim);
    lim.max_connections = 2;
    start(&lim);
    lt_sock *w1 = ws_connect("/chat", 0);
    lt_sock *w2 = ws_connect("/chat", 0);
    lt_sock *x = lt_connect(F->srv.port, 0);
    assert_true(lt_wait_eof(&F->loop, x, 2000));
    assert_int_equal(F->srv.refused, 1);
    assert_int_equal(F->srv.nall, 2);
    expect_echo(w1, "one");
    expect_echo(w2, "two");
    assert_int_equal(F->nclosed, 0);
    lt_close(w1), lt_close(w2), lt_close(x);
}

/* One address may have max_pending_per_addr sockets in their handshake;
 * one more is refused; an upgrade frees its place. */
static void test_max_pending_per_addr(void **state) {
    server_limits lim;
    server_limits_default(&lim);
    lim.max_pending_per_addr = 2;
    start(&lim);
    lt_sock *a = connect_one(0), *b = connect_one(0);
    lt_sock *c = lt_connect(F->srv.port, 0);
    assert_true(lt_wait_eof(&F->loop, c, 2000));
    assert_int_equal(F->srv.refused, 1);
    expect_ok(b); /* keep-alive: still pending */
    expect_open(a);
    lt_ws_upgrade(&F->loop, a, "/chat");
    lt_sock *d = connect_one(0);
    expect_ok(d);
    assert_int_equal(F->srv.refused, 1);
    lt_sock *e = lt_connect(F->srv.port, 0); /* b and d pending again: full */
    assert_true(lt_wait_eof(&F->loop, e, 2000));
    assert_int_equal(F->srv.refused, 2);
    lt_close(a), lt_close(b), lt_close(c), lt_close(d), lt_close(e);
}

/* handshake_ms bounds a silent socket, a half-sent request and an idle
 * keep-alive; a request the application is still answering is not cut.
 * The sockets are set up under the default limit, then it drops to
 * 100 ms, as a reload does (the server reads its limits live): on a
 * loaded machine the setup itself may take longer than 100 ms. */
static void test_handshake_timeout(void **state) {
    start(NULL);
    lt_sock *silent = connect_one(0);
    lt_sock *half = connect_one(0);
    lt_send_str(&F->loop, half, "GET / HTTP/1.1\r\nHost:");
    lt_sock *idle = connect_one(0);
    expect_ok(idle);
    lt_sock *held = connect_one(0);
    lt_send_str(&F->loop, held, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    while (!F->held)
        lt_turn(&F->loop, -1);
    F->srv.lim.handshake_ms = 100;
    uint64_t t0 = clock_mono_ms();
    lt_sock *late = lt_connect(F->srv.port, 0); /* accepted after t0 */
    assert_true(lt_wait_eof(&F->loop, silent, 2000));
    assert_true(lt_wait_eof(&F->loop, half, 2000));
    assert_true(lt_wait_eof(&F->loop, idle, 2000));
    assert_true(lt_wait_eof(&F->loop, late, 2000));
    assert_true(clock_mono_ms() - t0 >= 100); /* not before its time */
    lt_run_for(&F->loop, 150);                /* > handshake_ms since the held request */
    expect_open(held);
    conn_http_respond(F->held, 200, "text/plain", "late", 4);
    lt_http r;
    lt_response(&F->loop, held, &r, 2000);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "late");
    assert_int_equal(F->srv.nall, 1);
    lt_close(silent), lt_close(half), lt_close(idle), lt_close(held), lt_close(late);
}

/* A WebSocket silent for ping_ms is pinged; silent for twice that it is
 * dropped (ws_closed once). One that answers its pings stays. Pings start
 * once both sockets are up (the limit is read live). */
static void test_ping_and_dead_peer(void **state) {
    server_limits lim;
    server_limits_default(&lim);
    lim.ping_ms = 0; /* none yet */
    start(&lim);
    lt_sock *mute = ws_connect("/chat", 0);
    lt_sock *live = ws_connect("/chat", 0);
    uint64_t t0 = clock_mono_ms();
    expect_echo(mute, "last words"); /* mute's last bytes: silent from here */
    F->srv.lim.ping_ms = 250;        /* a wide window for the ping, on a loaded machine too */
    int pinged = 0;
    uint64_t end = clock_mono_ms() + 3000;
    lt_frame fr;
    while (!mute->eof && clock_mono_ms() < end) { /* live answers every ping */
        if (lt_ws_next(&F->loop, live, &fr, 5) == 1 && fr.opcode == WS_OP_PING)
            lt_ws_send(&F->loop, live, WS_OP_PONG, fr.payload, fr.len);
        if (lt_ws_next(&F->loop, mute, &fr, 0) == 1) {
            assert_int_equal(fr.opcode, WS_OP_PING);
            assert_string_equal(fr.payload, "chatd");
            assert_true(clock_mono_ms() - t0 >= 250);
            pinged++;
        }
    }
    assert_int_equal(mute->eof, 1);
    assert_int_equal(pinged, 1);
    assert_true(clock_mono_ms() - t0 >= 500); /* twice the interval, not once */
    assert_int_equal(F->nclosed, 1);
    assert_int_equal(F->ws_gone[0], 1);
    assert_int_equal(F->ws_gone[1], 0);
    expect_echo(live, "alive");
    lt_close(mute), lt_close(live);
}

/* STYLE.md #6: a handler aborting connections (its own among them) in the
 * middle of a fan-out sees none of them vanish; each is closed once, at
 * the end of the loop turn, and its ws_closed runs outside the handler. */
static void test_deferred_close(void **state) {
    start(NULL);
    lt_sock *a = ws_connect("/chat", 0);
    lt_sock *b = ws_connect("/chat", 0);
    lt_ws_text(&F->loop, a, "abort-all");
    while (F->nmsg == 0)
        lt_turn(&F->loop, -1);
    assert_true(lt_wait_eof(&F->loop, a, 2000));
    assert_true(lt_wait_eof(&F->loop, b, 2000));
    assert_int_equal(F->nclosed, 2);
    assert_int_equal(F->closed_inside, 0);
    assert_int_equal(F->srv.nall, 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(F->ws[i]->state, CONN_CLOSED);
    lt_close(a), lt_close(b);
}

/* Above read_pause queued bytes the server stops reading the socket: a
 * message sent meanwhile waits in the kernel until the client has read
 * what was queued, then it is handled. */
static void test_backpressure_pauses_reading(void **state) {
    server_limits lim;
    server_limits_default(&lim);
    lim.read_pause = 64 * 1024;
    start(&lim);
    lt_sock *s = ws_connect("/slow", 4096);
    lt_ws_text(&F->loop, s, "flood:32"); /* 512 KiB */
    while (F->nmsg == 0)
        lt_turn(&F->loop, -1);
    lt_ws_text(&F->loop, s, "echo:after");
    lt_run_for(&F->loop, 100);
    assert_int_equal(F->nmsg, 1); /* paused: not read */
    lt_frame *fr = malloc(sizeof(*fr));
    assert_non_null(fr);
    for (int i = 0; i < 32; i++) {
        assert_int_equal(lt_ws_next(&F->loop, s, fr, 2000), 1);
        assert_int_equal(fr->len, FLOOD_FRAME);
    }
    assert_int_equal(lt_ws_next(&F->loop, s, fr, 2000), 1);
    assert_string_equal(fr->payload, "after");
    assert_int_equal(F->nmsg, 2);
    free(fr);
    lt_close(s);
}

/* A socket that does not read is dropped once max_queued bytes wait for
 * it; the connection producing them is not affected. */
static void test_slow_reader_dropped_at_max_queued(void **state) {
    server_limits lim;
    server_limits_default(&lim);
    lim.read_pause = 64 * 1024;
    lim.max_queued = 512 * 1024;
    start(&lim);
    lt_sock *slow = ws_connect("/slow", 4096);
    lt_sock *fast = ws_connect("/chat", 0);
    for (int i = 0; i < 4 && !F->ws_gone[0]; i++) {
        lt_ws_text(&F->loop, fast, "flood-others:16"); /* 256 KiB each */
        int n = F->nmsg;
        while (F->nmsg == n)
            lt_turn(&F->loop, -1);
    }
    assert_true(lt_wait_eof(&F->loop, slow, 2000));
    assert_int_equal(F->ws_gone[0], 1);
    assert_int_equal(F->nclosed, 1);
    expect_echo(fast, "unaffected");
    lt_close(slow), lt_close(fast);
}

/* The client's close frame is answered with the same code, then the
 * server closes the socket; ws_closed runs once. */
static void test_close_handshake(void **state) {
    start(NULL);
    lt_sock *s = ws_connect("/chat", 0);
    uint8_t payload[125];
    size_t n = ws_close_payload(payload, WS_CLOSE_NORMAL, "bye");
    lt_ws_send(&F->loop, s, WS_OP_CLOSE, payload, n);
    lt_frame fr;
    assert_int_equal(lt_ws_next(&F->loop, s, &fr, 2000), 1);
    assert_int_equal(fr.opcode, WS_OP_CLOSE);
    uint16_t code = 0;
    assert_int_equal(ws_parse_close((const uint8_t *)fr.payload, fr.len, &code), 0);
    assert_int_equal(code, WS_CLOSE_NORMAL);
    shutdown(s->fd, SHUT_WR);
    assert_true(lt_wait_eof(&F->loop, s, 3000));
    assert_int_equal(F->nclosed, 1);
    lt_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_keepalive_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections_evicts_oldest_handshake, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_connections_refuses_when_all_upgraded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_pending_per_addr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_and_dead_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_pauses_reading, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_reader_dropped_at_max_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_handshake, setup, teardown),
    };
    return cmocka_run_group_tests_name("server", tests, NULL, NULL);
}
