/*
 * store: the backend-independent part of the store contract. Every backend
 * allocates its outputs with malloc, so one function can release them.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_msg_free(proto_msg *m) {
    free(m->user_id);
    free(m->content);
    free(m->metadata);
    free(m->client_msg_id);
    free(m->mentions);
    for (size_t i = 0; i < m->n_reactions; i++)
        free(m->reactions[i].users);
    free(m->reactions);
    m->user_id = m->content = m->metadata = m->client_msg_id = m->mentions = NULL;
    m->reactions = NULL;
    m->n_reactions = 0;
}

/* Frees an array of n messages and what they hold; *msgs NULL, *n 0. */
static void msgs_free(proto_msg **msgs, size_t *n) {
    for (size_t i = 0; i < *n; i++)
        store_msg_free(&(*msgs)[i]);
    free(*msgs);
    *msgs = NULL;
    *n = 0;
}

static void change_free(proto_change *e) {
    store_msg_free(&e->msg);
    free(e->user_id);
    free(e->content);
    free(e->mentions);
}

static void changes_free(proto_change *ev, size_t n) {
    for (size_t i = 0; i < n; i++)
        change_free(&ev[i]);
    free(ev);
}

void store_op_clear(store_op *op) {
    switch (op->kind) {
    case STORE_USER_GET:
        free(op->u.user_get.pw_hash);
        op->u.user_get.pw_hash = NULL;
        break;
    case STORE_MSG_APPEND:
        if (op->u.msg_append.owned__) {
            proto_msg *m = &op->u.msg_append.msg;
            const proto_msg *c = &op->u.msg_append.caller__;
            store_msg_free(m);
            m->user_id = c->user_id;
            m->content = c->content;
            m->metadata = c->metadata;
            m->client_msg_id = c->client_msg_id;
            m->mentions = c->mentions;
            op->u.msg_append.owned__ = 0;
        }
        break;
    case STORE_HISTORY:
        msgs_free(&op->u.history.msgs, &op->u.history.n_msgs);
        break;
    case STORE_CHANNELS_FOR_USER:
        for (size_t i = 0; i < op->u.channels_for_user.n_entries; i++) {
            proto_channel_entry *e = &op->u.channels_for_user.entries[i];
            free(e->name);
            free(e->topic);
            for (size_t j = 0; j < e->n_participants; j++)
                free(e->participants[j]);
            free(e->participants);
        }
        free(op->u.channels_for_user.entries);
        op->u.channels_for_user.entries = NULL;
        op->u.channels_for_user.n_entries = 0;
        break;
    case STORE_CHANNEL_GET:
        free(op->u.channel_get.name);
        free(op->u.channel_get.creator);
        free(op->u.channel_get.topic);
        op->u.channel_get.topic = NULL;
        for (size_t i = 0; i < op->u.channel_get.n_members; i++)
            free(op->u.channel_get.members[i].user_id);
        free(op->u.channel_get.members);
        op->u.channel_get.name = op->u.channel_get.creator = NULL;
        op->u.channel_get.members = NULL;
        op->u.channel_get.n_members = 0;
        break;
    case STORE_MSG_EDIT:
    case STORE_MSG_DELETE:
    case STORE_REACT:
        free(op->u.change.author);
        free(op->u.change.old_mentions);
        op->u.change.author = op->u.change.old_mentions = NULL;
        break;
    case STORE_CHANGES:
        changes_free(op->u.changes.events, op->u.changes.n_events);
        op->u.changes.events = NULL;
        op->u.changes.n_events = 0;
        break;
    case STORE_THREAD:
        store_msg_free(&op->u.thread.root);
        msgs_free(&op->u.thread.msgs, &op->u.thread.n_msgs);
        break;
    case STORE_SEARCH:
        msgs_free(&op->u.search.msgs, &op->u.search.n_msgs);
        break;
    case STORE_DIRECTORY:
        for (size_t i = 0; i < op->u.directory.n_entries; i++) {
            free(op->u.directory.entries[i].name);
            free(op->u.directory.entries[i].topic);
        }
        free(op->u.directory.entries);
        op->u.directory.entries = NULL;
        op->u.directory.n_entries = 0;
        break;
    default:
        break;
    }
}

int store_reaction_row(proto_msg *m, const char *emoji, const char *user) {
    proto_reaction *r = NULL;
    for (size_t i = 0; i < m->n_reactions && !r; i++)
        if (strcmp(m->reactions[i].emoji, emoji) == 0) r = &m->reactions[i];
    if (!r) {
        if (strlen(emoji) > PROTO_MAX_EMOJI) return 0; /* cannot be stored; skip */
        proto_reaction *a = realloc(m->reactions, (m->n_reactions + 1) * sizeof(*a));
        if (!a) return -1;
        m->reactions = a;
        r = &a[m->n_reactions++];
        memset(r, 0, sizeof(*r));
        strcpy(r->emoji, emoji);
    }
    if (r->count++ >= PROTO_REACTION_USERS) return 0;
    size_t old = r->users ? strlen(r->users) : 0, add = strlen(user);
    char *u = realloc(r->users, old + add + 2);
    if (!u) return -1;
    if (old) u[old++] = '\n';
    memcpy(u + old, user, add + 1);
    r->users = u;
    return 0;
}

const char *store_list_next(const char **p, size_t *len) {
    const char *s = *p;
    if (!s || !*s) return NULL;
    const char *nl = strchr(s, '\n');
    *len = nl ? (size_t)(nl - s) : strlen(s);
    *p = nl ? nl + 1 : s + *len;
    return s;
}

static int cmp_seq(const void *a, const void *b) {
    const proto_change *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t text_len(const char *s) {
    return s ? strlen(s) : 0;
}

void store_changes_finish(store_op *op) {
    proto_change *ev = op->u.changes.events;
    size_t n = op->u.changes.n_events, text = 0, keep = 0;
    qsort(ev, n, sizeof(*ev), cmp_seq);
    for (; keep < n; keep++) {
        const proto_change *e = &ev[keep];
        text += text_len(e->content) + text_len(e->mentions) + text_len(e->msg.content) +
                text_len(e->msg.mentions) + text_len(e->msg.metadata);
        if (keep > 0 && text > STORE_CHANGES_TEXT_MAX) break;
    }
    if (keep == n) return;
    for (size_t i = keep; i < n; i++)
        change_free(&ev[i]);
    op->u.changes.n_events = keep;
    op->u.changes.has_more = 1;
}
