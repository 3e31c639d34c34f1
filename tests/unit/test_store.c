/*
 * Unit tests for the store op contract (src/store/store.h) on the SQLite
 * backend: users, channels and members, appends and their seq, client
 * message id dedup, history paging, read marks and unread counts. One op
 * at a time; batching, failures and persistence are in test_store_batch.c.
 * Fixture and helpers: store_test_util.h.
 */
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
    store_channel_entry *e = &op.u.channels_for_user.entries[0];
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
    store_msg *m = &op.u.msg_append.msg;
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
    store_channel_entry *e = op.u.channels_for_user.entries;
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels_and_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_create_duplicate_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_across_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unread_counts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
