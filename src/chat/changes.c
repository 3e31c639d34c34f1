/*
 * changes: protocol 1.1's requests about existing messages and the
 * channel's sequence of changes (PROTOCOL.md section 6) — edit_message,
 * delete_message, react (each ONE store write that takes the channel's
 * next seq, then ONE encode and fan-out to every member, on every server,
 * through the same bus path as chat_message), fetch_changes and
 * fetch_thread (reads), typing (not stored: forwarded at most once per
 * member and channel per TYPING_GAP_MS), and the @mention rule's
 * membership half.
 *
 * Who may do what is checked by the store in the transaction that writes
 * (author, admin, deleted, system), so two servers racing on one message
 * cannot both succeed; the domain only maps the outcome to frames.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "proto/mention.h"

/* typing: at most one forwarded per member and channel per this long; the
 * frame tells clients how long to show it. */
#define TYPING_GAP_MS 2000
#define TYPING_EXPIRES_MS 6000

/* ---- mentions ---- */

char *chat__mentions(const ch_channel *c, const char *text, size_t len) {
    size_t pos = 0, off, n;
    char *out = NULL;
    size_t used = 0;
    while (mention_next(text, len, &pos, &off, &n)) {
        char name[33];
        if (n >= sizeof name) continue; /* no username is that long */
        memcpy(name, text + off, n);
        name[n] = '\0';
        if (!chat__member(c, name)) continue;
        /* repeats: keep the first (a message names few people) */
        int seen = 0;
        for (const char *p = out; p && *p && !seen;) {
            const char *nl = strchr(p, '\n');
            size_t k = nl ? (size_t)(nl - p) : strlen(p);
            seen = k == n && memcmp(p, name, n) == 0;
            p += k + (nl != NULL);
        }
        if (seen) continue;
        out = xrealloc(out, used + n + 2);
        if (used) out[used++] = '\n';
        memcpy(out + used, name, n + 1);
        used += n;
    }
    return out;
}

/* ---- edit, delete, react ---- */

static const char *change_type(store_op_kind k) {
    return k == STORE_MSG_EDIT     ? "edit_message"
           : k == STORE_MSG_DELETE ? "delete_message"
                                   : "react";
}

/* The error for a refused or failed change; 1 when one was due. */
static int change_error(session *s, const store_op *op) {
    const char *type = change_type(op->kind);
    unsigned long long id = (unsigned long long)op->u.change.message_id;
    if (op->status == STORE_ENOTFOUND) {
        if (s)
            chat__error(s, PROTO_NOT_FOUND, type, "message %llu is not in channel %s%s", id,
                        op->u.change.channel_id,
                        op->kind == STORE_MSG_DELETE ? " (or is deleted already)" : "");
        return 1;
    }
    if (op->status != STORE_OK) {
        chat__store_error(s, op->status, type);
        return 1;
    }
    if (!s || op->u.change.refused == STORE_REFUSE_NONE) return op->u.change.refused != 0;
    switch (op->u.change.refused) {
    case STORE_REFUSE_NOT_AUTHOR:
        if (op->kind == STORE_MSG_DELETE)
            chat__error(s, PROTO_FORBIDDEN, type,
                        "only its author or a channel admin may delete message %llu", id);
        else
            chat__error(s, PROTO_FORBIDDEN, type, "only its author may edit message %llu", id);
        break;
    case STORE_REFUSE_SYSTEM:
        chat__error(s, PROTO_FORBIDDEN, type, "message %llu is a system notice", id);
        break;
    case STORE_REFUSE_DELETED:
        chat__error(s, PROTO_FORBIDDEN, type, "message %llu is deleted", id);
        break;
    case STORE_REFUSE_FULL:
        chat__error(s, PROTO_TOO_LARGE, type,
                    "message %llu has %d different reactions already; no more may be added", id,
                    PROTO_MAX_REACTION_KINDS);
        break;
    default:
        chat__error(s, PROTO_INTERNAL, type, "the change was refused");
        break;
    }
    return 1;
}

static void change_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(d, op->u.change.channel_id);
    if (!change_error(s, op) && op->u.change.seq > 0 && c) {
        rcbuf *f;
        if (op->kind == STORE_MSG_EDIT)
            f = enc_message_updated(c->id, op->u.change.message_id, op->u.change.seq,
                                    op->u.change.user_id, op->u.change.content, op->u.change.at_ms,
                                    op->u.change.mentions);
        else if (op->kind == STORE_MSG_DELETE)
            f = enc_message_deleted(c->id, op->u.change.message_id, op->u.change.seq,
                                    op->u.change.user_id, op->u.change.at_ms);
        else
            f = enc_reaction(c->id, op->u.change.message_id, op->u.change.seq, op->u.change.user_id,
                             op->u.change.emoji, op->u.change.add);
        chat__fanout(d, c, f, NULL, 0);
    }
    chat__pend_free(p);
}

static pend *change_pend(domain *d, session *s, store_op_kind kind, ch_channel *c, request *r) {
    pend *p = chat__pend(d, s, kind, change_done);
    memcpy(p->op.u.change.channel_id, c->id, 37);
    p->op.u.change.message_id = r->u.change.message_id;
    p->op.u.change.user_id = s->user->name;
    p->op.u.change.at_ms = clock_now_ms();
    return p;
}

void chat__edit(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.change.channel_id, "edit_message");
    if (!c) return;
    pend *p = change_pend(d, s, STORE_MSG_EDIT, c, r);
    p->op.u.change.content = p->content = xstrndup(r->u.change.content, r->u.change.content_len);
    p->op.u.change.mentions = p->mentions =
        chat__mentions(c, r->u.change.content, r->u.change.content_len);
    chat__submit(p);
}

void chat__delete(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.change.channel_id, "delete_message");
    if (!c) return;
    chat__submit(change_pend(d, s, STORE_MSG_DELETE, c, r));
}

void chat__react(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.change.channel_id, "react");
    if (!c) return;
    pend *p = change_pend(d, s, STORE_REACT, c, r);
    p->op.u.change.emoji = p->emoji = xstrdup(r->u.change.emoji);
    p->op.u.change.add = r->u.change.add;
    chat__submit(p);
}

/* ---- fetch_changes ---- */

static void changes_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    if (s && op->status == STORE_OK)
        chat__send(s, enc_changes(op->u.changes.channel_id, op->u.changes.events,
                                  op->u.changes.n_events, op->u.changes.has_more));
    else if (s && op->status == STORE_ENOTFOUND)
        chat__error(s, PROTO_NOT_FOUND, "fetch_changes", "channel %s does not exist",
                    op->u.changes.channel_id);
    else
        chat__store_error(s, op->status, "fetch_changes");
    chat__pend_free(p);
}

void chat__fetch_changes(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.changes.channel_id, "fetch_changes");
    if (!c) return;
    pend *p = chat__pend(d, s, STORE_CHANGES, changes_done);
    memcpy(p->op.u.changes.channel_id, c->id, 37);
    p->op.u.changes.after_seq = r->u.changes.after_seq;
    p->op.u.changes.limit = r->u.changes.limit;
    chat__submit(p);
}

/* ---- fetch_thread ---- */

static void thread_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    if (s && op->status == STORE_OK)
        chat__send(s, enc_thread(op->u.thread.channel_id, &op->u.thread.root, op->u.thread.msgs,
                                 op->u.thread.n_msgs, op->u.thread.has_more));
    else if (s && op->status == STORE_ENOTFOUND)
        chat__error(s, PROTO_NOT_FOUND, "fetch_thread",
                    "message %llu (or the cursor) is not in that thread of channel %s",
                    (unsigned long long)op->u.thread.message_id, op->u.thread.channel_id);
    else
        chat__store_error(s, op->status, "fetch_thread");
    chat__pend_free(p);
}

void chat__fetch_thread(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.thread.channel_id, "fetch_thread");
    if (!c) return;
    pend *p = chat__pend(d, s, STORE_THREAD, thread_done);
    memcpy(p->op.u.thread.channel_id, c->id, 37);
    p->op.u.thread.message_id = r->u.thread.message_id;
    p->op.u.thread.after = r->u.thread.after;
    p->op.u.thread.limit = r->u.thread.limit;
    chat__submit(p);
}

/* ---- typing ---- */

void chat__typing(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.channel.channel_id, "typing");
    if (!c) return;
    ch_member *m = chat__member(c, s->user->name);
    uint64_t now = clock_mono_ms();
    if (m->typing_ms && now - m->typing_ms < TYPING_GAP_MS) return; /* dropped silently */
    m->typing_ms = now;
    chat__fanout(d, c, enc_typing(c->id, s->user->name, TYPING_EXPIRES_MS), s->user, 0);
}
