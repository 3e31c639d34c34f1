/*
 * fmt: the pure text rules of the `chat` client for protocol 1.1 (§6), kept
 * apart from I/O so each is unit-tested (tests/unit/test_cli_fmt.c):
 *   - message references as the user types them (`12`, `#12`, `^`, or a
 *     full decimal message id) — see "Message handles" in man/chat.1;
 *   - @mentions found with the server's rule (PROTOCOL.md §6), so the
 *     client highlights exactly what the server counts;
 *   - the "bob is typing…" sentence, reaction summaries, short snippets;
 *   - whether an emoji argument is one the server will take.
 *
 * Memory: functions returning char * return malloc'd strings the caller
 * frees; nothing keeps its arguments.
 */
#ifndef CHAT_CLI_FMT_H
#define CHAT_CLI_FMT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum {
    FMT_REF_HANDLE, /* "12" or "#12": the number shown before a message */
    FMT_REF_LAST,   /* "^": the newest message of the current channel */
    FMT_REF_ID,     /* a full message id (more than 9 digits) */
} fmt_ref_kind;

typedef struct fmt_ref {
    fmt_ref_kind kind;
    uint64_t value; /* the handle or the id; 0 for FMT_REF_LAST */
} fmt_ref;

/* Parses a typed message reference. 0, or -1 when s is none of the forms. */
int fmt_parse_ref(const char *s, fmt_ref *out);

/* The next @mention of text at or after byte `from`, by the §6 rule: an
 * '@' at the start or after a byte that is not [A-Za-z0-9_.-], then the
 * longest run of [A-Za-z0-9_.-] less trailing '.' and '-'. Returns 1 with
 * *at = offset of the '@' and *len = length of the name (without '@'), or
 * 0 when there is none. */
int fmt_next_mention(const char *text, size_t from, size_t *at, size_t *len);
/* 1 if text mentions user by that rule. */
int fmt_mentions_user(const char *text, const char *user);
/* 1 if the message (a Message object) mentions user: its "mentions" array
 * when the server sent one (protocol 1.1), else the text rule above. */
int fmt_message_mentions(json_t *msg, const char *user);

/* "bob is typing…", "bob and carol are typing…", "bob, carol and dave are
 * typing…", "bob, carol and 2 others are typing…"; NULL when n == 0. */
char *fmt_typing(const char *const *names, size_t n);

/* "👍 2 🎉 1" from a §6 reactions array ([{"emoji","count","users"}]);
 * NULL when there are none. */
char *fmt_reactions(json_t *reactions);

/* At most max_chars characters (UTF-8 code points) of text on one line:
 * newlines become spaces, and "…" ends a cut text. */
char *fmt_snippet(const char *text, size_t max_chars);

/* 1 if e is an emoji the server accepts: 1–32 bytes of valid UTF-8
 * without whitespace. */
int fmt_emoji_ok(const char *e);

#endif
