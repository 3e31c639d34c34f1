/*
 * hostport: the one parser of "host:port" in chatd (--redis, each
 * --zookeeper server, --advertise). Ports must be 1..65535 and nothing may
 * trail them; an IPv6 address is written in brackets, "[::1]:6379".
 * Pure, no allocation.
 */
#ifndef CHATD_HOSTPORT_H
#define CHATD_HOSTPORT_H

#include <stddef.h>

/* Splits s into host (without brackets, NUL-terminated, at most cap - 1
 * bytes) and *port. With port_optional, "host", "[v6]" and a bare IPv6
 * address are accepted too and leave *port unchanged. 0, or -1 (empty
 * host, missing or bad port, junk, host too long). */
int hostport_parse(const char *s, char *host, size_t cap, int *port, int port_optional);

#endif
