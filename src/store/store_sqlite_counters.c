/*
 * store_sqlite_counters: a channel's counters (last seq, newest message id,
 * countable messages) and a sender's own-message count and latest own
 * message in a channel, kept
 * in memory for the length of one batch, so that k appends to one channel
 * in a batch read and write the channels row and the sender's members row
 * once instead of k times each (issue #16: those statements were half the
 * statements of an append).
 *
 * The rule that keeps it simple: only MSG_APPEND uses the cache. Before any
 * other op, and before COMMIT, the counters are written back and the cache
 * is emptied (store_sqlite__exec_op, run_batch), so every other op and
 * every other reader sees the rows as they are. When a batch fails the
 * transaction rolls back and the cache is dropped with it. A full cache is
 * written back and emptied too.
 *
 * Ownership and threads: each store owns one cache (ctr_new/ctr_free);
 * run_batch names it for its worker thread (ctr_use) before running ops.
 */
#include "store/store_sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define CHAN_SLOTS 1024
#define OWN_SLOTS 2048
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
    int64_t seq; /* and own_seq: the seq of its latest own message */
} own_ctr;

/* Entries in arrays (written back in order), found through open-addressed
 * indexes of twice their size (entry number + 1; 0 empty). */
struct store_sqlite_ctr {
    chan_ctr c[CHAN_SLOTS];
    own_ctr o[OWN_SLOTS];
    uint16_t c_idx[2 * CHAN_SLOTS], o_idx[2 * OWN_SLOTS];
    int n, n_own;
};

static _Thread_local store_sqlite_ctr *tl;

store_sqlite_ctr *store_sqlite__ctr_new(void) {
    return xcalloc(1, sizeof(store_sqlite_ctr));
}

void store_sqlite__ctr_free(store_sqlite_ctr *c) {
    free(c);
}

void store_sqlite__ctr_use(store_sqlite_ctr *c) {
    tl = c;
}

static uint32_t hash(const char *ch, const char *user) {
    uint32_t h = 2166136261u;
    for (int i = 0; i < 36 && ch[i]; i++)
        h = (h ^ (unsigned char)ch[i]) * 16777619u;
    for (; user && *user; user++)
        h = (h ^ (unsigned char)*user) * 16777619u;
    return h;
}

/* The slot of ch's entry in c_idx, or of the empty slot where it goes. */
static uint16_t *chan_slot(const char *ch) {
    uint32_t mask = 2 * CHAN_SLOTS - 1;
    for (uint32_t i = hash(ch, NULL) & mask;; i = (i + 1) & mask) {
        uint16_t *e = &tl->c_idx[i];
        if (!*e || strncmp(tl->c[*e - 1].id, ch, 36) == 0) return e;
    }
}

static uint16_t *own_slot(const char *ch, const char *user) {
    uint32_t mask = 2 * OWN_SLOTS - 1;
    for (uint32_t i = hash(ch, user) & mask;; i = (i + 1) & mask) {
        uint16_t *e = &tl->o_idx[i];
        if (!*e) return e;
        const own_ctr *o = &tl->o[*e - 1];
        if (strncmp(o->ch, ch, 36) == 0 && strcmp(o->user, user) == 0) return e;
    }
}

int store_sqlite__ctr_get(sqlite3_stmt **st, const char *ch, int64_t *last, uint64_t *newest,
                          int64_t *count) {
    uint16_t *e = chan_slot(ch);
    if (*e) {
        const chan_ctr *c = &tl->c[*e - 1];
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

static int own_write(sqlite3_stmt **st, const char *ch, const char *user, int64_t own,
                     int64_t seq) {
    sqlite3_stmt *s = st[SQ_MEMBER_OWN_SET];
    store_sqlite__bind_chan(s, 1, ch);
    store_sqlite__bind_str(s, 2, user);
    sqlite3_bind_int64(s, 3, own);
    sqlite3_bind_int64(s, 4, seq);
    int rc = sqlite3_step(s);
    store_sqlite__done(s);
    return rc == SQLITE_DONE ? 0 : STORE_SQLITE__FATAL;
}

int store_sqlite__ctr_flush(sqlite3_stmt **st) {
    if (!tl->n && !tl->n_own) return 0;
    int ok = 1;
    for (int i = 0; i < tl->n && ok; i++) {
        sqlite3_stmt *s = st[SQ_CHAN_SET_SEQ];
        store_sqlite__bind_chan(s, 1, tl->c[i].id);
        sqlite3_bind_int64(s, 2, tl->c[i].last);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)tl->c[i].newest);
        sqlite3_bind_int64(s, 4, tl->c[i].count);
        ok = sqlite3_step(s) == SQLITE_DONE;
        store_sqlite__done(s);
    }
    for (int i = 0; i < tl->n_own && ok; i++)
        ok = own_write(st, tl->o[i].ch, tl->o[i].user, tl->o[i].own, tl->o[i].seq) == 0;
    store_sqlite__ctr_drop();
    return ok ? 0 : STORE_SQLITE__FATAL;
}

int store_sqlite__ctr_set(sqlite3_stmt **st, const char *ch, int64_t last, uint64_t newest,
                          int64_t count) {
    uint16_t *e = chan_slot(ch);
    if (!*e) {
        if (tl->n == CHAN_SLOTS) {
            if (store_sqlite__ctr_flush(st) != 0) return STORE_SQLITE__FATAL;
            e = chan_slot(ch);
        }
        chan_ctr *c = &tl->c[tl->n++];
        memcpy(c->id, ch, 36);
        c->id[36] = '\0';
        *e = (uint16_t)tl->n;
    }
    chan_ctr *c = &tl->c[*e - 1];
    c->last = last;
    c->newest = newest;
    c->count = count;
    return 0;
}

/* The member's own counters as stored: 1 found, 0 not a member, or FATAL. */
static int own_read(sqlite3_stmt **st, const char *ch, const char *user, int64_t *own,
                    int64_t *seq) {
    sqlite3_stmt *s = st[SQ_MEMBER_OWN_GET];
    store_sqlite__bind_chan(s, 1, ch);
    store_sqlite__bind_str(s, 2, user);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *own = sqlite3_column_int64(s, 0);
        *seq = sqlite3_column_int64(s, 1);
    }
    store_sqlite__done(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : STORE_SQLITE__FATAL;
}

int store_sqlite__own_get(sqlite3_stmt **st, const char *ch, const char *user, int64_t *own,
                          int64_t *seq) {
    *own = *seq = 0;
    uint16_t *e = strlen(user) <= OWN_USER_MAX ? own_slot(ch, user) : NULL;
    if (e && *e) {
        *own = tl->o[*e - 1].own;
        *seq = tl->o[*e - 1].seq;
        return 1;
    }
    return own_read(st, ch, user, own, seq);
}

int store_sqlite__own_set(sqlite3_stmt **st, const char *ch, const char *user, int64_t own,
                          int64_t seq) {
    if (strlen(user) > OWN_USER_MAX) return own_write(st, ch, user, own, seq); /* at once */
    uint16_t *e = own_slot(ch, user);
    if (!*e) {
        if (tl->n_own == OWN_SLOTS) {
            if (store_sqlite__ctr_flush(st) != 0) return STORE_SQLITE__FATAL;
            e = own_slot(ch, user);
        }
        own_ctr *o = &tl->o[tl->n_own++];
        memcpy(o->ch, ch, 36);
        o->ch[36] = '\0';
        snprintf(o->user, sizeof o->user, "%s", user);
        *e = (uint16_t)tl->n_own;
    }
    tl->o[*e - 1].own = own;
    tl->o[*e - 1].seq = seq;
    return 0;
}

void store_sqlite__ctr_drop(void) {
    if (tl->n) memset(tl->c_idx, 0, sizeof tl->c_idx);
    if (tl->n_own) memset(tl->o_idx, 0, sizeof tl->o_idx);
    tl->n = tl->n_own = 0;
}
