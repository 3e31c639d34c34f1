// shell: the logged-in page. Creates the state, the two socket clients and
// the views, and wires them: frames change state, state changes re-render
// the views that show them (once per turn, however many frames came in),
// views call back into the clients.

import { el } from './dom.js';
import { ChatState } from './state.js';
import { ChatClient } from './chat.js';
import { PresenceClient } from './presence.js';
import { Notifier, pageHidden } from './notify.js';
import { socketUrl } from './api.js';
import { sidebarView } from './views/sidebar.js';
import { channelView } from './views/channel.js';
import { composerView } from './views/composer.js';
import { membersView } from './views/members.js';
import { dialogsView } from './views/dialogs.js';
import { bannerView } from './views/banner.js';
import { messageRenderer } from './views/message.js';
import { threadView } from './views/thread.js';
import { searchView } from './views/search.js';
import { directoryView } from './views/directory.js';

const STUCK_AFTER = 4; // failed reconnects in a row before the servers are thought gone
const ACTIVE_KEY = 'chatd.active';

/**
 * Mounts the logged-in page into root.
 * @param {HTMLElement} root
 * @param {() => import('./session.js').Session} getSession  the current session (it may be renewed)
 * @param {Object} hooks
 * @param {() => void} hooks.onLogout
 * @param {(why: string) => Promise<boolean>} hooks.renew  logs in again for new servers / a new
 *        token; false when it cannot (then the user must)
 * @returns {{stop: () => void, state: ChatState}}
 */
export function startShell(root, getSession, hooks) {
  const state = new ChatState(getSession().username);
  state.visible = !pageHidden();
  const notifier = new Notifier(state);
  let renewing = null; // the login in flight, shared by whoever asks meanwhile

  /** Logs in again (hooks.renew); true when the sockets can dial again. */
  function renew(why) {
    if (!renewing) {
      renewing = hooks.renew(why).then((ok) => {
        renewing = null;
        if (ok) {
          banner.setStuck(false);
          chat.socket.retryNow();
          presence.socket.retryNow();
        } else if (why === 'auth') {
          hooks.onLogout('Your session has ended: sign in again.');
        }
        return ok;
      });
    }
    return renewing;
  }

  function onDown(attempts) {
    if (attempts < STUCK_AFTER) return;
    banner.setStuck(true);
    renew('unreachable'); // /auth may name other servers (a cluster lost one)
  }

  /** A socket was refused its token (expired, or the user is gone). */
  async function onAuthFailed() {
    if (!(await renew('auth'))) return;
    chat.socket.start(); // a refused socket stops itself; start() is a no-op on the other
    presence.socket.start();
  }

  const chat = new ChatClient(state, {
    url: () => socketUrl(getSession().chat, '/chat', getSession().token),
    onAuthFailed,
    onDown,
    onMembers: (users) => presence.subscribe(users),
    onLiveMessage: (msg, ch) => notifier.message(msg, ch),
  });
  const presence = new PresenceClient(state, {
    url: () => socketUrl(getSession().presence, '/presence', getSession().token),
    onAuthFailed,
    onDown,
  });

  function open(id) {
    setNavOpen(false);
    chat.open(id);
    composer.focus();
  }

  // Below 700 px the sidebar collapses behind this button (style.css).
  let shellNode = null;
  const navToggle = el('button', {
    type: 'button', class: 'nav-toggle', id: 'nav-toggle', 'aria-controls': 'sidebar',
    'aria-expanded': 'false', onclick: () => setNavOpen(!shellNode.classList.contains('nav-open')),
  }, el('span', { 'aria-hidden': 'true' }, '☰ '), 'Show channels');
  const navClose = el('button', {
    type: 'button', class: 'nav-close link', 'aria-controls': 'sidebar',
    onclick: () => {
      setNavOpen(false);
      navToggle.focus();
    },
  }, 'Hide channels');
  const navBackdrop = el('div', { class: 'nav-backdrop', 'aria-hidden': 'true', onclick: () => setNavOpen(false) });
  function setNavOpen(on) {
    if (!shellNode) return;
    shellNode.classList.toggle('nav-open', on);
    navToggle.setAttribute('aria-expanded', String(on));
    if (on) {
      const first = sidebar.nav.querySelector('a[aria-current]') || sidebar.nav.querySelector('a, button');
      if (first) first.focus();
    }
  }

  const notice = (why) => why && state.notice(why);
  const render = messageRenderer({
    state,
    onEdit: (m, text) => chat.edit(m.channel_id, m.message_id, text),
    onDelete: (m) => dialogs.confirmDelete(() => chat.deleteMessage(m.channel_id, m.message_id)),
    onReact: (m, emoji, add) => notice(chat.react(m.channel_id, m.message_id, emoji, add)),
    onThread: (m) => {
      chat.openThread(m.channel_id, m.message_id);
      thread.focus();
    },
  });
  const search = searchView({
    state,
    onSearch: (q, before) => {
      setNavOpen(false);
      return chat.search(q, null, before);
    },
    onJump: (m) => {
      setNavOpen(false);
      chat.open(m.channel_id);
      if (m.reply_to) chat.openThread(m.channel_id, m.reply_to);
      channel.reveal(m.reply_to || m.message_id);
    },
    onClose: () => state.closePanel(),
  });
  const thread = threadView({
    state,
    render,
    onSend: (id, text, rootId) => chat.send(id, text, rootId),
    onTyping: (id) => chat.typing(id),
    onMore: () => {
      const t = state.thread;
      const last = state.threadReplies().at(-1);
      if (t && last) chat.openThread(t.channelId, t.rootId, last.message_id);
    },
    onClose: () => state.closePanel(),
  });
  const directory = directoryView({
    state,
    onList: (q) => notice(chat.listChannels(q)),
    onJoin: (id, name) => {
      chat.joinListed(id, name);
      composer.focus();
    },
  });

  const sidebar = sidebarView({
    state,
    headEnd: navClose,
    search: search.box,
    onBrowse: () => directory.open(),
    onOpen: open,
    onStatus: (s) => presence.setStatus(s),
    onNewChannel: () => dialogs.newChannel(),
    onNewDirect: () => dialogs.newDirect(),
    onLogout: () => hooks.onLogout(''),
    onEnableNotifications: notifier.supported && !notifier.enabled
      ? () => notifier.enable().then(() => sidebar.render()) : null,
    notificationsOn: () => notifier.enabled,
  });
  const channel = channelView({
    state,
    render,
    onEditChannel: () => state.active && dialogs.editChannel(state.active),
    headStart: navToggle,
    onLoadOlder: (id) => chat.loadOlder(id),
    onLeave: (id) => chat.leave(id),
    onRetry: (id) => chat.retry(id),
    onDiscard: (id) => chat.discard(id),
  });
  const composer = composerView({
    state, showTyping: true, onSend: (id, text) => chat.send(id, text), onTyping: (id) => chat.typing(id),
  });
  const members = membersView({
    state,
    onAdd: (id, users) => chat.addMembers(id, users),
    onRemove: (id, user) => notice(chat.removeMember(id, user)),
    onRole: (id, user, role) => notice(chat.setRole(id, user, role)),
  });
  const dialogs = dialogsView({
    me: state.me,
    onCreateChannel: (name, users, priv) => (chat.createChannel(name, users, priv) ? null : 'not connected'),
    onOpenDirect: (user) => (chat.openDirect(user) ? null : 'not connected'),
    onUpdateChannel: (id, name, topic) => chat.updateChannel(id, name, topic),
  });
  const banner = bannerView({ state, onRelogin: () => hooks.onLogout('Sign in again.') });
  notifier.onOpen = open;

  shellNode = el('div', {
    class: 'shell',
    onkeydown: (ev) => {
      if (ev.key === 'Escape' && shellNode.classList.contains('nav-open')) {
        setNavOpen(false);
        navToggle.focus();
      }
    },
  },
  sidebar.root,
  navBackdrop,
  el('main', { class: 'main' }, banner.root, channel.root, composer.root),
  members.root, thread.root, search.root);
  root.replaceChildren(shellNode, dialogs.root);

  // Views re-render once per turn for everything that changed in it.
  const views = {
    channels: [sidebar, channel, composer, members, thread],
    messages: [channel, thread],
    presence: [sidebar, members, channel],
    connection: [banner],
    notices: [banner],
    typing: [composer],
    thread: [thread],
    search: [search],
    directory: [directory],
    panel: [members, thread, search],
  };
  const dirty = new Set();
  state.subscribe((topic) => {
    if (dirty.size === 0) queueMicrotask(flush);
    for (const v of views[topic] || []) dirty.add(v);
  });
  function flush() {
    for (const v of dirty) v.render();
    dirty.clear();
  }

  // The conversation open before a reload comes back once the list is known.
  const restore = sessionStorage.getItem(ACTIVE_KEY);
  state.subscribe((topic) => {
    if (topic === 'channels' && state.activeId) sessionStorage.setItem(ACTIVE_KEY, state.activeId);
  });
  if (restore) {
    const off = state.subscribe((topic) => {
      if (topic !== 'channels' || state.activeId) return;
      off();
      if (state.channels.has(restore)) queueMicrotask(() => chat.open(restore));
    });
  }

  function onVisibility() {
    state.visible = !pageHidden();
    if (state.visible) chat.markRead();
  }
  document.addEventListener('visibilitychange', onVisibility);

  chat.start();
  presence.start();
  return {
    state,
    stop() {
      document.removeEventListener('visibilitychange', onVisibility);
      chat.stop();
      presence.stop();
    },
  };
}
