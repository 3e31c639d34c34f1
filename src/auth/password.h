/*
 * password: slow salted password hashes (argon2id via libsodium) and the
 * password policy.
 *
 * Hashing and verifying are deliberately expensive and synchronous: call
 * them from libuv's threadpool (uv_queue_work), never on the event loop.
 * Thread-safe. Hashes are libsodium's self-describing "$argon2id$..."
 * strings, so changing the limits later does not break old hashes.
 */
#ifndef CHATD_PASSWORD_H
#define CHATD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 128
#define PASSWORD_HASH_LEN 128 /* == crypto_pwhash_STRBYTES, includes NUL */

typedef struct password_params {
    unsigned long long opslimit;
    size_t memlimit;
} password_params;

/* libsodium's INTERACTIVE limits (2 passes, 64 MiB). */
void password_params_default(password_params *p);

/* Hash pw[0..len) into out (NUL-terminated). Returns 0, or -1 (out of
 * memory, or limits outside libsodium's bounds). */
int password_hash(const password_params *p, const char *pw, size_t len, char out[128]);

/* 0 when pw[0..len) matches hash; -1 on mismatch or an invalid hash. */
int password_verify(const char *hash, const char *pw, size_t len);

/* Policy check: true when acceptable (8..128 bytes); otherwise false and *why
 * points at a static human sentence (why may be NULL). */
bool password_rule(const char *pw, size_t len, const char **why);

#endif
