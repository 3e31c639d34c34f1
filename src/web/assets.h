/*
 * assets: the browser client as built into the binary. The Makefile
 * generates the table (scripts/web-embed.sh writes <build>/gen/web_assets.c
 * from web/ at build time; nothing generated is committed): every file's
 * bytes, its `gzip -9 -n` form when that is smaller, and a strong validator
 * (a hash of the bytes). Read-only, static storage, sorted by path.
 */
#ifndef CHATD_WEB_ASSETS_H
#define CHATD_WEB_ASSETS_H

#include <stddef.h>

/* Hex digits of the SHA-256 of a file's bytes that make its ETag. */
#define WEB_ETAG_HEX 32

typedef struct web_asset {
    const char *path;          /* URL path: "/index.html", "/js/main.js" */
    const unsigned char *data; /* the file's bytes */
    size_t len;
    const unsigned char *gz; /* gzip form; gz_len 0 when it is not smaller */
    size_t gz_len;
    const char *hash; /* WEB_ETAG_HEX lowercase hex digits */
} web_asset;

extern const web_asset web_assets[];
extern const size_t web_assets_count;

#endif
