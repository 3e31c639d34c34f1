/*
 * redisserver: a private Redis 7 server for one test program, started
 * exactly as /work/shared/SERVICES.md says: its own mkdtemp directory, a
 * free port on 127.0.0.1, redis-server as a foreground child (fork/exec,
 * no persistence) whose PID we keep, readiness polled with PING -> PONG,
 * stopped with SIGTERM + waitpid, directory removed.
 * redisserver_restart stops it and starts a fresh one on the same port,
 * which is how tests simulate "Redis went away and came back" (the data
 * is gone, as with a real restart of a non-persistent Redis).
 * redisserver_start_auth starts one that requires a password
 * (--requirepass, given in a config file so it is not on the command
 * line); restarts keep it.
 *
 * Header-only (static functions) so each test binary gets its own copy.
 */
#ifndef CHATD_TESTS_REDISSERVER_H
#define CHATD_TESTS_REDISSERVER_H

#include "svcutil.h"

#include <arpa/inet.h>
#include <dirent.h>
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
#include <unistd.h>

typedef struct redisserver {
    pid_t pid;
    int port;
    char dir[128];
    char password[64]; /* "" = none */
} redisserver;

/* 1 when PING on 127.0.0.1:port answers +PONG (or, with a password,
 * -NOAUTH: up, and asking for it). */
static inline int redisserver__pong(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char buf[16] = {0};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, "PING\r\n", 6) == 6 &&
             read(fd, buf, sizeof buf - 1) >= 5 &&
             (!strncmp(buf, "+PONG", 5) || !strncmp(buf, "-NOAUTH", 7));
    close(fd);
    return ok;
}

/* Stops the process only (the directory stays, for a restart). */
static inline void redisserver__kill(redisserver *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* Runs redis-server on s->port in s->dir and waits (up to 10 s) for PONG. */
static inline int redisserver__spawn(redisserver *s) {
    char port[16], log[192], conf[192];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
    snprintf(conf, sizeof conf, "%s/redis.conf", s->dir);
    FILE *cf = fopen(conf, "w"); /* the password, if any, stays off the command line */
    if (!cf) return -1;
    if (s->password[0]) fprintf(cf, "requirepass \"%s\"\n", s->password); /* no quotes in it */
    fclose(cf);
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            close(fd);
        }
        execlp("redis-server", "redis-server", conf, "--port", port, "--bind", "127.0.0.1", "--dir",
               s->dir, "--save", "", "--appendonly", "no", "--logfile", log, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* 200 x 50 ms */
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = 0;
            fprintf(stderr, "redisserver: redis-server exited; see %s\n", log);
            return -1;
        }
        if (redisserver__pong(s->port) && svc_listens(s->pid, s->port)) return 0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "redisserver: not ready after 10 s\n");
    return -1;
}

static inline void redisserver_stop(redisserver *s);

static inline int redisserver__start(redisserver *s) {
    if (!svc_mkdtemp(s->dir, sizeof s->dir, "chatd-redis-")) {
        s->dir[0] = '\0';
        return -1;
    }
    /* A port can be taken between our draw and the server's bind: retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = svc_free_port();
        if (s->port > 0 && redisserver__spawn(s) == 0) return 0;
        redisserver__kill(s);
    }
    redisserver_stop(s);
    return -1;
}

static inline void redisserver_stop(redisserver *s) {
    redisserver__kill(s);
    if (s->dir[0]) {
        svc_rmrf(s->dir);
        s->dir[0] = '\0';
    }
}

/* Starts a server on a free port. 0 or -1 (nothing left running). */
static inline int redisserver_start(redisserver *s) {
    memset(s, 0, sizeof *s);
    return redisserver__start(s);
}

/* The same, requiring password (at most 63 bytes, no newline, no quote);
 * NULL = none. Says on stderr what is missing when it fails. */
static inline int redisserver_start_auth(redisserver *s, const char *password) {
    memset(s, 0, sizeof *s);
    snprintf(s->password, sizeof s->password, "%s", password ? password : "");
    if (redisserver__start(s) == 0) return 0;
    fprintf(stderr, "cannot start redis-server (package redis-server)\n");
    return -1;
}

/* Stops the server and starts a new, empty one on the same port. */
static inline int redisserver_restart(redisserver *s) {
    redisserver__kill(s);
    return redisserver__spawn(s);
}

/* The two halves of a restart, for tests that act while Redis is down. */
static inline void redisserver_pause(redisserver *s) {
    redisserver__kill(s);
}
static inline int redisserver_resume(redisserver *s) {
    return redisserver__spawn(s);
}

#endif
