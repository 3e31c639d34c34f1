/*
 * manage: managing a group channel (protocol 1.1, PROTOCOL.md section 6):
 * add_members, remove_member, set_role and update_channel. Each change is
 * a store op; once it has committed the model follows, a stored `system`
 * notice tells the members, and the other servers of a cluster re-read the
 * channel (chat__channel_changed). A failed write leaves no trace. The
 * requesting session holds its later frames until the change is in, as
 * join and leave do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "core/clock.h"

/* Notices name at most this many users in their text (metadata: all). */
#define NOTICE_MAX_NAMES 20

const char *chat__request_channel(const request *r) {
    switch (r->type) {
    case REQ_SEARCH:
        return r->u.search.channel_id[0] ? r->u.search.channel_id : NULL;
    case REQ_ADD_MEMBERS:
        return r->u.add_members.channel_id;
    case REQ_REMOVE_MEMBER:
    case REQ_SET_ROLE:
        return r->u.member.channel_id;
    case REQ_UPDATE_CHANNEL:
        return r->u.update.channel_id;
    default:
        return NULL;
    }
}

/* The group channel the request names, if the session's user is a member;
 * else the error is sent and NULL returned. */
static ch_channel *group_channel(domain *d, session *s, const char *id, const char *type) {
    ch_channel *c = chat__usable_channel(d, s, id, type);
    if (c && c->is_direct) {
        chat__error(s, PROTO_FORBIDDEN, type,
                    "channel %s is a direct channel: it has no members "
                    "to manage",
                    id);
        return NULL;
    }
    return c;
}

static int is_admin(const ch_channel *c, const ch_user *u) {
    const ch_member *m = chat__member(c, u->name);
    return m && m->is_admin;
}

static ch_channel *admin_channel(domain *d, session *s, const char *id, const char *type) {
    ch_channel *c = group_channel(d, s, id, type);
    if (c && !is_admin(c, s->user)) {
        chat__error(s, PROTO_FORBIDDEN, type, "only an admin of channel %s may do this", id);
        return NULL;
    }
    return c;
}

/* The member `user` of c, or NULL after sending not_found. */
static ch_member *target(session *s, ch_channel *c, const char *user, const char *type) {
    ch_member *m = chat__member(c, user);
    if (!m) chat__error(s, PROTO_NOT_FOUND, type, "%s is not a member of channel %s", user, c->id);
    return m;
}

/* "a, b, c" (at most NOTICE_MAX_NAMES, then "and N more"); malloc'd. */
static char *name_list(const char *const *names, size_t n) {
    size_t cap = 64 + NOTICE_MAX_NAMES * 36, off = 0;
    char *out = xmalloc(cap);
    out[0] = '\0';
    for (size_t i = 0; i < n && i < NOTICE_MAX_NAMES; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? ", " : "", names[i]);
    if (n > NOTICE_MAX_NAMES) snprintf(out + off, cap - off, " and %zu more", n - NOTICE_MAX_NAMES);
    return out;
}

__attribute__((format(printf, 1, 2))) static char *text(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- add_members ---- */

typedef struct add_ctx {
    size_t n;
    unsigned char *added; /* into the same block, after names */
    const char *names[];  /* point into the model (users live as long as the domain) */
} add_ctx;

static void add_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    add_ctx *a = p->ctx;
    ch_channel *c = chat__channel(d, op->u.members_add.channel_id);
    if (op->status == STORE_OK && c) {
        size_t k = 0;
        for (size_t i = 0; i < a->n; i++) {
            if (!a->added[i]) continue;
            ch_user *u = chat__user(d, a->names[i]);
            chat__member_add(c, u, 0, op->u.members_add.joined_ms);
            chat__list_changed(d, u);
            a->names[k++] = a->names[i];
        }
        if (k) {
            char *list = name_list(a->names, k);
            char *content = text("%s added %s", p->u->name, list);
            free(list);
            chat__notice(d, c, content, enc_meta_members_added(a->names, k, p->u->name), NULL, 1);
            chat__channel_changed(d, c->id);
        }
    } else if (op->status == STORE_ENOTFOUND || (op->status == STORE_OK && !c)) {
        if (s)
            chat__error(s, PROTO_NOT_FOUND, "add_members", "channel %s does not exist",
                        op->u.members_add.channel_id);
    } else {
        chat__store_error(s, op->status, "add_members");
    }
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

/* Sends not_found naming every unknown user; returns their count. */
static size_t unknown_users(domain *d, session *s, const request *r) {
    char names[512];
    size_t unknown =
        chat__unknown_users(d, r->u.add_members.user_ids, r->u.add_members.n, names, sizeof names);
    if (unknown)
        chat__error(s, PROTO_NOT_FOUND, "add_members", "unknown user%s: %s (nobody was added)",
                    unknown > 1 ? "s" : "", names);
    return unknown;
}

void chat__add_members(domain *d, session *s, request *r) {
    ch_channel *c = group_channel(d, s, r->u.add_members.channel_id, "add_members");
    if (!c) return;
    if (c->is_private && !is_admin(c, s->user)) {
        chat__error(s, PROTO_FORBIDDEN, "add_members",
                    "channel %s is private: only an admin may add members", c->id);
        return;
    }
    if (unknown_users(d, s, r)) return;
    size_t n = r->u.add_members.n, k = 0;
    add_ctx *a = xcalloc(1, sizeof(*a) + n * (sizeof(char *) + 1));
    a->added = (unsigned char *)&a->names[n];
    for (size_t i = 0; i < n; i++) { /* already a member: nothing to do for them */
        ch_user *u = chat__user(d, r->u.add_members.user_ids[i]);
        if (!chat__member(c, u->name)) a->names[k++] = u->name;
    }
    a->n = k;
    if (k == 0 || chat__over_channel_cap(d, s, "add_members", a->names, k)) {
        free(a); /* nobody new: no notice, no error */
        return;
    }
    pend *p = chat__pend(d, s, STORE_MEMBERS_ADD, add_done);
    p->u = s->user;
    p->ctx = a; /* freed with the pend */
    memcpy(p->op.u.members_add.channel_id, c->id, 37);
    p->op.u.members_add.user_ids = a->names;
    p->op.u.members_add.n = k;
    p->op.u.members_add.joined_ms = clock_now_ms();
    p->op.u.members_add.added = a->added;
    chat__wait_begin(s);
    chat__submit(p);
}

/* ---- remove_member ---- */

static void remove_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    const char *id = op->u.member_remove.channel_id;
    ch_channel *c = chat__channel(d, id);
    ch_user *gone = chat__user(d, op->u.member_remove.user_id);
    if ((op->status == STORE_OK || op->status == STORE_ENOTFOUND) && gone) {
        /* Not a member any more either way (ENOTFOUND: the model was stale). */
        if (c) chat__member_remove(c, gone);
        if (op->status == STORE_OK && c) {
            chat__notice(d, c, text("%s removed %s", p->u->name, gone->name),
                         enc_meta_member_removed(gone->name, p->u->name), NULL, 1);
            if (op->u.member_remove.promoted[0]) chat__promoted(d, c, op->u.member_remove.promoted);
        }
        chat__send_user(d, gone, enc_channel_left(id), 0);
        chat__list_changed(d, gone);
        chat__channel_changed(d, id);
    } else {
        chat__store_error(s, op->status, "remove_member");
    }
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

void chat__remove_member(domain *d, session *s, request *r) {
    ch_channel *c = admin_channel(d, s, r->u.member.channel_id, "remove_member");
    if (!c) return;
    if (!strcmp(r->u.member.user_id, s->user->name)) {
        chat__error(s, PROTO_FORBIDDEN, "remove_member",
                    "you cannot remove yourself: use leave_channel");
        return;
    }
    ch_member *m = target(s, c, r->u.member.user_id, "remove_member");
    if (!m) return;
    pend *p = chat__pend(d, s, STORE_MEMBER_REMOVE, remove_done);
    p->u = s->user;
    memcpy(p->op.u.member_remove.channel_id, c->id, 37);
    p->op.u.member_remove.user_id = m->user->name;
    chat__wait_begin(s);
    chat__submit(p);
}

/* ---- set_role ---- */

static void role_notice(domain *d, ch_channel *c, const char *user, int admin, const char *by) {
    const char *role = admin ? "an admin" : "a member";
    char *content = !strcmp(by, "system") ? text("%s is now %s", user, role)
                                          : text("%s made %s %s", by, user, role);
    chat__notice(d, c, content, enc_meta_role_changed(user, admin, by), NULL, 1);
}

void chat__promoted(domain *d, ch_channel *c, const char *user) {
    ch_member *m = chat__member(c, user);
    if (m) m->is_admin = 1;
    role_notice(d, c, user, 1, "system");
}

static void role_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(d, op->u.set_role.channel_id);
    ch_member *m = c ? chat__member(c, op->u.set_role.user_id) : NULL;
    if (op->status == STORE_OK && c) {
        if (m) m->is_admin = op->u.set_role.is_admin;
        role_notice(d, c, op->u.set_role.user_id, op->u.set_role.is_admin, p->u->name);
        chat__channel_changed(d, c->id);
    } else if (op->status == STORE_ENOTFOUND || op->status == STORE_OK) {
        if (s)
            chat__error(s, PROTO_NOT_FOUND, "set_role", "%s is not a member of channel %s",
                        op->u.set_role.user_id, op->u.set_role.channel_id);
    } else {
        chat__store_error(s, op->status, "set_role");
    }
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

static size_t admins(const ch_channel *c) {
    size_t n = 0;
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&c->members, &i));)
        n += ((const ch_member *)e->value)->is_admin != 0;
    return n;
}

void chat__set_role(domain *d, session *s, request *r) {
    ch_channel *c = admin_channel(d, s, r->u.member.channel_id, "set_role");
    if (!c) return;
    ch_member *m = target(s, c, r->u.member.user_id, "set_role");
    if (!m) return;
    int admin = r->u.member.is_admin;
    if (!m->is_admin == !admin) return; /* no change: nothing stored, nothing sent */
    if (!admin && admins(c) <= 1) {
        chat__error(s, PROTO_FORBIDDEN, "set_role",
                    "channel %s must keep at least one admin: make someone else admin first",
                    c->id);
        return;
    }
    pend *p = chat__pend(d, s, STORE_SET_ROLE, role_done);
    p->u = s->user;
    memcpy(p->op.u.set_role.channel_id, c->id, 37);
    p->op.u.set_role.user_id = m->user->name;
    p->op.u.set_role.is_admin = admin;
    chat__wait_begin(s);
    chat__submit(p);
}

/* ---- update_channel ---- */

static void update_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(d, op->u.channel_update.channel_id);
    if (op->status == STORE_OK && c) {
        const char *name = op->u.channel_update.name, *topic = op->u.channel_update.topic;
        if (name) {
            free(c->name);
            c->name = xstrdup(name);
        }
        if (topic) {
            free(c->topic);
            c->topic = xstrdup(topic);
        }
        char *content;
        if (name && topic)
            content = topic[0] ? text("%s renamed the channel to %s and set the topic: %s",
                                      p->u->name, name, topic)
                               : text("%s renamed the channel to %s and cleared the topic",
                                      p->u->name, name);
        else if (name)
            content = text("%s renamed the channel to %s", p->u->name, name);
        else
            content = topic[0] ? text("%s set the topic: %s", p->u->name, topic)
                               : text("%s cleared the topic", p->u->name);
        chat__notice(d, c, content, enc_meta_channel_updated(c->name, c->topic, p->u->name), NULL,
                     1);
        chat__channel_changed(d, c->id);
    } else if (op->status == STORE_ENOTFOUND || op->status == STORE_OK) {
        if (s)
            chat__error(s, PROTO_NOT_FOUND, "update_channel", "channel %s does not exist",
                        op->u.channel_update.channel_id);
    } else {
        chat__store_error(s, op->status, "update_channel");
    }
    if (p->s) chat__wait_end(d, p->s);
    chat__pend_free(p);
}

void chat__update_channel(domain *d, session *s, request *r) {
    ch_channel *c = admin_channel(d, s, r->u.update.channel_id, "update_channel");
    if (!c) return;
    pend *p = chat__pend(d, s, STORE_CHANNEL_UPDATE, update_done);
    p->u = s->user;
    memcpy(p->op.u.channel_update.channel_id, c->id, 37);
    if (r->u.update.name) p->name = xstrdup(r->u.update.name);
    if (r->u.update.topic) p->content = xstrdup(r->u.update.topic);
    p->op.u.channel_update.name = p->name;
    p->op.u.channel_update.topic = p->content;
    chat__wait_begin(s);
    chat__submit(p);
}
