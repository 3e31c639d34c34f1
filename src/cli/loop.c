/*
 * loop: the `chat` client's single event loop (cli_app_run in app.h). One
 * poll() over stdin (interactive mode) and the chat and presence sockets;
 * frames already buffered inside the WebSocket client are drained first
 * (wsc_pending), since poll() cannot see them. While disconnected the poll
 * timeout is the next reconnect attempt (session backoff).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/complete.h"
#include "cli/render.h"
#include "core/alloc.h"
#include "net/ws.h"

#define HEARTBEAT_MS 25000 /* the server marks a silent user offline after 60 s */
#define EOF_GRACE_MS 10000 /* piped stdin ended: wait this long for echoes */

static volatile sig_atomic_t g_stop;
static cli_app *g_app; /* for the line editor's callback */

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Tab: what the state offers for the word being typed (complete.h). */
static char **complete_line(const char *before, const char *word) {
    cli_app *a = g_app;
    cli_state *st = &a->st;
    size_t cap = st->n_pr + 1, n_users = 0, n_cmds = 0;
    for (size_t i = 0; i < st->n_ch; i++)
        cap += st->ch[i]->n_others;
    const char **users = xcalloc(cap, sizeof *users);
    const char **chans = xcalloc(st->n_ch + 1, sizeof *chans);
    cli_channel *cur = a->current[0] ? cli_state_find(st, a->current) : NULL;
    for (size_t j = 0; cur && j < cur->n_others; j++) /* the current channel's first */
        users[n_users++] = cur->others[j];
    for (size_t i = 0; i < st->n_ch; i++) {
        chans[i] = cli_state_display(st->ch[i]);
        for (size_t j = 0; st->ch[i] != cur && j < st->ch[i]->n_others; j++)
            users[n_users++] = st->ch[i]->others[j];
    }
    for (size_t i = 0; i < st->n_pr; i++)
        users[n_users++] = st->pr[i].user;
    while (cmd_names[n_cmds])
        n_cmds++;
    complete_src src = {cmd_names, n_cmds, users, n_users, chans, st->n_ch};
    char **out = complete_words(before, word, &src);
    free(users);
    free(chans);
    return out;
}

static void on_line(char *line) {
    if (!line) { /* Ctrl-D */
        g_app->quit = 1;
        return;
    }
    cmd_execute(g_app, line);
    free(line);
}

/* ---- stdin that is not a terminal: plain lines, run one at a time ----
 * A line runs only once the channel list is in and the reply to the
 * previous request has come (a->awaiting: create, join, leave, read,
 * history, status; an own message waits for its echo), so a script such as
 * "/create X bob" then "hello" does what it says. */
static char g_inbuf[65536];
static size_t g_inlen;
static int g_in_eof;

static void run_plain_lines(cli_app *a) {
    while (a->have_list && !a->awaiting && json_array_size(a->outbox) == 0 && !a->quit &&
           g_inlen > 0) {
        char *nl = memchr(g_inbuf, '\n', g_inlen);
        size_t len;
        if (nl)
            len = (size_t)(nl - g_inbuf);
        else if (g_in_eof || g_inlen == sizeof g_inbuf - 1)
            len = g_inlen; /* the last line, or an over-long one */
        else
            return;
        char line[sizeof g_inbuf];
        memcpy(line, g_inbuf, len);
        line[len] = '\0';
        if (len > 0 && line[len - 1] == '\r') line[len - 1] = '\0';
        size_t used = nl ? len + 1 : len;
        g_inlen -= used;
        memmove(g_inbuf, g_inbuf + used, g_inlen);
        cmd_execute(a, line);
    }
    if (g_in_eof && g_inlen == 0) a->stdin_eof = 1;
}

static void read_plain_stdin(cli_app *a) {
    ssize_t n = read(STDIN_FILENO, g_inbuf + g_inlen, sizeof g_inbuf - 1 - g_inlen);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0)
        g_in_eof = 1;
    else
        g_inlen += (size_t)n;
    run_plain_lines(a);
}

/* ---- connection ---- */
static void fatal(cli_app *a, int code, const char *why) {
    if (a->mode == APP_INTERACTIVE && a->connected_once)
        render_error("%s", why);
    else
        fprintf(stderr, "chat: %s\n", why);
    a->quit = 1;
    a->exit_code = code;
}

static void try_connect(cli_app *a) {
    int rc = cli_session_open(&a->ss);
    if (rc == CLI_OK) {
        cli_app_on_connected(a);
        a->next_heartbeat_ms = cli_session_now_ms() + HEARTBEAT_MS;
        return;
    }
    /* The first connection fails fast; later ones retry, unless the
     * password stopped working. */
    if (!a->connected_once || rc == CLI_EAUTH) {
        fatal(a, rc, a->ss.last_error);
        return;
    }
    cli_session_backoff(&a->ss);
}

static void lost(cli_app *a, int code) {
    cli_session_close(&a->ss, 0);
    if (code == 3000 || code == 4001 || code == 4002) {
        fatal(a, CLI_EAUTH, "the server refused our session token");
        return;
    }
    cli_app_on_disconnected(a, code);
    cli_session_backoff(&a->ss);
}

/* Handles every message readable now on one socket. */
static void pump(cli_app *a, int presence) {
    for (;;) {
        wsc *c = presence ? a->ss.presence : a->ss.chat;
        wsc_msg m;
        if (!c || a->quit) return;
        int r = wsc_recv(c, 0, &m);
        if (r == 0) return;
        if (r < 0) {
            lost(a, -1);
            return;
        }
        if (m.opcode == WS_OP_CLOSE) {
            int code = m.close_code;
            wsc_msg_free(&m);
            lost(a, code);
            return;
        }
        if (m.opcode == WS_OP_TEXT) {
            json_t *f = json_loadb(m.data, m.len, 0, NULL);
            if (json_is_object(f)) cli_app_on_frame(a, presence, f);
            json_decref(f);
        }
        wsc_msg_free(&m);
    }
}

static int min_timeout(int t, int64_t when, int64_t now) {
    int64_t d = when - now;
    if (d < 0) d = 0;
    if (d > 60000) d = 60000;
    return (t < 0 || d < t) ? (int)d : t;
}

int cli_app_run(cli_app *a) {
    int use_stdin = a->mode == APP_INTERACTIVE;
    int editor = use_stdin && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int64_t eof_since = 0;

    g_app = a;
    install_signals();
    a->ss.want_presence = a->mode == APP_INTERACTIVE;
    if (a->mode == APP_SEND && a->deadline_ms == 0) a->deadline_ms = cli_session_now_ms() + 15000;
    try_connect(a);
    if (!a->quit && editor) {
        render_editor_set_completer(complete_line);
        render_editor_on("> ", on_line);
    }

    while (!a->quit && !g_stop) {
        int64_t now = cli_session_now_ms();
        if (!cli_session_connected(&a->ss)) {
            if (now >= a->ss.next_attempt_ms) {
                try_connect(a);
                continue;
            }
        } else if (a->ss.presence && now >= a->next_heartbeat_ms) {
            json_t *hb = json_pack("{s:s}", "type", "heartbeat");
            cli_session_send(&a->ss, 1, hb);
            json_decref(hb);
            a->next_heartbeat_ms = now + HEARTBEAT_MS;
        }
        if (a->mode == APP_SEND && now >= a->deadline_ms) {
            fatal(a, CLI_ECONNECT, "no acknowledgement from the server in time");
            break;
        }
        if (a->stdin_eof) {
            if (!eof_since) eof_since = now;
            if ((json_array_size(a->outbox) == 0 && !a->awaiting) || now - eof_since > EOF_GRACE_MS)
                break;
        }

        struct pollfd fds[3];
        int nfds = 0, i_in = -1, i_chat = -1, i_pres = -1, timeout = -1;
        if (use_stdin && !editor) run_plain_lines(a);
        if (use_stdin && !g_in_eof && g_inlen < sizeof g_inbuf - 1) {
            i_in = nfds;
            fds[nfds++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
        }
        if (a->ss.chat) {
            i_chat = nfds;
            fds[nfds++] = (struct pollfd){.fd = wsc_fd(a->ss.chat), .events = POLLIN};
            if (wsc_pending(a->ss.chat)) timeout = 0;
        }
        if (a->ss.presence) {
            i_pres = nfds;
            fds[nfds++] = (struct pollfd){.fd = wsc_fd(a->ss.presence), .events = POLLIN};
            if (wsc_pending(a->ss.presence)) timeout = 0;
            timeout = min_timeout(timeout, a->next_heartbeat_ms, now);
        }
        if (!cli_session_connected(&a->ss))
            timeout = min_timeout(timeout, a->ss.next_attempt_ms, now);
        if (a->mode == APP_SEND) timeout = min_timeout(timeout, a->deadline_ms, now);
        if (cli_app_next_timer(a)) timeout = min_timeout(timeout, cli_app_next_timer(a), now);
        if (a->stdin_eof) timeout = min_timeout(timeout, now + 100, now);
        if (g_in_eof && !a->stdin_eof) timeout = min_timeout(timeout, now + 100, now);

        int r = poll(fds, (nfds_t)nfds, timeout);
        if (r < 0 && errno != EINTR) break;
        cli_app_tick(a);
        if (r < 0) continue;
        if (i_in >= 0 && fds[i_in].revents) {
            if (editor) {
                render_editor_read();
                cli_app_on_typed(a, render_editor_text());
            } else
                read_plain_stdin(a);
        }
        if (i_chat >= 0 && a->ss.chat && (fds[i_chat].revents || wsc_pending(a->ss.chat)))
            pump(a, 0);
        if (i_pres >= 0 && a->ss.presence && (fds[i_pres].revents || wsc_pending(a->ss.presence)))
            pump(a, 1);
    }
    if (editor) render_editor_off();
    cli_session_close(&a->ss, 1);
    return a->exit_code;
}
