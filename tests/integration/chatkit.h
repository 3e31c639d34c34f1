/*
 * chatkit: chat-level fixtures and checks shared by the chat integration
 * tests (a group of connected users, waiting for a specific channels_list,
 * message or system notice, checking a Message's compat fields). Built on
 * tconn.h; same ownership rule: everything returned is harness-owned.
 */
#ifndef CHATD_IT_CHATKIT_H
#define CHATD_IT_CHATKIT_H

#include "integration/tconn.h"

typedef struct member {
    const char *name;
    tconn *c; /* a chat connection */
} member;

/* Registers n users (prefix), opens a chat connection for each, m[0]
 * creates a group channel with all the others; waits until everyone has
 * a channels_list with it, then clears every backlog. Returns the id. */
const char *group_with(chatd_srv *s, member *m, int n, const char *prefix);

/* The entry for channel_id in a channels_list frame, or NULL. */
json_t *list_entry(json_t *channels_list, const char *channel_id);
/* Next channels_list that has / lacks channel_id. */
json_t *recv_list_with(tconn *c, const char *channel_id);
json_t *recv_list_without(tconn *c, const char *channel_id);
/* recv_list_with, waiting up to timeout_ms. */
json_t *recv_list_with_in(tconn *c, const char *channel_id, int timeout_ms);
/* Next chat_message in channel_id with this content. */
json_t *recv_msg(tconn *c, const char *channel_id, const char *content);
json_t *try_recv_msg(tconn *c, const char *channel_id, const char *content, int timeout_ms);
/* Next `system` frame of channel_id whose metadata.event is event. */
json_t *recv_system(tconn *c, const char *channel_id, const char *event);

/* Next presence_update with an entry for user in status (NULL = any);
 * NULL on timeout (no failure). */
json_t *try_recv_presence(tconn *c, const char *user, const char *status, int timeout_ms);

/* Asserts the compat + ext fields of a Message (chat_message or history
 * entry) and that it is from sender with content (NULL = not checked). */
void check_message(json_t *m, const char *channel_id, const char *sender, const char *content);
/* Asserts a system notice's shape (event user_joined/user_left about user). */
void check_system(json_t *m, const char *channel_id, const char *event, const char *user);

/* create_channel (group) by c with participants (NULL-terminated); waits
 * for channel_created + channel_joined; returns the channel id. */
const char *create_group(tconn *c, const char *name, const char *const *participants);
/* Sends a chat_message and waits for its echo (matching content);
 * returns the echo. */
json_t *send_msg(tconn *c, const char *channel_id, const char *content);
/* fetch_history (cursor NULL = none, limit 0 = omitted) -> the reply. */
json_t *fetch_history(tconn *c, const char *channel_id, const char *before, const char *after,
                      int limit);
/* All messages of a channel, oldest first, by paging backwards. */
json_t *fetch_all(tconn *c, const char *channel_id);

#endif
