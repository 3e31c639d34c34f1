/*
 * store_sqlite_counters: a channel's counters (last seq, newest message id,
 * countable messages) and a sender's own-message count in a channel, kept
 * in memory for the length of one batch, so that k appends to one channel
 * in a batch read and write the channels row and the sender's members row
 * once instead of k times each (issue #16: those statements were half the
 * statements of an append).
 *
 * The rule that keeps it simple: only MSG_APPEND uses the cache. Before any
 * other op, and before COMMIT, the dirty counters are written back and the
 * cache is emptied (store_sqlite__exec_op, run_batch), so every other op
 * and every other reader sees the rows as they are. When a batch fails the
 * transaction rolls back and the cache is dropped with it.
 *
 * Threads: the worker thread of each store only; the cache is per thread,
 * and each store has its own worker thread.
 */
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <string.h>

#define CTR_SLOTS 64
#define OWN_SLOTS 256
#define OWN_USER_MAX 64 /* usernames are at most 32 bytes; longer ones bypass the cache */

typedef struct chan_ctr {
    char id[37];
    int64_t last;
    uint64_t newest;
    int64_t count;
} chan_ctr;

typedef struct own_ctr {
    char ch[37];
    char user[OWN_USER_MAX + 1];
    int64_t own; /* the member's own_count as this batch has it */
} own_ctr;

static _Thread_local struct {
    chan_ctr c[CTR_SLOTS];
    int n;
    own_ctr o[OWN_SLOTS];
    int n_own;
} tl;

static chan_ctr *find(const char *ch) {
    for (int i = 0; i < tl.n; i++)
        if (strncmp(tl.c[i].id, ch, 36) == 0) return &tl.c[i];
    return NULL;
}

int store_sqlite__ctr_get(sqlite3_stmt **st, const char *ch, int64_t *last, uint64_t *newest,
                          int64_t *count) {
    const chan_ctr *c = find(ch);
    if (c) {
        if (last) *last = c->last;
        if (newest) *newest = c->newest;
        if (count) *count = c->count;
        return 1;
    }
    sqlite3_stmt *s = st[SQ_CHAN_LAST_SEQ];
    store_sqlite__bind_chan(s, 1, ch);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        if (last) *last = sqlite3_column_int64(s, 0);
        if (newest) *newest = (uint64_t)sqlite3_column_int64(s, 1);
        if (count) *count = sqlite3_column_int64(s, 2);
    }
    store_sqlite__done(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -rc;
}

int store_sqlite__ctr_flush(sqlite3_stmt **st) {
    int ok = 1;
    for (int i = 0; i < tl.n && ok; i++) {
        sqlite3_stmt *s = st[SQ_CHAN_SET_SEQ];
        store_sqlite__bind_chan(s, 1, tl.c[i].id);
        sqlite3_bind_int64(s, 2, tl.c[i].last);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)tl.c[i].newest);
        sqlite3_bind_int64(s, 4, tl.c[i].count);
        ok = sqlite3_step(s) == SQLITE_DONE;
        store_sqlite__done(s);
    }
    for (int i = 0; i < tl.n_own && ok; i++) {
        sqlite3_stmt *s = st[SQ_MEMBER_OWN_SET];
        store_sqlite__bind_chan(s, 1, tl.o[i].ch);
        store_sqlite__bind_str(s, 2, tl.o[i].user);
        sqlite3_bind_int64(s, 3, tl.o[i].own);
        ok = sqlite3_step(s) == SQLITE_DONE;
        store_sqlite__done(s);
    }
    tl.n = tl.n_own = 0;
    return ok ? 0 : STORE_SQLITE__FATAL;
}

static own_ctr *find_own(const char *ch, const char *user) {
    for (int i = 0; i < tl.n_own; i++)
        if (strncmp(tl.o[i].ch, ch, 36) == 0 && strcmp(tl.o[i].user, user) == 0) return &tl.o[i];
    return NULL;
}

int store_sqlite__own_next(sqlite3_stmt **st, const char *ch, const char *user, int64_t *own) {
    own_ctr *o = find_own(ch, user);
    if (o) {
        *own = ++o->own;
        return 0;
    }
    *own = 0;
    sqlite3_stmt *s = st[SQ_MEMBER_OWN_GET];
    store_sqlite__bind_chan(s, 1, ch);
    store_sqlite__bind_str(s, 2, user);
    int rc = sqlite3_step(s);
    int64_t now = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    store_sqlite__done(s);
    if (rc == SQLITE_DONE) return 0; /* not a member: nothing to count (as before) */
    if (rc != SQLITE_ROW) return STORE_SQLITE__FATAL;
    if (strlen(user) > OWN_USER_MAX) { /* not cached: written at once */
        s = st[SQ_MEMBER_OWN_SET];
        store_sqlite__bind_chan(s, 1, ch);
        store_sqlite__bind_str(s, 2, user);
        sqlite3_bind_int64(s, 3, now + 1);
        rc = sqlite3_step(s);
        store_sqlite__done(s);
        if (rc != SQLITE_DONE) return STORE_SQLITE__FATAL;
        *own = now + 1;
        return 0;
    }
    if (tl.n_own == OWN_SLOTS && store_sqlite__ctr_flush(st) != 0) return STORE_SQLITE__FATAL;
    o = &tl.o[tl.n_own++];
    memcpy(o->ch, ch, 36);
    o->ch[36] = '\0';
    snprintf(o->user, sizeof o->user, "%s", user);
    *own = o->own = now + 1;
    return 0;
}

int store_sqlite__own_undo(sqlite3_stmt **st, const char *ch, const char *user) {
    own_ctr *o = find_own(ch, user);
    if (o) {
        o->own--;
        return 0;
    }
    sqlite3_stmt *s = st[SQ_MEMBER_OWN_GET];
    store_sqlite__bind_chan(s, 1, ch);
    store_sqlite__bind_str(s, 2, user);
    int rc = sqlite3_step(s);
    int64_t now = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    store_sqlite__done(s);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? 0 : STORE_SQLITE__FATAL;
    s = st[SQ_MEMBER_OWN_SET];
    store_sqlite__bind_chan(s, 1, ch);
    store_sqlite__bind_str(s, 2, user);
    sqlite3_bind_int64(s, 3, now - 1);
    rc = sqlite3_step(s);
    store_sqlite__done(s);
    return rc == SQLITE_DONE ? 0 : STORE_SQLITE__FATAL;
}

int store_sqlite__ctr_set(sqlite3_stmt **st, const char *ch, int64_t last, uint64_t newest,
                          int64_t count) {
    chan_ctr *c = find(ch);
    if (!c) {
        if (tl.n == CTR_SLOTS && store_sqlite__ctr_flush(st) != 0) return STORE_SQLITE__FATAL;
        c = &tl.c[tl.n++];
        memcpy(c->id, ch, 36);
        c->id[36] = '\0';
    }
    c->last = last;
    c->newest = newest;
    c->count = count;
    return 0;
}

void store_sqlite__ctr_drop(void) {
    tl.n = tl.n_own = 0;
}
