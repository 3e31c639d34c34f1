// message: one message as the page shows it — sender, time, its text
// (links and highlighted @mentions as elements, everything else as text),
// "(edited)", a tombstone once deleted, reaction chips (a click toggles
// yours), a thread root's reply count, and its menu "Message actions"
// (react, reply in thread, edit, delete). Shared by the conversation and
// the thread panel, with the keyed list both re-render through.

import { el, clear, linkify, formatTime } from '../dom.js';
import { mentionSpans } from '../state.js';

export const EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '👀', '✅', '🙏'];

/** Opens or closes the menu whose button is btn. */
function toggleMenu(btn, open) {
  btn.setAttribute('aria-expanded', String(open));
  btn.nextElementSibling.hidden = !open;
}

// An open message menu closes on a click elsewhere, and on Escape (back on its button).
function closeMenus(keep, focus) {
  document.querySelectorAll('.menu > [aria-expanded="true"]').forEach((btn) => {
    if (btn.parentElement.contains(keep)) return;
    toggleMenu(btn, false);
    if (focus) btn.focus();
  });
}
document.addEventListener('click', (ev) => closeMenus(ev.target, false));
document.addEventListener('keydown', (ev) => ev.key === 'Escape' && closeMenus(null, true));

/** text as nodes: links, and <mark> on each @name of mentions (yours: class "me"). */
export function richText(text, mentions, me) {
  const names = new Set(Array.isArray(mentions) ? mentions : []);
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const s of mentionSpans(text)) {
    if (!names.has(s.name)) continue;
    frag.append(linkify(text.slice(last, s.start)),
      el('mark', { class: s.name === me ? 'mention me' : 'mention' }, text.slice(s.start, s.end)));
    last = s.end;
  }
  frag.append(linkify(text.slice(last)));
  return frag;
}

/** The sender and the time; shown once per group, always there for screen readers. */
export function meta(user, extra, hidden) {
  return el('header', { class: hidden ? 'meta visually-hidden' : 'meta' },
    el('span', { class: 'author' }, user), ' ', extra);
}

/**
 * A list whose items are keyed ({key, sig, build}): a render rebuilds only
 * the items whose sig changed and moves the rest into place, so scroll
 * position, selection and focus survive.
 */
export function keyedList(list) {
  let nodes = new Map(); // key -> {sig, node}
  return {
    get: (key) => nodes.get(key),
    reset() {
      nodes = new Map();
      clear(list);
    },
    reconcile(wanted) {
      const next = new Map();
      let cursor = list.firstElementChild;
      for (const w of wanted) {
        let entry = nodes.get(w.key);
        if (!entry || entry.sig !== w.sig) {
          if (entry) { // its look changed: the new node takes its place below
            if (entry.node === cursor) cursor = cursor.nextElementSibling;
            entry.node.remove();
          }
          entry = { sig: w.sig, node: w.build() };
          entry.node.dataset.key = w.key;
        }
        next.set(w.key, entry);
        if (entry.node !== cursor) list.insertBefore(entry.node, cursor);
        else cursor = cursor.nextElementSibling;
      }
      for (const [key, entry] of nodes) if (!next.has(key)) entry.node.remove();
      nodes = next;
    },
  };
}

/**
 * @param {Object} opts
 * @param {import('../state.js').ChatState} opts.state
 * @param {(m: Object, text: string) => string|null} opts.onEdit  an error sentence or null
 * @param {(m: Object) => void} opts.onDelete  asks first
 * @param {(m: Object, emoji: string, add: boolean) => void} opts.onReact
 * @param {(m: Object) => void} opts.onThread  opens m's thread
 */
export function messageRenderer(opts) {
  const { state } = opts;
  let editing = null; // the message_id being edited


  function setEditing(id) {
    editing = id;
    state.changed('messages');
    state.changed('thread');
  }

  const reacted = (m, emoji) => (m.reactions || []).some((r) => r.emoji === emoji && (r.users || []).includes(state.me));
  const admin = (m) => state.isAdmin(state.channels.get(m.channel_id));

  /** What the node of m depends on (extra: the caller's own). */
  function sig(m, ...extra) {
    return JSON.stringify([m.content, m.deleted, m.edited_at, m.reactions, m.reply_count, m.mentions,
      editing === m.message_id, admin(m), ...extra]);
  }

  function editor(m) {
    const err = el('span', { class: 'form-error', role: 'alert' });
    const save = () => {
      if (ta.value === m.content) return setEditing(null);
      const why = opts.onEdit(m, ta.value);
      if (why) err.textContent = why;
      else setEditing(null);
      return null;
    };
    const ta = el('textarea', {
      class: 'edit', 'aria-label': 'Edit message', rows: 2, maxlength: 4000,
      onkeydown: (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
          ev.preventDefault();
          save();
        } else if (ev.key === 'Escape') {
          ev.preventDefault();
          setEditing(null);
        }
      },
    });
    ta.value = m.content;
    queueMicrotask(() => ta.focus());
    return el('div', { class: 'editing' }, ta,
      el('div', { class: 'form-actions' },
        el('button', { type: 'button', class: 'primary', onclick: save }, 'Save'),
        el('button', { type: 'button', onclick: () => setEditing(null) }, 'Cancel')),
      err);
  }

  function menu(m, inThread) {
    const item = (label, fn) => el('button', {
      type: 'button', role: 'menuitem',
      onclick: () => {
        toggleMenu(btn, false);
        fn();
      },
    }, label);
    const mine = m.user_id === state.me;
    const btn = el('button', {
      type: 'button', class: 'menu-button', 'aria-label': 'Message actions', title: 'Message actions',
      'aria-haspopup': 'menu', 'aria-expanded': 'false',
      onclick: () => {
        const open = btn.getAttribute('aria-expanded') !== 'true';
        toggleMenu(btn, open);
        if (open) btn.nextElementSibling.querySelector('button').focus();
      },
    }, '⋯');
    return el('div', { class: 'menu' }, btn,
      el('div', { class: 'menu-body', role: 'menu', hidden: true },
        el('div', { class: 'picker', role: 'group', 'aria-label': 'Add a reaction' },
          EMOJI.map((e) => item(e, () => opts.onReact(m, e, !reacted(m, e))))),
        !inThread && !m.reply_to && item('Reply in thread', () => opts.onThread(m)),
        mine && item('Edit', () => setEditing(m.message_id)),
        (mine || admin(m)) && item('Delete', () => opts.onDelete(m))));
  }

  /** The node of m (compact: the sender shown by the one before; readers: receipts under it). */
  function node(m, compact = false, readers = [], inThread = false) {
    if (m.user_id === 'system') {
      return el('p', {
        class: 'notice', role: 'note', 'data-message-id': m.message_id, 'data-seq': m.seq,
      }, m.content);
    }
    const mine = m.user_id === state.me;
    const reactions = Array.isArray(m.reactions) ? m.reactions : [];
    const n = m.reply_count || 0;
    return el('article', {
      class: `msg${mine ? ' mine' : ''}${compact ? ' compact' : ''}${m.deleted ? ' deleted' : ''}`
        + `${!m.deleted && state.mentionsMe(m) ? ' mentioned' : ''}`,
      'data-message-id': m.message_id,
      'data-seq': m.seq,
    },
    meta(m.user_id, el('time', { datetime: m.created_at, title: m.created_at }, formatTime(m.created_at)), compact),
    editing === m.message_id ? editor(m) : el('div', { class: 'text' },
      m.deleted ? el('em', {}, 'This message was deleted.') : richText(String(m.content), m.mentions, state.me)),
    m.edited_at && !m.deleted && el('span', { class: 'edited muted', title: m.edited_at }, '(edited)'),
    reactions.length > 0 && el('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
      reactions.map((r) => el('button', {
        type: 'button', class: 'chip', 'aria-pressed': String(reacted(m, r.emoji)), title: (r.users || []).join(', '),
        onclick: () => opts.onReact(m, r.emoji, !reacted(m, r.emoji)),
      }, `${r.emoji} ${r.count}`))),
    !inThread && n > 0 && el('button', { type: 'button', class: 'link replies', onclick: () => opts.onThread(m) },
      `${n} ${n === 1 ? 'reply' : 'replies'}`),
    readers.length > 0 && el('p', { class: 'seen' }, `Seen by ${readers.join(', ')}`),
    !m.deleted && menu(m, inThread));
  }

  return { sig, node };
}
