/*
 * presence: who is online. A user is online while any of their sockets
 * (chat or presence) is open and not silent for longer than the timeout;
 * status_update sets away/busy/offline explicitly. Everyone who shares a
 * channel with a user is subscribed to them automatically; `subscribe`
 * adds explicit watchers. Each change is encoded once and sent to every
 * interested presence socket (the user's own devices included). In a
 * cluster each change is also broadcast as a bus event, and every other
 * chat server tells its own sockets (presence__remote). A user's status is
 * decided by the server holding their sockets; a user connected to two
 * servers at once is not merged yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/clock.h"

static const char *const statuses[] = {"online", "away", "busy", "offline"};

static enc_presence_entry entry_of(const ch_user *u) {
    enc_presence_entry e = {u->name, u->status, u->last_seen_ms};
    return e;
}

static void send_if_new(domain *d, session *ps, rcbuf **frame, const ch_user *u, uint64_t *n) {
    if (ps->mark == d->mark || ps->closed) return;
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
    for (session *ps = u->pres; ps; ps = ps->next) send_if_new(d, ps, &frame, u, &n);
    strmap_entry *ce;
    for (size_t i = 0; (ce = strmap_next(&u->channels, &i));) {
        ch_channel *c = ce->value;
        strmap_entry *me;
        for (size_t j = 0; (me = strmap_next(&c->members, &j));) {
            ch_user *m = ((ch_member *)me->value)->user;
            for (session *ps = m->pres; ps; ps = ps->next) send_if_new(d, ps, &frame, u, &n);
        }
    }
    for (size_t i = 0; i < u->nwatchers; i++) send_if_new(d, u->watchers[i], &frame, u, &n);
    if (frame) rcbuf_unref(frame);
    (void)n;
}

static void set_status(domain *d, ch_user *u, const char *status) {
    u->status = status;
    u->last_seen_ms = clock_now_ms();
    presence__notify(d, u);
    /* Cluster: the other chat servers tell their own sockets. */
    char arg[96];
    snprintf(arg, sizeof(arg), "%s %s %lld", u->name, status, (long long)u->last_seen_ms);
    chat__publish_event(d, "presence", arg);
}

void presence__remote(domain *d, const char *arg) {
    char name[33], status[16];
    long long seen = 0;
    if (sscanf(arg, "%32s %15s %lld", name, status, &seen) != 3) return;
    ch_user *u = chat__user_add(d, name);
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(status, statuses[i])) continue;
        u->status = statuses[i];
        u->last_seen_ms = seen;
        presence__notify(d, u);
    }
}

static void send_initial(domain *d, session *s) {
    ch_user *me = s->user;
    size_t cap = 16, n = 0;
    enc_presence_entry *list = malloc(cap * sizeof(*list));
    if (!list) abort();
    d->mark++;
    me->mark = d->mark;
    strmap_entry *ce;
    for (size_t i = 0; (ce = strmap_next(&me->channels, &i));) {
        ch_channel *c = ce->value;
        strmap_entry *me2;
        for (size_t j = 0; (me2 = strmap_next(&c->members, &j));) {
            ch_user *u = ((ch_member *)me2->value)->user;
            if (u->mark == d->mark) continue;
            u->mark = d->mark;
            if (n == cap) {
                cap *= 2;
                enc_presence_entry *nl = realloc(list, cap * sizeof(*list));
                if (!nl) abort();
                list = nl;
            }
            list[n++] = entry_of(u);
        }
    }
    chat__send(s, enc_presence("initial_presence", list, n));
    free(list);
}

void presence__socket_open(domain *d, session *s) {
    ch_user *u = s->user;
    u->last_active_ms = clock_mono_ms();
    if (u->nsockets++ == 0) {
        u->next_online = d->online;
        u->prev_online = NULL;
        if (d->online) d->online->prev_online = u;
        d->online = u;
    }
    if (s->presence) send_initial(d, s);
    if (!strcmp(u->status, "offline")) {
        u->timed_out = 0;
        set_status(d, u, "online");
    }
}

static void unwatch(ch_user *target, session *s) {
    for (size_t i = 0; i < target->nwatchers; i++) {
        if (target->watchers[i] == s) {
            target->watchers[i] = target->watchers[--target->nwatchers];
            return;
        }
    }
}

void presence__socket_closed(domain *d, session *s) {
    ch_user *u = s->user;
    for (size_t i = 0; i < s->nsubs; i++) unwatch(s->subs[i], s);
    free(s->subs);
    s->subs = NULL;
    s->nsubs = s->subcap = 0;
    if (--u->nsockets > 0) return;
    if (u->prev_online) u->prev_online->next_online = u->next_online;
    else d->online = u->next_online;
    if (u->next_online) u->next_online->prev_online = u->prev_online;
    u->next_online = u->prev_online = NULL;
    if (strcmp(u->status, "offline")) set_status(d, u, "offline");
}

void presence__activity(domain *d, session *s) {
    ch_user *u = s->user;
    u->last_active_ms = clock_mono_ms();
    if (u->timed_out) {
        u->timed_out = 0;
        set_status(d, u, "online");
    }
}

void presence__heartbeat(domain *d, session *s) {
    s->user->last_seen_ms = clock_now_ms();
    presence__activity(d, s);
}

void presence__status(domain *d, session *s, request *r) {
    const char *status = NULL;
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(r->u.status.status, statuses[i])) status = statuses[i];
    if (!status) { /* request_decode checks this; keep the domain safe anyway */
        chat__error(s, PROTO_INVALID_FIELD, "status_update",
                    "status must be one of online, away, busy, offline");
        return;
    }
    s->user->timed_out = 0;
    set_status(d, s->user, status);
}

static void watch(session *s, ch_user *target) {
    for (size_t i = 0; i < s->nsubs; i++)
        if (s->subs[i] == target) return;
    if (s->nsubs == s->subcap) {
        s->subcap = s->subcap ? s->subcap * 2 : 4;
        s->subs = realloc(s->subs, s->subcap * sizeof(*s->subs));
        if (!s->subs) abort();
    }
    s->subs[s->nsubs++] = target;
    if (target->nwatchers == target->watchcap) {
        target->watchcap = target->watchcap ? target->watchcap * 2 : 4;
        target->watchers = realloc(target->watchers, target->watchcap * sizeof(session *));
        if (!target->watchers) abort();
    }
    target->watchers[target->nwatchers++] = s;
}

void presence__subscribe(domain *d, session *s, request *r) {
    size_t n = r->u.subscribe.n, k = 0;
    enc_presence_entry *list = calloc(n ? n : 1, sizeof(*list));
    if (!list) abort();
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
        if (u->timed_out || !strcmp(u->status, "offline")) continue;
        if (now - u->last_active_ms >= d->cfg.presence_timeout_ms) {
            u->timed_out = 1;
            set_status(d, u, "offline");
        }
    }
}
