/*
 * test_web: the browser client's HTTP side against a real chatd over raw
 * sockets (src/web): content types, the security headers on every answer,
 * ETag + 304, gzip when accepted, HEAD, 405, --no-web (404 as before) and
 * --web-root (served from disk, re-read on each request, no way out of the
 * directory: "..", escapes, hidden files, symlinks).
 */
#define _GNU_SOURCE
#include "integration/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "svcutil.h"

#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "    \
    "form-action 'none'"

/* One response read off a raw socket (harness-owned memory). */
typedef struct resp {
    int status;
    const char *head;          /* status line + headers, NUL-terminated */
    const unsigned char *body; /* what followed the head, up to EOF */
    size_t body_len;
} resp;

/* Sends raw request bytes on a new connection and reads until the server
 * closes it (requests end with Connection: close) or 5 s pass. */
static resp fetch_raw(int port, const char *request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail_msg("connect: %s", strerror(errno));
    size_t len = strlen(request), off = 0;
    while (off < len) {
        ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) fail_msg("send: %s", strerror(errno));
        off += (size_t)n;
    }
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap + 1);
    int64_t deadline = now_ms() + 5000;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
        if (got == cap) buf = realloc(buf, (cap *= 2) + 1);
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    harness__keep_str(buf);
    resp r = {0, "", (const unsigned char *)"", 0};
    char *end = memmem(buf, got, "\r\n\r\n", 4);
    if (got < 12 || strncmp(buf, "HTTP/1.1 ", 9) || !end)
        fail_msg("no HTTP response to %.80s: %.200s", request, buf);
    r.status = atoi(buf + 9);
    r.head = hfmt("%.*s\r\n", (int)(end - buf), buf);
    r.body = (const unsigned char *)end + 4;
    r.body_len = got - (size_t)(end + 4 - buf);
    return r;
}

/* METHOD path with extra header lines ("Name: v\r\n..." or ""). */
static resp fetch(chatd_srv *s, const char *method, const char *path, const char *headers) {
    return fetch_raw(s->port,
                     hfmt("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
                          method, path, headers));
}

/* The value of header name in r (case-insensitive name), or NULL. */
static const char *header(const resp *r, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            return hfmt("%.*s", (int)(strstr(v, "\r\n") - v), v);
        }
    }
    return NULL;
}

static void expect_header(const resp *r, const char *name, const char *want) {
    const char *got = header(r, name);
    if (!got || strcmp(got, want))
        fail_msg("%s: got '%s', want '%s'\n%s", name, got ? got : "(absent)", want, r->head);
}

/* Every answer for a file of the client carries these. */
static void expect_security_headers(const resp *r) {
    expect_header(r, "Content-Security-Policy", CSP);
    expect_header(r, "X-Content-Type-Options", "nosniff");
    expect_header(r, "Referrer-Policy", "no-referrer");
}

static void expect_file(const resp *r, const char *type) {
    if (r->status != 200) fail_msg("status %d\n%s", r->status, r->head);
    expect_header(r, "Content-Type", type);
    expect_header(r, "Cache-Control", "no-cache");
    expect_header(r, "Vary", "Accept-Encoding");
    expect_security_headers(r);
    const char *etag = header(r, "ETag");
    if (!etag || etag[0] != '"' || strlen(etag) < 18 || etag[strlen(etag) - 1] != '"')
        fail_msg("want a strong ETag, got %s", etag ? etag : "(absent)");
    assert_int_equal(atoll(header(r, "Content-Length")), r->body_len);
}

static int has_bytes(const resp *r, const char *s) {
    return memmem(r->body, r->body_len, s, strlen(s)) != NULL;
}

/* ---- the built-in copy ---- */

static void test_index_and_content_types(void **state) {
    chatd_srv *s = chatd_start(NULL);
    resp r = fetch(s, "GET", "/", "");
    expect_file(&r, "text/html; charset=utf-8");
    if (!has_bytes(&r, "<script type=\"module\" src=\"/js/main.js\"></script>"))
        fail_msg("index.html does not load /js/main.js as a module:\n%.*s", (int)r.body_len,
                 r.body);
    /* CSP: no inline script or style in the page. */
    assert_false(has_bytes(&r, "<script>"));
    assert_false(has_bytes(&r, "<style"));
    assert_false(has_bytes(&r, " style=\""));
    assert_false(has_bytes(&r, " onclick="));
    resp same = fetch(s, "GET", "/index.html", "");
    expect_file(&same, "text/html; charset=utf-8");
    assert_string_equal(header(&same, "ETag"), header(&r, "ETag"));

    expect_file((resp[]){fetch(s, "GET", "/style.css", "")}, "text/css; charset=utf-8");
    expect_file((resp[]){fetch(s, "GET", "/js/main.js", "")}, "text/javascript; charset=utf-8");
    expect_file((resp[]){fetch(s, "GET", "/js/views/channel.js?v=1", "")},
                "text/javascript; charset=utf-8");
    expect_file((resp[]){fetch(s, "GET", "/favicon.svg", "")}, "image/svg+xml");
    chatd_free(s);
}

static void test_etag_304(void **state) {
    chatd_srv *s = chatd_start(NULL);
    resp r = fetch(s, "GET", "/js/main.js", "");
    const char *etag = header(&r, "ETag");
    const char *forms[] = {etag, hfmt("W/%s", etag), hfmt("\"nope\", %s", etag), "*"};
    for (size_t i = 0; i < 4; i++) {
        resp nm = fetch(s, "GET", "/js/main.js", hfmt("If-None-Match: %s\r\n", forms[i]));
        if (nm.status != 304) fail_msg("If-None-Match: %s -> %d, want 304", forms[i], nm.status);
        assert_int_equal(nm.body_len, 0);
        assert_null(header(&nm, "Content-Type"));
        expect_header(&nm, "ETag", etag);
        expect_header(&nm, "Cache-Control", "no-cache");
        expect_security_headers(&nm);
    }
    resp other = fetch(s, "GET", "/js/main.js", "If-None-Match: \"0123456789abcdef0123\"\r\n");
    expect_file(&other, "text/javascript; charset=utf-8");
    /* another file's tag does not validate this one */
    resp css = fetch(s, "GET", "/style.css", "");
    resp cross =
        fetch(s, "GET", "/js/main.js", hfmt("If-None-Match: %s\r\n", header(&css, "ETag")));
    assert_int_equal(cross.status, 200);
    chatd_free(s);
}

/* gunzips data with the gzip tool (through files in a temp dir). */
static const char *gunzip(const unsigned char *data, size_t len, size_t *out_len) {
    char dir[512];
    if (!svc_mkdtemp(dir, sizeof dir, "chatd-web-gz-")) fail_msg("mkdtemp failed");
    const char *in = hfmt("%s/body.gz", dir);
    FILE *f = fopen(in, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    assert_int_equal(system(hfmt("gzip -dc '%s' > '%s/body'", in, dir)), 0);
    f = fopen(hfmt("%s/body", dir), "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    *out_len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    svc_rmrf(dir);
    return harness__keep_str(buf);
}

static void test_gzip(void **state) {
    chatd_srv *s = chatd_start(NULL);
    const char *paths[] = {"/", "/js/main.js", "/style.css"};
    for (size_t i = 0; i < 3; i++) {
        resp plain = fetch(s, "GET", paths[i], "");
        assert_null(header(&plain, "Content-Encoding"));
        resp gz = fetch(s, "GET", paths[i], "Accept-Encoding: br, gzip, deflate\r\n");
        assert_int_equal(gz.status, 200);
        expect_header(&gz, "Content-Encoding", "gzip");
        expect_header(&gz, "Vary", "Accept-Encoding");
        expect_header(&gz, "Content-Type", header(&plain, "Content-Type"));
        expect_security_headers(&gz);
        assert_true(gz.body_len < plain.body_len);
        assert_int_equal(atoll(header(&gz, "Content-Length")), gz.body_len);
        /* a strong tag per representation */
        assert_string_not_equal(header(&gz, "ETag"), header(&plain, "ETag"));
        size_t n;
        const char *back = gunzip(gz.body, gz.body_len, &n);
        assert_int_equal(n, plain.body_len);
        assert_memory_equal(back, plain.body, n);
        resp nm =
            fetch(s, "GET", paths[i],
                  hfmt("Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", header(&gz, "ETag")));
        assert_int_equal(nm.status, 304);
        expect_header(&nm, "ETag", header(&gz, "ETag"));
    }
    /* refused or absent gzip: identity */
    const char *no[] = {"Accept-Encoding: gzip;q=0\r\n", "Accept-Encoding: gzip; q=0.000, br\r\n",
                        "Accept-Encoding: identity\r\n", "Accept-Encoding: gzipx\r\n"};
    for (size_t i = 0; i < 4; i++) {
        resp r = fetch(s, "GET", "/js/main.js", no[i]);
        if (header(&r, "Content-Encoding")) fail_msg("%s got Content-Encoding", no[i]);
    }
    resp q = fetch(s, "GET", "/js/main.js", "Accept-Encoding: GZIP;q=0.5\r\n");
    expect_header(&q, "Content-Encoding", "gzip");
    chatd_free(s);
}

static void test_head_and_methods(void **state) {
    chatd_srv *s = chatd_start(NULL);
    resp get = fetch(s, "GET", "/js/main.js", "");
    /* HEAD then GET on one keep-alive connection: the HEAD answer has the
     * GET's headers and no body, so the next answer follows its head. */
    resp two = fetch_raw(s->port, "HEAD /js/main.js HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(two.status, 200);
    expect_header(&two, "Content-Length", header(&get, "Content-Length"));
    expect_header(&two, "ETag", header(&get, "ETag"));
    expect_header(&two, "Content-Type", "text/javascript; charset=utf-8");
    expect_security_headers(&two);
    if (two.body_len < 12 || memcmp(two.body, "HTTP/1.1 200", 12))
        fail_msg("HEAD sent a body: the next response should follow the head, got %.60s", two.body);

    resp post = fetch(s, "POST", "/", "Content-Length: 0\r\n");
    assert_int_equal(post.status, 405);
    expect_header(&post, "Allow", "GET, HEAD");
    resp del = fetch(s, "DELETE", "/style.css", "");
    assert_int_equal(del.status, 405);
    /* not the client's: the API's 404, and the API itself is unchanged */
    assert_int_equal(fetch(s, "GET", "/nope.js", "").status, 404);
    assert_int_equal(fetch(s, "GET", "/js/", "").status, 404);
    assert_int_equal(fetch(s, "GET", "/js", "").status, 404);
    assert_int_equal(http_call(s, "GET", "/health", NULL, NULL, NULL), 200);
    assert_int_equal(http_call(s, "GET", "/auth", NULL, NULL, NULL), 405);
    chatd_free(s);
}

static void test_no_web(void **state) {
    static const char *const flags[] = {"--no-web", NULL};
    chatd_srv *s = chatd_start(flags);
    const char *paths[] = {"/", "/index.html", "/js/main.js", "/style.css"};
    for (size_t i = 0; i < 4; i++) {
        resp r = fetch(s, "GET", paths[i], "");
        if (r.status != 404) fail_msg("--no-web: GET %s -> %d, want 404", paths[i], r.status);
    }
    assert_int_equal(http_call(s, "GET", "/health", NULL, NULL, NULL), 200);
    chatd_free(s);
}

/* ---- --web-root ---- */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void test_web_root(void **state) {
    char dir[512];
    if (!svc_mkdtemp(dir, sizeof dir, "chatd-webroot-")) fail_msg("mkdtemp failed");
    const char *root = hfmt("%s/site", dir), *outside = hfmt("%s/outside", dir);
    assert_int_equal(system(hfmt("mkdir -p '%s/js' '%s'", root, outside)), 0);
    write_file(hfmt("%s/index.html", root), "<!doctype html><p>from disk v1</p>");
    write_file(hfmt("%s/js/app.js", root), "export const x = 1;\n");
    write_file(hfmt("%s/.env", root), "HIDDEN-SECRET");
    write_file(hfmt("%s/secret.txt", outside), "OUTSIDE-SECRET");
    assert_int_equal(symlink(hfmt("%s/secret.txt", outside), hfmt("%s/link.txt", root)), 0);
    assert_int_equal(symlink(outside, hfmt("%s/js/out", root)), 0);

    const char *flags[] = {"--web-root", root, NULL};
    chatd_srv *s = chatd_start(flags);
    resp r = fetch(s, "GET", "/", "Accept-Encoding: gzip\r\n");
    expect_file(&r, "text/html; charset=utf-8");
    assert_true(has_bytes(&r, "from disk v1"));
    assert_null(header(&r, "Content-Encoding")); /* disk files are sent as they are */
    expect_file((resp[]){fetch(s, "GET", "/js/app.js", "")}, "text/javascript; charset=utf-8");

    /* edited on disk: served at once, with a new tag */
    write_file(hfmt("%s/index.html", root), "<!doctype html><p>from disk v2</p>");
    resp r2 = fetch(s, "GET", "/", hfmt("If-None-Match: %s\r\n", header(&r, "ETag")));
    expect_file(&r2, "text/html; charset=utf-8");
    assert_true(has_bytes(&r2, "from disk v2"));
    assert_string_not_equal(header(&r2, "ETag"), header(&r, "ETag"));
    resp r3 = fetch(s, "GET", "/", hfmt("If-None-Match: %s\r\n", header(&r2, "ETag")));
    assert_int_equal(r3.status, 304);

    const char *escapes[] = {
        "/../outside/secret.txt",
        "/js/../../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/js/..%2f..%2foutside/secret.txt",
        "/.env",
        "/js/./app.js",
        "//etc/passwd",
        "/..",
        "/link.txt",
        "/js/out/secret.txt",
        "/js/..\\..\\outside/secret.txt",
        "/js/app.js%00.html",
        "/site/../outside/secret.txt",
        hfmt("/%s/secret.txt", outside),
    };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        resp e = fetch(s, "GET", escapes[i], "");
        if (e.status != 404 || has_bytes(&e, "SECRET"))
            fail_msg("GET %s -> %d (want 404): %.*s", escapes[i], e.status, (int)e.body_len,
                     e.body);
    }
    chatd_free(s);
    svc_rmrf(dir);
}

static void test_web_root_must_exist(void **state) {
    char dir[512];
    if (!svc_mkdtemp(dir, sizeof dir, "chatd-webroot-")) fail_msg("mkdtemp failed");
    const char *bin = getenv("CHATD_BIN") ? getenv("CHATD_BIN") : "build/chatd";
    int rc = system(hfmt("'%s' --web-root '%s/missing' --port 0 --data '%s/d' > '%s/out' 2>&1", bin,
                         dir, dir, dir));
    assert_int_equal(WEXITSTATUS(rc), 2);
    svc_rmrf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_and_content_types),
        cmocka_unit_test(test_etag_304),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_head_and_methods),
        cmocka_unit_test(test_no_web),
        cmocka_unit_test(test_web_root),
        cmocka_unit_test(test_web_root_must_exist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
