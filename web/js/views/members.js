// members: who is in the conversation on screen, with their presence.

import { el, replaceChildren } from '../dom.js';

/** @param {{state: import('../state.js').ChatState}} opts */
export function membersView({ state }) {
  const list = el('ul', { class: 'member-list', id: 'member-list' });
  const heading = el('h2', { id: 'members-title' }, 'Members');
  const root = el('aside', { class: 'members', 'aria-labelledby': 'members-title' }, heading, list);

  const rank = { online: 0, busy: 1, away: 2, offline: 3 };

  function render() {
    const ch = state.active;
    root.hidden = !ch;
    if (!ch) return;
    const users = ch.members.size ? [...ch.members.keys()] : [state.me, ...ch.others];
    users.sort((a, b) => (rank[state.statusOf(a)] ?? 3) - (rank[state.statusOf(b)] ?? 3)
      || a.localeCompare(b));
    heading.textContent = `Members (${users.length})`;
    replaceChildren(list, users.map((u) => {
      const status = state.statusOf(u);
      return el('li', { 'data-user': u, 'data-status': status },
        el('span', { class: 'dot', 'data-status': status, 'aria-hidden': 'true' }),
        el('span', { class: 'name' }, u === state.me ? `${u} (you)` : u),
        ch.members.get(u) === 'admin' && el('span', { class: 'role muted' }, 'admin'),
        el('span', { class: 'visually-hidden' }, `, ${status}`));
    }));
  }

  render();
  return { root, render };
}
