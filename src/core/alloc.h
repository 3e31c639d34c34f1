/*
 * alloc: memory that cannot fail. chatd does not try to limp on without
 * memory: these wrappers abort with a message naming the size instead of
 * returning NULL, so call sites need no check (one convention instead of
 * a hand-written `if (!p) abort();` after every allocation).
 */
#ifndef CHATD_ALLOC_H
#define CHATD_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
