/*
 * log: one line per event on stderr, text or JSON (see log.h). Lines are
 * built in a fixed buffer and written with one call, so lines from several
 * threads never interleave; an over-long message is cut, never the JSON
 * around it (the object stays parseable), and bytes that are not UTF-8
 * become U+FFFD so every JSON line is valid.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 4096
#define TAIL_RESERVE 8 /* room kept for the closing `"}` and the newline */
#define MSG_RESERVE 64 /* room fields leave for the message */

static int min_level = LOG_INFO;
static int format = LOG_FORMAT_TEXT;
static char role[32];
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};

void log_set_level(int level) {
    __atomic_store_n(&min_level, level, __ATOMIC_RELAXED);
}
void log_set_format(int f) {
    __atomic_store_n(&format, f, __ATOMIC_RELAXED);
}
void log_set_role(const char *r) {
    snprintf(role, sizeof(role), "%s", r ? r : "");
}

static int parse_name(const char *name, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (name && !strcmp(name, names[i])) return i;
    return -1;
}

int log_parse_level(const char *name) {
    return parse_name(name, level_names, 4);
}
int log_parse_format(const char *name) {
    return parse_name(name, format_names, 2);
}
const char *log_level_name(int level) {
    return level >= 0 && level < 4 ? level_names[level] : "?";
}
const char *log_format_name(int f) {
    return f >= 0 && f < 2 ? format_names[f] : "?";
}

/* A bounded line: appends stop short of cap - TAIL_RESERVE. */
typedef struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
} line;

static size_t room(const line *l) {
    return sizeof(l->buf) - TAIL_RESERVE - l->len;
}

static void put(line *l, const char *s, size_t n) {
    if (n > room(l)) n = room(l);
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(line *l, const char *s) {
    put(l, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    size_t need = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (need == 0 || need > n || s[0] > 0xF4) return 0;
    for (size_t i = 1; i < need; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (need == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;
    if (need == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
    return need;
}

/* s as the inside of a JSON string; stops (whole characters only) when full. */
static void put_json_str(line *l, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    for (size_t i = 0; i < n;) {
        char esc[8];
        const char *out = esc;
        size_t len = 2, adv = 1;
        if (s[i] == '"' || s[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)s[i];
        } else if (s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
            esc[0] = '\\';
            esc[1] = s[i] == '\n' ? 'n' : s[i] == '\t' ? 't' : 'r';
        } else if (s[i] < 0x20 || s[i] == 0x7F) {
            len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
        } else if (s[i] < 0x80) {
            out = (const char *)s + i;
            len = 1;
        } else if ((adv = utf8_seq(s + i, n - i)) != 0) {
            out = (const char *)s + i;
            len = adv;
        } else {
            out = "\\ufffd";
            len = 6;
            adv = 1;
        }
        if (len > room(l)) return;
        put(l, out, len);
        i += adv;
    }
}

static void emit(int level, const log_field *f, size_t n, const char *fmt, va_list ap) {
    if (level < __atomic_load_n(&min_level, __ATOMIC_RELAXED)) return;
    int json = __atomic_load_n(&format, __ATOMIC_RELAXED) == LOG_FORMAT_JSON;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40], msg[LINE_MAX_BYTES];
    size_t w = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof(when) - w, ".%03ldZ", ts.tv_nsec / 1000000);
    vsnprintf(msg, sizeof(msg), fmt, ap);

    line l;
    l.len = 0;
    if (!json) {
        char head[64];
        snprintf(head, sizeof(head), "%s %-5s ", when, level_names[level]);
        puts_(&l, head);
        puts_(&l, msg);
        for (size_t i = 0; i < n; i++) {
            char num[24];
            puts_(&l, " ");
            puts_(&l, f[i].key);
            puts_(&l, "=");
            if (!f[i].str) snprintf(num, sizeof(num), "%lld", f[i].num);
            puts_(&l, f[i].str ? f[i].str : num);
        }
        l.buf[l.len++] = '\n';
    } else {
        puts_(&l, "{\"time\":\"");
        puts_(&l, when);
        puts_(&l, "\",\"level\":\"");
        puts_(&l, level_names[level]);
        puts_(&l, "\"");
        if (role[0]) {
            puts_(&l, ",\"role\":\"");
            put_json_str(&l, role);
            puts_(&l, "\"");
        }
        for (size_t i = 0; i < n; i++) { /* a member goes in whole, or not at all */
            line m;
            m.len = 0;
            char num[24];
            snprintf(num, sizeof(num), "%lld", f[i].num);
            puts_(&m, ",\"");
            put_json_str(&m, f[i].key);
            puts_(&m, f[i].str ? "\":\"" : "\":");
            if (f[i].str) put_json_str(&m, f[i].str);
            puts_(&m, f[i].str ? "\"" : num);
            if (m.len + MSG_RESERVE <= room(&l) && room(&m) > 0) put(&l, m.buf, m.len);
        }
        puts_(&l, ",\"msg\":\""); /* last: a long message is what gets cut */
        put_json_str(&l, msg);
        memcpy(l.buf + l.len, "\"}\n", 3); /* TAIL_RESERVE keeps room for it */
        l.len += 3;
    }
    fwrite(l.buf, 1, l.len, stderr);
}

void log_event(int level, const log_field *fields, size_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(level, fields, n, fmt, ap);
    va_end(ap);
}

void log_write(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, 0, fmt, ap);
    va_end(ap);
}
