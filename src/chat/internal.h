/*
 * Internal to src/chat: the in-memory model the domain keeps (users,
 * channels, memberships) and the cross-file helpers of the domain. The
 * store is the durable truth; this model mirrors it so that membership
 * checks and fan-out never wait for I/O.
 */
#ifndef CHATD_CHAT_INTERNAL_H
#define CHATD_CHAT_INTERNAL_H

#include "bus/bus.h"
#include "chat/domain.h"
#include "core/snowflake.h"
#include "core/strmap.h"
#include "proto/encode.h"

struct ch_user {
    char name[33];
    session *chat;         /* live /chat sessions (list) */
    session *pres;         /* live /presence sessions (list) */
    unsigned nsockets;     /* chat + presence, counted by presence.c */
    unsigned nconns;       /* open sessions, chat + presence (the per-user cap) */
    int list_pending;      /* a fresh channels_list is due (coalesced) */
    uint64_t list_sent_ms; /* monotonic: when the last one was asked for */
    ch_user *next_list;    /* in domain.list_due */
    strmap channels;       /* channel_id -> ch_channel* the user is in */
    proto_status status;
    int64_t last_seen_ms;    /* wall clock, for presence frames */
    uint64_t last_active_ms; /* monotonic, for the silence timeout */
    int timed_out;           /* offline because silent, not by choice */
    session **watchers;      /* presence sessions subscribed explicitly */
    size_t nwatchers, watchcap;
    unsigned *holders; /* cluster: OTHER servers with live sockets of this user */
    size_t nholders, holdcap;
    int orphaned;         /* cluster: offline only because its last holder died */
    uint32_t mark;        /* de-duplication generation */
    ch_user *next_online; /* list of users with sockets */
    ch_user *prev_online;
};

typedef struct ch_member {
    ch_user *user;
    int is_admin;
    int64_t joined_ms;
    uint64_t typing_ms; /* monotonic: the last typing frame forwarded (changes.c) */
} ch_member;

typedef struct ch_channel {
    char id[37];
    char *name;
    int is_direct;
    char *creator;
    int64_t created_ms;
    strmap members;    /* username -> ch_member* */
    uint64_t fresh_ms; /* monotonic: when the store last confirmed the members */
    int is_private;    /* protocol 1.1: a private group (no joining, not listed) */
    char *topic;       /* protocol 1.1: "" when none */
} ch_channel;

struct domain {
    domain_config cfg;
    const store_backend *sb;
    store *st;
    const bus_backend *bb;
    bus *bus;
    snowflake ids;
    strmap users;      /* username -> ch_user* */
    strmap channels;   /* channel_id -> ch_channel* */
    strmap dms;        /* "alice\nbob" (sorted) -> ch_channel* */
    ch_user *online;   /* users with at least one socket */
    ch_user *list_due; /* users owed a channels_list (list_pending) */
    uint32_t mark;     /* current generation for de-duplication */
    size_t nsessions[2];
    presence_share share; /* cluster: shared presence (all NULL otherwise) */
};

/* A store op in flight on behalf of the domain (and maybe a session).
 * The op's inputs point into memory the pend owns, freed with it; which
 * of those fields are set depends on op.kind. */
typedef struct pend {
    store_op op;
    domain *d;
    session *s;            /* held while pending; NULL when none */
    ch_user *u;            /* users are never freed while the domain lives */
    char *content;         /* MSG_APPEND */
    char *metadata;        /* MSG_APPEND */
    char *client_msg_id;   /* MSG_APPEND */
    char *name;            /* CHANNEL_CREATE */
    char *dm_key;          /* CHANNEL_CREATE (direct) */
    proto_member *members; /* CHANNEL_CREATE */
    void *ctx;             /* USER_GET, CHANNEL_GET: the waiting caller's callback */
    int stale_retries;     /* MSG_APPEND: ids that were behind the channel's newest */
    char *mentions;        /* MSG_APPEND, MSG_EDIT ("\n"-joined) */
    char *emoji;           /* REACT */
    int loud;              /* MSG_APPEND of a notice: pushed live even in a big channel */
} pend;

/* New pend (calloc'd) holding s (may be NULL). */
pend *chat__pend(domain *d, session *s, store_op_kind kind, store_done_cb done);
/* Clears the op's outputs, releases s, frees owned strings and the pend. */
void chat__pend_free(pend *p);
static inline void chat__submit(pend *p) {
    p->d->sb->submit(p->d->st, &p->op);
}
/* The session to answer, or NULL when it has gone away meanwhile. */
static inline session *chat__live(pend *p) {
    return p->s && !p->s->closed ? p->s : NULL;
}
/* Members of c as proto_member rows (strings point into the model), at
 * most max of them. */
size_t chat__members_array(const ch_channel *c, size_t max, proto_member **out);
/* A big channel (more members than domain_config.big_channel) is quieter,
 * so that its cost grows with its traffic, not with members squared
 * (PROTOCOL.md "Big channels"): joins and leaves are stored but not pushed
 * live, a read receipt goes only to the reader's own connections, its
 * members are not one another's presence contacts, and channel_joined
 * lists at most CHAT_BIG_LISTED of its participants. */
int chat__is_big(const domain *d, const ch_channel *c);
#define CHAT_BIG_LISTED 100
/* Publishes frame on the bus for every member of c (except skip); drops
 * our reference. changed: the frame is a notice of a change to c's record,
 * members or roles (bus_record.changed). */
void chat__fanout(domain *d, ch_channel *c, rcbuf *frame, const ch_user *skip, int changed);
/* Maps a failed store status to an error frame. */
void chat__store_error(session *s, int status, const char *type);

/* The session's later frames wait (are held) until as many wait_end as
 * wait_begin; wait_end then handles them in order (domain.c). */
void chat__wait_begin(session *s);
void chat__wait_end(domain *d, session *s);
/* u's set of channels changed: a fresh channels_list goes to every live
 * connection of u, at most one per user per loop turn and per second
 * (domain_flush / domain_tick send it). */
void chat__list_changed(domain *d, ch_user *u);
/* Tells the other servers of a cluster that shared state changed (e's
 * server_id is filled by the bus). */
void chat__publish_event(domain *d, const bus_event *e);
/* BUS_EV_CHANNEL for channel_id. */
void chat__channel_changed(domain *d, const char *channel_id);
/* Re-reads a channel and its members from the store into the model, then
 * calls cb(data, found) if cb is not NULL. */
void chat__channel_refresh(domain *d, const char *channel_id, domain_user_cb cb, void *data);

/* model.c */
ch_user *chat__user(domain *d, const char *name); /* NULL if unknown */
/* How many of names[0..n) are no known user; their names, ", "-joined and
 * cut to fit, go into out[0..cap) (for the not_found error naming them). */
size_t chat__unknown_users(domain *d, const char *const *names, size_t n, char *out, size_t cap);
ch_user *chat__user_add(domain *d, const char *name); /* idempotent */
ch_channel *chat__channel(domain *d, const char *id);
ch_channel *chat__channel_add(domain *d, const char *id, const char *name, int is_direct,
                              const char *creator, int64_t created_ms);
void chat__channel_drop(domain *d, ch_channel *c); /* undo of a failed create */
ch_member *chat__member(const ch_channel *c, const char *user);
ch_member *chat__member_add(ch_channel *c, ch_user *u, int is_admin, int64_t joined_ms);
void chat__member_remove(ch_channel *c, ch_user *u);
void chat__dm_key(const char *a, const char *b, char out[68]);
void chat__model_free(domain *d);

/* domain.c: sending and errors */
void chat__send(session *s, rcbuf *frame); /* drops our reference */
/* To every live session of u (through the bus: they may be elsewhere); drops ref. */
void chat__send_user(domain *d, ch_user *u, rcbuf *frame, int presence);
void chat__error(session *s, proto_code code, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* channels.c */
/* Builds u's channels_list and sends it to `only`, or (only NULL) to every
 * live connection of u, wherever it is. */
void chat__channels_list(domain *d, ch_user *u, session *only);
void chat__create(domain *d, session *s, request *r);
void chat__join(domain *d, session *s, request *r);
void chat__leave(domain *d, session *s, request *r);

/* messages.c */
void chat__message(domain *d, session *s, request *r);
void chat__mark_read(domain *d, session *s, request *r);
void chat__history(domain *d, session *s, request *r);
/* Appends and fans out a system notice (event user_joined / user_left). */
void chat__system_notice(domain *d, ch_channel *c, const char *user, const char *event);
/* Appends a system notice with this content and metadata (both malloc'd;
 * taken) and, once stored, sends it to every member but skip (NULL: all);
 * in a big channel only when loud. */
void chat__notice(domain *d, ch_channel *c, char *content, char *metadata, ch_user *skip, int loud);
/* Looks up channel + membership for a request; sends the error and
 * returns NULL when the channel is unknown or the user may not use it. */
ch_channel *chat__usable_channel(domain *d, session *s, const char *id, const char *type);

/* changes.c: protocol 1.1 */
void chat__fetch_changes(domain *d, session *s, request *r);
void chat__typing(domain *d, session *s, request *r);
void chat__edit(domain *d, session *s, request *r);
void chat__delete(domain *d, session *s, request *r);
void chat__react(domain *d, session *s, request *r);
void chat__fetch_thread(domain *d, session *s, request *r);
/* The members of c that text[0..len) @mentions, in order of first
 * appearance, "\n"-joined (malloc'd), or NULL when none. */
char *chat__mentions(const ch_channel *c, const char *text, size_t len);

/* manage.c: channel management (protocol 1.1) */
void chat__add_members(domain *d, session *s, request *r);
void chat__remove_member(domain *d, session *s, request *r);
void chat__set_role(domain *d, session *s, request *r);
void chat__update_channel(domain *d, session *s, request *r);
/* A member left and the store made `user` admin so that the channel keeps
 * one: the model follows and a role_changed notice by "system" goes out. */
void chat__promoted(domain *d, ch_channel *c, const char *user);
/* The channel a protocol 1.1 request names (NULL: none), for the cluster's
 * freshness check in domain.c. */
const char *chat__request_channel(const request *r);
/* Sends too_large naming the users (of names[0..n)) who are in
 * max_channels_per_user channels already; returns how many (channels.c). */
size_t chat__over_channel_cap(domain *d, session *s, const char *type, const char *const *names,
                              size_t n);

/* search.c: list_channels (the directory) and search (protocol 1.1) */
void chat__directory(domain *d, session *s, request *r);
void chat__search(domain *d, session *s, request *r);

/* presence.c */
void presence__socket_open(domain *d, session *s);
/* Cluster: first brings the user's channels up to date from the store. */
void presence__socket_open_fresh(domain *d, session *s);
void presence__socket_closed(domain *d, session *s);
void presence__activity(domain *d, session *s);
void presence__status(domain *d, session *s, request *r);
void presence__heartbeat(domain *d, session *s);
void presence__subscribe(domain *d, session *s, request *r);
void presence__tick(domain *d);
/* The user's presence changed: tell everyone here who watches them. */
void presence__notify(domain *d, ch_user *u);
/* Another server's BUS_EV_PRESENCE / BUS_EV_PRESENCE_HELLO. */
void presence__remote(domain *d, const bus_event *e);
void presence__hello(domain *d);
void presence__server_gone(domain *d, unsigned server_id);

#endif
