/* hostport: "host:port" / "[v6]:port" parsing (see hostport.h). */
#include "engine/hostport.h"

#include <string.h>

/* Digits only, 1..65535. */
static int parse_port(const char *s, int *port) {
    long v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
        if (v > 65535) return -1;
    }
    if (v < 1) return -1;
    *port = (int)v;
    return 0;
}

static int copy_host(const char *from, size_t len, char *host, size_t cap) {
    if (len == 0 || len >= cap || memchr(from, ' ', len)) return -1;
    memcpy(host, from, len);
    host[len] = '\0';
    return 0;
}

int hostport_parse(const char *s, char *host, size_t cap, int *port, int port_optional) {
    if (!s || !*s || cap == 0) return -1;
    const char *port_at = NULL, *name = s;
    size_t len;
    if (s[0] == '[') { /* [v6]:port */
        const char *close = strchr(s, ']');
        if (!close) return -1;
        name = s + 1;
        len = (size_t)(close - name);
        if (close[1] == ':')
            port_at = close + 2;
        else if (close[1] != '\0' || !port_optional)
            return -1;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) { /* a bare IPv6 address: no port possible */
            if (!port_optional) return -1;
            len = strlen(s);
        } else if (colon) {
            len = (size_t)(colon - s);
            port_at = colon + 1;
        } else {
            if (!port_optional) return -1;
            len = strlen(s);
        }
    }
    int p = 0;
    if (port_at && parse_port(port_at, &p) != 0) return -1;
    if (copy_host(name, len, host, cap) != 0) return -1;
    if (port_at) *port = p;
    return 0;
}
