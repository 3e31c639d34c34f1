/*
 * web: the browser client's files over HTTP (see web.h). One answer path
 * for both sources: a file is bytes, maybe a gzip form, and a hash; the
 * embedded table has all three precomputed, --web-root computes the hash
 * on each read (so an edited file gets a new ETag) and sends no gzip form.
 */
#include "web/web.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/metrics.h"
#include "web/assets.h"
#include "web/webroot.h"

/* Sent with every file of the client, 304s included. connect-src lists ws:
 * and wss: because in a cluster the chat and presence servers are other
 * origins (other ports); 'self' covers /auth and /register. */
#define WEB_SECURITY_HEADERS                                                                       \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "      \
    "frame-ancestors 'none'; form-action 'none'\r\n"                                               \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "Referrer-Policy: no-referrer\r\n"

/* One file as served: borrowed bytes (embedded) or owned ones (disk). */
typedef struct web_file {
    const unsigned char *data, *gz;
    size_t len, gz_len;
    char hash[WEB_ETAG_HEX + 1];
    char *owned; /* the disk read's buffer, freed after the answer */
} web_file;

const char *web_content_type(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* Calls fn(ctx, element, len) for each comma-separated element of a header
 * value, trimmed of spaces and tabs; stops when fn returns non-zero and
 * returns that. */
static int each_element(const char *v, int (*fn)(void *, const char *, size_t), void *ctx) {
    while (v && *v) {
        const char *end = strchr(v, ',');
        size_t n = end ? (size_t)(end - v) : strlen(v);
        const char *s = v;
        while (n && (*s == ' ' || *s == '\t'))
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        int r = n ? fn(ctx, s, n) : 0;
        if (r) return r;
        v = end ? end + 1 : NULL;
    }
    return 0;
}

/* "gzip" or "gzip;q=0.5": 1 when allowed, -1 when refused (q=0), 0 when
 * it names another coding. */
static int gzip_element(void *ctx, const char *s, size_t n) {
    (void)ctx;
    size_t name = 0;
    while (name < n && s[name] != ';' && s[name] != ' ' && s[name] != '\t')
        name++;
    if (!((name == 4 && !strncasecmp(s, "gzip", 4)) || (name == 6 && !strncasecmp(s, "x-gzip", 6))))
        return 0;
    for (size_t i = name; i + 2 < n; i++) {
        if ((s[i] == 'q' || s[i] == 'Q') && s[i + 1] == '=') {
            const char *q = s + i + 2; /* q=0, q=0.0, q=0.000: refused */
            if (*q != '0') return 1;
            for (q++; q < s + n && (*q == '.' || *q == '0'); q++) {
            }
            return q < s + n && *q >= '1' && *q <= '9' ? 1 : -1;
        }
    }
    return 1;
}

int web_accepts_gzip(const char *accept_encoding) {
    return each_element(accept_encoding, gzip_element, NULL) == 1;
}

static int etag_element(void *ctx, const char *s, size_t n) {
    const char *etag = ctx;
    if (n == 1 && s[0] == '*') return 1;
    if (n > 2 && s[0] == 'W' && s[1] == '/') s += 2, n -= 2;
    return n == strlen(etag) && !memcmp(s, etag, n);
}

int web_etag_matches(const char *if_none_match, const char *etag) {
    return each_element(if_none_match, etag_element, (void *)etag) == 1;
}

static const web_asset *embedded_find(const char *path, size_t len) {
    size_t lo = 0, hi = web_assets_count; /* sorted by path (C locale) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *p = web_assets[mid].path;
        int c = strncmp(p, path, len);
        if (c == 0 && p[len] != '\0') c = 1;
        if (c == 0) return &web_assets[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The ETag hash of data (hex, as the build computes it): 0, or
 * CHATD_EIO when OpenSSL fails (no tag rather than a wrong one). */
static int hash_hex(const void *data, size_t len, char out[WEB_ETAG_HEX + 1]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const char hex[] = "0123456789abcdef";
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen * 2 < WEB_ETAG_HEX)
        return CHATD_EIO;
    for (int i = 0; i < WEB_ETAG_HEX / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[WEB_ETAG_HEX] = '\0';
    return 0;
}

/* Finds the file for path (len bytes, "/index.html" for "/"): 0,
 * CHATD_ENOTFOUND when the client has no such file, CHATD_EIO when it
 * could not be hashed. */
static int load(const web_config *cfg, const char *path, size_t len, web_file *f) {
    memset(f, 0, sizeof(*f));
    if (!cfg->root) {
        const web_asset *a = embedded_find(path, len);
        if (!a) return CHATD_ENOTFOUND;
        *f = (web_file){a->data, a->gz, a->len, a->gz_len, "", NULL};
        memcpy(f->hash, a->hash, WEB_ETAG_HEX + 1);
        return 0;
    }
    char p[520];
    snprintf(p, sizeof(p), "%.*s", (int)len, path);
    size_t n = 0;
    if (webroot_read(cfg->root, p, WEB_MAX_FILE, &f->owned, &n) != 0) return CHATD_ENOTFOUND;
    f->data = (const unsigned char *)f->owned;
    f->len = n;
    if (hash_hex(f->data, f->len, f->hash) != 0) {
        free(f->owned);
        return CHATD_EIO;
    }
    return 0;
}

static void respond(conn *c, const http_req *req, const char *path, const web_file *f) {
    int gz = f->gz_len > 0 && web_accepts_gzip(req->accept_encoding);
    char etag[WEB_ETAG_HEX + 8];
    snprintf(etag, sizeof(etag), "\"%s%s\"", f->hash, gz ? "-gz" : "");
    char headers[1024];
    snprintf(
        headers, sizeof(headers),
        "Cache-Control: no-cache\r\nETag: %s\r\nVary: Accept-Encoding\r\n%s" WEB_SECURITY_HEADERS,
        etag, gz ? "Content-Encoding: gzip\r\n" : "");
    http_response r = {200, web_content_type(path), headers, gz ? f->gz : f->data,
                       gz ? f->gz_len : f->len};
    if (web_etag_matches(req->if_none_match, etag)) {
        r.status = 304;
        r.content_type = NULL;
        r.body = NULL;
        r.len = 0;
    }
    metrics_http(r.status);
    conn_http_send(c, &r);
}

int web_handle(const web_config *cfg, conn *c, const http_req *req) {
    if (cfg->disabled) return 0;
    const char *url = req->url ? req->url : "/";
    size_t len = http_path_len(url);
    const char *path = url;
    if (len == 1 && url[0] == '/') {
        path = "/index.html";
        len = strlen(path);
    }
    if (!webroot_path_ok(path, len)) return 0;
    web_file f;
    int rc = load(cfg, path, len, &f);
    if (rc == CHATD_EIO) {
        metrics_http(500);
        conn_http_error(c, 500, "internal", "could not hash the file");
        return 1;
    }
    if (rc != 0) return 0;
    if (req->method != HTTP_GET && req->method != HTTP_HEAD) {
        static const char body[] = "{\"error\":\"method not allowed for this endpoint\","
                                   "\"code\":\"method_not_allowed\"}";
        free(f.owned);
        metrics_http(405);
        conn_http_send(c, &(http_response){405, "application/json",
                                           "Allow: GET, HEAD\r\n" WEB_SECURITY_HEADERS, body,
                                           sizeof(body) - 1});
        return 1;
    }
    char p[520];
    snprintf(p, sizeof(p), "%.*s", (int)len, path);
    respond(c, req, p, &f);
    free(f.owned);
    return 1;
}
