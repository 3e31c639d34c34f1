/*
 * secret: find or create the JWT signing key. Files are read as raw bytes;
 * a newly generated secret is written to a temporary file and link()ed into
 * place, so a crash never leaves a truncated key and two processes racing
 * to generate end up sharing one key.
 */
#include "core/err.h"
#include "auth/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FILE "jwt_secret.txt"
#define SECRET_MAX_BYTES 65536 /* a key file larger than this is a mistake */
#define SECRET_RANDOM_BYTES 32

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) {
    va_list ap;

    if (!errbuf || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

int secret_read_file(const char *path, const char *what, size_t max, uint8_t **key, size_t *key_len,
                     char *errbuf, size_t errlen) {
    uint8_t *buf = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ENOENT) return CHATD_ENOTFOUND;
        set_err(errbuf, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    buf = malloc(max + 1);
    if (!buf) {
        set_err(errbuf, errlen, "out of memory reading %s %s", what, path);
        goto fail;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, max + 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            set_err(errbuf, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
            goto fail;
        }
        if (n == 0) break;
        len += (size_t)n;
        if (len > max) {
            set_err(errbuf, errlen, "%s %s is larger than %zu bytes", what, path, max);
            goto fail;
        }
    }
    if (len == 0) {
        set_err(errbuf, errlen, "%s %s is empty", what, path);
        goto fail;
    }
    close(fd);
    *key = buf; /* a little oversized; not worth a realloc */
    *key_len = len;
    return 0;
fail:
    if (buf) {
        sodium_memzero(buf, max + 1);
        free(buf);
    }
    close(fd);
    return -1;
}

static int read_key_file(const char *path, uint8_t **key, size_t *key_len, char *errbuf,
                         size_t errlen) {
    return secret_read_file(path, "JWT secret", SECRET_MAX_BYTES, key, key_len, errbuf, errlen);
}

/* mkdir -p for dir (mode 0700 for the directories we create). */
static int make_dirs(const char *dir) {
    char tmp[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int write_all(int fd, const char *s, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Create path with a fresh random hex secret. Returns 0 when we created
 * it, CHATD_EEXIST when someone else did first, -1 with errbuf set on error. */
static int generate_key_file(const char *dir, const char *path, char *errbuf, size_t errlen) {
    uint8_t raw[SECRET_RANDOM_BYTES];
    char hex[SECRET_RANDOM_BYTES * 2 + 1];
    char tmp[PATH_MAX];
    int fd, rc = -1;

    if (make_dirs(dir) != 0) {
        set_err(errbuf, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        set_err(errbuf, errlen, "data directory path too long: %s", dir);
        return -1;
    }
    if (sodium_init() < 0) {
        set_err(errbuf, errlen, "libsodium failed to initialise");
        return -1;
    }
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);

    unlink(tmp); /* a leftover from a crashed run of this pid */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_err(errbuf, errlen, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, hex, strlen(hex)) != 0 || fsync(fd) != 0) {
        set_err(errbuf, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (link(tmp, path) != 0) {
        rc = errno == EEXIST ? CHATD_EEXIST : -1;
        if (rc == -1) set_err(errbuf, errlen, "cannot create %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    unlink(tmp);
    rc = 0;
out:
    sodium_memzero(hex, sizeof hex);
    return rc;
}

int secret_load(const char *secrets_dir, const char *data_dir, int allow_generate, uint8_t **key,
                size_t *key_len, char *errbuf, size_t errlen) {
    char path[PATH_MAX];
    int rc;

    *key = NULL;
    *key_len = 0;
    if (errbuf && errlen > 0) errbuf[0] = '\0';

    if (secrets_dir && *secrets_dir) {
        if (snprintf(path, sizeof path, "%s/%s", secrets_dir, SECRET_FILE) >= (int)sizeof path) {
            set_err(errbuf, errlen, "secrets directory path too long: %s", secrets_dir);
            return -1;
        }
        rc = read_key_file(path, key, key_len, errbuf, errlen);
        if (rc != CHATD_ENOTFOUND) return rc; /* 0 loaded, or -1 with errbuf set */
    } else {
        snprintf(path, sizeof path, "(no secrets directory)/%s", SECRET_FILE);
    }

    if (!allow_generate || !data_dir || !*data_dir) {
        set_err(errbuf, errlen,
                "no JWT secret: %s does not exist; create it (any bytes, e.g. 64 random hex "
                "characters) before starting this role",
                path);
        return -1;
    }

    if (snprintf(path, sizeof path, "%s/%s", data_dir, SECRET_FILE) >= (int)sizeof path) {
        set_err(errbuf, errlen, "data directory path too long: %s", data_dir);
        return -1;
    }
    rc = read_key_file(path, key, key_len, errbuf, errlen);
    if (rc != CHATD_ENOTFOUND) return rc;

    rc = generate_key_file(data_dir, path, errbuf, errlen);
    if (rc == -1) return -1;
    /* Read back what is on disk: ours, or the racing winner's (CHATD_EEXIST). */
    if (read_key_file(path, key, key_len, errbuf, errlen) != 0) {
        if (errbuf && errlen > 0 && !errbuf[0])
            set_err(errbuf, errlen, "JWT secret %s vanished after creation", path);
        return -1;
    }
    if (rc == CHATD_EEXIST) return 0;
    set_err(errbuf, errlen, "%s", path);
    return 1;
}
