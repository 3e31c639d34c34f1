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

#define HTTP_MAX_HEAD (16 * 1024)
#define HTTP_MAX_BODY (64 * 1024)

typedef struct http_req {
    http_parser parser;
    size_t head_bytes;        /* bytes of the head seen so far */
    int headers_done, complete;
    int error_status;         /* 400/413/431 when feeding failed */
    int method;               /* HTTP_GET, HTTP_POST, ... */
    int keep_alive;
    int upgrade;              /* Upgrade: websocket + Connection: upgrade */
    char *url; size_t url_len;
    char *body; size_t body_len;
    /* Kept headers (NUL-terminated, truncated at 255 bytes). */
    char ws_key[64];
    char ws_version[8];
    char authorization[1024];
    char upgrade_hdr[32];
    /* parser scratch */
    int cur_header;           /* which kept header the current value is for */
    char hname[32]; size_t hname_len; int hname_overflow;
} http_req;

void http_req_init(http_req *r);
void http_req_reset(http_req *r);

/*
 * Feeds data. Returns 1 when a whole request has been parsed (*consumed =
 * bytes used; the rest belongs to the next request or, after an upgrade, to
 * the WebSocket), 0 when more is needed (*consumed = len), or -1 on error
 * with r->error_status set (400, 413 or 431).
 */
int http_req_feed(http_req *r, const char *data, size_t len, size_t *consumed);

/* Finds query parameter `name` in url; copies its URL-decoded value into
 * out (cap bytes). Returns value length, or -1 when absent/too long. */
int http_query_param(const char *url, const char *name, char *out, size_t cap);
/* Length of the path part of url (up to '?' or end). */
size_t http_path_len(const char *url);

/* Formats a response head for status with Content-Type and Content-Length
 * into out (>= 512 bytes). Returns the length. */
size_t http_format_head(char *out, size_t cap, int status, const char *content_type,
                        size_t content_length, int keep_alive);
const char *http_status_text(int status);

#endif
