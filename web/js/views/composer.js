// composer: where a message (or a thread's reply) is written. Enter sends,
// Shift+Enter starts a new line; the text stays when sending was refused;
// "@" completes member names; typing tells the others (at most every 3 s,
// chat.js). The conversation's composer also says who is typing there.

import { el } from '../dom.js';
import { completer } from './complete.js';

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(channelId: string, text: string) => string|null} opts.onSend  an error sentence or null
 * @param {(channelId: string) => void} opts.onTyping
 * @param {() => string|null} [opts.channelId]  where it writes (default: the conversation on screen)
 * @param {string} [opts.id]  prefix of its element ids (default "composer")
 * @param {string} [opts.label]  the field's name (default "Message")
 * @param {string} [opts.sendText]  the button's (default "Send")
 * @param {string} [opts.placeholder]
 * @param {boolean} [opts.showTyping]  show "bob is typing…"
 */
export function composerView(opts) {
  const { state } = opts;
  const id = opts.id || 'composer';
  const target = opts.channelId || (() => state.activeId);
  const input = el('textarea', {
    id: `${id}-input`, rows: 1, 'aria-label': opts.label || 'Message', placeholder: opts.placeholder || 'Write a message…',
    'aria-keyshortcuts': 'Enter', 'aria-describedby': `${id}-hint`,
    maxlength: 4000,
    onkeydown: (ev) => {
      if (complete.keydown(ev)) return;
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        submit();
      }
    },
    oninput: () => {
      fit();
      complete.update();
      if (input.value.trim() && target()) opts.onTyping(target());
    },
  });
  const complete = completer(input, () => {
    const ch = state.channels.get(target());
    if (!ch) return [];
    return (ch.members.size ? [...ch.members.keys()] : ch.others).filter((u) => u !== state.me);
  });
  const error = el('span', { class: 'form-error', role: 'alert', id: `${id}-error` });
  const typing = el('p', { class: 'typing muted', id: `${id}-typing` });
  const button = el('button', { type: 'submit', class: 'primary', id: `${id}-send` }, opts.sendText || 'Send');
  const root = el('form', {
    class: 'composer',
    onsubmit: (ev) => { ev.preventDefault(); submit(); },
  }, opts.showTyping && typing, complete.list, input, button, error,
  el('span', { class: 'visually-hidden', id: `${id}-hint` }, 'Enter sends; Shift+Enter adds a line.'));

  function submit() {
    const ch = target();
    if (!ch) return;
    const why = opts.onSend(ch, input.value);
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
    const ch = state.channels.get(target());
    input.disabled = !ch;
    button.disabled = !ch;
    if (ch && wantFocus) {
      wantFocus = false;
      input.focus();
    }
    if (ch && ch.id !== shownId) {
      error.textContent = '';
      if (!opts.channelId) input.placeholder = `Write to ${ch.title}…`;
    }
    shownId = ch ? ch.id : null;
    const who = ch ? state.typers(ch) : [];
    typing.textContent = who.length === 0 ? ''
      : who.length === 1 ? `${who[0]} is typing…`
        : who.length === 2 ? `${who[0]} and ${who[1]} are typing…` : 'Several people are typing…';
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
