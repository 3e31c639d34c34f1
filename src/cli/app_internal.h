/*
 * app_internal: what app.c (frames of protocol 1.0, recovery, the outbox)
 * and app_v11.c (the frames of protocol 1.1) share. Not part of the
 * client's contract (app.h); only those two files include it.
 */
#ifndef CHAT_CLI_APP_INTERNAL_H
#define CHAT_CLI_APP_INTERNAL_H

#include "cli/app.h"

/* o[key] as a string, "" when absent. */
const char *cli__sget(json_t *o, const char *key);
int cli__interactive(const cli_app *a);
/* Redraws the prompt: the current channel, and who is typing there. */
void cli__update_prompt(cli_app *a);
/* Shows a Message of c (hist: as history, dimmed), giving it a handle. */
void cli__show(cli_app *a, cli_channel *c, json_t *m, int hist);
/* Shows a message's table entry as it now is (after a change). */
void cli__show_entry(cli_app *a, cli_channel *c, const cli_msg *e);
/* Raises c->seq to the frame's "seq" if that is higher. */
void cli__note_seq(cli_channel *c, json_t *f);
/* A live chat_message or system frame of c (also replayed after a
 * recovery, or read from a `changes` page). */
void cli__on_message(cli_app *a, cli_channel *c, json_t *m, int replay);
/* Starts (or continues) the recovery of c: fetch_changes after c->seq
 * when the server has it and a seq is known, else fetch_history after
 * the message cursor. */
void cli__fetch_recovery(cli_app *a, cli_channel *c, int limit);
void cli__end_recovery(cli_app *a, cli_channel *c);

/* app_v11.c */
/* Handles a protocol 1.1 frame; 1 if type is one. */
int cli__on_v11_frame(cli_app *a, const char *type, json_t *f);
/* Applies a message_updated, message_deleted or reaction frame of c. */
void cli__on_change(cli_app *a, cli_channel *c, json_t *f);
/* A stored system notice of c: applies a channel_updated (name, topic). */
void cli__on_notice(cli_app *a, cli_channel *c, json_t *m);
/* Names c from the last directory listing when its name is not known
 * yet (a public channel just joined from /channels all). */
void cli__name_from_directory(cli_app *a, cli_channel *c);
/* 1 if type is one of the change frames above. */
int cli__is_change(const char *type);
/* Forgets that user is typing in channel (their message came). */
void cli__typing_clear(cli_app *a, const char *channel, const char *user);
/* An error frame about a 1.1 request the user did not type (typing,
 * fetch_changes): falls back quietly; 1 if it was one. */
int cli__v11_error(cli_app *a, json_t *f);

#endif
