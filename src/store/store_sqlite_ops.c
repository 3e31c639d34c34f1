/*
 * store_sqlite_ops: one function per store op, run on the worker thread
 * inside the transaction store_sqlite.c opened (and load, run on the loop
 * thread while the worker is parked). Statement texts live in
 * store_sqlite_schema.c; here they are only bound, stepped and reset.
 *
 * Error discipline: a constraint failure concerns one op (its status says
 * which); any other SQLite error breaks the whole transaction
 * (STORE_SQLITE__FATAL) and store_sqlite.c fails the batch.
 */
#include "store/store_sqlite_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers --------------------------------------------------- */

static int is_constraint(int rc) {
    return (rc & 0xff) == SQLITE_CONSTRAINT;
}

#define done_with store_sqlite__done
#define bind_chan store_sqlite__bind_chan
#define bind_str store_sqlite__bind_str
#define dup_col store_sqlite__dup_col
#define read_msg store_sqlite__read_msg

/* Ready the statement for its next use. */
void store_sqlite__done(sqlite3_stmt *s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int store_sqlite__run(sqlite3_stmt *stmt) {
    int rc = sqlite3_step(stmt);
    done_with(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* A channel id is a char[37]; never read past it even if unterminated. */
void store_sqlite__bind_chan(sqlite3_stmt *s, int i, const char *ch) {
    sqlite3_bind_text(s, i, ch, (int)strnlen(ch, 36), SQLITE_STATIC);
}

void store_sqlite__bind_str(sqlite3_stmt *s, int i, const char *str) {
    if (str)
        sqlite3_bind_text(s, i, str, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* malloc'd copy of a text column; *ok = 0 when out of memory. NULL stays NULL. */
char *store_sqlite__dup_col(sqlite3_stmt *s, int i, int *ok) {
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t) return NULL;
    char *d = strdup((const char *)t);
    if (!d) *ok = 0;
    return d;
}

static void col_chan(sqlite3_stmt *s, int i, char out[37]) {
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, 37, "%s", t ? (const char *)t : "");
}

/* Fills m from a row of MSG_COLS (store_sqlite_schema.c). 0, or -1 when out of memory (m is then
 * left with no strings). */
int store_sqlite__read_msg(sqlite3_stmt *s, proto_msg *m) {
    int ok = 1;
    m->id = (uint64_t)sqlite3_column_int64(s, 0);
    m->seq = sqlite3_column_int64(s, 1);
    m->created_ms = sqlite3_column_int64(s, 2);
    col_chan(s, 3, m->channel_id);
    m->user_id = dup_col(s, 4, &ok);
    m->content = dup_col(s, 5, &ok);
    m->metadata = dup_col(s, 6, &ok);
    m->client_msg_id = dup_col(s, 7, &ok);
    m->edited_ms = sqlite3_column_int64(s, 8);
    m->deleted = sqlite3_column_int(s, 9);
    m->reply_to = (uint64_t)sqlite3_column_int64(s, 10);
    m->reply_count = sqlite3_column_int64(s, 11);
    m->last_reply_ms = sqlite3_column_int64(s, 12);
    m->mentions = dup_col(s, 13, &ok);
    m->n_reactions = 0; /* read separately (store_sqlite__reactions) */
    m->reactions = NULL;
    if (ok) return 0;
    store_msg_free(m);
    return -1;
}

/* Looks up message `id` in channel ch: its seq and (count_no not NULL) the
 * channel's count of countable messages up to it. 1 found, 0 not, <0 rc. */
static int msg_seq(sqlite3_stmt **st, const char *ch, uint64_t id, int64_t *seq,
                   int64_t *count_no) {
    sqlite3_stmt *s = st[SQ_MSG_BY_ID];
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(s, 0);
        if (count_no) *count_no = sqlite3_column_int64(s, 1);
    }
    done_with(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -rc;
}

/* The channel's counters: last seq, newest message id (0 when empty) and
 * countable messages, as this batch has them. Any pointer may be NULL. 1
 * found, 0 no such channel, negative error. */
static int chan_last_seq(sqlite3_stmt **st, const char *ch, int64_t *last, uint64_t *newest,
                         int64_t *msg_count) {
    return store_sqlite__ctr_get(st, ch, last, newest, msg_count);
}

/* channels.member_count += delta. 0 or FATAL. */
static int members_add(sqlite3_stmt **st, const char *ch, int64_t delta) {
    sqlite3_stmt *s = st[SQ_CHAN_MEMBERS_ADD];
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, delta);
    return store_sqlite__run(s) == SQLITE_OK ? 0 : STORE_SQLITE__FATAL;
}

/* ---- the ops ---------------------------------------------------------- */

static int op_user_create(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = st[SQ_USER_INSERT];
    if (!op->u.user_create.username || !op->u.user_create.pw_hash) return STORE_EIO;
    bind_str(s, 1, op->u.user_create.username);
    bind_str(s, 2, op->u.user_create.pw_hash);
    sqlite3_bind_int64(s, 3, op->u.user_create.created_ms);
    int rc = sqlite3_step(s);
    done_with(s);
    if (rc == SQLITE_DONE) return STORE_OK;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return STORE_EEXIST;
    return is_constraint(rc) ? STORE_EIO : STORE_SQLITE__FATAL;
}

static int op_user_get(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = st[SQ_USER_GET];
    int ok = 1, status;
    bind_str(s, 1, op->u.user_get.username);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        op->u.user_get.pw_hash = dup_col(s, 0, &ok);
        op->u.user_get.created_ms = sqlite3_column_int64(s, 1);
        status = ok ? STORE_OK : STORE_EIO;
    } else {
        status = rc == SQLITE_DONE ? STORE_ENOTFOUND : STORE_SQLITE__FATAL;
    }
    done_with(s);
    return status;
}

/* The inserts of a channel and its members, without the savepoint. */
static int channel_insert(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = st[SQ_CHAN_INSERT];
    bind_chan(s, 1, op->u.channel_create.channel_id);
    bind_str(s, 2, op->u.channel_create.name ? op->u.channel_create.name : "");
    sqlite3_bind_int(s, 3, op->u.channel_create.is_direct ? 1 : 0);
    bind_str(s, 4, op->u.channel_create.creator);
    sqlite3_bind_int64(s, 5, op->u.channel_create.created_ms);
    bind_str(s, 6, op->u.channel_create.dm_key);
    sqlite3_bind_int(s, 7, op->u.channel_create.is_private ? 1 : 0);
    int rc = sqlite3_step(s);
    done_with(s);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return STORE_EEXIST;
    if (rc == SQLITE_CONSTRAINT_UNIQUE && op->u.channel_create.dm_key) { /* the pair has one */
        s = st[SQ_CHAN_BY_DM];
        bind_str(s, 1, op->u.channel_create.dm_key);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) col_chan(s, 0, op->u.channel_create.existing_id);
        done_with(s);
        return rc == SQLITE_ROW ? STORE_EEXIST : STORE_SQLITE__FATAL;
    }
    if (rc != SQLITE_DONE) return is_constraint(rc) ? STORE_EIO : STORE_SQLITE__FATAL;

    s = st[SQ_MEMBER_INSERT];
    int64_t added = 0;
    for (size_t i = 0; i < op->u.channel_create.n_members; i++) {
        const proto_member *m = &op->u.channel_create.members[i];
        bind_chan(s, 1, op->u.channel_create.channel_id);
        bind_str(s, 2, m->user_id);
        sqlite3_bind_int(s, 3, m->is_admin ? 1 : 0);
        sqlite3_bind_int64(s, 4, m->joined_ms);
        rc = sqlite3_step(s);
        done_with(s);
        if (rc != SQLITE_DONE) return is_constraint(rc) ? STORE_EIO : STORE_SQLITE__FATAL;
        added += sqlite3_changes(sqlite3_db_handle(s));
    }
    return members_add(st, op->u.channel_create.channel_id, added);
}

/* Several statements: all or nothing, without failing the whole batch. */
static int op_channel_create(sqlite3_stmt **st, store_op *op) {
    if (store_sqlite__run(st[SQ_SAVEPOINT]) != SQLITE_OK) return STORE_SQLITE__FATAL;
    int status = channel_insert(st, op);
    if (status != STORE_OK && status != STORE_SQLITE__FATAL &&
        store_sqlite__run(st[SQ_ROLLBACK_TO]) != SQLITE_OK)
        return STORE_SQLITE__FATAL;
    if (status != STORE_SQLITE__FATAL && store_sqlite__run(st[SQ_RELEASE]) != SQLITE_OK)
        return STORE_SQLITE__FATAL;
    return status;
}

static int op_member_add(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = st[SQ_MEMBER_INSERT];
    bind_chan(s, 1, op->u.member_add.channel_id);
    bind_str(s, 2, op->u.member_add.user_id);
    sqlite3_bind_int(s, 3, op->u.member_add.is_admin ? 1 : 0);
    sqlite3_bind_int64(s, 4, op->u.member_add.joined_ms);
    int rc = sqlite3_step(s);
    done_with(s);
    if (rc == SQLITE_DONE) {
        op->u.member_add.added = sqlite3_changes(sqlite3_db_handle(s)) > 0;
        if (op->u.member_add.added) return members_add(st, op->u.member_add.channel_id, 1);
        return STORE_OK;
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return STORE_ENOTFOUND;
    return is_constraint(rc) ? STORE_EIO : STORE_SQLITE__FATAL;
}

static int op_member_remove(sqlite3_stmt **st, store_op *op) {
    sqlite3_stmt *s = st[SQ_MEMBER_DELETE];
    bind_chan(s, 1, op->u.member_remove.channel_id);
    bind_str(s, 2, op->u.member_remove.user_id);
    int rc = sqlite3_step(s);
    done_with(s);
    if (rc != SQLITE_DONE) return STORE_SQLITE__FATAL;
    if (sqlite3_changes(sqlite3_db_handle(s)) == 0) return STORE_ENOTFOUND;
    if (members_add(st, op->u.member_remove.channel_id, -1) != 0) return STORE_SQLITE__FATAL;
    return store_sqlite__keep_admin(st, op);
}

/* The message with the same (channel, user, client_msg_id): 1 found (and
 * copied into *orig), 0 none, STORE_EIO out of memory, FATAL on error. */
static int find_client_dup(sqlite3_stmt **st, const proto_msg *m, proto_msg *orig) {
    sqlite3_stmt *s = st[SQ_MSG_BY_CLIENT_ID];
    bind_chan(s, 1, m->channel_id);
    bind_str(s, 2, m->user_id);
    bind_str(s, 3, m->client_msg_id);
    int rc = sqlite3_step(s), r;
    if (rc == SQLITE_ROW)
        r = store_sqlite__read_msg(s, orig) == 0 ? 1 : STORE_EIO;
    else
        r = rc == SQLITE_DONE ? 0 : STORE_SQLITE__FATAL;
    done_with(s);
    return r;
}

static int op_msg_append(sqlite3_stmt **st, store_op *op) {
    proto_msg *m = &op->u.msg_append.msg;
    int64_t last = 0;
    if (!m->user_id || !m->content) return STORE_EIO;

    uint64_t newest = 0;
    int64_t msg_count = 0;
    int r = chan_last_seq(st, m->channel_id, &last, &newest, &msg_count);
    if (r < 0) return STORE_SQLITE__FATAL;
    if (r == 0) return STORE_ENOTFOUND;

    /* Earlier appends of this batch are visible: same transaction. */
    if (m->client_msg_id) {
        proto_msg orig = {0};
        r = find_client_dup(st, m, &orig);
        if (r == 1) {
            op->u.msg_append.caller__ = *m;
            *m = orig;
            op->u.msg_append.owned__ = 1;
            return STORE_EDUP;
        }
        if (r != 0) return r;
    }

    sqlite3_stmt *s;
    int rc;
    if (newest >= m->id) { /* ids follow seq order; a reused id is EIO, as the insert says */
        s = st[SQ_MSG_ID_USED];
        sqlite3_bind_int64(s, 1, (sqlite3_int64)m->id);
        rc = sqlite3_step(s);
        done_with(s);
        if (rc == SQLITE_ROW) return STORE_EIO;
        if (rc != SQLITE_DONE) return STORE_SQLITE__FATAL;
        op->u.msg_append.newest_id = newest;
        return STORE_ESTALE;
    }

    if (m->reply_to) { /* checked before anything is written */
        r = store_sqlite__reply_check(st, op);
        if (r != STORE_OK || op->u.msg_append.refused) return r;
    }

    /* Counters: a user's message counts for the channel and for its sender
     * (a system notice for neither; nor a non-member's, for the sender);
     * the row keeps both as of itself, and the seq of the sender's previous
     * counted message (the chain op_mark_read walks). */
    int countable = strcmp(m->user_id, "system") != 0;
    int64_t own = 0, own_seq = 0;
    int own_counted =
        countable ? store_sqlite__own_get(st, m->channel_id, m->user_id, &own, &own_seq) : 0;
    if (own_counted < 0) return STORE_SQLITE__FATAL;

    s = st[SQ_MSG_INSERT];
    bind_chan(s, 1, m->channel_id);
    sqlite3_bind_int64(s, 2, last + 1);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)m->id);
    bind_str(s, 4, m->user_id);
    bind_str(s, 5, m->content);
    bind_str(s, 6, m->metadata ? m->metadata : "{}");
    bind_str(s, 7, m->client_msg_id);
    sqlite3_bind_int64(s, 8, m->created_ms);
    sqlite3_bind_int64(s, 9, msg_count + countable);
    sqlite3_bind_int64(s, 10, own_counted ? own + 1 : 0);
    if (m->reply_to) sqlite3_bind_int64(s, 11, (sqlite3_int64)m->reply_to);
    bind_str(s, 12, m->mentions);
    sqlite3_bind_int64(s, 13, own_counted ? own_seq : 0);
    rc = sqlite3_step(s);
    done_with(s);
    if (rc != SQLITE_DONE) /* a constraint here is a reused message id */
        return is_constraint(rc) ? STORE_EIO : STORE_SQLITE__FATAL;

    /* The row is in; the counters follow (written back with the batch) or
     * the transaction goes. */
    if (store_sqlite__ctr_set(st, m->channel_id, last + 1, m->id, msg_count + countable) != 0 ||
        (own_counted && store_sqlite__own_set(st, m->channel_id, m->user_id, own + 1, last + 1)))
        return STORE_SQLITE__FATAL;
    if (m->reply_to && store_sqlite__reply_count(st, m) != 0) return STORE_SQLITE__FATAL;
    if (m->mentions && store_sqlite__mentions_add(st, m->channel_id, m->mentions, m->user_id,
                                                  last + 1, m->id) != 0)
        return STORE_SQLITE__FATAL;
    m->seq = last + 1;
    return STORE_OK;
}

/* The reader's own messages up to seq `mark`: all of them when its latest
 * (own_seq) is not past the mark, else the count on the last one before it,
 * found by walking back the chain of its own messages (messages.own_prev):
 * one lookup per own message after the mark. Count, or FATAL. */
static int64_t own_at_mark(sqlite3_stmt **st, const char *ch, int64_t own_count, int64_t own_seq,
                           int64_t mark) {
    int64_t at = own_seq, own = own_count;
    sqlite3_stmt *s = st[SQ_MSG_OWN_PREV];
    while (at > mark && own > 0) {
        bind_chan(s, 1, ch);
        sqlite3_bind_int64(s, 2, at);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            own = sqlite3_column_int64(s, 0) - 1; /* the previous one's own_no */
            at = sqlite3_column_int64(s, 1);
        }
        done_with(s);
        if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : STORE_SQLITE__FATAL;
    }
    return own > 0 ? own : 0;
}

/* A read mark keeps, beside the message, the counters as of it (the
 * channel's countable messages and the reader's own), so that unread =
 * (channel now - at mark) - (own now - own at mark) needs no scan. */
static int op_mark_read(sqlite3_stmt **st, store_op *op) {
    const char *ch = op->u.mark_read.channel_id;
    const char *user = op->u.mark_read.user_id;
    uint64_t old_id = 0, new_id = op->u.mark_read.message_id;
    int64_t old_ms = -1, old_seq = 0, own_count = 0, own_seq = 0, new_seq = 0, new_count = 0;

    sqlite3_stmt *s = st[SQ_MEMBER_MARK];
    bind_chan(s, 1, ch);
    bind_str(s, 2, user);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        old_id = (uint64_t)sqlite3_column_int64(s, 0);
        old_ms = sqlite3_column_int64(s, 1);
        old_seq = sqlite3_column_int64(s, 2);
        own_count = sqlite3_column_int64(s, 3);
        own_seq = sqlite3_column_int64(s, 4);
    }
    done_with(s);
    if (rc == SQLITE_DONE) return STORE_ENOTFOUND; /* not a member (or no such channel) */
    if (rc != SQLITE_ROW) return STORE_SQLITE__FATAL;

    int64_t last = 0;
    int r = chan_last_seq(st, ch, &last, new_id ? NULL : &new_id, new_id ? NULL : &new_count);
    if (r <= 0) return r < 0 ? STORE_SQLITE__FATAL : STORE_ENOTFOUND;
    if (op->u.mark_read.message_id == 0) {
        new_seq = last; /* the latest (0 in an empty channel) */
    } else {
        r = msg_seq(st, ch, new_id, &new_seq, &new_count);
        if (r < 0) return STORE_SQLITE__FATAL;
        if (r == 0) return STORE_ENOTFOUND;
    }

    if (new_seq <= old_seq) { /* never backwards; same mark = no change */
        op->u.mark_read.message_id = old_id;
        op->u.mark_read.last_read_ms = old_ms;
        op->u.mark_read.moved = 0;
        return STORE_OK;
    }
    int64_t own_at = own_at_mark(st, ch, own_count, own_seq, new_seq);
    if (own_at < 0) return STORE_SQLITE__FATAL;
    s = st[SQ_MEMBER_SET_MARK];
    bind_chan(s, 1, ch);
    bind_str(s, 2, user);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)new_id);
    sqlite3_bind_int64(s, 4, op->u.mark_read.at_ms);
    sqlite3_bind_int64(s, 5, new_seq);
    sqlite3_bind_int64(s, 6, new_count);
    sqlite3_bind_int64(s, 7, own_at);
    rc = sqlite3_step(s);
    done_with(s);
    if (rc != SQLITE_DONE) return STORE_SQLITE__FATAL;
    if (store_sqlite__mentions_read(st, ch, user, old_seq, new_seq) != 0)
        return STORE_SQLITE__FATAL;
    op->u.mark_read.message_id = new_id;
    op->u.mark_read.last_read_ms = op->u.mark_read.at_ms;
    op->u.mark_read.moved = 1;
    return STORE_OK;
}

static void free_msgs(proto_msg *msgs, size_t n) {
    for (size_t i = 0; i < n; i++)
        store_msg_free(&msgs[i]);
    free(msgs);
}

static int op_history(sqlite3_stmt **st, store_op *op) {
    const char *ch = op->u.history.channel_id;
    int limit = op->u.history.limit;
    int64_t cursor = INT64_MAX, last = 0;
    uint64_t cursor_id = op->u.history.before ? op->u.history.before : op->u.history.after;
    int ascending = !op->u.history.before && op->u.history.after;

    if (limit < 1) limit = 1;
    if (limit > 100) limit = 100;
    int r = chan_last_seq(st, ch, &last, NULL, NULL);
    if (r <= 0) return r < 0 ? STORE_SQLITE__FATAL : STORE_ENOTFOUND;
    if (cursor_id) {
        r = msg_seq(st, ch, cursor_id, &cursor, NULL);
        if (r <= 0) return r < 0 ? STORE_SQLITE__FATAL : STORE_ENOTFOUND;
    }

    /* One row more than asked says whether more remain. */
    proto_msg *msgs = calloc((size_t)limit + 1, sizeof(*msgs));
    if (!msgs) return STORE_EIO;
    sqlite3_stmt *s = st[ascending ? SQ_HIST_AFTER : SQ_HIST_BEFORE];
    bind_chan(s, 1, ch);
    sqlite3_bind_int64(s, 2, cursor);
    sqlite3_bind_int(s, 3, limit + 1);
    size_t n = 0;
    int rc, status = STORE_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < (size_t)limit + 1) {
        if (store_sqlite__read_msg(s, &msgs[n]) != 0) {
            status = STORE_EIO;
            break;
        }
        n++;
    }
    if (status == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) status = STORE_SQLITE__FATAL;
    done_with(s);
    if (status != STORE_OK) {
        free_msgs(msgs, n);
        return status;
    }

    op->u.history.has_more = n > (size_t)limit;
    if (n > (size_t)limit) { /* drop the probe row */
        store_msg_free(&msgs[limit]);
        n = (size_t)limit;
    }
    if (!ascending) { /* fetched newest first; the page is oldest first */
        for (size_t i = 0; i < n / 2; i++) {
            proto_msg t = msgs[i];
            msgs[i] = msgs[n - 1 - i];
            msgs[n - 1 - i] = t;
        }
    }
    status = store_sqlite__reactions(st, msgs, n);
    if (status != STORE_OK) {
        free_msgs(msgs, n);
        return status;
    }
    op->u.history.msgs = msgs;
    op->u.history.n_msgs = n;
    return STORE_OK;
}

/* Fills e->participants. STORE_OK, STORE_EIO (memory) or FATAL. */
static int read_participants(sqlite3_stmt **st, proto_channel_entry *e) {
    sqlite3_stmt *s = st[SQ_MEMBERS_OF];
    size_t cap = 0;
    int rc, ok = 1;
    bind_chan(s, 1, e->channel_id);
    sqlite3_bind_int(s, 2, STORE_LIST_MEMBERS);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (e->n_participants == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **p = realloc(e->participants, ncap * sizeof(*p));
            if (!p) {
                ok = 0;
                break;
            }
            e->participants = p;
            cap = ncap;
        }
        char *u = dup_col(s, 0, &ok);
        if (!ok) break;
        e->participants[e->n_participants++] = u;
    }
    done_with(s);
    if (!ok) return STORE_EIO;
    return rc == SQLITE_DONE ? STORE_OK : STORE_SQLITE__FATAL;
}

static int op_channels_for_user(sqlite3_stmt **st, store_op *op) {
    proto_channel_entry *es = NULL;
    size_t n = 0, cap = 0;
    int rc, ok = 1, status = STORE_OK;

    sqlite3_stmt *s = st[SQ_CHANNELS_OF_USER];
    bind_str(s, 1, op->u.channels_for_user.user_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            proto_channel_entry *p = realloc(es, ncap * sizeof(*p));
            if (!p) {
                ok = 0;
                break;
            }
            es = p;
            cap = ncap;
        }
        proto_channel_entry *e = &es[n++];
        memset(e, 0, sizeof(*e));
        col_chan(s, 0, e->channel_id);
        e->name = dup_col(s, 1, &ok);
        e->is_direct = sqlite3_column_int(s, 2);
        e->last_read_message_id = (uint64_t)sqlite3_column_int64(s, 3);
        e->last_read_ms = sqlite3_column_int64(s, 4);
        e->last_message_id = (uint64_t)sqlite3_column_int64(s, 5);
        e->unread_count = sqlite3_column_int64(s, 6);
        e->member_count = sqlite3_column_int64(s, 7);
        e->mention_count = sqlite3_column_int64(s, 8);
        e->topic = dup_col(s, 9, &ok);
        e->is_private = sqlite3_column_int(s, 10);
        if (!ok) break;
    }
    done_with(s);
    if (!ok)
        status = STORE_EIO;
    else if (rc != SQLITE_DONE)
        status = STORE_SQLITE__FATAL;
    for (size_t i = 0; i < n && status == STORE_OK; i++)
        status = read_participants(st, &es[i]);

    /* Hand the (possibly partial) list over so one function frees it. */
    op->u.channels_for_user.entries = es;
    op->u.channels_for_user.n_entries = n;
    if (status != STORE_OK) store_op_clear(op);
    return status;
}

/* Rare (a cluster cache miss), so its two statements are prepared per use
 * rather than kept in the connection's statement table. */
static int channel_get_rows(sqlite3 *db, store_op *op) {
    sqlite3_stmt *s = NULL;
    int rc, ok = 1;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, is_direct, creator, created_ms, is_private, topic"
                           " FROM channels WHERE channel_id = ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return STORE_SQLITE__FATAL;
    bind_chan(s, 1, op->u.channel_get.channel_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        op->u.channel_get.name = dup_col(s, 0, &ok);
        op->u.channel_get.is_direct = sqlite3_column_int(s, 1);
        op->u.channel_get.creator = dup_col(s, 2, &ok);
        op->u.channel_get.created_ms = sqlite3_column_int64(s, 3);
        op->u.channel_get.is_private = sqlite3_column_int(s, 4);
        op->u.channel_get.topic = dup_col(s, 5, &ok);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? STORE_ENOTFOUND : STORE_SQLITE__FATAL;
    if (!ok) return STORE_EIO;

    if (sqlite3_prepare_v2(db,
                           "SELECT user_id, is_admin, joined_ms FROM members"
                           " WHERE channel_id = ?1 ORDER BY joined_ms, rowid",
                           -1, &s, NULL) != SQLITE_OK)
        return STORE_SQLITE__FATAL;
    bind_chan(s, 1, op->u.channel_get.channel_id);
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (op->u.channel_get.n_members == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            proto_member *p = realloc(op->u.channel_get.members, ncap * sizeof(*p));
            if (!p) {
                ok = 0;
                break;
            }
            op->u.channel_get.members = p;
            cap = ncap;
        }
        proto_member *m = &op->u.channel_get.members[op->u.channel_get.n_members];
        m->user_id = dup_col(s, 0, &ok);
        if (!ok) break;
        m->is_admin = sqlite3_column_int(s, 1);
        m->joined_ms = sqlite3_column_int64(s, 2);
        op->u.channel_get.n_members++;
    }
    sqlite3_finalize(s);
    if (!ok) return STORE_EIO;
    return rc == SQLITE_DONE ? STORE_OK : STORE_SQLITE__FATAL;
}

static int op_channel_get(sqlite3_stmt **st, store_op *op) {
    int status = channel_get_rows(sqlite3_db_handle(st[SQ_BEGIN]), op);
    if (status != STORE_OK) store_op_clear(op); /* no output on error */
    return status;
}

int store_sqlite__exec_op(sqlite3_stmt **st, store_op *op) {
    /* Channel counters cached by appends are written back before anything
     * else runs (store_sqlite_counters.c). */
    if (op->kind != STORE_MSG_APPEND && store_sqlite__ctr_flush(st) != 0)
        return STORE_SQLITE__FATAL;
    switch (op->kind) {
    case STORE_USER_CREATE:
        return op_user_create(st, op);
    case STORE_USER_GET:
        return op_user_get(st, op);
    case STORE_CHANNEL_CREATE:
        return op_channel_create(st, op);
    case STORE_MEMBER_ADD:
        return op_member_add(st, op);
    case STORE_MEMBER_REMOVE:
        return op_member_remove(st, op);
    case STORE_MSG_APPEND:
        return op_msg_append(st, op);
    case STORE_MARK_READ:
        return op_mark_read(st, op);
    case STORE_HISTORY:
        return op_history(st, op);
    case STORE_CHANNELS_FOR_USER:
        return op_channels_for_user(st, op);
    case STORE_CHANNEL_GET:
        return op_channel_get(st, op);
    case STORE_MSG_EDIT:
    case STORE_MSG_DELETE:
    case STORE_REACT:
    case STORE_CHANGES:
    case STORE_THREAD:
        return store_sqlite__exec_change(st, op);
    default:
        return store_sqlite__exec_manage(st, op);
    }
}

/* ---- load ------------------------------------------------------------- */

static int load_rows(sqlite3_stmt **st, const store_load_cbs *cbs) {
    sqlite3_stmt *s = st[SQ_LOAD_USERS];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (cbs->user) cbs->user(cbs->data, (const char *)sqlite3_column_text(s, 0));
    done_with(s);
    if (rc != SQLITE_DONE) return -1;

    s = st[SQ_LOAD_CHANNELS];
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        if (cbs->channel)
            cbs->channel(cbs->data, id, (const char *)sqlite3_column_text(s, 1),
                         sqlite3_column_int(s, 2), (const char *)sqlite3_column_text(s, 3),
                         sqlite3_column_int64(s, 4));
        if (cbs->channel_ext)
            cbs->channel_ext(cbs->data, id, sqlite3_column_int(s, 5),
                             (const char *)sqlite3_column_text(s, 6));
    }
    done_with(s);
    if (rc != SQLITE_DONE) return -1;

    s = st[SQ_LOAD_MEMBERS];
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        proto_member m = {
            .user_id = (char *)sqlite3_column_text(s, 1),
            .is_admin = sqlite3_column_int(s, 2),
            .joined_ms = sqlite3_column_int64(s, 3),
        };
        if (cbs->member) cbs->member(cbs->data, (const char *)sqlite3_column_text(s, 0), &m);
    }
    done_with(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int store_sqlite__load(sqlite3_stmt **st, const store_load_cbs *cbs) {
    /* One transaction: the three lists are one consistent snapshot. */
    if (store_sqlite__run(st[SQ_BEGIN]) != SQLITE_OK) return STORE_EIO;
    int r = load_rows(st, cbs);
    if (r != 0) {
        store_sqlite__run(st[SQ_ROLLBACK]);
        return STORE_EIO;
    }
    return store_sqlite__run(st[SQ_COMMIT]) == SQLITE_OK ? STORE_OK : STORE_EIO;
}
