/*
 * state: the client's channel list, dedupe sets and presence map. See
 * state.h. Plain arrays and linear scans: a user has tens of channels, not
 * millions, and this keeps the code obvious.
 */
#define _GNU_SOURCE
#include "cli/state.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A copy of s, "" for NULL. */
static char *dup_str(const char *s) {
    return xstrdup(s ? s : "");
}

void cli_state_init(cli_state *st) {
    memset(st, 0, sizeof *st);
}

static void free_others(cli_channel *c) {
    for (size_t i = 0; i < c->n_others; i++)
        free(c->others[i]);
    free(c->others);
    c->others = NULL;
    c->n_others = 0;
}

static void channel_free(cli_channel *c) {
    if (!c) return;
    free(c->name);
    free(c->display);
    free(c->topic);
    free_others(c);
    free(c->seen);
    json_decref(c->held);
    free(c);
}

void cli_state_free(cli_state *st) {
    for (size_t i = 0; i < st->n_ch; i++)
        channel_free(st->ch[i]);
    free(st->ch);
    for (size_t i = 0; i < st->n_pr; i++) {
        free(st->pr[i].user);
        free(st->pr[i].status);
    }
    free(st->pr);
    memset(st, 0, sizeof *st);
}

static void update_display(cli_channel *c) {
    char *d = NULL;
    if (c->name && c->name[0])
        d = dup_str(c->name);
    else if (c->is_direct && c->n_others > 0) {
        if (asprintf(&d, "@%s", c->others[0]) < 0) abort();
    } else {
        if (asprintf(&d, "%.8s", c->id) < 0) abort();
    }
    free(c->display);
    c->display = d;
}

const char *cli_state_display(const cli_channel *c) {
    return c->display ? c->display : c->id;
}

cli_channel *cli_state_find(const cli_state *st, const char *id) {
    for (size_t i = 0; i < st->n_ch; i++)
        if (strcmp(st->ch[i]->id, id) == 0) return st->ch[i];
    return NULL;
}

cli_channel *cli_state_add(cli_state *st, const char *id, const char *name, int is_direct) {
    cli_channel *c = cli_state_find(st, id);
    if (c) {
        if (name && (!c->name || !c->name[0])) {
            free(c->name);
            c->name = dup_str(name);
            update_display(c);
        }
        return c;
    }
    c = xcalloc(1, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->name = dup_str(name);
    c->topic = dup_str(NULL);
    c->is_direct = is_direct;
    c->held = json_array();
    update_display(c);
    if (st->n_ch == st->cap_ch) {
        st->cap_ch = st->cap_ch ? st->cap_ch * 2 : 16;
        st->ch = xrealloc(st->ch, st->cap_ch * sizeof *st->ch);
    }
    st->ch[st->n_ch++] = c;
    return c;
}

static const char *str_or(json_t *o, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : dflt;
}

int cli_state_apply_list(cli_state *st, json_t *frame) {
    json_t *arr = json_object_get(frame, "channels");
    if (!json_is_array(arr)) return -1;
    for (size_t i = 0; i < st->n_ch; i++) {
        st->ch[i]->in_list = 0;
        st->ch[i]->is_new = 0;
    }
    size_t idx;
    json_t *e;
    json_array_foreach(arr, idx, e) {
        const char *id = str_or(e, "channel_id", NULL);
        if (!id || strlen(id) >= sizeof(((cli_channel *)0)->id)) continue;
        int is_direct = json_is_true(json_object_get(e, "is_direct")) ||
                        strcmp(str_or(e, "channel_type", ""), "direct") == 0;
        cli_channel *c = cli_state_find(st, id);
        if (!c) {
            c = cli_state_add(st, id, NULL, is_direct);
            c->cursor = cli_state_msg_id(str_or(e, "last_message_id", ""));
        }
        c->is_new = !c->listed;
        c->listed = 1;
        c->in_list = 1;
        c->is_direct = is_direct;
        free(c->name);
        c->name = dup_str(str_or(e, "channel_name", ""));
        cli_state_set_others(c, json_object_get(e, "other_participants"), NULL);
        json_t *unread = json_object_get(e, "unread_count");
        if (json_is_integer(unread)) c->unread = (long)json_integer_value(unread);
        json_t *mentions = json_object_get(e, "mention_count");
        if (json_is_integer(mentions)) c->mentions = (long)json_integer_value(mentions);
        json_t *members = json_object_get(e, "member_count");
        if (json_is_integer(members)) c->members = (long)json_integer_value(members);
        c->is_private = json_is_true(json_object_get(e, "private"));
        free(c->topic);
        c->topic = dup_str(str_or(e, "topic", ""));
        update_display(c);
    }
    size_t kept = 0;
    for (size_t i = 0; i < st->n_ch; i++) {
        if (st->ch[i]->in_list)
            st->ch[kept++] = st->ch[i];
        else
            channel_free(st->ch[i]);
    }
    st->n_ch = kept;
    return 0;
}

void cli_state_set_others(cli_channel *c, json_t *names, const char *self) {
    size_t j;
    json_t *o;
    free_others(c);
    if (json_is_array(names) && json_array_size(names) > 0) {
        c->others = xrealloc(NULL, json_array_size(names) * sizeof *c->others);
        json_array_foreach(names, j, o) {
            const char *n = json_string_value(o);
            if (n && !(self && strcmp(n, self) == 0)) c->others[c->n_others++] = dup_str(n);
        }
    }
    update_display(c);
}

void cli_state_rename(cli_channel *c, const char *name, const char *topic) {
    if (name && *name) {
        free(c->name);
        c->name = dup_str(name);
    }
    if (topic) {
        free(c->topic);
        c->topic = dup_str(topic);
    }
    update_display(c);
}

void cli_state_remove(cli_state *st, const char *id) {
    for (size_t i = 0; i < st->n_ch; i++)
        if (strcmp(st->ch[i]->id, id) == 0) {
            channel_free(st->ch[i]);
            memmove(&st->ch[i], &st->ch[i + 1], (st->n_ch - i - 1) * sizeof *st->ch);
            st->n_ch--;
            return;
        }
}

static int is_prefix(const char *prefix, const char *s, int icase) {
    size_t n = strlen(prefix);
    return icase ? strncasecmp(prefix, s, n) == 0 : strncmp(prefix, s, n) == 0;
}

cli_channel *cli_state_resolve(const cli_state *st, const char *ref, int *ambiguous) {
    cli_channel *hit = NULL;
    int n = 0;

    *ambiguous = 0;
    if (!ref || !*ref) return NULL;
    cli_channel *c = cli_state_find(st, ref);
    if (c) return c;
    /* exact name, then case-insensitive name */
    for (int icase = 0; icase <= 1; icase++) {
        n = 0;
        for (size_t i = 0; i < st->n_ch; i++) {
            const char *d = cli_state_display(st->ch[i]);
            int eq = icase ? strcasecmp(d, ref) == 0 : strcmp(d, ref) == 0;
            if (eq) {
                hit = st->ch[i];
                n++;
            }
        }
        if (n == 1) return hit;
        if (n > 1) {
            *ambiguous = n;
            return NULL;
        }
    }
    /* unique prefix of an id or of a name */
    n = 0;
    for (size_t i = 0; i < st->n_ch; i++) {
        if (is_prefix(ref, st->ch[i]->id, 1) || is_prefix(ref, cli_state_display(st->ch[i]), 1)) {
            hit = st->ch[i];
            n++;
        }
    }
    if (n == 1) return hit;
    *ambiguous = n;
    return NULL;
}

uint64_t cli_state_msg_id(const char *s) {
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    return errno ? 0 : (uint64_t)v;
}

/* ---- dedupe set: open addressing, linear probing, 0 = empty slot ---- */
static size_t slot_of(uint64_t id, size_t cap) {
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

int cli_state_seen_has(const cli_channel *c, uint64_t id) {
    if (id == 0 || c->cap_seen == 0) return 0;
    for (size_t i = slot_of(id, c->cap_seen);; i = (i + 1) & (c->cap_seen - 1)) {
        if (c->seen[i] == id) return 1;
        if (c->seen[i] == 0) return 0;
    }
}

static void seen_insert(uint64_t *tab, size_t cap, uint64_t id) {
    size_t i = slot_of(id, cap);
    while (tab[i] != 0 && tab[i] != id)
        i = (i + 1) & (cap - 1);
    tab[i] = id;
}

int cli_state_seen_add(cli_channel *c, uint64_t id) {
    if (id == 0) return 0; /* no id: cannot dedupe, always show */
    if (cli_state_seen_has(c, id)) return 1;
    if ((c->n_seen + 1) * 2 > c->cap_seen) {
        size_t cap = c->cap_seen ? c->cap_seen * 2 : 64;
        uint64_t *tab = xcalloc(cap, sizeof *tab);
        for (size_t i = 0; i < c->cap_seen; i++)
            if (c->seen[i]) seen_insert(tab, cap, c->seen[i]);
        free(c->seen);
        c->seen = tab;
        c->cap_seen = cap;
    }
    seen_insert(c->seen, c->cap_seen, id);
    c->n_seen++;
    return 0;
}

void cli_state_hist_push(cli_channel *c, int kind) {
    if (c->hist_n == STATE_HIST_QUEUE) return; /* replies beyond this are shown as user history */
    c->hist_q[(c->hist_head + c->hist_n) % STATE_HIST_QUEUE] = kind;
    c->hist_n++;
}

int cli_state_hist_pop(cli_channel *c) {
    if (c->hist_n == 0) return -1;
    int k = c->hist_q[c->hist_head];
    c->hist_head = (c->hist_head + 1) % STATE_HIST_QUEUE;
    c->hist_n--;
    return k;
}

void cli_state_presence_set(cli_state *st, const char *user, const char *status) {
    for (size_t i = 0; i < st->n_pr; i++)
        if (strcmp(st->pr[i].user, user) == 0) {
            free(st->pr[i].status);
            st->pr[i].status = dup_str(status);
            return;
        }
    if (st->n_pr == st->cap_pr) {
        st->cap_pr = st->cap_pr ? st->cap_pr * 2 : 16;
        st->pr = xrealloc(st->pr, st->cap_pr * sizeof *st->pr);
    }
    st->pr[st->n_pr].user = dup_str(user);
    st->pr[st->n_pr].status = dup_str(status);
    st->n_pr++;
}

const char *cli_state_presence_get(const cli_state *st, const char *user) {
    for (size_t i = 0; i < st->n_pr; i++)
        if (strcmp(st->pr[i].user, user) == 0) return st->pr[i].status;
    return NULL;
}
