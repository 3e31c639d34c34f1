/*
 * origin: which web pages may open WebSockets to chatd (--allowed-origins).
 * A browser sends the page's origin with every WebSocket upgrade; another
 * site's page could otherwise use a visitor's browser to talk to chatd.
 * Clients that are not browsers send no Origin and are not concerned.
 *
 * Allowed: no list (the default: anything), no Origin header, an origin in
 * the list (exact "scheme://host[:port]", case-insensitive, a trailing '/'
 * ignored), or the same origin as the request (the Origin's host[:port] is
 * the Host header: the page chatd serves itself). Pure; no allocation.
 */
#ifndef CHATD_ORIGIN_H
#define CHATD_ORIGIN_H

/* list: "ORIGIN[,ORIGIN...]" or NULL; origin, host: the request's headers
 * ("" when absent). 1 when allowed, else 0. */
int origin_allowed(const char *list, const char *origin, const char *host);

#endif
