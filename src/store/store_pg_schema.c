/*
 * store_pg_schema: the PostgreSQL database as chatd expects it — the
 * connection set-up, the schema (versioned migrations recorded in
 * schema_migrations) and the text of every statement, prepared once per
 * connection.
 *
 * Keys are chosen as a wide-column store would key them: messages by
 * (channel_id, seq) with message_id unique, members by (channel_id, user_id)
 * with an index by user. `ord` columns (bigserial) only keep "oldest first"
 * listings stable when two rows share a timestamp, as SQLite's rowid does.
 *
 * Several chat servers may start at once against one database: migrations
 * run in one transaction under an advisory lock, so exactly one of them
 * applies each version and the others see it done.
 */
#include "store/store_pg_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Schema versions, applied in order; schema_migrations holds one row per
 * version applied. Never edit a shipped entry: append a new one. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE users("
    "  username TEXT PRIMARY KEY,"
    "  pw_hash TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  ord BIGSERIAL NOT NULL);"
    "CREATE TABLE channels("
    "  channel_id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  is_direct BOOLEAN NOT NULL DEFAULT false,"
    "  creator TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  last_seq BIGINT NOT NULL DEFAULT 0,"
    "  ord BIGSERIAL NOT NULL);"
    "CREATE TABLE members("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  user_id TEXT NOT NULL,"
    "  is_admin BOOLEAN NOT NULL DEFAULT false,"
    "  joined_ms BIGINT NOT NULL,"
    "  last_read_message_id BIGINT,"
    "  last_read_ms BIGINT,"
    "  ord BIGSERIAL NOT NULL,"
    "  PRIMARY KEY(channel_id, user_id));"
    "CREATE INDEX members_by_user ON members(user_id);"
    "CREATE TABLE messages("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  seq BIGINT NOT NULL,"
    "  message_id BIGINT NOT NULL UNIQUE,"
    "  user_id TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  client_msg_id TEXT,"
    "  created_ms BIGINT NOT NULL,"
    "  PRIMARY KEY(channel_id, seq));"
    "CREATE UNIQUE INDEX messages_by_client_id ON messages(channel_id, user_id, client_msg_id)"
    "  WHERE client_msg_id IS NOT NULL;",
    /* 2: a channel's newest message id, so appends keep ids in seq order */
    "ALTER TABLE channels ADD COLUMN last_message_id BIGINT NOT NULL DEFAULT 0;"
    "UPDATE channels c SET last_message_id = COALESCE((SELECT m.message_id FROM messages m"
    "  WHERE m.channel_id = c.channel_id AND m.seq = c.last_seq), 0);",
    /* 3: a direct channel is unique per pair of users ("a\nb", sorted); of
     * duplicates made before, the oldest keeps the key. */
    "ALTER TABLE channels ADD COLUMN dm_key TEXT;"
    "UPDATE channels c SET dm_key = (SELECT min(m.user_id) || chr(10) || max(m.user_id)"
    "  FROM members m WHERE m.channel_id = c.channel_id)"
    "  WHERE is_direct AND (SELECT count(*) FROM members m WHERE m.channel_id = c.channel_id) = 2;"
    "UPDATE channels c SET dm_key = NULL WHERE dm_key IS NOT NULL AND EXISTS("
    "  SELECT 1 FROM channels o WHERE o.dm_key = c.dm_key AND"
    "  (o.created_ms < c.created_ms OR (o.created_ms = c.created_ms AND o.ord < c.ord)));"
    "CREATE UNIQUE INDEX channels_by_dm_key ON channels(dm_key) WHERE dm_key IS NOT NULL;",
    /* 4: counters kept at write time, so that a user's channel list costs
     * O(their channels) however long the history (store_pg_ops.c,
     * "Counters"); filled from the history there is. */
    "ALTER TABLE channels ADD COLUMN msg_count BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN read_seq BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN read_count BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN own_count BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN read_own BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN count_no BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN own_no BIGINT NOT NULL DEFAULT 0;"
    "UPDATE messages m SET count_no = w.cn, own_no = w.own FROM ("
    "  SELECT message_id,"
    "    sum((user_id <> 'system')::int) OVER (PARTITION BY channel_id ORDER BY seq) AS cn,"
    "    CASE WHEN user_id = 'system' THEN 0 ELSE"
    "      row_number() OVER (PARTITION BY channel_id, user_id ORDER BY seq) END AS own"
    "  FROM messages) AS w WHERE w.message_id = m.message_id;"
    "CREATE INDEX messages_by_sender ON messages(channel_id, user_id, seq);"
    "CREATE INDEX members_by_join ON members(channel_id, joined_ms, ord);"
    "UPDATE channels c SET"
    "  msg_count = COALESCE((SELECT max(m.count_no) FROM messages m"
    "    WHERE m.channel_id = c.channel_id), 0),"
    "  member_count = (SELECT count(*) FROM members m WHERE m.channel_id = c.channel_id);"
    "UPDATE members b SET"
    "  own_count = COALESCE((SELECT max(x.own_no) FROM messages x"
    "    WHERE x.channel_id = b.channel_id AND x.user_id = b.user_id), 0),"
    "  read_seq = COALESCE((SELECT r.seq FROM messages r"
    "    WHERE r.message_id = b.last_read_message_id), 0);"
    "UPDATE members b SET"
    "  read_count = COALESCE((SELECT r.count_no FROM messages r"
    "    WHERE r.channel_id = b.channel_id AND r.seq = b.read_seq), 0),"
    "  read_own = COALESCE((SELECT max(x.own_no) FROM messages x WHERE x.channel_id ="
    "    b.channel_id AND x.user_id = b.user_id AND x.seq <= b.read_seq), 0);",
    /* 5: protocol 1.1 (as SQLite's version 4, store_sqlite_schema.c): the
     * changes table (edits, deletions, reactions with their seq), text as
     * first sent once edited, reactions, threads, mentions with each
     * member's count after the read mark. The role column is
     * members.is_admin (from version 1); a group's creator is its admin. */
    "ALTER TABLE messages ADD COLUMN edited_ms BIGINT,"
    "  ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false,"
    "  ADD COLUMN reply_to BIGINT,"
    "  ADD COLUMN reply_count BIGINT NOT NULL DEFAULT 0,"
    "  ADD COLUMN last_reply_ms BIGINT,"
    "  ADD COLUMN mentions TEXT,"
    "  ADD COLUMN orig_content TEXT,"
    "  ADD COLUMN orig_mentions TEXT,"
    "  ADD COLUMN n_reactions INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE members ADD COLUMN mention_count BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX messages_replies ON messages(channel_id, reply_to, seq)"
    "  WHERE reply_to IS NOT NULL;"
    "CREATE INDEX messages_deleted ON messages(channel_id, seq) WHERE deleted;"
    "CREATE TABLE changes("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  seq BIGINT NOT NULL,"
    "  kind SMALLINT NOT NULL,"
    "  message_id BIGINT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  content TEXT,"
    "  mentions TEXT,"
    "  emoji TEXT,"
    "  at_ms BIGINT NOT NULL,"
    "  PRIMARY KEY(channel_id, seq));"
    "CREATE INDEX changes_by_message ON changes(message_id);"
    "CREATE TABLE reactions("
    "  message_id BIGINT NOT NULL,"
    "  emoji TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  at_ms BIGINT NOT NULL,"
    "  ord BIGSERIAL NOT NULL,"
    "  UNIQUE(message_id, emoji, user_id));"
    "CREATE INDEX reactions_by_message ON reactions(message_id, ord);"
    "CREATE TABLE mentions("
    "  channel_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  seq BIGINT NOT NULL,"
    "  message_id BIGINT NOT NULL,"
    "  PRIMARY KEY(channel_id, user_id, seq));"
    "CREATE INDEX mentions_by_message ON mentions(message_id);"
    "UPDATE members b SET is_admin = true FROM channels c WHERE c.channel_id = b.channel_id"
    "  AND c.creator = b.user_id AND NOT c.is_direct;",
    /* 6: protocol 1.1 channels and search. Private groups and topics; the
     * directory lists public groups by name, bytewise (COLLATE "C", as
     * SQLite's BINARY). Full-text search: messages.tsv, the words of the
     * text of every message (not of system notices) as chatd_tsv() cuts
     * them, which is the rule of src/proto/search_query.h and of SQLite's
     * FTS5 `ascii` tokenizer: runs of ASCII letters and digits and
     * non-ASCII bytes, ASCII letters folded; no stemming, no stop words,
     * and the text search parser never runs (its rules depend on the
     * locale). Tokens longer than 500 characters are cut there, which no
     * query of at most 256 bytes can tell. A trigger on content keeps tsv
     * in step (an edit or an erasing delete is an UPDATE of content). */
    "ALTER TABLE channels ADD COLUMN is_private BOOLEAN NOT NULL DEFAULT false,"
    "  ADD COLUMN topic TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX channels_directory ON channels((name COLLATE \"C\"), (channel_id COLLATE \"C\"))"
    "  WHERE NOT is_direct AND NOT is_private;"
    "CREATE FUNCTION chatd_tsv(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT"
    "  PARALLEL SAFE AS $f$"
    "  SELECT COALESCE(string_agg('''' || left(w, 500) || ''':' || least(n, 16383), ' '),"
    "    '')::tsvector"
    "  FROM regexp_split_to_table(translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',"
    "    'abcdefghijklmnopqrstuvwxyz'), '[\\x01-/:-@\\[-`{-\\x7f]+')"
    "    WITH ORDINALITY AS x(w, n) WHERE w <> '' $f$;"
    "ALTER TABLE messages ADD COLUMN tsv tsvector;"
    "CREATE FUNCTION chatd_messages_tsv() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
    "  NEW.tsv := CASE WHEN NEW.user_id = 'system' THEN NULL ELSE chatd_tsv(NEW.content) END;"
    "  RETURN NEW; END $f$;"
    "CREATE TRIGGER messages_tsv BEFORE INSERT OR UPDATE OF content ON messages"
    "  FOR EACH ROW EXECUTE FUNCTION chatd_messages_tsv();"
    "UPDATE messages SET tsv = chatd_tsv(content) WHERE user_id <> 'system';"
    "CREATE INDEX messages_tsv ON messages USING gin(tsv);",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

const int store_pg__schema_version = N_MIGRATIONS;

/* Any number that other applications sharing the database do not use. */
#define MIGRATION_LOCK "7236975041"

/* Column order read by read_msg() in store_pg_ops.c. */
#define MSG_COLS                                                                                   \
    "message_id, seq, created_ms, channel_id, user_id, content, metadata, client_msg_id,"          \
    " edited_ms, deleted, reply_to, reply_count, last_reply_ms, mentions, n_reactions"
/* The same columns as fetch_changes replays a message: as first sent. */
#define FIRST_TEXT(col)                                                                            \
    "CASE WHEN edited_ms IS NOT NULL AND NOT deleted THEN orig_" col " ELSE " col " END"
#define CHG_MSG_COLS                                                                               \
    "message_id, seq, created_ms, channel_id, user_id, " FIRST_TEXT(                               \
        "content") ", metadata,"                                                                   \
                   " client_msg_id, NULL, deleted, reply_to, 0, NULL, " FIRST_TEXT(                \
                       "mentions") ", 0"

static const char *const sql[PQ__COUNT] = {
    /* Sorted, so two servers locking overlapping sets never deadlock. */
    [PQ_LOCK_CHANNELS] = "SELECT 1 FROM channels WHERE channel_id = ANY($1::text[])"
                         " ORDER BY channel_id FOR NO KEY UPDATE",
    [PQ_USER_INSERT] = "INSERT INTO users(username, pw_hash, created_ms) VALUES($1, $2, $3)"
                       " ON CONFLICT DO NOTHING",
    [PQ_USER_GET] = "SELECT pw_hash, created_ms FROM users WHERE username = $1",
    [PQ_CHAN_INSERT] = "INSERT INTO channels(channel_id, name, is_direct, creator, created_ms,"
                       " dm_key, is_private) VALUES($1, $2, $3, $4, $5, $6, $7)"
                       " ON CONFLICT DO NOTHING",
    [PQ_CHAN_BY_DM] = "SELECT channel_id FROM channels WHERE dm_key = $1",
    [PQ_CHAN_GET] = "SELECT name, is_direct, creator, created_ms, is_private, topic FROM channels"
                    " WHERE channel_id = $1",
    [PQ_CHAN_LAST_SEQ] = "SELECT last_seq, last_message_id, msg_count FROM channels"
                         " WHERE channel_id = $1",
    [PQ_CHAN_MEMBERS_ADD] = "UPDATE channels SET member_count = member_count + $2::bigint"
                            " WHERE channel_id = $1",
    [PQ_MEMBER_INSERT] = "INSERT INTO members(channel_id, user_id, is_admin, joined_ms)"
                         " VALUES($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    /* -> (channel exists 0/1, inserted 0/1). A member who comes back counts
     * the messages they sent before, and (like every message before their
     * mark, unread) the mentions of them. */
    [PQ_MEMBER_ADD] =
        "WITH c AS (SELECT channel_id FROM channels WHERE channel_id = $1::text),"
        " i AS (INSERT INTO members(channel_id, user_id, is_admin, joined_ms, own_count,"
        "                           mention_count)"
        "       SELECT channel_id, $2::text, $3::boolean, $4::bigint,"
        "         COALESCE((SELECT own_no FROM messages WHERE channel_id = $1::text"
        "           AND user_id = $2::text ORDER BY seq DESC LIMIT 1), 0),"
        "         (SELECT count(*) FROM mentions WHERE channel_id = $1::text"
        "           AND user_id = $2::text) FROM c"
        "       ON CONFLICT DO NOTHING RETURNING 1),"
        " u AS (UPDATE channels SET member_count = member_count + 1"
        "       WHERE channel_id = $1::text AND EXISTS (SELECT 1 FROM i))"
        " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM i)",
    [PQ_MEMBER_DELETE] = "WITH d AS (DELETE FROM members WHERE channel_id = $1 AND user_id = $2"
                         "   RETURNING 1),"
                         " u AS (UPDATE channels SET member_count = member_count - 1"
                         "       WHERE channel_id = $1 AND EXISTS (SELECT 1 FROM d))"
                         " SELECT count(*) FROM d",
    [PQ_MEMBERS_FULL] = "SELECT user_id, is_admin, joined_ms FROM members WHERE channel_id = $1"
                        " ORDER BY joined_ms, ord",
    /* One round trip per append. The channel row is already locked by
     * PQ_LOCK_CHANNELS, so the duplicate checks below see every message
     * committed before ours; the seq is taken (UPDATE .. RETURNING) only
     * when the message will really be inserted, so nothing burns a seq.
     * -> (channel exists 0/1, message id used 0/1, new seq or NULL,
     *     then the original's MSG_COLS or NULLs). */
    [PQ_MSG_APPEND] =
        "WITH ch AS (SELECT last_message_id FROM channels WHERE channel_id = $1::text),"
        /* Threads: the message replied to ($9), and its root. */
        " p AS (SELECT COALESCE(reply_to, message_id) AS root, deleted FROM messages"
        "       WHERE channel_id = $1::text AND message_id = $9::bigint),"
        " dup AS (SELECT " MSG_COLS " FROM messages"
        "         WHERE channel_id = $1::text AND user_id = $3::text AND client_msg_id = $6::text),"
        " used AS (SELECT 1 FROM messages WHERE message_id = $2::bigint),"
        " s AS (UPDATE channels SET last_seq = last_seq + 1, last_message_id = $2::bigint,"
        "         msg_count = msg_count + $8::int"
        "       WHERE channel_id = $1::text AND last_message_id < $2::bigint"
        "       AND NOT EXISTS (SELECT 1 FROM dup) AND NOT EXISTS (SELECT 1 FROM used)"
        "       AND ($9::bigint IS NULL OR EXISTS (SELECT 1 FROM p WHERE NOT p.deleted))"
        "       RETURNING last_seq, msg_count),"
        /* Counters: a user's message counts for the channel and its sender. */
        " o AS (UPDATE members SET own_count = own_count + 1"
        "       WHERE channel_id = $1::text AND user_id = $3::text AND $8::int = 1"
        "       AND EXISTS (SELECT 1 FROM s) RETURNING own_count),"
        " i AS (INSERT INTO messages(channel_id, seq, message_id, user_id, content, metadata,"
        "                            client_msg_id, created_ms, count_no, own_no, reply_to,"
        "                            mentions)"
        "       SELECT $1::text, last_seq, $2::bigint, $3::text, $4::text, $5::text, $6::text,"
        "              $7::bigint, msg_count, COALESCE((SELECT own_count FROM o), 0),"
        "              (SELECT root FROM p), $10::text FROM s"
        "       RETURNING seq),"
        " r AS (UPDATE messages SET reply_count = reply_count + 1, last_reply_ms = $7::bigint"
        "       WHERE message_id = (SELECT root FROM p) AND EXISTS (SELECT 1 FROM i)),"
        /* Mentions: a row per member named (not the sender), counted. */
        " mn AS (INSERT INTO mentions(channel_id, user_id, seq, message_id)"
        "        SELECT DISTINCT $1::text, u, (SELECT seq FROM i), $2::bigint"
        "        FROM unnest(string_to_array($10::text, E'\\n')) AS u"
        "        WHERE u <> $3::text AND EXISTS (SELECT 1 FROM i)"
        "        ON CONFLICT DO NOTHING RETURNING user_id),"
        " mc AS (UPDATE members SET mention_count = mention_count + 1"
        "        WHERE channel_id = $1::text AND user_id IN (SELECT user_id FROM mn))"
        " SELECT (SELECT count(*) FROM ch), (SELECT count(*) FROM used), (SELECT seq FROM i),"
        "        (SELECT last_message_id FROM ch), (SELECT count(*) FROM p),"
        "        (SELECT deleted FROM p), (SELECT root FROM p),"
        "        dup.* FROM (VALUES (1)) AS one LEFT JOIN dup ON true",
    /* Locked: two servers moving one user's mark cannot move it backwards. */
    [PQ_MEMBER_MARK] = "SELECT m.last_read_message_id, COALESCE(m.last_read_ms, -1), m.read_seq,"
                       " m.own_count FROM members m WHERE m.channel_id = $1 AND m.user_id = $2"
                       " FOR UPDATE",
    [PQ_MEMBER_SET_MARK] = "UPDATE members SET last_read_message_id = $3, last_read_ms = $4,"
                           " read_seq = $5, read_count = $6, read_own = $7"
                           " WHERE channel_id = $1 AND user_id = $2",
    [PQ_MSG_SEQ] = "SELECT seq, count_no FROM messages WHERE channel_id = $1 AND message_id = $2",
    [PQ_MSG_OWN_AT] = "SELECT own_no FROM messages WHERE channel_id = $1 AND user_id = $2"
                      " AND seq <= $3 ORDER BY seq DESC LIMIT 1",
    [PQ_HIST_BEFORE] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = $1 AND seq < $2"
                       " ORDER BY seq DESC LIMIT $3",
    [PQ_HIST_AFTER] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = $1 AND seq > $2"
                      " ORDER BY seq ASC LIMIT $3",
    /* unread: others' non-system messages after the mark = the channel's
     * count of them now and at the mark, less the user's own. O(channels). */
    [PQ_CHANNELS_OF_USER] =
        "SELECT c.channel_id, c.name, c.is_direct, COALESCE(m.last_read_message_id, 0),"
        " COALESCE(m.last_read_ms, -1), c.last_message_id,"
        " (c.msg_count - m.read_count) - (m.own_count - m.read_own)"
        " - (SELECT count(*) FROM messages x WHERE x.channel_id = c.channel_id AND x.deleted"
        "    AND x.seq > m.read_seq AND x.user_id <> m.user_id AND x.user_id <> 'system'),"
        " c.member_count, m.mention_count, c.topic, c.is_private"
        " FROM members m JOIN channels c ON c.channel_id = m.channel_id"
        " WHERE m.user_id = $1 ORDER BY c.created_ms, c.ord",
    /* The first members of every channel of the user, at most a page each,
     * in one round trip (proto_channel_entry). */
    [PQ_PARTICIPANTS_OF_USER] =
        "SELECT m.channel_id, p.user_id FROM members m CROSS JOIN LATERAL"
        " (SELECT q.user_id, q.joined_ms, q.ord FROM members q WHERE q.channel_id = m.channel_id"
        "  ORDER BY q.joined_ms, q.ord LIMIT $2::int) p"
        " WHERE m.user_id = $1 ORDER BY m.channel_id, p.joined_ms, p.ord",
    /* ---- protocol 1.1 (store_pg_changes.c) ---- */
    [PQ_CHAN_NEXT_SEQ] = "UPDATE channels SET last_seq = last_seq + 1 WHERE channel_id = $1"
                         " RETURNING last_seq",
    [PQ_MSG_STATE] = "SELECT user_id, deleted, seq, mentions, n_reactions, reply_to FROM messages"
                     " WHERE channel_id = $1 AND message_id = $2",
    /* Admins are a group channel's: in a direct channel nobody is one. */
    [PQ_MEMBER_IS_ADMIN] = "SELECT m.is_admin AND NOT c.is_direct FROM members m"
                           " JOIN channels c ON c.channel_id = m.channel_id"
                           " WHERE m.channel_id = $1 AND m.user_id = $2",
    [PQ_MSG_EDIT] = "UPDATE messages SET orig_content = CASE WHEN edited_ms IS NULL THEN content"
                    " ELSE orig_content END, orig_mentions = CASE WHEN edited_ms IS NULL THEN"
                    " mentions ELSE orig_mentions END, content = $2, mentions = $3, edited_ms = $4"
                    " WHERE message_id = $1",
    [PQ_MSG_ERASE] = "UPDATE messages SET content = '', metadata = '{}', mentions = NULL,"
                     " orig_content = NULL, orig_mentions = NULL, n_reactions = 0, deleted = true"
                     " WHERE message_id = $1",
    [PQ_CHANGES_ERASE] = "UPDATE changes SET content = '', mentions = NULL"
                         " WHERE message_id = $1 AND content IS NOT NULL",
    [PQ_REACTIONS_ERASE] = "DELETE FROM reactions WHERE message_id = $1",
    [PQ_CHANGE_INSERT] = "INSERT INTO changes(channel_id, seq, kind, message_id, user_id, content,"
                         " mentions, emoji, at_ms) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    /* -> (mine 0/1, any 0/1): two index lookups */
    [PQ_REACTION_HAS] =
        "SELECT EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $2"
        " AND user_id = $3)::int, EXISTS (SELECT 1 FROM reactions"
        " WHERE message_id = $1 AND emoji = $2)::int",
    [PQ_REACTION_ADD] = "INSERT INTO reactions(message_id, emoji, user_id, at_ms)"
                        " VALUES($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    [PQ_REACTION_DEL] = "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2"
                        " AND user_id = $3",
    [PQ_MSG_KINDS_ADD] = "UPDATE messages SET n_reactions = n_reactions + $2 WHERE message_id = $1",
    [PQ_REACTIONS_OF] = "SELECT message_id, emoji, user_id FROM reactions"
                        " WHERE message_id = ANY($1::bigint[]) ORDER BY ord",
    [PQ_CHG_MSGS] = "SELECT " CHG_MSG_COLS " FROM messages WHERE channel_id = $1 AND seq > $2"
                    " AND seq <= $3 ORDER BY seq",
    [PQ_CHG_ROWS] = "SELECT c.seq, c.kind, c.message_id, c.user_id, c.content, c.mentions,"
                    " c.emoji, c.at_ms, COALESCE(m.deleted, false) FROM changes c"
                    " LEFT JOIN messages m ON m.message_id = c.message_id"
                    " WHERE c.channel_id = $1 AND c.seq > $2 AND c.seq <= $3 ORDER BY c.seq",
    [PQ_MSG_FULL] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = $1 AND message_id = $2",
    [PQ_THREAD] = "SELECT " MSG_COLS " FROM messages WHERE channel_id = $1 AND reply_to = $2"
                  " AND seq > $3 ORDER BY seq LIMIT $4",
    /* A message's mentions stop counting (erased or rewritten). Two
     * statements: one may not change a members row twice. */
    [PQ_MENTIONS_DROP] =
        "WITH un AS (UPDATE members SET mention_count = mention_count - 1"
        "            WHERE channel_id = $1 AND read_seq < $2::bigint AND user_id IN"
        "            (SELECT user_id FROM mentions WHERE message_id = $3::bigint))"
        " DELETE FROM mentions WHERE message_id = $3::bigint",
    [PQ_MENTIONS_ADD] =
        "WITH mn AS (INSERT INTO mentions(channel_id, user_id, seq, message_id)"
        "        SELECT DISTINCT $1, u, $2::bigint, $3::bigint"
        "        FROM unnest(string_to_array($4::text, E'\\n')) AS u WHERE u <> $5::text"
        "        ON CONFLICT DO NOTHING RETURNING user_id)"
        " UPDATE members SET mention_count = mention_count + 1"
        " WHERE channel_id = $1 AND read_seq < $2::bigint AND user_id IN (SELECT user_id FROM mn)",
    [PQ_MENTIONS_READ] = "UPDATE members SET mention_count = mention_count - (SELECT count(*)"
                         " FROM mentions x WHERE x.channel_id = $1 AND x.user_id = $2"
                         " AND x.seq > $3::bigint AND x.seq <= $4::bigint)"
                         " WHERE channel_id = $1 AND user_id = $2",
    [PQ_LOAD_USERS] = "SELECT username FROM users ORDER BY created_ms, ord",
    [PQ_LOAD_CHANNELS] = "SELECT channel_id, name, is_direct, creator, created_ms, is_private,"
                         " topic FROM channels ORDER BY created_ms, ord",
    /* Search (store_pg_manage.c): $1 tsquery text, $2 below this id, $3
     * user, $4 limit, $5 the one channel. */
    [PQ_SEARCH_ALL] = "SELECT " MSG_COLS " FROM messages WHERE tsv @@ $1::tsquery"
                      " AND message_id < $2::bigint AND channel_id IN"
                      " (SELECT channel_id FROM members WHERE user_id = $3::text)"
                      " ORDER BY message_id DESC LIMIT $4::int",
    /* In one channel ids follow seq order: newest first by seq walks the
     * primary key through this channel's rows only (a common word in one
     * of a hundred channels: 1.6 ms instead of 36 at a million messages). */
    [PQ_SEARCH_CHAN] = "SELECT " MSG_COLS " FROM messages WHERE tsv @@ $1::tsquery"
                       " AND message_id < $2::bigint AND channel_id = $5::text AND EXISTS"
                       " (SELECT 1 FROM members WHERE channel_id = $5::text AND user_id = $3::text)"
                       " ORDER BY seq DESC LIMIT $4::int",
    [PQ_LOAD_MEMBERS] = "SELECT channel_id, user_id, is_admin, joined_ms FROM members"
                        " ORDER BY channel_id, joined_ms, ord",
};

/* ---- running statements ----------------------------------------------- */

static int result_ok(const PGresult *r) {
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* A statement error is logged once here; the batch then fails as a whole. */
static PGresult *checked(PGconn *c, PGresult *r, const char *what) {
    if (r && result_ok(r)) return r;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    log_warn("store_pg: %s failed: %.*s", what, (int)strcspn(msg, "\n"), msg);
    PQclear(r);
    return NULL;
}

PGresult *store_pg__exec(PGconn *c, int st, int n, const char *const *params) {
    char name[16];
    snprintf(name, sizeof name, "s%d", st);
    return checked(c, PQexecPrepared(c, name, n, params, NULL, NULL, 0), name);
}

PGresult *store_pg__exec_text(PGconn *c, const char *text, int n, const char *const *params) {
    return checked(c, PQexecParams(c, text, n, NULL, params, NULL, NULL, 0), "statement");
}

int store_pg__cmd(PGconn *c, const char *text) {
    PGresult *r = checked(c, PQexec(c, text), text);
    PQclear(r);
    return r ? 0 : -1;
}

/* ---- connect, schema -------------------------------------------------- */

static int schema_version(PGconn *c) {
    PGresult *r = checked(c, PQexec(c, "SELECT COALESCE(max(version), 0) FROM schema_migrations"),
                          "schema version");
    int v = r && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

static int migrate(PGconn *c) {
    if (store_pg__cmd(c, "BEGIN") != 0) return -1;
    if (store_pg__cmd(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")") != 0 ||
        store_pg__cmd(c, "CREATE TABLE IF NOT EXISTS schema_migrations("
                         " version INTEGER PRIMARY KEY,"
                         " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())") != 0)
        goto fail;
    int v = schema_version(c);
    if (v < 0) goto fail;
    if (v > N_MIGRATIONS) {
        log_error("store_pg: the database has schema version %d, this chatd knows %d", v,
                  N_MIGRATIONS);
        goto fail;
    }
    for (; v < N_MIGRATIONS; v++) {
        char bump[96];
        snprintf(bump, sizeof bump, "INSERT INTO schema_migrations(version) VALUES(%d)", v + 1);
        if (store_pg__cmd(c, migrations[v]) != 0 || store_pg__cmd(c, bump) != 0) goto fail;
        log_info("store_pg: applied schema migration %d", v + 1);
    }
    return store_pg__cmd(c, "COMMIT");
fail:
    store_pg__cmd(c, "ROLLBACK");
    return -1;
}

static int prepare(PGconn *c) {
    for (int i = 0; i < PQ__COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        PGresult *r = checked(c, PQprepare(c, name, sql[i], 0, NULL), name);
        if (!r) return -1;
        PQclear(r);
    }
    return 0;
}

/* "relation already exists, skipping" and the like are not worth a line. */
static void quiet(void *arg, const char *message) {}

PGconn *store_pg__connect(const char *conninfo, int fsync) {
    /* Defaults so that a dead server is noticed instead of waited for
     * (keepalives: TCP only). expand_dbname: the conninfo is expanded in
     * place of "dbname", so whatever it sets overrides these. */
    const char *keys[] = {"connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "application_name",
                          "dbname",
                          NULL};
    const char *vals[] = {"5", "10", "2", "3", "chatd", conninfo ? conninfo : "", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) return NULL;
    if (PQstatus(c) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password. */
        const char *msg = PQerrorMessage(c);
        log_warn("store_pg: connect failed: %.*s", (int)strcspn(msg, "\n"), msg);
        goto fail;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    if (!fsync && store_pg__cmd(c, "SET synchronous_commit = off") != 0) goto fail;
    if (migrate(c) != 0 || prepare(c) != 0) goto fail;
    return c;
fail:
    PQfinish(c);
    return NULL;
}
