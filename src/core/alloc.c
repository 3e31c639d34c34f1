/* alloc: allocation that aborts on exhaustion (see alloc.h). */
#include "core/alloc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void alloc_tune_for_server(void) {
    mallopt(M_TRIM_THRESHOLD, 64 << 20); /* give back only beyond 64 MiB free at the top */
    mallopt(M_TOP_PAD, 16 << 20);        /* grow a heap 16 MiB at a time */
    mallopt(M_MMAP_THRESHOLD, 4 << 20);  /* fixed (else trimming re-tunes it): mmap above 4 MiB */
}

static void out_of_memory(size_t n) {
    fprintf(stderr, "chatd: out of memory (%zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory(n);
    return q;
}

char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) out_of_memory(strlen(s) + 1);
    return d;
}

char *xstrndup(const char *s, size_t n) {
    char *d = strndup(s, n);
    if (!d) out_of_memory(n + 1);
    return d;
}
