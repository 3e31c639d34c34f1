// banner: the connection state and short notices from the server (errors,
// each dismissable and gone after a few seconds). The connection banner is
// the page's one `status` element: always there (so screen readers hear
// each change), empty and zero-sized while both sockets are up, and saying
// "Reconnecting…" from the moment a socket drops until it is back.

import { el, replaceChildren } from '../dom.js';

const NOTICE_MS = 6000;

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {() => void} opts.onRelogin  offered when the servers stay unreachable
 */
export function bannerView({ state, onRelogin }) {
  const conn = el('div', { class: 'connection', id: 'connection', role: 'status' });
  const notices = el('ul', { class: 'notices', id: 'notices', 'aria-live': 'assertive' });
  const root = el('div', { class: 'banner' }, conn, notices);
  let stuck = false;
  let shown = null;

  function connectionText() {
    const { chat, presence } = state.connection;
    if (chat === 'open' && presence === 'open') return '';
    if (chat === 'connecting' && presence === 'connecting') return 'Connecting…';
    if (chat !== 'open') return 'Connection lost. Reconnecting… (messages you send now go out when it is back)';
    return 'Presence connection lost. Reconnecting…';
  }

  function render() {
    const text = connectionText();
    const key = `${text}|${stuck}`;
    if (key !== shown) { // rewrite the live region only when it says something new
      shown = key;
      conn.dataset.state = text === '' ? 'up' : state.connection.chat === 'connecting' ? 'connecting' : 'down';
      if (text === '') conn.replaceChildren();
      else {
        replaceChildren(conn, text, stuck && ' ',
          stuck && el('button', { type: 'button', class: 'link', onclick: onRelogin }, 'Sign in again'));
      }
    }
    replaceChildren(notices, state.notices.map((n) => el('li', {},
      el('span', {}, n.text),
      el('button', {
        type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => state.dismissNotice(n.id),
      }, '×'))));
    for (const n of state.notices) {
      if (!n.timer) n.timer = setTimeout(() => state.dismissNotice(n.id), NOTICE_MS);
    }
  }

  render();
  return {
    root,
    render,
    /** The servers have been unreachable for a while: offer to sign in again. */
    setStuck(v) {
      stuck = v;
      render();
    },
  };
}
