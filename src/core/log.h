/*
 * log: leveled logging to stderr, one line per event, as text
 * ("2026-11-24T20:31:05.123Z info  msg key=value ...") or as JSON
 * ({"time":"...","level":"info","msg":"...","role":"all","key":"value"}),
 * which log collectors read without a parser of their own.
 *
 * Structured fields: log_event() takes key/value fields (user, conn,
 * channel, addr, server...) next to the message; the text format appends
 * them as key=value, the JSON format makes them members of the object. A
 * process-wide role (log_set_role) is a field of every line.
 *
 * Never pass secrets (passwords, tokens, keys) to these functions, neither
 * in the message nor in a field.
 *
 * Threads: any thread may log (one write(2) per line). The level, format
 * and role are set on the loop thread (start-up, SIGHUP) and read with
 * atomic loads.
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <stddef.h>

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Messages below `level` are dropped. Default LOG_INFO. */
void log_set_level(int level);
int log_parse_level(const char *name); /* "debug".."error"; -1 if unknown */
const char *log_level_name(int level);
/* LOG_FORMAT_TEXT (default) or LOG_FORMAT_JSON. */
void log_set_format(int format);
int log_parse_format(const char *name); /* "text" | "json"; -1 if unknown */
const char *log_format_name(int format);
/* The role every line names ("all", "api"...); copied. NULL: none. */
void log_set_role(const char *role);

/* One field: a string (str != NULL) or a number. Borrowed for the call. */
typedef struct log_field {
    const char *key;
    const char *str;
    long long num;
} log_field;

#define LOG_STR(k, v) ((log_field){(k), (v) ? (v) : "", 0})
#define LOG_NUM(k, v) ((log_field){(k), NULL, (long long)(v)})
/* The fields argument pair of log_event: LOG_FIELDS(LOG_STR("user", u), ...). */
#define LOG_FIELDS(...)                                                                            \
    (const log_field[]){__VA_ARGS__}, sizeof((const log_field[]){__VA_ARGS__}) / sizeof(log_field)

/* A line with fields; fmt is the message (printf). */
void log_event(int level, const log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A line without fields. */
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
