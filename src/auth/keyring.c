/*
 * keyring: current + previous JWT keys (see keyring.h). A reload reads
 * both files before it touches the keys in force, so a half-done rotation
 * on disk (a missing or empty file) leaves the running keys as they were.
 */
#include "core/err.h"
#include "auth/keyring.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/secret.h"
#include "auth/token.h"

#define KEY_MAX_BYTES 65536 /* as secret_load: a larger key file is a mistake */

struct keyring {
    uint8_t *cur, *prev; /* prev may be NULL */
    size_t cur_len, prev_len;
    char secrets_dir[PATH_MAX];
    char data_dir[PATH_MAX]; /* "" outside the embedded shape */
};

static void wipe(uint8_t **key, size_t *len) {
    if (*key) sodium_memzero(*key, *len);
    free(*key);
    *key = NULL;
    *len = 0;
}

/* The directory holding the current key: the secrets directory when its
 * file exists, else (embedded) the data directory. */
static const char *key_dir(const keyring *k) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/jwt_secret.txt", k->secrets_dir);
    if (!k->data_dir[0] || (k->secrets_dir[0] && access(path, F_OK) == 0)) return k->secrets_dir;
    return k->data_dir;
}

/* Reads <dir>/jwt_secret.previous.txt: 0 (absent: *key NULL) or -1. */
static int read_previous(const char *dir, uint8_t **key, size_t *len, char *msg, size_t msglen) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/jwt_secret.previous.txt", dir);
    *key = NULL;
    *len = 0;
    int rc = secret_read_file(path, "previous JWT secret", KEY_MAX_BYTES, key, len, msg, msglen);
    return rc == CHATD_ENOTFOUND ? 0 : rc;
}

int keyring_load(keyring **out, const char *secrets_dir, const char *data_dir, int allow_generate,
                 char *msg, size_t msglen) {
    *out = NULL;
    keyring *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    snprintf(k->secrets_dir, sizeof(k->secrets_dir), "%s", secrets_dir ? secrets_dir : "");
    if (allow_generate && data_dir) snprintf(k->data_dir, sizeof(k->data_dir), "%s", data_dir);
    int rc = secret_load(secrets_dir, data_dir, allow_generate, &k->cur, &k->cur_len, msg, msglen);
    if (rc < 0 || read_previous(key_dir(k), &k->prev, &k->prev_len, msg, msglen) != 0) {
        keyring_free(k);
        return -1;
    }
    *out = k;
    return rc;
}

int keyring_reload(keyring *k, char *msg, size_t msglen) {
    const char *dir = key_dir(k);
    char path[PATH_MAX + 32];
    uint8_t *cur = NULL, *prev = NULL;
    size_t cur_len = 0, prev_len = 0;
    snprintf(path, sizeof(path), "%s/jwt_secret.txt", dir);
    int rc = secret_read_file(path, "JWT secret", KEY_MAX_BYTES, &cur, &cur_len, msg, msglen);
    if (rc == CHATD_ENOTFOUND) snprintf(msg, msglen, "no JWT secret: %s does not exist", path);
    if (rc != 0) return -1;
    if (read_previous(dir, &prev, &prev_len, msg, msglen) != 0) {
        wipe(&cur, &cur_len);
        return -1;
    }
    wipe(&k->cur, &k->cur_len);
    wipe(&k->prev, &k->prev_len);
    k->cur = cur;
    k->cur_len = cur_len;
    k->prev = prev;
    k->prev_len = prev_len;
    snprintf(msg, msglen, "JWT secret %s%s", path,
             prev ? " (and jwt_secret.previous.txt, accepted for existing tokens)" : "");
    return 0;
}

int keyring_has_previous(const keyring *k) {
    return k->prev != NULL;
}

int keyring_issue(const keyring *k, const char *username, int64_t now_s, int64_t ttl_s,
                  char **out) {
    return token_issue(k->cur, k->cur_len, username, now_s, ttl_s, out);
}

int keyring_verify(const keyring *k, const char *token, int64_t now_s, char *username_out,
                   size_t cap) {
    int rc = token_verify(k->cur, k->cur_len, token, now_s, username_out, cap);
    if (rc != TOKEN_EINVALID || !k->prev) return rc;
    /* Only a signature by the previous key changes the answer. */
    int old = token_verify(k->prev, k->prev_len, token, now_s, username_out, cap);
    return old == TOKEN_EINVALID ? rc : old;
}

void keyring_free(keyring *k) {
    if (!k) return;
    wipe(&k->cur, &k->cur_len);
    wipe(&k->prev, &k->prev_len);
    free(k);
}
