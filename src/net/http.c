/*
 * http: http-parser glue. http-parser does the RFC 7230 work; this file
 * keeps the few headers chatd needs, enforces size caps and turns the
 * callback interface into a "feed bytes, get a request" one.
 */
#include "net/http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    H_NONE,
    H_WS_KEY,
    H_WS_VERSION,
    H_AUTH,
    H_UPGRADE,
    H_IF_NONE_MATCH,
    H_ACCEPT_ENCODING,
    H_FORWARDED_FOR,
    H_ORIGIN,
    H_HOST
};

static http_req *req_of(http_parser *p) {
    return (http_req *)p->data;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    http_req *r = req_of(p);
    if (r->url_len + len > HTTP_MAX_HEAD) {
        r->error_status = 431;
        return 1;
    }
    char *n = realloc(r->url, r->url_len + len + 1);
    if (!n) return 1;
    memcpy(n + r->url_len, at, len);
    r->url = n;
    r->url_len += len;
    r->url[r->url_len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    http_req *r = req_of(p);
    if (r->cur_header != -1) { /* a new field starts */
        r->hname_len = 0;
        r->hname_overflow = 0;
        r->cur_header = -1;
    }
    if (r->hname_len + len >= sizeof(r->hname)) {
        r->hname_overflow = 1;
        return 0;
    }
    memcpy(r->hname + r->hname_len, at, len);
    r->hname_len += len;
    r->hname[r->hname_len] = '\0';
    return 0;
}

static void append_value(char *dst, size_t cap, const char *at, size_t len) {
    size_t cur = strlen(dst);
    if (cur + len >= cap) len = cap - 1 - cur;
    memcpy(dst + cur, at, len);
    dst[cur + len] = '\0';
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    http_req *r = req_of(p);
    if (r->cur_header == -1) {
        r->cur_header = H_NONE;
        if (!r->hname_overflow) {
            if (!strcasecmp(r->hname, "Sec-WebSocket-Key"))
                r->cur_header = H_WS_KEY;
            else if (!strcasecmp(r->hname, "Sec-WebSocket-Version"))
                r->cur_header = H_WS_VERSION;
            else if (!strcasecmp(r->hname, "Authorization"))
                r->cur_header = H_AUTH;
            else if (!strcasecmp(r->hname, "Upgrade"))
                r->cur_header = H_UPGRADE;
            else if (!strcasecmp(r->hname, "If-None-Match"))
                r->cur_header = H_IF_NONE_MATCH;
            else if (!strcasecmp(r->hname, "Accept-Encoding"))
                r->cur_header = H_ACCEPT_ENCODING;
            else if (!strcasecmp(r->hname, "X-Forwarded-For"))
                r->cur_header = H_FORWARDED_FOR;
            else if (!strcasecmp(r->hname, "Origin"))
                r->cur_header = H_ORIGIN;
            else if (!strcasecmp(r->hname, "Host"))
                r->cur_header = H_HOST;
        }
    }
    switch (r->cur_header) {
    case H_WS_KEY:
        append_value(r->ws_key, sizeof(r->ws_key), at, len);
        break;
    case H_WS_VERSION:
        append_value(r->ws_version, sizeof(r->ws_version), at, len);
        break;
    case H_AUTH:
        append_value(r->authorization, sizeof(r->authorization), at, len);
        break;
    case H_UPGRADE:
        append_value(r->upgrade_hdr, sizeof(r->upgrade_hdr), at, len);
        break;
    case H_IF_NONE_MATCH:
        append_value(r->if_none_match, sizeof(r->if_none_match), at, len);
        break;
    case H_ACCEPT_ENCODING:
        append_value(r->accept_encoding, sizeof(r->accept_encoding), at, len);
        break;
    case H_FORWARDED_FOR:
        append_value(r->x_forwarded_for, sizeof(r->x_forwarded_for), at, len);
        break;
    case H_ORIGIN:
        append_value(r->origin, sizeof(r->origin), at, len);
        break;
    case H_HOST:
        append_value(r->host, sizeof(r->host), at, len);
        break;
    default:
        break;
    }
    return 0;
}

static int on_headers_complete(http_parser *p) {
    http_req *r = req_of(p);
    r->headers_done = 1;
    r->method = p->method;
    if (p->content_length != ULLONG_MAX && p->content_length > HTTP_MAX_BODY) {
        r->error_status = 413;
        return -1; /* an error (1 would mean "skip the body") */
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    http_req *r = req_of(p);
    if (r->body_len + len > HTTP_MAX_BODY) {
        r->error_status = 413;
        return 1;
    }
    char *n = realloc(r->body, r->body_len + len + 1);
    if (!n) return 1;
    memcpy(n + r->body_len, at, len);
    r->body = n;
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p) {
    http_req *r = req_of(p);
    r->complete = 1;
    r->keep_alive = http_should_keep_alive(p);
    /* http-parser sets p->upgrade only when Connection lists "upgrade" (it
     * tracks that across pieces of the header value). */
    r->upgrade = p->upgrade && p->method == HTTP_GET && !strcasecmp(r->upgrade_hdr, "websocket");
    http_parser_pause(p, 1); /* stop at the end of this request */
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_req_init(http_req *r) {
    static int configured;
    if (!configured) { /* process-wide: http-parser then fails heads past the cap */
        http_parser_set_max_header_size(HTTP_MAX_HEAD);
        configured = 1;
    }
    memset(r, 0, sizeof(*r));
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->cur_header = H_NONE;
}

void http_req_reset(http_req *r) {
    free(r->url);
    if (r->body) explicit_bzero(r->body, r->body_len); /* may hold a password */
    free(r->body);
    http_req_init(r);
}

int http_req_feed(http_req *r, const char *data, size_t len, size_t *consumed) {
    *consumed = 0;
    if (r->complete) return 1;
    size_t n = http_parser_execute(&r->parser, &settings, data, len);
    *consumed = n;
    enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
    if (!r->headers_done) r->head_bytes += n;
    if (r->error_status) return CHATD_EINVAL;
    if (e == HPE_HEADER_OVERFLOW || (!r->headers_done && r->head_bytes > HTTP_MAX_HEAD)) {
        r->error_status = 431;
        return CHATD_EINVAL;
    }
    if (r->complete) {
        http_parser_pause(&r->parser, 0);
        return 1;
    }
    if (e != HPE_OK) {
        r->error_status = 400;
        return CHATD_EINVAL;
    }
    /* An upgrade request stops the parser after the head; http-parser
     * reports it via parser.upgrade with the message completed. */
    return 0;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t http_path_len(const char *url) {
    return strcspn(url, "?#");
}

int http_query_param(const char *url, const char *name, char *out, size_t cap) {
    const char *q = strchr(url, '?');
    if (!q || cap == 0) return CHATD_ENOTFOUND;
    size_t nlen = strlen(name);
    for (const char *p = q + 1; *p && *p != '#';) {
        const char *end = p + strcspn(p, "&#");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq && (size_t)(eq - p) == nlen && !memcmp(p, name, nlen)) {
            size_t o = 0;
            for (const char *v = eq + 1; v < end; v++) {
                int c = (unsigned char)*v;
                if (c == '%' && v + 2 < end && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    c = hexval(v[1]) * 16 + hexval(v[2]);
                    v += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (o + 1 >= cap || c == 0) return HTTP_QUERY_EBAD; /* too long, or NUL */
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return (int)o;
        }
        p = *end == '&' ? end + 1 : end;
    }
    return CHATD_ENOTFOUND;
}

const char *http_status_text(int status) {
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* 1 when the header lines in `lines` include `name` (e.g. "Cache-Control:"). */
static int has_header(const char *lines, const char *name) {
    size_t n = strlen(name);
    for (const char *p = lines; *p; p += strcspn(p, "\n"), p += *p == '\n')
        if (!strncasecmp(p, name, n)) return 1;
    return 0;
}

size_t http_format_head(char *out, size_t cap, const http_response *r, int keep_alive) {
    const char *extra = r->headers ? r->headers : "";
    int cache_set = has_header(extra, "Cache-Control:");
    char ctype[160] = "";
    if (r->content_type) snprintf(ctype, sizeof(ctype), "Content-Type: %s\r\n", r->content_type);
    int n = snprintf(
        out, cap, "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\nConnection: %s\r\n%s%s\r\n",
        r->status, http_status_text(r->status), ctype, r->len, keep_alive ? "keep-alive" : "close",
        cache_set ? "" : "Cache-Control: no-store\r\n", extra);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
