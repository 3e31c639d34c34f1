/*
 * store_pg_ops: one function per store op, run on the worker thread inside
 * the transaction store_pg.c opened (and load, run on the loop thread while
 * the worker is parked). Statement texts live in store_pg_schema.c; here
 * they are only given their parameters (as text) and their rows read.
 *
 * Error discipline: the statements are written so that the expected
 * outcomes (taken, absent, duplicate) are rows or row counts, never SQL
 * errors, because an error aborts the whole PostgreSQL transaction. Any
 * error is therefore STORE_PG__FATAL and store_pg.c fails the batch.
 */
#include "store/store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* ---- small helpers --------------------------------------------------- */

/* Rows changed by an INSERT/UPDATE/DELETE. */
static long changed(PGresult *r) {
    return strtol(PQcmdTuples(r), NULL, 10);
}

static void free_msg_strings(proto_msg *m) {
    store_msg_free(m);
}

/* Fills m from MSG_COLS starting at column c. 0, or -1 when out of memory
 * (m is then left with no strings). */
int store_pg__read_msg(const PGresult *r, int row, int c, proto_msg *m) {
    int ok = 1;
    m->id = get_u64(r, row, c);
    m->seq = get_i64(r, row, c + 1);
    m->created_ms = get_i64(r, row, c + 2);
    snprintf(m->channel_id, sizeof m->channel_id, "%s", PQgetvalue(r, row, c + 3));
    m->user_id = dup_val(r, row, c + 4, &ok);
    m->content = dup_val(r, row, c + 5, &ok);
    m->metadata = dup_val(r, row, c + 6, &ok);
    m->client_msg_id = dup_val(r, row, c + 7, &ok);
    m->edited_ms = get_i64(r, row, c + 8);
    m->deleted = get_bool(r, row, c + 9);
    m->reply_to = get_u64(r, row, c + 10);
    m->reply_count = get_i64(r, row, c + 11);
    m->last_reply_ms = get_i64(r, row, c + 12);
    m->mentions = dup_val(r, row, c + 13, &ok);
    m->reactions = NULL; /* read separately (store_pg__reactions) */
    m->n_reactions = 0;
    if (ok) return 0;
    free_msg_strings(m);
    return -1;
}
#define read_msg store_pg__read_msg

/* ---- channel locks ---------------------------------------------------- */

/* Appends `"id"` to the array literal at *p (escaping as arrays require). */
static char *put_elem(char *p, const char *id) {
    *p++ = '"';
    for (; *id; id++) {
        if (*id == '"' || *id == '\\') *p++ = '\\';
        *p++ = *id;
    }
    *p++ = '"';
    return p;
}

/* The channel whose seq op takes (its row is locked first), or NULL. */
static const char *locked_channel(const store_op *op) {
    switch (op->kind) {
    case STORE_MSG_APPEND:
        return op->u.msg_append.msg.channel_id;
    case STORE_MSG_EDIT:
    case STORE_MSG_DELETE:
    case STORE_REACT:
        return op->u.change.channel_id;
    default:
        return NULL;
    }
}

int store_pg__lock_channels(PGconn *c, store_op *ops) {
    size_t n = 0;
    for (store_op *op = ops; op; op = op->next__)
        n += locked_channel(op) != NULL;
    if (n == 0) return 0;

    /* {"id","id",...}: at most 2*36+3 bytes per id, plus braces and NUL. */
    char *arr = malloc(n * 75 + 3), *p = arr;
    if (!arr) return STORE_PG__FATAL;
    *p++ = '{';
    for (store_op *op = ops; op; op = op->next__) {
        const char *ch = locked_channel(op);
        if (!ch) continue;
        if (p != arr + 1) *p++ = ',';
        p = put_elem(p, chan_of(ch).s);
    }
    *p++ = '}';
    *p = '\0';
    PGresult *r = EXEC(c, PQ_LOCK_CHANNELS, arr);
    free(arr);
    PQclear(r);
    return r ? 0 : STORE_PG__FATAL;
}

/* ---- the ops ---------------------------------------------------------- */

static int op_user_create(PGconn *c, store_op *op) {
    if (!op->u.user_create.username || !op->u.user_create.pw_hash) return STORE_EIO;
    PGresult *r = EXEC(c, PQ_USER_INSERT, op->u.user_create.username, op->u.user_create.pw_hash,
                       i64(op->u.user_create.created_ms).s);
    if (!r) return STORE_PG__FATAL;
    int status = changed(r) == 1 ? STORE_OK : STORE_EEXIST;
    PQclear(r);
    return status;
}

static int op_user_get(PGconn *c, store_op *op) {
    int ok = 1, status = STORE_ENOTFOUND;
    PGresult *r = EXEC(c, PQ_USER_GET, op->u.user_get.username);
    if (!r) return STORE_PG__FATAL;
    if (PQntuples(r) == 1) {
        op->u.user_get.pw_hash = dup_val(r, 0, 0, &ok);
        op->u.user_get.created_ms = get_i64(r, 0, 1);
        status = ok ? STORE_OK : STORE_EIO;
    }
    PQclear(r);
    return status;
}

/* All or nothing without a savepoint: when the channel id is taken no
 * member row is written, and member rows cannot fail (ON CONFLICT). */
static int op_channel_create(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.channel_create.channel_id);
    const char *name = op->u.channel_create.name ? op->u.channel_create.name : "";
    if (!op->u.channel_create.creator) return STORE_EIO;
    PGresult *r = EXEC(c, PQ_CHAN_INSERT, ch.s, name, op->u.channel_create.is_direct ? "t" : "f",
                       op->u.channel_create.creator, i64(op->u.channel_create.created_ms).s,
                       op->u.channel_create.dm_key, op->u.channel_create.is_private ? "t" : "f");
    if (!r) return STORE_PG__FATAL;
    long n = changed(r);
    PQclear(r);
    if (n != 1 && op->u.channel_create.dm_key) { /* the pair has a direct channel */
        r = EXEC(c, PQ_CHAN_BY_DM, op->u.channel_create.dm_key);
        if (!r) return STORE_PG__FATAL;
        if (PQntuples(r) == 1)
            snprintf(op->u.channel_create.existing_id, sizeof op->u.channel_create.existing_id,
                     "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    if (n != 1) return STORE_EEXIST;

    long added = 0;
    for (size_t i = 0; i < op->u.channel_create.n_members; i++) {
        const proto_member *m = &op->u.channel_create.members[i];
        if (!m->user_id) return STORE_PG__FATAL; /* the channel row is in: undo it all */
        r = EXEC(c, PQ_MEMBER_INSERT, ch.s, m->user_id, m->is_admin ? "t" : "f",
                 i64(m->joined_ms).s);
        if (!r) return STORE_PG__FATAL;
        added += changed(r);
        PQclear(r);
    }
    r = EXEC(c, PQ_CHAN_MEMBERS_ADD, ch.s, i64(added).s);
    if (!r) return STORE_PG__FATAL;
    PQclear(r);
    return STORE_OK;
}

static int op_member_add(PGconn *c, store_op *op) {
    if (!op->u.member_add.user_id) return STORE_EIO;
    PGresult *r =
        EXEC(c, PQ_MEMBER_ADD, chan_of(op->u.member_add.channel_id).s, op->u.member_add.user_id,
             op->u.member_add.is_admin ? "t" : "f", i64(op->u.member_add.joined_ms).s);
    if (!r) return STORE_PG__FATAL;
    int found = get_i64(r, 0, 0) > 0;
    int added = get_i64(r, 0, 1) > 0;
    PQclear(r);
    if (!found) return STORE_ENOTFOUND;
    op->u.member_add.added = added;
    return STORE_OK;
}

static int op_member_remove(PGconn *c, store_op *op) {
    PGresult *r = EXEC(c, PQ_MEMBER_DELETE, chan_of(op->u.member_remove.channel_id).s,
                       op->u.member_remove.user_id);
    if (!r) return STORE_PG__FATAL;
    int64_t n = PQntuples(r) == 1 ? get_i64(r, 0, 0) : 0;
    PQclear(r);
    return n > 0 ? store_pg__keep_admin(c, op) : STORE_ENOTFOUND;
}

/* Result columns of PQ_MSG_APPEND. */
enum { AP_CHAN, AP_USED, AP_SEQ, AP_NEWEST, AP_PARENT, AP_PARENT_DELETED, AP_ROOT, AP_DUP };

/* The op's status from its PQ_MSG_APPEND row. */
static int append_result(const PGresult *r, store_op *op) {
    proto_msg *m = &op->u.msg_append.msg;
    if (PQntuples(r) != 1) return STORE_PG__FATAL;
    if (get_i64(r, 0, AP_CHAN) == 0) return STORE_ENOTFOUND;
    if (!PQgetisnull(r, 0, AP_DUP)) { /* this user sent client_msg_id here before */
        proto_msg orig = {0};
        if (store_pg__read_msg(r, 0, AP_DUP, &orig) != 0) return STORE_EIO;
        op->u.msg_append.caller__ = *m;
        *m = orig;
        op->u.msg_append.owned__ = 1;
        return STORE_EDUP;
    }
    if (m->reply_to && get_i64(r, 0, AP_PARENT) == 0) { /* nothing stored */
        op->u.msg_append.refused = STORE_REFUSE_NO_PARENT;
        return STORE_OK;
    }
    if (m->reply_to && get_bool(r, 0, AP_PARENT_DELETED)) {
        op->u.msg_append.refused = STORE_REFUSE_DELETED;
        return STORE_OK;
    }
    if (!PQgetisnull(r, 0, AP_SEQ)) {
        m->seq = get_i64(r, 0, AP_SEQ);
        if (m->reply_to) m->reply_to = get_u64(r, 0, AP_ROOT);
        return STORE_OK;
    }
    /* a message id stored before: this op fails, no seq was taken */
    if (get_i64(r, 0, AP_USED)) return STORE_EIO;
    /* the channel has a newer id (another server's, or from the same
     * millisecond): the caller retries with a greater one. The value may be
     * from before a concurrent append; the retry then learns a newer one. */
    op->u.msg_append.newest_id = (uint64_t)get_i64(r, 0, AP_NEWEST);
    return STORE_ESTALE;
}

/* "1" when a message counts for unread counts (a user's, not a notice). */
static const char *countable(const proto_msg *m) {
    return strcmp(m->user_id, "system") ? "1" : "0";
}

static int append_valid(const store_op *op) {
    return op->u.msg_append.msg.user_id && op->u.msg_append.msg.content;
}

/* Queues one append on a connection in pipeline mode. 1 sent, 0 not. */
static int append_send(PGconn *c, store_op *op) {
    proto_msg *m = &op->u.msg_append.msg;
    num id = u64(m->id), at = i64(m->created_ms), parent = u64(m->reply_to);
    chan ch = chan_of(m->channel_id);
    const char *params[] = {ch.s,
                            id.s,
                            m->user_id,
                            m->content,
                            m->metadata ? m->metadata : "{}",
                            m->client_msg_id,
                            at.s,
                            countable(m),
                            m->reply_to ? parent.s : NULL,
                            m->mentions};
    char name[16];
    snprintf(name, sizeof name, "s%d", PQ_MSG_APPEND);
    return PQsendQueryPrepared(c, name, 10, params, NULL, NULL, 0);
}

/* Every query's results end with a NULL from PQgetResult. */
static int query_end(PGconn *c) {
    PGresult *extra = PQgetResult(c);
    if (!extra) return 0;
    PQclear(extra);
    return -1;
}

int store_pg__append_run(PGconn *c, store_op *first, int n) {
    int fatal = !PQenterPipelineMode(c);
    store_op *op = first;
    for (int i = 0; i < n && !fatal; i++, op = op->next__)
        if (append_valid(op) && !append_send(c, op)) fatal = 1;
    if (fatal || !PQpipelineSync(c)) return STORE_PG__FATAL; /* the caller drops c */

    /* Read every result even after an error (the rest then say
     * PIPELINE_ABORTED), so the connection leaves pipeline mode usable. */
    op = first;
    for (int i = 0; i < n; i++, op = op->next__) {
        if (!append_valid(op)) {
            op->status = STORE_EIO;
            continue;
        }
        PGresult *r = PQgetResult(c);
        if (!r) return STORE_PG__FATAL; /* connection gone */
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            int st = fatal ? STORE_PG__FATAL : append_result(r, op);
            if (st == STORE_PG__FATAL)
                fatal = 1;
            else
                op->status = st;
        } else {
            const char *msg = PQresultErrorMessage(r);
            if (PQresultStatus(r) != PGRES_PIPELINE_ABORTED)
                log_warn("store_pg: append failed: %.*s", (int)strcspn(msg, "\n"), msg);
            fatal = 1;
        }
        PQclear(r);
        if (query_end(c) != 0) return STORE_PG__FATAL;
    }
    PGresult *r = PQgetResult(c);
    int synced = r && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (!synced || !PQexitPipelineMode(c)) return STORE_PG__FATAL;
    return fatal ? STORE_PG__FATAL : STORE_OK;
}

static int op_msg_append(PGconn *c, store_op *op) {
    proto_msg *m = &op->u.msg_append.msg;
    if (!append_valid(op)) return STORE_EIO;
    PGresult *r =
        EXEC(c, PQ_MSG_APPEND, chan_of(m->channel_id).s, u64(m->id).s, m->user_id, m->content,
             m->metadata ? m->metadata : "{}", m->client_msg_id, i64(m->created_ms).s, countable(m),
             m->reply_to ? u64(m->reply_to).s : NULL, m->mentions);
    if (!r) return STORE_PG__FATAL;
    int status = append_result(r, op);
    PQclear(r);
    return status;
}

/* The seq of message `id` in channel ch and (count_no not NULL) the
 * channel's count of countable messages up to it: 1 found, 0 not, FATAL. */
static int msg_seq(PGconn *c, const char *ch, uint64_t id, int64_t *seq, int64_t *count_no) {
    PGresult *r = EXEC(c, PQ_MSG_SEQ, ch, u64(id).s);
    if (!r) return STORE_PG__FATAL;
    int found = PQntuples(r) == 1;
    if (found) *seq = get_i64(r, 0, 0);
    if (found && count_no) *count_no = get_i64(r, 0, 1);
    PQclear(r);
    return found;
}

/* A read mark keeps, beside the message, the counters as of it (the
 * channel's countable messages and the reader's own), so that unread =
 * (channel now - at mark) - (own now - own at mark) needs no scan. */
static int op_mark_read(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.mark_read.channel_id);
    const char *user = op->u.mark_read.user_id;
    uint64_t old_id, new_id = op->u.mark_read.message_id;
    int64_t old_ms, old_seq, own_count, new_seq = 0, new_count = 0, last;

    PGresult *r = EXEC(c, PQ_MEMBER_MARK, ch.s, user);
    if (!r) return STORE_PG__FATAL;
    if (PQntuples(r) != 1) { /* not a member (or no such channel) */
        PQclear(r);
        return STORE_ENOTFOUND;
    }
    old_id = get_u64(r, 0, 0);
    old_ms = get_i64(r, 0, 1);
    old_seq = get_i64(r, 0, 2);
    own_count = get_i64(r, 0, 3);
    PQclear(r);

    r = EXEC(c, PQ_CHAN_LAST_SEQ, ch.s);
    if (!r) return STORE_PG__FATAL;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return STORE_ENOTFOUND;
    }
    last = get_i64(r, 0, 0);
    if (new_id == 0) { /* the latest (none in an empty channel) */
        new_id = get_u64(r, 0, 1);
        new_count = get_i64(r, 0, 2);
        new_seq = last;
    }
    PQclear(r);
    if (op->u.mark_read.message_id) {
        int found = msg_seq(c, ch.s, new_id, &new_seq, &new_count);
        if (found != 1) return found == 0 ? STORE_ENOTFOUND : found;
    }

    if (new_seq <= old_seq) { /* never backwards; same mark = no change */
        op->u.mark_read.message_id = old_id;
        op->u.mark_read.last_read_ms = old_ms;
        op->u.mark_read.moved = 0;
        return STORE_OK;
    }
    /* The reader's own messages up to the mark: all of them when it is the
     * latest, else the count kept on their last one before it. */
    int64_t own_at = own_count;
    if (new_seq < last) {
        r = EXEC(c, PQ_MSG_OWN_AT, ch.s, user, i64(new_seq).s);
        if (!r) return STORE_PG__FATAL;
        own_at = PQntuples(r) == 1 ? get_i64(r, 0, 0) : 0;
        PQclear(r);
    }
    r = EXEC(c, PQ_MEMBER_SET_MARK, ch.s, user, u64(new_id).s, i64(op->u.mark_read.at_ms).s,
             i64(new_seq).s, i64(new_count).s, i64(own_at).s);
    if (!r) return STORE_PG__FATAL;
    PQclear(r);
    if (store_pg__mentions_read(c, ch.s, user, old_seq, new_seq) != 0) return STORE_PG__FATAL;
    op->u.mark_read.message_id = new_id;
    op->u.mark_read.last_read_ms = op->u.mark_read.at_ms;
    op->u.mark_read.moved = 1;
    return STORE_OK;
}

static int op_history(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.history.channel_id);
    int limit = op->u.history.limit;
    int64_t cursor = INT64_MAX;
    uint64_t cursor_id = op->u.history.before ? op->u.history.before : op->u.history.after;
    int ascending = !op->u.history.before && op->u.history.after;

    if (limit < 1) limit = 1;
    if (limit > 100) limit = 100;
    PGresult *r = EXEC(c, PQ_CHAN_LAST_SEQ, ch.s);
    if (!r) return STORE_PG__FATAL;
    int found = PQntuples(r) == 1;
    PQclear(r);
    if (!found) return STORE_ENOTFOUND;
    if (cursor_id) {
        found = msg_seq(c, ch.s, cursor_id, &cursor, NULL);
        if (found != 1) return found == 0 ? STORE_ENOTFOUND : found;
    }

    /* One row more than asked says whether more remain. */
    r = EXEC(c, ascending ? PQ_HIST_AFTER : PQ_HIST_BEFORE, ch.s, i64(cursor).s, i64(limit + 1).s);
    if (!r) return STORE_PG__FATAL;
    size_t rows = (size_t)PQntuples(r);
    size_t n = rows > (size_t)limit ? (size_t)limit : rows;
    proto_msg *msgs = calloc(n ? n : 1, sizeof(*msgs));
    int status = msgs ? STORE_OK : STORE_EIO;
    /* Fetched newest first unless ascending; the page is oldest first. */
    for (size_t i = 0; i < n && status == STORE_OK; i++) {
        proto_msg *m = &msgs[ascending ? i : n - 1 - i];
        if (store_pg__read_msg(r, (int)i, 0, m) != 0) status = STORE_EIO;
    }
    PQclear(r);
    op->u.history.msgs = msgs;
    op->u.history.n_msgs = n;
    op->u.history.has_more = rows > (size_t)limit;
    if (status == STORE_OK) status = store_pg__reactions(c, msgs, n);
    if (status != STORE_OK) store_op_clear(op); /* frees what was read */
    return status;
}

/* Fills each entry's participants from PQ_PARTICIPANTS_OF_USER (rows
 * grouped by channel). STORE_OK, STORE_EIO (memory) or FATAL. */
static int read_participants(PGconn *c, const char *user, proto_channel_entry *es, size_t n) {
    char page[16];
    snprintf(page, sizeof page, "%d", STORE_LIST_MEMBERS);
    PGresult *r = EXEC(c, PQ_PARTICIPANTS_OF_USER, user, page);
    if (!r) return STORE_PG__FATAL;
    int ok = 1, rows = PQntuples(r);
    size_t e = 0, cap = 0;
    for (int i = 0; i < rows && ok; i++) {
        const char *ch = PQgetvalue(r, i, 0);
        if (e >= n || strcmp(es[e].channel_id, ch) != 0) { /* next group */
            for (e = 0; e < n && strcmp(es[e].channel_id, ch) != 0; e++)
                ;
            if (e == n) continue; /* joined between the two reads */
            cap = es[e].n_participants;
        }
        proto_channel_entry *en = &es[e];
        if (en->n_participants == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **p = realloc(en->participants, ncap * sizeof(*p));
            if (!p) {
                ok = 0;
                break;
            }
            en->participants = p;
            cap = ncap;
        }
        char *u = dup_val(r, i, 1, &ok);
        if (u) en->participants[en->n_participants++] = u;
    }
    PQclear(r);
    return ok ? STORE_OK : STORE_EIO;
}

static int op_channels_for_user(PGconn *c, store_op *op) {
    const char *user = op->u.channels_for_user.user_id;
    PGresult *r = EXEC(c, PQ_CHANNELS_OF_USER, user);
    if (!r) return STORE_PG__FATAL;
    size_t n = (size_t)PQntuples(r);
    proto_channel_entry *es = calloc(n ? n : 1, sizeof(*es));
    int ok = es != NULL;
    for (size_t i = 0; i < n && ok; i++) {
        proto_channel_entry *e = &es[i];
        int row = (int)i;
        snprintf(e->channel_id, sizeof e->channel_id, "%s", PQgetvalue(r, row, 0));
        e->name = dup_val(r, row, 1, &ok);
        e->is_direct = get_bool(r, row, 2);
        e->last_read_message_id = get_u64(r, row, 3);
        e->last_read_ms = get_i64(r, row, 4);
        e->last_message_id = get_u64(r, row, 5);
        e->unread_count = get_i64(r, row, 6);
        e->member_count = get_i64(r, row, 7);
        e->mention_count = get_i64(r, row, 8);
        e->topic = dup_val(r, row, 9, &ok);
        e->is_private = get_bool(r, row, 10);
    }
    PQclear(r);
    /* Hand the (possibly partial) list over so one function frees it. */
    op->u.channels_for_user.entries = es;
    op->u.channels_for_user.n_entries = es ? n : 0;
    int status = ok ? read_participants(c, user, es, n) : STORE_EIO;
    if (status != STORE_OK) store_op_clear(op);
    return status;
}

static int op_channel_get(PGconn *c, store_op *op) {
    chan ch = chan_of(op->u.channel_get.channel_id);
    int ok = 1;
    PGresult *r = EXEC(c, PQ_CHAN_GET, ch.s);
    if (!r) return STORE_PG__FATAL;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return STORE_ENOTFOUND;
    }
    op->u.channel_get.name = dup_val(r, 0, 0, &ok);
    op->u.channel_get.is_direct = get_bool(r, 0, 1);
    op->u.channel_get.creator = dup_val(r, 0, 2, &ok);
    op->u.channel_get.created_ms = get_i64(r, 0, 3);
    op->u.channel_get.is_private = get_bool(r, 0, 4);
    op->u.channel_get.topic = dup_val(r, 0, 5, &ok);
    PQclear(r);

    r = EXEC(c, PQ_MEMBERS_FULL, ch.s);
    int status = r ? STORE_OK : STORE_PG__FATAL;
    size_t n = r ? (size_t)PQntuples(r) : 0;
    proto_member *ms = r ? calloc(n ? n : 1, sizeof(*ms)) : NULL;
    if (r && !ms) ok = 0;
    op->u.channel_get.members = ms;
    for (size_t i = 0; ms && i < n && ok; i++) {
        ms[i].user_id = dup_val(r, (int)i, 0, &ok);
        ms[i].is_admin = get_bool(r, (int)i, 1);
        ms[i].joined_ms = get_i64(r, (int)i, 2);
        op->u.channel_get.n_members = i + 1;
    }
    PQclear(r);
    if (status == STORE_OK && !ok) status = STORE_EIO;
    if (status != STORE_OK) store_op_clear(op);
    return status;
}

int store_pg__exec_op(PGconn *c, store_op *op) {
    switch (op->kind) {
    case STORE_USER_CREATE:
        return op_user_create(c, op);
    case STORE_USER_GET:
        return op_user_get(c, op);
    case STORE_CHANNEL_CREATE:
        return op_channel_create(c, op);
    case STORE_MEMBER_ADD:
        return op_member_add(c, op);
    case STORE_MEMBER_REMOVE:
        return op_member_remove(c, op);
    case STORE_MSG_APPEND:
        return op_msg_append(c, op);
    case STORE_MARK_READ:
        return op_mark_read(c, op);
    case STORE_HISTORY:
        return op_history(c, op);
    case STORE_CHANNELS_FOR_USER:
        return op_channels_for_user(c, op);
    case STORE_CHANNEL_GET:
        return op_channel_get(c, op);
    case STORE_MSG_EDIT:
    case STORE_MSG_DELETE:
    case STORE_REACT:
    case STORE_CHANGES:
    case STORE_THREAD:
        return store_pg__exec_change(c, op);
    default:
        return store_pg__exec_manage(c, op);
    }
}

/* ---- load ------------------------------------------------------------- */

static int load_rows(PGconn *c, const store_load_cbs *cbs) {
    PGresult *r = store_pg__exec(c, PQ_LOAD_USERS, 0, NULL);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++)
        if (cbs->user) cbs->user(cbs->data, PQgetvalue(r, i, 0));
    PQclear(r);

    r = store_pg__exec(c, PQ_LOAD_CHANNELS, 0, NULL);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        if (cbs->channel)
            cbs->channel(cbs->data, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), get_bool(r, i, 2),
                         PQgetvalue(r, i, 3), get_i64(r, i, 4));
        if (cbs->channel_ext)
            cbs->channel_ext(cbs->data, PQgetvalue(r, i, 0), get_bool(r, i, 5),
                             PQgetvalue(r, i, 6));
    }
    PQclear(r);

    r = store_pg__exec(c, PQ_LOAD_MEMBERS, 0, NULL);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        proto_member m = {
            .user_id = PQgetvalue(r, i, 1),
            .is_admin = get_bool(r, i, 2),
            .joined_ms = get_i64(r, i, 3),
        };
        if (cbs->member) cbs->member(cbs->data, PQgetvalue(r, i, 0), &m);
    }
    PQclear(r);
    return 0;
}

int store_pg__load(PGconn *c, const store_load_cbs *cbs) {
    /* One snapshot: the three lists agree with each other. */
    if (store_pg__cmd(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) return STORE_EIO;
    if (load_rows(c, cbs) != 0) {
        store_pg__cmd(c, "ROLLBACK");
        return STORE_EIO;
    }
    return store_pg__cmd(c, "COMMIT") == 0 ? STORE_OK : STORE_EIO;
}
