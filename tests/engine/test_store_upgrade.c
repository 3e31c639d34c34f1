/*
 * test_store_upgrade: a data directory written by an older chatd (schema
 * before the counters of issue #11) is upgraded in place when the current
 * store opens it, on both backends: the migrations fill the counters from
 * the history there is, so every user's channel list reads exactly what
 * the old chatd computed by counting (the expectations below were taken
 * from it), and new messages and read marks keep them exact; protocol
 * 1.1's changes (edits, deletions, reactions) work on the old messages and
 * continue their channel's seq. The fixtures
 * in tests/fixtures were written by that chatd (SQL text, to be readable).
 * Protocol 1.1 (channels and search): the old history is searchable at
 * once (the index is filled by the migration, system notices left out),
 * every old channel is public with no topic, and new messages are indexed.
 * Own-message counts (SQLite's migration 7) stay exact for read marks
 * before the reader's own messages and across a leave and a return.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <uv.h>

#include "pgserver.h"
#include "proto/search_query.h"
#include "store/store.h"
#include "svcutil.h"

#define CH_A "11111111-1111-4111-8111-111111111111"
#define CH_B "22222222-2222-4222-8222-222222222222"

/* What the old chatd's channels_list said: user, channel, unread, last
 * message id, last read message id, participants. */
static const struct expect {
    const char *user, *channel;
    int64_t unread;
    uint64_t last_id, read_id;
    size_t participants;
} EXPECT[] = {
    {"alice", "11111111-1111-4111-8111-111111111111", 11, 5037, 5021, 3},
    {"alice", "22222222-2222-4222-8222-222222222222", 1, 5043, 5041, 2},
    {"alice", "33333333-3333-4333-8333-333333333333", 0, 5048, 0, 2},
    {"alice", "44444444-4444-4444-8444-444444444444", 0, 0, 0, 2},
    {"bob", "11111111-1111-4111-8111-111111111111", 12, 5037, 5010, 3},
    {"bob", "22222222-2222-4222-8222-222222222222", 3, 5043, 0, 2},
    {"bob", "44444444-4444-4444-8444-444444444444", 0, 0, 0, 2},
    {"carol", "11111111-1111-4111-8111-111111111111", 23, 5037, 0, 3},
    {"dave", "33333333-3333-4333-8333-333333333333", 1, 5048, 5047, 2},
};

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

typedef struct fx {
    uv_loop_t loop;
    const store_backend *b;
    store *s;
} fx;

static void count_done(store_op *op) {
    (*(int *)op->data)++;
}

static int run_op(fx *f, store_op *op) {
    int n = 0;
    op->done = count_done;
    op->data = &n;
    f->b->submit(f->s, op);
    while (n == 0)
        uv_run(&f->loop, UV_RUN_ONCE);
    return op->status;
}

static proto_channel_entry *find(store_op *op, const char *ch) {
    for (size_t i = 0; i < op->u.channels_for_user.n_entries; i++)
        if (!strcmp(op->u.channels_for_user.entries[i].channel_id, ch))
            return &op->u.channels_for_user.entries[i];
    return NULL;
}

static int64_t unread(fx *f, const char *user, const char *ch) {
    store_op op = {.kind = STORE_CHANNELS_FOR_USER};
    op.u.channels_for_user.user_id = user;
    assert_int_equal(run_op(f, &op), STORE_OK);
    proto_channel_entry *e = find(&op, ch);
    assert_non_null(e);
    int64_t n = e->unread_count;
    store_op_clear(&op);
    return n;
}

/* Searches as user; checks every result is a user's message of channel
 * A, newest first; returns how many there are. */
static size_t search(fx *f, const char *user, const char *text) {
    search_query q;
    assert_int_equal(search_query_parse(text, strlen(text), &q), 0);
    store_op op = {.kind = STORE_SEARCH};
    op.u.search.user_id = user;
    op.u.search.q = &q;
    op.u.search.limit = 50;
    assert_int_equal(run_op(f, &op), STORE_OK);
    proto_msg *m = op.u.search.msgs;
    size_t n = op.u.search.n_msgs;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(m[i].channel_id, CH_A);
        assert_string_not_equal(m[i].user_id, "system");
        if (i) assert_true(m[i].id < m[i - 1].id);
    }
    store_op_clear(&op);
    return n;
}

static void check_v11(fx *f) {
    assert_true(search(f, "carol", "HELLO") > 10); /* carol is in channel A only */
    /* new ones indexed, and the edit (check_changes_after_upgrade): its new text */
    assert_int_equal(search(f, "carol", "after the upgrade"), 3);
    assert_int_equal(search(f, "carol", "edited"), 1);
    assert_int_equal(search(f, "dave", "after"), 0);
    store_op d = {.kind = STORE_DIRECTORY};
    d.u.directory.user_id = "carol";
    d.u.directory.limit = 100;
    assert_int_equal(run_op(f, &d), STORE_OK);
    size_t groups = 0;
    for (size_t i = 0; i < d.u.directory.n_entries; i++) {
        assert_string_equal(d.u.directory.entries[i].topic, "");
        groups += !strcmp(d.u.directory.entries[i].channel_id, CH_A);
    }
    assert_int_equal(groups, 1);
    store_op_clear(&d);
    store_op l = {.kind = STORE_CHANNELS_FOR_USER};
    l.u.channels_for_user.user_id = "alice";
    assert_int_equal(run_op(f, &l), STORE_OK);
    for (size_t i = 0; i < l.u.channels_for_user.n_entries; i++) {
        assert_false(l.u.channels_for_user.entries[i].is_private);
        assert_string_equal(l.u.channels_for_user.entries[i].topic, "");
    }
    store_op_clear(&l);
}

/* One EDIT/DELETE/REACT on CH_A; returns the seq taken (0: none) and
 * *refused. */
static int64_t change_a(fx *f, store_op_kind kind, uint64_t id, const char *user, int *refused) {
    store_op op = {.kind = kind};
    memcpy(op.u.change.channel_id, CH_A, 37);
    op.u.change.message_id = id;
    op.u.change.user_id = user;
    op.u.change.content = "edited after the upgrade";
    op.u.change.emoji = "+1";
    op.u.change.add = 1;
    op.u.change.at_ms = 9300;
    assert_int_equal(run_op(f, &op), STORE_OK);
    *refused = op.u.change.refused;
    int64_t seq = op.u.change.seq;
    store_op_clear(&op);
    return seq;
}

/* Protocol 1.1 on the upgraded data: old messages are edited, deleted by
 * their author or the channel's creator (its admin) and reacted to, each
 * change takes the next seq after the old ones, and fetch_changes reads
 * messages and changes as one sequence. */
static void check_changes_after_upgrade(fx *f) {
    int refused;
    /* CH_A had seq 37, then the two appends above: 38, 39 */
    assert_int_equal(change_a(f, STORE_MSG_EDIT, 5001, "alice", &refused), 40);
    assert_int_equal(change_a(f, STORE_MSG_DELETE, 5004, "carol", &refused), 0);
    assert_int_equal(refused, STORE_REFUSE_NOT_AUTHOR);
    assert_int_equal(change_a(f, STORE_MSG_DELETE, 5002, "alice", &refused), 41);
    assert_int_equal(refused, STORE_REFUSE_NONE);
    assert_int_equal(change_a(f, STORE_REACT, 5003, "bob", &refused), 42);

    store_op op = {.kind = STORE_CHANGES};
    memcpy(op.u.changes.channel_id, CH_A, 37);
    op.u.changes.after_seq = 0;
    op.u.changes.limit = 500;
    assert_int_equal(run_op(f, &op), STORE_OK);
    assert_int_equal(op.u.changes.n_events, 42);
    for (size_t i = 0; i < 42; i++)
        assert_int_equal(op.u.changes.events[i].seq, (int64_t)i + 1);
    assert_int_equal(op.u.changes.events[0].msg.id, 5001);
    assert_string_equal(op.u.changes.events[0].msg.content, "hello"); /* as first sent */
    assert_string_equal(op.u.changes.events[1].msg.content, "");      /* erased */
    assert_int_equal(op.u.changes.events[1].msg.deleted, 1);
    assert_int_equal(op.u.changes.events[39].kind, PROTO_CHANGE_EDIT);
    assert_int_equal(op.u.changes.events[40].kind, PROTO_CHANGE_DELETE);
    assert_int_equal(op.u.changes.events[41].kind, PROTO_CHANGE_REACT_ADD);
    store_op_clear(&op);
}

/* Unread for user in CH_A by brute force over the history (up to 100
 * messages): others' non-system messages after seq mark, deleted ones out. */
static int64_t oracle_unread(fx *f, const char *user, int64_t mark) {
    store_op h = {.kind = STORE_HISTORY};
    memcpy(h.u.history.channel_id, CH_A, 37);
    h.u.history.limit = 100;
    assert_int_equal(run_op(f, &h), STORE_OK);
    assert_false(h.u.history.has_more);
    int64_t n = 0;
    for (size_t i = 0; i < h.u.history.n_msgs; i++) {
        const proto_msg *m = &h.u.history.msgs[i];
        n += m->seq > mark && strcmp(m->user_id, user) && strcmp(m->user_id, "system") &&
             !m->deleted;
    }
    store_op_clear(&h);
    return n;
}

/* The seq of id in CH_A, and of the message k places before user's last
 * own one (*before; the chain of own messages the migration built is then
 * walked back over k of them). */
static int64_t seq_before_own(fx *f, const char *user, int k, uint64_t *before_id) {
    store_op h = {.kind = STORE_HISTORY};
    memcpy(h.u.history.channel_id, CH_A, 37);
    h.u.history.limit = 100;
    assert_int_equal(run_op(f, &h), STORE_OK);
    const proto_msg *m = h.u.history.msgs;
    int64_t at = -1;
    for (size_t i = h.u.history.n_msgs; i-- > 0 && at < 0;)
        if (!strcmp(m[i].user_id, user) && k-- == 0 && i > 0) at = (int64_t)i - 1;
    assert_true(at >= 0);
    int64_t seq = m[at].seq;
    *before_id = m[at].id;
    store_op_clear(&h);
    return seq;
}

/* Migration 7 (the sender index left): a read mark before the reader's own
 * messages walks the chain the migration built, and a member who leaves and
 * comes back finds its own messages counted (departed). */
static void check_own_counts(fx *f) {
    uint64_t id;
    int64_t seq = seq_before_own(f, "carol", 2, &id);
    store_op m = {.kind = STORE_MARK_READ};
    memcpy(m.u.mark_read.channel_id, CH_A, 37);
    m.u.mark_read.user_id = "carol";
    m.u.mark_read.message_id = id;
    m.u.mark_read.at_ms = 9300;
    assert_int_equal(run_op(f, &m), STORE_OK);
    assert_true(m.u.mark_read.moved);
    assert_int_equal(unread(f, "carol", CH_A), oracle_unread(f, "carol", seq));

    store_op r = {.kind = STORE_MEMBER_REMOVE};
    memcpy(r.u.member_remove.channel_id, CH_A, 37);
    r.u.member_remove.user_id = "carol";
    assert_int_equal(run_op(f, &r), STORE_OK);
    store_op a = {.kind = STORE_MEMBER_ADD};
    memcpy(a.u.member_add.channel_id, CH_A, 37);
    a.u.member_add.user_id = "carol";
    a.u.member_add.joined_ms = 9400;
    assert_int_equal(run_op(f, &a), STORE_OK);
    assert_true(a.u.member_add.added);
    assert_int_equal(unread(f, "carol", CH_A), oracle_unread(f, "carol", 0));
}

/* Opens path with backend b (running the migrations) and checks it. */
static void check_upgraded(const store_backend *b, const char *path) {
    fx f = {.b = b};
    assert_int_equal(uv_loop_init(&f.loop), 0);
    store_config cfg = {.path = path, .fsync = 0, .max_batch = 64};
    assert_int_equal(b->open(&f.s, &cfg, &f.loop), STORE_OK);

    for (size_t i = 0; i < sizeof EXPECT / sizeof EXPECT[0]; i++) {
        const struct expect *x = &EXPECT[i];
        store_op op = {.kind = STORE_CHANNELS_FOR_USER};
        op.u.channels_for_user.user_id = x->user;
        assert_int_equal(run_op(&f, &op), STORE_OK);
        proto_channel_entry *e = find(&op, x->channel);
        if (!e) fail_msg("%s: %s is missing after the upgrade", x->user, x->channel);
        if (e->unread_count != x->unread || e->last_message_id != x->last_id ||
            e->last_read_message_id != x->read_id || e->n_participants != x->participants ||
            e->member_count != (int64_t)x->participants)
            fail_msg(
                "%s in %s: unread %lld last %llu read %llu members %zu/%lld, the old chatd said "
                "%lld %llu %llu %zu",
                x->user, x->channel, (long long)e->unread_count,
                (unsigned long long)e->last_message_id, (unsigned long long)e->last_read_message_id,
                e->n_participants, (long long)e->member_count, (long long)x->unread,
                (unsigned long long)x->last_id, (unsigned long long)x->read_id, x->participants);
        store_op_clear(&op);
    }

    /* and they stay exact: two more from alice, bob reads one of them */
    int64_t bob = unread(&f, "bob", CH_A), carol = unread(&f, "carol", CH_A);
    for (uint64_t id = 9001; id <= 9002; id++) {
        store_op op = {.kind = STORE_MSG_APPEND};
        op.u.msg_append.msg = (proto_msg){.id = id,
                                          .created_ms = 9001,
                                          .user_id = "alice",
                                          .content = "after the upgrade",
                                          .metadata = "{}"};
        memcpy(op.u.msg_append.msg.channel_id, CH_A, 37);
        assert_int_equal(run_op(&f, &op), STORE_OK);
        store_op_clear(&op);
    }
    assert_int_equal(unread(&f, "bob", CH_A), bob + 2);
    assert_int_equal(unread(&f, "carol", CH_A), carol + 2);
    store_op m = {.kind = STORE_MARK_READ};
    memcpy(m.u.mark_read.channel_id, CH_A, 37);
    m.u.mark_read.user_id = "bob";
    m.u.mark_read.message_id = 9001;
    m.u.mark_read.at_ms = 9100;
    assert_int_equal(run_op(&f, &m), STORE_OK);
    assert_int_equal(unread(&f, "bob", CH_A), 1);

    /* two direct channels between alice and bob were made before they were
     * unique: the older one is the pair's from now on */
    proto_member two[2] = {{"alice", 1, 9200}, {"bob", 0, 9200}};
    store_op c = {.kind = STORE_CHANNEL_CREATE};
    snprintf(c.u.channel_create.channel_id, 37, "55555555-5555-4555-8555-555555555555");
    c.u.channel_create.name = "";
    c.u.channel_create.is_direct = 1;
    c.u.channel_create.dm_key = "alice\nbob";
    c.u.channel_create.creator = "alice";
    c.u.channel_create.created_ms = 9200;
    c.u.channel_create.members = two;
    c.u.channel_create.n_members = 2;
    assert_int_equal(run_op(&f, &c), STORE_EEXIST);
    assert_string_equal(c.u.channel_create.existing_id, CH_B);
    check_changes_after_upgrade(&f);

    check_v11(&f);
    check_own_counts(&f);

    b->close(f.s);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
}

static void test_sqlite_v1(void **state) {
    char dir[256], path[300];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "upgrade-"));
    snprintf(path, sizeof path, "%s/chatd.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *sql = slurp(CHATD_FIXTURES "/store-v1.sqlite.sql");
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    free(sql);
    sqlite3_close(db);
    check_upgraded(&store_sqlite_backend, path);
    svc_rmrf(dir);
}

static void test_pg_v2(void **state) {
    pgserver srv;
    assert_int_equal(pgserver_init(&srv), 0);
    assert_int_equal(pgserver_exec(&srv, NULL, "CREATE DATABASE old"), 0);
    char *sql = slurp(CHATD_FIXTURES "/store-v2.pg.sql");
    assert_int_equal(pgserver_exec(&srv, "old", sql), 0);
    free(sql);
    char conninfo[128];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%d user=postgres dbname=old",
             srv.port);
    check_upgraded(&store_pg_backend, conninfo);
    pgserver_destroy(&srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_v1),
        cmocka_unit_test(test_pg_v2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
