/*
 * webroot: one file from a directory, never one from outside it (see
 * webroot.h). Two locks: the path syntax keeps "..", hidden names and
 * escapes out before the file system sees them; realpath() then catches a
 * symlink that leads out of the tree.
 */
#define _GNU_SOURCE
#include "web/webroot.h"
#include "core/alloc.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool webroot_path_ok(const char *path, size_t len) {
    if (len < 2 || len > 512 || path[0] != '/') return false;
    for (size_t i = 0; i < len; i++) {
        char ch = path[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || ch == '.' || ch == '/';
        if (!ok) return false;
        /* each segment: non-empty, not starting with '.' */
        if (ch == '/' && (i + 1 == len || path[i + 1] == '/' || path[i + 1] == '.')) return false;
    }
    return true;
}

/* 1 when real is root_real or below it. */
static int inside(const char *root_real, const char *real) {
    size_t n = strlen(root_real);
    if (n == 1 && root_real[0] == '/') return 1;
    return !strncmp(real, root_real, n) && (real[n] == '/' || real[n] == '\0');
}

int webroot_read(const char *root, const char *path, size_t max, char **data, size_t *len) {
    char root_real[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
    if (!webroot_path_ok(path, strlen(path))) return CHATD_ENOTFOUND;
    if (!realpath(root, root_real)) return CHATD_ENOTFOUND;
    int n = snprintf(full, sizeof(full), "%s%s", root_real, path);
    if (n < 0 || (size_t)n >= sizeof(full)) return CHATD_ENOTFOUND;
    if (!realpath(full, real) || !inside(root_real, real)) return CHATD_ENOTFOUND;

    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return CHATD_ENOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return CHATD_ENOTFOUND;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = xmalloc(size ? size : 1);
    int failed = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) failed = 1;
        if (r <= 0) break; /* 0: it shrank while we read; serve what is there */
        got += (size_t)r;
    }
    close(fd);
    if (failed) {
        free(buf);
        return CHATD_EIO;
    }
    *data = buf;
    *len = got;
    return 0;
}
