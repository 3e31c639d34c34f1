/*
 * store_sqlite_schema: the SQLite database as chatd expects it — the schema
 * (versioned migrations, PRAGMA user_version = how many have run), the
 * pragmas, and the text of every statement, prepared once per connection.
 *
 * Message ids are Snowflakes below 2^63, so they are stored as INTEGER.
 * A read mark is stored as a message id; its position is that message's seq.
 */
#include "store/store_sqlite_int.h"
#include "store/store_sqlite_walbuf.h"

#include <stdio.h>
#include <pthread.h>
#include <string.h>

/* Schema versions, applied in order; PRAGMA user_version = how many ran. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE users("
    "  username TEXT PRIMARY KEY,"
    "  pw_hash TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE channels("
    "  channel_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  is_direct INTEGER NOT NULL DEFAULT 0,"
    "  creator TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE members("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  user_id TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL DEFAULT 0,"
    "  joined_ms INTEGER NOT NULL,"
    "  last_read_message_id INTEGER,"
    "  last_read_ms INTEGER,"
    "  PRIMARY KEY(channel_id, user_id));"
    "CREATE INDEX members_by_user ON members(user_id);"
    "CREATE TABLE messages("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  message_id INTEGER NOT NULL UNIQUE,"
    "  user_id TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  client_msg_id TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel_id, seq));"
    "CREATE UNIQUE INDEX messages_by_client_id ON messages(channel_id, user_id, client_msg_id)"
    "  WHERE client_msg_id IS NOT NULL;",
    /* 2: a direct channel is unique per pair of users ("a\nb", sorted); of
     * duplicates made before, the oldest keeps the key. */
    "ALTER TABLE channels ADD COLUMN dm_key TEXT;"
    "UPDATE channels SET dm_key = (SELECT min(m.user_id) || char(10) || max(m.user_id)"
    "  FROM members m WHERE m.channel_id = channels.channel_id)"
    "  WHERE is_direct = 1 AND (SELECT count(*) FROM members m"
    "                           WHERE m.channel_id = channels.channel_id) = 2;"
    "UPDATE channels SET dm_key = NULL WHERE dm_key IS NOT NULL AND EXISTS("
    "  SELECT 1 FROM channels o WHERE o.dm_key = channels.dm_key AND"
    "  (o.created_ms < channels.created_ms OR"
    "   (o.created_ms = channels.created_ms AND o.rowid < channels.rowid)));"
    "CREATE UNIQUE INDEX channels_by_dm_key ON channels(dm_key) WHERE dm_key IS NOT NULL;",
    /* 3: counters kept at write time, so that a user's channel list costs
     * O(their channels) however long the history (store_sqlite_ops.c,
     * "Counters"); filled from the history there is. */
    "ALTER TABLE channels ADD COLUMN last_message_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE channels ADD COLUMN msg_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE channels ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN read_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN own_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN read_own INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN count_no INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN own_no INTEGER NOT NULL DEFAULT 0;"
    "UPDATE messages SET count_no = w.cn, own_no = w.own FROM ("
    "  SELECT rowid AS r,"
    "    sum(user_id <> 'system') OVER (PARTITION BY channel_id ORDER BY seq) AS cn,"
    "    CASE WHEN user_id = 'system' THEN 0 ELSE"
    "      row_number() OVER (PARTITION BY channel_id, user_id ORDER BY seq) END AS own"
    "  FROM messages) AS w WHERE w.r = messages.rowid;"
    "CREATE INDEX messages_by_sender ON messages(channel_id, user_id, seq);"
    "CREATE INDEX members_by_join ON members(channel_id, joined_ms);"
    "UPDATE channels SET"
    "  last_message_id = COALESCE((SELECT m.message_id FROM messages m"
    "    WHERE m.channel_id = channels.channel_id AND m.seq = channels.last_seq), 0),"
    "  msg_count = COALESCE((SELECT max(m.count_no) FROM messages m"
    "    WHERE m.channel_id = channels.channel_id), 0),"
    "  member_count = (SELECT count(*) FROM members m WHERE m.channel_id = channels.channel_id);"
    "UPDATE members SET"
    "  own_count = COALESCE((SELECT max(x.own_no) FROM messages x"
    "    WHERE x.channel_id = members.channel_id AND x.user_id = members.user_id), 0),"
    "  read_seq = COALESCE((SELECT r.seq FROM messages r"
    "    WHERE r.message_id = members.last_read_message_id), 0);"
    "UPDATE members SET"
    "  read_count = COALESCE((SELECT r.count_no FROM messages r"
    "    WHERE r.channel_id = members.channel_id AND r.seq = members.read_seq), 0),"
    "  read_own = COALESCE((SELECT max(x.own_no) FROM messages x WHERE x.channel_id ="
    "    members.channel_id AND x.user_id = members.user_id AND x.seq <= members.read_seq), 0);",
    /* 4: protocol 1.1. Every stored change of a channel takes the channel's
     * next seq: messages and notices as before, edits, deletions and
     * reaction changes as rows of `changes` (fetch_changes reads both
     * tables' (channel_id, seq) keys). A message keeps its text as first
     * sent in orig_* once edited (fetch_changes replays it); a deletion
     * erases every copy of the text in place. Reactions per (message,
     * emoji, user), their order of first use the rowid's; n_reactions =
     * distinct emoji. Threads: reply_to names the root, which counts its
     * replies. Mentions: one row per (member mentioned, message), and
     * members.mention_count = those after the member's read mark, kept at
     * write time. The role column is members.is_admin (admin|member, from
     * version 1; the creator of a group channel is its first admin). */
    "ALTER TABLE messages ADD COLUMN edited_ms INTEGER;"
    "ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN reply_to INTEGER;"
    "ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN last_reply_ms INTEGER;"
    "ALTER TABLE messages ADD COLUMN mentions TEXT;"
    "ALTER TABLE messages ADD COLUMN orig_content TEXT;"
    "ALTER TABLE messages ADD COLUMN orig_mentions TEXT;"
    "ALTER TABLE messages ADD COLUMN n_reactions INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN mention_count INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX messages_replies ON messages(channel_id, reply_to, seq)"
    "  WHERE reply_to IS NOT NULL;"
    "CREATE INDEX messages_deleted ON messages(channel_id, seq) WHERE deleted = 1;"
    "CREATE TABLE changes("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  message_id INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  content TEXT,"
    "  mentions TEXT,"
    "  emoji TEXT,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(channel_id, seq));"
    "CREATE INDEX changes_by_message ON changes(message_id);"
    "CREATE TABLE reactions("
    "  message_id INTEGER NOT NULL,"
    "  emoji TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  UNIQUE(message_id, emoji, user_id));"
    "CREATE TABLE mentions("
    "  channel_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  message_id INTEGER NOT NULL,"
    "  PRIMARY KEY(channel_id, user_id, seq));"
    "CREATE INDEX mentions_by_message ON mentions(message_id);"
    "UPDATE members SET is_admin = 1 WHERE EXISTS(SELECT 1 FROM channels c"
    "  WHERE c.channel_id = members.channel_id AND c.creator = members.user_id"
    "  AND c.is_direct = 0);",
    /* 5: protocol 1.1 channels and search. Private groups and topics; the
     * directory lists public groups by name. Full-text search: an FTS5
     * index over the text of every message (not of system notices), keyed
     * by message id so that newest-first is the index's own order, kept in
     * step with messages.content by triggers (an edit or an erasing delete
     * is an UPDATE of content; an empty text indexes nothing). The `ascii`
     * tokenizer is the word rule of src/proto/search_query.h, which
     * PostgreSQL's chatd_tsv() follows too. Prefix indexes for 1-3
     * characters: without them `k*` merges the lists of every word starting
     * with k (~200 ms at a million messages, on the store's only writer
     * thread); with them it is one list read newest first (~0.3 ms), and
     * longer prefixes match few enough words (bench/scenario_search.c).
     * columnsize=0: no per-row sizes (they serve only ranking, which search
     * does not do): one write less per message. FTS5 only marks removed
     * words deleted; they leave the file when their segment is rewritten
     * (SQLite 3.40 has no FTS5 secure-delete): search_purge counts texts
     * removed (an edit's old text, a deletion) and those purged, and the
     * worker rewrites the index after them (store_sqlite__purge_step). */
    "ALTER TABLE channels ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE channels ADD COLUMN topic TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX channels_directory ON channels(name, channel_id)"
    "  WHERE is_direct = 0 AND is_private = 0;"
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages',"
    "  content_rowid='message_id', tokenize='ascii', prefix='1 2 3', columnsize=0);"
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages"
    "  WHEN new.user_id <> 'system' AND new.content <> '' BEGIN"
    "  INSERT INTO messages_fts(rowid, content) VALUES(new.message_id, new.content); END;"
    "CREATE TABLE search_purge(erased INTEGER NOT NULL, purged INTEGER NOT NULL);"
    "INSERT INTO search_purge VALUES(0, 0);"
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages"
    "  WHEN old.user_id <> 'system' AND old.content <> '' BEGIN"
    "  INSERT INTO messages_fts(messages_fts, rowid, content)"
    "    VALUES('delete', old.message_id, old.content);"
    "  UPDATE search_purge SET erased = erased + 1; END;"
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages"
    "  WHEN old.user_id <> 'system' BEGIN"
    "  INSERT INTO messages_fts(messages_fts, rowid, content)"
    "    SELECT 'delete', old.message_id, old.content WHERE old.content <> '';"
    "  INSERT INTO messages_fts(rowid, content)"
    "    SELECT new.message_id, new.content WHERE new.content <> '';"
    "  UPDATE search_purge SET erased = erased + 1 WHERE old.content <> ''; END;"
    "INSERT INTO messages_fts(rowid, content) SELECT message_id, content FROM messages"
    "  WHERE user_id <> 'system' AND content <> '';",
    /* 6: the search index leaves the append path (store_sqlite_index.c).
     * Indexing a text costs more than storing it, so an append only queues
     * its message id in search_queue; the writer indexes the queue when it
     * is idle, past --search-lag queued texts after every batch, and all of
     * it before a search. The edit and delete triggers touch the index only
     * for texts it holds (ids no longer queued): an edit of a queued text
     * changes the row the indexer will read, a deletion takes it off the
     * queue. */
    "DROP TRIGGER messages_fts_insert;"
    "DROP TRIGGER messages_fts_delete;"
    "DROP TRIGGER messages_fts_update;"
    "CREATE TABLE search_queue(message_id INTEGER PRIMARY KEY);"
    "CREATE TRIGGER search_queue_insert AFTER INSERT ON messages"
    "  WHEN new.user_id <> 'system' AND new.content <> '' BEGIN"
    "  INSERT INTO search_queue(message_id) VALUES(new.message_id); END;"
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages"
    "  WHEN old.user_id <> 'system' AND old.content <> '' BEGIN"
    "  INSERT INTO messages_fts(messages_fts, rowid, content)"
    "    SELECT 'delete', old.message_id, old.content WHERE NOT EXISTS("
    "      SELECT 1 FROM search_queue WHERE message_id = old.message_id);"
    "  UPDATE search_purge SET erased = erased + 1 WHERE NOT EXISTS("
    "    SELECT 1 FROM search_queue WHERE message_id = old.message_id);"
    "  DELETE FROM search_queue WHERE message_id = old.message_id; END;"
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages"
    "  WHEN old.user_id <> 'system' AND NOT EXISTS("
    "    SELECT 1 FROM search_queue WHERE message_id = old.message_id) BEGIN"
    "  INSERT INTO messages_fts(messages_fts, rowid, content)"
    "    SELECT 'delete', old.message_id, old.content WHERE old.content <> '';"
    "  INSERT INTO messages_fts(rowid, content)"
    "    SELECT new.message_id, new.content WHERE new.content <> '';"
    "  UPDATE search_purge SET erased = erased + 1 WHERE old.content <> ''; END;",
    /* 7: the sender index leaves the append path. messages_by_sender
     * (channel, sender, seq) served two lookups, and cost every append one
     * more B-tree page written at a random place: with 1,000 direct-message
     * pairs, half the writer's time (issue #16). Instead a member keeps the
     * seq of its latest own message (members.own_seq), each message the seq
     * of its sender's previous counted one (messages.own_prev: the chain a
     * read mark older than the reader's own messages walks back,
     * store_sqlite_ops.c op_mark_read), and a member who leaves leaves its
     * counters in `departed` for its return (trigger). Channels are never
     * deleted, so departed needs no cascade. */
    "ALTER TABLE messages ADD COLUMN own_prev INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN own_seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE departed("
    "  channel_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  own_count INTEGER NOT NULL,"
    "  own_seq INTEGER NOT NULL,"
    "  PRIMARY KEY(channel_id, user_id)) WITHOUT ROWID;"
    "UPDATE messages SET own_prev = w.p FROM ("
    "  SELECT rowid AS r, lag(seq, 1, 0) OVER (PARTITION BY channel_id, user_id ORDER BY seq) AS p"
    "  FROM messages WHERE own_no > 0) AS w WHERE w.r = messages.rowid AND w.p <> 0;"
    "UPDATE members SET own_seq = COALESCE((SELECT max(x.seq) FROM messages x WHERE"
    "  x.channel_id = members.channel_id AND x.user_id = members.user_id AND x.own_no > 0), 0);"
    "INSERT INTO departed SELECT channel_id, user_id, max(own_no), max(seq) FROM messages x"
    "  WHERE own_no > 0 AND NOT EXISTS(SELECT 1 FROM members m"
    "    WHERE m.channel_id = x.channel_id AND m.user_id = x.user_id)"
    "  GROUP BY channel_id, user_id;"
    "CREATE TRIGGER members_departed AFTER DELETE ON members WHEN old.own_count > 0 BEGIN"
    "  INSERT OR REPLACE INTO departed(channel_id, user_id, own_count, own_seq)"
    "    VALUES(old.channel_id, old.user_id, old.own_count, old.own_seq); END;"
    "DROP INDEX messages_by_sender;",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Column order read by read_msg(). */
#define MSG_COLS                                                                                   \
    "message_id, seq, created_ms, channel_id, user_id, content, metadata, client_msg_id,"          \
    " edited_ms, deleted, reply_to, reply_count, last_reply_ms, mentions, n_reactions"
/* The same columns as fetch_changes replays a message: as first sent. */
#define FIRST_TEXT(col)                                                                            \
    "CASE WHEN edited_ms IS NOT NULL AND deleted = 0 THEN orig_" col " ELSE " col " END"
#define CHG_MSG_COLS                                                                               \
    "message_id, seq, created_ms, channel_id, user_id, " FIRST_TEXT(                               \
        "content") ", metadata,"                                                                   \
                   " client_msg_id, NULL, deleted, reply_to, 0, NULL, " FIRST_TEXT(                \
                       "mentions") ", 0"

static const char *const sql[SQ__COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_SAVEPOINT] = "SAVEPOINT op",
    [SQ_RELEASE] = "RELEASE op",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO op",
    [SQ_USER_INSERT] = "INSERT INTO users(username, pw_hash, created_ms) VALUES(?1, ?2, ?3)",
    [SQ_USER_GET] = "SELECT pw_hash, created_ms FROM users WHERE username = ?1",
    [SQ_CHAN_INSERT] = "INSERT INTO channels(channel_id, name, is_direct, creator, created_ms,"
                       " dm_key, is_private) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQ_CHAN_BY_DM] = "SELECT channel_id FROM channels WHERE dm_key = ?1",
    [SQ_CHAN_LAST_SEQ] = "SELECT last_seq, last_message_id, msg_count FROM channels"
                         " WHERE channel_id = ?1",
    [SQ_CHAN_SET_SEQ] = "UPDATE channels SET last_seq = ?2, last_message_id = ?3, msg_count = ?4"
                        " WHERE channel_id = ?1",
    [SQ_CHAN_MEMBERS_ADD] = "UPDATE channels SET member_count = member_count + ?2"
                            " WHERE channel_id = ?1",
    /* A member who comes back counts the messages they sent before, and
     * (like every message before their mark, unread) the mentions of them. */
    [SQ_MEMBER_INSERT] = "INSERT OR IGNORE INTO members(channel_id, user_id, is_admin, joined_ms,"
                         " own_count, own_seq, mention_count) SELECT ?1, ?2, ?3, ?4,"
                         " COALESCE(d.own_count, 0), COALESCE(d.own_seq, 0), (SELECT count(*)"
                         " FROM mentions WHERE channel_id = ?1 AND user_id = ?2)"
                         " FROM (SELECT 1) LEFT JOIN departed d ON d.channel_id = ?1"
                         " AND d.user_id = ?2",
    [SQ_MEMBER_DELETE] = "DELETE FROM members WHERE channel_id = ?1 AND user_id = ?2",
    [SQ_MEMBER_OWN_GET] =
        "SELECT own_count, own_seq FROM members WHERE channel_id = ?1 AND user_id = ?2",
    [SQ_MEMBER_OWN_SET] = "UPDATE members SET own_count = ?3, own_seq = ?4"
                          " WHERE channel_id = ?1 AND user_id = ?2",
    [SQ_MEMBER_MARK] = "SELECT m.last_read_message_id, COALESCE(m.last_read_ms, -1), m.read_seq,"
                       " m.own_count, m.own_seq FROM members m"
                       " WHERE m.channel_id = ?1 AND m.user_id = ?2",
    [SQ_MEMBER_SET_MARK] = "UPDATE members SET last_read_message_id = ?3, last_read_ms = ?4,"
                           " read_seq = ?5, read_count = ?6, read_own = ?7"
                           " WHERE channel_id = ?1 AND user_id = ?2",
    [SQ_MSG_OWN_PREV] = "SELECT own_no, own_prev FROM messages WHERE channel_id = ?1 AND seq = ?2",
    [SQ_MSG_BY_CLIENT_ID] = "SELECT " MSG_COLS " FROM messages"
                            " WHERE channel_id = ?1 AND user_id = ?2 AND client_msg_id = ?3",
    [SQ_MSG_INSERT] =
        "INSERT INTO messages(channel_id, seq, message_id, user_id, content, metadata,"
        " client_msg_id, created_ms, count_no, own_no, reply_to, mentions, own_prev)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [SQ_MSG_BY_ID] = "SELECT seq, count_no FROM messages WHERE message_id = ?2 AND channel_id = ?1",
    [SQ_MSG_ID_USED] = "SELECT 1 FROM messages WHERE message_id = ?1",
    [SQ_MSG_LATEST] = "SELECT last_message_id, last_seq, msg_count FROM channels"
                      " WHERE channel_id = ?1",
    [SQ_HIST_BEFORE] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = ?1 AND seq < ?2"
                       " ORDER BY seq DESC LIMIT ?3",
    [SQ_HIST_AFTER] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = ?1 AND seq > ?2"
                      " ORDER BY seq ASC LIMIT ?3",
    /* unread: others' non-system messages after the mark = the channel's
     * count of them now and at the mark, less the user's own. O(channels). */
    [SQ_CHANNELS_OF_USER] =
        "SELECT c.channel_id, c.name, c.is_direct, m.last_read_message_id,"
        " COALESCE(m.last_read_ms, -1), c.last_message_id,"
        " (c.msg_count - m.read_count) - (m.own_count - m.read_own)"
        " - (SELECT count(*) FROM messages x WHERE x.channel_id = c.channel_id AND x.deleted = 1"
        "    AND x.seq > m.read_seq AND x.user_id <> m.user_id AND x.user_id <> 'system'),"
        " c.member_count, m.mention_count, c.topic, c.is_private"
        " FROM members m JOIN channels c ON c.channel_id = m.channel_id"
        " WHERE m.user_id = ?1 ORDER BY c.created_ms, c.rowid",
    /* The first members to join, at most a page (proto_channel_entry). */
    [SQ_MEMBERS_OF] = "SELECT user_id FROM members WHERE channel_id = ?1"
                      " ORDER BY joined_ms, rowid LIMIT ?2",
    /* ---- protocol 1.1 (store_sqlite_changes.c) ---- */
    [SQ_CHAN_NEXT_SEQ] = "UPDATE channels SET last_seq = last_seq + 1 WHERE channel_id = ?1"
                         " RETURNING last_seq",
    [SQ_MSG_STATE] = "SELECT user_id, deleted, seq, mentions, n_reactions, reply_to FROM messages"
                     " WHERE channel_id = ?1 AND message_id = ?2",
    /* Admins are a group channel's: in a direct channel nobody is one. */
    [SQ_MEMBER_IS_ADMIN] = "SELECT m.is_admin AND NOT c.is_direct FROM members m"
                           " JOIN channels c ON c.channel_id = m.channel_id"
                           " WHERE m.channel_id = ?1 AND m.user_id = ?2",
    [SQ_MSG_EDIT] = "UPDATE messages SET orig_content = CASE WHEN edited_ms IS NULL THEN content"
                    " ELSE orig_content END, orig_mentions = CASE WHEN edited_ms IS NULL THEN"
                    " mentions ELSE orig_mentions END, content = ?2, mentions = ?3, edited_ms = ?4"
                    " WHERE message_id = ?1",
    [SQ_MSG_ERASE] = "UPDATE messages SET content = '', metadata = '{}', mentions = NULL,"
                     " orig_content = NULL, orig_mentions = NULL, n_reactions = 0, deleted = 1"
                     " WHERE message_id = ?1",
    [SQ_CHANGES_ERASE] = "UPDATE changes SET content = '', mentions = NULL"
                         " WHERE message_id = ?1 AND content IS NOT NULL",
    [SQ_REACTIONS_ERASE] = "DELETE FROM reactions WHERE message_id = ?1",
    [SQ_CHANGE_INSERT] = "INSERT INTO changes(channel_id, seq, kind, message_id, user_id, content,"
                         " mentions, emoji, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQ_REACTION_HAS] = "SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2"
                        " AND (?3 IS NULL OR user_id = ?3) LIMIT 1",
    [SQ_REACTION_ADD] = "INSERT INTO reactions(message_id, emoji, user_id, at_ms)"
                        " VALUES(?1, ?2, ?3, ?4)",
    [SQ_REACTION_DEL] = "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2"
                        " AND user_id = ?3",
    [SQ_MSG_KINDS_ADD] = "UPDATE messages SET n_reactions = n_reactions + ?2 WHERE message_id = ?1",
    [SQ_REACTIONS_OF] = "SELECT emoji, user_id FROM reactions WHERE message_id = ?1 ORDER BY rowid",
    [SQ_CHG_MSGS] = "SELECT " CHG_MSG_COLS " FROM messages WHERE channel_id = ?1 AND seq > ?2"
                    " AND seq <= ?3 ORDER BY seq",
    [SQ_CHG_ROWS] = "SELECT c.seq, c.kind, c.message_id, c.user_id, c.content, c.mentions,"
                    " c.emoji, c.at_ms, COALESCE(m.deleted, 0) FROM changes c"
                    " LEFT JOIN messages m ON m.message_id = c.message_id"
                    " WHERE c.channel_id = ?1 AND c.seq > ?2 AND c.seq <= ?3 ORDER BY c.seq",
    [SQ_MSG_FULL] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = ?1 AND message_id = ?2",
    [SQ_THREAD] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = ?1 AND reply_to = ?2"
                  " AND seq > ?3 ORDER BY seq LIMIT ?4",
    [SQ_ROOT_REPLY] = "UPDATE messages SET reply_count = reply_count + 1, last_reply_ms = ?2"
                      " WHERE message_id = ?1",
    [SQ_MENTION_ADD] = "INSERT OR IGNORE INTO mentions(channel_id, user_id, seq, message_id)"
                       " VALUES(?1, ?2, ?3, ?4)",
    [SQ_MENTION_COUNT_ADD] = "UPDATE members SET mention_count = mention_count + ?4"
                             " WHERE channel_id = ?1 AND user_id = ?2 AND read_seq < ?3",
    [SQ_MENTIONS_UNCOUNT] = "UPDATE members SET mention_count = mention_count - 1"
                            " WHERE channel_id = ?1 AND read_seq < ?2 AND user_id IN"
                            " (SELECT user_id FROM mentions WHERE message_id = ?3)",
    [SQ_MENTIONS_DROP] = "DELETE FROM mentions WHERE message_id = ?1",
    [SQ_MENTIONS_READ] = "UPDATE members SET mention_count = mention_count - (SELECT count(*)"
                         " FROM mentions x WHERE x.channel_id = ?1 AND x.user_id = ?2"
                         " AND x.seq > ?3 AND x.seq <= ?4) WHERE channel_id = ?1 AND user_id = ?2",
    [SQ_LOAD_USERS] = "SELECT username FROM users ORDER BY created_ms, rowid",
    [SQ_LOAD_CHANNELS] = "SELECT channel_id, name, is_direct, creator, created_ms, is_private,"
                         " topic FROM channels ORDER BY created_ms, rowid",
    /* Search (store_sqlite_manage.c): the index in message id order, newest
     * first, only the rows of channels the user is in; the page's rows
     * then read whole. ?1 MATCH, ?2 below this id, ?3 user, ?4 limit,
     * ?5 the one channel. */
    [SQ_SEARCH_ALL] = "SELECT " MSG_COLS " FROM messages WHERE message_id IN ("
                      " SELECT messages_fts.rowid FROM messages_fts"
                      " JOIN messages m ON m.message_id = messages_fts.rowid"
                      " WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2"
                      " AND m.channel_id IN (SELECT channel_id FROM members WHERE user_id = ?3)"
                      " ORDER BY messages_fts.rowid DESC LIMIT ?4)"
                      " ORDER BY message_id DESC",
    [SQ_SEARCH_CHAN] = "SELECT " MSG_COLS " FROM messages WHERE message_id IN ("
                       " SELECT messages_fts.rowid FROM messages_fts"
                       " JOIN messages m ON m.message_id = messages_fts.rowid"
                       " WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2"
                       " AND m.channel_id = ?5 AND EXISTS (SELECT 1 FROM members"
                       "   WHERE channel_id = ?5 AND user_id = ?3)"
                       " ORDER BY messages_fts.rowid DESC LIMIT ?4)"
                       " ORDER BY message_id DESC",
    /* The search queue (store_sqlite_index.c): index the oldest ?1 queued
     * texts, then take them off the queue. */
    [SQ_INDEX_ADD] = "INSERT INTO messages_fts(rowid, content) SELECT m.message_id, m.content"
                     " FROM messages m WHERE m.message_id IN (SELECT message_id"
                     " FROM search_queue ORDER BY message_id LIMIT ?1) AND m.content <> ''",
    [SQ_INDEX_TAKE] = "DELETE FROM search_queue WHERE message_id IN (SELECT message_id"
                      " FROM search_queue ORDER BY message_id LIMIT ?1)",
    [SQ_INDEX_COUNT] = "SELECT count(*) FROM search_queue",
    [SQ_LOAD_MEMBERS] = "SELECT channel_id, user_id, is_admin, joined_ms FROM members"
                        " ORDER BY channel_id, joined_ms, rowid",
};

/* ---- open, schema ----------------------------------------------------- */

static int exec(sqlite3 *db, const char *text) {
    return sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int user_version(sqlite3 *db) {
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int migrate(sqlite3 *db) {
    int v = user_version(db);
    if (v < 0 || v > N_MIGRATIONS) /* unreadable, or written by a newer chatd */
        return -1;
    for (; v < N_MIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        if (exec(db, "BEGIN IMMEDIATE") != 0) return -1;
        if (exec(db, migrations[v]) != 0 || exec(db, bump) != 0 || exec(db, "COMMIT") != 0) {
            exec(db, "ROLLBACK");
            return -1;
        }
    }
    return 0;
}

/* journal_mode answers with the mode now in effect. */
static int set_wal(sqlite3 *db) {
    sqlite3_stmt *s;
    int ok = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(s, 0);
        /* an in-memory database has no journal file to put in WAL mode */
        ok = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
    }
    sqlite3_finalize(s);
    return ok ? 0 : -1;
}

/* Before SQLite's first use in the process: no memory statistics (they
 * take a global mutex on every allocation; chatd never reads them). Too
 * late once SQLite is initialised (SQLITE_MISUSE): then they stay on. */
static void configure_once(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_sqlite__open_db(const char *path, int fsync, sqlite3 **out) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_once);
    sqlite3 *db = NULL;
    *out = NULL;
    /* NOMUTEX: the backend never lets two threads use the connection at once. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    /* The WAL's frames written in large writes (store_sqlite_walbuf.h). */
    if (!path || sqlite3_open_v2(path, &db, flags, store_sqlite_walbuf_vfs()) != SQLITE_OK)
        goto fail;
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    /* secure_delete: text a deletion erases is zeroed in the pages, not
     * left behind in free space (protocol 1.1 "content erased"). A 64 MiB
     * page cache (default 2): with 10 million messages, the index pages
     * appends touch no longer fit in 2 and the writer re-reads them from the
     * file (store appends at 10 M against an empty store, noisy: 0.67x mean
     * of 4 runs before, 0.75x of 6 after). */
    if (set_wal(db) != 0 || exec(db, "PRAGMA foreign_keys = ON") != 0 ||
        exec(db, "PRAGMA secure_delete = ON") != 0 || exec(db, "PRAGMA cache_size = -65536") != 0 ||
        exec(db, fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF") != 0 ||
        migrate(db) != 0)
        goto fail;
    *out = db;
    return 0;
fail:
    sqlite3_close(db); /* NULL is fine */
    return STORE_EIO;
}

int store_sqlite__prepare(sqlite3 *db, sqlite3_stmt **st) {
    memset(st, 0, SQ__COUNT * sizeof(*st));
    for (int i = 0; i < SQ__COUNT; i++) {
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) !=
            SQLITE_OK) {
            store_sqlite__finalize(st);
            return STORE_EIO;
        }
    }
    return 0;
}

void store_sqlite__finalize(sqlite3_stmt **st) {
    for (int i = 0; i < SQ__COUNT; i++) {
        sqlite3_finalize(st[i]);
        st[i] = NULL;
    }
}
