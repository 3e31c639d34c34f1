// sidebar: the user (with their status), the channel and direct-message
// lists with unread counts and presence, and the buttons that start new
// conversations. Re-rendered whole from state: it is small.

import { el, replaceChildren } from '../dom.js';
import { STATUSES } from '../presence.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(id: string) => void} opts.onOpen
 * @param {(status: string) => void} opts.onStatus
 * @param {() => void} opts.onNewChannel
 * @param {() => void} opts.onNewDirect
 * @param {() => void} opts.onLogout
 * @param {(() => void)|null} opts.onEnableNotifications  null when not offered
 */
export function sidebarView(opts) {
  const { state } = opts;
  const status = el('select', {
    id: 'my-status', 'aria-label': 'Your status',
    onchange: (ev) => opts.onStatus(ev.target.value),
  }, STATUSES.map((s) => el('option', { value: s }, s)));
  const groups = el('ul', { class: 'channel-list', id: 'channel-list', 'aria-label': 'Channels' });
  const directs = el('ul', { class: 'channel-list', id: 'direct-list', 'aria-label': 'Direct messages' });
  const notifyBtn = opts.onEnableNotifications
    ? el('button', { type: 'button', class: 'link', onclick: opts.onEnableNotifications }, 'Enable notifications')
    : null;

  const root = el('aside', { class: 'sidebar' },
    el('header', { class: 'me' },
      el('div', { class: 'who' },
        el('span', { class: 'dot', 'data-status': 'online', id: 'my-dot' }),
        el('strong', { id: 'me-name', title: state.me }, state.me)),
      el('div', { class: 'controls' },
        status,
        el('button', { type: 'button', class: 'link', id: 'logout', onclick: opts.onLogout }, 'Log out'))),
    el('nav', { 'aria-label': 'Conversations' },
      el('div', { class: 'list-head' }, el('h2', {}, 'Channels'),
        el('button', { type: 'button', class: 'icon', id: 'new-channel', title: 'New channel',
          'aria-label': 'New channel', onclick: opts.onNewChannel }, '+')),
      groups,
      el('div', { class: 'list-head' }, el('h2', {}, 'Direct messages'),
        el('button', { type: 'button', class: 'icon', id: 'new-direct', title: 'New direct message',
          'aria-label': 'New direct message', onclick: opts.onNewDirect }, '+')),
      directs),
    notifyBtn && el('footer', {}, notifyBtn));

  function item(ch) {
    const label = ch.isDirect ? ch.title : `# ${ch.title}`;
    const unread = ch.unread > 0 && ch.id !== state.activeId;
    return el('li', {},
      el('button', {
        type: 'button',
        class: `channel${ch.id === state.activeId ? ' active' : ''}${unread ? ' unread' : ''}`,
        'data-channel-id': ch.id,
        'aria-current': ch.id === state.activeId ? 'page' : null,
        onclick: () => opts.onOpen(ch.id),
      },
      ch.isDirect && el('span', { class: 'dot', 'data-status': state.statusOf(ch.others[0]) }),
      el('span', { class: 'name' }, label),
      unread && el('span', { class: 'badge', 'aria-label': `${ch.unread} unread` }, String(ch.unread))));
  }

  function render() {
    const all = [...state.channels.values()].sort((a, b) => a.title.localeCompare(b.title));
    const focused = root.contains(document.activeElement) && document.activeElement.dataset.channelId;
    replaceChildren(groups, all.filter((c) => !c.isDirect).map(item));
    replaceChildren(directs, all.filter((c) => c.isDirect).map(item));
    if (focused) { // keep keyboard focus on the same conversation
      const again = root.querySelector(`[data-channel-id="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    if (status.value !== state.myStatus) status.value = state.myStatus;
    root.querySelector('#my-dot').dataset.status = state.myStatus;
    if (notifyBtn && opts.notificationsOn && opts.notificationsOn()) notifyBtn.hidden = true;
  }

  render();
  return { root, render };
}
