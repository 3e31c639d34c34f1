/*
 * domain: session lifecycle, per-connection rate limiting, and dispatch of
 * decoded client requests to the chat (channels.c, messages.c) and
 * presence (presence.c) logic.
 */
#include "chat/domain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

void domain_config_default(domain_config *c) {
    memset(c, 0, sizeof(*c));
    proto_limits_default(&c->limits);
    c->rate_per_sec = 50;
    c->rate_burst = 100;
    c->abuse_close_ms = 10000;
    c->presence_timeout_ms = 60000;
    c->node_id = 1;
    c->max_channels_per_user = 10000;
    c->big_channel = 500;
    c->cache_ttl_ms = 5000;
}

/* ---- loading the model from the store ---- */

static void load_user(void *data, const char *username) {
    chat__user_add(data, username);
}

static void load_channel(void *data, const char *id, const char *name, int is_direct,
                         const char *creator, int64_t created_ms) {
    chat__channel_add(data, id, name, is_direct, creator, created_ms);
}

static void load_member(void *data, const char *channel_id, const proto_member *m) {
    domain *d = data;
    ch_channel *c = chat__channel(d, channel_id);
    ch_user *u = chat__user_add(d, m->user_id);
    if (c) chat__member_add(c, u, m->is_admin, m->joined_ms);
}

static void load_channel_ext(void *data, const char *id, int is_private, const char *topic) {
    ch_channel *c = chat__channel(data, id);
    if (!c) return;
    c->is_private = is_private;
    free(c->topic);
    c->topic = xstrdup(topic ? topic : "");
}

static void index_dms(domain *d) {
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&d->channels, &i));) {
        ch_channel *c = e->value;
        if (!c->is_direct) continue;
        const char *two[2] = {c->creator, c->creator};
        strmap_entry *m;
        for (size_t j = 0; (m = strmap_next(&c->members, &j));)
            if (strcmp(m->key, c->creator)) two[1] = m->key;
        /* The DM's pair is recorded in its name: "alice\nbob" when a member left. */
        char key[68];
        chat__dm_key(two[0], two[1], key);
        strmap_put(&d->dms, key, c);
    }
}

domain *domain_new(const domain_config *cfg, const store_backend *sb, store *st) {
    domain *d = calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->cfg = *cfg;
    d->sb = sb;
    d->st = st;
    snowflake_init(&d->ids, cfg->node_id);
    strmap_init(&d->users);
    strmap_init(&d->channels);
    strmap_init(&d->dms);
    store_load_cbs cbs = {d, load_user, load_channel, load_member, load_channel_ext};
    if (sb->load(st, &cbs) != 0) {
        chat__model_free(d);
        free(d);
        return NULL;
    }
    index_dms(d);
    log_info("loaded %zu users and %zu channels", strmap_len(&d->users), strmap_len(&d->channels));
    return d;
}

void domain_free(domain *d) {
    if (!d) return;
    chat__model_free(d);
    free(d);
}

int domain_user_exists(const domain *d, const char *username) {
    return strmap_get(&d->users, username) != NULL;
}

void domain_user_added(domain *d, const char *username) {
    chat__user_add(d, username);
}

typedef struct user_lookup {
    domain_user_cb cb;
    void *data;
    char name[33];
} user_lookup;

static void user_lookup_done(store_op *op) {
    pend *p = op->data;
    user_lookup *l = p->ctx;
    int exists = op->status == STORE_OK;
    if (exists) chat__user_add(p->d, l->name);
    l->cb(l->data, exists);
    chat__pend_free(p);
}

void domain_user_lookup(domain *d, const char *username, domain_user_cb cb, void *data) {
    if (chat__user(d, username)) {
        cb(data, 1);
        return;
    }
    pend *p = chat__pend(d, NULL, STORE_USER_GET, user_lookup_done);
    user_lookup *l = xcalloc(1, sizeof(*l));
    l->cb = cb;
    l->data = data;
    snprintf(l->name, sizeof(l->name), "%s", username);
    p->ctx = l; /* freed with the pend */
    p->op.u.user_get.username = l->name;
    chat__submit(p);
}

void chat__publish_event(domain *d, const bus_event *e) {
    if (d->bb && d->bb->publish_event) d->bb->publish_event(d->bus, e);
}

void chat__channel_changed(domain *d, const char *channel_id) {
    bus_event e = {.kind = BUS_EV_CHANNEL};
    snprintf(e.u.channel.channel_id, sizeof(e.u.channel.channel_id), "%s", channel_id);
    chat__publish_event(d, &e);
}

void domain_event(void *data, const bus_event *e) {
    domain *d = data;
    switch (e->kind) {
    case BUS_EV_CHANNEL: {
        /* Until the re-read is in, requests about the channel re-read it
         * first (model_may_be_stale): a removed member is refused at once. */
        ch_channel *c = chat__channel(d, e->u.channel.channel_id);
        if (c) c->fresh_ms = 0;
        chat__channel_refresh(d, e->u.channel.channel_id, NULL, NULL);
        break;
    }
    case BUS_EV_PRESENCE:
        presence__remote(d, e);
        break;
    case BUS_EV_PRESENCE_HELLO:
        presence__hello(d);
        break;
    }
}

void domain_server_gone(domain *d, unsigned server_id) {
    presence__server_gone(d, server_id);
}

void domain_attach_presence(domain *d, const presence_share *ps) {
    d->share = *ps;
}

size_t domain_sessions(const domain *d, int presence) {
    return d->nsessions[presence ? 1 : 0];
}

/* ---- sending ---- */

void chat__send(session *s, rcbuf *frame) {
    if (!s->closed) {
        s->io->send(s, frame);
        metrics_msg_out(1);
    }
    rcbuf_unref(frame);
}

void chat__send_user(domain *d, ch_user *u, rcbuf *frame, int presence) {
    const char *to[1] = {u->name};
    bus_record r = {NULL, frame, to, 1, presence, NULL, 0};
    d->bb->publish(d->bus, &r);
    rcbuf_unref(frame);
}

void domain_attach_bus(domain *d, const bus_backend *bb, bus *b) {
    d->bb = bb;
    d->bus = b;
    /* Cluster: the others answer with the users they hold (presence.c). */
    bus_event hello = {.kind = BUS_EV_PRESENCE_HELLO};
    chat__publish_event(d, &hello);
}

void domain_deliver(void *data, const bus_record *r) {
    domain *d = data;
    uint64_t n = 0;
    if (r->changed && r->channel_id && d->cfg.cluster) {
        /* Another server changed the channel (this frame is its notice):
         * the next request about it re-reads it first, even if the
         * BUS_EV_CHANNEL event is not in yet. */
        ch_channel *c = chat__channel(d, r->channel_id);
        if (c) c->fresh_ms = 0;
    }
    for (size_t i = 0; i < r->n_recipients; i++) {
        /* our own fan-out, delivered in-process: its users, no lookups */
        ch_user *u = r->local_hints ? r->local_hints[i] : chat__user(d, r->recipients[i]);
        if (!u) continue;
        for (session *s = r->presence ? u->pres : u->chat; s; s = s->next) {
            s->io->send(s, r->payload);
            n++;
        }
    }
    metrics_msg_out(n);
}

void chat__error(session *s, proto_code code, const char *type, const char *fmt, ...) {
    proto_error e;
    e.code = code;
    snprintf(e.request_type, sizeof(e.request_type), "%s", type ? type : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof(e.message), fmt, ap);
    va_end(ap);
    metrics_error(code);
    chat__send(s, enc_error(&e));
}

/* ---- sessions ---- */

static void list_add(session **head, session *s) {
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
}

static void list_del(session **head, session *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

/* A frame held while its session waits (session.h). */
typedef struct held_frame {
    struct held_frame *next;
    size_t len;
    char data[];
} held_frame;

/* What a waiting session may hold: more than a client sends while one of
 * its requests commits, unless it floods. */
#define MAX_HELD_FRAMES 256
#define MAX_HELD_BYTES (1u << 20)

static void hold_frame(session *s, const char *payload, size_t len) {
    if (s->nheld == MAX_HELD_FRAMES || s->held_bytes + len > MAX_HELD_BYTES) {
        s->io->close(s, 1008, "too many frames while an earlier request was pending");
        return;
    }
    held_frame *f = xmalloc(sizeof(*f) + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->data, payload, len);
    if (s->held_tail)
        s->held_tail->next = f;
    else
        s->held = f;
    s->held_tail = f;
    s->nheld++;
    s->held_bytes += len;
}

static void drop_held(session *s) {
    while (s->held) {
        held_frame *f = s->held;
        s->held = f->next;
        free(f);
    }
    s->held_tail = NULL;
    s->nheld = s->held_bytes = 0;
}

static void dispatch(domain *d, session *s, const char *payload, size_t len, int refreshed);

void chat__wait_begin(session *s) {
    s->waits++;
}

void chat__wait_end(domain *d, session *s) {
    if (s->waits) s->waits--;
    /* Handle held frames in order until one makes the session wait again. */
    while (!s->closed && s->waits == 0 && s->held) {
        held_frame *f = s->held;
        s->held = f->next;
        if (!s->held) s->held_tail = NULL;
        s->nheld--;
        s->held_bytes -= f->len;
        dispatch(d, s, f->data, f->len, 0);
        free(f);
    }
}

void domain_session_open(domain *d, session *s, const char *username, int presence) {
    ch_user *u = chat__user(d, username);
    if (!u) { /* the caller checked; be safe */
        s->io->close(s, presence ? 4002 : 3000, "Authentication failed");
        return;
    }
    s->user = u;
    s->presence = presence;
    s->closed = 0;
    u->nconns++;
    s->tokens = d->cfg.rate_burst;
    s->refill_ms = clock_mono_ms();
    list_add(presence ? &u->pres : &u->chat, s);
    d->nsessions[presence ? 1 : 0]++;
    metrics_conn_open(presence);
    if (!presence) chat__channels_list(d, u, s);
    if (presence && d->cfg.cluster)
        presence__socket_open_fresh(d, s);
    else
        presence__socket_open(d, s);
}

void domain_session_closed(domain *d, session *s) {
    if (s->closed || !s->user) return;
    ch_user *u = s->user;
    list_del(s->presence ? &u->pres : &u->chat, s);
    s->closed = 1;
    u->nconns--;
    d->nsessions[s->presence ? 1 : 0]--;
    metrics_conn_close(s->presence);
    presence__socket_closed(d, s);
    drop_held(s);
}

void domain_session_activity(domain *d, session *s) {
    if (!s->closed) presence__activity(d, s);
}

/* Token bucket shared by every frame of a connection (pings included).
 * 1 = go ahead. Past the budget: 0, and when the excess has lasted
 * abuse_close_ms the connection is closed with 1008. */
static int rate_take(domain *d, session *s) {
    uint64_t now = clock_mono_ms();
    s->tokens += (double)(now - s->refill_ms) * d->cfg.rate_per_sec / 1000.0;
    if (s->tokens > d->cfg.rate_burst) s->tokens = d->cfg.rate_burst;
    s->refill_ms = now;
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        return 1;
    }
    if (s->abuse_start_ms == 0 || now - s->last_reject_ms > 1000) s->abuse_start_ms = now;
    s->last_reject_ms = now;
    if (now - s->abuse_start_ms >= d->cfg.abuse_close_ms) {
        log_event(LOG_WARN, LOG_FIELDS(LOG_STR("user", s->user->name)),
                  "closing a connection: sustained rate limit abuse");
        s->io->close(s, 1008, "rate limit exceeded for too long");
    }
    return 0;
}

/* A frame over the budget is answered with rate_limited (naming its type)
 * and dropped. */
static int rate_ok(domain *d, session *s, const char *payload, size_t len) {
    if (rate_take(d, s)) return 1;
    if (s->closed) return 0;
    char type[64];
    request_peek_type(payload, len, type, sizeof(type));
    chat__error(s, PROTO_RATE_LIMITED, type,
                "too many requests: the limit is %.0f per second (burst %.0f)", d->cfg.rate_per_sec,
                d->cfg.rate_burst);
    return 0;
}

int domain_session_ping(domain *d, session *s) {
    if (s->closed || !s->user) return 0;
    return rate_take(d, s);
}

/* Cluster: the model is a cache. When a request names a channel this
 * process does not know, or a membership it does not see, or members that
 * the store has not confirmed for cache_ttl_ms (a lost event must not keep
 * a removed member's access), re-read the channel from the store once
 * before answering. */
/* The channel a request names, or NULL. */
static const char *request_channel(const request *r) {
    switch (r->type) {
    case REQ_JOIN_CHANNEL:
    case REQ_LEAVE_CHANNEL:
    case REQ_TYPING:
        return r->u.channel.channel_id;
    case REQ_CHAT_MESSAGE:
        return r->u.chat.channel_id;
    case REQ_MARK_READ:
        return r->u.mark_read.channel_id;
    case REQ_FETCH_HISTORY:
        return r->u.history.channel_id;
    case REQ_FETCH_CHANGES:
        return r->u.changes.channel_id;
    case REQ_EDIT_MESSAGE:
    case REQ_DELETE_MESSAGE:
    case REQ_REACT:
        return r->u.change.channel_id;
    case REQ_FETCH_THREAD:
        return r->u.thread.channel_id;
    default:
        return chat__request_channel(r); /* search, channel management (manage.c) */
    }
}

static int model_may_be_stale(domain *d, session *s, const request *r) {
    if (r->type == REQ_CREATE_CHANNEL) {
        for (size_t i = 0; i < r->u.create.n_participants; i++)
            if (!chat__user(d, r->u.create.participants[i])) return 1;
        return 0;
    }
    if (r->type == REQ_ADD_MEMBERS)
        for (size_t i = 0; i < r->u.add_members.n; i++)
            if (!chat__user(d, r->u.add_members.user_ids[i])) return 1;
    const char *id = request_channel(r);
    if (!id) return 0;
    ch_channel *c = chat__channel(d, id);
    if (!c || !chat__member(c, s->user->name)) return 1;
    uint64_t now = clock_mono_ms();
    if (now - c->fresh_ms < d->cfg.cache_ttl_ms) return 0;
    c->fresh_ms = now; /* one re-read at a time: the others go on meanwhile */
    return 1;
}

/* The request waits (the session holds later frames) until what it needs
 * has been re-read from the store; then it is dispatched again. */
typedef struct retry {
    domain *d;
    session *s;
    unsigned waiting;
    size_t len;
    char payload[];
} retry;

static void retry_step(void *data, int exists) {
    retry *t = data;
    (void)exists;
    if (--t->waiting) return;
    if (!t->s->closed) dispatch(t->d, t->s, t->payload, t->len, 1);
    chat__wait_end(t->d, t->s);
    t->s->io->release(t->s);
    free(t);
}

/* Refreshes what the request needs, then dispatches it again. */
static void refresh_then_dispatch(domain *d, session *s, const request *r, const char *payload,
                                  size_t len) {
    retry *t = xcalloc(1, sizeof(*t) + len);
    t->d = d;
    t->s = s;
    s->io->hold(s);
    chat__wait_begin(s);
    memcpy(t->payload, payload, len);
    t->len = len;
    t->waiting = 1; /* held until every lookup below is issued */
    if (r->type == REQ_CREATE_CHANNEL) {
        for (size_t i = 0; i < r->u.create.n_participants; i++) {
            if (chat__user(d, r->u.create.participants[i])) continue;
            t->waiting++;
            domain_user_lookup(d, r->u.create.participants[i], retry_step, t);
        }
    } else {
        for (size_t i = 0; r->type == REQ_ADD_MEMBERS && i < r->u.add_members.n; i++) {
            if (chat__user(d, r->u.add_members.user_ids[i])) continue;
            t->waiting++;
            domain_user_lookup(d, r->u.add_members.user_ids[i], retry_step, t);
        }
        t->waiting++;
        chat__channel_refresh(d, request_channel(r), retry_step, t);
    }
    retry_step(t, 1);
}

static void dispatch(domain *d, session *s, const char *payload, size_t len, int refreshed) {
    request r;
    proto_error err;
    if (request_decode(payload, len, s->presence ? PROTO_EP_PRESENCE : PROTO_EP_CHAT,
                       &d->cfg.limits, &r, &err) != 0) {
        metrics_error(err.code);
        chat__send(s, enc_error(&err));
        return;
    }
    if (d->cfg.cluster && !refreshed && model_may_be_stale(d, s, &r)) {
        refresh_then_dispatch(d, s, &r, payload, len);
        request_free(&r);
        return;
    }
    switch (r.type) {
    case REQ_CREATE_CHANNEL:
        chat__create(d, s, &r);
        break;
    case REQ_JOIN_CHANNEL:
        chat__join(d, s, &r);
        break;
    case REQ_LEAVE_CHANNEL:
        chat__leave(d, s, &r);
        break;
    case REQ_CHAT_MESSAGE:
        chat__message(d, s, &r);
        break;
    case REQ_MARK_READ:
        chat__mark_read(d, s, &r);
        break;
    case REQ_FETCH_HISTORY:
        chat__history(d, s, &r);
        break;
    case REQ_STATUS_UPDATE:
        presence__status(d, s, &r);
        break;
    case REQ_HEARTBEAT:
        presence__heartbeat(d, s);
        break;
    case REQ_SUBSCRIBE:
        presence__subscribe(d, s, &r);
        break;
    case REQ_FETCH_CHANGES:
        chat__fetch_changes(d, s, &r);
        break;
    case REQ_TYPING:
        chat__typing(d, s, &r);
        break;
    case REQ_EDIT_MESSAGE:
        chat__edit(d, s, &r);
        break;
    case REQ_DELETE_MESSAGE:
        chat__delete(d, s, &r);
        break;
    case REQ_REACT:
        chat__react(d, s, &r);
        break;
    case REQ_FETCH_THREAD:
        chat__fetch_thread(d, s, &r);
        break;
    case REQ_SEARCH:
        chat__search(d, s, &r);
        break;
    case REQ_LIST_CHANNELS:
        chat__directory(d, s, &r);
        break;
    case REQ_ADD_MEMBERS:
        chat__add_members(d, s, &r);
        break;
    case REQ_REMOVE_MEMBER:
        chat__remove_member(d, s, &r);
        break;
    case REQ_SET_ROLE:
        chat__set_role(d, s, &r);
        break;
    case REQ_UPDATE_CHANNEL:
        chat__update_channel(d, s, &r);
        break;
    }
    request_free(&r);
}

void domain_session_message(domain *d, session *s, const char *payload, size_t len) {
    if (s->closed || !s->user) return; /* not open (yet): nothing may reach the domain */
    if (!rate_ok(d, s, payload, len)) return;
    metrics_msg_in();
    if (s->waits)
        hold_frame(s, payload, len);
    else
        dispatch(d, s, payload, len, 0);
}

/* ---- channels_list coalescing ---- */

/* Between two lists pushed to one user: a little under the 1 s tick, so
 * that a list due meanwhile goes out at the next tick. */
#define LIST_MIN_GAP_MS 900

void chat__list_changed(domain *d, ch_user *u) {
    if (u->list_pending) return;
    u->list_pending = 1;
    u->next_list = d->list_due;
    d->list_due = u;
}

/* Sends the lists that are due; the others (pushed less than a second
 * ago) stay for a later call. */
static void send_due_lists(domain *d) {
    uint64_t now = clock_mono_ms();
    ch_user **link = &d->list_due;
    while (*link) {
        ch_user *u = *link;
        if (u->list_sent_ms && now - u->list_sent_ms < LIST_MIN_GAP_MS) {
            link = &u->next_list;
            continue;
        }
        *link = u->next_list;
        u->next_list = NULL;
        u->list_pending = 0;
        u->list_sent_ms = now;
        chat__channels_list(d, u, NULL);
    }
}

void domain_flush(domain *d) {
    if (d->list_due) send_due_lists(d);
}

void domain_tick(domain *d) {
    presence__tick(d);
    domain_flush(d);
}

unsigned domain_user_conns(const domain *d, const char *username) {
    const ch_user *u = strmap_get(&d->users, username);
    return u ? u->nconns : 0;
}

/* ---- pending store ops ---- */

pend *chat__pend(domain *d, session *s, store_op_kind kind, store_done_cb done) {
    pend *p = xcalloc(1, sizeof(*p));
    p->d = d;
    p->s = s;
    if (s) s->io->hold(s);
    p->op.kind = kind;
    p->op.done = done;
    p->op.data = p;
    return p;
}

void chat__pend_free(pend *p) {
    store_op_clear(&p->op);
    if (p->s) p->s->io->release(p->s);
    free(p->content);
    free(p->metadata);
    free(p->client_msg_id);
    free(p->name);
    free(p->dm_key);
    free(p->members);
    free(p->ctx);
    free(p->mentions);
    free(p->emoji);
    free(p);
}

void chat__store_error(session *s, int status, const char *type) {
    if (!s) return;
    if (status == STORE_ECLOSED)
        chat__error(s, PROTO_UNAVAILABLE, type, "the server is shutting down; retry shortly");
    else
        chat__error(s, PROTO_UNAVAILABLE, type,
                    "storage is unavailable; nothing was changed, retry shortly");
}

int chat__is_big(const domain *d, const ch_channel *c) {
    return strmap_len(&c->members) > d->cfg.big_channel;
}

size_t chat__members_array(const ch_channel *c, size_t max, proto_member **out) {
    size_t n = strmap_len(&c->members), k = 0;
    if (n > max) n = max;
    proto_member *a = xmalloc((n ? n : 1) * sizeof(*a));
    strmap_entry *e;
    for (size_t i = 0; k < n && (e = strmap_next(&c->members, &i));) {
        ch_member *m = e->value;
        a[k].user_id = m->user->name;
        a[k].is_admin = m->is_admin;
        a[k].joined_ms = m->joined_ms;
        k++;
    }
    *out = a;
    return k;
}

void chat__fanout(domain *d, ch_channel *c, rcbuf *frame, const ch_user *skip, int changed) {
    size_t n = 0;
    const char *small[64];
    void *small_hints[64];
    size_t cap = strmap_len(&c->members);
    const char **to = cap <= 64 ? small : xmalloc(cap * sizeof(*to));
    void **hints = cap <= 64 ? small_hints : xmalloc(cap * sizeof(*hints));
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&c->members, &i));) {
        ch_user *u = ((ch_member *)e->value)->user;
        if (u == skip) continue;
        hints[n] = u;
        to[n++] = u->name;
    }
    bus_record r = {c->id, frame, to, n, 0, hints, changed};
    d->bb->publish(d->bus, &r);
    if (to != small) free(to);
    if (hints != small_hints) free(hints);
    rcbuf_unref(frame);
}

void domain_set_limits(domain *d, const domain_config *cfg) {
    d->cfg.rate_per_sec = cfg->rate_per_sec;
    d->cfg.rate_burst = cfg->rate_burst;
    d->cfg.abuse_close_ms = cfg->abuse_close_ms;
    d->cfg.limits.max_content = cfg->limits.max_content;
    d->cfg.max_channels_per_user = cfg->max_channels_per_user;
    d->cfg.presence_timeout_ms = cfg->presence_timeout_ms;
    d->cfg.cache_ttl_ms = cfg->cache_ttl_ms;
}
