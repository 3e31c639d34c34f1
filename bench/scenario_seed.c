/*
 * scenario seed: writes the population and history of seed.h into --db
 * while no chatd runs on it. Runs in up to two steps, each done only when
 * the database does not hold it yet, so that a benchmark can measure the
 * same users on the same memberships first without and then with history:
 *   1. the schema (chatd's own: the store is opened once, which migrates),
 *      then the users, channels and memberships, counters zero;
 *   2. with --messages, every channel's messages and then the counters
 *      over them (channels' and members', read marks included).
 * Each step is one transaction. Reports rows and seconds per step.
 */
#include "bench.h"
#include "seed.h"
#include "seed_db.h"
#include "users.h"

#include "auth/password.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const seed_db_ops *seed_db_for(const char *spec, const char **where) {
    if (spec && strncmp(spec, "sqlite:", 7) == 0) {
        *where = spec + 7;
        return &seed_sqlite_ops;
    }
    if (spec && strncmp(spec, "pg:", 3) == 0) {
        *where = spec + 3;
        return &seed_pg_ops;
    }
    bench_log("--db wants sqlite:PATH or pg:CONNINFO (got %s)", spec ? spec : "nothing");
    return NULL;
}

const store_backend *seed_store_for(const char *spec, const char **where) {
    const seed_db_ops *ops = seed_db_for(spec, where);
    if (!ops) return NULL;
    return ops == &seed_sqlite_ops ? &store_sqlite_backend : &store_pg_backend;
}

/* chatd creates (or migrates) its schema when it opens the store. */
static int make_schema(const char *spec) {
    const char *where;
    const store_backend *b = seed_store_for(spec, &where);
    store *st = NULL;
    store_config cfg = {.path = where, .fsync = 1};
    if (!b || b->open(&st, &cfg, uv_default_loop()) != 0) {
        bench_log("seed: cannot open the store at %s", spec);
        return -1;
    }
    b->close(st);
    uv_run(uv_default_loop(), UV_RUN_NOWAIT);
    return 0;
}

static int write_population(const seed_db_ops *ops, seed_db *db, const seed_plan *p,
                            const char *password, size_t *memberships) {
    /* chatd's `--argon2 min` limits (src/roles/app.c): one hash for all */
    password_params pp = {.opslimit = 1, .memlimit = 8192};
    char hash[PASSWORD_HASH_LEN];
    if (password_hash(&pp, password, strlen(password), hash) != 0) return -1;
    if (ops->begin(db)) return -1;
    int64_t created = p->base_ms - 2 * 86400000LL;
    for (size_t u = 0; u < p->users; u++) {
        char name[40];
        users_name(name, sizeof name, p->prefix, u);
        if (ops->user(db, name, hash, created)) return -1;
    }
    *memberships = 0;
    for (size_t i = 0; i < seed_channel_count(p); i++) {
        seed_channel c;
        seed_channel_at(p, i, &c);
        if (ops->channel(db, &c)) return -1;
        for (size_t j = 0; j < c.n; j++, (*memberships)++) {
            seed_member m;
            seed_member_at(p, &c, j, &m);
            if (ops->member(db, &c, &m)) return -1;
        }
        bench_progress("seed: channel %zu/%zu", i + 1, seed_channel_count(p));
    }
    return ops->commit(db);
}

static int write_messages(const seed_db_ops *ops, seed_db *db, const seed_plan *p) {
    int64_t total = seed_message_count(p), done = 0;
    if (ops->begin(db)) return -1;
    for (size_t i = 0; i < seed_channel_count(p); i++) {
        seed_channel c;
        seed_channel_at(p, i, &c);
        for (int64_t s = 1; s <= c.msgs; s++, done++) {
            seed_msg m;
            seed_msg_at(p, &c, s, &m);
            if (ops->message(db, &c, &m)) return -1;
            if ((s & 0xffff) == 0)
                bench_progress("seed: %lld/%lld messages", (long long)done, (long long)total);
        }
        if (ops->channel_counters(db, &c)) return -1;
        for (size_t j = 0; j < c.n; j++) {
            seed_member m;
            seed_member_at(p, &c, j, &m);
            if (ops->member_counters(db, &c, &m)) return -1;
        }
    }
    bench_progress("seed: committing %lld messages", (long long)total);
    return ops->commit(db);
}

/* The first channel that holds messages in the plan: its index, or -1. */
static long first_with_messages(const seed_plan *p) {
    for (size_t i = 0; i < seed_channel_count(p); i++) {
        seed_channel c;
        seed_channel_at(p, i, &c);
        if (c.msgs > 0) return (long)i;
    }
    return -1;
}

int seed_run(const char *spec, const char *prefix, const char *password, const char *population,
             const char *messages, json_t *r) {
    seed_plan p;
    const char *where;
    const seed_db_ops *ops = seed_db_for(spec, &where);
    if (!ops || seed_plan_init(&p, prefix, population, messages) != 0) return -1;
    if (make_schema(spec) != 0) return -1;
    seed_db *db = ops->open(where, 1);
    if (!db) return -1;
    json_object_set_new(r, "db", json_string(ops->name));
    json_object_set_new(r, "population", json_string(population));
    json_object_set_new(r, "messages", json_string(messages));
    json_object_set_new(r, "users", json_integer((json_int_t)p.users));
    json_object_set_new(r, "channels", json_integer((json_int_t)seed_channel_count(&p)));
    int rc = 0;
    seed_channel c0;
    seed_channel_at(&p, 0, &c0);
    double t0 = bench_now_s();
    size_t memberships = 0;
    if (ops->last_seq(db, c0.id) == -2) {
        rc = write_population(ops, db, &p, password, &memberships);
        json_object_set_new(r, "memberships", json_integer((json_int_t)memberships));
        json_object_set_new(r, "population_s", json_real(bench_now_s() - t0));
    }
    long first = first_with_messages(&p);
    if (rc == 0 && first >= 0) {
        seed_channel c;
        seed_channel_at(&p, (size_t)first, &c);
        int64_t have = ops->last_seq(db, c.id);
        if (have == 0) {
            t0 = bench_now_s();
            rc = write_messages(ops, db, &p);
            double s = bench_now_s() - t0;
            json_object_set_new(r, "messages_written", json_integer(seed_message_count(&p)));
            json_object_set_new(r, "messages_s", json_real(s));
            json_object_set_new(r, "messages_per_s",
                                json_real(s > 0 ? (double)seed_message_count(&p) / s : 0));
        } else if (have != c.msgs) {
            bench_log("seed: channel %s holds %lld messages, not 0 or %lld: another seed?", c.id,
                      (long long)have, (long long)c.msgs);
            rc = -1;
        }
    }
    bench_progress_done();
    json_object_set_new(r, "messages_stored", json_integer(seed_message_count(&p)));
    ops->close(db);
    if (rc == 0 && ops == &seed_sqlite_ops) { /* as chatd would have, in the background */
        t0 = bench_now_s();
        rc = store_sqlite_index_file(where);
        json_object_set_new(r, "search_index_s", json_real(bench_now_s() - t0));
    }
    if (rc != 0) bench_log("seed: failed");
    return rc;
}

json_t *scenario_seed(const bench_opts *o) {
    json_t *r = json_object();
    json_object_set_new(r, "scenario", json_string("seed"));
    if (seed_run(o->db, o->prefix, o->password, o->population, o->messages, r) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}
