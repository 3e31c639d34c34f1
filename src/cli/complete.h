/*
 * complete: what Tab offers on the interactive `chat` client's input line,
 * as a pure function of the line and of what the client knows (unit-tested
 * in tests/unit/test_cli_complete.c; render.c hands the result to the
 * line editor):
 *   "/jo"            → the commands starting so ("/join")
 *   "@bo"            → "@" + the users starting so (members of the current
 *                      channel first), anywhere in a line
 *   "/join Te"       → the channels (names with blanks come quoted), also
 *                      after /leave and /read, and after /search -c
 *   "/dm b", "/add b", "/remove b", "/role b" → the users
 * Prefixes match as typed, or when nothing does, in any case; candidates
 * are in the order of the lists given, without repeats.
 *
 * Memory: complete_words returns a malloc'd NULL-terminated array of
 * malloc'd strings (complete_free releases it), or NULL when nothing fits.
 */
#ifndef CHAT_CLI_COMPLETE_H
#define CHAT_CLI_COMPLETE_H

#include <stddef.h>

typedef struct complete_src {
    const char *const *commands; /* "/join", ... */
    size_t n_commands;
    const char *const *users; /* without '@' */
    size_t n_users;
    const char *const *channels; /* display names */
    size_t n_channels;
} complete_src;

/* before: the line up to the word being completed; word: that word so far. */
char **complete_words(const char *before, const char *word, const complete_src *src);
void complete_free(char **items);

#endif
