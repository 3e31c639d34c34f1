/*
 * store_sqlite_changes: protocol 1.1's ops on SQLite — edits, deletions,
 * reactions (each a stored change with the channel's next seq), the
 * fetch_changes range read, threads, and the reply and mention
 * bookkeeping that MSG_APPEND and MARK_READ do for them. Run on the worker
 * thread inside the open transaction, like store_sqlite_ops.c.
 *
 * A deletion erases text in place with UPDATEs of the rows that hold it
 * (messages.content through an UPDATE, so that triggers on that column see
 * it); the connection runs with secure_delete on (store_sqlite_schema.c),
 * so the old bytes are zeroed in the pages, not left in free space.
 */
#include "store/store_sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define done_with store_sqlite__done
#define bind_chan store_sqlite__bind_chan
#define bind_str store_sqlite__bind_str
#define dup_col store_sqlite__dup_col
#define FATAL STORE_SQLITE__FATAL

/* Kinds of `changes` rows (the column's values: never renumber). */
enum { CK_EDIT = 1, CK_DELETE = 2, CK_REACT_ADD = 3, CK_REACT_REMOVE = 4 };

static int step_done(sqlite3_stmt *s) {
    int rc = sqlite3_step(s);
    done_with(s);
    return rc == SQLITE_DONE ? 0 : FATAL;
}

/* ---- reactions of messages read ---- */

int store_sqlite__reactions(sqlite3_stmt **st, proto_msg *msgs, size_t n) {
    sqlite3_stmt *s = st[SQ_REACTIONS_OF];
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].deleted) continue;
        sqlite3_bind_int64(s, 1, (sqlite3_int64)msgs[i].id);
        int rc, ok = 1;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW && ok)
            ok = store_reaction_row(&msgs[i], (const char *)sqlite3_column_text(s, 0),
                                    (const char *)sqlite3_column_text(s, 1)) == 0;
        done_with(s);
        if (!ok) return STORE_EIO;
        if (rc != SQLITE_DONE) return FATAL;
    }
    return STORE_OK;
}

/* ---- the message a change is about ---- */

typedef struct msg_state {
    char *author;
    int deleted;
    int64_t seq;
    char *mentions;
    int64_t n_kinds;   /* distinct emoji */
    uint64_t reply_to; /* its root, 0 = none */
} msg_state;

static void state_free(msg_state *m) {
    free(m->author);
    free(m->mentions);
}

/* 1 found, 0 not, STORE_EIO (memory), FATAL. */
static int msg_state_get(sqlite3_stmt **st, const char *ch, uint64_t id, msg_state *out) {
    sqlite3_stmt *s = st[SQ_MSG_STATE];
    memset(out, 0, sizeof(*out));
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)id);
    int rc = sqlite3_step(s), ok = 1, r;
    if (rc == SQLITE_ROW) {
        out->author = dup_col(s, 0, &ok);
        out->deleted = sqlite3_column_int(s, 1);
        out->seq = sqlite3_column_int64(s, 2);
        out->mentions = dup_col(s, 3, &ok);
        out->n_kinds = sqlite3_column_int64(s, 4);
        out->reply_to = (uint64_t)sqlite3_column_int64(s, 5);
        r = ok && out->author ? 1 : STORE_EIO;
    } else {
        r = rc == SQLITE_DONE ? 0 : FATAL;
    }
    done_with(s);
    if (r != 1) state_free(out);
    return r;
}

/* The channel's next seq, or FATAL. */
static int64_t next_seq(sqlite3_stmt **st, const char *ch) {
    sqlite3_stmt *s = st[SQ_CHAN_NEXT_SEQ];
    bind_chan(s, 1, ch);
    int rc = sqlite3_step(s);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : FATAL;
    done_with(s);
    return seq;
}

static int change_insert(sqlite3_stmt **st, const store_op *op, int64_t seq, int kind) {
    sqlite3_stmt *s = st[SQ_CHANGE_INSERT];
    bind_chan(s, 1, op->u.change.channel_id);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_int(s, 3, kind);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)op->u.change.message_id);
    bind_str(s, 5, op->u.change.user_id);
    bind_str(s, 6, kind == CK_EDIT ? op->u.change.content : NULL);
    bind_str(s, 7, kind == CK_EDIT ? op->u.change.mentions : NULL);
    bind_str(s, 8, kind >= CK_REACT_ADD ? op->u.change.emoji : NULL);
    sqlite3_bind_int64(s, 9, op->u.change.at_ms);
    return step_done(s);
}

/* ---- mentions ---- */

int store_sqlite__mentions_add(sqlite3_stmt **st, const char *ch, const char *mentions,
                               const char *sender, int64_t seq, uint64_t message_id) {
    const char *p = mentions, *name;
    size_t len;
    while ((name = store_list_next(&p, &len))) {
        /* the sender's own name is listed, not counted for them */
        if (sender && strlen(sender) == len && !memcmp(sender, name, len)) continue;
        sqlite3_stmt *s = st[SQ_MENTION_ADD];
        bind_chan(s, 1, ch);
        sqlite3_bind_text(s, 2, name, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, seq);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)message_id);
        int rc = sqlite3_step(s);
        int added = rc == SQLITE_DONE && sqlite3_changes(sqlite3_db_handle(s)) > 0;
        done_with(s);
        if (rc != SQLITE_DONE) return FATAL;
        if (!added) continue;
        s = st[SQ_MENTION_COUNT_ADD];
        bind_chan(s, 1, ch);
        sqlite3_bind_text(s, 2, name, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, seq);
        sqlite3_bind_int64(s, 4, 1);
        if (step_done(s) != 0) return FATAL;
    }
    return 0;
}

/* The message's mentions stop counting (erased or rewritten). */
static int mentions_drop(sqlite3_stmt **st, const char *ch, int64_t seq, uint64_t message_id) {
    sqlite3_stmt *s = st[SQ_MENTIONS_UNCOUNT];
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)message_id);
    if (step_done(s) != 0) return FATAL;
    s = st[SQ_MENTIONS_DROP];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)message_id);
    return step_done(s);
}

int store_sqlite__mentions_read(sqlite3_stmt **st, const char *ch, const char *user,
                                int64_t old_seq, int64_t new_seq) {
    sqlite3_stmt *s = st[SQ_MENTIONS_READ];
    bind_chan(s, 1, ch);
    bind_str(s, 2, user);
    sqlite3_bind_int64(s, 3, old_seq);
    sqlite3_bind_int64(s, 4, new_seq);
    return step_done(s);
}

/* ---- replies ---- */

int store_sqlite__reply_check(sqlite3_stmt **st, store_op *op) {
    proto_msg *m = &op->u.msg_append.msg;
    msg_state t;
    int r = msg_state_get(st, m->channel_id, m->reply_to, &t);
    if (r == 0) {
        op->u.msg_append.refused = STORE_REFUSE_NO_PARENT;
        return STORE_OK;
    }
    if (r != 1) return r;
    if (t.deleted) op->u.msg_append.refused = STORE_REFUSE_DELETED;
    if (t.reply_to) m->reply_to = t.reply_to; /* a reply to a reply joins the root */
    state_free(&t);
    return STORE_OK;
}

int store_sqlite__reply_count(sqlite3_stmt **st, const proto_msg *m) {
    sqlite3_stmt *s = st[SQ_ROOT_REPLY];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)m->reply_to);
    sqlite3_bind_int64(s, 2, m->created_ms);
    return step_done(s);
}

/* ---- edit, delete, react ---- */

static int op_edit(sqlite3_stmt **st, store_op *op, msg_state *m) {
    const char *ch = op->u.change.channel_id;
    if (!op->u.change.content) return STORE_EIO;
    if (strcmp(m->author, "system") == 0) return op->u.change.refused = STORE_REFUSE_SYSTEM, 0;
    if (m->deleted) return op->u.change.refused = STORE_REFUSE_DELETED, 0;
    if (strcmp(m->author, op->u.change.user_id) != 0)
        return op->u.change.refused = STORE_REFUSE_NOT_AUTHOR, 0;
    int64_t seq = next_seq(st, ch);
    if (seq < 0) return FATAL;
    sqlite3_stmt *s = st[SQ_MSG_EDIT];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)op->u.change.message_id);
    bind_str(s, 2, op->u.change.content);
    bind_str(s, 3, op->u.change.mentions);
    sqlite3_bind_int64(s, 4, op->u.change.at_ms);
    if (step_done(s) != 0 || change_insert(st, op, seq, CK_EDIT) != 0) return FATAL;
    /* mentions follow the text: the old ones stop counting, the new count */
    if (mentions_drop(st, ch, m->seq, op->u.change.message_id) != 0 ||
        (op->u.change.mentions &&
         store_sqlite__mentions_add(st, ch, op->u.change.mentions, m->author, m->seq,
                                    op->u.change.message_id) != 0))
        return FATAL;
    op->u.change.seq = seq;
    return STORE_OK;
}

static int op_delete(sqlite3_stmt **st, store_op *op, msg_state *m) {
    const char *ch = op->u.change.channel_id;
    uint64_t id = op->u.change.message_id;
    if (m->deleted) return STORE_ENOTFOUND; /* deleting twice */
    if (strcmp(m->author, "system") == 0) return op->u.change.refused = STORE_REFUSE_SYSTEM, 0;
    if (strcmp(m->author, op->u.change.user_id) != 0) {
        sqlite3_stmt *s = st[SQ_MEMBER_IS_ADMIN];
        bind_chan(s, 1, ch);
        bind_str(s, 2, op->u.change.user_id);
        int rc = sqlite3_step(s);
        int admin = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
        done_with(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return FATAL;
        if (!admin) return op->u.change.refused = STORE_REFUSE_NOT_AUTHOR, 0;
    }
    int64_t seq = next_seq(st, ch);
    if (seq < 0) return FATAL;
    if (mentions_drop(st, ch, m->seq, id) != 0) return FATAL;
    int erase[] = {SQ_MSG_ERASE, SQ_CHANGES_ERASE, SQ_REACTIONS_ERASE};
    for (size_t i = 0; i < sizeof erase / sizeof erase[0]; i++) {
        sqlite3_bind_int64(st[erase[i]], 1, (sqlite3_int64)id);
        if (step_done(st[erase[i]]) != 0) return FATAL;
    }
    if (change_insert(st, op, seq, CK_DELETE) != 0) return FATAL;
    op->u.change.seq = seq;
    return STORE_OK;
}

/* 1 when the reaction row (user NULL: any user's) exists, 0 not, FATAL. */
static int reaction_has(sqlite3_stmt **st, uint64_t id, const char *emoji, const char *user) {
    sqlite3_stmt *s = st[SQ_REACTION_HAS];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    bind_str(s, 2, emoji);
    bind_str(s, 3, user);
    int rc = sqlite3_step(s);
    done_with(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : FATAL;
}

static int kinds_add(sqlite3_stmt **st, uint64_t id, int delta) {
    sqlite3_stmt *s = st[SQ_MSG_KINDS_ADD];
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    sqlite3_bind_int(s, 2, delta);
    return step_done(s);
}

static int op_react(sqlite3_stmt **st, store_op *op, msg_state *m) {
    uint64_t id = op->u.change.message_id;
    const char *emoji = op->u.change.emoji, *user = op->u.change.user_id;
    if (!emoji) return STORE_EIO;
    if (strcmp(m->author, "system") == 0) return op->u.change.refused = STORE_REFUSE_SYSTEM, 0;
    if (m->deleted) return op->u.change.refused = STORE_REFUSE_DELETED, 0;
    int mine = reaction_has(st, id, emoji, user);
    if (mine < 0) return FATAL;
    if (mine == op->u.change.add) return STORE_OK; /* no change: seq stays 0 */
    sqlite3_stmt *s;
    if (op->u.change.add) {
        int known = reaction_has(st, id, emoji, NULL);
        if (known < 0) return FATAL;
        if (!known && m->n_kinds >= PROTO_MAX_REACTION_KINDS)
            return op->u.change.refused = STORE_REFUSE_FULL, 0;
        s = st[SQ_REACTION_ADD];
        sqlite3_bind_int64(s, 4, op->u.change.at_ms);
        sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
        bind_str(s, 2, emoji);
        bind_str(s, 3, user);
        if (step_done(s) != 0 || (!known && kinds_add(st, id, 1) != 0)) return FATAL;
    } else {
        s = st[SQ_REACTION_DEL];
        sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
        bind_str(s, 2, emoji);
        bind_str(s, 3, user);
        if (step_done(s) != 0) return FATAL;
        int left = reaction_has(st, id, emoji, NULL);
        if (left < 0 || (!left && kinds_add(st, id, -1) != 0)) return FATAL;
    }
    int64_t seq = next_seq(st, op->u.change.channel_id);
    if (seq < 0 ||
        change_insert(st, op, seq, op->u.change.add ? CK_REACT_ADD : CK_REACT_REMOVE) != 0)
        return FATAL;
    op->u.change.seq = seq;
    return STORE_OK;
}

static int op_change(sqlite3_stmt **st, store_op *op) {
    msg_state m;
    if (!op->u.change.user_id) return STORE_EIO;
    int r = msg_state_get(st, op->u.change.channel_id, op->u.change.message_id, &m);
    if (r != 1) return r == 0 ? STORE_ENOTFOUND : r;
    int status = op->kind == STORE_MSG_EDIT     ? op_edit(st, op, &m)
                 : op->kind == STORE_MSG_DELETE ? op_delete(st, op, &m)
                                                : op_react(st, op, &m);
    if (status == STORE_OK && !op->u.change.refused && op->kind != STORE_REACT) {
        op->u.change.author = m.author; /* handed over */
        op->u.change.old_mentions = m.mentions;
        m.author = m.mentions = NULL;
    }
    state_free(&m);
    return status;
}

/* ---- fetch_changes ---- */

static int read_change_row(sqlite3_stmt *s, proto_change *e) {
    int ok = 1, kind = sqlite3_column_int(s, 1);
    e->kind = kind == CK_EDIT        ? PROTO_CHANGE_EDIT
              : kind == CK_DELETE    ? PROTO_CHANGE_DELETE
              : kind == CK_REACT_ADD ? PROTO_CHANGE_REACT_ADD
                                     : PROTO_CHANGE_REACT_REMOVE;
    e->seq = sqlite3_column_int64(s, 0);
    e->message_id = (uint64_t)sqlite3_column_int64(s, 2);
    e->user_id = dup_col(s, 3, &ok);
    e->content = dup_col(s, 4, &ok);
    e->mentions = dup_col(s, 5, &ok);
    const unsigned char *emoji = sqlite3_column_text(s, 6);
    if (emoji) {
        size_t n = strnlen((const char *)emoji, PROTO_MAX_EMOJI);
        memcpy(e->emoji, emoji, n);
        e->emoji[n] = '\0';
    }
    e->at_ms = sqlite3_column_int64(s, 7);
    e->deleted = sqlite3_column_int(s, 8);
    return ok ? 0 : -1;
}

static int op_changes(sqlite3_stmt **st, store_op *op) {
    const char *ch = op->u.changes.channel_id;
    int limit = op->u.changes.limit;
    if (limit < 1) limit = 1;
    if (limit > STORE_MAX_CHANGES) limit = STORE_MAX_CHANGES;
    int64_t after = op->u.changes.after_seq < 0 ? 0 : op->u.changes.after_seq;
    int64_t upto = after + limit, last;

    sqlite3_stmt *s = st[SQ_CHAN_LAST_SEQ];
    bind_chan(s, 1, ch);
    int rc = sqlite3_step(s);
    last = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done_with(s);
    if (rc == SQLITE_DONE) return STORE_ENOTFOUND;
    if (rc != SQLITE_ROW) return FATAL;

    /* The sequence is gapless: the page is seqs after+1 .. min(upto, last),
     * each in exactly one of the two tables. */
    size_t cap = (size_t)(upto < last ? upto - after : (last > after ? last - after : 0));
    proto_change *ev = calloc(cap ? cap : 1, sizeof(*ev));
    if (!ev) return STORE_EIO;
    op->u.changes.events = ev;
    int status = STORE_OK, which[2] = {SQ_CHG_MSGS, SQ_CHG_ROWS};
    size_t n = 0;
    for (int t = 0; t < 2 && status == STORE_OK; t++) {
        s = st[which[t]];
        bind_chan(s, 1, ch);
        sqlite3_bind_int64(s, 2, after);
        sqlite3_bind_int64(s, 3, upto);
        while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW && n < cap) {
            proto_change *e = &ev[n++];
            if (t == 0) {
                e->kind = PROTO_CHANGE_MESSAGE;
                if (store_sqlite__read_msg(s, &e->msg) != 0) status = STORE_EIO;
                e->seq = e->msg.seq;
                e->message_id = e->msg.id;
            } else if (read_change_row(s, e) != 0) {
                status = STORE_EIO;
            }
        }
        if (status == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = FATAL;
        done_with(s);
    }
    op->u.changes.n_events = n;
    if (status != STORE_OK) {
        store_op_clear(op);
        return status;
    }
    op->u.changes.has_more = last > upto;
    store_changes_finish(op); /* one run by seq, cut to the text budget */
    return STORE_OK;
}

/* ---- fetch_thread ---- */

static int op_thread(sqlite3_stmt **st, store_op *op) {
    const char *ch = op->u.thread.channel_id;
    int limit = op->u.thread.limit < 1 ? 1 : op->u.thread.limit > 100 ? 100 : op->u.thread.limit;
    msg_state t;
    int r = msg_state_get(st, ch, op->u.thread.message_id, &t);
    if (r != 1) return r == 0 ? STORE_ENOTFOUND : r;
    uint64_t root = t.reply_to ? t.reply_to : op->u.thread.message_id;
    state_free(&t);
    int64_t cursor = 0;
    if (op->u.thread.after) {
        r = msg_state_get(st, ch, op->u.thread.after, &t);
        if (r != 1) return r == 0 ? STORE_ENOTFOUND : r;
        cursor = t.seq;
        uint64_t its_root = t.reply_to;
        state_free(&t);
        if (its_root != root) return STORE_ENOTFOUND;
    }

    sqlite3_stmt *s = st[SQ_MSG_FULL];
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)root);
    int rc = sqlite3_step(s), status = STORE_OK;
    if (rc == SQLITE_ROW && store_sqlite__read_msg(s, &op->u.thread.root) != 0) status = STORE_EIO;
    done_with(s);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? STORE_ENOTFOUND : FATAL;
    if (status != STORE_OK) return status;

    proto_msg *msgs = calloc((size_t)limit + 1, sizeof(*msgs));
    if (!msgs) {
        store_op_clear(op);
        return STORE_EIO;
    }
    op->u.thread.msgs = msgs;
    s = st[SQ_THREAD];
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)root);
    sqlite3_bind_int64(s, 3, cursor);
    sqlite3_bind_int(s, 4, limit + 1);
    size_t n = 0;
    while (status == STORE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW && n <= (size_t)limit) {
        if (store_sqlite__read_msg(s, &msgs[n]) != 0)
            status = STORE_EIO;
        else
            n++;
    }
    if (status == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = FATAL;
    done_with(s);
    op->u.thread.n_msgs = n;
    op->u.thread.has_more = 0;
    if (status == STORE_OK && n > (size_t)limit) {
        store_msg_free(&msgs[limit]);
        op->u.thread.n_msgs = (size_t)limit;
        op->u.thread.has_more = 1;
    }
    if (status == STORE_OK) status = store_sqlite__reactions(st, &op->u.thread.root, 1);
    if (status == STORE_OK) status = store_sqlite__reactions(st, msgs, op->u.thread.n_msgs);
    if (status != STORE_OK) store_op_clear(op);
    return status;
}

int store_sqlite__exec_change(sqlite3_stmt **st, store_op *op) {
    switch (op->kind) {
    case STORE_MSG_EDIT:
    case STORE_MSG_DELETE:
    case STORE_REACT:
        return op_change(st, op);
    case STORE_CHANGES:
        return op_changes(st, op);
    case STORE_THREAD:
        return op_thread(st, op);
    default:
        return STORE_EIO;
    }
}
