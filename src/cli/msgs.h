/*
 * msgs: the messages the interactive `chat` client has shown recently,
 * each with a short *handle* — a number printed before the message
 * ("#12 [Team] bob: hi") that the user types to refer to it (`/react 12 👍`,
 * `/reply 12 …`). Handles count up from 1 over the whole session and a
 * message keeps its handle however often it is shown again (history, a
 * thread, search results), so a number on the screen never changes
 * meaning. The table keeps what is needed to show a change to a message
 * as it now is: author, current text, edited / deleted, reactions (with
 * the users, so applying the same reaction twice — live and again from
 * fetch_changes — changes nothing), reply_to and the reply count.
 *
 * Bounded: a ring of `cap` messages; the oldest handles fall out (looking
 * them up returns NULL and the user is told to find the message again).
 * No I/O (unit-tested in tests/unit/test_cli_msgs.c).
 *
 * Memory: the table owns its entries; pointers returned stay valid until
 * the next cli_msgs_put() or cli_msgs_free().
 */
#ifndef CHAT_CLI_MSGS_H
#define CHAT_CLI_MSGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct cli_msg {
    unsigned handle; /* 0 = free slot */
    char channel[40];
    uint64_t id;
    char *author;
    char *text; /* current content ("" once deleted) */
    int edited, deleted;
    char edited_at[32]; /* the last edit's time (ISO, "" = unknown) */
    json_t *reactions;  /* array of {"emoji","count","users"}, wire shape */
    json_t *react_seq;  /* {"<emoji> <user>": seq of the last change applied} */
    uint64_t reply_to;  /* the root's id, 0 for none */
    long reply_count;
} cli_msg;

typedef struct cli_msgs {
    cli_msg *ring;
    size_t cap;
    unsigned next; /* the next handle to give */
} cli_msgs;

void cli_msgs_init(cli_msgs *t, size_t cap);
void cli_msgs_free(cli_msgs *t);

/* Records (or refreshes) a Message object of channel: its content,
 * edited_at, deleted, reactions, reply_to and reply_count replace what was
 * known. Returns the entry (a new handle for a message not in the table),
 * or NULL when msg has no valid message_id. */
cli_msg *cli_msgs_put(cli_msgs *t, const char *channel, json_t *msg);

cli_msg *cli_msgs_by_handle(cli_msgs *t, uint64_t handle);
cli_msg *cli_msgs_by_id(cli_msgs *t, const char *channel, uint64_t id);
/* The newest message of channel, by author when author is not NULL, not
 * deleted; NULL when none is known. */
cli_msg *cli_msgs_last(cli_msgs *t, const char *channel, const char *author);

/* Applies an edit made at edited_at (ISO-8601 UTC; NULL or "" when
 * unknown): new text, marked edited. An edit no newer than the one the
 * entry shows (a replay through fetch_changes of an edit that a history
 * page already reflected) changes nothing, nor does the same text again
 * when the times are unknown. 1 if it changed anything. */
int cli_msgs_edit(cli_msg *m, const char *text, const char *edited_at);
/* Marks the message deleted: text erased, reactions dropped. 1 if it
 * was not deleted before. */
int cli_msgs_delete(cli_msg *m);
/* Adds (add = 1) or removes user's emoji, a change numbered seq (0 when
 * unknown). 1 if it changed anything. A change no newer than the last one
 * applied for the same user and emoji is stale and ignored: a cluster may
 * deliver two changes in either order, or one twice (PROTOCOL.md §6.1).
 * Otherwise idempotent as far as the users are listed: the server lists
 * only the first ones of a popular emoji, and a change about a user past
 * them is taken as news. */
int cli_msgs_react(cli_msg *m, const char *emoji, const char *user, int add, uint64_t seq);
/* 1 if user has reacted with emoji. */
int cli_msgs_has_reacted(const cli_msg *m, const char *emoji, const char *user);

#endif
