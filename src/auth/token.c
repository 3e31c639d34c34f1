/*
 * token: JWT HS256 on top of libjwt 1.10, with the checks libjwt leaves to
 * the caller done here explicitly: the alg must be HS256 (never "none" or
 * another HMAC size), and the claims must have the right types. Claims are
 * re-read with jansson from the verified payload so "exp": "123" or a
 * numeric username is rejected instead of silently read as 0 / NULL.
 */
#include "auth/token.h"

#include <jansson.h>
#include <jwt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Our tokens are ~200 bytes; anything this large is not one of ours. */
#define TOKEN_MAX_LEN 4096

bool token_username_valid(const char *name) {
    size_t n = 0;

    if (!name) return false;
    for (; name[n]; n++) {
        char c = name[n];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok || n >= TOKEN_USERNAME_MAX) return false;
    }
    return n >= 1;
}

static int key_usable(const uint8_t *key, size_t key_len) {
    return key && key_len > 0 && key_len <= INT_MAX;
}

int token_issue(const uint8_t *key, size_t key_len, const char *username, int64_t now_s,
                int64_t ttl_s, char **out) {
    jwt_t *jwt = NULL;
    int rc = TOKEN_ENOMEM;

    *out = NULL;
    if (!key_usable(key, key_len) || !token_username_valid(username) || ttl_s <= 0)
        return TOKEN_EINVALID;
    if (jwt_new(&jwt) != 0) return TOKEN_ENOMEM;
    if (jwt_add_grant(jwt, "username", username) != 0 ||
        jwt_add_grant_int(jwt, "iat", (long)now_s) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)(now_s + ttl_s)) != 0)
        goto fail;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)key_len) != 0) goto fail;
    *out = jwt_encode_str(jwt); /* malloc'd; freed with free() */
    if (*out) rc = 0;
fail:
    jwt_free(jwt);
    return rc;
}

/* Check the claims of an already signature-verified token. */
static int check_claims(jwt_t *jwt, int64_t now_s, char *username_out, size_t cap) {
    char *payload = jwt_get_grants_json(jwt, NULL); /* malloc'd */
    json_t *root = NULL, *user, *exp;
    int rc = TOKEN_EINVALID;

    if (!payload) return TOKEN_EINVALID;
    root = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
    free(payload);
    if (!json_is_object(root)) goto done;

    user = json_object_get(root, "username");
    exp = json_object_get(root, "exp");
    if (!json_is_string(user) || !json_is_integer(exp)) goto done;
    const char *name = json_string_value(user);
    size_t len = json_string_length(user);
    if (strlen(name) != len || !token_username_valid(name) || len + 1 > cap) goto done;
    if (now_s >= (int64_t)json_integer_value(exp)) {
        rc = TOKEN_EEXPIRED;
        goto done;
    }
    memcpy(username_out, name, len + 1);
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int token_verify(const uint8_t *key, size_t key_len, const char *token, int64_t now_s,
                 char *username_out, size_t cap) {
    jwt_t *jwt = NULL;
    const char *alg;
    int rc;

    if (username_out && cap > 0) username_out[0] = '\0';
    if (!token || !*token) return TOKEN_EMISSING;
    if (!username_out || cap == 0 || !key_usable(key, key_len) ||
        strnlen(token, TOKEN_MAX_LEN + 1) > TOKEN_MAX_LEN)
        return TOKEN_EINVALID;

    /* With a key, libjwt verifies the signature for the alg named in the
     * header; it does not pin the alg, so that is done below. */
    if (jwt_decode(&jwt, token, key, (int)key_len) != 0 || !jwt) return TOKEN_EINVALID;

    /* Pin the algorithm twice: libjwt's parsed alg and the raw header. */
    alg = jwt_get_header(jwt, "alg");
    if (jwt_get_alg(jwt) != JWT_ALG_HS256 || !alg || strcmp(alg, "HS256") != 0) {
        rc = TOKEN_EINVALID;
        goto done;
    }
    rc = check_claims(jwt, now_s, username_out, cap);
    if (rc != 0) username_out[0] = '\0';
done:
    jwt_free(jwt);
    return rc;
}
