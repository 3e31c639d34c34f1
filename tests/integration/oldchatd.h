/*
 * oldchatd: a stand-in for a chatd that speaks only protocol 1.0 (before
 * PROTOCOL.md §6), for the tests that show the `chat` client still works
 * against one: it answers every request it does not know (typing,
 * fetch_changes, edit_message, search…) with an `unknown_type` error, as
 * a 1.0 server does. Deliberately small: one user at a time, one group
 * channel ("Old", with bob) holding a message from bob; `POST /auth`,
 * /chat and /presence on one port; join_channel, chat_message (echoed
 * with message_id and seq), fetch_history (after/limit) and
 * mark_channel_read are served.
 *
 * oldchatd_away() closes every WebSocket with 1001 (server going away) and
 * stores a message from bob, "missed while away", for the client to
 * recover after it reconnects.
 *
 * It runs in a child process (dies with the test: PDEATHSIG). Every frame
 * type it receives is appended, one per line, to <dir>/frames.log.
 *
 * Memory: oldchatd_stop frees the handle.
 */
#ifndef CHATD_IT_OLDCHATD_H
#define CHATD_IT_OLDCHATD_H

#include <sys/types.h>

typedef struct oldchatd {
    pid_t pid;
    int port;
    char log[512]; /* frames.log */
} oldchatd;

/* Starts one on a free loopback port, logging to dir. Fails the test on
 * error. */
oldchatd *oldchatd_start(const char *dir);
void oldchatd_away(oldchatd *o);
/* How many frames of type the client has sent so far. */
int oldchatd_count(const oldchatd *o, const char *type);
void oldchatd_stop(oldchatd *o);

#define OLDCHATD_CHANNEL "0a1b2c3d-0000-4000-8000-000000000001"

#endif
