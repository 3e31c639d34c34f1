// login: the sign-in / create-account form. It only collects the two
// fields and shows what went wrong; main.js does the talking.

import { el } from '../dom.js';

/**
 * @param {Object} opts
 * @param {(username: string, password: string, create: boolean) => Promise<string|null>} opts.submit
 *        resolves to an error sentence, or null when logged in
 * @param {string} [opts.message]  shown above the form (e.g. "session expired")
 * @returns {HTMLElement}
 */
export function loginView({ submit, message }) {
  const username = el('input', {
    id: 'login-username', name: 'username', autocomplete: 'username', required: true,
    maxlength: 32, pattern: '[A-Za-z0-9_.\\-]+', spellcheck: 'false', autocapitalize: 'off',
  });
  const password = el('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, minlength: 8, maxlength: 128,
  });
  const error = el('p', { class: 'form-error', role: 'alert' }, message || '');
  const loginBtn = el('button', { type: 'submit', class: 'primary', id: 'login-submit' }, 'Log in');
  const createBtn = el('button', { type: 'button', id: 'login-create' }, 'Create account');

  async function go(create) {
    if (!username.reportValidity() || !password.reportValidity()) return;
    loginBtn.disabled = true;
    createBtn.disabled = true;
    error.textContent = '';
    const why = await submit(username.value.trim(), password.value, create);
    loginBtn.disabled = false;
    createBtn.disabled = false;
    if (why) {
      error.textContent = why;
      password.select();
    }
  }

  const form = el('form', {
    class: 'login-form', 'aria-labelledby': 'login-title', novalidate: true,
    onsubmit: (ev) => { ev.preventDefault(); go(false); },
  },
  el('h1', { id: 'login-title' }, 'chatd'),
  el('p', { class: 'muted' }, 'Log in, or create an account with a name and a password.'),
  el('label', { for: 'login-username' }, 'Username'),
  username,
  el('label', { for: 'login-password' }, 'Password (8+ characters)'),
  password,
  error,
  el('div', { class: 'form-actions' }, loginBtn, createBtn));
  createBtn.addEventListener('click', () => go(true));
  queueMicrotask(() => username.focus());
  return el('section', { class: 'login' }, form);
}
