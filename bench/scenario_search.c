/*
 * scenario search: full-text search latency (protocol 1.1, issue #13: under
 * 50 ms p99 at 1 million messages on SQLite) through the store interface
 * chatd uses (STORE_SEARCH: the query parser, the FTS5 or tsvector query,
 * the membership filter, the rows read whole), one search at a time.
 *
 * Seed (once per --db, SQLite or PostgreSQL; skipped when it holds the
 * messages already):
 * --messages N messages written straight into the database in one
 * transaction and indexed (store_sqlite_index_file), spread round-robin
 * over --channels channels; the searcher is a member of the first
 * --members of them. Texts are 6-16 words drawn from a 20,000-word
 * vocabulary with a Zipf (s = 1) distribution, as words in chat are; each
 * channel also has jargon of its own (5% of its words), so some words are
 * frequent but only in channels the searcher is not in: the worst case of
 * a membership filter.
 *
 * Measure: --rounds searches of each class, rotating the words: common
 * (top 10), medium (rank 100-1000), rare (rank > 10000), two words, a
 * prefix of 1-3 characters and one of 4, a phrase, a word of no channel, jargon of channels the
 * searcher is not in, jargon of one of theirs, and a common word in one channel. Reports p50/p99
 * over all and per class.
 */
#include "bench.h"
#include "seed_db.h"
#include "stats.h"

#include "proto/search_query.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB 20000
#define JARGON 20
#define SEARCHER "srch-user"

static char vocab[VOCAB][12];
static double cdf[VOCAB];

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) { /* xorshift64 */
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static void make_vocab(void) {
    static const char *const syl[] = {"ka",  "lo", "mi",  "ne", "ru",  "ta", "vo",
                                      "shi", "pe", "dan", "qu", "zor", "el", "fa",
                                      "gi",  "hu", "jo",  "wy", "bri", "st"};
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) {
        int a = i % 20, b = (i / 20) % 20, c = (i / 400) % 20, d = i / 8000;
        snprintf(vocab[i], sizeof vocab[i], "%s%s%s%s", syl[a], syl[b], d ? syl[c] : "",
                 d ? syl[d] : syl[c]);
        sum += 1.0 / (i + 1);
        cdf[i] = sum;
    }
    for (int i = 0; i < VOCAB; i++)
        cdf[i] /= sum;
}

static int zipf(void) {
    double u = (double)(rnd() % 1000000007) / 1000000007.0;
    int lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Channel k's jargon word j: not in the vocabulary. */
static void jargon(char *out, size_t cap, int k, int j) {
    snprintf(out, cap, "jar%dgon%d", k, j);
}

static void make_text(char *out, size_t cap, int chan) {
    int words = 6 + (int)(rnd() % 11);
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < words; i++) {
        char w[32];
        if (rnd() % 20 == 0)
            jargon(w, sizeof w, chan, (int)(rnd() % JARGON));
        else
            snprintf(w, sizeof w, "%s", vocab[zipf()]);
        if (i == 0) w[0] = (char)(w[0] - 32); /* a capital, as people write */
        off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? (rnd() % 8 ? " " : ", ") : "", w);
    }
    snprintf(out + off, cap - off, "%s", rnd() % 3 ? "." : "?");
}

static int exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK) return 0;
    bench_log("search: %s: %s", sql, err ? err : "?");
    sqlite3_free(err);
    return -1;
}

static int64_t count_messages(sqlite3 *db) {
    sqlite3_stmt *s;
    int64_t n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void chan_id(char out[37], int k) {
    snprintf(out, 37, "5ea4c400-0000-4000-8000-%012d", k);
}

/* Writes the users, channels, memberships and n messages (SQLite). */
static int seed_sqlite(const char *path, int64_t n, int channels, int member_of) {
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return -1;
    sqlite3_busy_timeout(db, 10000);
    int64_t have = count_messages(db);
    if (have >= n) {
        sqlite3_close(db);
        bench_log("search: %s holds %lld messages already", path, (long long)have);
        return 0;
    }
    double t0 = bench_now_ns() / 1e9;
    if (exec(db, "PRAGMA synchronous = OFF") || exec(db, "BEGIN")) goto fail;
    char sql[512], id[37];
    snprintf(sql, sizeof sql,
             "INSERT INTO users(username, pw_hash, created_ms) VALUES('%s', 'x', 1)", SEARCHER);
    if (exec(db, sql)) goto fail;
    for (int k = 0; k < channels; k++) {
        chan_id(id, k);
        snprintf(sql, sizeof sql,
                 "INSERT INTO users(username, pw_hash, created_ms) VALUES('srch-w%d', 'x', 1);"
                 "INSERT INTO channels(channel_id, name, creator, created_ms) VALUES('%s',"
                 " 'search %d', 'srch-w%d', 1);"
                 "INSERT INTO members(channel_id, user_id, is_admin, joined_ms)"
                 " VALUES('%s', 'srch-w%d', 1, 1);",
                 k, id, k, k, id, k);
        if (exec(db, sql)) goto fail;
        if (k < member_of) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO members(channel_id, user_id, joined_ms) VALUES('%s', '%s', 1)",
                     id, SEARCHER);
            if (exec(db, sql)) goto fail;
        }
    }
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO messages(channel_id, seq, message_id, user_id, content,"
                           " created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &ins, NULL) != SQLITE_OK)
        goto fail;
    int64_t base_ms = 1700000000000;
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(i % channels);
        char text[256], user[32];
        chan_id(id, k);
        make_text(text, sizeof text, k);
        snprintf(user, sizeof user, "srch-w%d", k);
        int64_t ms = base_ms + i;
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 2, i / channels + 1);
        sqlite3_bind_int64(ins, 3, (ms << 22) | (int64_t)k);
        sqlite3_bind_text(ins, 4, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 6, ms);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            bench_log("search: insert: %s", sqlite3_errmsg(db));
            sqlite3_finalize(ins);
            goto fail;
        }
        sqlite3_reset(ins);
        if (i % 20000 == 0)
            bench_progress("search: seeded %lld of %lld", (long long)i, (long long)n);
    }
    sqlite3_finalize(ins);
    if (exec(db, "UPDATE channels SET last_seq = (SELECT max(seq) FROM messages m WHERE"
                 " m.channel_id = channels.channel_id), last_message_id = (SELECT max(message_id)"
                 " FROM messages m WHERE m.channel_id = channels.channel_id)") ||
        exec(db, "COMMIT"))
        goto fail;
    bench_progress_done();
    sqlite3_close(db);
    /* the queue chatd's writer would index in the background, at once */
    if (store_sqlite_index_file(path) != 0) return -1;
    bench_log("search: seeded and indexed %lld messages in %.1f s", (long long)n,
              bench_now_ns() / 1e9 - t0);
    return 0;
fail:
    sqlite3_close(db);
    return -1;
}

/* The same into PostgreSQL: COPY, the store's trigger computes each tsv. */
static int pg_ok(PGconn *c, PGresult *r) {
    int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ||
                   PQresultStatus(r) == PGRES_COPY_IN);
    if (!ok) bench_log("search: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static int seed_pg(const char *conninfo, int64_t n, int channels, int member_of) {
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        bench_log("search: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PGresult *r = PQexec(c, "SELECT count(*) FROM messages");
    int64_t have = r && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    if (have >= n) {
        bench_log("search: the database holds %lld messages already", (long long)have);
        PQfinish(c);
        return 0;
    }
    double t0 = bench_now_ns() / 1e9;
    char sql[640], id[37];
    if (!pg_ok(c, PQexec(c, "BEGIN"))) goto fail;
    snprintf(sql, sizeof sql,
             "INSERT INTO users(username, pw_hash, created_ms) VALUES('%s', 'x', 1)", SEARCHER);
    if (!pg_ok(c, PQexec(c, sql))) goto fail;
    for (int k = 0; k < channels; k++) {
        chan_id(id, k);
        snprintf(sql, sizeof sql,
                 "INSERT INTO users(username, pw_hash, created_ms) VALUES('srch-w%d', 'x', 1);"
                 "INSERT INTO channels(channel_id, name, creator, created_ms) VALUES('%s',"
                 " 'search %d', 'srch-w%d', 1);"
                 "INSERT INTO members(channel_id, user_id, is_admin, joined_ms)"
                 " VALUES('%s', 'srch-w%d', true, 1);",
                 k, id, k, k, id, k);
        if (!pg_ok(c, PQexec(c, sql))) goto fail;
        if (k < member_of) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO members(channel_id, user_id, joined_ms) VALUES('%s', '%s', 1)",
                     id, SEARCHER);
            if (!pg_ok(c, PQexec(c, sql))) goto fail;
        }
    }
    if (!pg_ok(c, PQexec(c, "COPY messages(channel_id, seq, message_id, user_id, content,"
                            " created_ms) FROM STDIN")))
        goto fail;
    int64_t base_ms = 1700000000000;
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(i % channels);
        char text[256], line[512];
        chan_id(id, k);
        make_text(text, sizeof text, k); /* no tab, newline or backslash: COPY text as is */
        int64_t ms = base_ms + i;
        int len = snprintf(line, sizeof line, "%s\t%lld\t%lld\tsrch-w%d\t%s\t%lld\n", id,
                           (long long)(i / channels + 1), (long long)((ms << 22) | k), k, text,
                           (long long)ms);
        if (PQputCopyData(c, line, len) != 1) goto fail;
        if (i % 20000 == 0)
            bench_progress("search: seeded %lld of %lld", (long long)i, (long long)n);
    }
    if (PQputCopyEnd(c, NULL) != 1 || !pg_ok(c, PQgetResult(c))) goto fail;
    if (!pg_ok(c, PQexec(c, "UPDATE channels SET last_seq = (SELECT max(seq) FROM messages m"
                            " WHERE m.channel_id = channels.channel_id), last_message_id ="
                            " (SELECT max(message_id) FROM messages m WHERE m.channel_id ="
                            " channels.channel_id)")) ||
        !pg_ok(c, PQexec(c, "COMMIT")) || !pg_ok(c, PQexec(c, "VACUUM ANALYZE messages")))
        goto fail;
    bench_progress_done();
    bench_log("search: seeded %lld messages in %.1f s", (long long)n, bench_now_ns() / 1e9 - t0);
    PQfinish(c);
    return 0;
fail:
    PQfinish(c);
    return -1;
}

/* ---- measuring ---- */

enum {
    C_COMMON,
    C_MEDIUM,
    C_RARE,
    C_TWO,
    C_SHORT,
    C_PREFIX,
    C_PHRASE,
    C_ABSENT,
    C_FOREIGN,
    C_OWN,
    C_CHAN,
    C__N
};
static const char *const CLASS[C__N] = {"common",
                                        "medium",
                                        "rare",
                                        "two words",
                                        "prefix of 1-3 characters",
                                        "prefix of 4 characters",
                                        "phrase",
                                        "absent",
                                        "jargon, not a member",
                                        "jargon, a member",
                                        "common, one channel"};

/* The 1-minute load average, -1 when unknown. */
static double loadavg(void) {
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
}

static int g_done;
static void on_done(store_op *op) {
    g_done = 1;
}

static void query_of(int cls, int i, int channels, int member_of, char *q, size_t cap) {
    const char *a = vocab[i % 10], *m = vocab[100 + (i * 37) % 900],
               *r = vocab[10000 + (i * 131) % 10000];
    char j[32];
    switch (cls) {
    case C_COMMON:
        snprintf(q, cap, "%s", a);
        break;
    case C_MEDIUM:
        snprintf(q, cap, "%s", m);
        break;
    case C_RARE:
        snprintf(q, cap, "%s", r);
        break;
    case C_TWO:
        snprintf(q, cap, "%s %s", a, m);
        break;
    case C_SHORT:
        snprintf(q, cap, "%.*s*", 1 + i % 3, vocab[(i * 7) % VOCAB]);
        break;
    case C_PREFIX:
        snprintf(q, cap, "%.4s*", m);
        break;
    case C_PHRASE:
        snprintf(q, cap, "\"%s %s\"", vocab[i % 3], vocab[(i / 3) % 5]);
        break;
    case C_ABSENT:
        snprintf(q, cap, "nowhere%d", i);
        break;
    case C_FOREIGN:
        jargon(j, sizeof j, member_of + i % (channels - member_of), i % JARGON);
        snprintf(q, cap, "%s", j);
        break;
    case C_OWN:
        jargon(j, sizeof j, i % member_of, i % JARGON);
        snprintf(q, cap, "%s", j);
        break;
    default:
        snprintf(q, cap, "%s", a);
        break;
    }
}

json_t *scenario_search(const bench_opts *o) {
    const char *where;
    const store_backend *b = seed_store_for(o->db, &where);
    if (!b) return NULL;
    int64_t n = o->messages ? atoll(o->messages) : 1000000;
    int channels = o->channels > 1 ? o->channels : 100;
    int member_of = o->members > 1 && o->members < channels ? o->members : channels / 5;
    int rounds = o->rounds > 0 ? o->rounds : 100;
    make_vocab();
    uv_loop_t *loop = uv_default_loop();
    store *st = NULL;
    store_config cfg = {.path = where, .fsync = 1};
    /* the store creates (or migrates) the schema, then the seed goes in beside it */
    if (b->open(&st, &cfg, loop) != 0) return NULL;
    b->close(st);
    uv_run(loop, UV_RUN_NOWAIT);
    if ((b == &store_sqlite_backend ? seed_sqlite : seed_pg)(where, n, channels, member_of) != 0)
        return NULL;
    if (b->open(&st, &cfg, loop) != 0) return NULL;

    static stats_hist all, per[C__N];
    stats_reset(&all);
    int64_t hits[C__N] = {0};
    char chan[37];
    double load0 = loadavg(), cpu0 = 0;
    for (int i = -10; i < rounds; i++) { /* 10 warm-up rounds, not counted */
        if (i == 0) cpu0 = bench_cpu_s(0);
        for (int c = 0; c < C__N; c++) {
            char text[96];
            search_query q;
            query_of(c, i < 0 ? -i : i, channels, member_of, text, sizeof text);
            if (search_query_parse(text, strlen(text), &q) != 0) continue;
            store_op op = {.kind = STORE_SEARCH, .done = on_done};
            op.u.search.user_id = SEARCHER;
            op.u.search.q = &q;
            op.u.search.limit = 20;
            if (c == C_CHAN) {
                chan_id(chan, (i < 0 ? -i : i) % member_of);
                memcpy(op.u.search.channel_id, chan, 37);
            }
            g_done = 0;
            uint64_t t0 = bench_now_ns();
            b->submit(st, &op);
            while (!g_done)
                uv_run(loop, UV_RUN_ONCE);
            uint64_t dt = bench_now_ns() - t0;
            if (op.status != STORE_OK) {
                bench_log("search: [%s] failed (%d)", text, op.status);
                b->close(st);
                return NULL;
            }
            if (i >= 0) {
                stats_record(&all, dt);
                stats_record(&per[c], dt);
                hits[c] += (int64_t)op.u.search.n_msgs;
            }
            store_op_clear(&op);
        }
    }
    double cpu = bench_cpu_s(0) - cpu0, load1 = loadavg();
    b->close(st);
    uv_run(loop, UV_RUN_NOWAIT);

    json_t *res = json_object();
    /* CPU spent per search (this process: the store's worker and the loop)
     * against the wall-clock latency: the difference is waiting, for the
     * disk or for a core (the load average says how busy the machine was) */
    json_object_set_new(res, "cpu_ms_per_search", json_real(cpu * 1e3 / (double)all.count));
    json_object_set_new(res, "loadavg_before", json_real(load0));
    json_object_set_new(res, "loadavg_after", json_real(load1));
    json_object_set_new(res, "scenario", json_string("search"));
    json_object_set_new(res, "db", json_string(b->name));
    json_object_set_new(res, "messages", json_integer((json_int_t)n));
    json_object_set_new(res, "channels", json_integer(channels));
    json_object_set_new(res, "member_of", json_integer(member_of));
    json_object_set_new(res, "rounds", json_integer(rounds));
    json_t *lat = json_object();
    bench_latency_json(lat, &all);
    json_object_set_new(res, "search_latency", lat);
    json_t *cls = json_array();
    for (int c = 0; c < C__N; c++) {
        json_t *e = json_object();
        json_object_set_new(e, "class", json_string(CLASS[c]));
        bench_latency_json(e, &per[c]);
        json_object_set_new(e, "results_per_search", json_real((double)hits[c] / rounds));
        json_array_append_new(cls, e);
    }
    json_object_set_new(res, "classes", cls);
    return res;
}
