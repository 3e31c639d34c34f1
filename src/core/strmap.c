/*
 * strmap: open-addressing hash map keyed by C strings (FNV-1a), with
 * backward-shift deletion so no tombstones accumulate.
 */
#include "core/strmap.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void strmap_init(strmap *m) {
    memset(m, 0, sizeof(*m));
}

void strmap_free(strmap *m) {
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static strmap_entry *find(const strmap *m, const char *key) {
    if (m->cap == 0) return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
        strmap_entry *e = &m->slots[i];
        if (!e->key) return NULL;
        if (strcmp(e->key, key) == 0) return e;
    }
}

void *strmap_get(const strmap *m, const char *key) {
    strmap_entry *e = find(m, key);
    return e ? e->value : NULL;
}

static void place(strmap_entry *slots, size_t cap, char *key, void *value) {
    size_t mask = cap - 1, i = hash(key) & mask;
    while (slots[i].key)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].value = value;
}

static void grow(strmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 8;
    strmap_entry *ns = xcalloc(ncap, sizeof(*ns));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) place(ns, ncap, m->slots[i].key, m->slots[i].value);
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
}

void *strmap_put(strmap *m, const char *key, void *value) {
    strmap_entry *e = find(m, key);
    if (e) {
        void *old = e->value;
        e->value = value;
        return old;
    }
    if ((m->len + 1) * 4 > m->cap * 3) grow(m);
    char *k = xstrdup(key);
    place(m->slots, m->cap, k, value);
    m->len++;
    return NULL;
}

void *strmap_del(strmap *m, const char *key) {
    strmap_entry *e = find(m, key);
    if (!e) return NULL;
    void *old = e->value;
    free(e->key);
    size_t mask = m->cap - 1, i = (size_t)(e - m->slots);
    /* Backward-shift: pull later entries of the probe run into the hole. */
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = hash(m->slots[j].key) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = NULL;
    m->slots[i].value = NULL;
    m->len--;
    return old;
}

strmap_entry *strmap_next(const strmap *m, size_t *cursor) {
    for (; *cursor < m->cap; (*cursor)++)
        if (m->slots[*cursor].key) return &m->slots[(*cursor)++];
    return NULL;
}
