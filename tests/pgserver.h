/*
 * pgserver: a private PostgreSQL 15 server for one test program, started as
 * ../shared/SERVICES.md says: a mkdtemp directory owned by user postgres
 * (PostgreSQL refuses to run as root), initdb through runuser, the server in
 * the foreground on 127.0.0.1 and a free port with its unix socket in the
 * same directory and fsync=off (tests only: durability is not measured
 * here), readiness polled (never a fixed sleep), stopped by signal + waitpid
 * on its own PID, the directory removed.
 *
 * The server itself is not started through runuser: runuser keeps a
 * watching parent that turns a SIGTERM into a SIGKILL of the server after
 * 2 s and hides the postmaster's PID. The child drops to user postgres
 * itself (what runuser -u postgres does) and execs postgres, so the PID we
 * keep is the postmaster's and our signals reach it unchanged.
 *
 * Header-only (static functions) because each test program is linked alone.
 * Works as root (drops to postgres) and as any other user (runs as itself).
 */
#ifndef CHATD_TESTS_PGSERVER_H
#define CHATD_TESTS_PGSERVER_H

#include "svcutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PGSERVER_BIN "/usr/lib/postgresql/15/bin"

typedef struct pgserver {
    char dir[128];      /* data in dir/pg, the unix socket, the logs */
    int port;           /* 127.0.0.1 */
    pid_t pid;          /* the postmaster; 0 while stopped */
    char conninfo[160]; /* user postgres, database postgres, over TCP */
} pgserver;

static double pgserver__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pgserver__sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts argv[0] with stdout/stderr appended to `log`; as user postgres
 * when `drop` and we are root. Only async-signal-safe calls after fork: the
 * test may have threads. The child's PID, or -1. */
static pid_t pgserver__spawn(char *const argv[], const char *log, int drop) {
    uid_t uid = 0;
    gid_t gid = 0;
    int as_pg = drop && geteuid() == 0;
    if (as_pg) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw) return -1;
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    pid_t pid = fork();
    if (pid != 0) return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (as_pg && (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(126);
    execv(argv[0], argv);
    _exit(127);
}

/* Starts the server in p->dir on p->port and waits until it accepts
 * connections (15 s at most): a restart after pgserver_stop (pgserver_init
 * starts it the first time). It counts as up only when its own process
 * listens on the port. 0 or -1 (then it is not running). */
static int pgserver_start(pgserver *p) {
    char data[192], sockdir[192], port[16], log[192];
    snprintf(data, sizeof data, "%s/pg", p->dir);
    snprintf(sockdir, sizeof sockdir, "unix_socket_directories=%s", p->dir);
    snprintf(port, sizeof port, "%d", p->port);
    snprintf(log, sizeof log, "%s/postgres.log", p->dir);
    char *argv[] = {PGSERVER_BIN "/postgres",     "-D", data,    "-p", port,        "-c",
                    "listen_addresses=127.0.0.1", "-c", sockdir, "-c", "fsync=off", "-c",
                    "max_connections=60",         NULL};
    p->pid = pgserver__spawn(argv, log, 1);
    if (p->pid < 0) {
        p->pid = 0;
        return -1;
    }
    char ping[256];
    snprintf(ping, sizeof ping,
             "host=127.0.0.1 port=%d dbname=postgres user=postgres connect_timeout=2", p->port);
    for (double end = pgserver__now() + 15; pgserver__now() < end; pgserver__sleep_ms(10)) {
        int status;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) { /* it gave up: see postgres.log */
            fprintf(stderr, "pgserver: postgres exited at start-up, see %s\n", log);
            p->pid = 0;
            return -1;
        }
        if (PQping(ping) == PQPING_OK && svc_listens(p->pid, p->port)) return 0;
    }
    kill(p->pid, SIGQUIT);
    waitpid(p->pid, NULL, 0);
    p->pid = 0;
    return -1;
}

/* Stops the server and waits for it: SIGTERM = smart (waits for clients),
 * SIGINT = fast (disconnects them, as `pg_ctl restart` does). After 10 s a
 * stop escalates to the next faster mode. Keeps the data directory. */
static void pgserver_stop(pgserver *p, int sig) {
    if (!p->pid) return;
    int sigs[] = {sig, SIGINT, SIGQUIT, SIGKILL};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        kill(p->pid, sigs[i]);
        for (int t = 0; t < 1000; t++) {
            if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
                p->pid = 0;
                return;
            }
            pgserver__sleep_ms(10);
        }
    }
}

/* Stops the server (smart) and removes its directory. */
static void pgserver_destroy(pgserver *p) {
    pgserver_stop(p, SIGTERM);
    if (p->dir[0]) svc_rmrf(p->dir);
    p->dir[0] = '\0';
}

/* Creates the directory and the cluster and starts the server. 0 or -1
 * (then nothing is left behind). */
static int pgserver_init(pgserver *p) {
    memset(p, 0, sizeof(*p));
    if (!svc_mkdtemp(p->dir, sizeof p->dir, "chatd-pg.")) return -1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw || chown(p->dir, pw->pw_uid, pw->pw_gid) != 0) goto fail;
    }
    char data[192], log[192];
    snprintf(data, sizeof data, "%s/pg", p->dir);
    snprintf(log, sizeof log, "%s/initdb.log", p->dir);
    char *initdb[] = {"/usr/sbin/runuser",
                      "-u",
                      "postgres",
                      "--",
                      PGSERVER_BIN "/initdb",
                      "-D",
                      data,
                      "-U",
                      "postgres",
                      "--auth=trust",
                      "--encoding=UTF8",
                      "--locale=C.UTF-8",
                      "-N",
                      NULL};
    /* Not root: no runuser, initdb runs as ourselves. */
    pid_t pid = pgserver__spawn(geteuid() == 0 ? initdb : initdb + 4, log, 0);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pgserver: initdb failed, see %s\n", log);
        goto fail;
    }
    /* A port can be taken between our probe and the server's bind: retry. */
    for (int tries = 0; tries < 3; tries++) {
        p->port = svc_free_port();
        if (p->port > 0 && pgserver_start(p) == 0) {
            snprintf(p->conninfo, sizeof p->conninfo,
                     "host=127.0.0.1 port=%d user=postgres dbname=postgres", p->port);
            return 0;
        }
    }
fail:
    pgserver_destroy(p);
    return -1;
}

/* Runs one or more SQL commands on database `db` (NULL = postgres) as user
 * postgres. 0 or -1 (the server's message goes to stderr). */
static int pgserver_exec(const pgserver *p, const char *db, const char *sql) {
    char ci[192];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=postgres dbname=%s", p->port,
             db ? db : "postgres");
    PGconn *c = PQconnectdb(ci);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok) fprintf(stderr, "pgserver: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "pgserver: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

#endif
