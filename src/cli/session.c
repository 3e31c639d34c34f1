/*
 * session: login, sockets and reconnect pacing for the `chat` client.
 * See session.h. Blocking calls with short timeouts: the client has
 * nothing else to do while it (re)connects.
 */
#define _GNU_SOURCE
#include "cli/session.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define HTTP_TIMEOUT_MS 10000
#define WS_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100

int64_t cli_session_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The TLS context, made on first need: an https:// API, a server /auth
 * names with "tls": true. 0 or -1 (last_error set). */
static int need_tls(cli_session *s) {
    if (s->tls) return 0;
    char err[512];
    if (tls_ctx_client(&s->tls, s->ca_file[0] ? s->ca_file : NULL, err, sizeof err) == 0) return 0;
    snprintf(s->last_error, sizeof s->last_error, "%s", err);
    return -1;
}

int cli_session_init(cli_session *s, const char *api_url, const char *user, const char *password,
                     const char *ca_file) {
    client_url u;
    memset(s, 0, sizeof *s);
    if (client_parse_url(api_url, &u) != 0) return CLI_EUSAGE;
    snprintf(s->api_host, sizeof s->api_host, "%s", u.host);
    s->api_port = u.port;
    s->api_tls = u.tls;
    snprintf(s->ca_file, sizeof s->ca_file, "%s", ca_file ? ca_file : "");
    if ((u.tls || ca_file) && need_tls(s) != 0) return CLI_EUSAGE;
    snprintf(s->user, sizeof s->user, "%s", user);
    s->password = xstrdup(password);
    s->backoff_ms = BACKOFF_MIN_MS;
    s->backoff_max_ms = 5000;
    return CLI_OK;
}

void cli_session_free(cli_session *s) {
    cli_session_close(s, 1);
    tls_ctx_free(s->tls);
    if (s->password) {
        sodium_memzero(s->password, strlen(s->password));
        free(s->password);
    }
    if (s->token) {
        sodium_memzero(s->token, strlen(s->token));
        free(s->token);
    }
    memset(s, 0, sizeof *s);
}

/* {"username","password"} as a malloc'd JSON string. */
static char *credentials_body(const cli_session *s) {
    json_t *o = json_pack("{s:s, s:s}", "username", s->user, "password", s->password);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return body;
}

static void free_body(char *body) {
    if (!body) return;
    sodium_memzero(body, strlen(body));
    free(body);
}

/* The server's "error" sentence, or the status. */
static void note_http_error(cli_session *s, const char *what, const client_response *r) {
    json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "error"));
    snprintf(s->last_error, sizeof s->last_error, "%s: HTTP %d%s%s", what, r->status,
             msg ? ": " : "", msg ? msg : "");
    json_decref(j);
}

/* POSTs {"username","password"} to path; fills *r. CLI_OK (any HTTP
 * status), CLI_EUSAGE or CLI_ECONNECT (with last_error set). */
static int post_credentials(cli_session *s, const char *path, client_response *r) {
    char *body = credentials_body(s);
    if (!body) return CLI_EUSAGE;
    int rc = client_http_request(s->api_tls ? s->tls : NULL, s->api_host, s->api_port, "POST", path,
                                 body, strlen(body), HTTP_TIMEOUT_MS, r);
    free_body(body);
    if (rc == 0) return CLI_OK;
    snprintf(s->last_error, sizeof s->last_error, "cannot reach %s:%d", s->api_host, s->api_port);
    return CLI_ECONNECT;
}

int cli_session_register(cli_session *s) {
    client_response r;
    int rc = post_credentials(s, "/register", &r);
    if (rc != CLI_OK) return rc;
    if (r.status != 201) {
        note_http_error(s, "register", &r);
        rc = r.status >= 500 ? CLI_ECONNECT : CLI_EREJECT;
    }
    client_response_free(&r);
    return rc;
}

/* servers.<name>: host (empty/any-address -> the API host) and port
 * (a string, compat; a number is accepted too). 0 or -1. */
static int server_addr(const cli_session *s, json_t *servers, const char *name, char *host,
                       size_t hostlen, int *port, int *tls) {
    json_t *o = json_object_get(servers, name);
    *tls = json_is_true(json_object_get(o, "tls"));
    const char *h = json_string_value(json_object_get(o, "host"));
    json_t *p = json_object_get(o, "port");
    if (!o) return -1;
    if (!h || !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0) h = s->api_host;
    snprintf(host, hostlen, "%s", h);
    if (json_is_string(p))
        *port = atoi(json_string_value(p));
    else if (json_is_integer(p))
        *port = (int)json_integer_value(p);
    else
        return -1;
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* POST /auth: stores the token and the servers. */
static int login(cli_session *s) {
    client_response r;
    int rc = post_credentials(s, "/auth", &r);
    if (rc != CLI_OK) return rc;
    if (r.status != 200) {
        note_http_error(s, "login", &r);
        rc = (r.status == 401 || r.status == 429 || r.status == 400) ? CLI_EAUTH : CLI_ECONNECT;
        client_response_free(&r);
        return rc;
    }
    json_t *j = json_loads(r.body, 0, NULL);
    client_response_free(&r);
    const char *tok = json_string_value(json_object_get(j, "sessionToken"));
    json_t *servers = json_object_get(j, "servers");
    rc = CLI_OK;
    if (!tok ||
        server_addr(s, servers, "chat", s->chat_host, sizeof s->chat_host, &s->chat_port,
                    &s->chat_tls) != 0 ||
        server_addr(s, servers, "presence", s->pres_host, sizeof s->pres_host, &s->pres_port,
                    &s->pres_tls) != 0) {
        snprintf(s->last_error, sizeof s->last_error, "login: malformed /auth answer");
        rc = CLI_ECONNECT;
    } else {
        free(s->token);
        s->token = xstrdup(tok);
    }
    json_decref(j);
    return rc;
}

static wsc *open_ws(cli_session *s, const char *host, int port, int tls, const char *endpoint) {
    char *path = NULL;
    int status = 0;
    if (tls && need_tls(s) != 0) return NULL;
    if (asprintf(&path, "%s?token=%s", endpoint, s->token) < 0) abort();
    wsc *c = wsc_connect(tls ? s->tls : NULL, host, port, path, NULL, WS_TIMEOUT_MS, &status);
    sodium_memzero(path, strlen(path));
    free(path);
    if (!c)
        snprintf(s->last_error, sizeof s->last_error, "cannot open %s on %s:%d (HTTP %d)", endpoint,
                 host, port, status);
    return c;
}

int cli_session_open(cli_session *s) {
    cli_session_close(s, 0);
    int rc = login(s);
    if (rc != CLI_OK) return rc;
    s->chat = open_ws(s, s->chat_host, s->chat_port, s->chat_tls, "/chat");
    if (!s->chat) return CLI_ECONNECT;
    if (s->want_presence) {
        s->presence = open_ws(s, s->pres_host, s->pres_port, s->pres_tls, "/presence");
        if (!s->presence) {
            cli_session_close(s, 1);
            return CLI_ECONNECT;
        }
    }
    return CLI_OK;
}

void cli_session_close(cli_session *s, int graceful) {
    wsc_close(s->chat, graceful ? 1000 : 0);
    wsc_close(s->presence, graceful ? 1000 : 0);
    s->chat = NULL;
    s->presence = NULL;
}

int cli_session_connected(const cli_session *s) {
    return s->chat != NULL;
}

int cli_session_send(cli_session *s, int presence, json_t *frame) {
    wsc *c = presence ? s->presence : s->chat;
    if (!c) return -1;
    char *text = json_dumps(frame, JSON_COMPACT);
    if (!text) return -1;
    int rc = wsc_send_text(c, text, strlen(text));
    free(text);
    return rc;
}

void cli_session_backoff(cli_session *s) {
    int base = s->backoff_ms;
    /* wait between base/2 and base: spreads the reconnects of many clients */
    int wait = base / 2 + (int)randombytes_uniform((uint32_t)(base / 2 + 1));
    s->next_attempt_ms = cli_session_now_ms() + wait;
    s->backoff_ms = base * 2 > s->backoff_max_ms ? s->backoff_max_ms : base * 2;
}

void cli_session_backoff_reset(cli_session *s) {
    s->backoff_ms = BACKOFF_MIN_MS;
    s->next_attempt_ms = 0;
}
