/*
 * secret: loading the JWT signing key.
 *
 * The key is the exact bytes of <secrets_dir>/jwt_secret.txt (no trimming:
 * a trailing newline is part of the key). The embedded single-process
 * mode may instead use, or create, <data_dir>/jwt_secret.txt holding 32
 * random bytes hex-encoded (64 characters, no newline, mode 0600), so a
 * first run works without setup and tokens survive restarts. Cluster
 * roles pass allow_generate = 0 and refuse to start without a secret.
 * Never log the key itself.
 */
#ifndef CHATD_SECRET_H
#define CHATD_SECRET_H

#include "core/err.h"
#include <stddef.h>
#include <stdint.h>

/* Returns:
 *   0  loaded an existing file (from secrets_dir, or from data_dir when
 *      allow_generate is set);
 *   1  generated a new secret into <data_dir>/jwt_secret.txt (the caller
 *      should log "generated a new JWT secret in <path>"); the path is
 *      also written to errbuf for that purpose;
 *  -1  error; errbuf holds a human sentence.
 * On 0/1, *key is malloc'd (caller frees with free()) and *key_len > 0.
 * data_dir may be NULL when allow_generate is 0. */
int secret_load(const char *secrets_dir, const char *data_dir, int allow_generate, uint8_t **key,
                size_t *key_len, char *errbuf, size_t errlen);

/* Reads the whole file at path, as raw bytes, for any secret (the cluster
 * secret and the engines' passwords use it too). what names it in
 * messages ("JWT secret"). Returns 0 (*buf malloc'd, *len > 0: wipe and
 * free it), CHATD_ENOTFOUND when the file does not exist, or -1 with errbuf set
 * (unreadable, empty, larger than max bytes). */
int secret_read_file(const char *path, const char *what, size_t max, uint8_t **buf, size_t *len,
                     char *errbuf, size_t errlen);

#endif
