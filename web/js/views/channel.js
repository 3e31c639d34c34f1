// channel: the conversation on screen — its header and its messages, a
// `log` labelled "Messages" with one `article` per message (sender, time,
// text), grouped by day (a heading per day) and by sender (consecutive
// messages of one author show the name once; it stays in each article for
// screen readers). Scrolling near the top reads older messages
// (fetch_history before). Each item is rendered from state on its own and
// keyed (messages by message_id, pending ones by client_msg_id, days by
// date): a render rebuilds only the items whose look changed and moves the
// rest into place, so the list keeps its scroll position, selection and
// focus while messages stream in.

import {
  el, clear, linkify, formatTime, formatDay, dayKey,
} from '../dom.js';

const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages of one author share a header
const LOAD_OLDER_PX = 150; // this close to the top: read older messages

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(channelId: string) => void} opts.onLoadOlder
 * @param {(channelId: string) => void} opts.onLeave
 * @param {(clientMsgId: string) => void} opts.onRetry
 * @param {(clientMsgId: string) => void} opts.onDiscard
 * @param {HTMLElement} [opts.headStart]  shown first in the header (the narrow layout's menu)
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
    onclick: () => loadOlder(),
  }, 'Load older messages');
  const list = el('div', { class: 'messages', id: 'messages' });
  const empty = el('p', { class: 'empty muted' });
  const scroller = el('div', {
    // Named by title, not aria-label: the same name for screen readers, but
    // not a label that a search for the "Message" field would also find.
    class: 'scroller', id: 'message-log', role: 'log', title: 'Messages', tabindex: 0,
    onscroll: () => {
      if (scroller.scrollTop < LOAD_OLDER_PX) loadOlder();
    },
  }, older, list, empty);
  const root = el('section', { class: 'channel-pane', 'aria-labelledby': 'channel-title' },
    el('header', { class: 'channel-head' },
      opts.headStart || null,
      el('div', { class: 'channel-names' }, title, subtitle),
      leave),
    scroller);

  /** key -> {sig, node} of what is in the list now */
  let nodes = new Map();
  let shownId = null;

  function loadOlder() {
    const ch = state.active;
    if (ch && ch.loaded && ch.hasOlder) opts.onLoadOlder(ch.id);
  }

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
        ? 'Pick a conversation in the channel list.'
        : 'No conversations yet: start a channel or a direct message.';
      empty.hidden = false;
      return;
    }
    const switched = shownId !== ch.id;
    if (switched) {
      shownId = ch.id;
      nodes = new Map();
      clear(list);
    }
    title.textContent = ch.title;
    subtitle.textContent = ch.isDirect ? `direct message · ${state.statusOf(ch.others[0])}`
      : `${ch.members.size || ch.others.length + 1} members`;
    leave.hidden = ch.isDirect;
    older.hidden = !ch.loaded || !ch.hasOlder;
    empty.hidden = !ch.loaded || ch.order.length > 0 || state.pendingIn(ch.id).length > 0;
    empty.textContent = ch.loaded ? 'No messages yet. Say hello!' : '';

    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    const anchor = switched || nearBottom ? null : firstVisible();
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    reconcile(items(ch));
    if (switched || nearBottom) scroller.scrollTop = scroller.scrollHeight;
    else if (anchor) { // older ones came in above: keep what the user reads in place
      const now = nodes.get(anchor.dataset.key); // (rebuilt when its look changed)
      if (now) scroller.scrollTop += now.node.getBoundingClientRect().top - anchorTop;
    }
    // Too few messages to scroll: read older ones until the log can scroll.
    if (ch.loaded && ch.hasOlder && scroller.scrollHeight <= scroller.clientHeight + LOAD_OLDER_PX) {
      queueMicrotask(loadOlder);
    }
  }

  /** The first message (not a day heading) in view: what must not move. */
  function firstVisible() {
    const top = scroller.getBoundingClientRect().top;
    for (let n = list.firstElementChild; n; n = n.nextElementSibling) {
      if (!n.classList.contains('day') && n.getBoundingClientRect().bottom > top) return n;
    }
    return null;
  }

  /** What the list should show, in order: {key, sig, build}. */
  function items(ch) {
    const seenBy = state.readers(ch);
    const out = [];
    let prev = null;
    let day = '';
    for (const id of ch.order) {
      const m = ch.messages.get(id);
      const d = dayKey(m.created_at);
      if (d !== day) {
        day = d;
        prev = null;
        const label = formatDay(m.created_at);
        out.push({ key: `d:${d}`, sig: label, build: () => el('h3', { class: 'day' }, label) });
      }
      const compact = !!prev && prev.user_id === m.user_id && m.user_id !== 'system'
        && Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_WINDOW_MS;
      const readers = seenBy.get(id) || [];
      out.push({
        key: id,
        sig: JSON.stringify([m.content, m.deleted, m.edited_at, m.reactions, compact, readers]),
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
        entry.node.dataset.key = w.key;
      }
      next.set(w.key, entry);
      if (entry.node !== cursor) list.insertBefore(entry.node, cursor);
      else cursor = cursor.nextElementSibling;
    }
    for (const [key, entry] of nodes) if (!next.has(key)) entry.node.remove();
    nodes = next;
  }

  /** The sender and the time; shown once per group, always there for screen readers. */
  function meta(user, extra, hidden) {
    return el('header', { class: hidden ? 'meta visually-hidden' : 'meta' },
      el('span', { class: 'author' }, user), ' ', extra);
  }

  function messageNode(m, compact, readers) {
    if (m.user_id === 'system') {
      return el('p', {
        class: 'notice', role: 'note', 'data-message-id': m.message_id, 'data-seq': m.seq,
      }, m.content);
    }
    const mine = m.user_id === state.me;
    const reactions = Array.isArray(m.reactions) ? m.reactions : [];
    return el('article', {
      class: `msg${mine ? ' mine' : ''}${compact ? ' compact' : ''}${m.deleted ? ' deleted' : ''}`,
      'data-message-id': m.message_id,
      'data-seq': m.seq,
    },
    meta(m.user_id, el('time', { datetime: m.created_at, title: m.created_at }, formatTime(m.created_at)), compact),
    el('div', { class: 'text' }, m.deleted ? el('em', {}, 'This message was deleted.') : linkify(String(m.content))),
    m.edited_at && !m.deleted && el('span', { class: 'edited muted' }, '(edited)'),
    reactions.length > 0 && el('ul', { class: 'reactions', 'aria-label': 'Reactions' },
      reactions.map((r) => el('li', { title: (r.users || []).join(', ') }, `${r.emoji} ${r.count}`))),
    readers.length > 0 && el('p', { class: 'seen' }, `Seen by ${readers.join(', ')}`));
  }

  function pendingNode(p) {
    return el('article', {
      class: `msg mine pending${p.failed ? ' failed' : ''}`, 'data-client-msg-id': p.clientMsgId,
    },
    meta(state.me, el('span', { class: 'state' }, p.failed ? 'not sent' : 'sending…'), false),
    el('div', { class: 'text' }, linkify(p.content)),
    p.failed && el('div', { class: 'actions' },
      el('button', { type: 'button', class: 'link', onclick: () => opts.onRetry(p.clientMsgId) }, 'Retry'),
      el('button', { type: 'button', class: 'link', onclick: () => opts.onDiscard(p.clientMsgId) }, 'Discard')));
  }

  render();
  return { root, render };
}
