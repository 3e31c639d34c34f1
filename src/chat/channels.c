/*
 * channels: channels_list, create_channel (group and direct), join_channel
 * and leave_channel. A membership change reaches the in-memory model only
 * once the store has committed it: a failed write leaves no trace. Until
 * then the requesting session holds its later frames (chat__wait_begin),
 * so a client that joins and at once posts sees its post handled after
 * the join.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/uuid.h"

/* ---- channels_list ---- */

static void list_done(store_op *op) {
    pend *p = op->data;
    if (op->status == STORE_OK) {
        rcbuf *f = enc_channels_list(p->u->name, op->u.channels_for_user.entries,
                                     op->u.channels_for_user.n_entries);
        if (p->s)
            chat__send(p->s, f); /* chat__send skips a closed session */
        else
            chat__send_user(p->d, p->u, f, 0);
    } else {
        chat__store_error(chat__live(p), op->status, "channels_list");
    }
    chat__pend_free(p);
}

void chat__channels_list(domain *d, ch_user *u, session *only) {
    /* Nobody to tell here; in a cluster their sockets may be on another server. */
    if (!only && !u->chat && !d->cfg.cluster) return;
    pend *p = chat__pend(d, only, STORE_CHANNELS_FOR_USER, list_done);
    p->u = u;
    p->op.u.channels_for_user.user_id = u->name;
    chat__submit(p);
}

/* ---- channel_joined (last 50 messages + participants) ---- */

static void joined_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(p->d, op->u.history.channel_id);
    if (s && c && op->status == STORE_OK) {
        proto_member *m;
        size_t n = chat__members_array(c, chat__is_big(p->d, c) ? CHAT_BIG_LISTED : SIZE_MAX, &m);
        chat__send(s, enc_channel_joined(c->id, op->u.history.msgs, op->u.history.n_msgs, m, n));
        free(m);
    } else if (s && op->status != STORE_OK) {
        chat__store_error(s, op->status, "join_channel");
    }
    chat__pend_free(p);
}

static void send_joined(domain *d, session *s, ch_channel *c) {
    pend *p = chat__pend(d, s, STORE_HISTORY, joined_done);
    memcpy(p->op.u.history.channel_id, c->id, 37);
    p->op.u.history.limit = 50;
    chat__submit(p);
}

static void send_created(session *s, ch_channel *c) {
    size_t n = strmap_len(&c->members), k = 0;
    const char **names = xmalloc((n ? n : 1) * sizeof(*names));
    names[k++] = c->creator; /* creator first, then the others */
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&c->members, &i));)
        if (strcmp(e->key, c->creator) && k < n) names[k++] = e->key;
    chat__send(s, enc_channel_created(c->id, c->is_direct, c->created_ms, c->creator,
                                      c->is_direct ? NULL : c->name, names, k));
    free(names);
}

/* ---- caps ---- */

/* Sends too_large naming the users (of names[0..n)) who are already in
 * max_channels_per_user channels; returns how many there are. */
size_t chat__over_channel_cap(domain *d, session *s, const char *type, const char *const *names,
                              size_t n) {
    size_t over = 0, off = 0;
    char list[512] = "";
    for (size_t i = 0; i < n; i++) {
        ch_user *u = chat__user(d, names[i]);
        if (!u || strmap_len(&u->channels) < d->cfg.max_channels_per_user) continue;
        over++;
        int w = snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "", u->name);
        if (w > 0 && off + (size_t)w < sizeof(list)) off += (size_t)w;
    }
    if (over)
        chat__error(s, PROTO_TOO_LARGE, type, "%s %s in %zu channels already (the limit): %s",
                    over > 1 ? "these users" : "this user", over > 1 ? "are" : "is",
                    d->cfg.max_channels_per_user, list);
    return over;
}

/* ---- create_channel ---- */

/* The channel exists in the store: put it (with the op's members) into the
 * model, answer the creator and tell every member. */
static void created(domain *d, session *s, store_op *op) {
    const char *id = op->u.channel_create.channel_id;
    ch_channel *c =
        chat__channel_add(d, id, op->u.channel_create.name, op->u.channel_create.is_direct,
                          op->u.channel_create.creator, op->u.channel_create.created_ms);
    for (size_t i = 0; i < op->u.channel_create.n_members; i++) {
        const proto_member *m = &op->u.channel_create.members[i];
        ch_member *cm =
            chat__member_add(c, chat__user_add(d, m->user_id), m->is_admin, m->joined_ms);
        chat__list_changed(d, cm->user);
    }
    c->is_private = op->u.channel_create.is_private;
    if (op->u.channel_create.dm_key) strmap_put(&d->dms, op->u.channel_create.dm_key, c);
    if (s) {
        send_created(s, c);
        send_joined(d, s, c);
    }
    chat__channel_changed(d, c->id);
}

/* A direct channel between the two exists already (another create won the
 * race, maybe on another server): answer with that one. */
static void dm_exists(void *data, int found) {
    pend *p = data;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(p->d, p->op.u.channel_create.existing_id);
    if (s && c && found) {
        send_created(s, c);
        send_joined(p->d, s, c);
    } else if (s) {
        chat__store_error(s, STORE_EIO, "create_channel");
    }
    if (p->s) chat__wait_end(p->d, p->s);
    chat__pend_free(p);
}

static void create_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    if (op->status == STORE_EEXIST && op->u.channel_create.existing_id[0]) {
        chat__channel_refresh(d, op->u.channel_create.existing_id, dm_exists, p);
        return;
    }
    if (op->status == STORE_OK)
        created(d, s, op);
    else
        chat__store_error(s, op->status, "create_channel");
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

/* Sends not_found naming every unknown participant; returns their count. */
static size_t check_participants(domain *d, session *s, request *r) {
    char names[512];
    size_t unknown = chat__unknown_users(d, r->u.create.participants, r->u.create.n_participants,
                                         names, sizeof names);
    if (unknown)
        chat__error(s, PROTO_NOT_FOUND, "create_channel", "unknown participant%s: %s",
                    unknown > 1 ? "s" : "", names);
    return unknown;
}

/* The model changes only once the store has the channel (create_done). */
void chat__create(domain *d, session *s, request *r) {
    ch_user *me = s->user;
    if (check_participants(d, s, r)) return;
    const char *other = NULL;
    size_t others = 0;
    for (size_t i = 0; i < r->u.create.n_participants; i++) {
        if (strcmp(r->u.create.participants[i], me->name)) {
            other = r->u.create.participants[i];
            others++;
        }
    }
    char dmkey[68];
    if (r->u.create.is_direct) {
        if (others != 1) {
            chat__error(s, PROTO_INVALID_FIELD, "create_channel",
                        "a direct channel needs exactly one other participant (got %zu)", others);
            return;
        }
        chat__dm_key(me->name, other, dmkey);
        ch_channel *existing = strmap_get(&d->dms, dmkey);
        if (existing) { /* a DM between two people is unique */
            send_created(s, existing);
            send_joined(d, s, existing);
            return;
        }
    }
    const char *mine[1] = {me->name};
    if (chat__over_channel_cap(d, s, "create_channel", mine, 1) ||
        chat__over_channel_cap(d, s, "create_channel", r->u.create.participants,
                               r->u.create.n_participants))
        return;

    pend *p = chat__pend(d, s, STORE_CHANNEL_CREATE, create_done);
    int64_t now = clock_now_ms();
    uuid_v4(p->op.u.channel_create.channel_id);
    p->name = xstrdup(r->u.create.is_direct || !r->u.create.name ? "" : r->u.create.name);
    if (r->u.create.is_direct) p->dm_key = xstrdup(dmkey);
    p->op.u.channel_create.name = p->name;
    p->op.u.channel_create.dm_key = p->dm_key;
    p->op.u.channel_create.is_direct = r->u.create.is_direct;
    p->op.u.channel_create.is_private = r->u.create.is_private;
    p->op.u.channel_create.creator = me->name;
    p->op.u.channel_create.created_ms = now;
    /* The creator (admin) first, then each other participant once; user
     * names point into the model, whose users live as long as the domain. */
    size_t n = 1;
    p->members = xmalloc((r->u.create.n_participants + 1) * sizeof(*p->members));
    p->members[0] = (proto_member){me->name, 1, now};
    for (size_t i = 0; i < r->u.create.n_participants; i++) {
        ch_user *u = chat__user(d, r->u.create.participants[i]);
        if (u != me) p->members[n++] = (proto_member){u->name, 0, now};
    }
    p->op.u.channel_create.members = p->members;
    p->op.u.channel_create.n_members = n;
    chat__wait_begin(s);
    chat__submit(p);
}

/* ---- join_channel / leave_channel ---- */

static void join_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(d, op->u.member_add.channel_id);
    if (op->status != STORE_OK) {
        if (op->status == STORE_ENOTFOUND && s)
            chat__error(s, PROTO_NOT_FOUND, "join_channel", "channel %s does not exist",
                        op->u.member_add.channel_id);
        else
            chat__store_error(s, op->status, "join_channel");
    } else if (!c) { /* dropped from the model meanwhile (cluster refresh) */
        if (s)
            chat__error(s, PROTO_NOT_FOUND, "join_channel", "channel %s does not exist",
                        op->u.member_add.channel_id);
    } else {
        chat__member_add(c, p->u, 0, op->u.member_add.joined_ms);
        if (op->u.member_add.added) chat__system_notice(d, c, p->u->name, "user_joined");
        if (s) send_joined(d, s, c);
        chat__list_changed(d, p->u);
        chat__channel_changed(d, c->id);
    }
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

void chat__join(domain *d, session *s, request *r) {
    ch_channel *c = chat__channel(d, r->u.channel.channel_id);
    if (!c) {
        chat__error(s, PROTO_NOT_FOUND, "join_channel", "channel %s does not exist",
                    r->u.channel.channel_id);
        return;
    }
    ch_user *me = s->user;
    if (chat__member(c, me->name)) { /* already in: just (re)open it */
        send_joined(d, s, c);
        return;
    }
    if (c->is_direct) {
        chat__error(s, PROTO_FORBIDDEN, "join_channel",
                    "channel %s is a direct channel between two other users", c->id);
        return;
    }
    if (c->is_private) {
        chat__error(s, PROTO_FORBIDDEN, "join_channel",
                    "channel %s is private: an admin must add you", c->id);
        return;
    }
    const char *mine[1] = {me->name};
    if (chat__over_channel_cap(d, s, "join_channel", mine, 1)) return;
    pend *p = chat__pend(d, s, STORE_MEMBER_ADD, join_done);
    p->u = me;
    memcpy(p->op.u.member_add.channel_id, c->id, 37);
    p->op.u.member_add.user_id = me->name;
    p->op.u.member_add.joined_ms = clock_now_ms();
    chat__wait_begin(s);
    chat__submit(p);
}

static void leave_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    const char *id = op->u.member_remove.channel_id;
    ch_channel *c = chat__channel(d, id);
    if (op->status == STORE_OK || op->status == STORE_ENOTFOUND) {
        /* Not a member any more either way (ENOTFOUND: the model was stale). */
        if (c) chat__member_remove(c, p->u);
        if (op->status == STORE_OK && c) chat__system_notice(d, c, p->u->name, "user_left");
        if (op->status == STORE_OK && c && op->u.member_remove.promoted[0])
            chat__promoted(d, c, op->u.member_remove.promoted);
        if (s) chat__send(s, enc_channel_left(id));
        chat__list_changed(d, p->u);
        chat__channel_changed(d, id);
    } else {
        chat__store_error(s, op->status, "leave_channel");
    }
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

void chat__leave(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.channel.channel_id, "leave_channel");
    if (!c) return;
    if (c->is_direct) {
        chat__error(s, PROTO_FORBIDDEN, "leave_channel", "direct channels cannot be left");
        return;
    }
    pend *p = chat__pend(d, s, STORE_MEMBER_REMOVE, leave_done);
    p->u = s->user;
    memcpy(p->op.u.member_remove.channel_id, c->id, 37);
    p->op.u.member_remove.user_id = s->user->name;
    chat__wait_begin(s);
    chat__submit(p);
}

/* ---- cluster: refreshing the model from the store ---- */

typedef struct refresh_cb {
    domain_user_cb cb;
    void *data;
} refresh_cb;

/* Makes the model's copy of the channel match the store's. */
static void refresh_apply(domain *d, store_op *op) {
    const char *id = op->u.channel_get.channel_id;
    ch_channel *c = chat__channel(d, id);
    if (op->status == STORE_ENOTFOUND) {
        if (c) chat__channel_drop(d, c);
        return;
    }
    if (op->status != STORE_OK) return;
    if (!c)
        c = chat__channel_add(d, id, op->u.channel_get.name, op->u.channel_get.is_direct,
                              op->u.channel_get.creator, op->u.channel_get.created_ms);
    c->fresh_ms = clock_mono_ms();
    /* Name, topic and roles change in place (protocol 1.1). */
    c->is_private = op->u.channel_get.is_private;
    free(c->name);
    c->name = xstrdup(op->u.channel_get.name ? op->u.channel_get.name : "");
    free(c->topic);
    c->topic = xstrdup(op->u.channel_get.topic ? op->u.channel_get.topic : "");
    d->mark++;
    for (size_t i = 0; i < op->u.channel_get.n_members; i++) {
        const proto_member *m = &op->u.channel_get.members[i];
        ch_user *u = chat__user_add(d, m->user_id);
        chat__member_add(c, u, m->is_admin, m->joined_ms)->is_admin = m->is_admin;
        u->mark = d->mark;
    }
    /* Members the store no longer has: collect, then remove. */
    size_t n = strmap_len(&c->members), k = 0;
    ch_user **gone = xmalloc((n ? n : 1) * sizeof(*gone));
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&c->members, &i));) {
        ch_user *u = ((ch_member *)e->value)->user;
        if (u->mark != d->mark) gone[k++] = u;
    }
    for (size_t i = 0; i < k; i++)
        chat__member_remove(c, gone[i]);
    free(gone);
    if (c->is_direct && op->u.channel_get.n_members == 2) {
        char key[68];
        chat__dm_key(op->u.channel_get.members[0].user_id, op->u.channel_get.members[1].user_id,
                     key);
        strmap_put(&d->dms, key, c);
    }
}

static void refresh_done(store_op *op) {
    pend *p = op->data;
    refresh_apply(p->d, op);
    refresh_cb *rc = p->ctx;
    if (rc && rc->cb) rc->cb(rc->data, op->status == STORE_OK);
    chat__pend_free(p);
}

void chat__channel_refresh(domain *d, const char *channel_id, domain_user_cb cb, void *data) {
    pend *p = chat__pend(d, NULL, STORE_CHANNEL_GET, refresh_done);
    refresh_cb *rc = xcalloc(1, sizeof(*rc));
    rc->cb = cb;
    rc->data = data;
    p->ctx = rc; /* freed with the pend */
    snprintf(p->op.u.channel_get.channel_id, sizeof(p->op.u.channel_get.channel_id), "%s",
             channel_id);
    chat__submit(p);
}
