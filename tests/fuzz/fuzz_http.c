/*
 * fuzz_http: feeds arbitrary bytes, in arbitrary pieces, through the HTTP
 * request glue (src/net/http.c) exactly as a connection would: requests
 * back to back on keep-alive, resets between them, and the query-string
 * helper on every parsed URL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t piece = (size_t)data[0] % 64 + 1; /* first byte picks the read size */
    const char *p = (const char *)data + 1;
    size_t len = size - 1;
    http_req r;
    http_req_init(&r);
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < piece ? len - off : piece;
        size_t used = 0;
        int rc = http_req_feed(&r, p + off, n, &used);
        if (used > n) abort();
        off += used;
        if (rc < 0) break;
        if (rc == 1) {
            char val[256];
            if (r.url) {
                (void)http_query_param(r.url, "token", val, sizeof(val));
                (void)http_path_len(r.url);
            }
            if (r.upgrade) break; /* the rest would be WebSocket bytes */
            http_req_reset(&r);
        } else if (used == 0 && n == len - off) {
            break;
        }
    }
    http_req_reset(&r);
    return 0;
}
