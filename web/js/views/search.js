// search: the search box ("Search messages", in the sidebar; Enter
// searches every channel of the user) and the side panel of its results, a
// `complementary` landmark "Search results": newest first, each a button
// that shows the message in its channel; "More results" reads older ones.

import { el, replaceChildren, formatTime } from '../dom.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(query: string, before?: string) => string|null} opts.onSearch  an error sentence or null
 * @param {(m: Object) => void} opts.onJump  shows message m
 * @param {() => void} opts.onClose
 */
export function searchView(opts) {
  const { state } = opts;
  const input = el('input', {
    type: 'search', id: 'search-input', 'aria-label': 'Search messages', placeholder: 'Search messages',
    maxlength: 256, autocomplete: 'off',
  });
  const box = el('form', {
    class: 'search-box', role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      const why = opts.onSearch(input.value);
      if (why) state.setSearch(input.value, null, false, why);
    },
  }, input);
  const status = el('p', { class: 'muted', id: 'search-status', role: 'status' });
  const list = el('ul', { class: 'results', id: 'search-results' });
  const more = el('button', {
    type: 'button', class: 'link older', hidden: true,
    onclick: () => {
      const s = state.search;
      if (s && s.messages.length) opts.onSearch(s.query, s.messages[s.messages.length - 1].message_id);
    },
  }, 'More results');
  const root = el('aside', { class: 'side-panel search', id: 'search', title: 'Search results', hidden: true },
    el('header', { class: 'panel-head' }, el('h2', {}, 'Search results'),
      el('button', { type: 'button', class: 'link', onclick: () => opts.onClose() }, 'Close search')),
    el('div', { class: 'scroller' }, status, list, more));

  function render() {
    const s = state.search;
    root.hidden = state.panel !== 'search' || !s;
    if (root.hidden) return;
    status.textContent = s.error || (s.loading ? 'Searching…'
      : `${s.messages.length}${s.hasMore ? '+' : ''} ${s.messages.length === 1 ? 'message matches' : 'messages match'} “${s.query}”`);
    replaceChildren(list, s.messages.map((m) => {
      const ch = state.channels.get(m.channel_id);
      return el('li', {}, el('button', {
        type: 'button', class: 'result', 'data-message-id': m.message_id, onclick: () => opts.onJump(m),
      },
      el('span', { class: 'meta' }, el('span', { class: 'author' }, m.user_id), ' in ',
        el('span', { class: 'where' }, ch ? ch.title : 'a channel'), ' · ', formatTime(m.created_at)),
      el('span', { class: 'text' }, m.content)));
    }));
    more.hidden = !s.hasMore;
  }

  render();
  return { root, box, render };
}
