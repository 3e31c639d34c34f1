/*
 * test_presence: the presence WebSocket (PROTOCOL.md sections 3 and 4) on
 * a chatd with a 1.5 s heartbeat timeout: initial_presence, status_update,
 * subscribe, offline when the last socket closes, multi-device, timeout
 * and heartbeat.
 */
#include "integration/chatkit.h"

#include <string.h>
#include <time.h>

#define TIMEOUT_MS 1500

static chatd_srv *S;

static int setup(void **state) {
    const char *flags[] = {"--presence-timeout-ms", "1500", NULL};
    S = chatd_start(flags);
    return S ? 0 : -1;
}

static int teardown(void **state) {
    int rc = chatd_stop(S);
    chatd_free(S);
    return rc == 0 ? 0 : -1;
}

/* Two new users sharing a group channel (the chat socket used to create
 * it is closed again). */
static void pair(const char **a, const char **b) {
    *a = new_user(S, "pa");
    *b = new_user(S, "pb");
    tconn *c = chat_login(S, *a);
    create_group(c, "presence pair", (const char *[]){*b, NULL});
    tconn_close(c);
}

struct pkey {
    const char *user, *status; /* status NULL = any */
};

static json_t *entry_for(json_t *frame, const char *user) {
    json_t *arr = json_object_get(frame, "presence"), *p;
    size_t i;
    json_array_foreach(arr, i, p) {
        json_t *u = json_object_get(p, "user_id");
        if (json_is_string(u) && strcmp(json_string_value(u), user) == 0) return p;
    }
    return NULL;
}

static int pred_update(json_t *f, const void *ctx) {
    const struct pkey *k = ctx;
    json_t *t = json_object_get(f, "type");
    if (!json_is_string(t) || strcmp(json_string_value(t), "presence_update") != 0) return 0;
    json_t *p = entry_for(f, k->user);
    if (!p) return 0;
    json_t *st = json_object_get(p, "status");
    return !k->status || (json_is_string(st) && strcmp(json_string_value(st), k->status) == 0);
}

static void check_p(json_t *p) {
    const char *st = jstr(p, "status");
    if (strcmp(st, "online") && strcmp(st, "away") && strcmp(st, "busy") && strcmp(st, "offline"))
        fail_msg("bad status: %s", jdump(p));
    json_t *ls = json_object_get(p, "last_seen");
    if (!ls || !(json_is_null(ls) || (json_is_string(ls) && is_iso_ms(json_string_value(ls)))))
        fail_msg("last_seen must be ISO (or null): %s", jdump(p));
}

/* Waits for a presence_update saying user is status; returns the entry. */
static json_t *expect_update(tconn *c, const char *user, const char *status, int ms) {
    struct pkey k = {user, status};
    json_t *f = recv_match(c, pred_update, &k, ms, hfmt("presence_update %s=%s", user, status));
    json_t *p = entry_for(f, user);
    check_p(p);
    return p;
}

static void expect_no_update(tconn *c, const char *user, const char *status, int ms) {
    struct pkey k = {user, status};
    json_t *f = try_recv_match(c, pred_update, &k, ms);
    if (f) fail_msg("%s: unexpected presence_update %s", c->label, jdump(f));
}

static void test_initial_presence(void **state) {
    const char *a, *b;
    pair(&a, &b);
    const char *loner = new_user(S, "lo");
    tconn *pl = presence_login(S, loner);
    tconn *pb = presence_login(S, b);
    json_t *ib = recv_type(pb, "initial_presence", H_TIMEOUT);
    json_t *pa_entry = entry_for(ib, a);
    if (!pa_entry) fail_msg("initial_presence of %s lacks %s: %s", b, a, jdump(ib));
    check_p(pa_entry);
    assert_string_equal(jstr(pa_entry, "status"), "offline");

    tconn *pa = presence_login(S, a);
    json_t *ia = recv_type(pa, "initial_presence", H_TIMEOUT);
    json_t *pres = jarr(ia, "presence");
    json_t *eb = entry_for(ia, b);
    if (!eb) fail_msg("initial_presence of %s lacks %s: %s", a, b, jdump(ia));
    check_p(eb);
    assert_string_equal(jstr(eb, "status"), "online");
    assert_true(json_is_string(json_object_get(eb, "last_seen")));
    if (entry_for(ia, a)) fail_msg("initial_presence lists myself: %s", jdump(ia));
    if (entry_for(ia, loner)) fail_msg("initial_presence lists a stranger: %s", jdump(ia));
    assert_int_equal(json_array_size(pres), 1);

    /* b sees a come online; the loner hears nothing about either */
    expect_update(pb, a, "online", H_TIMEOUT);
    expect_no_update(pl, a, NULL, 200);
    expect_no_update(pl, b, NULL, 0);
    tconn_close(pa);
    tconn_close(pb);
    tconn_close(pl);
}

static void test_status_update(void **state) {
    const char *a, *b;
    pair(&a, &b);
    const char *loner = new_user(S, "lo");
    tconn *pa = presence_login(S, a), *pb = presence_login(S, b), *pl = presence_login(S, loner);
    drain(pb, 0);
    const char *states[] = {"away", "busy", "online"};
    for (int i = 0; i < 3; i++) {
        send_pack(pa, "{s:s,s:s}", "type", "status_update", "status", states[i]);
        json_t *p = expect_update(pb, a, states[i], H_TIMEOUT);
        assert_true(json_is_string(json_object_get(p, "last_seen")));
    }
    expect_no_update(pl, a, NULL, 200);

    /* invalid statuses: error, connection stays usable, nothing published */
    send_pack(pa, "{s:s,s:s}", "type", "status_update", "status", "sleeping");
    expect_error(pa, "invalid_field", "status_update");
    send_pack(pa, "{s:s}", "type", "status_update");
    expect_error(pa, "invalid_field", "status_update");
    send_pack(pa, "{s:s,s:i}", "type", "status_update", "status", 3);
    expect_error(pa, "invalid_field", "status_update");
    send_json(pa, "not json");
    expect_error(pa, "bad_json", NULL);
    send_pack(pa, "{s:s}", "type", "chat_message");
    expect_error(pa, "unknown_type", "chat_message");
    expect_no_update(pb, a, "sleeping", 200);
    send_pack(pa, "{s:s,s:s}", "type", "status_update", "status", "away");
    expect_update(pb, a, "away", H_TIMEOUT);

    /* "offline" is a status a user may choose */
    send_pack(pa, "{s:s,s:s}", "type", "status_update", "status", "offline");
    expect_update(pb, a, "offline", H_TIMEOUT);
    tconn_close(pa);
    tconn_close(pb);
    tconn_close(pl);
}

static void test_subscribe(void **state) {
    const char *a = new_user(S, "sa"), *c = new_user(S, "sc"), *nobody = uniq_name("nob");
    tconn *pa = presence_login(S, a), *pc = presence_login(S, c);
    send_pack(pa, "{s:s,s:s}", "type", "status_update", "status", "busy");
    sleep_ms(100);
    send_pack(pc, "{s:s,s:[s]}", "type", "subscribe", "userIds", a);
    json_t *p = expect_update(pc, a, "busy", H_TIMEOUT);
    assert_true(json_is_string(json_object_get(p, "last_seen")));
    /* later changes follow */
    send_pack(pa, "{s:s,s:s}", "type", "status_update", "status", "away");
    expect_update(pc, a, "away", H_TIMEOUT);
    tconn_close(pa);
    expect_update(pc, a, "offline", 1000);

    /* an unknown user is not_found, named, like unknown participants */
    send_pack(pc, "{s:s,s:[s]}", "type", "subscribe", "userIds", nobody);
    json_t *e = expect_error(pc, "not_found", "subscribe");
    if (!strstr(jstr(e, "error"), nobody)) fail_msg("error should name %s: %s", nobody, jdump(e));
    send_pack(pc, "{s:s,s:s}", "type", "subscribe", "userIds", a);
    expect_error(pc, "invalid_field", "subscribe");
    send_pack(pc, "{s:s}", "type", "subscribe");
    expect_error(pc, "invalid_field", "subscribe");
    tconn_close(pc);
}

/* "2026-11-24T20:31:05.123Z" -> ms since the epoch. */
static int64_t iso_ms(const char *s) {
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        fail_msg("not an ISO time: %s", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* A heartbeat refreshes last_seen for watchers everywhere (in a cluster
 * the watcher sits on another presence server than the heartbeat). */
static void test_heartbeat_refreshes_last_seen(void **state) {
    const char *a = new_user(S, "hb"), *w = new_user(S, "hw");
    tconn *pa = presence_login(S, a), *pw = presence_login(S, w);
    sleep_ms(1000); /* (under the silence timeout) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    send_pack(pa, "{s:s}", "type", "heartbeat");
    sleep_ms(500); /* a bus hop in a cluster */
    send_pack(pw, "{s:s,s:[s]}", "type", "subscribe", "userIds", a);
    json_t *p = expect_update(pw, a, "online", H_TIMEOUT);
    int64_t seen = iso_ms(jstr(p, "last_seen"));
    if (seen < before - 5)
        fail_msg("last_seen %s is older than the heartbeat (%lld ms before it)",
                 jstr(p, "last_seen"), (long long)(before - seen));
    tconn_close(pa);
    tconn_close(pw);
}

static void test_offline_on_last_close(void **state) {
    const char *a, *b;
    pair(&a, &b);
    tconn *pb = presence_login(S, b);
    tconn *pa1 = presence_login(S, a);
    expect_update(pb, a, "online", H_TIMEOUT);
    tconn *pa2 = presence_login(S, a);
    drain(pb, 100);

    /* one of two sockets closes: still online */
    send_pack(pa2, "{s:s}", "type", "heartbeat");
    tconn_close(pa1);
    expect_no_update(pb, a, "offline", 600);
    /* the last one closes: offline at once (well before the 1.5 s timeout) */
    int64_t t0 = now_ms();
    tconn_close(pa2);
    json_t *p = expect_update(pb, a, "offline", 1000);
    assert_true(now_ms() - t0 < 1000);
    assert_true(json_is_string(json_object_get(p, "last_seen")));

    /* a chat socket counts as a socket too */
    tconn *ca = chat_login(S, a);
    tconn *pa3 = presence_login(S, a);
    expect_update(pb, a, "online", H_TIMEOUT);
    send_pack(ca, "{s:s}", "type", "heartbeat");
    tconn_close(pa3);
    expect_no_update(pb, a, "offline", 500);
    tconn_close(ca);
    expect_update(pb, a, "offline", 1000);

    /* an abrupt TCP drop counts as a close */
    tconn *pa4 = presence_login(S, a);
    expect_update(pb, a, "online", H_TIMEOUT);
    tconn_drop(pa4);
    expect_update(pb, a, "offline", 1000);
    tconn_close(pb);
}

static void test_silence_times_out(void **state) {
    const char *a, *b;
    pair(&a, &b);
    tconn *pb = presence_login(S, b);
    tconn *pa = presence_login(S, a);
    int64_t t0 = now_ms();
    expect_update(pb, a, "online", H_TIMEOUT);
    /* a stays connected but silent: offline after ~1.5 s */
    expect_update(pb, a, "offline", TIMEOUT_MS + 2500);
    int64_t took = now_ms() - t0;
    if (took < TIMEOUT_MS - 300)
        fail_msg("offline after %lld ms, before the timeout", (long long)took);
    /* a heartbeat brings a back */
    send_pack(pa, "{s:s}", "type", "heartbeat");
    expect_update(pb, a, "online", H_TIMEOUT);
    tconn_close(pa);
    tconn_close(pb);
}

static void test_heartbeat_keeps_online(void **state) {
    const char *a, *b;
    pair(&a, &b);
    tconn *pb = presence_login(S, b);
    tconn *pa = presence_login(S, a);
    expect_update(pb, a, "online", H_TIMEOUT);
    int64_t end = now_ms() + 2 * TIMEOUT_MS + 500;
    while (now_ms() < end) {
        send_pack(pa, "{s:s}", "type", "heartbeat");
        expect_no_update(pb, a, "offline", 400);
    }
    /* a's own frames did not produce errors */
    if (try_recv_type(pa, "error", 0)) fail_msg("heartbeat answered with an error");
    /* stops: offline after the timeout */
    expect_update(pb, a, "offline", TIMEOUT_MS + 2500);
    tconn_close(pa);
    tconn_close(pb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_presence),
        cmocka_unit_test(test_status_update),
        cmocka_unit_test(test_subscribe),
        cmocka_unit_test(test_heartbeat_refreshes_last_seen),
        cmocka_unit_test(test_offline_on_last_close),
        cmocka_unit_test(test_silence_times_out),
        cmocka_unit_test(test_heartbeat_keeps_online),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
