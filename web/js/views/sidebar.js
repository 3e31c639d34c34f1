// sidebar: the user (with their status and "Sign out"), then the
// `navigation` landmark "Channels": group channels, then direct messages,
// each a link whose name starts with the channel's name (a DM's: the other
// user's, followed by their presence), with the unread count and the
// mention count ("@2") as text, and the buttons that start new
// conversations or browse channels; above it the search box. Re-rendered
// whole from state: it is small.

import { el, replaceChildren, srOnly } from '../dom.js';

/** What the user can choose ("offline" is what the server says of others). */
const CHOICES = ['online', 'away', 'busy'];

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(id: string) => void} opts.onOpen
 * @param {(status: string) => void} opts.onStatus
 * @param {() => void} opts.onNewChannel
 * @param {() => void} opts.onNewDirect
 * @param {() => void} opts.onBrowse
 * @param {HTMLElement} opts.search  the search box
 * @param {() => void} opts.onLogout
 * @param {(() => void)|null} opts.onEnableNotifications  null when not offered
 * @param {() => boolean} [opts.notificationsOn]
 * @param {HTMLElement} [opts.headEnd]  shown after the user's name (the narrow layout's close button)
 */
export function sidebarView(opts) {
  const { state } = opts;
  const status = el('select', {
    id: 'my-status', onchange: (ev) => opts.onStatus(ev.target.value),
  }, CHOICES.map((s) => el('option', { value: s }, s)));
  const myDot = el('span', { class: 'dot', 'data-status': 'online', 'aria-hidden': 'true' });
  const groups = el('ul', { class: 'channel-list', id: 'channel-list' });
  const directs = el('ul', { class: 'channel-list', id: 'direct-list' });
  const notifyBtn = opts.onEnableNotifications
    ? el('button', { type: 'button', class: 'link', onclick: opts.onEnableNotifications }, 'Enable notifications')
    : null;
  const plus = (id, name, onclick) => el('button', { type: 'button', class: 'icon', id, title: name, onclick },
    el('span', { 'aria-hidden': 'true' }, '+'), srOnly(name));

  const nav = el('nav', { 'aria-label': 'Channels', id: 'channels-nav' },
    el('div', { class: 'list-head' }, el('h2', { id: 'groups-title' }, 'Channels'),
      el('span', {},
        el('button', {
          type: 'button', class: 'icon', id: 'browse-channels', title: 'Browse channels', onclick: opts.onBrowse,
        }, el('span', { 'aria-hidden': 'true' }, '⌕'), srOnly('Browse channels')),
        plus('new-channel', 'New channel', opts.onNewChannel))),
    groups,
    el('div', { class: 'list-head' }, el('h2', { id: 'directs-title' }, 'Direct messages'),
      plus('new-direct', 'New direct message', opts.onNewDirect)),
    directs);
  const root = el('div', { class: 'sidebar', id: 'sidebar' },
    el('header', { class: 'me' },
      el('div', { class: 'who' }, myDot, el('strong', { id: 'me-name', title: state.me }, state.me),
        opts.headEnd || null),
      el('div', { class: 'controls' },
        el('label', { for: 'my-status', class: 'visually-hidden' }, 'Status'),
        status,
        el('button', { type: 'button', class: 'link', id: 'logout', onclick: opts.onLogout }, 'Sign out'))),
    opts.search,
    nav,
    notifyBtn && el('footer', {}, notifyBtn));

  function item(ch) {
    const active = ch.id === state.activeId;
    const unread = ch.unread > 0 && !active;
    const presence = ch.isDirect ? state.statusOf(ch.others[0]) : null;
    const id = `item-${ch.id}`;
    return el('li', { 'aria-labelledby': id }, // the item is named like its link
      el('a', {
        id,
        href: `#${encodeURIComponent(ch.id)}`,
        class: `channel${active ? ' active' : ''}${unread ? ' unread' : ''}`,
        'data-channel-id': ch.id,
        'aria-current': active ? 'page' : null,
        onclick: (ev) => {
          ev.preventDefault();
          opts.onOpen(ch.id);
        },
      },
      presence && el('span', { class: 'dot', 'data-status': presence, 'aria-hidden': 'true' }),
      el('span', { class: 'name' }, ch.title),
      ch.private && [' ', el('span', { class: 'lock', title: 'private', 'aria-hidden': 'true' }, '🔒'), srOnly('(private)')],
      presence && [' ', srOnly(`(${presence})`)],
      unread && [' ', el('span', { class: 'badge' }, String(ch.unread), srOnly(' unread'))],
      ch.mentions > 0 && !active && [' ', el('span', { class: 'badge mention' },
        `@${ch.mentions}`, srOnly(ch.mentions === 1 ? ' mention' : ' mentions'))]));
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
    if (CHOICES.includes(state.myStatus) && status.value !== state.myStatus) status.value = state.myStatus;
    myDot.dataset.status = state.myStatus;
    if (notifyBtn && opts.notificationsOn && opts.notificationsOn()) notifyBtn.hidden = true;
  }

  render();
  return { root, nav, render };
}
