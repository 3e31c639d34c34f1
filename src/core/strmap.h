/*
 * strmap: a string-keyed hash map (open addressing, linear probing).
 * The domain keeps users, channels and memberships in these.
 *
 * Ownership: the map copies each key; values are the caller's (the map
 * never frees them). Pointers returned by strmap_get stay valid until the
 * entry is removed. Iteration order is unspecified; do not insert or remove
 * while iterating (collect first, then change).
 */
#ifndef CHATD_STRMAP_H
#define CHATD_STRMAP_H

#include <stddef.h>

typedef struct strmap_entry {
    char *key; /* NULL = empty slot */
    void *value;
} strmap_entry;

typedef struct strmap {
    strmap_entry *slots;
    size_t cap; /* power of two, 0 when empty */
    size_t len;
} strmap;

void strmap_init(strmap *m);
/* Frees the map's own memory (keys and slots), not the values. */
void strmap_free(strmap *m);
void *strmap_get(const strmap *m, const char *key);
/* Inserts or replaces; returns the previous value (NULL if none). */
void *strmap_put(strmap *m, const char *key, void *value);
/* Removes; returns the removed value (NULL if absent). */
void *strmap_del(strmap *m, const char *key);
static inline size_t strmap_len(const strmap *m) {
    return m->len;
}

/* Iterates: for (size_t i = 0; (e = strmap_next(m, &i)); ) {...} */
strmap_entry *strmap_next(const strmap *m, size_t *cursor);

#endif
