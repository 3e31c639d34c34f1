// chat: the /chat WebSocket (PROTOCOL.md section 2) as seen from the page.
// Turns frames into state changes and user actions into frames, and makes
// a reconnect invisible: after every (re)connect it reads what each open
// channel missed, page by page — with fetch_changes after its highest seq
// when the server has it (protocol 1.1: edits and deletions too), else
// with fetch_history after its last message —, joins the channel on
// screen, and sends again every message not yet acknowledged, with the
// same client_msg_id (the server stores it once). A seq gap in live frames
// is read the same way.

import { Socket } from './socket.js';
import { utf8Length } from './state.js';

const HISTORY_PAGE = 100;
const CHANGES_PAGE = 500;
const OLDER_PAGE = 50;
/** Frames of protocol 1.1 that change a stored message. */
const CHANGE_TYPES = new Set(['message_updated', 'message_deleted', 'reaction']);
const RESEND_AFTER_MS = 8000; // no echo this long on an open socket: send again
const MAX_ATTEMPTS = 5;
const TYPING_EVERY_MS = 3000; // PROTOCOL.md section 6: at most one `typing` per 3 s
export const MAX_CONTENT_BYTES = 4000;

/** Why content cannot be a message, or null. */
function contentError(content) {
  if (!content.trim()) return 'a message cannot be empty';
  if (utf8Length(content) > MAX_CONTENT_BYTES) return `a message is at most ${MAX_CONTENT_BYTES} bytes`;
  return null;
}

export class ChatClient {
  /**
   * @param {import('./state.js').ChatState} state
   * @param {Object} hooks
   * @param {() => string} hooks.url  the /chat URL (with the token)
   * @param {(code: number) => void} hooks.onAuthFailed
   * @param {(attempts: number) => void} [hooks.onDown]  failed (re)connects in a row
   * @param {(users: string[]) => void} [hooks.onMembers]  members of a channel just read
   * @param {(msg: Object, ch: Object) => void} [hooks.onLiveMessage]  a new message pushed
   */
  constructor(state, hooks) {
    this.state = state;
    this.hooks = hooks;
    this.recovering = false;
    this.joining = new Set();
    this.history = []; // outstanding fetch_history: {channelId, older}, oldest first
    this.changes = []; // outstanding fetch_changes: {channelId}, oldest first
    /** Whether the server answers fetch_changes: null until it is known. */
    this.hasChanges = null;
    this.creating = 0; // channels this page asked to create (open them when they come)
    this.typingSent = new Map(); // channel -> when `typing` last went out
    this.searching = []; // outstanding searches: {query, more}, oldest first
    this.joiningNew = null; // a channel of the directory being joined
    this.socket = new Socket({
      url: hooks.url,
      onOpen: () => this.opened(),
      onFrame: (f) => this.frame(f),
      onDown: ({ attempts }) => {
        state.setConnection('chat', 'down');
        if (hooks.onDown) hooks.onDown(attempts);
      },
      onAuthFailed: hooks.onAuthFailed,
    });
    this.resendTimer = 0;
  }

  start() {
    this.socket.start();
    this.resendTimer = setInterval(() => this.resendStale(), 1000);
  }

  stop() {
    clearInterval(this.resendTimer);
    this.socket.stop();
  }

  // ---- user actions ----

  /** Shows a channel: reads its history once, marks it read. */
  open(channelId) {
    this.state.setActive(channelId);
    const ch = this.state.active;
    if (!ch || !ch.loaded) this.join(channelId);
    this.markRead();
  }

  join(channelId) {
    if (this.joining.has(channelId)) return;
    if (this.socket.send({ type: 'join_channel', channelId })) this.joining.add(channelId);
  }

  /**
   * Sends a message (replyTo: a reply in that root's thread): pending at
   * once, confirmed by its echo.
   * @returns {string|null} why it cannot be sent, or null
   */
  send(channelId, content, replyTo = null) {
    const why = contentError(content);
    if (why) return why;
    this.transmit(this.state.addPending(channelId, content, replyTo));
    this.typingSent.delete(channelId); // the message ends "typing" for the others: the next one may go at once
    return null;
  }

  /** Sends a request frame; returns why it could not go out, or null. */
  request(frame) {
    return this.socket.send(frame) ? null : 'not connected: try again in a moment';
  }

  edit(channelId, messageId, content) {
    return contentError(content) || this.request({ type: 'edit_message', channelId, message_id: messageId, content });
  }

  deleteMessage(channelId, messageId) {
    return this.request({ type: 'delete_message', channelId, message_id: messageId });
  }

  react(channelId, messageId, emoji, add) {
    return this.request({ type: 'react', channelId, message_id: messageId, emoji, op: add ? 'add' : 'remove' });
  }

  /** The user is typing in channelId: tells the others, at most every 3 s. */
  typing(channelId, now = Date.now()) {
    const last = this.typingSent.get(channelId);
    if (last !== undefined && now - last < TYPING_EVERY_MS) return;
    if (this.socket.send({ type: 'typing', channelId })) this.typingSent.set(channelId, now);
  }

  /** Opens root's thread in the side panel and reads its replies (after: the next page). */
  openThread(channelId, rootId, after) {
    if (!after) this.state.openThread(channelId, rootId);
    this.request({ type: 'fetch_thread', channelId, message_id: rootId, limit: 100, after });
  }

  /** Searches (channelId: in that channel only; before: the next, older page). */
  search(query, channelId, before) {
    const q = query.trim();
    if (!q) return 'type something to search for';
    if (utf8Length(q) > 256) return 'a search is at most 256 bytes';
    const why = this.request({ type: 'search', query: q, channelId: channelId || undefined, limit: 50, before });
    if (why) return why;
    this.searching.push({ query: q, more: !!before });
    if (!before) this.state.setSearch(q, null);
    return null;
  }

  listChannels(query) {
    return this.request({ type: 'list_channels', query: query.trim() || undefined, limit: 100 });
  }

  /** Joins a channel of the directory and shows it. */
  joinListed(id, name) {
    const ch = this.state.channels.get(id) || this.state.channel(id);
    if (!ch.loaded) this.joiningNew = id;
    if (!ch.name) ch.name = name;
    this.open(id);
  }

  addMembers(channelId, userIds) {
    return this.request({ type: 'add_members', channelId, userIds });
  }

  removeMember(channelId, userId) {
    return this.request({ type: 'remove_member', channelId, userId });
  }

  setRole(channelId, userId, role) {
    return this.request({ type: 'set_role', channelId, userId, role });
  }

  updateChannel(channelId, name, topic) {
    return this.request({ type: 'update_channel', channelId, name, topic });
  }

  /** Sends a failed message again (the user asked). */
  retry(clientMsgId) {
    const p = this.state.pending.get(clientMsgId);
    if (!p) return;
    p.failed = false;
    p.attempts = 0;
    this.transmit(p);
    this.state.changed('messages');
  }

  /** Forgets a message that was never acknowledged. */
  discard(clientMsgId) {
    if (this.state.pending.delete(clientMsgId)) this.state.changed('messages');
  }

  createChannel(name, participants, priv = false) {
    this.creating += 1;
    return this.socket.send({
      type: 'create_channel', name, participants, kind: 'group', private: priv || undefined,
    });
  }

  openDirect(user) {
    this.creating += 1;
    return this.socket.send({ type: 'create_channel', name: '', participants: [user], kind: 'direct' });
  }

  leave(channelId) {
    return this.socket.send({ type: 'leave_channel', channelId });
  }

  loadOlder(channelId) {
    const ch = this.state.channels.get(channelId);
    if (!ch || !ch.firstStoredId || this.history.some((h) => h.channelId === channelId && h.older)) {
      return;
    }
    this.fetch(channelId, { before: ch.firstStoredId, limit: OLDER_PAGE }, true);
  }

  /** Marks the channel on screen read up to its newest message (when the user can see it). */
  markRead() {
    const ch = this.state.active;
    if (!ch || !this.state.visible) return;
    const latest = this.state.unmarkedLatest(ch);
    if (latest && this.socket.send({ type: 'mark_channel_read', channelId: ch.id, message_id: latest })) {
      ch.lastReadMessageId = latest; // the receipt confirms it
      ch.unread = 0;
      ch.mentions = 0;
      this.state.changed('channels');
    }
  }

  // ---- the socket ----

  opened() {
    this.state.setConnection('chat', 'open');
    this.recovering = true; // the channels_list that opens every connection triggers it
    this.joining.clear();
    this.history = [];
    this.changes = [];
    this.searching = [];
  }

  /** After a (re)connect: catch up on every channel read before, resend the unacknowledged. */
  recover() {
    this.recovering = false;
    for (const ch of this.state.channels.values()) {
      if (!ch.loaded) continue;
      if (ch.lastStoredId) this.catchUp(ch.id, ch.lastStoredId, ch.maxSeq);
      else this.join(ch.id);
    }
    const active = this.state.active;
    if (active && !active.loaded) this.join(active.id);
    for (const p of this.state.pending.values()) if (!p.failed) this.transmit(p);
  }

  transmit(p) {
    p.sentAt = Date.now();
    p.attempts += 1;
    this.socket.send({
      type: 'chat_message',
      channelId: p.channelId,
      content: p.content,
      client_msg_id: p.clientMsgId,
      reply_to: p.replyTo || undefined,
    });
  }

  resendStale() {
    if (!this.socket.open || this.recovering) return;
    const now = Date.now();
    for (const p of this.state.pending.values()) {
      if (p.failed || now - p.sentAt < RESEND_AFTER_MS) continue;
      if (p.attempts >= MAX_ATTEMPTS) {
        p.failed = true;
        this.state.changed('messages');
      } else {
        this.transmit(p);
      }
    }
  }

  /**
   * Reads what a channel missed after message afterId / seq afterSeq:
   * fetch_changes when the server has it (or may have it: the first ask
   * finds out), else fetch_history. afterId null: the newest page.
   */
  catchUp(channelId, afterId, afterSeq) {
    if (this.hasChanges !== false && afterSeq >= 0) {
      if (this.socket.send({ type: 'fetch_changes', channelId, after_seq: afterSeq, limit: CHANGES_PAGE })) {
        this.changes.push({ channelId });
      }
      return;
    }
    this.fetch(channelId, afterId ? { after: afterId, limit: HISTORY_PAGE } : { limit: HISTORY_PAGE }, false);
  }

  fetch(channelId, cursor, older) {
    if (this.socket.send({ type: 'fetch_history', channelId, ...cursor })) {
      this.history.push({ channelId, older });
    }
  }

  frame(f) {
    const st = this.state;
    switch (f.type) {
      case 'channels_list':
        st.setChannels(Array.isArray(f.channels) ? f.channels : []);
        if (this.hooks.onMembers) { // the sidebar shows each DM partner's presence
          this.hooks.onMembers([...st.channels.values()].filter((c) => c.isDirect).flatMap((c) => c.others));
        }
        if (this.recovering) this.recover();
        break;
      case 'channel_created': {
        if (!f.channel || !f.channel.channel_id) break;
        st.addCreated(f.channel);
        if (this.creating > 0) {
          this.creating -= 1;
          st.setActive(f.channel.channel_id);
          this.joining.add(f.channel.channel_id); // channel_joined follows by itself
        }
        break;
      }
      case 'channel_joined': {
        this.joining.delete(f.channelId);
        if (this.joiningNew === f.channelId) this.joiningNew = null;
        const participants = Array.isArray(f.participants) ? f.participants : [];
        const ch = st.setJoined(f.channelId, Array.isArray(f.messages) ? f.messages : [], participants);
        if (this.hooks.onMembers) this.hooks.onMembers([...ch.members.keys()]);
        if (ch.id === st.activeId) this.markRead();
        break;
      }
      case 'channel_left':
        st.leave(f.channelId);
        break;
      case 'chat_message':
      case 'system':
        this.live(f);
        break;
      case 'history': {
        const i = this.history.findIndex((h) => h.channelId === f.channel_id);
        const req = i >= 0 ? this.history.splice(i, 1)[0] : { older: false };
        const msgs = Array.isArray(f.messages) ? f.messages : [];
        st.addHistory(f.channel_id, msgs, !!f.has_more, req.older);
        if (!req.older && f.has_more && msgs.length) {
          this.fetch(f.channel_id, { after: msgs[msgs.length - 1].message_id, limit: HISTORY_PAGE }, false);
        }
        if (f.channel_id === st.activeId) this.markRead();
        break;
      }
      case 'changes': {
        this.hasChanges = true;
        const i = this.changes.findIndex((c) => c.channelId === f.channel_id);
        if (i >= 0) this.changes.splice(i, 1);
        const events = Array.isArray(f.events) ? f.events : [];
        for (const e of events) { // in seq order; those applied already are skipped (state.place)
          if (!e || e.channel_id !== f.channel_id) continue;
          if (e.type === 'chat_message' || e.type === 'system') st.addMessage(e, false, true);
          else if (CHANGE_TYPES.has(e.type)) st.applyChange(e, false);
        }
        const last = events.length ? events[events.length - 1].seq : 0;
        if (f.has_more && last > 0) this.catchUp(f.channel_id, null, last);
        if (f.channel_id === st.activeId) this.markRead();
        break;
      }
      case 'message_updated':
      case 'message_deleted':
      case 'reaction': {
        const gap = st.applyChange(f, true);
        if (gap) this.catchUp(f.channel_id, gap.after, gap.afterSeq);
        break;
      }
      case 'channel_read':
        st.setRead(f.channel_id, f.user_id, f.last_read_message_id);
        break;
      case 'typing':
        st.setTyping(f);
        setTimeout(() => st.changed('typing'), (Number(f.expires_ms) || 6000) + 50);
        break;
      case 'thread':
        st.setThread(f);
        break;
      case 'search_results': {
        const req = this.searching.shift() || { query: f.query, more: false };
        st.setSearch(req.query, f, req.more);
        break;
      }
      case 'channel_directory':
        st.setDirectory(f);
        break;
      case 'error':
        if (f.request_type === 'fetch_changes') {
          const req = this.changes.shift();
          if (f.code === 'unknown_type') { // a server of protocol 1.0: history it is
            this.hasChanges = false;
            const ch = req && st.channels.get(req.channelId);
            if (ch) this.catchUp(ch.id, ch.lastStoredId, 0);
            break;
          }
        }
        if (f.request_type === 'fetch_history') this.history.shift();
        if (f.request_type === 'search') {
          const req = this.searching.shift();
          st.setSearch(req ? req.query : '', null, false, f.error || 'the search failed');
          break;
        }
        if (f.request_type === 'join_channel') {
          this.joining.clear();
          if (this.joiningNew) st.leave(this.joiningNew); // the directory's channel is not ours
          this.joiningNew = null;
        }
        if (f.request_type === 'create_channel' && this.creating > 0) this.creating -= 1;
        if (f.code !== 'rate_limited') st.notice(f.error || 'the server reported an error');
        break;
      default:
        break; // frames of later protocol versions: ignored until handled
    }
  }

  live(msg) {
    if (!msg.channel_id || !msg.message_id) return;
    const st = this.state;
    const wasKnown = st.channels.get(msg.channel_id)?.messages.has(msg.message_id);
    const gap = st.addMessage(msg, true);
    if (gap) this.catchUp(msg.channel_id, gap.after, gap.afterSeq); // no `after`: the newest page covers it
    const ch = st.channels.get(msg.channel_id);
    if (!ch || wasKnown) return;
    if (ch.id === st.activeId) this.markRead();
    if (this.hooks.onLiveMessage) this.hooks.onLiveMessage(msg, ch);
  }
}
