/*
 * config_file: reads chatd's configuration file, an INI file (libinih):
 *
 *     ; comment            # comment
 *     [chatd]              (optional; no other section is allowed)
 *     port = 8080
 *     log-format = json    ; an inline comment after whitespace
 *     allowed-origins = "https://chat.example.com"   (quotes are removed)
 *
 * It knows nothing of the options themselves: each key = value goes to the
 * caller's callback with its line number, and the first error (the
 * callback's, a syntax error, an unknown section, an unreadable file)
 * stops the read with a message "FILE:LINE: ..." (or "FILE: ...").
 */
#ifndef CHATD_CONFIG_FILE_H
#define CHATD_CONFIG_FILE_H

#include <stddef.h>

/* One key = value (both valid for the call only). 0, or -1 after writing
 * the reason (without the "FILE:LINE: " prefix) into err. */
typedef int (*config_file_cb)(void *data, const char *key, const char *value, int line, char *err,
                              size_t errlen);

/* Reads path, calling cb for each key in order. 0, or -1 with err set. */
int config_file_read(const char *path, config_file_cb cb, void *data, char *err, size_t errlen);

#endif
