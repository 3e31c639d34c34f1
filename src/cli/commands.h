/*
 * commands: the interactive client's command line. A line that starts
 * with "/" is a command (see /help); anything else is a message to
 * the current channel ("//text" sends "/text"). Arguments are split like a
 * shell does it, minus the expansions: "double" or 'single' quotes group
 * words (so `/create "Team Chat" bob` names a channel with a space), and
 * a backslash escapes the next character outside single quotes.
 *
 * Memory: cmd_split returns a malloc'd argv (free with cmd_free_argv).
 */
#ifndef CHAT_CLI_COMMANDS_H
#define CHAT_CLI_COMMANDS_H

#include "cli/app.h"

/* Splits s into words. Returns 0 with *argv and *argc set, or -1 for an
 * unterminated quote (nothing to free). */
int cmd_split(const char *s, char ***argv, int *argc);
void cmd_free_argv(char **argv, int argc);
/* Splits s at blanks only (no quotes, no escapes). With free_text_only,
 * only for a command whose last argument is free text (/msg, /reply,
 * /edit, /search, /topic, /rename): -1 for any other. The line runner
 * uses it when cmd_split finds an unterminated quote, so
 * "/reply 12 don't" works. 0 or -1. */
int cmd_split_words(const char *s, char ***argv, int *argc, int free_text_only);

/* Every command word ("/join", ...), NULL-terminated (for Tab). */
extern const char *const cmd_names[];

/* Executes one typed line (no trailing newline). */
void cmd_execute(cli_app *a, const char *line);

/* The /help text, one command per line. */

#endif
