// socket: one WebSocket that stays up. JSON frames in and out; after a
// close it dials again with a growing delay (0.25 s doubling to 5 s, with
// jitter; at once when the browser comes back online), until stop() or an
// authentication failure (close 3000 on /chat, 4001/4002 on /presence).

const AUTH_CLOSE_CODES = new Set([3000, 4001, 4002]);
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

export class Socket {
  /**
   * @param {Object} opts
   * @param {() => string} opts.url      where to dial (asked before each attempt)
   * @param {() => void} [opts.onOpen]
   * @param {(frame: Object) => void} opts.onFrame  each JSON object received
   * @param {(info: {code: number, attempts: number}) => void} [opts.onDown]
   *        the socket closed or an attempt failed; attempts = failures in a row
   * @param {(code: number) => void} [opts.onAuthFailed]  no more attempts are made
   * @param {number} [opts.heartbeatMs]  send {"type":"heartbeat"} this often while open
   */
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.failures = 0;
    this.stopped = true;
    this.timer = 0;
    this.heartbeat = 0;
    this.onOnline = () => this.retryNow();
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Starts dialing (no-op when already started). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.dial();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    this.stopHeartbeat();
    if (this.ws) this.ws.close(1000, 'bye');
    this.ws = null;
  }

  /** Sends frame when open; returns whether it went out. */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Skips the rest of the current back-off wait. */
  retryNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.dial();
  }

  dial() {
    this.timer = 0;
    let ws;
    try {
      ws = new WebSocket(this.opts.url());
    } catch {
      this.scheduleRetry(1006);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.failures = 0;
      this.startHeartbeat();
      if (this.opts.onOpen) this.opts.onOpen();
    };
    ws.onmessage = (ev) => {
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return; // the server sends only JSON objects; ignore anything else
      }
      if (frame && typeof frame === 'object') this.opts.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      if (this.stopped) return;
      if (AUTH_CLOSE_CODES.has(ev.code)) {
        this.stopped = true;
        if (this.opts.onAuthFailed) this.opts.onAuthFailed(ev.code);
        return;
      }
      this.scheduleRetry(ev.code);
    };
  }

  scheduleRetry(code) {
    this.failures += 1;
    if (this.opts.onDown) this.opts.onDown({ code, attempts: this.failures });
    if (this.stopped) return;
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.failures - 1));
    this.timer = setTimeout(() => this.dial(), base / 2 + Math.random() * (base / 2));
  }

  startHeartbeat() {
    if (!this.opts.heartbeatMs) return;
    this.heartbeat = setInterval(() => this.send({ type: 'heartbeat' }), this.opts.heartbeatMs);
  }

  stopHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = 0;
  }
}
