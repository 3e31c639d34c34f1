/*
 * The store contract (src/store/store.h) as tests every backend must pass:
 * users, channels and members, appends and their seq, client message id
 * dedup, history paging, read marks and unread counts, channel_get (one op
 * at a time), then batching: group commit and max_batch, dedup and
 * read-after-write inside one batch, close() flushing the queue,
 * persistence across a reopen and load().
 *
 * Included by test_store.c (SQLite) and test_store_pg.c (PostgreSQL) after
 * store_test_util.h, which selects the backend and its fixture. Header-only:
 * static test functions, listed by STORE_CONTRACT_TESTS and
 * STORE_CONTRACT_BATCH_TESTS for the including main().
 */
#ifndef CHATD_STORE_CONTRACT_H
#define CHATD_STORE_CONTRACT_H

#include "store_test_util.h"

/* ---- tests ------------------------------------------------------------ */

static void test_users(void **state) {
    fx *f = *state;
    assert_int_equal(user_create(f, "alice", "$argon2id$h1", 111), STORE_OK);
    assert_int_equal(user_create(f, "alice", "$argon2id$h2", 222), STORE_EEXIST);

    store_op op = {.kind = STORE_USER_GET};
    op.u.user_get.username = "alice";
    assert_int_equal(run_op(f, &op), STORE_OK);
    assert_string_equal(op.u.user_get.pw_hash, "$argon2id$h1");
    assert_int_equal(op.u.user_get.created_ms, 111);
    store_op_clear(&op);
    assert_null(op.u.user_get.pw_hash);
    store_op_clear(&op); /* twice is harmless */

    store_op miss = {.kind = STORE_USER_GET};
    miss.u.user_get.username = "nobody";
    assert_int_equal(run_op(f, &miss), STORE_ENOTFOUND);
    assert_null(miss.u.user_get.pw_hash);
}

static void test_channels_and_members(void **state) {
    fx *f = *state;
    int added = -1;
    assert_int_equal(chan_create(f, CH_A, "general", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_A, "again", 0, 1001, ALICE_BOB), STORE_EEXIST);

    assert_int_equal(member_add(f, CH_A, "carol", 2000, &added), STORE_OK);
    assert_int_equal(added, 1);
    assert_int_equal(member_add(f, CH_A, "carol", 3000, &added), STORE_OK);
    assert_int_equal(added, 0); /* already in: the old row stays */
    assert_int_equal(member_add(f, CH_B, "carol", 3000, &added), STORE_ENOTFOUND);

    store_op op;
    assert_int_equal(channels_for(f, &op, "carol"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 1);
    proto_channel_entry *e = &op.u.channels_for_user.entries[0];
    assert_string_equal(e->channel_id, CH_A);
    assert_string_equal(e->name, "general");
    assert_int_equal(e->n_participants, 3);
    assert_string_equal(e->participants[0], "alice");
    assert_string_equal(e->participants[1], "bob");
    assert_string_equal(e->participants[2], "carol");
    store_op_clear(&op);
    assert_null(op.u.channels_for_user.entries);

    assert_int_equal(member_remove(f, CH_A, "carol"), STORE_OK);
    assert_int_equal(member_remove(f, CH_A, "carol"), STORE_ENOTFOUND);
    assert_int_equal(channels_for(f, &op, "carol"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 0);
    store_op_clear(&op);
}

/* A channel whose member list names a user twice is stored once, whole. */
static void test_channel_create_duplicate_member(void **state) {
    fx *f = *state;
    const char *dup[] = {"alice", "bob", "bob", NULL};
    assert_int_equal(chan_create(f, CH_A, "g", 0, 1000, dup), STORE_OK);
    store_op op;
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 1);
    assert_int_equal(op.u.channels_for_user.entries[0].n_participants, 2);
    store_op_clear(&op);
}

static void test_append_seq(void **state) {
    fx *f = *state;
    int64_t seq = 0;
    assert_int_equal(append(f, CH_A, "alice", 1, "x", NULL, &seq), STORE_ENOTFOUND);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(append(f, CH_A, "alice", 100 + i, "hi", NULL, &seq), STORE_OK);
        assert_int_equal(seq, i);
    }
    assert_int_equal(append(f, CH_B, "bob", 200, "other", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 1); /* per channel */
    /* a reused message id fails that op alone and burns no seq */
    assert_int_equal(append(f, CH_A, "alice", 101, "again", NULL, &seq), STORE_EIO);
    assert_int_equal(append(f, CH_A, "alice", 104, "next", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 4);
    /* ids follow seq order: an unused id below the newest is refused
     * (another server's clock, or the same millisecond), naming the newest,
     * and burns no seq */
    store_op op;
    fill_append(&op, CH_A, "alice", 50, "late", NULL);
    assert_int_equal(run_op(f, &op), STORE_ESTALE);
    assert_true(op.u.msg_append.newest_id == 104);
    store_op_clear(&op);
    assert_int_equal(append(f, CH_A, "alice", 105, "then", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 5);
}

static void test_dedup_across_batches(void **state) {
    fx *f = *state;
    int64_t seq;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "original", "c-1", &seq), STORE_OK);
    assert_int_equal(seq, 1);

    char *mine = strdup("retry");
    store_op op;
    fill_append(&op, CH_A, "alice", 102, mine, "c-1");
    assert_int_equal(run_op(f, &op), STORE_EDUP);
    proto_msg *m = &op.u.msg_append.msg;
    assert_int_equal(op.u.msg_append.owned__, 1);
    assert_int_equal(m->id, 101);
    assert_int_equal(m->seq, 1);
    assert_int_equal(m->created_ms, 101);
    assert_string_equal(m->channel_id, CH_A);
    assert_string_equal(m->user_id, "alice");
    assert_string_equal(m->content, "original");
    assert_string_equal(m->metadata, "{\"k\":1}");
    assert_string_equal(m->client_msg_id, "c-1");
    assert_ptr_not_equal(m->content, mine);
    store_op_clear(&op);
    assert_ptr_equal(m->content, mine); /* the caller's string is back */
    assert_int_equal(op.u.msg_append.owned__, 0);
    free(mine);

    /* same client id: other user, other channel -> distinct messages */
    assert_int_equal(append(f, CH_A, "bob", 103, "bob's", "c-1", &seq), STORE_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(append(f, CH_B, "alice", 104, "b", "c-1", &seq), STORE_OK);
    assert_int_equal(seq, 1);
    /* the duplicate burned no seq */
    assert_int_equal(append(f, CH_A, "alice", 105, "new", "c-2", &seq), STORE_OK);
    assert_int_equal(seq, 3);
}

/* Ten messages 1..10 in CH_A with ids 101..110. */
static void ten_messages(fx *f) {
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(append(f, CH_A, "alice", 100 + (uint64_t)i, "m", NULL, NULL), STORE_OK);
}

static void test_history(void **state) {
    fx *f = *state;
    store_op op;
    ten_messages(f);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 900, "elsewhere", NULL, NULL), STORE_OK);

    history(f, &op, CH_A, 0, 0, 3); /* newest three */
    assert_page(&op, 8, 3, 1);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 0, 100);
    assert_page(&op, 1, 10, 0);
    assert_string_equal(op.u.history.msgs[0].content, "m");
    assert_string_equal(op.u.history.msgs[0].user_id, "alice");
    assert_null(op.u.history.msgs[0].client_msg_id);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 0, 10); /* exactly all: nothing older */
    assert_page(&op, 1, 10, 0);
    store_op_clear(&op);

    history(f, &op, CH_A, 108, 0, 3); /* before seq 8 */
    assert_page(&op, 5, 3, 1);
    store_op_clear(&op);
    history(f, &op, CH_A, 103, 0, 5); /* before seq 3: only 1, 2 */
    assert_page(&op, 1, 2, 0);
    store_op_clear(&op);
    history(f, &op, CH_A, 104, 0, 3); /* exactly 1..3 remain */
    assert_page(&op, 1, 3, 0);
    store_op_clear(&op);
    history(f, &op, CH_A, 101, 0, 3);
    assert_page(&op, 1, 0, 0);
    store_op_clear(&op);

    history(f, &op, CH_A, 0, 102, 3); /* after seq 2 */
    assert_page(&op, 3, 3, 1);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 107, 3); /* exactly 8..10 remain */
    assert_page(&op, 8, 3, 0);
    store_op_clear(&op);
    history(f, &op, CH_A, 0, 110, 3);
    assert_page(&op, 11, 0, 0);
    store_op_clear(&op);

    assert_int_equal(history(f, &op, CH_A, 900, 0, 3), STORE_ENOTFOUND); /* other channel */
    assert_null(op.u.history.msgs);
    assert_int_equal(history(f, &op, CH_A, 0, 999, 3), STORE_ENOTFOUND);
    assert_int_equal(history(f, &op, CH_C, 0, 0, 3), STORE_ENOTFOUND);
}

static void test_read_marks(void **state) {
    fx *f = *state;
    store_op op;
    ten_messages(f);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 900, "elsewhere", NULL, NULL), STORE_OK);

    assert_int_equal(mark(f, CH_A, "bob", 105, 5000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 105);
    assert_int_equal(op.u.mark_read.moved, 1);
    assert_int_equal(op.u.mark_read.last_read_ms, 5000);

    /* older: the mark stays where it was and is reported */
    assert_int_equal(mark(f, CH_A, "bob", 103, 6000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 105);
    assert_int_equal(op.u.mark_read.moved, 0);
    assert_int_equal(op.u.mark_read.last_read_ms, 5000);
    /* the same one again: no change either */
    assert_int_equal(mark(f, CH_A, "bob", 105, 6500, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.moved, 0);
    assert_int_equal(op.u.mark_read.last_read_ms, 5000);

    /* 0 = latest */
    assert_int_equal(mark(f, CH_A, "bob", 0, 7000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 110);
    assert_int_equal(op.u.mark_read.moved, 1);
    assert_int_equal(op.u.mark_read.last_read_ms, 7000);

    assert_int_equal(mark(f, CH_A, "bob", 900, 7000, &op), STORE_ENOTFOUND); /* other channel */
    assert_int_equal(mark(f, CH_A, "bob", 12345, 7000, &op), STORE_ENOTFOUND);
    assert_int_equal(mark(f, CH_A, "mallory", 0, 7000, &op), STORE_ENOTFOUND); /* not a member */
    assert_int_equal(mark(f, CH_C, "bob", 0, 7000, &op), STORE_ENOTFOUND);

    /* empty channel: nothing to mark */
    assert_int_equal(chan_create(f, CH_C, "c", 0, 1002, ALICE_BOB), STORE_OK);
    assert_int_equal(mark(f, CH_C, "bob", 0, 8000, &op), STORE_OK);
    assert_int_equal(op.u.mark_read.message_id, 0);
    assert_int_equal(op.u.mark_read.moved, 0);
    assert_int_equal(op.u.mark_read.last_read_ms, -1);
}

static void test_unread_counts(void **state) {
    fx *f = *state;
    store_op op, m;
    /* created out of id order: listing follows created_ms */
    assert_int_equal(chan_create(f, CH_B, "later", 0, 2000, ALICE_BOB), STORE_OK);
    const char *dm[] = {"bob", "alice", NULL};
    assert_int_equal(chan_create(f, CH_A, "", 1, 1000, dm), STORE_OK);
    assert_int_equal(chan_create(f, CH_C, "empty", 0, 3000, ALICE_BOB), STORE_OK);

    assert_int_equal(append(f, CH_B, "alice", 101, "a1", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "alice", 102, "a2", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "bob", 103, "b1", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "system", 104, "carol joined", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, CH_B, "alice", 105, "a3", NULL, NULL), STORE_OK);

    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 3);
    proto_channel_entry *e = op.u.channels_for_user.entries;
    assert_string_equal(e[0].channel_id, CH_A);
    assert_string_equal(e[1].channel_id, CH_B);
    assert_string_equal(e[2].channel_id, CH_C);
    assert_int_equal(e[0].is_direct, 1);
    assert_string_equal(e[0].name, "");
    assert_int_equal(e[0].last_message_id, 0);
    assert_int_equal(e[0].unread_count, 0);
    assert_string_equal(e[0].participants[0], "bob");
    assert_int_equal(e[1].is_direct, 0);
    assert_string_equal(e[1].name, "later");
    assert_int_equal(e[1].last_message_id, 105);
    assert_int_equal(e[1].last_read_message_id, 0);
    assert_int_equal(e[1].last_read_ms, -1);
    assert_int_equal(e[1].unread_count, 3); /* a1 a2 a3: not own, not system */
    assert_int_equal(e[1].n_participants, 2);
    store_op_clear(&op);

    assert_int_equal(mark(f, CH_B, "bob", 102, 9000, &m), STORE_OK);
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    e = entry(&op, CH_B);
    assert_int_equal(e->unread_count, 1); /* a3 */
    assert_int_equal(e->last_read_message_id, 102);
    assert_int_equal(e->last_read_ms, 9000);
    store_op_clear(&op);

    assert_int_equal(channels_for(f, &op, "alice"), STORE_OK);
    assert_int_equal(entry(&op, CH_B)->unread_count, 1); /* b1 only */
    store_op_clear(&op);

    assert_int_equal(mark(f, CH_B, "bob", 0, 9500, &m), STORE_OK);
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(entry(&op, CH_B)->unread_count, 0);
    store_op_clear(&op);

    assert_int_equal(channels_for(f, &op, "nobody"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 0);
    store_op_clear(&op);
}

/* Unread counts come from counters kept at write time (issue #11): they
 * must stay exact against a brute-force count of the history through
 * sends (and notices), read marks at the latest and at older messages,
 * leave and rejoin, and a reopen of the store. */
typedef struct oracle_msg {
    int64_t seq;
    uint64_t id;
    const char *user;
} oracle_msg;

static int64_t oracle_unread(const oracle_msg *msgs, int n, const char *user, int64_t mark_seq) {
    int64_t k = 0;
    for (int i = 0; i < n; i++)
        if (msgs[i].seq > mark_seq && strcmp(msgs[i].user, user) && strcmp(msgs[i].user, "system"))
            k++;
    return k;
}

static void check_unread(fx *f, const char *user, int64_t want, int member) {
    store_op op;
    assert_int_equal(channels_for(f, &op, user), STORE_OK);
    proto_channel_entry *e = NULL;
    for (size_t i = 0; i < op.u.channels_for_user.n_entries; i++)
        if (!strcmp(op.u.channels_for_user.entries[i].channel_id, CH_A))
            e = &op.u.channels_for_user.entries[i];
    if (!member) {
        assert_null(e);
    } else {
        assert_non_null(e);
        if (e->unread_count != want)
            fail_msg("%s: unread %lld, the history says %lld", user, (long long)e->unread_count,
                     (long long)want);
    }
    store_op_clear(&op);
}

static void test_unread_counters_exact(void **state) {
    fx *f = *state;
    static const char *users[] = {"alice", "bob", "carol"};
    const char *all[] = {"alice", "bob", "carol", NULL};
    assert_int_equal(chan_create(f, CH_A, "g", 0, 1000, all), STORE_OK);
    oracle_msg msgs[400];
    int n = 0;
    int64_t marks[3] = {0, 0, 0};
    int member[3] = {1, 1, 1};
    uint64_t id = 1000;
    uint32_t rnd = 12345;
    for (int step = 0; step < 300; step++) {
        rnd = rnd * 1103515245u + 12345u;
        int what = (int)(rnd >> 16) % 10, who = (int)(rnd >> 8) % 3;
        if (what < 5 && member[who]) { /* a message */
            int64_t seq;
            assert_int_equal(append(f, CH_A, users[who], ++id, "m", NULL, &seq), STORE_OK);
            msgs[n++] = (oracle_msg){seq, id, users[who]};
        } else if (what == 5) { /* a notice */
            int64_t seq;
            assert_int_equal(append(f, CH_A, "system", ++id, "notice", NULL, &seq), STORE_OK);
            msgs[n++] = (oracle_msg){seq, id, "system"};
        } else if (what == 6 && member[who]) { /* read to the latest */
            store_op op;
            assert_int_equal(mark(f, CH_A, users[who], 0, 5000 + step, &op), STORE_OK);
            if (n) marks[who] = msgs[n - 1].seq;
        } else if (what == 7 && member[who] && n) { /* read up to an older message */
            int at = (int)(rnd >> 4) % n;
            store_op op;
            assert_int_equal(mark(f, CH_A, users[who], msgs[at].id, 5000 + step, &op), STORE_OK);
            if (msgs[at].seq > marks[who]) marks[who] = msgs[at].seq; /* never backwards */
        } else if (what == 8 && who == 2) { /* carol leaves or comes back */
            if (member[2]) {
                assert_int_equal(member_remove(f, CH_A, "carol"), STORE_OK);
            } else {
                int added;
                assert_int_equal(member_add(f, CH_A, "carol", 6000 + step, &added), STORE_OK);
                marks[2] = 0; /* a new membership starts unread */
            }
            member[2] = !member[2];
        } else if (what == 9 && step % 50 == 9) { /* a restart */
            fx_close(f);
            fx_open(f);
        }
        for (int u = 0; u < 3; u++)
            check_unread(f, users[u], oracle_unread(msgs, n, users[u], marks[u]), member[u]);
    }
    /* member_count follows joins and leaves */
    store_op op;
    assert_int_equal(channels_for(f, &op, "alice"), STORE_OK);
    assert_int_equal(entry(&op, CH_A)->member_count, 2 + member[2]);
    store_op_clear(&op);
}

/* A channel of any size lists a bounded page of members, the first to join. */
static void test_big_channel_member_page(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "big", 0, 1000, ALICE_BOB), STORE_OK);
    for (int i = 0; i < 150; i++) {
        char name[16];
        snprintf(name, sizeof name, "u%03d", i);
        int added;
        assert_int_equal(member_add(f, CH_A, name, 2000 + i, &added), STORE_OK);
    }
    store_op op;
    assert_int_equal(channels_for(f, &op, "u149"), STORE_OK);
    proto_channel_entry *e = entry(&op, CH_A);
    assert_int_equal(e->member_count, 152);
    assert_int_equal(e->n_participants, STORE_LIST_MEMBERS);
    assert_string_equal(e->participants[0], "alice");
    assert_string_equal(e->participants[2], "u000");
    store_op_clear(&op);
}

static void test_channel_get(void **state) {
    fx *f = *state;
    store_op op;
    assert_int_equal(channel_get(f, &op, CH_A), STORE_ENOTFOUND);
    assert_null(op.u.channel_get.name);
    assert_null(op.u.channel_get.members);

    const char *three[] = {"alice", "bob", "carol", NULL};
    assert_int_equal(chan_create(f, CH_A, "general", 0, 1000, three), STORE_OK);
    assert_int_equal(member_add(f, CH_A, "dave", 2000, NULL), STORE_OK);
    assert_int_equal(member_remove(f, CH_A, "bob"), STORE_OK);
    const char *dm[] = {"bob", "alice", NULL};
    assert_int_equal(chan_create(f, CH_B, NULL, 1, 1500, dm), STORE_OK);

    assert_int_equal(channel_get(f, &op, CH_A), STORE_OK);
    assert_string_equal(op.u.channel_get.name, "general");
    assert_int_equal(op.u.channel_get.is_direct, 0);
    assert_string_equal(op.u.channel_get.creator, "alice");
    assert_int_equal(op.u.channel_get.created_ms, 1000);
    assert_int_equal(op.u.channel_get.n_members, 3); /* oldest first */
    proto_member *m = op.u.channel_get.members;
    assert_string_equal(m[0].user_id, "alice");
    assert_int_equal(m[0].is_admin, 1);
    assert_int_equal(m[0].joined_ms, 1000);
    assert_string_equal(m[1].user_id, "carol");
    assert_int_equal(m[1].is_admin, 0);
    assert_string_equal(m[2].user_id, "dave");
    assert_int_equal(m[2].joined_ms, 2000);
    store_op_clear(&op);
    assert_null(op.u.channel_get.members);
    assert_int_equal(op.u.channel_get.n_members, 0);
    assert_null(op.u.channel_get.name);
    store_op_clear(&op); /* twice is harmless */

    assert_int_equal(channel_get(f, &op, CH_B), STORE_OK);
    assert_string_equal(op.u.channel_get.name, "");
    assert_int_equal(op.u.channel_get.is_direct, 1);
    assert_string_equal(op.u.channel_get.creator, "bob");
    assert_int_equal(op.u.channel_get.n_members, 2);
    assert_string_equal(op.u.channel_get.members[0].user_id, "bob");
    store_op_clear(&op);
}

/* ---- batching --------------------------------------------------------- */

/* done() callbacks record their op's index here, in call order. */
static int order_log[2048];
static int order_n;

static void log_done(store_op *op) {
    order_log[order_n++] = (int)(intptr_t)op->data;
}

/* Submits ops[0..n) while the worker is held, so they form one batch
 * (up to max_batch), and runs the loop until every done() ran. */
static void run_held(fx *f, store_op *ops, int n) {
    order_n = 0;
    fx_pause(f, 1);
    for (int i = 0; i < n; i++) {
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    fx_pause(f, 0);
    while (order_n < n)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < n; i++)
        assert_int_equal(order_log[i], i); /* done() in submission order */
}

static void test_dedup_inside_one_batch(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = fx_commits(f);
    store_op ops[3];
    fill_append(&ops[0], CH_A, "alice", 101, "first", "same");
    fill_append(&ops[1], CH_A, "alice", 102, "second", "same");
    fill_append(&ops[2], CH_A, "alice", 103, "third", NULL);
    run_held(f, ops, 3);
    assert_int_equal(fx_commits(f) - c0, 1);
    assert_int_equal(ops[0].status, STORE_OK);
    assert_int_equal(ops[0].u.msg_append.msg.seq, 1);
    assert_int_equal(ops[1].status, STORE_EDUP);
    assert_int_equal(ops[1].u.msg_append.msg.id, 101);
    assert_string_equal(ops[1].u.msg_append.msg.content, "first");
    assert_int_equal(ops[2].status, STORE_OK);
    assert_int_equal(ops[2].u.msg_append.msg.seq, 2); /* the duplicate burned no seq */
    for (int i = 0; i < 3; i++)
        store_op_clear(&ops[i]);
}

static void test_group_commit(void **state) {
    enum { N = 1000 };
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    assert_int_equal(chan_create(f, CH_B, "b", 0, 1001, ALICE_BOB), STORE_OK);
    uint64_t c0 = fx_commits(f);
    store_op *ops = calloc(N, sizeof(*ops));
    assert_non_null(ops);
    order_n = 0;
    for (int i = 0; i < N; i++) { /* the loop does not run meanwhile */
        fill_append(&ops[i], i % 4 ? CH_A : CH_B, i % 2 ? "alice" : "bob", 1000 + (uint64_t)i, "m",
                    NULL);
        ops[i].done = log_done;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    while (order_n < N)
        uv_run(&f->loop, UV_RUN_ONCE);
    uint64_t commits = fx_commits(f) - c0;
    assert_true(commits >= 1);
    assert_true(commits < 50); /* first op alone at worst, then big batches */
    int64_t next_a = 1, next_b = 1;
    for (int i = 0; i < N; i++) {
        assert_int_equal(order_log[i], i);
        assert_int_equal(ops[i].status, STORE_OK);
        assert_int_equal(ops[i].u.msg_append.msg.seq, i % 4 ? next_a++ : next_b++); /* gapless */
    }
    free(ops);

    /* held: exactly one transaction for a whole queue */
    c0 = fx_commits(f);
    store_op more[10];
    for (int i = 0; i < 10; i++)
        fill_append(&more[i], CH_A, "alice", 5000 + (uint64_t)i, "m", NULL);
    run_held(f, more, 10);
    assert_int_equal(fx_commits(f) - c0, 1);
    assert_int_equal(more[9].u.msg_append.msg.seq, next_a + 9);
}

/* max_batch caps how many ops share a transaction. */
static void test_max_batch(void **state) {
    fx *f = *state;
    fx_close(f);
    fx_open_cfg(f, 0, 4);
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = fx_commits(f);
    store_op ops[10];
    for (int i = 0; i < 10; i++)
        fill_append(&ops[i], CH_A, "alice", 100 + (uint64_t)i, "m", NULL);
    run_held(f, ops, 10);
    assert_int_equal(fx_commits(f) - c0, 3); /* 4 + 4 + 2 */
    for (int i = 0; i < 10; i++)
        assert_int_equal(ops[i].u.msg_append.msg.seq, i + 1);
}

/* A read in the same batch sees the writes queued before it. */
static void test_read_sees_earlier_writes_in_batch(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    uint64_t c0 = fx_commits(f);
    store_op ops[4];
    fill_append(&ops[0], CH_A, "alice", 101, "fresh", NULL);
    memset(&ops[1], 0, sizeof ops[1]);
    ops[1].kind = STORE_HISTORY;
    snprintf(ops[1].u.history.channel_id, 37, "%s", CH_A);
    ops[1].u.history.limit = 10;
    memset(&ops[2], 0, sizeof ops[2]);
    ops[2].kind = STORE_MEMBER_ADD;
    snprintf(ops[2].u.member_add.channel_id, 37, "%s", CH_A);
    ops[2].u.member_add.user_id = "carol";
    ops[2].u.member_add.joined_ms = 2000;
    memset(&ops[3], 0, sizeof ops[3]);
    ops[3].kind = STORE_CHANNEL_GET;
    snprintf(ops[3].u.channel_get.channel_id, 37, "%s", CH_A);
    run_held(f, ops, 4);
    assert_int_equal(fx_commits(f) - c0, 1);
    assert_int_equal(ops[1].status, STORE_OK);
    assert_int_equal(ops[1].u.history.n_msgs, 1);
    assert_string_equal(ops[1].u.history.msgs[0].content, "fresh");
    assert_int_equal(ops[3].status, STORE_OK);
    assert_int_equal(ops[3].u.channel_get.n_members, 3);
    assert_string_equal(ops[3].u.channel_get.members[2].user_id, "carol");
    store_op_clear(&ops[1]);
    store_op_clear(&ops[3]);
}

/* close() commits what is queued, runs the done()s itself; later submits
 * get STORE_ECLOSED. */
static store_op late;
static int late_done;
static store *closing_store;

static void count_late(store_op *op) {
    late_done++;
}

static void submit_late(store_op *op) {
    order_log[order_n++] = (int)(intptr_t)op->data;
    if (op->data == (void *)4) {
        memset(&late, 0, sizeof late);
        late.kind = STORE_USER_GET;
        late.u.user_get.username = "alice";
        late.done = count_late;
        B->submit(closing_store, &late);
    }
}

static void test_close_flushes_queue(void **state) {
    fx *f = *state;
    assert_int_equal(chan_create(f, CH_A, "a", 0, 1000, ALICE_BOB), STORE_OK);
    store_op ops[5];
    order_n = 0;
    late_done = 0;
    closing_store = f->s;
    for (int i = 0; i < 5; i++) {
        fill_append(&ops[i], CH_A, "alice", 100 + (uint64_t)i, "queued", NULL);
        ops[i].done = submit_late;
        ops[i].data = (void *)(intptr_t)i;
        B->submit(f->s, &ops[i]);
    }
    B->close(f->s); /* no loop run between the submits and close */
    f->s = NULL;
    assert_int_equal(order_n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(order_log[i], i);
        assert_int_equal(ops[i].status, STORE_OK);
        assert_int_equal(ops[i].u.msg_append.msg.seq, i + 1);
    }
    assert_int_equal(late_done, 1);
    assert_int_equal(late.status, STORE_ECLOSED);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);

    fx_open(f);
    store_op h;
    history(f, &h, CH_A, 0, 0, 10);
    assert_int_equal(h.u.history.n_msgs, 5);
    store_op_clear(&h);
}

typedef struct loaded {
    int users, channels, members;
    char names[8][16];
    int bob_admin;
    int64_t bob_joined;
    int direct_seen;
} loaded;

static void on_user(void *data, const char *username) {
    loaded *l = data;
    snprintf(l->names[l->users++ % 8], 16, "%s", username);
}

static void on_channel(void *data, const char *channel_id, const char *name, int is_direct,
                       const char *creator, int64_t created_ms) {
    loaded *l = data;
    l->channels++;
    if (strcmp(channel_id, CH_B) == 0) {
        assert_int_equal(is_direct, 1);
        assert_string_equal(creator, "bob");
        assert_int_equal(created_ms, 2000);
        assert_string_equal(name, "");
        l->direct_seen = 1;
    }
}

static void on_member(void *data, const char *channel_id, const proto_member *m) {
    loaded *l = data;
    l->members++;
    if (strcmp(channel_id, CH_A) == 0 && strcmp(m->user_id, "bob") == 0) {
        l->bob_admin = m->is_admin;
        l->bob_joined = m->joined_ms;
    }
}

static void test_persistence_and_load(void **state) {
    fx *f = *state;
    store_op op;
    assert_int_equal(user_create(f, "alice", "h-a", 10), STORE_OK);
    assert_int_equal(user_create(f, "bob", "h-b", 20), STORE_OK);
    assert_int_equal(user_create(f, "carol", "h-c", 30), STORE_OK);
    assert_int_equal(chan_create(f, CH_A, "general", 0, 1000, ALICE_BOB), STORE_OK);
    const char *dm[] = {"bob", "carol", NULL};
    assert_int_equal(chan_create(f, CH_B, NULL, 1, 2000, dm), STORE_OK);
    assert_int_equal(append(f, CH_A, "alice", 101, "one", "k1", NULL), STORE_OK);
    assert_int_equal(append(f, CH_A, "bob", 102, "two", NULL, NULL), STORE_OK);
    assert_int_equal(mark(f, CH_A, "alice", 102, 5000, &op), STORE_OK);

    fx_close(f);
    fx_open(f);

    loaded l = {0};
    store_load_cbs cbs = {.data = &l, .user = on_user, .channel = on_channel, .member = on_member};
    assert_int_equal(B->load(f->s, &cbs), STORE_OK);
    assert_int_equal(l.users, 3);
    assert_string_equal(l.names[0], "alice");
    assert_string_equal(l.names[2], "carol");
    assert_int_equal(l.channels, 2);
    assert_int_equal(l.members, 4);
    assert_int_equal(l.direct_seen, 1);
    assert_int_equal(l.bob_admin, 0);
    assert_int_equal(l.bob_joined, 1000);

    /* everything is still there and the store keeps working */
    assert_int_equal(user_create(f, "alice", "x", 1), STORE_EEXIST);
    int64_t seq;
    assert_int_equal(append(f, CH_A, "alice", 150, "retry", "k1", &seq), STORE_EDUP);
    assert_int_equal(append(f, CH_A, "alice", 103, "three", NULL, &seq), STORE_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(channels_for(f, &op, "bob"), STORE_OK);
    assert_int_equal(op.u.channels_for_user.n_entries, 2);
    assert_int_equal(entry(&op, CH_A)->unread_count, 2); /* alice's one and three */
    store_op_clear(&op);
    assert_int_equal(channels_for(f, &op, "alice"), STORE_OK);
    assert_int_equal(entry(&op, CH_A)->last_read_message_id, 102);
    assert_int_equal(entry(&op, CH_A)->last_read_ms, 5000);
    assert_int_equal(entry(&op, CH_A)->unread_count, 0);
    store_op_clear(&op);
}

#define STORE_CONTRACT_TESTS(su, td)                                                               \
    cmocka_unit_test_setup_teardown(test_users, su, td),                                           \
        cmocka_unit_test_setup_teardown(test_channels_and_members, su, td),                        \
        cmocka_unit_test_setup_teardown(test_channel_create_duplicate_member, su, td),             \
        cmocka_unit_test_setup_teardown(test_append_seq, su, td),                                  \
        cmocka_unit_test_setup_teardown(test_dedup_across_batches, su, td),                        \
        cmocka_unit_test_setup_teardown(test_history, su, td),                                     \
        cmocka_unit_test_setup_teardown(test_read_marks, su, td),                                  \
        cmocka_unit_test_setup_teardown(test_unread_counts, su, td),                               \
        cmocka_unit_test_setup_teardown(test_unread_counters_exact, su, td),                       \
        cmocka_unit_test_setup_teardown(test_big_channel_member_page, su, td),                     \
        cmocka_unit_test_setup_teardown(test_channel_get, su, td)

#define STORE_CONTRACT_BATCH_TESTS(su, td)                                                         \
    cmocka_unit_test_setup_teardown(test_dedup_inside_one_batch, su, td),                          \
        cmocka_unit_test_setup_teardown(test_group_commit, su, td),                                \
        cmocka_unit_test_setup_teardown(test_max_batch, su, td),                                   \
        cmocka_unit_test_setup_teardown(test_read_sees_earlier_writes_in_batch, su, td),           \
        cmocka_unit_test_setup_teardown(test_close_flushes_queue, su, td),                         \
        cmocka_unit_test_setup_teardown(test_persistence_and_load, su, td)

#endif
