/*
 * encode: builds every server -> client frame of PROTOCOL.md.
 *
 * Each enc_* function does exactly ONE JSON encode and returns the frame's
 * payload (the JSON text) in a fresh rcbuf with refcount 1 and room in
 * front for the transport's header (the WebSocket layer frames it in
 * place, once, however many connections it is queued on; the caller owns
 * the one reference). No framing here: proto knows JSON, not transports.
 * enc_count() says how many JSON encodes have happened in this process:
 * tests use it to prove fan-out encodes once.
 *
 * Input strings are borrowed for the call only. NULL optional strings are
 * encoded as null (a NULL channel name as ""); message id 0 as null. Safe
 * to call from any thread (the counter is atomic, the scratch buffer is
 * per thread), though the loop thread is the intended caller.
 */
#ifndef CHATD_ENCODE_H
#define CHATD_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/rcbuf.h"
#include "proto/request.h"
#include "proto/types.h"

/* Total JSON encodes performed by enc_* so far (monotonic). */
uint64_t enc_count(void);

/* Formats ms since epoch as 2026-11-24T20:31:05.123Z into out[25]. */
void enc_iso_time(int64_t ms, char out[25]);

/* chat_message: {"type":"chat_message", <Message fields>} */
rcbuf *enc_chat_message(const proto_msg *m);
/* system: {"type":"system", channel_id, content, created_at, metadata,
 *  sender_id:"system", user_id:"system", message_id, seq} */
rcbuf *enc_system(const proto_msg *m);
/* error: {"type":"error","error","code","request_type"} */
rcbuf *enc_error(const proto_error *e);
/* Names in a channels_list entry's other_participants, at most (its
 * member_count says how many there are). */
#define ENC_MAX_OTHERS 100
/* channels_list for `user`: entries' other_participants exclude `user`. */
rcbuf *enc_channels_list(const char *user, const proto_channel_entry *e, size_t n);
/* channel_created: {"type":"channel_created","channel":{channel_id,type,created_at,
 *  metadata:{creator_id,name},participants}} */
rcbuf *enc_channel_created(const char *channel_id, int is_direct, int64_t created_ms,
                           const char *creator, const char *name, const char *const *participants,
                           size_t n_participants);
/* channel_joined: {"type":"channel_joined","channelId","messages","participants":
 *  [{channel_id,user_id,joined_at,role}]} */
rcbuf *enc_channel_joined(const char *channel_id, const proto_msg *msgs, size_t n_msgs,
                          const proto_member *members, size_t n_members);
/* channel_left: {"type":"channel_left","channelId"} */
rcbuf *enc_channel_left(const char *channel_id);
/* channel_read: {"type":"channel_read",channel_id,user_id,last_read_message_id,last_read_at} */
rcbuf *enc_channel_read(const char *channel_id, const char *user_id, uint64_t message_id,
                        int64_t at_ms);
/* history: {"type":"history","channel_id","messages","has_more"} */
rcbuf *enc_history(const char *channel_id, const proto_msg *msgs, size_t n, int has_more);

typedef struct enc_presence_entry {
    const char *user_id;
    const char *status;
    int64_t last_seen_ms;
} enc_presence_entry;
/* {"type": type ("initial_presence"|"presence_update"), "presence":[{user_id,status,last_seen}]} */
rcbuf *enc_presence(const char *type, const enc_presence_entry *p, size_t n);

/* ---- protocol 1.1 (PROTOCOL.md section 6) ---- */
/* message_updated: {channel_id,message_id,seq,user_id,content,edited_at,mentions} */
rcbuf *enc_message_updated(const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *user_id, const char *content, int64_t edited_ms,
                           const char *mentions);
/* message_deleted: {channel_id,message_id,seq,deleted_by,deleted_at} */
rcbuf *enc_message_deleted(const char *channel_id, uint64_t message_id, int64_t seq,
                           const char *deleted_by, int64_t at_ms);
/* reaction: {channel_id,message_id,seq,user_id,emoji,op:"add"|"remove"} */
rcbuf *enc_reaction(const char *channel_id, uint64_t message_id, int64_t seq, const char *user_id,
                    const char *emoji, int add);
/* typing: {channel_id,user_id,expires_ms} */
rcbuf *enc_typing(const char *channel_id, const char *user_id, int expires_ms);
/* changes: {channel_id,events:[the frames as pushed live],has_more}; an
 * EDIT of a since-deleted message comes with content "" and deleted:true. */
rcbuf *enc_changes(const char *channel_id, const proto_change *ev, size_t n, int has_more);
/* thread: {channel_id,root:Message,replies:[Message],has_more} */
rcbuf *enc_thread(const char *channel_id, const proto_msg *root, const proto_msg *msgs, size_t n,
                  int has_more);
/* ---- protocol 1.1: search, directory, channel management (encode_manage.c) ---- */
/* search_results: {"type":"search_results","query","messages":[newest first],"has_more"} */
rcbuf *enc_search_results(const char *query, const proto_msg *msgs, size_t n, int has_more);
/* channel_directory: {"type":"channel_directory","channels":[{channel_id,name,topic,
 *  member_count,created_at,is_member}],"has_more"} */
rcbuf *enc_channel_directory(const proto_dir_entry *e, size_t n, int has_more);
/* The metadata objects of the management notices, serialised (malloc'd;
 * the caller frees): {"event":"members_added","user_ids":[..],"by"},
 * {"event":"member_removed","user_id","by"}, {"event":"role_changed",
 * "user_id","role","by"}, {"event":"channel_updated","name","topic","by"}. */
char *enc_meta_members_added(const char *const *users, size_t n, const char *by);
char *enc_meta_member_removed(const char *user, const char *by);
char *enc_meta_role_changed(const char *user, int is_admin, const char *by);
char *enc_meta_channel_updated(const char *name, const char *topic, const char *by);

/* An already-serialised JSON text as a payload (no encode counted). */
rcbuf *enc_raw(const char *json, size_t len);

#endif
