/*
 * log: leveled logging to stderr with a timestamp. Never pass secrets
 * (passwords, tokens, keys) to these functions.
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Messages below `level` are dropped. Default LOG_INFO. */
void log_set_level(int level);
int log_parse_level(const char *name); /* "debug".."error"; -1 if unknown */
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
