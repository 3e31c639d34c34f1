/*
 * test_search: full-text search gives the SAME results on SQLite (FTS5)
 * and PostgreSQL (tsvector), and both give what the one definition in
 * src/proto/search_query.c says (search_query_matches). One corpus (hand
 * picked cases and seeded random messages: mixed case, punctuation,
 * apostrophes, hyphens, digits, non-ASCII words, system notices) is
 * stored in both; every query of one list (hand picked, injection
 * attempts, seeded random ones) is run by every user through both stores,
 * with and without a channel, with `before` cursors and small pages; the
 * message ids and has_more must agree three ways. Edits and erasing
 * deletions (UPDATE of content, as the edit/delete ops do) and membership
 * changes must show at once. Also: the directory's order and substring
 * rule agree on both stores.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "pgserver.h"
#include "proto/search_query.h"
#include "store/store.h"
#include "store/store_sqlite.h"
#include "store/store_sqlite_int.h" /* store_sqlite__purge_step */
#include "search_queries.h"
#include "svcutil.h"

#define CH_A "11111111-1111-4111-8111-111111111111"
#define CH_B "22222222-2222-4222-8222-222222222222"
#define CH_C "33333333-3333-4333-8333-333333333333"
static const char *const CHANS[3] = {CH_A, CH_B, CH_C};
static const char *const USERS[3] = {"alice", "bob", "carol"};
/* membership: alice in A and B, bob in A and C, carol in B */
static const int MEMBER[3][3] = {{1, 1, 0}, {1, 0, 1}, {0, 1, 0}};

typedef struct row {
    uint64_t id;
    int chan;
    const char *user;
    char content[256];
} row;

#define MAX_ROWS 700
static row rows[MAX_ROWS];
static size_t n_rows;

typedef struct side {
    const store_backend *b;
    store *s;
} side;

static pgserver srv;
static uv_loop_t main_loop, *loop_p = &main_loop;
#define loop (*loop_p)
static side sq, pg;
static char sqdir[128], sqpath[256];

/* ---- store plumbing ---- */

static void count_done(store_op *op) {
    (*(int *)op->data)++;
}

static int run(side *sd, store_op *op) {
    int n = 0;
    op->done = count_done;
    op->data = &n;
    sd->b->submit(sd->s, op);
    while (n == 0)
        uv_run(&loop, UV_RUN_ONCE);
    return op->status;
}

static void both(store_op *op) {
    store_op copy = *op;
    assert_int_equal(run(&sq, op), STORE_OK);
    assert_int_equal(run(&pg, &copy), STORE_OK);
}

static void add_user(const char *u) {
    store_op op = {.kind = STORE_USER_CREATE};
    op.u.user_create.username = u;
    op.u.user_create.pw_hash = "h";
    op.u.user_create.created_ms = 1;
    both(&op);
}

static void add_user_to(side *sd, const char *u) {
    store_op op = {.kind = STORE_USER_CREATE};
    op.u.user_create.username = u;
    op.u.user_create.pw_hash = "h";
    op.u.user_create.created_ms = 1;
    assert_int_equal(run(sd, &op), STORE_OK);
}

static void add_channel(int c) {
    proto_member m[3];
    size_t n = 0;
    for (int u = 0; u < 3; u++)
        if (MEMBER[u][c])
            m[n++] =
                (proto_member){.user_id = (char *)USERS[u], .is_admin = n == 0, .joined_ms = 1};
    store_op op = {.kind = STORE_CHANNEL_CREATE};
    snprintf(op.u.channel_create.channel_id, 37, "%s", CHANS[c]);
    op.u.channel_create.name = c == 0 ? "Alpha" : c == 1 ? "beta" : "alphabet";
    op.u.channel_create.creator = m[0].user_id;
    op.u.channel_create.created_ms = 1;
    op.u.channel_create.members = m;
    op.u.channel_create.n_members = n;
    both(&op);
}

static void append_row(const row *r) {
    store_op op = {.kind = STORE_MSG_APPEND};
    proto_msg *m = &op.u.msg_append.msg;
    snprintf(m->channel_id, sizeof m->channel_id, "%s", CHANS[r->chan]);
    m->id = r->id;
    m->created_ms = (int64_t)r->id;
    m->user_id = (char *)r->user;
    m->content = (char *)r->content;
    m->metadata = "{}";
    store_op copy = op;
    assert_int_equal(run(&sq, &op), STORE_OK);
    assert_int_equal(run(&pg, &copy), STORE_OK);
    store_op_clear(&op);
    store_op_clear(&copy);
}

/* What an edit (new text) or an erasing delete ("") does to the row. */
static void set_content(row *r, const char *text) {
    snprintf(r->content, sizeof r->content, "%s", text);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(sqpath, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "UPDATE messages SET content = ?1 WHERE message_id = ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)r->id);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    char *sql = sqlite3_mprintf("UPDATE messages SET content = %Q WHERE message_id = %llu", text,
                                (unsigned long long)r->id);
    assert_int_equal(pgserver_exec(&srv, "search", sql), 0);
    sqlite3_free(sql);
}

/* ---- the corpus ---- */

static const char *const HAND[] = {
    "Hello world",
    "hello, World!",
    "HELLO-world again",
    "say hello to the world",
    "world hello (reversed)",
    "the quick brown fox jumps over the lazy dog",
    "Quick! Brown foxes are quicker",
    "don't stop believing",
    "dont stop",
    "it's a café in Zürich",
    "cafe culture",
    "CAFÉ LATTE",
    "日本語 のテキスト",
    "emoji \xf0\x9f\x98\x80 party",
    "e-mail me at bob@example.com",
    "email is down",
    "version 2.0.1 released",
    "v2 release notes",
    "AND OR NOT NEAR",
    "and or not near",
    "quote \"inside\" text",
    "back\\slash and 'single' quotes",
    "colon:star * and & pipe | bang !",
    "tabs\tand\nnewlines",
    "under_score and dot.name",
    "a b c d e f g",
    "aaa aab abb bbb",
    "repeat repeat repeat",
    "phrase one two three four",
    "one two",
    "two one",
    "prefix prefixed prefixes",
    "unprefixed pre",
    "12345 678",
    "x",
};

static const char *const VOCAB[] = {
    "alpha",      "Alpha",      "ALPHABET",  "beta",
    "gamma",      "delta",      "café",      "Cafe",
    "über",       "ueber",      "naïve",     "日本",
    "日本語",     "x1",         "x12",       "x123",
    "foo",        "foo-bar",    "bar",       "baz",
    "qux",        "don't",      "dont",      "it's",
    "its",        "a",          "an",        "the",
    "and",        "or",         "not",       "near",
    "hello",      "world",      "Hello,",    "world!",
    "(paren)",    "[brack]",    "e-mail",    "email",
    "2.0",        "20",         "0",         "\xf0\x9f\x98\x80",
    "snake_case", "kebab-case", "CamelCase", "camelcase",
    "ß",          "SS",
};
#define N_VOCAB (sizeof VOCAB / sizeof VOCAB[0])

static uint32_t rng = 12345;
static uint32_t next_rand(void) {
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

static void random_text(char *out, size_t cap, int words) {
    static const char *const seps[] = {" ", " ", " ", ", ", "-", ". ", "\t", " / ", "'"};
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < words; i++) {
        const char *w = VOCAB[next_rand() % N_VOCAB];
        const char *sep = i ? seps[next_rand() % (sizeof seps / sizeof seps[0])] : "";
        int n = snprintf(out + off, cap - off, "%s%s", sep, w);
        if (n < 0 || off + (size_t)n >= cap) break;
        off += (size_t)n;
    }
}

static void build_corpus(void) {
    uint64_t id = 1000;
    for (size_t i = 0; i < sizeof HAND / sizeof HAND[0]; i++) {
        row *r = &rows[n_rows++];
        r->id = id += 7;
        r->chan = (int)(i % 3);
        r->user = USERS[i % 3];
        snprintf(r->content, sizeof r->content, "%s", HAND[i]);
    }
    while (n_rows < 400) {
        row *r = &rows[n_rows++];
        r->id = id += 1 + next_rand() % 5;
        r->chan = (int)(next_rand() % 3);
        /* one in ten is a system notice: never found */
        r->user = next_rand() % 10 == 0 ? "system" : USERS[next_rand() % 3];
        random_text(r->content, sizeof r->content, 1 + (int)(next_rand() % 12));
    }
}

/* ---- the queries: search_queries.h ---- */

static void random_query(char *out, size_t cap) {
    int terms = 1 + (int)(next_rand() % 3);
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < terms; i++) {
        const char *w = VOCAB[next_rand() % N_VOCAB];
        int kind = (int)(next_rand() % 6);
        char t[96];
        if (kind == 0) { /* phrase of two */
            snprintf(t, sizeof t, "\"%s %s\"", w, VOCAB[next_rand() % N_VOCAB]);
        } else if (kind == 1) { /* prefix of a cut word */
            size_t n = strlen(w);
            size_t k = n > 1 ? 1 + next_rand() % (n - 1) : 1;
            while (k < n && ((unsigned char)w[k] & 0xC0) == 0x80) /* whole characters */
                k++;
            snprintf(t, sizeof t, "%.*s*", (int)k, w);
        } else {
            snprintf(t, sizeof t, "%s", w);
        }
        int n = snprintf(out + off, cap - off, "%s%s", i ? " " : "", t);
        if (n < 0 || off + (size_t)n >= cap) break;
        off += (size_t)n;
    }
}

/* ---- running one search three ways ---- */

typedef struct result {
    uint64_t ids[60];
    size_t n;
    int has_more;
} result;

static void store_search(side *sd, const search_query *q, const char *user, const char *chan,
                         uint64_t before, int limit, result *out) {
    store_op op = {.kind = STORE_SEARCH};
    op.u.search.user_id = user;
    if (chan) snprintf(op.u.search.channel_id, 37, "%s", chan);
    op.u.search.q = q;
    op.u.search.before = before;
    op.u.search.limit = limit;
    assert_int_equal(run(sd, &op), STORE_OK);
    out->n = op.u.search.n_msgs;
    out->has_more = op.u.search.has_more;
    for (size_t i = 0; i < out->n; i++) {
        out->ids[i] = op.u.search.msgs[i].id;
        /* the rows come whole */
        assert_string_equal(op.u.search.msgs[i].metadata, "{}");
        assert_non_null(op.u.search.msgs[i].content);
    }
    store_op_clear(&op);
}

static void expected(const search_query *q, int user, int chan, uint64_t before, int limit,
                     result *out) {
    out->n = 0;
    out->has_more = 0;
    for (size_t i = n_rows; i-- > 0;) { /* newest first: ids grow with i */
        const row *r = &rows[i];
        if (!MEMBER[user][r->chan] || (chan >= 0 && r->chan != chan)) continue;
        if (!strcmp(r->user, "system") || (before && r->id >= before)) continue;
        if (!search_query_matches(q, r->content, strlen(r->content))) continue;
        if (out->n == (size_t)limit) {
            out->has_more = 1;
            break;
        }
        out->ids[out->n++] = r->id;
    }
}

static void same(const char *what, const char *query, const char *user, const result *a,
                 const result *b) {
    int ok = a->n == b->n && a->has_more == b->has_more;
    for (size_t i = 0; ok && i < a->n; i++)
        ok = a->ids[i] == b->ids[i];
    if (ok) return;
    fprintf(stderr, "query [%s] user %s: %s differ: %zu%s vs %zu%s\n", query, user, what, a->n,
            a->has_more ? "+" : "", b->n, b->has_more ? "+" : "");
    for (size_t i = 0; i < a->n || i < b->n; i++)
        fprintf(stderr, "  %llu  %llu\n", i < a->n ? (unsigned long long)a->ids[i] : 0ULL,
                i < b->n ? (unsigned long long)b->ids[i] : 0ULL);
    fail_msg("search results differ (%s) for [%s]", what, query);
}

static size_t check_query(const char *text) {
    search_query q;
    if (search_query_parse(text, strlen(text), &q) != 0) return 0; /* refused before any store */
    size_t found = 0;
    for (int u = 0; u < 3; u++) {
        for (int c = -1; c < 3; c++) {
            if (c >= 0 && !MEMBER[u][c]) continue;
            int limits[2] = {50, 3};
            for (int li = 0; li < 2; li++) {
                result want, a, b;
                expected(&q, u, c, 0, limits[li], &want);
                store_search(&sq, &q, USERS[u], c >= 0 ? CHANS[c] : NULL, 0, limits[li], &a);
                store_search(&pg, &q, USERS[u], c >= 0 ? CHANS[c] : NULL, 0, limits[li], &b);
                same("sqlite vs definition", text, USERS[u], &a, &want);
                same("postgresql vs definition", text, USERS[u], &b, &want);
                found += want.n;
                /* the next page, through `before` */
                if (want.n && want.has_more) {
                    uint64_t cur = want.ids[want.n - 1];
                    expected(&q, u, c, cur, limits[li], &want);
                    store_search(&sq, &q, USERS[u], c >= 0 ? CHANS[c] : NULL, cur, limits[li], &a);
                    store_search(&pg, &q, USERS[u], c >= 0 ? CHANS[c] : NULL, cur, limits[li], &b);
                    same("sqlite page 2", text, USERS[u], &a, &want);
                    same("postgresql page 2", text, USERS[u], &b, &want);
                }
            }
        }
    }
    return found;
}

static void run_all_queries(size_t *found, size_t *nonempty) {
    for (size_t i = 0; i < N_QUERIES; i++) {
        size_t f = check_query(QUERIES[i]);
        *found += f;
        *nonempty += f > 0;
    }
    uint32_t keep = rng;
    for (int i = 0; i < 200; i++) {
        char qtext[200];
        random_query(qtext, sizeof qtext);
        size_t f = check_query(qtext);
        *found += f;
        *nonempty += f > 0;
    }
    rng = keep;
}

/* ---- tests ---- */

static void test_same_results(void **state) {
    size_t found = 0, nonempty = 0;
    run_all_queries(&found, &nonempty);
    /* the comparison means something only if many queries find something */
    fprintf(stderr, "%zu queries with results, %zu results in all\n", nonempty, found);
    assert_true(nonempty > 120);
    /* hand checks of the definition itself */
    search_query q;
    assert_int_equal(search_query_parse("hello", 5, &q), 0);
    result r;
    expected(&q, 0, -1, 0, 50, &r);
    assert_true(r.n >= 4);
}

static void test_edit_delete_membership(void **state) {
    /* an edit: the old words go, the new ones are found */
    row *r = &rows[5]; /* "the quick brown fox ..." in channel C (bob) */
    assert_int_equal(r->chan, 2);
    set_content(r, "completely different zyzzyva words");
    assert_true(check_query("zyzzyva") > 0);
    check_query("lazy dog");
    /* an erasing delete: never found again */
    set_content(r, "");
    assert_int_equal(check_query("zyzzyva"), 0);
    /* a member who leaves stops finding, at once */
    set_content(&rows[0], "membership probe qwertyq");
    assert_true(check_query("qwertyq") > 0);
    store_op op = {.kind = STORE_MEMBER_REMOVE};
    snprintf(op.u.member_remove.channel_id, 37, "%s", CHANS[rows[0].chan]);
    op.u.member_remove.user_id = "bob";
    both(&op);
    search_query q;
    assert_int_equal(search_query_parse("qwertyq", 7, &q), 0);
    result a, b;
    store_search(&sq, &q, "bob", NULL, 0, 50, &a);
    store_search(&pg, &q, "bob", NULL, 0, 50, &b);
    assert_int_equal(a.n, 0);
    assert_int_equal(b.n, 0);
    store_search(&sq, &q, "alice", NULL, 0, 50, &a);
    store_search(&pg, &q, "alice", NULL, 0, 50, &b);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
}

static void dir_list(side *sd, const char *query, const char *after, int limit, char out[][37],
                     size_t *n, int *more) {
    store_op op = {.kind = STORE_DIRECTORY};
    op.u.directory.user_id = "alice";
    op.u.directory.query = query;
    if (after) snprintf(op.u.directory.after, 37, "%s", after);
    op.u.directory.limit = limit;
    assert_int_equal(run(sd, &op), STORE_OK);
    *n = op.u.directory.n_entries;
    *more = op.u.directory.has_more;
    for (size_t i = 0; i < *n; i++)
        memcpy(out[i], op.u.directory.entries[i].channel_id, 37);
    store_op_clear(&op);
}

static void test_directory_same(void **state) {
    /* names that sort differently under a locale's collation than bytewise */
    static const char *const names[] = {"b-x", "B_x", "a x", "A.x", "ä x", "Zed", "_x", "bx"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        proto_member m = {.user_id = "bob", .is_admin = 1, .joined_ms = 1};
        store_op op = {.kind = STORE_CHANNEL_CREATE};
        snprintf(op.u.channel_create.channel_id, 37, "44444444-4444-4444-8444-%012zu", i);
        op.u.channel_create.name = names[i];
        op.u.channel_create.creator = "bob";
        op.u.channel_create.created_ms = 2;
        op.u.channel_create.members = &m;
        op.u.channel_create.n_members = 1;
        op.u.channel_create.is_private = i == 7;
        both(&op);
    }
    const char *queries[] = {NULL, "x", "b", "a x", "ä"};
    for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
        char a[20][37], b[20][37];
        size_t na, nb;
        int ma, mb;
        dir_list(&sq, queries[qi], NULL, 20, a, &na, &ma);
        dir_list(&pg, queries[qi], NULL, 20, b, &nb, &mb);
        assert_int_equal(na, nb);
        assert_int_equal(ma, mb);
        for (size_t i = 0; i < na; i++)
            assert_string_equal(a[i], b[i]);
        if (!queries[qi]) assert_int_equal(na, 3 + 7); /* Alpha, beta, alphabet + 7 public */
        /* page by page gives the same */
        if (na > 2) {
            dir_list(&sq, queries[qi], a[1], 2, b, &nb, &mb);
            assert_string_equal(b[0], a[2]);
            dir_list(&pg, queries[qi], a[1], 2, b, &nb, &mb);
            assert_string_equal(b[0], a[2]);
        }
    }
}

/* A search on PostgreSQL that cannot finish in time fails alone: another
 * session holds a lock the search needs (until we cancel it); the search
 * gives up at its 2 s limit (STORE_EIO, "unavailable" to the client) and
 * the store goes on serving, the next search included. */
static int members_locked(void) {
    char ci[160];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=postgres dbname=search", srv.port);
    PGconn *c = PQconnectdb(ci);
    PGresult *r = PQexec(c, "SELECT count(*) FROM pg_locks l JOIN pg_class k ON k.oid = l.relation"
                            " WHERE k.relname = 'members' AND l.mode = 'AccessExclusiveLock'"
                            " AND l.granted");
    int n = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return n;
}

static void test_pg_search_timeout(void **state) {
    char ci[160];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=postgres dbname=search", srv.port);
    PGconn *x = PQconnectdb(ci);
    assert_int_equal(PQstatus(x), CONNECTION_OK);
    assert_int_equal(PQsendQuery(x, "BEGIN; LOCK TABLE members IN ACCESS EXCLUSIVE MODE;"
                                    " SELECT pg_sleep(600); COMMIT"),
                     1);
    while (members_locked() != 1) /* held from now until cancelled */
        usleep(10 * 1000);
    search_query q;
    assert_int_equal(search_query_parse("hello", 5, &q), 0);
    store_op op = {.kind = STORE_SEARCH};
    op.u.search.user_id = "alice";
    op.u.search.q = &q;
    op.u.search.limit = 5;
    assert_int_equal(run(&pg, &op), STORE_EIO);
    assert_int_equal(op.u.search.n_msgs, 0);
    char err[128];
    PGcancel *cancel = PQgetCancel(x);
    assert_int_equal(PQcancel(cancel, err, sizeof err), 1);
    PQfreeCancel(cancel);
    PGresult *r;
    while ((r = PQgetResult(x)))
        PQclear(r);
    PQfinish(x);
    result after;
    store_search(&pg, &q, "alice", NULL, 0, 5, &after);
    assert_int_equal(after.n, 5);
    add_user("dave"); /* and writes go on */
}

/* ---- SQLite: removed words leave the file ---- */

static int file_holds(const char *path, const char *needle) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    int found = got >= strlen(needle) && memmem(buf, got, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static int64_t q1(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* An edit's old text and a deleted text: their words are gone from the
 * database file once the purge has run, by the small-index path (one
 * 'optimize') or by the large-index one (merges, a few pages each). */
static void removed_words(int at_once, int pages) {
    char dir[128], path[256];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "test_search_purge."));
    snprintf(path, sizeof path, "%s/chatd.db", dir);
    side one = {.b = &store_sqlite_backend};
    store_config cfg = {.path = path, .fsync = 0};
    uv_loop_t own; /* a loop of its own: closing this store runs it empty */
    assert_int_equal(uv_loop_init(&own), 0);
    loop_p = &own;
    assert_int_equal(one.b->open(&one.s, &cfg, &own), 0);
    side keep = sq;
    sq = one;
    add_user_to(&sq, "erin");
    proto_member me = {.user_id = "erin", .is_admin = 1, .joined_ms = 1};
    store_op op = {.kind = STORE_CHANNEL_CREATE};
    snprintf(op.u.channel_create.channel_id, 37, "%s", CH_A);
    op.u.channel_create.name = "p";
    op.u.channel_create.creator = "erin";
    op.u.channel_create.created_ms = 1;
    op.u.channel_create.members = &me;
    op.u.channel_create.n_members = 1;
    assert_int_equal(run(&sq, &op), STORE_OK);
    for (int i = 0; i < 60; i++) { /* one batch (a segment) each */
        store_op a = {.kind = STORE_MSG_APPEND};
        proto_msg *m = &a.u.msg_append.msg;
        snprintf(m->channel_id, sizeof m->channel_id, "%s", CH_A);
        m->id = 5000 + (uint64_t)i;
        m->created_ms = 5000 + i;
        m->user_id = "erin";
        m->content = i == 7   ? "zqxfirstsecretword and more"
                     : i == 8 ? "kept zqxkeptword"
                              : "filler words, some more words";
        m->metadata = "{}";
        assert_int_equal(run(&sq, &a), STORE_OK);
        store_op_clear(&a);
    }
    sq.b->close(sq.s);
    uv_run(&own, UV_RUN_DEFAULT);
    uv_loop_close(&own);
    loop_p = &main_loop;
    sq = keep;

    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA secure_delete = ON;"
                                  " UPDATE messages SET content = 'zqxsecondsecretword'"
                                  "   WHERE message_id = 5007;"
                                  " UPDATE messages SET content = '' WHERE message_id = 5007",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(q1(db, "SELECT erased - purged FROM search_purge"), 2);
    store_sqlite__purge p = {.at_once = at_once, .pages = pages};
    for (int i = 0; i < 10000 && q1(db, "SELECT erased - purged FROM search_purge") != 0; i++)
        assert_int_equal(store_sqlite__purge_step(db, &p), 0);
    assert_int_equal(q1(db, "SELECT erased - purged FROM search_purge"), 0);
    /* the index still answers, and nothing is found of the removed texts */
    assert_int_equal(
        q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zqxkeptword'"), 1);
    assert_int_equal(q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH"
                            " 'zqxfirstsecretword OR zqxsecondsecretword'"),
                     0);
    assert_int_equal(q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'fill*'"),
                     58);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_true(file_holds(path, "zqxkeptword"));
    assert_false(file_holds(path, "zqxfirstsecretword"));
    assert_false(file_holds(path, "zqxsecondsecretword"));
    svc_rmrf(dir);
}

static void test_sqlite_removed_words_small(void **state) {
    removed_words(0, 0);
}

static void test_sqlite_removed_words_large(void **state) {
    removed_words(1, 2); /* every index counts as large: merges of 2 pages */
}

/* Texts still queued for the index (store_sqlite_index.c): an edit changes
 * what will be indexed, a deletion takes the text off the queue; neither
 * touches the index, which never held them (an FTS5 'delete' of words it
 * does not hold would corrupt it). Then indexed, edited and deleted again:
 * the index holds exactly the current texts, and no removed word is left
 * in the file. */
static void test_sqlite_queued_texts(void **state) {
    char dir[128], path[256];
    assert_non_null(svc_mkdtemp(dir, sizeof dir, "test_search_queue."));
    snprintf(path, sizeof path, "%s/chatd.db", dir);
    uv_loop_t own;
    assert_int_equal(uv_loop_init(&own), 0);
    store *st = NULL;
    store_config cfg = {.path = path, .fsync = 0};
    assert_int_equal(store_sqlite_backend.open(&st, &cfg, &own), 0); /* the schema */
    store_sqlite_backend.close(st);
    uv_run(&own, UV_RUN_DEFAULT);
    uv_loop_close(&own);

    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(
            db,
            "PRAGMA secure_delete = ON;"
            "INSERT INTO users(username, pw_hash, created_ms) VALUES('erin', 'h', 1);"
            "INSERT INTO channels(channel_id, name, creator, created_ms) VALUES('c', 'c', 'erin',"
            " 1);"
            "INSERT INTO messages(channel_id, seq, message_id, user_id, content, created_ms) VALUES"
            " ('c', 1, 101, 'erin', 'zqxqueuedfirst stays', 1),"
            " ('c', 2, 102, 'erin', 'zqxqueueddeleted goes', 1),"
            " ('c', 3, 103, 'erin', 'zqxqueuederased goes', 1),"
            " ('c', 4, 104, 'system', 'zqxsystemnotice', 1),"
            " ('c', 5, 105, 'erin', 'zqxindexedlater edited', 1);"
            "UPDATE messages SET content = 'zqxqueuededited now' WHERE message_id = 101;"
            "DELETE FROM messages WHERE message_id = 102;"
            "UPDATE messages SET content = '' WHERE message_id = 103;",
            NULL, NULL, NULL),
        SQLITE_OK);
    /* queued: the user texts, not the notice; nothing is indexed yet */
    assert_int_equal(q1(db, "SELECT count(*) FROM search_queue"), 3);
    assert_int_equal(q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zqx*'"),
                     0);
    assert_int_equal(q1(db, "SELECT erased - purged FROM search_purge"), 0);
    sqlite3_close(db);

    assert_int_equal(store_sqlite_index_file(path), 0);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(q1(db, "SELECT count(*) FROM search_queue"), 0);
    assert_int_equal(
        q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zqxqueuededited'"), 1);
    assert_int_equal(q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH"
                            " 'zqxqueuedfirst OR zqxqueueddeleted OR zqxqueuederased OR"
                            " zqxsystemnotice'"),
                     0);
    /* once indexed, an edit goes through the index (and counts for the purge) */
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA secure_delete = ON;"
                                  "UPDATE messages SET content = 'zqxnewtext' WHERE"
                                  " message_id = 105",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(
        q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zqxindexedlater'"), 0);
    assert_int_equal(
        q1(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'zqxnewtext'"), 1);
    assert_int_equal(q1(db, "SELECT erased - purged FROM search_purge"), 1);
    store_sqlite__purge p = {0};
    assert_int_equal(store_sqlite__purge_step(db, &p), 0);
    /* the index agrees with its content table, row for row */
    assert_int_equal(
        sqlite3_exec(db, "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')", NULL,
                     NULL, NULL),
        SQLITE_OK);
    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_false(file_holds(path, "zqxqueueddeleted"));
    assert_false(file_holds(path, "zqxqueuederased"));
    assert_false(file_holds(path, "zqxindexedlater"));
    assert_true(file_holds(path, "zqxnewtext"));
    svc_rmrf(dir);
}

static int group_setup(void **state) {
    if (pgserver_init(&srv) != 0) return -1;
    if (pgserver_exec(&srv, NULL, "CREATE DATABASE search") != 0) return -1;
    if (uv_loop_init(&loop) != 0) return -1;
    if (!svc_mkdtemp(sqdir, sizeof sqdir, "test_search.")) return -1;
    snprintf(sqpath, sizeof sqpath, "%s/chatd.db", sqdir);
    char ci[160];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d user=postgres dbname=search", srv.port);
    store_config c1 = {.path = sqpath, .fsync = 0}, c2 = {.path = ci, .fsync = 0};
    sq.b = &store_sqlite_backend;
    pg.b = &store_pg_backend;
    if (sq.b->open(&sq.s, &c1, &loop) != 0 || pg.b->open(&pg.s, &c2, &loop) != 0) return -1;
    for (int u = 0; u < 3; u++)
        add_user(USERS[u]);
    for (int c = 0; c < 3; c++)
        add_channel(c);
    build_corpus();
    for (size_t i = 0; i < n_rows; i++)
        append_row(&rows[i]);
    return 0;
}

static int group_teardown(void **state) {
    if (sq.s) sq.b->close(sq.s);
    if (pg.s) pg.b->close(pg.s);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    pgserver_destroy(&srv);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s%s", sqpath, suffix[i]);
        unlink(p);
    }
    rmdir(sqdir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results),
        cmocka_unit_test(test_edit_delete_membership),
        cmocka_unit_test(test_directory_same),
        cmocka_unit_test(test_pg_search_timeout),
        cmocka_unit_test(test_sqlite_removed_words_small),
        cmocka_unit_test(test_sqlite_removed_words_large),
        cmocka_unit_test(test_sqlite_queued_texts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
