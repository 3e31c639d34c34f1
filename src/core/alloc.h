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

/* Tunes glibc's malloc for a server that allocates and frees in bursts on
 * several threads: freed memory stays with the process (up to 64 MiB per
 * arena) instead of going back to the kernel page by page. Without it each
 * store batch grew and trimmed the worker's heap: a madvise and a
 * cross-CPU TLB flush per message (3x the CPU per durable message). Call
 * once, first thing in main, before any thread starts. */
void alloc_tune_for_server(void);

#endif
