/*
 * keyring: the JWT keys in force, so that the secret can be rotated without
 * logging anybody out. The current key (jwt_secret.txt) signs new tokens and
 * verifies; the previous key (jwt_secret.previous.txt beside it, optional)
 * only verifies, so tokens issued before a rotation keep working until they
 * expire (--token-ttl) or the previous file is removed.
 *
 * Where: <secrets_dir>/jwt_secret.txt when it exists; otherwise, in the
 * embedded shape (allow_generate), <data_dir>/jwt_secret.txt, generated on
 * first start (auth/secret.h). The previous key is looked for in the same
 * directory as the current one. Both are exact bytes.
 *
 * Rotation: copy jwt_secret.txt to jwt_secret.previous.txt, write the new
 * secret into jwt_secret.txt, send SIGHUP (keyring_reload) to every process.
 *
 * Threads: loop thread only. Keys are never logged; keyring_free wipes them.
 */
#ifndef CHATD_KEYRING_H
#define CHATD_KEYRING_H

#include <stddef.h>
#include <stdint.h>

typedef struct keyring keyring;

/* Loads the keys. Returns 0, 1 when a new secret was generated (msg then
 * holds its path, to log), or -1 with msg set. *out is the caller's
 * (keyring_free). */
int keyring_load(keyring **out, const char *secrets_dir, const char *data_dir, int allow_generate,
                 char *msg, size_t msglen);

/* Reads both files again (never generates). On success the new keys
 * replace the old ones and msg says what is in force (no key bytes); on
 * error (-1, msg set) the keys in force are kept. */
int keyring_reload(keyring *k, char *msg, size_t msglen);

/* 1 when a previous key is loaded. */
int keyring_has_previous(const keyring *k);

/* token_issue with the current key (see auth/token.h; *out is malloc'd). */
int keyring_issue(const keyring *k, const char *username, int64_t now_s, int64_t ttl_s, char **out);

/* token_verify with the current key, then the previous one: 0 and the
 * username, or the current key's TOKEN_E* error. */
int keyring_verify(const keyring *k, const char *token, int64_t now_s, char *username_out,
                   size_t cap);

/* Wipes and frees; NULL is fine. */
void keyring_free(keyring *k);

#endif
