/*
 * origin: the --allowed-origins decision (see origin.h), kept apart from the
 * WebSocket glue so that it can be tested on its own.
 */
#include "auth/origin.h"

#include <string.h>
#include <strings.h>

/* s[0..n) without surrounding blanks and a trailing '/'. */
static void trim(const char **s, size_t *n) {
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
    if (*n && (*s)[*n - 1] == '/') (*n)--;
}

int origin_allowed(const char *list, const char *origin, const char *host) {
    if (!list || !*list || !origin || !*origin) return 1;
    const char *o = origin;
    size_t on = strlen(origin);
    trim(&o, &on);
    const char *authority = strstr(o, "://");
    if (authority && authority + 3 <= o + on && host && *host) {
        authority += 3;
        size_t an = on - (size_t)(authority - o);
        if (an == strlen(host) && !strncasecmp(authority, host, an)) return 1;
    }
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        const char *e = p;
        size_t en = n;
        trim(&e, &en);
        if (en && en == on && !strncasecmp(e, o, on)) return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}
