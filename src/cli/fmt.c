/*
 * fmt: parsing and formatting rules of the `chat` client. See fmt.h.
 */
#define _GNU_SOURCE
#include "cli/fmt.h"
#include "core/alloc.h"
#include "core/utf8.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HANDLE_MAX_DIGITS 9 /* longer numbers are message ids */

int fmt_parse_ref(const char *s, fmt_ref *out) {
    if (!s || !*s) return -1;
    if (strcmp(s, "^") == 0) {
        *out = (fmt_ref){FMT_REF_LAST, 0};
        return 0;
    }
    int hash = s[0] == '#';
    const char *d = s + hash;
    size_t n = strlen(d);
    if (n == 0 || n > 20) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)d[i])) return -1;
    errno = 0;
    unsigned long long v = strtoull(d, NULL, 10);
    if (errno || v == 0) return -1;
    if (n <= HANDLE_MAX_DIGITS) {
        *out = (fmt_ref){FMT_REF_HANDLE, v};
        return 0;
    }
    if (hash) return -1; /* "#" goes with handles only */
    *out = (fmt_ref){FMT_REF_ID, v};
    return 0;
}

static int name_char(unsigned char c) {
    return isalnum(c) || c == '_' || c == '.' || c == '-';
}

int fmt_next_mention(const char *text, size_t from, size_t *at, size_t *len) {
    const unsigned char *t = (const unsigned char *)(text ? text : "");
    size_t tl = strlen((const char *)t);
    for (size_t i = from; i < tl; i++) {
        if (t[i] != '@' || (i > 0 && name_char(t[i - 1]))) continue;
        size_t n = 0;
        while (name_char(t[i + 1 + n]))
            n++;
        while (n > 0 && (t[i + n] == '.' || t[i + n] == '-'))
            n--;
        if (n == 0) continue;
        *at = i;
        *len = n;
        return 1;
    }
    return 0;
}

int fmt_mentions_user(const char *text, const char *user) {
    size_t at, len, pos = 0, ul = strlen(user);
    while (fmt_next_mention(text, pos, &at, &len)) {
        if (len == ul && strncmp(text + at + 1, user, ul) == 0) return 1;
        pos = at + 1 + len;
    }
    return 0;
}

int fmt_message_mentions(json_t *msg, const char *user) {
    json_t *m = json_object_get(msg, "mentions");
    if (json_is_array(m)) {
        size_t i;
        json_t *v;
        json_array_foreach(m, i, v) {
            if (json_is_string(v) && strcmp(json_string_value(v), user) == 0) return 1;
        }
        return 0;
    }
    const char *content = json_string_value(json_object_get(msg, "content"));
    return content ? fmt_mentions_user(content, user) : 0;
}

char *fmt_typing(const char *const *names, size_t n) {
    char *s = NULL;
    int r = 0;
    if (n == 0) return NULL;
    if (n == 1)
        r = asprintf(&s, "%s is typing…", names[0]);
    else if (n == 2)
        r = asprintf(&s, "%s and %s are typing…", names[0], names[1]);
    else if (n == 3)
        r = asprintf(&s, "%s, %s and %s are typing…", names[0], names[1], names[2]);
    else
        r = asprintf(&s, "%s, %s and %zu others are typing…", names[0], names[1], n - 2);
    if (r < 0) abort();
    return s;
}

char *fmt_reactions(json_t *reactions) {
    size_t i, len = 0;
    json_t *r;
    char *out = NULL;
    json_array_foreach(reactions, i, r) {
        const char *emoji = json_string_value(json_object_get(r, "emoji"));
        json_int_t count = json_integer_value(json_object_get(r, "count"));
        if (!emoji || count <= 0) continue;
        char *item = NULL;
        if (asprintf(&item, "%s%s %lld", len ? " " : "", emoji, (long long)count) < 0) abort();
        size_t il = strlen(item);
        out = xrealloc(out, len + il + 1);
        memcpy(out + len, item, il + 1);
        len += il;
        free(item);
    }
    return out;
}

char *fmt_snippet(const char *text, size_t max_chars) {
    const char *t = text ? text : "";
    size_t tl = strlen(t), chars = 0, i = 0;
    char *out = xmalloc(tl + sizeof "…");
    size_t o = 0;
    while (i < tl) {
        if (chars == max_chars) {
            memcpy(out + o, "…", sizeof "…");
            return out;
        }
        unsigned char c = (unsigned char)t[i];
        size_t cl = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (i + cl > tl) cl = tl - i;
        if (c == '\n' || c == '\r' || c == '\t')
            out[o++] = ' ';
        else {
            memcpy(out + o, t + i, cl);
            o += cl;
        }
        i += cl;
        chars++;
    }
    out[o] = '\0';
    return out;
}

int fmt_emoji_ok(const char *e) {
    size_t n = e ? strlen(e) : 0;
    if (n < 1 || n > 32 || !utf8_valid((const uint8_t *)e, n)) return 0;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)e[i])) return 0;
    return strstr(e, "\xc2\xa0") == NULL; /* no-break space */
}
