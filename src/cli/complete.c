/*
 * complete: Tab completion candidates. See complete.h.
 */
#define _GNU_SOURCE
#include "cli/complete.h"
#include "core/alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct list {
    char **v;
    size_t n;
} list;

static void add(list *l, const char *prefix, const char *s, int quote) {
    char *item = NULL;
    int q = quote && strpbrk(s, " \t\"'\\") != NULL;
    if (asprintf(&item, "%s%s%s%s", q ? "\"" : "", prefix, s, q ? "\"" : "") < 0) abort();
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], item) == 0) {
            free(item);
            return;
        }
    l->v = xrealloc(l->v, (l->n + 2) * sizeof *l->v);
    l->v[l->n++] = item;
    l->v[l->n] = NULL;
}

/* Adds each of names[0..n) that starts with typed; only when none does
 * as typed, those that do in another case (the line editor replaces the
 * word with what the candidates share: mixing cases would shorten it). */
static void add_matching(list *l, const char *const *names, size_t n, const char *typed,
                         const char *prefix, int quote) {
    size_t tl = strlen(typed);
    for (int icase = 0; icase <= 1 && l->n == 0; icase++)
        for (size_t i = 0; i < n; i++)
            if (names[i] &&
                (icase ? strncasecmp(names[i], typed, tl) == 0 : strncmp(names[i], typed, tl) == 0))
                add(l, prefix, names[i], quote);
}

/* The first word of before, and how many words it has. */
static int words(const char *before, char *first, size_t cap) {
    int n = 0;
    first[0] = '\0';
    for (const char *p = before; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p) break;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (n == 0) snprintf(first, cap, "%.*s", (int)(p - w), w);
        n++;
    }
    return n;
}

static int one_of(const char *s, const char *const *set) {
    for (int i = 0; set[i]; i++)
        if (strcmp(s, set[i]) == 0) return 1;
    return 0;
}

char **complete_words(const char *before, const char *word, const complete_src *src) {
    static const char *const channel_cmds[] = {"/join", "/leave", "/read", NULL};
    static const char *const user_cmds[] = {"/dm",   "/add",  "/invite", "/remove",
                                            "/kick", "/role", NULL};
    list l = {0};
    char first[32];
    int n = words(before, first, sizeof first);
    if (n == 0 && word[0] == '/')
        add_matching(&l, src->commands, src->n_commands, word, "", 0);
    else if (n == 1 && one_of(first, channel_cmds))
        add_matching(&l, src->channels, src->n_channels, word[0] == '"' ? word + 1 : word, "", 1);
    else if (n == 2 && strcmp(first, "/search") == 0 && strstr(before, " -c"))
        add_matching(&l, src->channels, src->n_channels, word[0] == '"' ? word + 1 : word, "", 1);
    else if (n == 1 && one_of(first, user_cmds))
        add_matching(&l, src->users, src->n_users, word[0] == '@' ? word + 1 : word, "", 0);
    else if (word[0] == '@')
        add_matching(&l, src->users, src->n_users, word + 1, "@", 0);
    return l.v;
}

void complete_free(char **items) {
    for (size_t i = 0; items && items[i]; i++)
        free(items[i]);
    free(items);
}
