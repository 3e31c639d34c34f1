/*
 * password: argon2id via libsodium's crypto_pwhash_str_alg. The hash
 * string carries its own salt and limits, so verification needs no params.
 */
#include "auth/password.h"

#include <sodium.h>
#include <string.h>

_Static_assert(PASSWORD_HASH_LEN == crypto_pwhash_STRBYTES, "hash buffer size");

void password_params_default(password_params *p) {
    p->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    p->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

int password_hash(const password_params *p, const char *pw, size_t len, char out[128]) {
    out[0] = '\0';
    if (sodium_init() < 0) return -1;
    if (crypto_pwhash_str_alg(out, pw, len, p->opslimit, p->memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int password_verify(const char *hash, const char *pw, size_t len) {
    if (!hash || sodium_init() < 0) return -1;
    /* crypto_pwhash_str_verify reads at most STRBYTES of a NUL-terminated
     * string; reject anything longer rather than rely on that. */
    if (strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES) return -1;
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : -1;
}

bool password_rule(const char *pw, size_t len, const char **why) {
    const char *msg = NULL;

    if (!pw || len < PASSWORD_MIN_LEN)
        msg = "Password must be at least 8 characters long";
    else if (len > PASSWORD_MAX_LEN)
        msg = "Password must be at most 128 bytes long";
    if (why) *why = msg;
    return msg == NULL;
}
