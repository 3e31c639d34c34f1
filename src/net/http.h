/*
 * http: incremental HTTP/1.1 request parsing on top of http-parser, with
 * chatd's caps (head <= 16 KiB -> 431, body <= 64 KiB -> 413) and only the
 * headers chatd needs kept. Pure: feed bytes, get a request; no sockets.
 * Also formats responses.
 *
 * Ownership: an http_req owns its url/body buffers; http_req_reset() frees
 * them and readies it for the next request on a keep-alive connection.
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include <http_parser.h>
#include <stddef.h>

#include "core/err.h"

#define HTTP_MAX_HEAD (16 * 1024)
#define HTTP_MAX_BODY (64 * 1024)

typedef struct http_req {
    http_parser parser;
    size_t head_bytes; /* bytes of the head seen so far */
    int headers_done, complete;
    int error_status; /* 400/413/431 when feeding failed */
    int method;       /* HTTP_GET, HTTP_POST, ... */
    int keep_alive;
    int upgrade; /* Upgrade: websocket + Connection: upgrade */
    char *url;
    size_t url_len;
    char *body;
    size_t body_len;
    /* Kept headers (NUL-terminated, truncated at 255 bytes). */
    char ws_key[64];
    char ws_version[8];
    char authorization[1024];
    char upgrade_hdr[32];
    char if_none_match[128]; /* conditional GET (static files) */
    char accept_encoding[128];
    char x_forwarded_for[256]; /* trusted only behind --trust-proxy */
    char origin[256];          /* browser WebSocket upgrades */
    char host[256];            /* same-origin check of those upgrades */
    /* parser scratch */
    int cur_header; /* which kept header the current value is for */
    char hname[32];
    size_t hname_len;
    int hname_overflow;
} http_req;

void http_req_init(http_req *r);
void http_req_reset(http_req *r);

/*
 * Feeds data. Returns 1 when a whole request has been parsed (*consumed =
 * bytes used; the rest belongs to the next request or, after an upgrade, to
 * the WebSocket), 0 when more is needed (*consumed = len), or CHATD_EINVAL
 * with r->error_status set (400, 413 or 431).
 */
int http_req_feed(http_req *r, const char *data, size_t len, size_t *consumed);

/* Finds query parameter `name` in url; copies its URL-decoded value into
 * out (cap bytes). Returns the value's length, CHATD_ENOTFOUND when absent,
 * or HTTP_QUERY_EBAD (CHATD_EINVAL) when present but too long for out or
 * holding an encoded NUL. */
#define HTTP_QUERY_EBAD CHATD_EINVAL
int http_query_param(const char *url, const char *name, char *out, size_t cap);
/* Length of the path part of url (up to '?' or end). */
size_t http_path_len(const char *url);

/* One response. headers: extra header lines, each "Name: value\r\n" (NULL =
 * none); unless they set Cache-Control, "Cache-Control: no-store" is sent. */
typedef struct http_response {
    int status;
    const char *content_type; /* NULL: no Content-Type (e.g. 304) */
    const char *headers;
    const void *body;
    size_t len;
} http_response;

/* Longest head http_format_head writes (extra headers included). */
#define HTTP_MAX_RESPONSE_HEAD 4096
/* Formats r's head (status line, Content-Type, Content-Length, Connection,
 * the extra headers) into out. Returns the length, or 0 when it does not
 * fit in cap. */
size_t http_format_head(char *out, size_t cap, const http_response *r, int keep_alive);
const char *http_status_text(int status);

#endif
