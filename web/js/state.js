// state: everything the client knows and the rules for changing it. No I/O
// and no DOM: the socket controllers feed frames in, the views read it and
// re-render when told (subscribe). Messages are kept per channel, keyed by
// message_id and ordered by seq, so a message arriving twice (a live echo
// and a history page, at-least-once delivery) is stored once, and later
// kinds of change (edits, reactions…) can update one message in place.

/**
 * Orders two decimal message ids (64-bit Snowflakes: too big for a Number).
 * @returns {number} <0, 0 or >0
 */
export function compareIds(a, b) {
  if (a === b) return 0;
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : 1;
}

/** Bytes of s in UTF-8 (the server's content limit counts bytes). */
export function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}

/**
 * A random id for client_msg_id and local keys (crypto.randomUUID needs a
 * secure context; a page served over plain http is not one).
 */
export function newId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

const NAME_CHAR = /[A-Za-z0-9_.-]/;

/**
 * The @mentions of text by PROTOCOL.md section 6's rule (after the start or
 * a character that cannot be in a name; trailing . and - are not part of
 * the name): [{start, end, name}] in order.
 */
export function mentionSpans(text) {
  const out = [];
  for (const m of String(text).matchAll(/@([A-Za-z0-9_.-]+)/g)) {
    if (m.index > 0 && NAME_CHAR.test(text[m.index - 1])) continue;
    const name = m[1].replace(/[.-]+$/, '');
    if (name) out.push({ start: m.index, end: m.index + 1 + name.length, name });
  }
  return out;
}

/** m after the change frame f (message_updated, message_deleted or reaction). */
function patched(m, f) {
  const next = { ...m };
  if (f.type === 'message_updated') {
    next.content = f.content;
    next.edited_at = f.edited_at || null;
    if (Array.isArray(f.mentions)) next.mentions = f.mentions;
  } else if (f.type === 'message_deleted') {
    Object.assign(next, { deleted: true, content: '', metadata: {}, reactions: [] });
  } else if (f.type === 'reaction' && f.emoji && f.user_id) {
    next.reactions = applyReaction(m.reactions, f.emoji, f.user_id, f.op !== 'remove');
  }
  return next;
}

/**
 * reactions ([{emoji, count, users}]) after user adds (add) or removes
 * emoji. users may list only the first reactors (count says how many):
 * each frame is a real change, but one replayed that users already shows
 * is not counted twice.
 */
function applyReaction(reactions, emoji, user, add) {
  const out = (Array.isArray(reactions) ? reactions : []).map((r) => ({ ...r, users: [...(r.users || [])] }));
  let r = out.find((x) => x.emoji === emoji);
  if (!r && add) {
    r = { emoji, count: 0, users: [] };
    out.push(r);
  }
  if (!r) return out;
  const had = r.users.includes(user);
  if (add && !had) {
    r.users.push(user);
    r.count += 1;
  } else if (!add && (had || r.count > r.users.length)) {
    r.users = r.users.filter((u) => u !== user);
    r.count -= 1;
  }
  return out.filter((x) => x.count > 0);
}

function byPosition(a, b) {
  const sa = a.seq || 0;
  const sb = b.seq || 0;
  return sa !== sb ? sa - sb : compareIds(a.message_id, b.message_id);
}

/**
 * One channel as the client sees it.
 * messages: message_id -> Message (the wire object); order: ids, oldest
 * first; maxSeq: the highest seq stored; loaded: its history has been read
 * (join_channel), so live messages are kept and gaps are noticed.
 */
export class Channel {
  constructor(id) {
    this.id = id;
    this.name = '';
    this.isDirect = false;
    this.others = [];
    this.topic = '';
    this.private = false;
    this.memberCount = 0;
    this.unread = 0;
    this.mentions = 0; // messages after the read mark that mention the user
    this.typing = new Map(); // user -> when their "typing" expires (ms)
    this.lastMessageId = null;
    this.lastReadMessageId = null;
    this.members = new Map(); // user -> "admin" | "member"
    this.reads = new Map(); // user -> last_read_message_id (receipts seen live)
    this.loaded = false;
    this.hasOlder = false;
    this.messages = new Map();
    this.order = [];
    this.maxSeq = 0;
  }

  /** What the user sees as the channel's name. */
  get title() {
    if (this.isDirect) return this.others[0] || this.name || 'direct message';
    return this.name || '(unnamed)';
  }

  get lastStoredId() {
    return this.order.length ? this.order[this.order.length - 1] : null;
  }

  get firstStoredId() {
    return this.order.length ? this.order[0] : null;
  }

  /** Inserts or replaces one message; returns true when it was new. */
  put(msg) {
    const known = this.messages.has(msg.message_id);
    this.messages.set(msg.message_id, msg);
    if (!known) {
      let i = this.order.length; // usually the newest: search from the end
      while (i > 0 && byPosition(this.messages.get(this.order[i - 1]), msg) > 0) i -= 1;
      this.order.splice(i, 0, msg.message_id);
      if (msg.seq > this.maxSeq) this.maxSeq = msg.seq;
    }
    if (!this.lastMessageId || compareIds(msg.message_id, this.lastMessageId) > 0) {
      this.lastMessageId = msg.message_id;
    }
    return !known;
  }
}

export class ChatState {
  /** @param {string} me  the logged-in username */
  constructor(me) {
    this.me = me;
    /** @type {Map<string, Channel>} */
    this.channels = new Map();
    /** user -> {status, last_seen} */
    this.presence = new Map();
    this.myStatus = 'online';
    /** client_msg_id -> {clientMsgId, channelId, content, createdAt, sentAt, attempts, failed} */
    this.pending = new Map();
    this.activeId = null;
    this.visible = true; // the page is on screen (unread counting)
    this.connection = { chat: 'connecting', presence: 'connecting' };
    this.notices = [];
    /** The side panel: members, thread or search. */
    this.panel = 'members';
    /** The open thread: {channelId, rootId, root, replies: Map, hasMore}, or null. */
    this.thread = null;
    /** The last search: {query, messages, hasMore, error}, or null. */
    this.search = null;
    /** The channel directory: {channels, hasMore}. */
    this.directory = { channels: [], hasMore: false };
    this.listeners = new Set();
  }

  /**
   * fn(topic) after each change; topics: channels, messages, presence,
   * connection, notices, typing, thread, search, directory, panel.
   */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(topic) {
    for (const fn of this.listeners) fn(topic);
  }

  get active() {
    return this.activeId ? this.channels.get(this.activeId) || null : null;
  }

  channel(id) {
    let ch = this.channels.get(id);
    if (!ch) {
      ch = new Channel(id);
      this.channels.set(id, ch);
    }
    return ch;
  }

  /** channels_list: the user's channels now; keeps what is loaded of the rest. */
  setChannels(entries) {
    const seen = new Set();
    for (const e of entries) {
      const ch = this.channel(e.channel_id);
      seen.add(ch.id);
      ch.name = e.channel_name || '';
      ch.isDirect = !!e.is_direct || e.channel_type === 'direct';
      ch.others = Array.isArray(e.other_participants) ? e.other_participants : [];
      if (typeof e.unread_count === 'number') ch.unread = e.unread_count;
      if (typeof e.mention_count === 'number') ch.mentions = e.mention_count;
      ch.topic = typeof e.topic === 'string' ? e.topic : '';
      ch.private = e.private === true;
      ch.memberCount = typeof e.member_count === 'number' ? e.member_count : 0;
      if (e.last_message_id && (!ch.lastMessageId
          || compareIds(e.last_message_id, ch.lastMessageId) > 0)) {
        ch.lastMessageId = e.last_message_id;
      }
      if (e.last_read_message_id) ch.lastReadMessageId = e.last_read_message_id;
      if (ch.id === this.activeId && this.visible) {
        ch.unread = this.unreadAfterMark(ch);
        ch.mentions = this.unreadAfterMark(ch, true);
      }
    }
    for (const id of [...this.channels.keys()]) if (!seen.has(id)) this.channels.delete(id);
    if (this.activeId && !this.channels.has(this.activeId)) this.activeId = null;
    this.changed('channels');
  }

  /** channel_created: known before the channels_list that follows it. */
  addCreated(c) {
    const ch = this.channel(c.channel_id);
    ch.isDirect = c.type === 'direct';
    ch.name = (c.metadata && c.metadata.name) || '';
    const parts = Array.isArray(c.participants) ? c.participants : [];
    ch.others = parts.filter((u) => u !== this.me);
    this.changed('channels');
    return ch;
  }

  /** channel_joined: members and the latest messages. */
  setJoined(channelId, messages, participants) {
    const ch = this.channel(channelId);
    ch.members = new Map(participants.map((p) => [p.user_id, p.role || 'member']));
    if (!ch.isDirect && ch.others.length === 0) {
      ch.others = participants.map((p) => p.user_id).filter((u) => u !== this.me);
    }
    if (!ch.loaded) ch.hasOlder = messages.length > 0 && messages[0].seq > 1;
    ch.loaded = true;
    for (const m of messages) this.storeMessage(ch, m, false);
    this.changed('messages');
    return ch;
  }

  /**
   * A message arrived (live: pushed as it happened, else from history or
   * fetch_changes). Returns null, or {after, afterSeq} when its seq shows
   * that changes are missing (a gap): they follow message `after` (null: the
   * channel held none) and seq `afterSeq`, so they should be read again.
   */
  addMessage(msg, live, replayed = false) {
    const ch = this.channels.get(msg.channel_id);
    if (!ch) return null;
    if (ch.typing.delete(msg.user_id)) this.changed('typing');
    const place = ch.loaded && (live || replayed) ? this.place(ch, msg.seq, live) : 'next';
    if (place === 'gap') return { after: ch.lastStoredId, afterSeq: ch.maxSeq }; // read in order, this one too
    this.confirmPending(msg);
    if (place === 'old') return null;
    if (!ch.loaded) { // not open yet: joining will read it; just count it
      if (live && !ch.messages.has(msg.message_id)) this.countNew(ch, msg);
      if (!ch.lastMessageId || compareIds(msg.message_id, ch.lastMessageId) > 0) {
        ch.lastMessageId = msg.message_id;
      }
      this.changed('channels');
      return null;
    }
    const fresh = this.storeMessage(ch, msg, live);
    if (fresh && msg.user_id === 'system') this.applyNotice(ch, msg);
    if (fresh && msg.reply_to && (live || replayed)) this.countReply(ch, msg);
    const t = this.thread;
    if (t && t.channelId === ch.id && msg.reply_to === t.rootId) {
      t.replies.set(msg.message_id, msg);
      this.changed('thread');
    }
    this.changed('messages');
    if (fresh && live) this.changed('channels');
    return null;
  }

  /**
   * Where a stored change of seq stands in ch: changes are applied in seq
   * order, whatever order frames come in (a cluster's bus may swap two).
   * "old": applied already, or in the history read; "gap": changes before
   * it are missing, so it waits for them (read with it); "next": apply it.
   */
  place(ch, seq, live) {
    if (typeof seq !== 'number') return 'next';
    if (seq <= ch.maxSeq) return 'old';
    return live && seq > ch.maxSeq + 1 ? 'gap' : 'next';
  }

  /** A new reply: its root counts it. */
  countReply(ch, reply) {
    const bump = (root) => ({ ...root, reply_count: (root.reply_count || 0) + 1, last_reply_at: reply.created_at });
    const root = ch.messages.get(reply.reply_to);
    if (root) ch.messages.set(root.message_id, bump(root));
    const t = this.thread;
    if (t && t.channelId === ch.id && t.rootId === reply.reply_to && t.root) {
      t.root = root ? ch.messages.get(root.message_id) : bump(t.root);
    }
  }

  /**
   * A change to a stored message (protocol 1.1: message_updated,
   * message_deleted, reaction), live or from fetch_changes. Returns a gap
   * like addMessage.
   */
  applyChange(f, live) {
    const ch = this.channels.get(f.channel_id);
    if (!ch || !ch.loaded) return null;
    const place = this.place(ch, f.seq, live);
    if (place === 'old') return null;
    if (place === 'gap') return { after: ch.lastStoredId, afterSeq: ch.maxSeq };
    if (typeof f.seq === 'number') ch.maxSeq = f.seq;
    const m = ch.messages.get(f.message_id);
    if (m) {
      const next = patched(m, f);
      if (live && !m.deleted && this.countsAsUnread(ch, m) && !(ch.id === this.activeId && this.visible)) {
        // an unread message went, or an edit added or took away a mention of the user
        if (next.deleted) ch.unread = Math.max(0, ch.unread - 1);
        const was = this.mentionsMe(m);
        const is = !next.deleted && this.mentionsMe(next);
        if (was !== is) ch.mentions = Math.max(0, ch.mentions + (is ? 1 : -1));
        this.changed('channels');
      }
      ch.messages.set(m.message_id, next);
    }
    const t = this.thread;
    if (t && t.channelId === ch.id) {
      if (t.root && t.root.message_id === f.message_id) t.root = patched(t.root, f);
      const r = t.replies.get(f.message_id);
      if (r) t.replies.set(r.message_id, patched(r, f));
      this.changed('thread');
    }
    this.changed('messages');
    return null;
  }

  /** history: a page of messages, oldest first. older: it was a `before` page. */
  addHistory(channelId, messages, hasMore, older) {
    const ch = this.channels.get(channelId);
    if (!ch) return;
    for (const m of messages) {
      this.confirmPending(m);
      this.storeMessage(ch, m, false);
    }
    if (older) ch.hasOlder = hasMore;
    this.changed('messages');
  }

  storeMessage(ch, msg, live) {
    const fresh = ch.put(msg);
    if (fresh && live) this.countNew(ch, msg);
    return fresh;
  }

  /** A new message the user has not seen: unread (and a mention) unless on screen. */
  countNew(ch, msg) {
    if (!this.countsAsUnread(ch, msg) || (ch.id === this.activeId && this.visible)) return;
    ch.unread += 1;
    if (this.mentionsMe(msg)) ch.mentions += 1;
  }

  mentionsMe(msg) {
    return Array.isArray(msg.mentions) && msg.mentions.includes(this.me);
  }

  countsAsUnread(ch, msg) {
    if (msg.user_id === this.me || msg.user_id === 'system' || msg.deleted) return false;
    return !ch.lastReadMessageId || compareIds(msg.message_id, ch.lastReadMessageId) > 0;
  }

  /** Members, roles, name and topic follow the notices (PROTOCOL.md sections 4 and 6). */
  applyNotice(ch, msg) {
    const meta = msg.metadata || {};
    const join = (u) => typeof u === 'string' && !ch.members.has(u) && ch.members.set(u, 'member');
    switch (meta.event) {
      case 'user_joined': join(meta.user_id); break;
      case 'members_added': if (Array.isArray(meta.user_ids)) meta.user_ids.forEach(join); break;
      case 'user_left':
      case 'member_removed': ch.members.delete(meta.user_id); break;
      case 'role_changed':
        if (ch.members.has(meta.user_id) && (meta.role === 'admin' || meta.role === 'member')) {
          ch.members.set(meta.user_id, meta.role);
        }
        break;
      case 'channel_updated':
        if (typeof meta.name === 'string' && meta.name) ch.name = meta.name;
        if (typeof meta.topic === 'string') ch.topic = meta.topic;
        break;
      default: return;
    }
    if (ch.members.size) ch.memberCount = ch.members.size;
    this.changed('channels');
  }

  /** Whether the user is an admin of ch (a group channel: a direct one has none). */
  isAdmin(ch) {
    return !!ch && !ch.isDirect && ch.members.get(this.me) === 'admin';
  }

  /** channel_read: a read receipt (ours moves our mark and unread count). */
  setRead(channelId, user, messageId) {
    const ch = this.channels.get(channelId);
    if (!ch || !messageId) return;
    ch.reads.set(user, messageId);
    if (user === this.me) {
      if (!ch.lastReadMessageId || compareIds(messageId, ch.lastReadMessageId) >= 0) {
        ch.lastReadMessageId = messageId;
      }
      ch.unread = this.unreadAfterMark(ch);
      ch.mentions = this.unreadAfterMark(ch, true);
      this.changed('channels');
    }
    this.changed('messages');
  }

  /**
   * Read receipts: message_id -> [users], sorted. Each other member whose
   * receipt was seen is listed once, under the last message they have
   * read: the newest that their read mark covers, not counting notices,
   * deleted messages and their own (they wrote those).
   */
  readers(ch) {
    const map = new Map();
    for (const [user, markId] of ch.reads) {
      if (user === this.me) continue;
      for (let i = ch.order.length - 1; i >= 0; i -= 1) {
        const id = ch.order[i];
        if (compareIds(id, markId) > 0) continue;
        const m = ch.messages.get(id);
        if (m.user_id === 'system' || m.deleted || m.user_id === user) continue;
        if (!map.has(id)) map.set(id, []);
        map.get(id).push(user);
        break;
      }
    }
    for (const users of map.values()) users.sort();
    return map;
  }

  /** The total of unread messages over all channels (the page title). */
  get unreadTotal() {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.unread;
    return n;
  }

  /** Unread messages of others after our mark (mentions: those that mention us), among those we hold. */
  unreadAfterMark(ch, mentions = false) {
    if (!ch.lastMessageId) return 0;
    if (ch.lastReadMessageId && compareIds(ch.lastReadMessageId, ch.lastMessageId) >= 0) return 0;
    if (!ch.loaded) return mentions ? ch.mentions : ch.unread;
    let n = 0;
    for (const id of ch.order) {
      const m = ch.messages.get(id);
      if (this.countsAsUnread(ch, m) && (!mentions || this.mentionsMe(m))) n += 1;
    }
    return n;
  }

  /** The newest message of a channel the user has not marked read, or null. */
  unmarkedLatest(ch) {
    const last = ch.lastStoredId;
    if (!last) return null;
    if (ch.lastReadMessageId && compareIds(ch.lastReadMessageId, last) >= 0) return null;
    return last;
  }

  setActive(id) {
    this.activeId = id;
    this.changed('channels');
    this.changed('messages');
  }

  leave(channelId) {
    this.channels.delete(channelId);
    if (this.thread && this.thread.channelId === channelId) this.closePanel();
    for (const [k, p] of this.pending) if (p.channelId === channelId) this.pending.delete(k);
    if (this.activeId === channelId) this.activeId = null;
    this.changed('channels');
    this.changed('messages');
  }

  // ---- messages not yet acknowledged ----

  /** A message the user just wrote: shown at once, acknowledged by its echo. */
  addPending(channelId, content, replyTo = null) {
    const p = {
      clientMsgId: newId(),
      channelId,
      replyTo,
      content,
      createdAt: new Date().toISOString(),
      sentAt: 0,
      attempts: 0,
      failed: false,
    };
    this.pending.set(p.clientMsgId, p);
    this.changed('messages');
    return p;
  }

  confirmPending(msg) {
    if (msg.client_msg_id && msg.user_id === this.me && this.pending.delete(msg.client_msg_id)) {
      this.changed('messages');
    }
  }

  /** Messages not yet acknowledged in a channel (replyTo: in that thread; none: the channel's own). */
  pendingIn(channelId, replyTo = null) {
    return [...this.pending.values()].filter((p) => p.channelId === channelId && p.replyTo === replyTo);
  }

  // ---- typing, threads, search, directory ----

  /** typing {channel_id, user_id, expires_ms}: shown until it expires or their message comes. */
  setTyping(f, now = Date.now()) {
    const ch = this.channels.get(f.channel_id);
    if (!ch || !f.user_id || f.user_id === this.me) return;
    ch.typing.set(f.user_id, now + (Number(f.expires_ms) || 6000));
    this.changed('typing');
  }

  /** Who is typing in ch now, sorted. */
  typers(ch, now = Date.now()) {
    return [...ch.typing].filter(([, until]) => until > now).map(([u]) => u).sort();
  }

  /** Opens the thread of root message rootId in the side panel (its replies come with `thread`). */
  openThread(channelId, rootId) {
    const ch = this.channels.get(channelId);
    const replies = new Map();
    if (ch) for (const m of ch.messages.values()) if (m.reply_to === rootId) replies.set(m.message_id, m);
    this.thread = {
      channelId, rootId, root: (ch && ch.messages.get(rootId)) || null, replies, hasMore: false,
    };
    this.setPanel('thread');
  }

  /** thread {channel_id, root, replies, has_more}: merged into the open thread. */
  setThread(f) {
    const t = this.thread;
    if (!t || t.channelId !== f.channel_id || !f.root || f.root.message_id !== t.rootId) return;
    t.root = f.root;
    const ch = this.channels.get(t.channelId);
    if (ch && ch.messages.has(t.rootId)) ch.messages.set(t.rootId, f.root); // its current state
    for (const m of Array.isArray(f.replies) ? f.replies : []) t.replies.set(m.message_id, m);
    t.hasMore = !!f.has_more;
    this.changed('thread');
  }

  /** The open thread's replies, oldest first. */
  threadReplies() {
    return this.thread ? [...this.thread.replies.values()].sort(byPosition) : [];
  }

  /**
   * A search asked (f null), answered (search_results f; more: a page of
   * older results to append) or refused (error).
   */
  setSearch(query, f, more = false, error = '') {
    const older = more && this.search && this.search.query === query ? this.search.messages : [];
    this.search = {
      query, messages: [...older, ...(f && Array.isArray(f.messages) ? f.messages : [])],
      hasMore: !!(f && f.has_more), error, loading: !f && !error,
    };
    this.setPanel('search');
    this.changed('search');
  }

  setDirectory(f) {
    this.directory = { channels: Array.isArray(f.channels) ? f.channels : [], hasMore: !!f.has_more };
    this.changed('directory');
  }

  setPanel(panel) {
    this.panel = panel;
    this.changed('panel');
  }

  closePanel() {
    this.thread = null;
    this.setPanel('members');
  }

  // ---- presence ----

  /** presence entries {user_id, status, last_seen}. */
  setPresence(list) {
    for (const p of list) {
      if (!p || !p.user_id) continue;
      this.presence.set(p.user_id, { status: p.status, lastSeen: p.last_seen });
      if (p.user_id === this.me && p.status) this.myStatus = p.status;
    }
    this.changed('presence');
  }

  statusOf(user) {
    if (user === this.me) return this.myStatus;
    const p = this.presence.get(user);
    return p ? p.status : 'offline';
  }

  // ---- connection and notices ----

  setConnection(which, status) {
    if (this.connection[which] === status) return;
    this.connection[which] = status;
    this.changed('connection');
  }

  /** A short message for the user (errors the server reported…). */
  notice(text) {
    this.notices.push({ id: newId(), text, at: Date.now() });
    if (this.notices.length > 5) this.notices.shift();
    this.changed('notices');
  }

  dismissNotice(id) {
    this.notices = this.notices.filter((n) => n.id !== id);
    this.changed('notices');
  }
}
