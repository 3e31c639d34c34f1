/*
 * zkserver: a private ZooKeeper 3.8 server for one test program, started
 * exactly as /work/shared/SERVICES.md says: its own mkdtemp directory, a
 * free port on 127.0.0.1, the JVM as a foreground child (fork/exec) whose
 * PID we keep, readiness polled with the `srvr` four-letter word until it
 * answers "Mode: standalone" (`ruok` answers too early), stopped with
 * SIGTERM + waitpid, directory removed.
 *
 * Header-only (static functions) so each test binary gets its own copy.
 *
 *   zkserver zk;
 *   if (zkserver_start(&zk) != 0) ...skip...;
 *   ... connect to zk.connect ("127.0.0.1:PORT") ...
 *   zkserver_stop(&zk);
 */
#ifndef CHATD_TESTS_ZKSERVER_H
#define CHATD_TESTS_ZKSERVER_H

#include "svcutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct zkserver {
    pid_t pid;
    int port;
    char dir[128];
    char connect[64]; /* "127.0.0.1:PORT", what discovery_zookeeper_backend.open takes */
} zkserver;

/* Sends a four-letter word and reads the answer into buf (NUL-terminated). */
static inline int zkserver__4lw(int port, const char *word, char *buf, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    size_t len = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, word, strlen(word)) == (ssize_t)strlen(word)) {
        ssize_t r;
        while (len + 1 < cap && (r = read(fd, buf + len, cap - 1 - len)) > 0)
            len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return len > 0 ? 0 : -1;
}

static inline void zkserver_stop(zkserver *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->dir[0]) {
        svc_rmrf(s->dir);
        s->dir[0] = '\0';
    }
}

/* Runs ZooKeeper on s->port in s->dir and waits (up to 20 s) until it
 * serves. 0, or -1 (then it is not running). */
static inline int zkserver__spawn(zkserver *s) {
    snprintf(s->connect, sizeof s->connect, "127.0.0.1:%d", s->port);
    char cfg[192], log[192];
    snprintf(cfg, sizeof cfg, "%s/zoo.cfg", s->dir);
    snprintf(log, sizeof log, "%s/zk.log", s->dir);
    FILE *f = fopen(cfg, "w");
    if (!f) return -1;
    fprintf(f,
            "tickTime=2000\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,stat\n",
            s->dir, s->port);
    fclose(f);

    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execlp("java", "java", "-Xmx256m", "-cp",
               "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar",
               "org.apache.zookeeper.server.ZooKeeperServerMain", cfg, (char *)NULL);
        _exit(127);
    }

    char buf[1024];
    for (int i = 0; i < 400; i++) { /* 400 x 50 ms */
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            fprintf(stderr, "zkserver: java exited; see %s\n", log);
            return -1;
        }
        if (zkserver__4lw(s->port, "srvr", buf, sizeof buf) == 0 &&
            strstr(buf, "Mode: standalone") && svc_listens(s->pid, s->port))
            return 0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "zkserver: not ready after 20 s\n");
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

/* Starts the server on a free port and waits until it serves. 0 or -1. */
static inline int zkserver_start(zkserver *s) {
    memset(s, 0, sizeof *s);
    if (!svc_mkdtemp(s->dir, sizeof s->dir, "chatd-zk-")) return -1;
    /* A port can be taken between our draw and the server's bind: retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = svc_free_port();
        if (s->port > 0 && zkserver__spawn(s) == 0) return 0;
    }
    zkserver_stop(s);
    return -1;
}

#endif
