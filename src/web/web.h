/*
 * web: serves the browser client (the files of web/) over HTTP, next to the
 * API on the server that answers /auth (the page logs in same-origin, then
 * dials the chat and presence servers /auth names).
 *
 * Three modes, chosen at start-up (web_config):
 *  - embedded (default): the copy built into the binary (web/assets.h),
 *    precompressed; no file is read at run time;
 *  - a directory on disk (--web-root DIR) for developing the client: each
 *    request reads the file again, so an edit shows on reload without a
 *    rebuild. The read is synchronous on the event loop and files are not
 *    compressed: a development mode, not for production;
 *  - off (--no-web): no path is the client's (`/` is 404).
 *
 * Every answer carries a strict Content-Security-Policy (scripts, styles and
 * connections only from the page's own origin, plus ws:/wss: for the chat
 * servers of a cluster), X-Content-Type-Options: nosniff and
 * Referrer-Policy: no-referrer; `Cache-Control: no-cache` with a strong ETag
 * makes browsers revalidate (304 when unchanged).
 */
#ifndef CHATD_WEB_H
#define CHATD_WEB_H

#include "net/conn.h"
#include "net/http.h"

typedef struct web_config {
    const char *root; /* serve from this directory instead of the built-in copy */
    int disabled;     /* --no-web */
} web_config;

/* Largest file served from --web-root. */
#define WEB_MAX_FILE (16u << 20)

/*
 * Answers req when its path is a file of the client (`/` is index.html):
 * GET or HEAD get the file (200, or 304 when If-None-Match names its ETag;
 * gzip when Accept-Encoding allows it), other methods 405. Returns 1 when it
 * answered, 0 when the path is not the client's (the caller answers, e.g.
 * 404). Paths with a segment starting with '.' (so any "..") or a byte
 * outside [A-Za-z0-9._/-] are never the client's; from --web-root, a file
 * whose real path lies outside the root (a symlink out) is not either.
 */
int web_handle(const web_config *cfg, conn *c, const http_req *req);

/* The Content-Type for a file name, by its extension
 * ("application/octet-stream" when unknown). */
const char *web_content_type(const char *path);

/* 1 when an Accept-Encoding value allows gzip (a "gzip" coding without
 * q=0), else 0. NULL or "" -> 0. */
int web_accepts_gzip(const char *accept_encoding);

/* 1 when an If-None-Match value matches the entity tag etag (given with its
 * quotes, e.g. "\"abc\""), with the weak comparison RFC 9110 asks for
 * (a W/ prefix is ignored; "*" matches anything), else 0. */
int web_etag_matches(const char *if_none_match, const char *etag);

#endif
