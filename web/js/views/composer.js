// composer: where a message is written. Enter sends, Shift+Enter starts a
// new line; the text stays when sending was refused.

import { el } from '../dom.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(channelId: string, text: string) => string|null} opts.onSend  an error sentence or null
 */
export function composerView(opts) {
  const { state } = opts;
  const input = el('textarea', {
    id: 'composer-input', rows: 1, 'aria-label': 'Message', placeholder: 'Write a message…',
    'aria-keyshortcuts': 'Enter', 'aria-describedby': 'composer-hint',
    maxlength: 4000,
    onkeydown: (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        submit();
      }
    },
    oninput: () => fit(),
  });
  const error = el('span', { class: 'form-error', role: 'alert', id: 'composer-error' });
  const button = el('button', { type: 'submit', class: 'primary', id: 'composer-send' }, 'Send');
  const root = el('form', {
    class: 'composer',
    onsubmit: (ev) => { ev.preventDefault(); submit(); },
  }, input, button, error,
  el('span', { class: 'visually-hidden', id: 'composer-hint' }, 'Enter sends; Shift+Enter adds a line.'));

  function submit() {
    const ch = state.active;
    if (!ch) return;
    const why = opts.onSend(ch.id, input.value);
    error.textContent = why || '';
    if (!why) {
      input.value = '';
      fit();
    }
    input.focus();
  }

  function fit() { // grow with the text, up to the CSS max-height
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight}px`;
  }

  let shownId = null;
  let wantFocus = false; // asked before the field was enabled: focus it when it is
  function render() {
    const has = !!state.active;
    input.disabled = !has;
    button.disabled = !has;
    if (has && wantFocus) {
      wantFocus = false;
      input.focus();
    }
    if (has && state.activeId !== shownId) {
      error.textContent = '';
      input.placeholder = `Write to ${state.active.title}…`;
    }
    shownId = state.activeId;
  }

  render();
  return {
    root,
    render,
    focus() {
      if (input.disabled) wantFocus = true;
      else input.focus();
    },
  };
}
