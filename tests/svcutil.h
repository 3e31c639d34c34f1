/*
 * svcutil: small helpers shared by the test-only engine starters
 * (pgserver.h, redisserver.h, zkserver.h) and by tests of their own: a free
 * loopback port and whether a process listens on it, a private temporary
 * directory, a file written, rm -rf.
 * Header-only: each test program is linked alone with the library.
 */
#ifndef CHATD_TEST_SVCUTIL_H
#define CHATD_TEST_SVCUTIL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* A port nobody listens on right now (bind to port 0 and ask); -1 on error. */
static inline int svc_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Whether process pid itself holds a TCP socket listening on port. A free
 * port can be taken between the draw and the server's bind, by a server of
 * another test: a readiness probe alone would then reach that one. Reads the
 * listening sockets' inodes from /proc/net/tcp{,6} and looks for one of them
 * among /proc/<pid>/fd. */
static inline bool svc_listens(pid_t pid, int port) {
    unsigned long inodes[8];
    int n = 0;
    char line[512];
    const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"}; /* Java listens on AF_INET6 */
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        while (f && n < 8 && fgets(line, sizeof line, f)) {
            unsigned lport, state;
            unsigned long inode;
            if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*d %*d %lu", &lport,
                       &state, &inode) == 3 &&
                lport == (unsigned)port && state == 0x0A /* LISTEN */)
                inodes[n++] = inode;
        }
        if (f) fclose(f);
    }
    char dir[64], path[384], link[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = n ? opendir(dir) : NULL;
    struct dirent *e;
    bool found = false;
    while (d && !found && (e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t len = readlink(path, link, sizeof link - 1);
        if (len <= 0) continue;
        link[len] = '\0';
        for (int i = 0; i < n && !found; i++) {
            char want[40];
            snprintf(want, sizeof want, "socket:[%lu]", inodes[i]);
            found = strcmp(link, want) == 0;
        }
    }
    if (d) closedir(d);
    return found;
}

/* Makes a fresh private directory "$TMPDIR/<prefix>XXXXXX" (TMPDIR unset or
 * empty: /tmp) into out. Tests never assume any other path exists. Returns
 * out, or NULL (out[0] = '\0') on failure. */
static inline char *svc_mkdtemp(char *out, size_t cap, const char *prefix) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    if (snprintf(out, cap, "%s/%sXXXXXX", base, prefix) >= (int)cap || !mkdtemp(out)) {
        if (cap) out[0] = '\0';
        return NULL;
    }
    return out;
}

/* Writes text into path (created or truncated). 0, or -1. */
static inline int svc_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int bad = fputs(text, f) < 0;
    return fclose(f) != 0 || bad ? -1 : 0;
}

/* rm -rf path (no symlinks followed). */
static inline void svc_rmrf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) continue;
            svc_rmrf(sub);
        }
        if (d) closedir(d);
    }
    remove(path);
}

#endif
