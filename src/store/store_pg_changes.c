/*
 * store_pg_changes: protocol 1.1's ops on PostgreSQL — edits, deletions,
 * reactions (each a stored change with the channel's next seq, taken under
 * the channel row lock store_pg__lock_channels took for the batch), the
 * fetch_changes range read, threads, and the mention bookkeeping of
 * MARK_READ. Same rules as store_sqlite_changes.c; statement texts in
 * store_pg_schema.c.
 *
 * A deletion erases text with UPDATEs of the rows that hold it
 * (messages.content through an UPDATE, so that triggers on that column see
 * it). PostgreSQL keeps the old row version until VACUUM reclaims it; no
 * query can read it.
 */
#include "store/store_pg_int.h"

#define FATAL STORE_PG__FATAL

/* Kinds of `changes` rows (the column's values: never renumber). */
enum { CK_EDIT = 1, CK_DELETE = 2, CK_REACT_ADD = 3, CK_REACT_REMOVE = 4 };

/* Runs a statement whose rows do not matter: 0 or FATAL. */
#define RUN(c, st, ...)                                                                            \
    ({                                                                                             \
        PGresult *r_ = EXEC(c, st, __VA_ARGS__);                                                   \
        PQclear(r_);                                                                               \
        r_ ? 0 : FATAL;                                                                            \
    })

/* ---- reactions of messages read ---- */

int store_pg__reactions(PGconn *c, proto_msg *msgs, size_t n) {
    size_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += !msgs[i].deleted;
    if (want == 0) return STORE_OK;
    char *arr = malloc(want * 22 + 3), *p = arr;
    if (!arr) return STORE_EIO;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].deleted) continue;
        if (p != arr + 1) *p++ = ',';
        p += snprintf(p, 22, "%" PRIu64, msgs[i].id);
    }
    *p++ = '}';
    *p = '\0';
    PGresult *r = EXEC(c, PQ_REACTIONS_OF, arr);
    free(arr);
    if (!r) return FATAL;
    int ok = 1;
    for (int row = 0; row < PQntuples(r) && ok; row++) {
        uint64_t id = get_u64(r, row, 0);
        for (size_t i = 0; i < n; i++)
            if (msgs[i].id == id) {
                ok =
                    store_reaction_row(&msgs[i], PQgetvalue(r, row, 1), PQgetvalue(r, row, 2)) == 0;
                break;
            }
    }
    PQclear(r);
    return ok ? STORE_OK : STORE_EIO;
}

/* ---- the message a change is about ---- */

typedef struct msg_state {
    char *author;
    int deleted;
    int64_t seq;
    char *mentions;
    int64_t n_kinds;
    uint64_t reply_to;
} msg_state;

static void state_free(msg_state *m) {
    free(m->author);
    free(m->mentions);
}

/* 1 found, 0 not, STORE_EIO (memory), FATAL. */
static int msg_state_get(PGconn *c, const char *ch, uint64_t id, msg_state *out) {
    memset(out, 0, sizeof(*out));
    PGresult *r = EXEC(c, PQ_MSG_STATE, chan_of(ch).s, u64(id).s);
    if (!r) return FATAL;
    int found = PQntuples(r) == 1, ok = 1;
    if (found) {
        out->author = dup_val(r, 0, 0, &ok);
        out->deleted = get_bool(r, 0, 1);
        out->seq = get_i64(r, 0, 2);
        out->mentions = dup_val(r, 0, 3, &ok);
        out->n_kinds = get_i64(r, 0, 4);
        out->reply_to = get_u64(r, 0, 5);
    }
    PQclear(r);
    if (found && (!ok || !out->author)) {
        state_free(out);
        return STORE_EIO;
    }
    return found;
}

static int64_t next_seq(PGconn *c, const char *ch) {
    PGresult *r = EXEC(c, PQ_CHAN_NEXT_SEQ, ch);
    if (!r) return FATAL;
    int64_t seq = PQntuples(r) == 1 ? get_i64(r, 0, 0) : FATAL;
    PQclear(r);
    return seq;
}

static int change_insert(PGconn *c, const store_op *op, int64_t seq, int kind) {
    char k[4];
    snprintf(k, sizeof k, "%d", kind);
    return RUN(c, PQ_CHANGE_INSERT, chan_of(op->u.change.channel_id).s, i64(seq).s, k,
               u64(op->u.change.message_id).s, op->u.change.user_id,
               kind == CK_EDIT ? op->u.change.content : NULL,
               kind == CK_EDIT ? op->u.change.mentions : NULL,
               kind >= CK_REACT_ADD ? op->u.change.emoji : NULL, i64(op->u.change.at_ms).s);
}

int store_pg__mentions_read(PGconn *c, const char *ch, const char *user, int64_t old_seq,
                            int64_t new_seq) {
    return RUN(c, PQ_MENTIONS_READ, ch, user, i64(old_seq).s, i64(new_seq).s);
}

static int mentions_drop(PGconn *c, const char *ch, int64_t seq, uint64_t id) {
    return RUN(c, PQ_MENTIONS_DROP, ch, i64(seq).s, u64(id).s);
}

/* ---- edit, delete, react ---- */

static int op_edit(PGconn *c, store_op *op, msg_state *m) {
    chan ch = chan_of(op->u.change.channel_id);
    num id = u64(op->u.change.message_id);
    if (!op->u.change.content) return STORE_EIO;
    if (strcmp(m->author, "system") == 0) return op->u.change.refused = STORE_REFUSE_SYSTEM, 0;
    if (m->deleted) return op->u.change.refused = STORE_REFUSE_DELETED, 0;
    if (strcmp(m->author, op->u.change.user_id) != 0)
        return op->u.change.refused = STORE_REFUSE_NOT_AUTHOR, 0;
    int64_t seq = next_seq(c, ch.s);
    if (seq < 0) return FATAL;
    if (RUN(c, PQ_MSG_EDIT, id.s, op->u.change.content, op->u.change.mentions,
            i64(op->u.change.at_ms).s) != 0 ||
        change_insert(c, op, seq, CK_EDIT) != 0 ||
        mentions_drop(c, ch.s, m->seq, op->u.change.message_id) != 0)
        return FATAL;
    if (op->u.change.mentions &&
        RUN(c, PQ_MENTIONS_ADD, ch.s, i64(m->seq).s, id.s, op->u.change.mentions, m->author) != 0)
        return FATAL;
    op->u.change.seq = seq;
    return STORE_OK;
}

static int op_delete(PGconn *c, store_op *op, msg_state *m) {
    chan ch = chan_of(op->u.change.channel_id);
    num id = u64(op->u.change.message_id);
    if (m->deleted) return STORE_ENOTFOUND; /* deleting twice */
    if (strcmp(m->author, "system") == 0) return op->u.change.refused = STORE_REFUSE_SYSTEM, 0;
    if (strcmp(m->author, op->u.change.user_id) != 0) {
        PGresult *r = EXEC(c, PQ_MEMBER_IS_ADMIN, ch.s, op->u.change.user_id);
        if (!r) return FATAL;
        int admin = PQntuples(r) == 1 && get_bool(r, 0, 0);
        PQclear(r);
        if (!admin) return op->u.change.refused = STORE_REFUSE_NOT_AUTHOR, 0;
    }
    int64_t seq = next_seq(c, ch.s);
    if (seq < 0) return FATAL;
    if (mentions_drop(c, ch.s, m->seq, op->u.change.message_id) != 0 ||
        RUN(c, PQ_MSG_ERASE, id.s) != 0 || RUN(c, PQ_CHANGES_ERASE, id.s) != 0 ||
        RUN(c, PQ_REACTIONS_ERASE, id.s) != 0 || change_insert(c, op, seq, CK_DELETE) != 0)
        return FATAL;
    op->u.change.seq = seq;
    return STORE_OK;
}

static int op_react(PGconn *c, store_op *op, msg_state *m) {
    num id = u64(op->u.change.message_id);
    const char *emoji = op->u.change.emoji, *user = op->u.change.user_id;
    if (!emoji) return STORE_EIO;
    if (strcmp(m->author, "system") == 0) return op->u.change.refused = STORE_REFUSE_SYSTEM, 0;
    if (m->deleted) return op->u.change.refused = STORE_REFUSE_DELETED, 0;
    PGresult *r = EXEC(c, PQ_REACTION_HAS, id.s, emoji, user);
    if (!r) return FATAL;
    int mine = get_i64(r, 0, 0) > 0, any = get_i64(r, 0, 1) > 0;
    PQclear(r);
    if (mine == op->u.change.add) return STORE_OK; /* no change: seq stays 0 */
    if (op->u.change.add) {
        if (!any && m->n_kinds >= PROTO_MAX_REACTION_KINDS)
            return op->u.change.refused = STORE_REFUSE_FULL, 0;
        if (RUN(c, PQ_REACTION_ADD, id.s, emoji, user, i64(op->u.change.at_ms).s) != 0 ||
            (!any && RUN(c, PQ_MSG_KINDS_ADD, id.s, "1") != 0))
            return FATAL;
    } else {
        if (RUN(c, PQ_REACTION_DEL, id.s, emoji, user) != 0) return FATAL;
        r = EXEC(c, PQ_REACTION_HAS, id.s, emoji, user);
        if (!r) return FATAL;
        int left = get_i64(r, 0, 1) > 0;
        PQclear(r);
        if (!left && RUN(c, PQ_MSG_KINDS_ADD, id.s, "-1") != 0) return FATAL;
    }
    int64_t seq = next_seq(c, chan_of(op->u.change.channel_id).s);
    if (seq < 0 ||
        change_insert(c, op, seq, op->u.change.add ? CK_REACT_ADD : CK_REACT_REMOVE) != 0)
        return FATAL;
    op->u.change.seq = seq;
    return STORE_OK;
}

static int op_change(PGconn *c, store_op *op) {
    msg_state m;
    if (!op->u.change.user_id) return STORE_EIO;
    int r = msg_state_get(c, op->u.change.channel_id, op->u.change.message_id, &m);
    if (r != 1) return r == 0 ? STORE_ENOTFOUND : r;
    int status = op->kind == STORE_MSG_EDIT     ? op_edit(c, op, &m)
                 : op->kind == STORE_MSG_DELETE ? op_delete(c, op, &m)
                                                : op_react(c, op, &m);
    if (status == STORE_OK && !op->u.change.refused && op->kind != STORE_REACT) {
        op->u.change.author = m.author; /* handed over */
        op->u.change.old_mentions = m.mentions;
        m.author = m.mentions = NULL;
    }
    state_free(&m);
    return status;
}

/* ---- fetch_changes ---- */

static int read_change_row(const PGresult *r, int row, proto_change *e) {
    int ok = 1, kind = (int)get_i64(r, row, 1);
    e->kind = kind == CK_EDIT        ? PROTO_CHANGE_EDIT
              : kind == CK_DELETE    ? PROTO_CHANGE_DELETE
              : kind == CK_REACT_ADD ? PROTO_CHANGE_REACT_ADD
                                     : PROTO_CHANGE_REACT_REMOVE;
    e->seq = get_i64(r, row, 0);
    e->message_id = get_u64(r, row, 2);
    e->user_id = dup_val(r, row, 3, &ok);
    e->content = dup_val(r, row, 4, &ok);
    e->mentions = dup_val(r, row, 5, &ok);
    if (!PQgetisnull(r, row, 6))
        snprintf(e->emoji, sizeof e->emoji, "%.*s", PROTO_MAX_EMOJI, PQgetvalue(r, row, 6));
    e->at_ms = get_i64(r, row, 7);
    e->deleted = get_bool(r, row, 8);
    return ok ? 0 : -1;
}

static int op_changes(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.changes.channel_id);
    int limit = op->u.changes.limit;
    if (limit < 1) limit = 1;
    if (limit > STORE_MAX_CHANGES) limit = STORE_MAX_CHANGES;
    int64_t after = op->u.changes.after_seq < 0 ? 0 : op->u.changes.after_seq;
    int64_t upto = after + limit;

    PGresult *r = EXEC(c, PQ_CHAN_LAST_SEQ, ch.s);
    if (!r) return FATAL;
    int found = PQntuples(r) == 1;
    int64_t last = found ? get_i64(r, 0, 0) : 0;
    PQclear(r);
    if (!found) return STORE_ENOTFOUND;

    size_t cap = (size_t)(upto < last ? upto - after : (last > after ? last - after : 0));
    proto_change *ev = calloc(cap ? cap : 1, sizeof(*ev));
    if (!ev) return STORE_EIO;
    op->u.changes.events = ev;
    int status = STORE_OK;
    size_t n = 0;
    int which[2] = {PQ_CHG_MSGS, PQ_CHG_ROWS};
    for (int t = 0; t < 2 && status == STORE_OK; t++) {
        r = EXEC(c, which[t], ch.s, i64(after).s, i64(upto).s);
        if (!r) {
            status = FATAL;
            break;
        }
        for (int row = 0; row < PQntuples(r) && n < cap && status == STORE_OK; row++) {
            proto_change *e = &ev[n++];
            if (t == 0) {
                e->kind = PROTO_CHANGE_MESSAGE;
                if (store_pg__read_msg(r, row, 0, &e->msg) != 0) status = STORE_EIO;
                e->seq = e->msg.seq;
                e->message_id = e->msg.id;
            } else if (read_change_row(r, row, e) != 0) {
                status = STORE_EIO;
            }
        }
        PQclear(r);
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

static int op_thread(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.thread.channel_id);
    int limit = op->u.thread.limit < 1 ? 1 : op->u.thread.limit > 100 ? 100 : op->u.thread.limit;
    msg_state t;
    int r = msg_state_get(c, ch.s, op->u.thread.message_id, &t);
    if (r != 1) return r == 0 ? STORE_ENOTFOUND : r;
    uint64_t root = t.reply_to ? t.reply_to : op->u.thread.message_id;
    state_free(&t);
    int64_t cursor = 0;
    if (op->u.thread.after) {
        r = msg_state_get(c, ch.s, op->u.thread.after, &t);
        if (r != 1) return r == 0 ? STORE_ENOTFOUND : r;
        cursor = t.seq;
        uint64_t its_root = t.reply_to;
        state_free(&t);
        if (its_root != root) return STORE_ENOTFOUND;
    }

    PGresult *res = EXEC(c, PQ_MSG_FULL, ch.s, u64(root).s);
    if (!res) return FATAL;
    int status = PQntuples(res) == 1 ? STORE_OK : STORE_ENOTFOUND;
    if (status == STORE_OK && store_pg__read_msg(res, 0, 0, &op->u.thread.root) != 0)
        status = STORE_EIO;
    PQclear(res);
    if (status != STORE_OK) return status;

    res = EXEC(c, PQ_THREAD, ch.s, u64(root).s, i64(cursor).s, i64(limit + 1).s);
    if (!res) {
        store_op_clear(op);
        return FATAL;
    }
    size_t rows = (size_t)PQntuples(res), n = rows > (size_t)limit ? (size_t)limit : rows;
    proto_msg *msgs = calloc(n ? n : 1, sizeof(*msgs));
    if (!msgs) status = STORE_EIO;
    op->u.thread.msgs = msgs;
    for (size_t i = 0; i < n && status == STORE_OK; i++) {
        if (store_pg__read_msg(res, (int)i, 0, &msgs[i]) != 0)
            status = STORE_EIO;
        else
            op->u.thread.n_msgs = i + 1;
    }
    PQclear(res);
    op->u.thread.has_more = rows > (size_t)limit;
    if (status == STORE_OK) status = store_pg__reactions(c, &op->u.thread.root, 1);
    if (status == STORE_OK) status = store_pg__reactions(c, msgs, op->u.thread.n_msgs);
    if (status != STORE_OK) store_op_clear(op);
    return status;
}

int store_pg__exec_change(PGconn *c, store_op *op) {
    switch (op->kind) {
    case STORE_MSG_EDIT:
    case STORE_MSG_DELETE:
    case STORE_REACT:
        return op_change(c, op);
    case STORE_CHANGES:
        return op_changes(c, op);
    case STORE_THREAD:
        return op_thread(c, op);
    default:
        return STORE_EIO;
    }
}
