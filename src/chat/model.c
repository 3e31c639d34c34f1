/*
 * model: the domain's in-memory mirror of users, channels and memberships.
 * Changed only on the loop thread, always together with the store op that
 * makes the same change durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "core/clock.h"

ch_user *chat__user(domain *d, const char *name) {
    return strmap_get(&d->users, name);
}

size_t chat__unknown_users(domain *d, const char *const *names, size_t n, char *out, size_t cap) {
    size_t unknown = 0, off = 0;
    if (cap) out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (chat__user(d, names[i])) continue;
        unknown++;
        int w = snprintf(out + off, cap - off, "%s%s", off ? ", " : "", names[i]);
        if (w > 0 && off + (size_t)w < cap) off += (size_t)w;
    }
    return unknown;
}

ch_user *chat__user_add(domain *d, const char *name) {
    ch_user *u = chat__user(d, name);
    if (u) return u;
    u = xcalloc(1, sizeof(*u));
    snprintf(u->name, sizeof(u->name), "%s", name);
    strmap_init(&u->channels);
    u->status = PROTO_OFFLINE;
    strmap_put(&d->users, name, u);
    return u;
}

ch_channel *chat__channel(domain *d, const char *id) {
    return strmap_get(&d->channels, id);
}

ch_channel *chat__channel_add(domain *d, const char *id, const char *name, int is_direct,
                              const char *creator, int64_t created_ms) {
    ch_channel *c = xcalloc(1, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->name = xstrdup(name ? name : "");
    c->creator = xstrdup(creator);
    c->is_direct = is_direct;
    c->created_ms = created_ms;
    c->fresh_ms = clock_mono_ms();
    c->topic = xstrdup("");
    strmap_init(&c->members);
    strmap_put(&d->channels, c->id, c);
    return c;
}

ch_member *chat__member(const ch_channel *c, const char *user) {
    return strmap_get(&c->members, user);
}

ch_member *chat__member_add(ch_channel *c, ch_user *u, int is_admin, int64_t joined_ms) {
    ch_member *m = chat__member(c, u->name);
    if (m) return m;
    m = xmalloc(sizeof(*m));
    m->user = u;
    m->is_admin = is_admin;
    m->joined_ms = joined_ms;
    strmap_put(&c->members, u->name, m);
    strmap_put(&u->channels, c->id, c);
    return m;
}

void chat__member_remove(ch_channel *c, ch_user *u) {
    free(strmap_del(&c->members, u->name));
    strmap_del(&u->channels, c->id);
}

void chat__dm_key(const char *a, const char *b, char out[68]) {
    if (strcmp(a, b) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    snprintf(out, 68, "%s\n%s", a, b);
}

static void channel_free(ch_channel *c) {
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&c->members, &i));)
        free(e->value);
    strmap_free(&c->members);
    free(c->name);
    free(c->creator);
    free(c->topic);
    free(c);
}

void chat__channel_drop(domain *d, ch_channel *c) {
    /* Collect members first: removal while iterating is not allowed. */
    size_t n = strmap_len(&c->members), k = 0;
    ch_user **us = xmalloc((n ? n : 1) * sizeof(*us));
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&c->members, &i));)
        us[k++] = ((ch_member *)e->value)->user;
    for (size_t i = 0; i < k; i++)
        chat__member_remove(c, us[i]);
    free(us);
    if (c->is_direct) {
        /* A DM channel is indexed by its pair; drop the index entry too. */
        strmap_entry *de;
        for (size_t i = 0; (de = strmap_next(&d->dms, &i));) {
            if (de->value == c) {
                char key[68];
                snprintf(key, sizeof(key), "%s", de->key);
                strmap_del(&d->dms, key);
                break;
            }
        }
    }
    strmap_del(&d->channels, c->id);
    channel_free(c);
}

void chat__model_free(domain *d) {
    strmap_entry *e;
    for (size_t i = 0; (e = strmap_next(&d->channels, &i));)
        channel_free(e->value);
    for (size_t i = 0; (e = strmap_next(&d->users, &i));) {
        ch_user *u = e->value;
        strmap_free(&u->channels);
        free(u->watchers);
        free(u->holders);
        free(u);
    }
    strmap_free(&d->channels);
    strmap_free(&d->users);
    strmap_free(&d->dms);
}
