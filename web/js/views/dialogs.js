// dialogs: starting a conversation — a new group channel ("Channel name"
// and "Members", names separated by commas or spaces, "Private"; "Create")
// or a direct message with one person ("Username"; "Start") —, editing a
// channel ("Name", "Topic"; "Save") and confirming a deletion. Native <dialog>
// elements: focus, Escape and the backdrop come with them. A dialog is in
// the document only while it is open, so its labels never compete with
// the page's own (a closed "New direct message" is no second "message").

import { el } from '../dom.js';

const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/** "bob, carol dave" -> ["bob","carol","dave"], or an error sentence. */
export function parseUsers(text, me) {
  const users = [...new Set(text.split(/[\s,]+/).filter(Boolean))].filter((u) => u !== me);
  const bad = users.find((u) => !NAME_RE.test(u));
  return bad ? `"${bad}" is not a valid username` : users;
}

function dialog(id, titleText, fields, submitText, onSubmit) {
  const error = el('p', { class: 'form-error', role: 'alert' });
  const form = el('form', {},
    el('h2', { id: `${id}-title` }, titleText),
    fields,
    error,
    el('div', { class: 'form-actions' },
      el('button', { type: 'submit', class: 'primary', id: `${id}-submit` }, submitText),
      el('button', { type: 'button', onclick: () => d.close() }, 'Cancel')));
  const d = el('dialog', { id, 'aria-labelledby': `${id}-title` }, form);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const why = onSubmit();
    error.textContent = why || '';
    if (!why) d.close();
  });
  d.addEventListener('close', () => {
    error.textContent = '';
    form.reset();
    d.remove();
  });
  return d;
}

/**
 * @param {Object} opts
 * @param {string} opts.me
 * @param {(name: string, users: string[], priv: boolean) => string|null} opts.onCreateChannel
 * @param {(user: string) => string|null} opts.onOpenDirect
 * @param {(id: string, name?: string, topic?: string) => string|null} opts.onUpdateChannel
 */
export function dialogsView(opts) {
  const name = el('input', { id: 'new-channel-name', required: true, maxlength: 100, autocomplete: 'off' });
  const people = el('input', {
    id: 'new-channel-people', autocomplete: 'off', placeholder: 'bob, carol',
    'aria-describedby': 'new-channel-people-hint', spellcheck: 'false', autocapitalize: 'off',
  });
  const priv = el('input', { type: 'checkbox', id: 'new-channel-private' });
  const channel = dialog('new-channel-dialog', 'New channel', [
    el('label', { for: 'new-channel-name' }, 'Channel name'), name,
    el('label', { for: 'new-channel-people' }, 'Members'), people,
    el('p', { class: 'hint muted', id: 'new-channel-people-hint' },
      'Usernames, separated by commas or spaces. You are in it too.'),
    el('label', { class: 'check' }, priv, ' Private: only people added can join'),
  ], 'Create', () => {
    if (!name.value.trim()) return 'a channel needs a name';
    const users = parseUsers(people.value, opts.me);
    if (typeof users === 'string') return users;
    return opts.onCreateChannel(name.value.trim(), users, priv.checked);
  });

  const chName = el('input', { id: 'edit-channel-name', required: true, maxlength: 100, autocomplete: 'off' });
  const chTopic = el('input', { id: 'edit-channel-topic', maxlength: 250, autocomplete: 'off' });
  let editing = null;
  const edit = dialog('edit-channel-dialog', 'Edit channel', [
    el('label', { for: 'edit-channel-name' }, 'Name'), chName,
    el('label', { for: 'edit-channel-topic' }, 'Topic'), chTopic,
  ], 'Save', () => {
    const n = chName.value.trim();
    const t = chTopic.value.trim();
    if (!n) return 'a channel needs a name';
    if (n === editing.name && t === editing.topic) return null;
    return opts.onUpdateChannel(editing.id, n !== editing.name ? n : undefined, t !== editing.topic ? t : undefined);
  });

  let onDelete = null;
  const del = dialog('delete-dialog', 'Delete this message?', [
    el('p', {}, 'It is erased for everyone, and cannot be undone.'),
  ], 'Delete', () => onDelete());

  const who = el('input', {
    id: 'new-direct-user', required: true, autocomplete: 'off', maxlength: 32, spellcheck: 'false',
    autocapitalize: 'off',
  });
  const direct = dialog('new-direct-dialog', 'New direct message', [
    el('label', { for: 'new-direct-user' }, 'Username'), who,
  ], 'Start', () => {
    const users = parseUsers(who.value, opts.me);
    if (typeof users === 'string') return users;
    if (users.length !== 1) return 'name exactly one other person';
    return opts.onOpenDirect(users[0]);
  });

  const root = el('div', {});
  const show = (d) => {
    if (d.open) return;
    root.append(d);
    d.showModal();
  };
  return {
    root,
    newChannel: () => show(channel),
    newDirect: () => show(direct),
    /** @param {import('../state.js').Channel} ch */
    editChannel(ch) {
      editing = { id: ch.id, name: ch.name, topic: ch.topic };
      show(edit);
      chName.value = ch.name;
      chTopic.value = ch.topic;
    },
    /** Asks before fn deletes a message (fn returns an error sentence or null). */
    confirmDelete(fn) {
      onDelete = fn;
      show(del);
    },
  };
}
