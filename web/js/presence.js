// presence: the /presence WebSocket (PROTOCOL.md section 3). Keeps who is
// online in state, sends the user's own status, and a heartbeat every 25 s
// so an open but idle page is not taken for a silent one (60 s timeout).
// After a reconnect the server sees the user `online` again: a status the
// user chose (away, busy) is sent again.

import { Socket } from './socket.js';

const HEARTBEAT_MS = 25000;
export const STATUSES = ['online', 'away', 'busy', 'offline'];

export class PresenceClient {
  /**
   * @param {import('./state.js').ChatState} state
   * @param {Object} hooks
   * @param {() => string} hooks.url  the /presence URL (with the token)
   * @param {(code: number) => void} hooks.onAuthFailed
   * @param {(attempts: number) => void} [hooks.onDown]
   */
  constructor(state, hooks) {
    this.state = state;
    this.chosen = 'online';
    this.socket = new Socket({
      url: hooks.url,
      heartbeatMs: HEARTBEAT_MS,
      onOpen: () => {
        state.setConnection('presence', 'open');
        if (this.chosen !== 'online') this.socket.send({ type: 'status_update', status: this.chosen });
      },
      onFrame: (f) => this.frame(f),
      onDown: ({ attempts }) => {
        state.setConnection('presence', 'down');
        if (hooks.onDown) hooks.onDown(attempts);
      },
      onAuthFailed: hooks.onAuthFailed,
    });
  }

  start() {
    this.socket.start();
  }

  stop() {
    this.socket.stop();
  }

  /** The user's status: one of STATUSES. */
  setStatus(status) {
    if (!STATUSES.includes(status)) return;
    this.chosen = status;
    this.state.myStatus = status;
    this.state.changed('presence');
    this.socket.send({ type: 'status_update', status });
  }

  /** Asks for the presence of users not known yet (members of a channel just read). */
  subscribe(users) {
    const unknown = users.filter((u) => u !== this.state.me && !this.state.presence.has(u));
    if (unknown.length) this.socket.send({ type: 'subscribe', userIds: unknown });
  }

  frame(f) {
    switch (f.type) {
      case 'initial_presence':
      case 'presence_update':
        this.state.setPresence(Array.isArray(f.presence) ? f.presence : []);
        break;
      case 'error':
        if (f.code !== 'not_found' && f.code !== 'rate_limited') this.state.notice(f.error || 'presence error');
        break;
      default:
        break;
    }
  }
}
