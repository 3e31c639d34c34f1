// channel: the conversation on screen — its header and its messages.
// Each message is rendered from state on its own and keyed by message_id
// (pending ones by client_msg_id): a render rebuilds only the messages
// whose look changed and moves the rest into place, so the list keeps its
// scroll position, selection and focus while messages stream in.

import { el, clear, linkify, formatTime } from '../dom.js';

const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages of one author share a header

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(channelId: string) => void} opts.onLoadOlder
 * @param {(channelId: string) => void} opts.onLeave
 * @param {(clientMsgId: string) => void} opts.onRetry
 * @param {(clientMsgId: string) => void} opts.onDiscard
 */
export function channelView(opts) {
  const { state } = opts;
  const title = el('h2', { id: 'channel-title' });
  const subtitle = el('span', { class: 'muted', id: 'channel-subtitle' });
  const leave = el('button', {
    type: 'button', class: 'link', id: 'leave-channel', hidden: true,
    onclick: () => state.activeId && opts.onLeave(state.activeId),
  }, 'Leave');
  const older = el('button', {
    type: 'button', class: 'link older', id: 'load-older', hidden: true,
    onclick: () => state.activeId && opts.onLoadOlder(state.activeId),
  }, 'Load older messages');
  const list = el('ol', { class: 'messages', id: 'messages' });
  const empty = el('p', { class: 'empty muted' });
  const scroller = el('div', {
    class: 'scroller', role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'channel-title',
    tabindex: 0,
  }, older, list, empty);
  const root = el('section', { class: 'channel-pane', 'aria-labelledby': 'channel-title' },
    el('header', { class: 'channel-head' }, el('div', {}, title, subtitle), leave),
    scroller);

  /** key -> {sig, node} of what is in the list now */
  let nodes = new Map();
  let shownId = null;

  function render() {
    const ch = state.active;
    if (!ch) {
      shownId = null;
      nodes = new Map();
      clear(list);
      title.textContent = 'No conversation open';
      subtitle.textContent = '';
      leave.hidden = true;
      older.hidden = true;
      empty.textContent = state.channels.size
        ? 'Pick a conversation on the left.'
        : 'No conversations yet: start a channel or a direct message with the + buttons.';
      empty.hidden = false;
      return;
    }
    const switched = shownId !== ch.id;
    if (switched) {
      shownId = ch.id;
      nodes = new Map();
      clear(list);
    }
    title.textContent = ch.isDirect ? ch.title : `# ${ch.title}`;
    subtitle.textContent = ch.isDirect ? state.statusOf(ch.others[0])
      : `${ch.members.size || ch.others.length + 1} members`;
    leave.hidden = ch.isDirect;
    older.hidden = !ch.loaded || !ch.hasOlder;
    empty.hidden = !ch.loaded || ch.order.length > 0 || state.pendingIn(ch.id).length > 0;
    empty.textContent = ch.loaded ? 'No messages yet. Say hello!' : '';

    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    const firstBefore = list.firstElementChild;
    const heightBefore = scroller.scrollHeight;
    reconcile(items(ch));
    if (switched || nearBottom) scroller.scrollTop = scroller.scrollHeight;
    else if (firstBefore && list.firstElementChild !== firstBefore) {
      scroller.scrollTop += scroller.scrollHeight - heightBefore; // older ones came in above
    }
  }

  /** What the list should show, in order: {key, sig, build}. */
  function items(ch) {
    const seenBy = readersByMessage(ch);
    const out = [];
    let prev = null;
    for (const id of ch.order) {
      const m = ch.messages.get(id);
      const compact = !!prev && prev.user_id === m.user_id && m.user_id !== 'system'
        && Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_WINDOW_MS;
      const readers = seenBy.get(id) || [];
      out.push({
        key: id,
        sig: `${m.content}\u0000${compact}\u0000${readers.join(',')}`,
        build: () => messageNode(m, compact, readers),
      });
      prev = m;
    }
    for (const p of state.pendingIn(ch.id)) {
      out.push({
        key: `p:${p.clientMsgId}`,
        sig: String(p.failed),
        build: () => pendingNode(p),
      });
    }
    return out;
  }

  /**
   * Read receipts under the user's own messages: message_id -> [users]. Each
   * other member is shown once, under the newest message of ours that their
   * read mark (a receipt seen live) covers.
   */
  function readersByMessage(ch) {
    const map = new Map();
    for (const [user, markId] of ch.reads) {
      if (user === state.me) continue;
      let i = ch.order.indexOf(markId);
      while (i >= 0 && ch.messages.get(ch.order[i]).user_id !== state.me) i -= 1;
      if (i < 0) continue;
      const id = ch.order[i];
      if (!map.has(id)) map.set(id, []);
      map.get(id).push(user);
    }
    for (const users of map.values()) users.sort();
    return map;
  }

  function reconcile(wanted) {
    const next = new Map();
    let cursor = list.firstElementChild;
    for (const w of wanted) {
      let entry = nodes.get(w.key);
      if (!entry || entry.sig !== w.sig) {
        if (entry) { // its look changed: the new node takes its place below
          if (entry.node === cursor) cursor = cursor.nextElementSibling;
          entry.node.remove();
        }
        entry = { sig: w.sig, node: w.build() };
      }
      next.set(w.key, entry);
      if (entry.node !== cursor) list.insertBefore(entry.node, cursor);
      else cursor = cursor.nextElementSibling;
    }
    for (const [key, entry] of nodes) if (!next.has(key)) entry.node.remove();
    nodes = next;
  }

  function messageNode(m, compact, readers) {
    if (m.user_id === 'system') {
      return el('li', { class: 'msg system', 'data-message-id': m.message_id, 'data-seq': m.seq },
        el('span', { class: 'text' }, m.content));
    }
    const mine = m.user_id === state.me;
    return el('li', {
      class: `msg${mine ? ' mine' : ''}${compact ? ' compact' : ''}`,
      'data-message-id': m.message_id,
      'data-seq': m.seq,
    },
    !compact && el('div', { class: 'meta' },
      el('span', { class: 'author' }, m.user_id), ' ',
      el('time', { datetime: m.created_at, title: m.created_at }, formatTime(m.created_at))),
    el('div', { class: 'text' }, linkify(String(m.content))),
    readers.length > 0 && el('div', { class: 'seen' }, `Seen by ${readers.join(', ')}`));
  }

  function pendingNode(p) {
    return el('li', {
      class: `msg mine pending${p.failed ? ' failed' : ''}`, 'data-client-msg-id': p.clientMsgId,
    },
    el('div', { class: 'meta' },
      el('span', { class: 'author' }, state.me), ' ',
      el('span', { class: 'state' }, p.failed ? 'not sent' : 'sending…')),
    el('div', { class: 'text' }, linkify(p.content)),
    p.failed && el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'link', onclick: () => opts.onRetry(p.clientMsgId) }, 'Retry'),
      el('button', { type: 'button', class: 'link', onclick: () => opts.onDiscard(p.clientMsgId) }, 'Discard')));
  }

  render();
  return { root, render };
}
