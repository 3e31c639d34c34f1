/*
 * store: the backend-independent part of the store contract. Every backend
 * allocates its outputs with malloc, so one function can release them.
 */
#include "store/store.h"

#include <stdlib.h>

static void msg_free_strings(proto_msg *m) {
    free(m->user_id);
    free(m->content);
    free(m->metadata);
    free(m->client_msg_id);
    m->user_id = m->content = m->metadata = m->client_msg_id = NULL;
}

void store_op_clear(store_op *op) {
    switch (op->kind) {
    case STORE_USER_GET:
        free(op->u.user_get.pw_hash);
        op->u.user_get.pw_hash = NULL;
        break;
    case STORE_MSG_APPEND:
        if (op->u.msg_append.owned__) {
            proto_msg *m = &op->u.msg_append.msg;
            const proto_msg *c = &op->u.msg_append.caller__;
            msg_free_strings(m);
            m->user_id = c->user_id;
            m->content = c->content;
            m->metadata = c->metadata;
            m->client_msg_id = c->client_msg_id;
            op->u.msg_append.owned__ = 0;
        }
        break;
    case STORE_HISTORY:
        for (size_t i = 0; i < op->u.history.n_msgs; i++)
            msg_free_strings(&op->u.history.msgs[i]);
        free(op->u.history.msgs);
        op->u.history.msgs = NULL;
        op->u.history.n_msgs = 0;
        break;
    case STORE_CHANNELS_FOR_USER:
        for (size_t i = 0; i < op->u.channels_for_user.n_entries; i++) {
            proto_channel_entry *e = &op->u.channels_for_user.entries[i];
            free(e->name);
            free(e->topic);
            for (size_t j = 0; j < e->n_participants; j++)
                free(e->participants[j]);
            free(e->participants);
        }
        free(op->u.channels_for_user.entries);
        op->u.channels_for_user.entries = NULL;
        op->u.channels_for_user.n_entries = 0;
        break;
    case STORE_CHANNEL_GET:
        free(op->u.channel_get.name);
        free(op->u.channel_get.creator);
        free(op->u.channel_get.topic);
        op->u.channel_get.topic = NULL;
        for (size_t i = 0; i < op->u.channel_get.n_members; i++)
            free(op->u.channel_get.members[i].user_id);
        free(op->u.channel_get.members);
        op->u.channel_get.name = op->u.channel_get.creator = NULL;
        op->u.channel_get.members = NULL;
        op->u.channel_get.n_members = 0;
        break;
    case STORE_SEARCH:
        for (size_t i = 0; i < op->u.search.n_msgs; i++)
            msg_free_strings(&op->u.search.msgs[i]);
        free(op->u.search.msgs);
        op->u.search.msgs = NULL;
        op->u.search.n_msgs = 0;
        break;
    case STORE_DIRECTORY:
        for (size_t i = 0; i < op->u.directory.n_entries; i++) {
            free(op->u.directory.entries[i].name);
            free(op->u.directory.entries[i].topic);
        }
        free(op->u.directory.entries);
        op->u.directory.entries = NULL;
        op->u.directory.n_entries = 0;
        break;
    default:
        break;
    }
}
