/*
 * state: what the `chat` client knows about the world, with no I/O: the
 * user's channels (kept current from `channels_list` frames), per channel
 * the messages already shown (dedupe by message_id) and the recovery
 * cursor, and the presence of the users who share a channel with us.
 *
 * Recovery has two cursors. With a protocol 1.1 server, `seq` is the
 * highest change (message, notice, edit, deletion, reaction) applied, and
 * `fetch_changes after_seq=<seq>` brings back everything after it, edits
 * and deletions of old messages included. With an older server (or before
 * any seq is known) the message cursor is used:
 * the message id up to which the client has seen
 * every message of the channel. It advances only on messages that are
 * known to be contiguous (the live stream while connected, or a
 * `fetch_history after` page), so after a reconnect `fetch_history
 * after=<cursor>` recovers exactly what was missed (PROTOCOL.md 2).
 *
 * Memory: the state owns every channel and string in it; cli_state_free()
 * releases everything. Pointers to channels stay valid until the next
 * cli_state_apply_list() or cli_state_free().
 */
#ifndef CHAT_CLI_STATE_H
#define CHAT_CLI_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define STATE_HIST_QUEUE 16

typedef struct cli_channel {
    char id[40];
    char *name;    /* "" for a direct channel */
    char *display; /* what cli_state_display() returns */
    int is_direct;
    char **others; /* other participants, from channels_list */
    size_t n_others;
    long unread;
    long mentions;   /* messages after the read mark that mention us (§6) */
    char *topic;     /* "" when none (or an old server) */
    int is_private;  /* §6 private channel */
    long members;    /* member_count (§6), 0 when not sent */
    uint64_t cursor; /* see the header comment; 0 = none */
    uint64_t seq;    /* the highest change seq applied (§6); 0 = none */
    uint64_t *seen;  /* open-addressing hash set of shown ids */
    size_t n_seen, cap_seen;
    int recovering;               /* a recovery fetch (history or changes) is in flight */
    int via_changes;              /* ... and it is a fetch_changes */
    json_t *held;                 /* live messages held while recovering (array) */
    int hist_q[STATE_HIST_QUEUE]; /* kinds of pending fetch_history: 0 =
                                     recovery, n > 0 = user asked for n */
    int hist_head, hist_n;
    int is_new;  /* added by the last cli_state_apply_list */
    int listed;  /* has been in a channels_list (or was created by us): not
                    a placeholder made by a frame that came before the list */
    int in_list; /* present in the last channels_list */
} cli_channel;

typedef struct cli_presence {
    char *user;
    char *status;
} cli_presence;

typedef struct cli_state {
    cli_channel **ch;
    size_t n_ch, cap_ch;
    cli_presence *pr;
    size_t n_pr, cap_pr;
} cli_state;

void cli_state_init(cli_state *st);
void cli_state_free(cli_state *st);

/* Applies a channels_list frame: updates names, participants, unread
 * and mention counts, topic, privacy and member count; new channels get is_new = 1 and their cursor
 * from last_message_id; channels missing from the list are removed (the caller must drop pointers
 * to them). Returns 0 or -1 (bad frame). */
int cli_state_apply_list(cli_state *st, json_t *frame);
/* Adds (or returns) the channel with this id; name may be NULL. */
cli_channel *cli_state_add(cli_state *st, const char *id, const char *name, int is_direct);
cli_channel *cli_state_find(const cli_state *st, const char *id);
/* Sets the other participants from a JSON array of names, leaving out
 * self (channel_created); updates the display name. */
void cli_state_set_others(cli_channel *c, json_t *names, const char *self);
/* Replaces the name and/or topic (NULL: keep), e.g. after a
 * channel_updated notice; updates the display name. */
void cli_state_rename(cli_channel *c, const char *name, const char *topic);
/* Forgets a channel (after channel_left); pointers to it become invalid. */
void cli_state_remove(cli_state *st, const char *id);

/* Display name: the name, "@other" for a direct channel, or the first
 * 8 characters of the id when the name is not known yet. Valid until the
 * channel changes. */
const char *cli_state_display(const cli_channel *c);

/* Resolves a user-typed channel reference: exact id, exact display name,
 * case-insensitive display name, then unique id prefix or unique name
 * prefix. Returns the channel, or NULL with *ambiguous set to the number of
 * candidates (0 = none matched). */
cli_channel *cli_state_resolve(const cli_state *st, const char *ref, int *ambiguous);

/* Decimal message id -> number (0 when not a valid id). */
uint64_t cli_state_msg_id(const char *s);
/* 1 if id was already seen, else records it and returns 0. */
int cli_state_seen_add(cli_channel *c, uint64_t id);
int cli_state_seen_has(const cli_channel *c, uint64_t id);

/* Queue of pending fetch_history kinds (replies come in request order). */
void cli_state_hist_push(cli_channel *c, int kind);
/* Pops the oldest kind; -1 when none is pending. */
int cli_state_hist_pop(cli_channel *c);

/* Presence: sets a user's status (a copy is kept). */
void cli_state_presence_set(cli_state *st, const char *user, const char *status);
/* The status, or NULL when unknown. */
const char *cli_state_presence_get(const cli_state *st, const char *user);

#endif
