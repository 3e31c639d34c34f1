/*
 * presence: who is online. A user is online while any of their sockets
 * (chat or presence) is open and not silent for longer than the timeout;
 * status_update sets away/busy/offline explicitly. Everyone who shares a
 * channel with a user is subscribed to them automatically; `subscribe`
 * adds explicit watchers. Each change is encoded once and sent to every
 * interested presence socket (the user's own devices included).
 *
 * In a cluster a user's sockets may be spread over several servers. Every
 * server broadcasts its view of a user as a typed bus event
 * (BUS_EV_PRESENCE: status, last_seen, whether it holds live sockets, and
 * whether the status was just set or only its hold changed) whenever the
 * status or its own hold on the user changes, and keeps, per user, the set
 * of OTHER servers that hold live sockets (ch_user.holders). How a server
 * merges all that is a set of pure rules (presence_rules.h); this file
 * only feeds them and acts on what they say. A server that starts asks the
 * others for their holds (BUS_EV_PRESENCE_HELLO); a server that dies (its
 * ZooKeeper znode vanishes) loses its holds everywhere
 * (presence__server_gone). The servers' clocks must agree to within
 * milliseconds (NTP): statuses are ordered by last_seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "chat/presence_rules.h"
#include "core/clock.h"

static enc_presence_entry entry_of(const ch_user *u) {
    enc_presence_entry e = {u->name, proto_status_name(u->status), u->last_seen_ms};
    return e;
}

static void send_if_new(domain *d, session *ps, rcbuf **frame, const ch_user *u, uint64_t *n) {
    /* Not before its initial_presence (cluster: still opening), which
     * will carry the news anyway. */
    if (ps->mark == d->mark || ps->closed || !ps->counted) return;
    ps->mark = d->mark;
    if (!*frame) {
        enc_presence_entry e = entry_of(u);
        *frame = enc_presence("presence_update", &e, 1);
    }
    ps->io->send(ps, *frame);
    (*n)++;
}

void presence__notify(domain *d, ch_user *u) {
    rcbuf *frame = NULL;
    uint64_t n = 0;
    d->mark++;
    for (session *ps = u->pres; ps; ps = ps->next)
        send_if_new(d, ps, &frame, u, &n);
    strmap_entry *ce;
    for (size_t i = 0; (ce = strmap_next(&u->channels, &i));) {
        ch_channel *c = ce->value;
        if (chat__is_big(d, c)) continue; /* not presence contacts */
        strmap_entry *me;
        for (size_t j = 0; (me = strmap_next(&c->members, &j));) {
            ch_user *m = ((ch_member *)me->value)->user;
            for (session *ps = m->pres; ps; ps = ps->next)
                send_if_new(d, ps, &frame, u, &n);
        }
    }
    for (size_t i = 0; i < u->nwatchers; i++)
        send_if_new(d, u->watchers[i], &frame, u, &n);
    if (frame) rcbuf_unref(frame);
    (void)n;
}

static int local_active(const ch_user *u) {
    return u->nsockets > 0 && !u->timed_out;
}

/* Cluster: the shared store's copy of u's presence. */
static void share_put(domain *d, const ch_user *u) {
    if (d->share.put) d->share.put(d->share.ctx, u->name, u->status, u->last_seen_ms);
}

/* Cluster: this server's view of u, for the others. status_set: the status
 * was just set (every server tells its sockets) rather than only this
 * server's hold (told only where the status differs). */
static void publish(domain *d, ch_user *u, int status_set) {
    bus_event e = {.kind = BUS_EV_PRESENCE};
    snprintf(e.u.presence.user, sizeof(e.u.presence.user), "%s", u->name);
    e.u.presence.status = u->status;
    e.u.presence.last_seen_ms = u->last_seen_ms;
    e.u.presence.holds = local_active(u);
    e.u.presence.status_set = status_set;
    chat__publish_event(d, &e);
    share_put(d, u);
}

/* The rules' view of u, and back. */
static presence_state state_of(const ch_user *u) {
    presence_state st = {u->status, u->last_seen_ms, u->orphaned, local_active(u),
                         (unsigned)u->nholders};
    return st;
}

/* Stores what a rule decided and does what it asks. */
static void apply(domain *d, ch_user *u, const presence_state *st, int effects) {
    u->status = st->status;
    u->last_seen_ms = st->last_seen_ms;
    u->orphaned = st->orphaned;
    if (effects & PRESENCE_NOTIFY) presence__notify(d, u);
    if (effects & (PRESENCE_PUBLISH_STATUS | PRESENCE_PUBLISH_HOLD))
        publish(d, u, (effects & PRESENCE_PUBLISH_STATUS) != 0);
}

/* This server's hold on u (live, non-silent sockets) has just changed. */
static void hold_changed(domain *d, ch_user *u) {
    presence_state st = state_of(u);
    apply(d, u, &st, presence_hold_changed(&st, clock_now_ms()));
}

/* Adds (holds) or removes server_id from u's holders; 1 when it was one. */
static int set_holder(ch_user *u, unsigned server_id, int holds) {
    for (size_t i = 0; i < u->nholders; i++) {
        if (u->holders[i] != server_id) continue;
        if (!holds) u->holders[i] = u->holders[--u->nholders];
        return 1;
    }
    if (!holds) return 0;
    if (u->nholders == u->holdcap) {
        u->holdcap = u->holdcap ? u->holdcap * 2 : 2;
        u->holders = xrealloc(u->holders, u->holdcap * sizeof(*u->holders));
    }
    u->holders[u->nholders++] = server_id;
    return 0;
}

void presence__remote(domain *d, const bus_event *e) {
    if (e->server_id == d->cfg.node_id) return;
    ch_user *u = chat__user_add(d, e->u.presence.user);
    presence_state st = state_of(u);
    presence_news n = {e->u.presence.status, e->u.presence.last_seen_ms, e->u.presence.holds, 0,
                       e->u.presence.status_set};
    n.held = set_holder(u, e->server_id, e->u.presence.holds);
    apply(d, u, &st, presence_merge(&st, &n, clock_now_ms()));
}

void presence__hello(domain *d) {
    for (ch_user *u = d->online; u; u = u->next_online)
        if (local_active(u)) publish(d, u, 0);
}

void presence__server_gone(domain *d, unsigned server_id) {
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&d->users, &i));) {
        ch_user *u = e->value;
        presence_state st = state_of(u);
        if (!set_holder(u, server_id, 0)) continue; /* it did not hold u */
        apply(d, u, &st, presence_holder_gone(&st, clock_now_ms()));
    }
}

/* Everyone who shares a channel with me (not me), big channels aside. */
static size_t contacts_of(domain *d, ch_user *me, ch_user ***out) {
    size_t n = 0, cap = 16;
    ch_user **list = xmalloc(cap * sizeof(*list));
    strmap_entry *ce, *me2;
    d->mark++;
    me->mark = d->mark;
    for (size_t a = 0; (ce = strmap_next(&me->channels, &a));) {
        ch_channel *c = ce->value;
        if (chat__is_big(d, c)) continue;
        for (size_t b = 0; (me2 = strmap_next(&c->members, &b));) {
            ch_user *u = ((ch_member *)me2->value)->user;
            if (u->mark == d->mark) continue;
            u->mark = d->mark;
            if (n == cap) {
                cap *= 2;
                list = xrealloc(list, cap * sizeof(*list));
            }
            list[n++] = u;
        }
    }
    *out = list;
    return n;
}

static void send_initial(domain *d, session *s) {
    ch_user **users;
    size_t n = contacts_of(d, s->user, &users);
    enc_presence_entry *list = xmalloc((n ? n : 1) * sizeof(*list));
    for (size_t i = 0; i < n; i++)
        list[i] = entry_of(users[i]);
    chat__send(s, enc_presence("initial_presence", list, n));
    free(list);
    free(users);
}

void presence__socket_open(domain *d, session *s) {
    ch_user *u = s->user;
    int was = local_active(u);
    s->counted = 1;
    u->last_active_ms = clock_mono_ms();
    u->timed_out = 0; /* a new socket is activity */
    if (u->nsockets++ == 0) {
        u->next_online = d->online;
        u->prev_online = NULL;
        if (d->online) d->online->prev_online = u;
        d->online = u;
    }
    if (s->presence) send_initial(d, s);
    if (!was) hold_changed(d, u);
}

static void unwatch(ch_user *target, session *s) {
    for (size_t i = 0; i < target->nwatchers; i++) {
        if (target->watchers[i] == s) {
            target->watchers[i] = target->watchers[--target->nwatchers];
            return;
        }
    }
}

/* In a cluster, a channel created through another server reaches this
 * one's model as a bus event, which may still be on its way when the
 * user's presence socket opens here: read the user's channels from the
 * store first, refresh those the model lacks, then the contacts' shared
 * presence (another server's event may be on its way too), and only then
 * open: initial_presence is then the truth, not this server's lag. */
typedef struct fresh_open {
    domain *d;
    session *s;
    unsigned waiting;
    ch_user **contacts; /* asked about (users live as long as the domain) */
} fresh_open;

static void fresh_done(fresh_open *f) {
    if (!f->s->closed) presence__socket_open(f->d, f->s);
    chat__wait_end(f->d, f->s); /* frames sent meanwhile are handled now */
    f->s->io->release(f->s);
    free(f->contacts);
    free(f);
}

/* Applies the shared presence where the model lags (and tells this
 * server's watchers: they lag too). */
static void fresh_shared(void *data, int status, const proto_presence *values, size_t n) {
    fresh_open *f = data;
    for (size_t i = 0; status == 0 && i < n; i++) {
        if (!values[i].known) continue;
        ch_user *u = f->contacts[i];
        presence_state st = state_of(u);
        apply(f->d, u, &st, presence_merge_shared(&st, values[i].status, values[i].seen_ms));
    }
    fresh_done(f);
}

static void fresh_step(void *data, int found) {
    fresh_open *f = data;
    (void)found;
    if (--f->waiting) return;
    if (f->s->closed || !f->d->share.get) {
        fresh_done(f);
        return;
    }
    size_t n = contacts_of(f->d, f->s->user, &f->contacts);
    const char **names = xmalloc((n ? n : 1) * sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = f->contacts[i]->name;
    int rc = n ? f->d->share.get(f->d->share.ctx, names, n, fresh_shared, f) : -1;
    free(names);
    if (rc != 0) fresh_done(f); /* no contacts, or Redis away: this server's view */
}

static void fresh_listed(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    if (!s) {
        chat__pend_free(p);
        return;
    }
    fresh_open *f = xcalloc(1, sizeof(*f));
    f->d = p->d;
    f->s = s;
    f->waiting = 1; /* until every refresh below is issued */
    s->io->hold(s);
    for (size_t i = 0; op->status == STORE_OK && i < op->u.channels_for_user.n_entries; i++) {
        const char *id = op->u.channels_for_user.entries[i].channel_id;
        ch_channel *c = chat__channel(p->d, id);
        if (c && chat__member(c, s->user->name)) continue;
        f->waiting++;
        chat__channel_refresh(p->d, id, fresh_step, f);
    }
    chat__pend_free(p);
    fresh_step(f, 1);
}

void presence__socket_open_fresh(domain *d, session *s) {
    chat__wait_begin(s);
    pend *p = chat__pend(d, s, STORE_CHANNELS_FOR_USER, fresh_listed);
    p->u = s->user;
    p->op.u.channels_for_user.user_id = s->user->name;
    chat__submit(p);
}

void presence__socket_closed(domain *d, session *s) {
    ch_user *u = s->user;
    for (size_t i = 0; i < s->nsubs; i++)
        unwatch(s->subs[i], s);
    free(s->subs);
    s->subs = NULL;
    s->nsubs = s->subcap = 0;
    if (!s->counted) return; /* closed before it was opened (cluster) */
    s->counted = 0;
    int was = local_active(u);
    if (--u->nsockets > 0) return;
    if (u->prev_online)
        u->prev_online->next_online = u->next_online;
    else
        d->online = u->next_online;
    if (u->next_online) u->next_online->prev_online = u->prev_online;
    u->next_online = u->prev_online = NULL;
    if (was) hold_changed(d, u);
}

void presence__activity(domain *d, session *s) {
    ch_user *u = s->user;
    u->last_active_ms = clock_mono_ms();
    if (u->timed_out) {
        u->timed_out = 0;
        hold_changed(d, u);
    }
}

void presence__heartbeat(domain *d, session *s) {
    ch_user *u = s->user;
    u->last_seen_ms = clock_now_ms();
    presence__activity(d, s);
    /* Cluster: the other servers (and the shared copy) learn the fresh
     * last_seen too, as a hold event: no status news for anyone. */
    if (d->cfg.cluster && local_active(u)) publish(d, u, 0);
}

void presence__status(domain *d, session *s, request *r) {
    ch_user *u = s->user;
    u->timed_out = 0;
    presence_state st = state_of(u);
    apply(d, u, &st, presence_set(&st, r->u.status.status, clock_now_ms()));
}

static void watch(session *s, ch_user *target) {
    for (size_t i = 0; i < s->nsubs; i++)
        if (s->subs[i] == target) return;
    if (s->nsubs == s->subcap) {
        s->subcap = s->subcap ? s->subcap * 2 : 4;
        s->subs = xrealloc(s->subs, s->subcap * sizeof(*s->subs));
    }
    s->subs[s->nsubs++] = target;
    if (target->nwatchers == target->watchcap) {
        target->watchcap = target->watchcap ? target->watchcap * 2 : 4;
        target->watchers = xrealloc(target->watchers, target->watchcap * sizeof(session *));
    }
    target->watchers[target->nwatchers++] = s;
}

/* Explicit subscriptions one presence socket may hold (each costs memory
 * on both sides); PROTOCOL.md section 4. */
#define MAX_SUBSCRIPTIONS 10000

void presence__subscribe(domain *d, session *s, request *r) {
    size_t n = r->u.subscribe.n, k = 0;
    if (s->nsubs + n > MAX_SUBSCRIPTIONS) {
        chat__error(s, PROTO_TOO_LARGE, "subscribe",
                    "a connection may subscribe to at most %d users (it has %zu)",
                    MAX_SUBSCRIPTIONS, s->nsubs);
        return;
    }
    enc_presence_entry *list = xcalloc(n ? n : 1, sizeof(*list));
    char unknown[512] = "";
    size_t off = 0, nunknown = 0;
    for (size_t i = 0; i < n; i++) {
        ch_user *u = chat__user(d, r->u.subscribe.user_ids[i]);
        if (!u) {
            nunknown++;
            int w = snprintf(unknown + off, sizeof(unknown) - off, "%s%s", off ? ", " : "",
                             r->u.subscribe.user_ids[i]);
            if (w > 0 && off + (size_t)w < sizeof(unknown)) off += (size_t)w;
            continue;
        }
        watch(s, u);
        list[k++] = entry_of(u);
    }
    if (k || !nunknown) chat__send(s, enc_presence("presence_update", list, k));
    if (nunknown)
        chat__error(s, PROTO_NOT_FOUND, "subscribe", "unknown user%s: %s", nunknown > 1 ? "s" : "",
                    unknown);
    free(list);
}

void presence__tick(domain *d) {
    uint64_t now = clock_mono_ms();
    for (ch_user *u = d->online; u; u = u->next_online) {
        if (u->timed_out || u->status == PROTO_OFFLINE) continue; /* or offline by choice */
        if (now - u->last_active_ms >= d->cfg.presence_timeout_ms) {
            u->timed_out = 1;
            hold_changed(d, u);
        }
    }
}
