/*
 * test_auth_limits: password hashing cannot be turned against the server
 * (issue #10 finding 6). argon2id is slow on purpose; bogus /auth and
 * /register requests must not delay a real login: hashes wait in a bounded
 * queue served fairly by client address, failed logins are budgeted per
 * address (unknown usernames cost a hash too), and account creation has a
 * global rate. Real argon2 limits here (not the tests' usual `--argon2 min`).
 */
#include "integration/harness.h"
#include "integration/rawsock.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* n POST requests in flight at once from the given source addresses. */
typedef struct flight {
    int fd[256];
    char *resp[256];
    size_t rlen[256];
    int n;
} flight;

static const char *post(const char *path, const char *user) {
    const char *body = hfmt("{\"username\":\"%s\",\"password\":\"not-the-password\"}", user);
    return hfmt("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                path, strlen(body), body);
}

static void launch(chatd_srv *s, flight *f, int n, const char *const *sources, int nsources,
                   const char *path) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i < n; i++) {
        int fd = raw_connect(s->port, sources[i % nsources]);
        assert_true(fd >= 0);
        const char *req = post(path, uniq_name("bogus"));
        assert_int_equal(raw_send(fd, req, strlen(req), 2000), 0);
        f->fd[f->n] = fd;
        f->resp[f->n] = calloc(1, 4096);
        f->n++;
    }
}

/* Reads every answer (the server closes after each); fails after timeout.
 * timeout_ms 0: only what has arrived already, without failing. */
static void collect(flight *f, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    int open = 0;
    for (int i = 0; i < f->n; i++)
        open += f->fd[i] >= 0;
    while (open && (timeout_ms == 0 || now_ms() < deadline)) {
        struct pollfd p[256];
        for (int i = 0; i < f->n; i++)
            p[i] = (struct pollfd){f->fd[i], POLLIN, 0};
        if (poll(p, (nfds_t)f->n, timeout_ms ? 100 : 0) <= 0) {
            if (timeout_ms == 0) return;
            continue;
        }
        for (int i = 0; i < f->n; i++) {
            if (f->fd[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t k = recv(f->fd[i], f->resp[i] + f->rlen[i], 4095 - f->rlen[i], 0);
            if (k > 0) {
                f->rlen[i] += (size_t)k;
                continue;
            }
            close(f->fd[i]);
            f->fd[i] = -1;
            open--;
        }
    }
    if (open && timeout_ms)
        fail_msg("%d of %d requests unanswered after %d ms", open, f->n, timeout_ms);
}

static int status_of(const flight *f, int i) {
    return strncmp(f->resp[i], "HTTP/1.1 ", 9) ? 0 : atoi(f->resp[i] + 9);
}

static void flight_free(flight *f) {
    for (int i = 0; i < f->n; i++) {
        if (f->fd[i] >= 0) close(f->fd[i]);
        free(f->resp[i]);
    }
}

static void test_login_during_a_flood_of_bogus_logins(void **state) {
    const char *flags[] = {"--argon2", "interactive", "--auth-fail-per-addr", "30", NULL};
    chatd_srv *s = chatd_start(flags);
    const char *user = new_user(s, "real");
    flight f;
    const char *attacker[] = {"127.0.0.2"};
    launch(s, &f, 200, attacker, 1, "/auth");
    sleep_ms(50); /* they are all in: hashing, queued, or refused */
    int64_t t0 = now_ms();
    auth(s, user, H_PASSWORD);
    int64_t took = now_ms() - t0;
    /* Fairness, not a stopwatch: the real login was hashed next, not after
     * the attacker's queue. What the attacker got answered before it is at
     * most what was hashing already (2 workers) and one more turn; served
     * first come first served it would have waited for ~30 hashes. */
    collect(&f, 0);
    int hashed_before = 0;
    for (int i = 0; i < f.n; i++)
        hashed_before += status_of(&f, i) == 401;
    fprintf(stderr,
            "a real login while 200 bogus ones were sent: %lld ms, after %d of their hashes\n",
            (long long)took, hashed_before);
    if (hashed_before > 4)
        fail_msg("the real login waited for %d bogus hashes (at most 4 when served fairly)",
                 hashed_before);
    collect(&f, 30000);
    int n401 = 0, n429 = 0;
    for (int i = 0; i < f.n; i++) {
        int st = status_of(&f, i);
        n401 += st == 401;
        n429 += st == 429;
        if (st != 401 && st != 429 && st != 503) fail_msg("bogus login answered %d", st);
        if (st == 429 && !strstr(f.resp[i], "Retry-After: ")) fail_msg("429 without Retry-After");
    }
    if (n401 > 31) fail_msg("%d bogus logins were checked (the address budget is 30)", n401);
    assert_true(n429 > 0);
    flight_free(&f);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_hash_queue_is_bounded(void **state) {
    const char *flags[] = {"--argon2", "interactive", "--max-hash-queue", "3", NULL};
    chatd_srv *s = chatd_start(flags);
    const char *sources[20];
    for (int i = 0; i < 20; i++)
        sources[i] = hfmt("127.0.0.%d", 10 + i);
    flight f;
    launch(s, &f, 20, sources, 20, "/auth");
    collect(&f, 30000);
    int n503 = 0;
    for (int i = 0; i < f.n; i++) {
        int st = status_of(&f, i);
        if (st == 503) {
            n503++;
            if (!strstr(f.resp[i], "Retry-After: ")) fail_msg("503 without Retry-After");
        } else if (st != 401) {
            fail_msg("a login answered %d: %s", st, f.resp[i]);
        }
    }
    /* 2 hash at once, 3 wait: the others are turned away at once */
    if (n503 < 10) fail_msg("only %d of 20 logins were refused with 503", n503);
    flight_free(&f);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

static void test_registration_rate(void **state) {
    const char *flags[] = {"--register-per-sec", "2", NULL};
    chatd_srv *s = chatd_start(flags);
    int created = 0, limited = 0;
    for (int i = 0; i < 12; i++) {
        const char *req = post("/register", uniq_name("reg"));
        const char *resp = NULL;
        int st = raw_http(s, req, strlen(req), &resp);
        if (st == 201)
            created++;
        else if (st == 429 && strstr(resp, "Retry-After: "))
            limited++;
        else
            fail_msg("registration answered %d: %s", st, resp);
    }
    if (created < 4 || created > 6 || limited != 12 - created)
        fail_msg("12 quick registrations at 2/s: %d created, %d limited", created, limited);
    sleep_ms(1100);
    assert_int_equal(register_user(s, uniq_name("reg"), H_PASSWORD), 201);
    assert_int_equal(chatd_stop(s), 0);
    chatd_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_during_a_flood_of_bogus_logins),
        cmocka_unit_test(test_hash_queue_is_bounded),
        cmocka_unit_test(test_registration_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
