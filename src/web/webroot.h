/*
 * webroot: reads one file of a directory tree for --web-root, and nothing
 * outside it. The URL path is checked first (only [A-Za-z0-9._/-], no
 * segment starting with '.', so no "..", no hidden files, no '%' escapes),
 * then the file's real path (symlinks resolved) must lie inside the root's
 * real path. Blocking: for development use.
 */
#ifndef CHATD_WEB_WEBROOT_H
#define CHATD_WEB_WEBROOT_H

#include <stdbool.h>
#include <stddef.h>

/* True when path ("/js/main.js") is a well-formed client path (see above). */
bool webroot_path_ok(const char *path, size_t len);

/*
 * Reads root + path (path as checked by webroot_path_ok) into a malloc'd
 * buffer (*data, *len; the caller frees it). Returns 0, CHATD_ENOTFOUND
 * when there is no such regular file inside root (or it is larger than
 * max), CHATD_EIO on an I/O error after the file was found.
 */
int webroot_read(const char *root, const char *path, size_t max, char **data, size_t *len);

#endif
