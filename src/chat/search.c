/*
 * search: the channel directory (list_channels) and full-text search
 * (protocol 1.1, PROTOCOL.md section 6). Both are reads the store answers
 * from its own tables, so they are exact in a cluster too: the directory
 * says who is a member now, and search looks only into the channels the
 * searcher is a member of at the moment the store runs it.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/internal.h"
#include "core/alloc.h"

static void directory_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    if (s && op->status == STORE_OK)
        chat__send(s, enc_channel_directory(op->u.directory.entries, op->u.directory.n_entries,
                                            op->u.directory.has_more));
    else if (s && op->status == STORE_ENOTFOUND)
        chat__error(s, PROTO_NOT_FOUND, "list_channels", "the \"after\" channel %s does not exist",
                    op->u.directory.after);
    else
        chat__store_error(s, op->status, "list_channels");
    chat__pend_free(p);
}

void chat__directory(domain *d, session *s, request *r) {
    pend *p = chat__pend(d, s, STORE_DIRECTORY, directory_done);
    p->op.u.directory.user_id = s->user->name;
    if (r->u.directory.query) p->content = xstrdup(r->u.directory.query);
    p->op.u.directory.query = p->content;
    memcpy(p->op.u.directory.after, r->u.directory.after, 37);
    p->op.u.directory.limit = r->u.directory.limit;
    chat__submit(p);
}

static void search_done(store_op *op) {
    pend *p = op->data;
    session *s = chat__live(p);
    if (s && op->status == STORE_OK)
        chat__send(s, enc_search_results(p->content, op->u.search.msgs, op->u.search.n_msgs,
                                         op->u.search.has_more));
    else
        chat__store_error(s, op->status, "search");
    chat__pend_free(p);
}

void chat__search(domain *d, session *s, request *r) {
    if (r->u.search.channel_id[0] && !chat__usable_channel(d, s, r->u.search.channel_id, "search"))
        return;
    pend *p = chat__pend(d, s, STORE_SEARCH, search_done);
    p->content = xstrdup(r->u.search.query); /* echoed in search_results */
    p->ctx = r->u.search.q;                  /* taken: freed with the pend */
    r->u.search.q = NULL;
    p->op.u.search.q = p->ctx;
    p->op.u.search.user_id = s->user->name;
    memcpy(p->op.u.search.channel_id, r->u.search.channel_id, 37);
    p->op.u.search.before = r->u.search.before;
    p->op.u.search.limit = r->u.search.limit;
    chat__submit(p);
}
