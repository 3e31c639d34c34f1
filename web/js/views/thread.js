// thread: the side panel of one thread — a `complementary` landmark
// "Thread": its root message, the replies oldest first (a `log` "Replies"),
// "Load more replies" while the server has more, and the reply composer
// ("Reply", "Send reply").

import { el } from '../dom.js';
import { keyedList, meta } from './message.js';
import { composerView } from './composer.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {ReturnType<import('./message.js').messageRenderer>} opts.render
 * @param {(channelId: string, text: string, rootId: string) => string|null} opts.onSend
 * @param {(channelId: string) => void} opts.onTyping
 * @param {() => void} opts.onMore  reads the next page of replies
 * @param {() => void} opts.onClose
 */
export function threadView(opts) {
  const { state } = opts;
  const list = el('div', { class: 'messages' });
  const keyed = keyedList(list);
  const root = el('div', { class: 'thread-root' });
  const rootKeyed = keyedList(root);
  const more = el('button', { type: 'button', class: 'link older', hidden: true, onclick: () => opts.onMore() },
    'Load more replies');
  const count = el('p', { class: 'muted thread-count' });
  const composer = composerView({
    state,
    id: 'reply',
    label: 'Reply',
    sendText: 'Send reply',
    placeholder: 'Reply…',
    channelId: () => (state.thread ? state.thread.channelId : null),
    onSend: (ch, text) => opts.onSend(ch, text, state.thread.rootId),
    onTyping: opts.onTyping,
  });
  const scroller = el('div', { class: 'scroller', role: 'log', title: 'Replies', tabindex: 0 }, root, count, list, more);
  const node = el('aside', { class: 'side-panel thread', id: 'thread', title: 'Thread', hidden: true },
    el('header', { class: 'panel-head' }, el('h2', {}, 'Thread'),
      el('button', { type: 'button', class: 'link', onclick: () => opts.onClose() }, 'Close thread')),
    scroller, composer.root);

  function render() {
    const t = state.thread;
    node.hidden = state.panel !== 'thread' || !t;
    if (node.hidden) return;
    const r = t.root;
    rootKeyed.reconcile(r ? [{ key: r.message_id, sig: opts.render.sig(r), build: () => opts.render.node(r, false, [], true) }] : []);
    const replies = state.threadReplies();
    count.textContent = `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`;
    const nearBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    keyed.reconcile([
      ...replies.map((m) => ({ key: m.message_id, sig: opts.render.sig(m), build: () => opts.render.node(m, false, [], true) })),
      ...state.pendingIn(t.channelId, t.rootId).map((p) => ({
        key: `p:${p.clientMsgId}`, sig: String(p.failed), build: () => el('article', { class: 'msg mine pending' },
          meta(state.me, p.failed ? 'not sent' : 'sending…'),
          el('div', { class: 'text' }, p.content)),
      })),
    ]);
    more.hidden = !t.hasMore;
    if (nearBottom) scroller.scrollTop = scroller.scrollHeight;
    composer.render();
  }

  render();
  return {
    root: node,
    render,
    focus: () => composer.focus(),
  };
}
