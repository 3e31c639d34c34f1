// channel: the conversation on screen — its header and its messages, a
// `log` labelled "Messages" with one `article` per message (sender, time,
// text), grouped by day (a heading per day) and by sender (consecutive
// messages of one author show the name once; it stays in each article for
// screen readers). Scrolling near the top reads older messages
// (fetch_history before). Each item is rendered from state on its own and
// keyed (messages by message_id, pending ones by client_msg_id, days by
// date): a render rebuilds only the items whose look changed and moves the
// rest into place, so the list keeps its scroll position, selection and
// focus while messages stream in. Replies live in the thread panel; their
// root shows how many there are. The header shows the topic, and to admins
// "Edit channel".

import { el, linkify, formatDay, dayKey } from '../dom.js';
import { keyedList, meta } from './message.js';

const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages of one author share a header
const LOAD_OLDER_PX = 150; // this close to the top: read older messages

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(channelId: string) => void} opts.onLoadOlder
 * @param {(channelId: string) => void} opts.onLeave
 * @param {(clientMsgId: string) => void} opts.onRetry
 * @param {(clientMsgId: string) => void} opts.onDiscard
 * @param {() => void} opts.onEditChannel
 * @param {ReturnType<import('./message.js').messageRenderer>} opts.render  draws messages
 * @param {HTMLElement} [opts.headStart]  shown first in the header (the narrow layout's menu)
 */
export function channelView(opts) {
  const { state } = opts;
  const title = el('h2', { id: 'channel-title' });
  const subtitle = el('span', { class: 'muted', id: 'channel-subtitle' });
  const topic = el('p', { class: 'topic muted', id: 'channel-topic' });
  const edit = el('button', {
    type: 'button', class: 'link', id: 'edit-channel', hidden: true, onclick: () => opts.onEditChannel(),
  }, 'Edit channel');
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
      el('div', { class: 'channel-names' }, title, subtitle, topic),
      edit, leave),
    scroller);

  const keyed = keyedList(list);
  let shownId = null;
  let reveal = null; // a message to scroll to once it is shown

  function loadOlder() {
    const ch = state.active;
    if (ch && ch.loaded && ch.hasOlder) opts.onLoadOlder(ch.id);
  }

  function render() {
    const ch = state.active;
    if (!ch) {
      shownId = null;
      keyed.reset();
      title.textContent = 'No conversation open';
      subtitle.textContent = '';
      topic.textContent = '';
      leave.hidden = true;
      edit.hidden = true;
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
      keyed.reset();
    }
    title.textContent = ch.title;
    subtitle.textContent = ch.isDirect ? `direct message · ${state.statusOf(ch.others[0])}`
      : `${ch.private ? 'private · ' : ''}${ch.members.size || ch.memberCount || ch.others.length + 1} members`;
    topic.textContent = ch.topic;
    leave.hidden = ch.isDirect;
    edit.hidden = ch.isDirect || !state.isAdmin(ch);
    older.hidden = !ch.loaded || !ch.hasOlder;
    empty.hidden = !ch.loaded || ch.order.length > 0 || state.pendingIn(ch.id).length > 0;
    empty.textContent = ch.loaded ? 'No messages yet. Say hello!' : '';

    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    const anchor = switched || nearBottom ? null : firstVisible();
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    keyed.reconcile(items(ch));
    if (switched || nearBottom) scroller.scrollTop = scroller.scrollHeight;
    else if (anchor) { // older ones came in above: keep what the user reads in place
      const now = keyed.get(anchor.dataset.key); // (rebuilt when its look changed)
      if (now) scroller.scrollTop += now.node.getBoundingClientRect().top - anchorTop;
    }
    const target = reveal && keyed.get(reveal);
    if (target) {
      reveal = null;
      target.node.scrollIntoView({ block: 'center' });
      target.node.classList.add('flash');
      setTimeout(() => target.node.classList.remove('flash'), 2000);
    } else if (reveal && ch.loaded) { // older than what is read: read on, or give up
      if (ch.hasOlder) queueMicrotask(loadOlder);
      else reveal = null;
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
      if (m.reply_to) continue; // in its thread
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
      out.push({ key: id, sig: opts.render.sig(m, compact, readers), build: () => opts.render.node(m, compact, readers) });
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
  return {
    root,
    render,
    /** Scrolls to message id (now or once it is shown) and highlights it for a moment. */
    reveal(id) {
      reveal = id;
      render();
    },
  };
}
