/*
 * messages: chat_message (durable append, then ONE encode and fan-out to
 * every member's sockets), system notices, mark_channel_read receipts and
 * fetch_history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/metrics.h"

ch_channel *chat__usable_channel(domain *d, session *s, const char *id, const char *type) {
    ch_channel *c = chat__channel(d, id);
    if (!c) {
        chat__error(s, PROTO_NOT_FOUND, type, "channel %s does not exist", id);
        return NULL;
    }
    if (!chat__member(c, s->user->name)) {
        if (c->is_direct)
            chat__error(s, PROTO_FORBIDDEN, type,
                        "channel %s is a direct channel between two other users", id);
        else
            chat__error(s, PROTO_FORBIDDEN, type, "you are not a member of channel %s", id);
        return NULL;
    }
    return c;
}

/* ---- chat_message ---- */

#define MAX_STALE_RETRIES 8

/* STORE_ESTALE: another server has put a newer id into the channel (ids
 * follow seq order): take a greater one and append again. 1 when the
 * append was resubmitted (p lives on). */
static int retried_stale(pend *p) {
    store_op *op = &p->op;
    if (op->status != STORE_ESTALE || p->stale_retries >= MAX_STALE_RETRIES) return 0;
    p->stale_retries++;
    snowflake_skip_past(&p->d->ids, op->u.msg_append.newest_id);
    op->u.msg_append.msg.id = snowflake_next(&p->d->ids, clock_now_ms());
    op->status = STORE_OK;
    chat__submit(p);
    return 1;
}

static void append_done(store_op *op) {
    pend *p = op->data;
    domain *d = p->d;
    proto_msg *m = &op->u.msg_append.msg;
    if (retried_stale(p)) return;
    session *s = chat__live(p);
    if (op->status == STORE_OK && op->u.msg_append.refused) {
        if (s && op->u.msg_append.refused == STORE_REFUSE_DELETED)
            chat__error(s, PROTO_FORBIDDEN, "chat_message",
                        "message %llu is deleted: it cannot be replied to",
                        (unsigned long long)m->reply_to);
        else if (s)
            chat__error(s, PROTO_NOT_FOUND, "chat_message",
                        "reply_to: message %llu is not in channel %s",
                        (unsigned long long)m->reply_to, m->channel_id);
    } else if (op->status == STORE_OK) {
        ch_channel *c = chat__channel(d, m->channel_id);
        if (c) chat__fanout(d, c, enc_chat_message(m), NULL, 0);
    } else if (op->status == STORE_EDUP) {
        if (s) chat__send(s, enc_chat_message(m)); /* the original, to the sender only */
    } else if (op->status == STORE_ENOTFOUND) {
        if (s)
            chat__error(s, PROTO_NOT_FOUND, "chat_message", "channel %s does not exist",
                        m->channel_id);
    } else {
        chat__store_error(s, op->status, "chat_message");
    }
    chat__pend_free(p);
}

void chat__message(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.chat.channel_id, "chat_message");
    if (!c) return;
    pend *p = chat__pend(d, s, STORE_MSG_APPEND, append_done);
    proto_msg *m = &p->op.u.msg_append.msg;
    int64_t now = clock_now_ms();
    m->id = snowflake_next(&d->ids, now);
    m->created_ms = now;
    memcpy(m->channel_id, c->id, 37);
    m->user_id = s->user->name;
    m->content = p->content = xstrndup(r->u.chat.content, r->u.chat.content_len);
    m->metadata = p->metadata = r->u.chat.metadata; /* steal */
    r->u.chat.metadata = NULL;
    if (!m->metadata) m->metadata = p->metadata = xstrdup("{}");
    if (r->u.chat.client_msg_id)
        m->client_msg_id = p->client_msg_id = xstrdup(r->u.chat.client_msg_id);
    m->reply_to = r->u.chat.reply_to;
    m->mentions = p->mentions = chat__mentions(c, r->u.chat.content, r->u.chat.content_len);
    chat__submit(p);
}

/* ---- system notices ---- */

static void notice_done(store_op *op) {
    pend *p = op->data;
    proto_msg *m = &op->u.msg_append.msg;
    if (retried_stale(p)) return;
    ch_channel *c = chat__channel(p->d, m->channel_id);
    if (op->status == STORE_OK && c && (p->loud || !chat__is_big(p->d, c))) {
        /* The joiner sees the notice in channel_joined; everyone else live
         * (in a big channel it is only stored: history and fetch show it). */
        chat__fanout(p->d, c, enc_system(m), p->u, 1); /* every notice tells of a change */
    }
    chat__pend_free(p);
}

void chat__notice(domain *d, ch_channel *c, char *content, char *metadata, ch_user *skip,
                  int loud) {
    pend *p = chat__pend(d, NULL, STORE_MSG_APPEND, notice_done);
    p->u = skip;
    p->loud = loud;
    proto_msg *m = &p->op.u.msg_append.msg;
    int64_t now = clock_now_ms();
    m->id = snowflake_next(&d->ids, now);
    m->created_ms = now;
    memcpy(m->channel_id, c->id, 37);
    m->user_id = "system";
    m->content = p->content = content;
    m->metadata = p->metadata = metadata;
    chat__submit(p);
}

void chat__system_notice(domain *d, ch_channel *c, const char *user, const char *event) {
    int joined = !strcmp(event, "user_joined");
    char buf[160];
    snprintf(buf, sizeof(buf), "%s has %s the channel", user, joined ? "joined" : "left");
    char *content = xstrdup(buf);
    snprintf(buf, sizeof(buf), "{\"event\":\"%s\",\"user_id\":\"%s\"}", event, user);
    /* usernames need no JSON escaping */
    chat__notice(d, c, content, xstrdup(buf), joined ? chat__user(d, user) : NULL, 0);
}

/* ---- mark_channel_read ---- */

static void read_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    ch_channel *c = chat__channel(p->d, op->u.mark_read.channel_id);
    if (op->status == STORE_OK) {
        rcbuf *f = c ? enc_channel_read(c->id, p->u->name, op->u.mark_read.message_id,
                                        op->u.mark_read.at_ms)
                     : NULL;
        /* In a big channel the receipt is the reader's own business. */
        if (f && chat__is_big(p->d, c))
            chat__send_user(p->d, p->u, f, 0);
        else if (f)
            chat__fanout(p->d, c, f, NULL, 0);
    } else if (op->status == STORE_ENOTFOUND && s) {
        /* (the op keeps the requested message id when it fails) */
        if (op->u.mark_read.message_id)
            chat__error(s, PROTO_NOT_FOUND, "mark_channel_read",
                        "message %llu is not in channel %s",
                        (unsigned long long)op->u.mark_read.message_id, op->u.mark_read.channel_id);
        else
            chat__error(s, PROTO_FORBIDDEN, "mark_channel_read",
                        "you are not a member of channel %s", op->u.mark_read.channel_id);
    } else {
        chat__store_error(s, op->status, "mark_channel_read");
    }
    chat__pend_free(p);
}

void chat__mark_read(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.mark_read.channel_id, "mark_channel_read");
    if (!c) return;
    pend *p = chat__pend(d, s, STORE_MARK_READ, read_done);
    p->u = s->user;
    memcpy(p->op.u.mark_read.channel_id, c->id, 37);
    p->op.u.mark_read.user_id = s->user->name;
    p->op.u.mark_read.message_id = r->u.mark_read.message_id;
    p->op.u.mark_read.at_ms = clock_now_ms();
    chat__submit(p);
}

/* ---- fetch_history ---- */

static void history_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    if (s) {
        if (op->status == STORE_OK)
            chat__send(s, enc_history(op->u.history.channel_id, op->u.history.msgs,
                                      op->u.history.n_msgs, op->u.history.has_more));
        else if (op->status == STORE_ENOTFOUND)
            chat__error(s, PROTO_NOT_FOUND, "fetch_history",
                        "the cursor message is not in channel %s", op->u.history.channel_id);
        else
            chat__store_error(s, op->status, "fetch_history");
    }
    chat__pend_free(p);
}

void chat__history(domain *d, session *s, request *r) {
    ch_channel *c = chat__usable_channel(d, s, r->u.history.channel_id, "fetch_history");
    if (!c) return;
    pend *p = chat__pend(d, s, STORE_HISTORY, history_done);
    memcpy(p->op.u.history.channel_id, c->id, 37);
    p->op.u.history.before = r->u.history.before;
    p->op.u.history.after = r->u.history.after;
    p->op.u.history.limit = r->u.history.limit;
    chat__submit(p);
}
