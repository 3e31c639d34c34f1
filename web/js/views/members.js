// members: who is in the conversation on screen, with their presence — a
// `complementary` landmark labelled "Members", each entry the member's
// name and their status word (online, away, busy, offline). "Add people"
// (any member of a public channel, an admin of a private one); an admin
// also gets, per member, "Make admin"/"Make member" and "Remove".

import { el, replaceChildren } from '../dom.js';
import { parseUsers } from './dialogs.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(channelId: string, users: string[]) => string|null} opts.onAdd
 * @param {(channelId: string, user: string) => void} opts.onRemove
 * @param {(channelId: string, user: string, role: string) => void} opts.onRole
 */
export function membersView({
  state, onAdd, onRemove, onRole,
}) {
  const list = el('ul', { class: 'member-list', id: 'member-list' });
  const count = el('span', { class: 'count' });
  const heading = el('h2', { id: 'members-title' }, 'Members ', count);
  const people = el('input', {
    id: 'add-people', 'aria-label': 'Add people', placeholder: 'bob, carol', autocomplete: 'off',
    spellcheck: 'false', autocapitalize: 'off',
  });
  const error = el('p', { class: 'form-error', role: 'alert' });
  const add = el('form', {
    class: 'add-people',
    onsubmit: (ev) => {
      ev.preventDefault();
      const users = parseUsers(people.value, state.me);
      const why = typeof users === 'string' ? users
        : users.length ? onAdd(state.activeId, users) : 'name someone to add';
      error.textContent = why || '';
      if (!why) people.value = '';
    },
  }, people, el('button', { type: 'submit' }, 'Add'), error);
  // Named by title (see the log in channel.js): the "Members" field of the
  // new-channel dialog stays the only element labelled "Members".
  const root = el('aside', { class: 'members', id: 'members', title: 'Members' }, heading, list, add);

  const rank = { online: 0, busy: 1, away: 2, offline: 3 };

  function render() {
    const ch = state.active;
    root.hidden = !ch || state.panel !== 'members';
    if (root.hidden) return;
    const admin = state.isAdmin(ch) && !ch.isDirect;
    const users = ch.members.size ? [...ch.members.keys()] : [state.me, ...ch.others];
    users.sort((a, b) => (rank[state.statusOf(a)] ?? 3) - (rank[state.statusOf(b)] ?? 3)
      || a.localeCompare(b));
    count.textContent = `(${users.length})`;
    replaceChildren(list, users.map((u) => {
      const status = state.statusOf(u);
      const role = ch.members.get(u);
      return el('li', { 'data-user': u, 'data-status': status },
        el('span', { class: 'dot', 'data-status': status, 'aria-hidden': 'true' }),
        el('span', { class: 'name' }, u), ' ',
        u === state.me && el('span', { class: 'you muted' }, '(you) '),
        el('span', { class: 'status muted' }, status),
        role === 'admin' && el('span', { class: 'role muted' }, ' · admin'),
        admin && u !== state.me && el('span', { class: 'manage' },
          el('button', {
            type: 'button', class: 'link', 'aria-label': `Make ${u} ${role === 'admin' ? 'a member' : 'an admin'}`,
            onclick: () => onRole(ch.id, u, role === 'admin' ? 'member' : 'admin'),
          }, role === 'admin' ? 'Make member' : 'Make admin'),
          el('button', {
            type: 'button', class: 'link danger', 'aria-label': `Remove ${u}`, onclick: () => onRemove(ch.id, u),
          }, 'Remove')));
    }));
    add.hidden = ch.isDirect || (ch.private && !admin);
  }

  render();
  return { root, render };
}
