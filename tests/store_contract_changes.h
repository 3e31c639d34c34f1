/*
 * The store contract of protocol 1.1 (src/store/store.h: MSG_EDIT,
 * MSG_DELETE, REACT, CHANGES, THREAD, and what MSG_APPEND and MARK_READ do
 * for replies and mentions) as tests every backend must pass: one gapless
 * seq over messages and changes, fetch_changes pages, who may change what,
 * erasure, reactions' order and cap, threads, mention counts, unread
 * counts that skip deleted messages.
 *
 * Included by test_store.c (SQLite) and test_store_pg.c (PostgreSQL) after
 * store_contract.h. Header-only: static tests listed by
 * STORE_CHANGES_CONTRACT_TESTS.
 */
#ifndef CHATD_STORE_CONTRACT_CHANGES_H
#define CHATD_STORE_CONTRACT_CHANGES_H

#include "store_test_util.h"

/* Runs one EDIT/DELETE/REACT; *seq and *refused get the outputs. */
static inline int change(fx *f, store_op_kind kind, const char *ch, uint64_t id, const char *user,
                         const char *text, int add, int64_t *seq, int *refused) {
    store_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    snprintf(op.u.change.channel_id, 37, "%.36s", ch);
    op.u.change.message_id = id;
    op.u.change.user_id = user;
    op.u.change.at_ms = 5000 + (int64_t)id;
    if (kind == STORE_MSG_EDIT) op.u.change.content = text;
    if (kind == STORE_REACT) op.u.change.emoji = text;
    op.u.change.add = add;
    int st = run_op(f, &op);
    if (seq) *seq = op.u.change.seq;
    if (refused) *refused = op.u.change.refused;
    store_op_clear(&op);
    return st;
}

static inline int edit_with(fx *f, const char *ch, uint64_t id, const char *user, const char *text,
                            const char *mentions, int64_t *seq) {
    store_op op;
    memset(&op, 0, sizeof op);
    op.kind = STORE_MSG_EDIT;
    snprintf(op.u.change.channel_id, 37, "%.36s", ch);
    op.u.change.message_id = id;
    op.u.change.user_id = user;
    op.u.change.content = text;
    op.u.change.mentions = mentions;
    op.u.change.at_ms = 7000;
    int st = run_op(f, &op);
    if (seq) *seq = op.u.change.seq;
    assert_int_equal(op.u.change.refused, STORE_REFUSE_NONE);
    store_op_clear(&op);
    return st;
}

static inline int changes(fx *f, store_op *op, const char *ch, int64_t after, int limit) {
    memset(op, 0, sizeof(*op));
    op->kind = STORE_CHANGES;
    snprintf(op->u.changes.channel_id, 37, "%.36s", ch);
    op->u.changes.after_seq = after;
    op->u.changes.limit = limit;
    return run_op(f, op);
}

/* An append with reply_to / mentions; *seq, *root (normalised reply_to),
 * *refused get the outputs. */
static inline int append_ext(fx *f, const char *ch, const char *user, uint64_t id,
                             uint64_t reply_to, const char *mentions, int64_t *seq, uint64_t *root,
                             int *refused) {
    store_op op;
    fill_append(&op, ch, user, id, "text", NULL);
    op.u.msg_append.msg.reply_to = reply_to;
    op.u.msg_append.msg.mentions = (char *)mentions;
    int st = run_op(f, &op);
    if (seq) *seq = op.u.msg_append.msg.seq;
    if (root) *root = op.u.msg_append.msg.reply_to;
    if (refused) *refused = op.u.msg_append.refused;
    store_op_clear(&op);
    return st;
}

/* The message with this id in a history page of CH_A (newest 100). */
static inline proto_msg *find_msg(store_op *op, uint64_t id) {
    for (size_t i = 0; i < op->u.history.n_msgs; i++)
        if (op->u.history.msgs[i].id == id) return &op->u.history.msgs[i];
    fail_msg("message %llu not in the page", (unsigned long long)id);
    return NULL;
}

static inline int64_t counts_of(fx *f, const char *user, int64_t *mentions) {
    store_op op;
    assert_int_equal(channels_for(f, &op, user), STORE_OK);
    proto_channel_entry *e = entry(&op, CH_A);
    int64_t unread = e->unread_count;
    if (mentions) *mentions = e->mention_count;
    store_op_clear(&op);
    return unread;
}

/* ---- tests ------------------------------------------------------------ */

/* Messages, edits, reactions and deletions share one gapless seq; a change
 * that changes nothing takes none; fetch_changes replays them in order. */
static void test_changes_one_sequence(void **state) {
    fx *f = *state;
    int64_t seq = -1;
    int refused = -1;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    for (uint64_t i = 1; i <= 3; i++)
        assert_int_equal(append(f, CH_A, i == 2 ? "bob" : "alice", 100 + i, "m", NULL, &seq),
                         STORE_OK);
    assert_int_equal(change(f, STORE_MSG_EDIT, CH_A, 101, "alice", "m1 v2", 0, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NONE);
    assert_int_equal(seq, 4);
    assert_int_equal(change(f, STORE_REACT, CH_A, 102, "alice", "+1", 1, &seq, NULL), STORE_OK);
    assert_int_equal(seq, 5);
    assert_int_equal(change(f, STORE_REACT, CH_A, 102, "alice", "+1", 1, &seq, NULL), STORE_OK);
    assert_int_equal(seq, 0); /* added twice: nothing */
    assert_int_equal(change(f, STORE_REACT, CH_A, 102, "bob", "+1", 0, &seq, NULL), STORE_OK);
    assert_int_equal(seq, 0); /* removing one never added: nothing */
    assert_int_equal(change(f, STORE_REACT, CH_A, 102, "alice", "+1", 0, &seq, NULL), STORE_OK);
    assert_int_equal(seq, 6);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 101, "alice", NULL, 0, &seq, NULL),
                     STORE_OK);
    assert_int_equal(seq, 7);
    assert_int_equal(append(f, CH_A, "bob", 104, "after", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 8);

    store_op op;
    assert_int_equal(changes(f, &op, CH_A, 0, 500), STORE_OK);
    assert_int_equal(op.u.changes.n_events, 8);
    assert_int_equal(op.u.changes.has_more, 0);
    proto_change *e = op.u.changes.events;
    proto_change_kind want[] = {PROTO_CHANGE_MESSAGE,   PROTO_CHANGE_MESSAGE,
                                PROTO_CHANGE_MESSAGE,   PROTO_CHANGE_EDIT,
                                PROTO_CHANGE_REACT_ADD, PROTO_CHANGE_REACT_REMOVE,
                                PROTO_CHANGE_DELETE,    PROTO_CHANGE_MESSAGE};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(e[i].seq, i + 1);
        assert_int_equal(e[i].kind, want[i]);
    }
    /* the deleted message and its edit: no text, marked deleted */
    assert_int_equal(e[0].msg.id, 101);
    assert_string_equal(e[0].msg.content, "");
    assert_int_equal(e[0].msg.deleted, 1);
    assert_string_equal(e[3].content, "");
    assert_int_equal(e[3].deleted, 1);
    assert_int_equal(e[3].message_id, 101);
    /* the others as they were */
    assert_string_equal(e[1].msg.user_id, "bob");
    assert_string_equal(e[1].msg.content, "m");
    assert_int_equal(e[1].msg.deleted, 0);
    assert_string_equal(e[4].emoji, "+1");
    assert_string_equal(e[4].user_id, "alice");
    assert_int_equal(e[4].message_id, 102);
    assert_string_equal(e[6].user_id, "alice");
    assert_int_equal(e[6].at_ms, 5101);
    store_op_clear(&op);
    assert_null(op.u.changes.events);

    /* pages */
    assert_int_equal(changes(f, &op, CH_A, 2, 3), STORE_OK);
    assert_int_equal(op.u.changes.n_events, 3);
    assert_int_equal(op.u.changes.events[0].seq, 3);
    assert_int_equal(op.u.changes.events[2].seq, 5);
    assert_int_equal(op.u.changes.has_more, 1);
    store_op_clear(&op);
    assert_int_equal(changes(f, &op, CH_A, 8, 10), STORE_OK);
    assert_int_equal(op.u.changes.n_events, 0);
    assert_int_equal(op.u.changes.has_more, 0);
    store_op_clear(&op);
    assert_int_equal(changes(f, &op, CH_B, 0, 10), STORE_ENOTFOUND);
}

/* An edit replays the text as first sent, then each edit's own text. */
static void test_changes_replay_edits(void **state) {
    fx *f = *state;
    int64_t seq;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "first", NULL, &seq), STORE_OK);
    assert_int_equal(edit_with(f, CH_A, 101, "alice", "second", NULL, &seq), STORE_OK);
    assert_int_equal(edit_with(f, CH_A, 101, "alice", "third", NULL, &seq), STORE_OK);
    store_op op;
    assert_int_equal(changes(f, &op, CH_A, 0, 10), STORE_OK);
    assert_int_equal(op.u.changes.n_events, 3);
    assert_string_equal(op.u.changes.events[0].msg.content, "first");
    assert_int_equal(op.u.changes.events[0].msg.edited_ms, 0);
    assert_string_equal(op.u.changes.events[1].content, "second");
    assert_string_equal(op.u.changes.events[2].content, "third");
    store_op_clear(&op);
    assert_int_equal(history(f, &op, CH_A, 0, 0, 10), STORE_OK);
    assert_string_equal(op.u.history.msgs[0].content, "third");
    assert_int_equal(op.u.history.msgs[0].edited_ms, 7000);
    store_op_clear(&op);
}

static void test_changes_permissions(void **state) {
    fx *f = *state;
    int64_t seq;
    int refused;
    /* alice created the channel: its admin; bob and carol are members */
    const char *abc[] = {"alice", "bob", "carol", NULL};
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, abc), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1000, abc), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "alice's", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_A, "bob", 102, "bob's", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_A, "system", 103, "carol has joined", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 201, "elsewhere", NULL, NULL), STORE_OK);

    /* edit: the author only */
    assert_int_equal(change(f, STORE_MSG_EDIT, CH_A, 101, "bob", "x", 0, &seq, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NOT_AUTHOR);
    assert_int_equal(seq, 0);
    assert_int_equal(change(f, STORE_MSG_EDIT, CH_A, 103, "alice", "x", 0, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_SYSTEM);
    /* unknown, or in another channel */
    assert_int_equal(change(f, STORE_MSG_EDIT, CH_A, 999, "alice", "x", 0, NULL, NULL),
                     STORE_ENOTFOUND);
    assert_int_equal(change(f, STORE_MSG_EDIT, CH_A, 201, "bob", "x", 0, NULL, NULL),
                     STORE_ENOTFOUND);
    /* delete: the author or an admin */
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 101, "carol", NULL, 0, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NOT_AUTHOR);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 103, "alice", NULL, 0, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_SYSTEM);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 102, "alice", NULL, 0, &seq, &refused),
                     STORE_OK); /* the admin deletes bob's */
    assert_int_equal(refused, STORE_REFUSE_NONE);
    assert_int_equal(seq, 4); /* the refusals took no seq */
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 102, "bob", NULL, 0, NULL, NULL),
                     STORE_ENOTFOUND); /* twice */
    /* a deleted message is neither edited nor reacted to */
    assert_int_equal(change(f, STORE_MSG_EDIT, CH_A, 102, "bob", "x", 0, NULL, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_DELETED);
    assert_int_equal(change(f, STORE_REACT, CH_A, 102, "bob", "+1", 1, NULL, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_DELETED);
    assert_int_equal(change(f, STORE_REACT, CH_A, 103, "bob", "+1", 1, NULL, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_SYSTEM);
    /* the author deletes their own */
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_B, 201, "bob", NULL, 0, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NONE);
    assert_int_equal(seq, 2);
    /* a direct channel has no admin: its creator may not delete the other's */
    assert_int_equal(chan_create(f, CH_C, "", 1, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_C, "bob", 301, "in private", NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_C, 301, "alice", NULL, 0, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NOT_AUTHOR);
}

/* Erasure: the message keeps its place with no text, metadata, mentions
 * or reactions, and no earlier edit's text survives anywhere. */
static void test_changes_erase(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append_ext(f, CH_A, "alice", 101, 0, "bob", NULL, NULL, NULL), STORE_OK);
    assert_int_equal(edit_with(f, CH_A, 101, "alice", "secret v2", "bob", NULL), STORE_OK);
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", "+1", 1, NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 101, "alice", NULL, 0, NULL, NULL),
                     STORE_OK);
    store_op op;
    assert_int_equal(history(f, &op, CH_A, 0, 0, 10), STORE_OK);
    proto_msg *m = &op.u.history.msgs[0];
    assert_int_equal(m->deleted, 1);
    assert_string_equal(m->content, "");
    assert_string_equal(m->metadata, "{}");
    assert_null(m->mentions);
    assert_int_equal(m->n_reactions, 0);
    store_op_clear(&op);
    assert_int_equal(changes(f, &op, CH_A, 0, 10), STORE_OK);
    for (size_t i = 0; i < op.u.changes.n_events; i++) {
        proto_change *e = &op.u.changes.events[i];
        const char *text = e->kind == PROTO_CHANGE_MESSAGE ? e->msg.content : e->content;
        if (text) assert_string_equal(text, "");
        assert_null(e->kind == PROTO_CHANGE_MESSAGE ? e->msg.mentions : e->mentions);
    }
    store_op_clear(&op);
}

static void test_changes_reactions(void **state) {
    fx *f = *state;
    int refused;
    int64_t seq;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "m", NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", "B", 1, NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "alice", "A", 1, NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "alice", "B", 1, NULL, NULL), STORE_OK);
    store_op op;
    assert_int_equal(history(f, &op, CH_A, 0, 0, 10), STORE_OK);
    proto_msg *m = &op.u.history.msgs[0];
    assert_int_equal(m->n_reactions, 2);
    assert_string_equal(m->reactions[0].emoji, "B"); /* first used first */
    assert_int_equal(m->reactions[0].count, 2);
    assert_string_equal(m->reactions[0].users, "bob\nalice");
    assert_string_equal(m->reactions[1].emoji, "A");
    assert_int_equal(m->reactions[1].count, 1);
    store_op_clear(&op);

    /* at most PROTO_MAX_REACTION_KINDS distinct emoji; more of one is fine */
    for (int i = 2; i < PROTO_MAX_REACTION_KINDS; i++) {
        char e[8];
        snprintf(e, sizeof e, "e%d", i);
        assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", e, 1, &seq, &refused), STORE_OK);
        assert_int_equal(refused, STORE_REFUSE_NONE);
    }
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", "one-more", 1, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_FULL);
    assert_int_equal(seq, 0);
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", "A", 1, &seq, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NONE);
    /* removing the last of one kind makes room */
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", "e2", 0, NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_REACT, CH_A, 101, "bob", "one-more", 1, &seq, &refused),
                     STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NONE);
    assert_true(seq > 0);
}

static void test_changes_threads(void **state) {
    fx *f = *state;
    int64_t seq;
    uint64_t root;
    int refused;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "root", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "alice", 150, "elsewhere", NULL, NULL), STORE_OK);
    assert_int_equal(append_ext(f, CH_A, "bob", 102, 101, NULL, &seq, &root, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NONE);
    assert_int_equal(root, 101);
    /* a reply to a reply joins the root's thread */
    assert_int_equal(append_ext(f, CH_A, "alice", 103, 102, NULL, &seq, &root, &refused), STORE_OK);
    assert_int_equal(root, 101);
    assert_int_equal(seq, 3);
    /* not in the channel, or deleted: nothing stored, no seq taken */
    assert_int_equal(append_ext(f, CH_A, "bob", 104, 150, NULL, &seq, NULL, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_NO_PARENT);
    assert_int_equal(append(f, CH_A, "alice", 105, "plain", NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 105, "alice", NULL, 0, NULL, NULL),
                     STORE_OK);
    assert_int_equal(append_ext(f, CH_A, "bob", 106, 105, NULL, &seq, NULL, &refused), STORE_OK);
    assert_int_equal(refused, STORE_REFUSE_DELETED);
    assert_int_equal(append(f, CH_A, "bob", 107, "next", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 6); /* 1..3, 105 at 4, its deletion at 5 */

    store_op op;
    assert_int_equal(history(f, &op, CH_A, 0, 0, 10), STORE_OK);
    proto_msg *r = find_msg(&op, 101);
    assert_int_equal(r->reply_count, 2);
    assert_int_equal(r->last_reply_ms, 103);
    assert_int_equal(find_msg(&op, 103)->reply_to, 101);
    store_op_clear(&op);

    /* fetch_thread: root and replies, paged; asking by a reply names its thread */
    memset(&op, 0, sizeof op);
    op.kind = STORE_THREAD;
    snprintf(op.u.thread.channel_id, 37, "%s", CH_A);
    op.u.thread.message_id = 102;
    op.u.thread.limit = 1;
    assert_int_equal(run_op(f, &op), STORE_OK);
    assert_int_equal(op.u.thread.root.id, 101);
    assert_int_equal(op.u.thread.n_msgs, 1);
    assert_int_equal(op.u.thread.msgs[0].id, 102);
    assert_int_equal(op.u.thread.has_more, 1);
    store_op_clear(&op);
    op.u.thread.after = 102;
    op.u.thread.limit = 10;
    assert_int_equal(run_op(f, &op), STORE_OK);
    assert_int_equal(op.u.thread.n_msgs, 1);
    assert_int_equal(op.u.thread.msgs[0].id, 103);
    assert_int_equal(op.u.thread.has_more, 0);
    store_op_clear(&op);
    op.u.thread.after = 107; /* not a reply of this thread */
    assert_int_equal(run_op(f, &op), STORE_ENOTFOUND);
    op.u.thread.after = 0;
    op.u.thread.message_id = 150; /* another channel's */
    assert_int_equal(run_op(f, &op), STORE_ENOTFOUND);
}

/* mention_count: mentions of the user after their read mark, kept as
 * messages come, edits change them, deletions erase them and marks move. */
static void test_changes_mention_counts(void **state) {
    fx *f = *state;
    int64_t mentions;
    const char *abc[] = {"alice", "bob", "carol", NULL};
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, abc), STORE_OK);
    assert_int_equal(append_ext(f, CH_A, "alice", 101, 0, "bob\nalice", NULL, NULL, NULL),
                     STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 1);
    counts_of(f, "alice", &mentions);
    assert_int_equal(mentions, 0); /* her own */
    assert_int_equal(append_ext(f, CH_A, "carol", 102, 0, "bob", NULL, NULL, NULL), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 2);

    store_op op;
    assert_int_equal(mark(f, CH_A, "bob", 101, 3000, &op), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 1);
    /* an edit that drops the mention of an unread message */
    assert_int_equal(edit_with(f, CH_A, 102, "carol", "nobody", NULL, NULL), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 0);
    assert_int_equal(edit_with(f, CH_A, 102, "carol", "@bob again", "bob", NULL), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 1);
    /* a mention in a message already read does not count */
    assert_int_equal(edit_with(f, CH_A, 101, "alice", "@carol", "carol", NULL), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 1);
    counts_of(f, "carol", &mentions);
    assert_int_equal(mentions, 1);
    /* deleted: no longer counts */
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 102, "carol", NULL, 0, NULL, NULL),
                     STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 0);
    /* reading to the end clears carol's */
    assert_int_equal(mark(f, CH_A, "carol", 0, 3000, &op), STORE_OK);
    counts_of(f, "carol", &mentions);
    assert_int_equal(mentions, 0);
    /* the stored list comes back with the message */
    assert_int_equal(history(f, &op, CH_A, 0, 0, 10), STORE_OK);
    assert_string_equal(find_msg(&op, 101)->mentions, "carol");
    store_op_clear(&op);

    /* a member who leaves and comes back: the mentions there are count as
     * unread (like the messages), and reading clears them, never below 0 */
    assert_int_equal(append_ext(f, CH_A, "alice", 103, 0, "bob", NULL, NULL, NULL), STORE_OK);
    assert_int_equal(member_remove(f, CH_A, "bob"), STORE_OK);
    assert_int_equal(member_add(f, CH_A, "bob", 4000, NULL), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 1);
    assert_int_equal(mark(f, CH_A, "bob", 0, 4100, &op), STORE_OK);
    counts_of(f, "bob", &mentions);
    assert_int_equal(mentions, 0);
}

/* unread_count counts other users' messages that are not deleted. */
static void test_changes_unread_skips_deleted(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    for (uint64_t i = 1; i <= 4; i++)
        assert_int_equal(append(f, CH_A, i == 4 ? "bob" : "alice", 100 + i, "m", NULL, NULL),
                         STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 3);
    store_op op;
    assert_int_equal(mark(f, CH_A, "bob", 101, 3000, &op), STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 2);
    /* deleting a read one changes nothing; an unread one counts no more;
     * bob's own deleted message was never counted */
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 101, "alice", NULL, 0, NULL, NULL),
                     STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 2);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 103, "alice", NULL, 0, NULL, NULL),
                     STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 1);
    assert_int_equal(change(f, STORE_MSG_DELETE, CH_A, 104, "bob", NULL, 0, NULL, NULL), STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 1);
    /* edits and reactions are never counted */
    assert_int_equal(edit_with(f, CH_A, 102, "alice", "v2", NULL, NULL), STORE_OK);
    assert_int_equal(change(f, STORE_REACT, CH_A, 102, "alice", "+1", 1, NULL, NULL), STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 1);
    assert_int_equal(mark(f, CH_A, "bob", 0, 3000, &op), STORE_OK);
    assert_int_equal(counts_of(f, "bob", NULL), 0);
    assert_int_equal(counts_of(f, "alice", NULL), 0);
}

/* A page of long messages ends before STORE_CHANGES_TEXT_MAX bytes of
 * text, with has_more; the next page goes on from its last seq. */
static void test_changes_page_text_budget(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    static char big[4001];
    memset(big, 'b', 4000);
    int n = STORE_CHANGES_TEXT_MAX / 4000 + 10;
    for (int i = 1; i <= n; i++)
        assert_int_equal(append(f, CH_A, "alice", 100 + (uint64_t)i, big, NULL, NULL), STORE_OK);
    store_op op;
    int64_t after = 0, pages = 0;
    do {
        assert_int_equal(changes(f, &op, CH_A, after, 500), STORE_OK);
        size_t got = op.u.changes.n_events, text = 0;
        assert_true(got >= 1);
        for (size_t i = 0; i < got; i++) {
            assert_int_equal(op.u.changes.events[i].seq, after + 1 + (int64_t)i);
            text += strlen(op.u.changes.events[i].msg.content);
        }
        assert_true(text <= STORE_CHANGES_TEXT_MAX);
        after += (int64_t)got;
        pages++;
        int more = op.u.changes.has_more;
        store_op_clear(&op);
        if (!more) break;
    } while (pages < 10);
    assert_int_equal(after, n);
    assert_int_equal(pages, 2);
}

#define STORE_CHANGES_CONTRACT_TESTS(su, td)                                                       \
    cmocka_unit_test_setup_teardown(test_changes_one_sequence, su, td),                            \
        cmocka_unit_test_setup_teardown(test_changes_page_text_budget, su, td),                    \
        cmocka_unit_test_setup_teardown(test_changes_replay_edits, su, td),                        \
        cmocka_unit_test_setup_teardown(test_changes_permissions, su, td),                         \
        cmocka_unit_test_setup_teardown(test_changes_erase, su, td),                               \
        cmocka_unit_test_setup_teardown(test_changes_reactions, su, td),                           \
        cmocka_unit_test_setup_teardown(test_changes_threads, su, td),                             \
        cmocka_unit_test_setup_teardown(test_changes_mention_counts, su, td),                      \
        cmocka_unit_test_setup_teardown(test_changes_unread_skips_deleted, su, td)

#endif
