// members: who is in the conversation on screen, with their presence — a
// `complementary` landmark labelled "Members", each entry the member's
// name and their status word (online, away, busy, offline).

import { el, replaceChildren } from '../dom.js';

/** @param {{state: import('../state.js').ChatState}} opts */
export function membersView({ state }) {
  const list = el('ul', { class: 'member-list', id: 'member-list' });
  const count = el('span', { class: 'count' });
  const heading = el('h2', { id: 'members-title' }, 'Members ', count);
  // Named by title (see the log in channel.js): the "Members" field of the
  // new-channel dialog stays the only element labelled "Members".
  const root = el('aside', { class: 'members', id: 'members', title: 'Members' }, heading, list);

  const rank = { online: 0, busy: 1, away: 2, offline: 3 };

  function render() {
    const ch = state.active;
    root.hidden = !ch;
    if (!ch) return;
    const users = ch.members.size ? [...ch.members.keys()] : [state.me, ...ch.others];
    users.sort((a, b) => (rank[state.statusOf(a)] ?? 3) - (rank[state.statusOf(b)] ?? 3)
      || a.localeCompare(b));
    count.textContent = `(${users.length})`;
    replaceChildren(list, users.map((u) => {
      const status = state.statusOf(u);
      return el('li', { 'data-user': u, 'data-status': status },
        el('span', { class: 'dot', 'data-status': status, 'aria-hidden': 'true' }),
        el('span', { class: 'name' }, u), ' ',
        u === state.me && el('span', { class: 'you muted' }, '(you) '),
        el('span', { class: 'status muted' }, status),
        ch.members.get(u) === 'admin' && el('span', { class: 'role muted' }, ' · admin'));
    }));
  }

  render();
  return { root, render };
}
