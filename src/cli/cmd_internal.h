/*
 * cmd_internal: what commands.c (the line parser and the protocol 1.0
 * commands) and commands_v11.c (the commands of protocol 1.1) share. Not
 * part of commands.h's contract; only those two files include it.
 */
#ifndef CHAT_CLI_CMD_INTERNAL_H
#define CHAT_CLI_CMD_INTERNAL_H

#include "cli/app.h"

/* Resolves a channel argument (NULL = the current channel), reporting
 * errors. Returns the id, or NULL. */
const char *cmd__channel_arg(cli_app *a, const char *ref);
/* Sends a request whose reply the next piped line may depend on. */
void cmd__request_awaited(cli_app *a, json_t *f);
/* s after its first n words and the blanks after them. */
const char *cmd__skip_words(const char *s, int n);
/* Runs a protocol 1.1 command (argv[0] is "/name"; rest is the raw line
 * after the command word). 1 if argv[0] is one, else 0. */
int cmd__run_v11(cli_app *a, int argc, char **argv, const char *rest);
/* The id of the public channel called name in the last directory
 * listing (case-insensitive), or NULL. */
const char *cmd__directory_find(cli_app *a, const char *name);

#endif
