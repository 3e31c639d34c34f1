/*
 * session: the `chat` client's link to chatd. Logs in through
 * `POST /auth`, opens the chat (and optionally presence) WebSocket on the
 * servers /auth names, sends frames, and paces reconnects with a jittered
 * exponential backoff. It knows nothing about what the frames mean (that
 * is app.c), so every mode (interactive, send, tail) shares it.
 *
 * Secrets: the password is kept (to log in again after a reconnect) and
 * wiped on cli_session_free; neither it nor the token is ever printed.
 *
 * Memory: the session owns its sockets and strings; cli_session_free releases
 * them.
 */
#ifndef CHAT_CLI_SESSION_H
#define CHAT_CLI_SESSION_H

#include <stdint.h>

#include <jansson.h>

#include "net/client.h"

/* Exit codes of the `chat` program; functions below return them too. */
enum {
    CLI_OK = 0,
    CLI_EUSAGE = 1,   /* bad command line, or nothing to read a credential from */
    CLI_EAUTH = 2,    /* login refused (401, throttled, bad token) */
    CLI_ECONNECT = 3, /* network error, server unavailable, timeout */
    CLI_EREJECT = 4,  /* the server rejected the request: not found, forbidden, conflict... */
};

typedef struct cli_session {
    char api_host[256];
    int api_port;
    int api_tls;            /* the API URL was https:// */
    int chat_tls, pres_tls; /* /auth said "tls": true for that server */
    tls_ctx *tls;           /* the client TLS context (owned), or NULL */
    char ca_file[1024];     /* --ca-file ("" = the system's CAs) */
    char user[64];
    char *password; /* owned, wiped on free */
    char *token;    /* owned */
    char chat_host[256], pres_host[256];
    int chat_port, pres_port;
    int want_presence;    /* open the presence socket too */
    wsc *chat, *presence; /* NULL when not connected */
    int backoff_ms, backoff_max_ms;
    int64_t next_attempt_ms;
    char last_error[600]; /* why the last call failed (never a secret) */
} cli_session;

/* api_url: http[s]://host[:port]; ca_file: the CA that signed the
 * servers' certificates (NULL: the system's). Takes a copy of user and
 * password. 0, or CLI_EUSAGE (a bad URL, an unreadable CA file: reason in
 * last_error). */
int cli_session_init(cli_session *s, const char *api_url, const char *user, const char *password,
                     const char *ca_file);
void cli_session_free(cli_session *s);

/* POST /register. Returns CLI_OK, CLI_EREJECT (400/409, reason in
 * last_error) or CLI_ECONNECT. */
int cli_session_register(cli_session *s);
/* POST /auth then opens the sockets. Returns CLI_OK, CLI_EAUTH or
 * CLI_ECONNECT; on failure nothing stays open. */
int cli_session_open(cli_session *s);
/* Closes both sockets (code 1000 when graceful, 0 to just drop). */
void cli_session_close(cli_session *s, int graceful);
int cli_session_connected(const cli_session *s);

/* Sends one frame (compact JSON) on the chat (presence = 0) or presence
 * socket. 0 or -1 (not connected / send failed). Does not take frame. */
int cli_session_send(cli_session *s, int presence, json_t *frame);

/* Reconnect pacing: cli_session_backoff schedules the next attempt
 * (100 ms doubling to backoff_max_ms, with jitter); cli_session_backoff_reset
 * after a success. */
void cli_session_backoff(cli_session *s);
void cli_session_backoff_reset(cli_session *s);

int64_t cli_session_now_ms(void);

#endif
