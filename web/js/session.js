// session: the signed-in user's token and the servers /auth named, kept in
// sessionStorage so a reload stays signed in (per tab: two tabs can be two
// users) until the token expires. The password is never stored.

const KEY = 'chatd.session';

/**
 * @typedef {Object} Session
 * @property {string} username
 * @property {string} token
 * @property {{host: string, port: string, id: number}} chat
 * @property {{host: string, port: string, id: number}} presence
 */

/** @returns {Session|null} */
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (s && s.username && s.token && s.chat && s.presence && !tokenExpired(s.token)) return s;
  } catch {
    // unreadable: sign in again
  }
  clearSession();
  return null;
}

/**
 * Whether a JWT's exp claim (seconds) has passed. The server checks the
 * signature; the page only avoids dialing with a token it knows is dead.
 */
export function tokenExpired(token, now = Date.now()) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')));
    return typeof claims.exp === 'number' && claims.exp * 1000 <= now;
  } catch {
    return false; // not a JWT we can read: let the server decide
  }
}

/** @param {Session} s */
export function saveSession(s) {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
