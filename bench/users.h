/*
 * users: registers and logs in many users, the setup step of every
 * scenario, over a few keep-alive HTTP connections on the caller's loop.
 *
 * Why not src/net/client.h's client_http_request: it opens one TCP connection per
 * request (Connection: close); 2 x 100,000 of those would churn through
 * the ephemeral ports. Here `concurrency` connections each run
 * POST /register (201, or 409 when the user exists from an earlier run:
 * both fine) then POST /auth for one user after another. Users known to
 * exist (seeded) skip the /register: chatd closes the connection after an
 * error answer such as 409, and 100,000 reconnects would churn the ports
 * after all. chatd hashes passwords with argon2 (start it with
 * `--argon2 min` for benchmarks).
 *
 * Names are "<prefix>u<i>" for i in [first, first + n). The password must
 * need no JSON escaping.
 */
#ifndef BENCH_USERS_H
#define BENCH_USERS_H

#include <netinet/in.h>
#include <stddef.h>
#include <uv.h>

typedef struct users_result {
    size_t ok;         /* users with a token */
    size_t registered; /* 201 answers */
    size_t existed;    /* 409 answers */
    size_t failed;     /* no token (network error or unexpected status) */
    int last_status;   /* last unexpected HTTP status, for the message */
    double seconds;
} users_result;

/* Fills tokens[0..n) with malloc'd session tokens (NULL for a user that
 * failed; the caller frees each) and, when chat_at is not NULL,
 * chat_at[0..n) with the chat server each user's /auth answer named (a
 * cluster spreads users over its chat servers; dst when none is named).
 * Runs the loop until done or until timeout_s passed. existing: the users
 * exist (only /auth). Returns 0 when every user got a token, -1 otherwise
 * (*res says how many). */
int users_login(uv_loop_t *loop, const struct sockaddr_in *dst, const char *host,
                const char *prefix, const char *password, size_t first, size_t n, int existing,
                int concurrency, double timeout_s, char **tokens, struct sockaddr_in *chat_at,
                users_result *res);

/* Writes the user name of index i into out (>= 40 bytes). */
void users_name(char *out, size_t cap, const char *prefix, size_t i);

#endif
