// banner: the connection state ("Reconnecting…") and short notices from
// the server (errors), each dismissable and gone after a few seconds.

import { el, replaceChildren } from '../dom.js';

const NOTICE_MS = 6000;

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {() => void} opts.onRelogin  offered when the servers stay unreachable
 */
export function bannerView({ state, onRelogin }) {
  const conn = el('div', { class: 'connection', id: 'connection', role: 'status', hidden: true });
  const notices = el('ul', { class: 'notices', id: 'notices', 'aria-live': 'assertive' });
  const root = el('div', { class: 'banner' }, conn, notices);
  let stuck = false;

  function render() {
    const { chat, presence } = state.connection;
    const down = chat !== 'open' || presence !== 'open';
    conn.hidden = !down;
    conn.dataset.state = chat === 'connecting' && presence === 'connecting' ? 'connecting' : 'down';
    replaceChildren(conn,
      chat === 'connecting' && presence === 'connecting' ? 'Connecting…'
        : chat !== 'open' ? 'Connection lost. Reconnecting… (messages you send now go out when it is back)'
          : 'Presence connection lost. Reconnecting…',
      stuck && down && el('button', { type: 'button', class: 'link', onclick: onRelogin }, 'Log in again'));
    replaceChildren(notices, state.notices.map((n) => el('li', {},
      el('span', {}, n.text),
      el('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss',
        onclick: () => state.dismissNotice(n.id) }, '×'))));
    for (const n of state.notices) {
      if (!n.timer) n.timer = setTimeout(() => state.dismissNotice(n.id), NOTICE_MS);
    }
  }

  render();
  return {
    root,
    render,
    /** The servers have been unreachable for a while: offer to log in again. */
    setStuck(v) {
      stuck = v;
      render();
    },
  };
}
