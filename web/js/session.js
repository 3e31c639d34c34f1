// session: the logged-in user's token and the servers /auth named, kept in
// sessionStorage so a reload stays logged in (per tab: two tabs can be two
// users). The password is never stored.

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
    if (s && s.username && s.token && s.chat && s.presence) return s;
  } catch {
    // unreadable: log in again
  }
  return null;
}

/** @param {Session} s */
export function saveSession(s) {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
