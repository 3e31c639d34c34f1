/*
 * app: the `chat` client itself: what it does with each frame the server
 * sends (update the state, show it or print it as JSON, recover after a
 * reconnect), the outbox of own messages not yet echoed, and the event
 * loop that drives it all (loop.c). The three modes share this code and
 * differ only in what they show and when they stop:
 *   interactive  line editor, commands (commands.h), pretty output
 *   send         sends one message, exits 0 once its echo (the durable
 *                acknowledgement) arrives
 *   tail         prints one channel's messages as JSON lines, forever
 *
 * Nothing lost, nothing twice: own messages carry a random client_msg_id
 * and stay in the outbox until echoed, so a resend after a reconnect is
 * stored once by the server; incoming messages are shown once per
 * message_id, and after a reconnect every channel is recovered with
 * `fetch_history after=<cursor>` (state.h) while live messages of that
 * channel are held back until the recovery finishes, keeping order.
 * With a protocol 1.1 server the recovery is `fetch_changes
 * after_seq=<seq>` instead, so edits, deletions and reactions made while
 * offline are applied too (each exactly once: applying a change is
 * idempotent, see msgs.h). Live changes are applied as they come, without
 * waiting for a missing seq: a cluster may deliver two in either order or
 * one twice, and edits (ordered by edited_at), deletions and reactions
 * (ordered by seq per user and emoji) end the same either way. A server
 * that answers fetch_changes with `unknown_type`
 * (protocol 1.0) is recovered with fetch_history from then on, and one
 * that does not know `typing` is sent no more of them.
 * A channel that first appears in the list after a reconnect (added while
 * offline) is listed with its unread count, not replayed.
 *
 * Protocol 1.1 (app_v11.c): every shown message gets a handle (msgs.h)
 * the user types to edit, delete, react to, reply to or open the thread of
 * a message; changes to shown messages are printed as the message now is;
 * others typing in the current channel are shown in the prompt
 * ("(bob is typing…) Team> ") until their expires_ms passes or their
 * message arrives; our own typing is announced at most every 3 s.
 *
 * Memory: the app owns its session, state and outbox; cli_app_free releases
 * them. Frames passed to cli_app_on_frame stay owned by the caller.
 */
#ifndef CHAT_CLI_APP_H
#define CHAT_CLI_APP_H

#include <stdint.h>

#include <jansson.h>

#include "cli/msgs.h"
#include "cli/session.h"
#include "cli/state.h"

typedef enum { APP_INTERACTIVE, APP_SEND, APP_TAIL } app_mode;

#define APP_TYPING_MAX 32     /* others typing, remembered at once */
#define APP_MSGS_KEPT 4096    /* recently shown messages with a usable handle */
#define APP_TYPING_EVERY 3000 /* ms between our own typing frames (§6) */

/* Requests whose answers come in pages that /more continues. */
typedef enum { APP_PAGED_SEARCH, APP_PAGED_THREAD, APP_PAGED_DIRECTORY, APP_PAGED_KINDS } app_paged;

typedef struct cli_typing {
    char channel[40];
    char user[64];
    int64_t until_ms;
} cli_typing;

typedef struct cli_app {
    app_mode mode;
    cli_session ss;
    cli_state st;
    char current[40];    /* current channel id, "" for none */
    int quit, exit_code; /* the loop stops when quit is set */
    json_t *outbox;      /* own chat_message frames awaiting their echo */
    int have_list;       /* the first channels_list of this connection came */
    int connected_once;  /* some connection has succeeded */
    int reconnecting;    /* recover when this connection's list comes */
    int64_t next_heartbeat_ms;
    /* send / tail */
    const char *target_ref; /* the channel as typed (not owned) */
    const char *send_text;  /* not owned */
    char target_id[40];
    int tail_n;          /* tail: history lines to print first */
    int64_t deadline_ms; /* send: give up (CLI_ECONNECT) after this */
    int stdin_eof;       /* interactive: stdin is done; quit once the outbox is empty */
    int awaiting;        /* a create/join/leave reply is awaited: piped stdin
                            waits for it before running its next line */
    /* protocol 1.1 */
    cli_msgs msgs;          /* shown messages and their handles */
    int no_changes;         /* the server lacks fetch_changes (protocol 1.0) */
    int no_typing;          /* the server lacks typing: send none */
    char typing_chan[40];   /* where our last typing frame went */
    int64_t typing_next_ms; /* no typing frame to typing_chan before this */
    cli_typing typing[APP_TYPING_MAX];
    size_t n_typing;
    json_t *directory;              /* channels of the last channel_directory (owned) */
    json_t *paged[APP_PAGED_KINDS]; /* the last search / fetch_thread / list_channels sent */
    json_t *more;                   /* its next page, for /more (owned), or NULL */
} cli_app;

void cli_app_init(cli_app *a, app_mode mode);
void cli_app_free(cli_app *a);

/* A frame from the chat (presence = 0) or presence socket. */
void cli_app_on_frame(cli_app *a, int presence, json_t *frame);
/* The sockets are open (a new connection: first or reconnect). */
void cli_app_on_connected(cli_app *a);
/* The connection is gone (already closed); code = close code or -1. */
void cli_app_on_disconnected(cli_app *a, int code);

/* Queues a message (client_msg_id added) in the outbox and sends it when
 * connected; reply_to (a message id, or NULL) makes it a reply (§6).
 * 0, or -1 when it cannot be built. */
int cli_app_send_message(cli_app *a, const char *channel_id, const char *text,
                         const char *reply_to);
/* Sends any frame on the chat socket; reports "not connected". 0 / -1. */
int cli_app_request(cli_app *a, json_t *frame);
/* The current channel (changes the prompt). id NULL or "" clears it. */
void cli_app_set_current(cli_app *a, const char *id);
/* Prints the channel list (name, type, unread count, id). */
void cli_app_print_channels(cli_app *a);

/* Sends a request whose answer is paged (kind): remembered (the app
 * keeps its own reference to f) so that the answer's has_more makes
 * /more fetch the next page. 0 / -1 (not connected). */
int cli_app_request_paged(cli_app *a, app_paged kind, json_t *f);
/* The input line now reads text (the user typed): sends `typing` for
 * the current channel when text is a message, at most every 3 s. */
void cli_app_on_typed(cli_app *a, const char *text);
/* When the next timed change is due (a typing indicator expires),
 * monotonic ms; 0 for none. cli_app_tick applies what is due. */
int64_t cli_app_next_timer(const cli_app *a);
void cli_app_tick(cli_app *a);

/* Runs the event loop until quit; returns the exit code (loop.c). */
int cli_app_run(cli_app *a);

#endif
