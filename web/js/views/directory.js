// directory: the channel browser — a dialog "Browse channels" listing the
// public channels (list_channels), filtered by "Find a channel" as the user
// types, each with its topic and member count and "Join" (or "Open" for
// one the user is in).

import { el, replaceChildren } from '../dom.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(query: string) => void} opts.onList
 * @param {(id: string, name: string) => void} opts.onJoin  joins (or opens) and shows it
 */
export function directoryView({ state, onList, onJoin }) {
  let timer = 0;
  const query = el('input', {
    type: 'search', id: 'directory-query', 'aria-label': 'Find a channel', placeholder: 'Find a channel', autocomplete: 'off',
    oninput: () => {
      clearTimeout(timer);
      timer = setTimeout(() => onList(query.value), 250);
    },
  });
  const list = el('ul', { class: 'directory', id: 'directory-list' });
  const dialog = el('dialog', { id: 'directory-dialog', 'aria-labelledby': 'directory-title' },
    el('h2', { id: 'directory-title' }, 'Browse channels'),
    query, list,
    el('div', { class: 'form-actions' }, el('button', { type: 'button', onclick: () => dialog.close() }, 'Close')));
  dialog.addEventListener('close', () => dialog.remove());

  function render() {
    if (!dialog.open) return;
    const { channels } = state.directory;
    replaceChildren(list, channels.length === 0 ? el('li', { class: 'muted' }, 'No channel matches.')
      : channels.map((c) => el('li', { 'data-channel-id': c.channel_id },
        el('div', { class: 'what' }, el('strong', {}, c.name), ' ',
          el('span', { class: 'muted' }, `${c.member_count} ${c.member_count === 1 ? 'member' : 'members'}`),
          c.topic && el('p', { class: 'topic muted' }, c.topic)),
        el('button', {
          type: 'button', 'aria-label': `${c.is_member ? 'Open' : 'Join'} ${c.name}`,
          onclick: () => {
            dialog.close();
            onJoin(c.channel_id, c.name);
          },
        }, c.is_member ? 'Open' : 'Join'))));
  }

  return {
    render,
    open() {
      if (dialog.open) return;
      query.value = '';
      replaceChildren(list);
      document.body.append(dialog);
      dialog.showModal();
      onList('');
    },
  };
}
