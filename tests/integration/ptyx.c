/*
 * ptyx: the `chat` binary under a pseudo-terminal or with pipes, for the
 * CLI integration tests. See ptyx.h.
 */
#define _GNU_SOURCE
#include "integration/ptyx.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/harness.h"

/* CHAT_BIN, else the `chat` next to CHATD_BIN (same build, e.g. the
 * sanitizer one), else build/chat. */
static const char *chat_bin(void) {
    static char path[1024];
    const char *b = getenv("CHAT_BIN");
    if (b && *b) return b;
    const char *d = getenv("CHATD_BIN");
    const char *slash = d ? strrchr(d, '/') : NULL;
    if (slash) {
        snprintf(path, sizeof path, "%.*s/chat", (int)(slash - d), d);
        if (access(path, X_OK) == 0) return path;
    }
    return "build/chat";
}

/* In the child: our defaults, then the test's list; then exec. */
static void exec_chat(const char *const *args, const char *const *env) {
    const char *argv[64];
    int n = 0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setenv("NO_COLOR", "1", 1);
    setenv("TERM", "xterm", 1);
    setenv("LC_ALL", "C.UTF-8", 1); /* a UTF-8 terminal, as users have (emoji, accents) */
    unsetenv("TEST_USERNAME");
    unsetenv("TEST_PASSWORD");
    unsetenv("CHAT_API");
    for (int i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq) continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
        if (eq[1])
            setenv(name, eq + 1, 1);
        else
            unsetenv(name);
    }
    argv[n++] = "chat";
    for (int i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    execv(chat_bin(), (char *const *)argv);
    fprintf(stderr, "ptyx: execv %s: %s\n", chat_bin(), strerror(errno));
    _exit(127);
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n + 1 > *cap) {
        while (*len + n + 1 > *cap)
            *cap = *cap ? *cap * 2 : 8192;
        *buf = realloc(*buf, *cap);
        if (!*buf) abort();
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Drops escape sequences (CSI ... final byte, OSC ... BEL, ESC x), CR,
 * BEL and BS. State survives across reads (a sequence may be split). */
static void clean_append(ptyx *p, const char *data, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        switch (p->esc_state) {
        case 1: /* after ESC */
            p->esc_state = c == '[' ? 2 : c == ']' ? 3 : 0;
            continue;
        case 2: /* CSI parameters until a final byte */
            if (c >= 0x40 && c <= 0x7e) p->esc_state = 0;
            continue;
        case 3: /* OSC until BEL */
            if (c == 0x07) p->esc_state = 0;
            continue;
        default:
            break;
        }
        if (c == 0x1b) {
            p->esc_state = 1;
            continue;
        }
        if (c == '\r' || c == 0x07 || c == 0x08) continue;
        char ch = (char)c;
        append(&p->clean, &p->clean_len, &p->clean_cap, &ch, 1);
    }
}

ptyx *ptyx_spawn(const char *label, const char *const *args, const char *const *env) {
    harness__init();
    ptyx *p = calloc(1, sizeof *p);
    if (!p) abort();
    snprintf(p->label, sizeof p->label, "%s", label);
    struct winsize ws = {.ws_row = 50, .ws_col = 200};
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, &ws);
    if (pid < 0) fail_msg("forkpty: %s", strerror(errno));
    if (pid == 0) exec_chat(args, env);
    p->pid = pid;
    p->fd = fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    append(&p->raw, &p->raw_len, &p->raw_cap, "", 0);
    append(&p->clean, &p->clean_len, &p->clean_cap, "", 0);
    return p;
}

void ptyx_send(ptyx *p, const char *s) {
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = write(p->fd, s + off, len - off);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            ptyx_pump(p, 5);
            continue;
        }
        if (n < 0) fail_msg("%s: write to pty: %s", p->label, strerror(errno));
        off += (size_t)n;
    }
}

void ptyx_line(ptyx *p, const char *line) {
    ptyx_send(p, line);
    ptyx_send(p, "\r");
}

/* Reads what is there, waiting at most ms for the first bytes. */
static void read_some(ptyx *p, int ms) {
    char buf[8192];
    struct pollfd pf = {.fd = p->fd, .events = POLLIN};
    if (p->fd < 0) {
        if (ms > 0) sleep_ms(ms);
        return;
    }
    if (poll(&pf, 1, ms) <= 0) return;
    for (;;) {
        ssize_t n = read(p->fd, buf, sizeof buf);
        if (n > 0) {
            append(&p->raw, &p->raw_len, &p->raw_cap, buf, (size_t)n);
            clean_append(p, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (n < 0 && errno != EAGAIN)) { /* EIO: the child closed the pty */
            close(p->fd);
            p->fd = -1;
        }
        return;
    }
}

void ptyx_pump(ptyx *p, int ms) {
    int64_t deadline = now_ms() + ms;
    do {
        int64_t left = deadline - now_ms();
        read_some(p, left > 0 ? (int)left : 0);
    } while (now_ms() < deadline && p->fd >= 0);
}

int ptyx_wait_for(ptyx *p, const char *needle, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        const char *hit = strstr(p->clean + p->mark, needle);
        if (hit) {
            p->mark = (size_t)(hit - p->clean) + strlen(needle);
            return 1;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0 || p->fd < 0) {
            read_some(p, 0);
            hit = strstr(p->clean + p->mark, needle);
            if (hit) p->mark = (size_t)(hit - p->clean) + strlen(needle);
            return hit != NULL;
        }
        read_some(p, (int)(left > 50 ? 50 : left));
    }
}

void ptyx_dump(const ptyx *p) {
    fprintf(stderr, "---- %s output (clean, cursor at %zu) ----\n%s\n---- end of %s ----\n",
            p->label, p->mark, p->clean, p->label);
}

void ptyx_expect(ptyx *p, const char *needle, int timeout_ms) {
    if (ptyx_wait_for(p, needle, timeout_ms)) return;
    ptyx_dump(p);
    fail_msg("%s: \"%s\" did not appear within %d ms", p->label, needle, timeout_ms);
}

int ptyx_expect_handle(ptyx *p, const char *needle, int timeout_ms) {
    ptyx_expect(p, needle, timeout_ms);
    const char *start = p->clean + p->mark - strlen(needle);
    const char *d = start;
    if (d > p->clean && d[-1] == ' ') d--;
    const char *end = d;
    while (d > p->clean && d[-1] >= '0' && d[-1] <= '9')
        d--;
    if (d == end || d == p->clean || d[-1] != '#') {
        ptyx_dump(p);
        fail_msg("%s: no \"#<handle> \" before \"%s\"", p->label, needle);
    }
    return atoi(d);
}

int ptyx_count(const ptyx *p, const char *needle) {
    int n = 0;
    size_t len = strlen(needle);
    for (const char *s = p->clean; (s = strstr(s, needle)) != NULL; s += len)
        n++;
    return n;
}

static int reap(pid_t pid, int timeout_ms, int *status) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            return 1;
        }
        if (r < 0 || now_ms() >= deadline) return 0;
        sleep_ms(5);
    }
}

int ptyx_wait_exit(ptyx *p, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    while (p->pid > 0) {
        read_some(p, 10);
        if (reap(p->pid, 0, &p->status)) {
            p->pid = 0;
            break;
        }
        if (now_ms() >= deadline) {
            ptyx_dump(p);
            fail_msg("%s: did not exit within %d ms", p->label, timeout_ms);
        }
    }
    read_some(p, 0);
    return p->status;
}

void ptyx_free(ptyx *p) {
    if (!p) return;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        if (!reap(p->pid, 2000, &p->status)) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
    }
    if (p->fd >= 0) close(p->fd);
    free(p->raw);
    free(p->clean);
    free(p);
}

/* ---- plain child with pipes ---- */
int ptyx_run(const char *const *args, const char *const *env, const char *input, int timeout_ms,
             const char **out, const char **err) {
    int pin[2], pout[2], perr[2];
    harness__init();
    if (pipe(pin) || pipe(pout) || pipe(perr)) fail_msg("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(pout[1]);
        close(perr[0]);
        close(perr[1]);
        setsid(); /* no controlling terminal: prompts cannot block */
        exec_chat(args, env);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    if (input && *input && write(pin[1], input, strlen(input)) < 0) { /* child gone */
    }
    close(pin[1]);

    char *bufs[2] = {NULL, NULL};
    size_t lens[2] = {0, 0}, caps[2] = {0, 0};
    append(&bufs[0], &lens[0], &caps[0], "", 0);
    append(&bufs[1], &lens[1], &caps[1], "", 0);
    int fds[2] = {pout[0], perr[0]};
    int64_t deadline = now_ms() + timeout_ms;
    while (fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd pf[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("chat %s...: no exit within %d ms; stdout: %s stderr: %s",
                     args && args[0] ? args[0] : "", timeout_ms, bufs[0], bufs[1]);
        }
        if (poll(pf, 2, (int)left) <= 0) continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !pf[i].revents) continue;
            char buf[4096];
            ssize_t n = read(fds[i], buf, sizeof buf);
            if (n > 0)
                append(&bufs[i], &lens[i], &caps[i], buf, (size_t)n);
            else if (n == 0 || errno != EINTR) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
    }
    int status = -1;
    if (!reap(pid, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0) + 1000, &status)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("chat did not exit");
    }
    if (out)
        *out = harness__keep_str(bufs[0]);
    else
        free(bufs[0]);
    if (err)
        *err = harness__keep_str(bufs[1]);
    else
        free(bufs[1]);
    return status;
}
