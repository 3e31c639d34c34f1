// dom: the only way the client builds DOM. Text is always set as text
// (textContent / text nodes), never parsed as HTML, so whatever a user
// types renders as the characters they typed.

/**
 * Creates an element.
 * attrs: "class" -> className, "on<event>" -> addEventListener, a boolean
 * -> the property of that name (hidden, disabled, checked…), null/undefined
 * -> skipped, anything else -> setAttribute. children: nodes, strings (as
 * text), or null/false (skipped); arrays are flattened.
 * @param {string} tag
 * @param {Object<string, *>} [attrs]
 * @param {...(Node|string|null|false|Array)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (typeof value === 'boolean') node[name] = value;
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Removes every child of node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/** Replaces node's children with children (same rules as el()). */
export function replaceChildren(node, ...children) {
  clear(node);
  append(node, children);
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/**
 * Message text as nodes: text nodes, plus <a> for http(s) URLs (opened in
 * a new tab without referrer or opener). Nothing else becomes markup.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let href = m[0];
    const trail = href.match(TRAILING);
    if (trail) href = href.slice(0, -trail[0].length);
    if (!isHttpUrl(href)) continue;
    frag.append(text.slice(last, m.index));
    frag.append(el('a', { href, rel: 'noopener noreferrer', target: '_blank' }, href));
    last = m.index + href.length;
  }
  frag.append(text.slice(last));
  return frag;
}

function isHttpUrl(s) {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** "14:05" for today, "Mar 3 14:05" otherwise, in the user's locale. */
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/** The local calendar day of an ISO time, as a key ("2026-12-02"), or "". */
export function dayKey(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Today", "Yesterday" or the date ("Monday, March 3"), for a day heading. */
export function formatDay(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (d.toDateString() === now.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], {
    weekday: 'long', month: 'long', day: 'numeric',
    year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric',
  });
}

/** Text read by screen readers (and found in the text of its parent) but not shown. */
export function srOnly(text) {
  return el('span', { class: 'visually-hidden' }, text);
}
