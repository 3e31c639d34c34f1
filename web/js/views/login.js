// login: the sign-in / create-account form. It only collects the two
// fields and shows what went wrong; main.js does the talking. Enter in
// either field signs in; "Create account" registers, then signs in.

import { el } from '../dom.js';

/**
 * @param {Object} opts
 * @param {(username: string, password: string, create: boolean) => Promise<string|null>} opts.submit
 *        resolves to an error sentence, or null when signed in
 * @param {string} [opts.message]  shown above the buttons (e.g. "session ended")
 * @returns {HTMLElement}
 */
export function loginView({ submit, message }) {
  const username = el('input', {
    id: 'login-username', name: 'username', autocomplete: 'username', required: true,
    maxlength: 32, pattern: '[A-Za-z0-9_.\\-]+', spellcheck: 'false', autocapitalize: 'off',
    'aria-describedby': 'login-username-hint',
  });
  const password = el('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, minlength: 8, maxlength: 128, 'aria-describedby': 'login-password-hint',
  });
  const error = el('p', { class: 'form-error', role: 'alert' }, message || '');
  const signInBtn = el('button', { type: 'submit', class: 'primary', id: 'login-submit' }, 'Sign in');
  const createBtn = el('button', { type: 'button', id: 'login-create' }, 'Create account');

  async function go(create) {
    if (!username.reportValidity() || !password.reportValidity()) return;
    signInBtn.disabled = true;
    createBtn.disabled = true;
    error.textContent = '';
    const why = await submit(username.value.trim(), password.value, create);
    signInBtn.disabled = false;
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
  el('p', { class: 'muted' }, 'Sign in, or create an account with a name and a password.'),
  el('label', { for: 'login-username' }, 'Username'),
  username,
  el('p', { class: 'hint muted', id: 'login-username-hint' }, 'Letters, digits, _ . or -, up to 32.'),
  el('label', { for: 'login-password' }, 'Password'),
  password,
  el('p', { class: 'hint muted', id: 'login-password-hint' }, 'At least 8 characters.'),
  error,
  el('div', { class: 'form-actions' }, signInBtn, createBtn));
  createBtn.addEventListener('click', () => go(true));
  queueMicrotask(() => username.focus());
  return el('main', { class: 'login' }, form);
}
