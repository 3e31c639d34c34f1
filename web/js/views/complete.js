// complete: @-completion of member names in a text field. Typing "@" and
// the start of a name lists the members it fits ("listbox"); Up/Down
// choose, Enter or Tab complete, Escape closes; a click completes too.

import { el, replaceChildren } from '../dom.js';

const MAX_SHOWN = 8;

/**
 * @param {HTMLTextAreaElement} input  (with an id)
 * @param {() => string[]} names  who can be completed now
 * @returns {{list: HTMLElement, update: () => void, keydown: (ev: KeyboardEvent) => boolean}}
 */
export function completer(input, names) {
  const list = el('ul', { class: 'completions', role: 'listbox', id: `${input.id}-names`, hidden: true });
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-autocomplete', 'list');
  let shown = [];
  let sel = 0;
  let start = 0; // where the name being typed starts

  function close() {
    shown = [];
    list.hidden = true;
    input.removeAttribute('aria-activedescendant');
  }

  function draw() {
    list.hidden = false;
    replaceChildren(list, shown.map((u, i) => el('li', {
      role: 'option', id: `${list.id}-${i}`, 'aria-selected': String(i === sel),
      onmousedown: (ev) => {
        ev.preventDefault(); // the field keeps the focus
        pick(u);
      },
    }, `@${u}`)));
    input.setAttribute('aria-activedescendant', `${list.id}-${sel}`);
  }

  function pick(u) {
    const end = input.selectionStart;
    input.value = `${input.value.slice(0, start)}${u} ${input.value.slice(end)}`;
    const at = start + u.length + 1;
    input.setSelectionRange(at, at);
    close();
    input.dispatchEvent(new Event('input'));
  }

  function update() {
    const m = input.value.slice(0, input.selectionStart).match(/(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]*)$/);
    if (!m) return close();
    start = input.selectionStart - m[2].length;
    const prefix = m[2].toLowerCase();
    shown = names().filter((u) => u.toLowerCase().startsWith(prefix) && u !== m[2]).sort().slice(0, MAX_SHOWN);
    if (!shown.length) return close();
    sel = Math.min(sel, shown.length - 1);
    return draw();
  }

  /** Handles the list's keys; true when the key was for the list. */
  function keydown(ev) {
    if (list.hidden) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      sel = (sel + (ev.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
      draw();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') pick(shown[sel]);
    else if (ev.key === 'Escape') close();
    else return false;
    ev.preventDefault();
    return true;
  }

  input.addEventListener('blur', close);
  return { list, update, keydown };
}
