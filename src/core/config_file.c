/*
 * config_file: the INI reading behind --config, on Debian's libinih. inih
 * reports only the line of the first error, so lines are counted here (a
 * reader of our own feeds inih), which lets every error, ours or inih's,
 * name its line. Lines may be of any length (inih's heap buffer grows).
 */
#include "core/config_file.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

typedef struct reader {
    FILE *f;
    int line; /* lines read so far (the one being parsed included) */
    config_file_cb cb;
    void *data;
    int err_line; /* first error found here, 0 = none */
    char msg[512];
} reader;

static char *read_line(char *str, int num, void *stream) {
    reader *r = stream;
    char *s = fgets(str, num, r->f);
    if (s && (strchr(s, '\n') || feof(r->f))) r->line++; /* a whole line (inih may read in parts) */
    return s;
}

static int on_pair(void *user, const char *section, const char *name, const char *value) {
    reader *r = user;
    if (r->err_line) return 0;
    char err[400] = "";
    int rc = 0;
    if (section[0] && strcmp(section, "chatd") != 0) {
        snprintf(err, sizeof(err), "unknown section [%s] (only [chatd])", section);
        rc = -1;
    } else {
        size_t n = strlen(value);
        char unq[n + 1];
        memcpy(unq, value, n + 1);
        if (n >= 2 && unq[0] == '"' && unq[n - 1] == '"') { /* "value" -> value */
            unq[n - 1] = '\0';
            rc = r->cb(r->data, name, unq + 1, r->line, err, sizeof(err));
        } else {
            rc = r->cb(r->data, name, unq, r->line, err, sizeof(err));
        }
    }
    if (rc == 0) return 1;
    r->err_line = r->line;
    snprintf(r->msg, sizeof(r->msg), "%s", err[0] ? err : "invalid setting");
    return 0;
}

int config_file_read(const char *path, config_file_cb cb, void *data, char *err, size_t errlen) {
    reader r = {.cb = cb, .data = data};
    r.f = fopen(path, "r");
    if (!r.f) {
        snprintf(err, errlen, "%s: cannot read the configuration file: %s", path, strerror(errno));
        return -1;
    }
    /* Debian builds inih with run-time settings: heap lines of any length,
     * no Python-style continuation lines, '#' comments after values too. */
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = 1 << 16;
    ini_allow_multiline = false;
    ini_inline_comment_prefixes = (char *)";#";
    int rc = ini_parse_stream(read_line, &r, on_pair, &r);
    int failed = ferror(r.f);
    fclose(r.f);
    if (failed) {
        snprintf(err, errlen, "%s: cannot read the configuration file", path);
        return -1;
    }
    if (rc == 0) return 0;
    if (r.err_line && (rc < 0 || rc == r.err_line))
        snprintf(err, errlen, "%s:%d: %s", path, r.err_line, r.msg);
    else if (rc > 0)
        snprintf(err, errlen,
                 "%s:%d: syntax error (expected `key = value`, `[chatd]` or a comment)", path, rc);
    else
        snprintf(err, errlen, "%s: cannot parse the configuration file", path);
    return -1;
}
