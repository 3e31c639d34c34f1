/*
 * token: session tokens (JWT, HS256 only) issued by POST /auth and checked
 * on every WebSocket upgrade.
 *
 * Claims: "username" (string), "iat" and "exp" (seconds since the epoch).
 * The key is used as exact bytes (a trailing newline in jwt_secret.txt is
 * part of the key). Verification rejects any alg other than HS256,
 * including "none", whatever the underlying library would accept.
 * Times are passed in so callers and tests control the clock.
 * Thread-safe (no shared state).
 */
#ifndef CHATD_TOKEN_H
#define CHATD_TOKEN_H

#include "core/err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_EMISSING CHATD_EMISSING /* NULL or empty token */
#define TOKEN_EINVALID CHATD_EINVAL   /* malformed, bad signature, wrong alg, bad claims */
#define TOKEN_EEXPIRED CHATD_EEXPIRED /* now_s >= exp */
#define TOKEN_ENOMEM CHATD_ENOMEM     /* token_issue only: allocation/encoding failed */

#define TOKEN_USERNAME_MAX 32 /* usernames are 1..32 of [A-Za-z0-9_.-] */

/* Issue a token for username, valid for [now_s, now_s + ttl_s).
 * On success returns 0 and *out is a malloc'd NUL-terminated string the
 * caller frees with free(). On error returns a negative TOKEN_E* code
 * (TOKEN_EINVALID for an invalid username or empty key) and *out is NULL. */
int token_issue(const uint8_t *key, size_t key_len, const char *username, int64_t now_s,
                int64_t ttl_s, char **out /* malloc'd, caller frees */);

/* Verify token with key at time now_s. Returns 0 and copies the username
 * (NUL-terminated) into username_out[cap], or TOKEN_EMISSING,
 * TOKEN_EINVALID (also when the username does not fit in cap) or
 * TOKEN_EEXPIRED. On error username_out is set to "" (if cap > 0). */
int token_verify(const uint8_t *key, size_t key_len, const char *token, int64_t now_s,
                 char *username_out, size_t cap);

/* Whether name is a valid username (1..32 of [A-Za-z0-9_.-]). */
bool token_username_valid(const char *name);

#endif
