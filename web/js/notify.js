// notify: tells the user about messages they are not looking at — the
// unread total in the tab title ("(3) chatd"), and a desktop notification
// for a new message while the tab is hidden, once they allowed it.

/** Whether the tab is hidden (either of the two ways a browser says it). */
export function pageHidden() {
  return document.hidden === true || document.visibilityState === 'hidden';
}

export class Notifier {
  /** @param {import('./state.js').ChatState} state */
  constructor(state) {
    this.state = state;
    this.baseTitle = document.title;
    state.subscribe((topic) => {
      if (topic === 'channels') this.updateTitle();
    });
  }

  get supported() {
    return typeof Notification !== 'undefined';
  }

  get enabled() {
    return this.supported && Notification.permission === 'granted';
  }

  /** Asks the browser for permission (call from a click). */
  async enable() {
    if (!this.supported) return false;
    return (await Notification.requestPermission()) === 'granted';
  }

  updateTitle() {
    const total = this.state.unreadTotal;
    document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  /** A new message was pushed (chat.js hooks.onLiveMessage). */
  message(msg, ch) {
    const st = this.state;
    if (msg.user_id === st.me || msg.user_id === 'system' || !this.enabled || !pageHidden()) return;
    const n = new Notification(`${msg.user_id} in ${ch.isDirect ? 'a direct message' : ch.title}`, {
      body: String(msg.content).slice(0, 200),
      tag: ch.id,
    });
    n.onclick = () => {
      window.focus();
      if (this.onOpen) this.onOpen(ch.id);
      n.close();
    };
  }
}
