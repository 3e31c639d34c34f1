/*
 * app_ws: the WebSocket side of a role — authenticating the upgrade
 * (token in ?token= or Authorization: Bearer), the session each socket
 * becomes for the domain, and the server callbacks that feed it.
 * In a cluster the user may have registered through another process, so
 * the user check may wait for the store before the upgrade completes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/origin.h"
#include "core/alloc.h"
#include "auth/token.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/ws.h"
#include "roles/app.h"

/* A WebSocket's session: the domain's view plus the connection it rides. */
typedef struct ws_session {
    session s;
    conn *c;
    unsigned refs;
    char user[TOKEN_USERNAME_MAX + 1];
} ws_session;

static void sess_send(session *s, rcbuf *f) {
    conn_send_text(((ws_session *)s)->c, f);
}
static void sess_close(session *s, uint16_t code, const char *reason) {
    conn_close_ws(((ws_session *)s)->c, code, reason);
}
static void sess_hold(session *s) {
    ((ws_session *)s)->refs++;
}
static void sess_release(session *s) {
    ws_session *w = (ws_session *)s;
    if (--w->refs) return;
    conn_unref(w->c);
    free(w);
}
static const session_io sess_io = {sess_send, sess_close, sess_hold, sess_release};

/* PROTOCOL: complete the upgrade, then close with the endpoint's auth code. */
static void refuse(conn *c, int ep, int missing) {
    conn_ws_accept(c, ep);
    uint16_t code = ep == PROTO_EP_CHAT ? WS_CLOSE_AUTH
                    : missing           ? WS_CLOSE_PRESENCE_NOTOKEN
                                        : WS_CLOSE_PRESENCE_BADTOKEN;
    conn_close_ws(c, code, missing ? "No authentication token provided" : "Authentication failed");
}

typedef struct pending_upgrade {
    app *a;
    conn *c;
    int ep;
    char user[TOKEN_USERNAME_MAX + 1];
} pending_upgrade;

static void user_checked(void *data, int exists) {
    pending_upgrade *p = data;
    conn *c = p->c;
    unsigned cap = p->a->cfg->max_conns_per_user;
    if (c->state != CONN_HTTP) { /* the client went away meanwhile */
    } else if (!exists) {
        log_event(LOG_INFO, LOG_FIELDS(LOG_STR("user", p->user), LOG_STR("addr", conn_peer(c))),
                  "WebSocket refused: no such user");
        refuse(c, p->ep, 0);
    } else if (cap && domain_user_conns(p->a->dom, p->user) >= cap) {
        char why[96];
        snprintf(why, sizeof(why), "too many connections for this user (limit %u)", cap);
        log_event(LOG_INFO, LOG_FIELDS(LOG_STR("user", p->user), LOG_STR("addr", conn_peer(c))),
                  "WebSocket refused: %s", why);
        conn_ws_accept(c, p->ep);
        conn_close_ws(c, WS_CLOSE_POLICY, why);
    } else {
        ws_session *w = xcalloc(1, sizeof(*w));
        w->s.io = &sess_io;
        w->c = c;
        w->refs = 1;
        snprintf(w->user, sizeof(w->user), "%s", p->user);
        conn_ref(c);
        c->user = w;
        conn_ws_accept(c, p->ep);
        if (c->user == w && c->state == CONN_WS) {
            log_event(
                LOG_DEBUG,
                LOG_FIELDS(LOG_STR("user", w->user), LOG_STR("addr", conn_peer(c)),
                           LOG_STR("endpoint", p->ep == PROTO_EP_PRESENCE ? "presence" : "chat")),
                "WebSocket open");
            domain_session_open(p->a->dom, &w->s, w->user, p->ep == PROTO_EP_PRESENCE);
            if (p->a->um && p->ep == PROTO_EP_CHAT) usermap_add(p->a->um, w->user, p->a->node_id);
        }
    }
    conn_unref(c);
    free(p);
}

static void on_ws_upgrade(void *data, conn *c, http_req *req) {
    app *a = data;
    const char *url = req->url ? req->url : "/";
    size_t plen = http_path_len(url);
    int ep = plen == 5 && !memcmp(url, "/chat", 5) && (a->endpoints & APP_EP_CHAT) ? PROTO_EP_CHAT
             : plen == 9 && !memcmp(url, "/presence", 9) && (a->endpoints & APP_EP_PRESENCE)
                 ? PROTO_EP_PRESENCE
                 : -1;
    if (ep < 0) {
        conn_http_error(c, 404, "not_found", "no such WebSocket endpoint on this server");
        return;
    }
    /* A browser page of another origin (--allowed-origins). */
    if (!origin_allowed(a->cfg->allowed_origins, req->origin, req->host)) {
        log_event(LOG_INFO,
                  LOG_FIELDS(LOG_STR("origin", req->origin), LOG_STR("addr", conn_peer(c))),
                  "WebSocket refused: origin not allowed");
        conn_http_error(c, 403, "forbidden", "this page's origin may not open WebSockets here");
        return;
    }
    if (strcmp(req->ws_version, "13") != 0) {
        conn_http_error(c, 400, "invalid_request",
                        "unsupported WebSocket handshake (need version 13)");
        return;
    }
    if (!ws_key_valid(req->ws_key, strlen(req->ws_key))) {
        conn_http_error(c, 400, "invalid_request",
                        "Sec-WebSocket-Key must be the base64 encoding of 16 bytes");
        return;
    }
    /* A token that is there but unusable (too long) is a bad token, not a
     * missing one. */
    char token[2048];
    int q = http_query_param(url, "token", token, sizeof(token));
    int have = q > 0, bad = q == HTTP_QUERY_EBAD;
    if (!have && !bad && !strncasecmp(req->authorization, "Bearer ", 7)) {
        /* (a header longer than http.h keeps is cut, so it fails to verify) */
        snprintf(token, sizeof(token), "%s", req->authorization + 7);
        have = token[0] != '\0';
    }
    pending_upgrade *p = xcalloc(1, sizeof(*p));
    int rc = have  ? keyring_verify(a->keys, token, clock_now_ms() / 1000, p->user, sizeof(p->user))
             : bad ? TOKEN_EINVALID
                   : TOKEN_EMISSING;
    explicit_bzero(token, sizeof(token));
    if (rc != 0) {
        free(p);
        log_event(LOG_DEBUG, LOG_FIELDS(LOG_STR("addr", conn_peer(c))), "WebSocket refused: %s",
                  rc == TOKEN_EMISSING   ? "no token"
                  : rc == TOKEN_EEXPIRED ? "expired token"
                                         : "bad token");
        refuse(c, ep, rc == TOKEN_EMISSING);
        return;
    }
    p->a = a;
    p->c = c;
    p->ep = ep;
    conn_ref(c);
    domain_user_lookup(a->dom, p->user, user_checked, p); /* at once when known */
}

static void on_http(void *data, conn *c, http_req *req) {
    api_handle(((app *)data)->api, c, req);
}

static void on_ws_message(void *data, conn *c, const char *payload, size_t len) {
    if (c->user) domain_session_message(((app *)data)->dom, c->user, payload, len);
}

/* Pings share the connection's rate-limit budget (PROTOCOL.md section 4). */
static int on_ws_ping(void *data, conn *c) {
    return c->user ? domain_session_ping(((app *)data)->dom, c->user) : 1;
}

static void on_ws_activity(void *data, conn *c) {
    if (c->user) domain_session_activity(((app *)data)->dom, c->user);
}

static void on_ws_closed(void *data, conn *c) {
    app *a = data;
    ws_session *w = c->user;
    if (!w) return;
    c->user = NULL;
    if (a->um && !w->s.presence) usermap_remove(a->um, w->user, a->node_id);
    domain_session_closed(a->dom, &w->s);
    sess_release(&w->s);
}

void app__server_handlers(app *a, server_handlers *h) {
    *h = (server_handlers){a,          on_http,        on_ws_upgrade, on_ws_message,
                           on_ws_ping, on_ws_activity, on_ws_closed};
}
