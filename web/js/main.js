// main: the entry point. Shows the sign-in form or, with a session (also
// after a reload, until the token expires), the chat; keeps this page load's password in memory
// only, to sign in again by itself when the token expires or the servers
// /auth named are gone. Only the sign-in form is loaded before the page is
// interactive; the chat's modules (shell.js and what it imports) are
// fetched right after, while the user types.

import { loginView } from './views/login.js';
import { loadSession, saveSession, clearSession } from './session.js';
import * as api from './api.js';

const loadShell = () => import('./shell.js');

const root = document.getElementById('app');
let shell = null;
let password = null;
let session = loadSession();

function showLogin(message) {
  if (shell) shell.stop();
  shell = null;
  password = null;
  session = null;
  clearSession();
  sessionStorage.removeItem('chatd.active');
  document.title = 'chatd';
  root.replaceChildren(loginView({ submit, message }));
  root.removeAttribute('aria-busy');
}

async function submit(username, pw, create) {
  try {
    if (create) await api.register(username, pw);
    await logIn(username, pw);
    return null;
  } catch (e) {
    return e instanceof api.ApiError ? e.message : 'something went wrong; try again';
  }
}

async function logIn(username, pw) {
  const r = await api.login(username, pw);
  password = pw;
  session = { username, token: r.token, chat: r.chat, presence: r.presence };
  saveSession(session);
  await showChat();
}

/** Logs in again with the remembered password (new token, maybe new servers). */
async function renew() {
  if (!password || !session) return false;
  try {
    const r = await api.login(session.username, password);
    session = { ...session, token: r.token, chat: r.chat, presence: r.presence };
    saveSession(session);
    return true;
  } catch {
    return false;
  }
}

async function showChat() {
  const { startShell } = await loadShell();
  if (shell) shell.stop();
  shell = startShell(root, () => session, { onLogout: showLogin, renew });
  window.chatd = shell; // for the console: the live state
  root.removeAttribute('aria-busy');
}

if (session) {
  showChat().then(() => performance.mark('chatd-interactive'));
} else {
  showLogin('');
  performance.mark('chatd-interactive');
  loadShell(); // warm the module cache for the login to come
}
