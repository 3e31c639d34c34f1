// unit: the page's modules without a browser (they do no I/O of their
// own): how chat.js catches up after a reconnect — fetch_changes when the
// server has it (protocol 1.1), fetch_history after when it answers
// unknown_type —, that a message sent again after a reconnect shows once,
// and how protocol 1.1's frames change the state: edits, deletions,
// reactions, threads, mentions, typing, notices, search, directory.

import { ChatClient } from '../../web/js/chat.js';
import { ChatState, mentionSpans } from '../../web/js/state.js';
import { tokenExpired } from '../../web/js/session.js';
import { assert } from './lib.mjs';

const CH = '11111111-2222-4333-8444-555555555555';

function msg(seq, user, content, extra = {}) {
  return {
    channel_id: CH, message_id: String(1000 + seq), user_id: user, sender_id: user, content,
    created_at: new Date(Date.UTC(2026, 0, 1, 12, 0, seq)).toISOString(), metadata: {}, seq, ...extra,
  };
}

/** A client whose socket is a list: what it sent. */
function client() {
  const state = new ChatState('alice');
  const sent = [];
  const c = new ChatClient(state, { url: () => '', onAuthFailed() {} });
  c.socket = {
    open: true,
    send(f) {
      if (!this.open) return false;
      sent.push(f);
      return true;
    },
    start() {},
    stop() {},
  };
  const list = { type: 'channels_list', channels: [{ channel_id: CH, channel_name: 'T', channel_type: 'group', is_direct: false, other_participants: ['bob'], unread_count: 0 }] };
  c.frame(list);
  c.frame({ type: 'channel_joined', channelId: CH, messages: [msg(1, 'bob', 'one'), msg(2, 'alice', 'two'), msg(3, 'bob', 'three')], participants: [] });
  return { state, sent, c, list };
}

const texts = (state) => state.channels.get(CH).order.map((id) => state.channels.get(CH).messages.get(id).content);

export const unitCases = [
  ['unit: reconnect to a 1.0 server: fetch_changes refused (unknown_type), fetch_history after, once', async () => {
    const { state, sent, c, list } = client();
    c.opened();
    c.frame(list);
    const ask = sent.at(-1);
    assert(ask.type === 'fetch_changes' && ask.after_seq === 3, `first ask: ${JSON.stringify(ask)}`);
    c.frame({ type: 'error', error: 'unknown type', code: 'unknown_type', request_type: 'fetch_changes' });
    const hist = sent.at(-1);
    assert(hist.type === 'fetch_history' && hist.after === '1003', `then: ${JSON.stringify(hist)}`);
    assert(state.notices.length === 0, 'the refusal was shown to the user');
    c.frame({ type: 'history', channel_id: CH, messages: [msg(3, 'bob', 'three'), msg(4, 'bob', 'four')], has_more: false });
    assert(JSON.stringify(texts(state)) === '["one","two","three","four"]', `state: ${texts(state)}`);
    // the next reconnect goes straight to history
    c.opened();
    c.frame(list);
    assert(sent.at(-1).type === 'fetch_history', 'asked fetch_changes again');
  }],

  ['unit: reconnect to a 1.1 server: fetch_changes pages applied (messages, edits, deletions, reactions)', async () => {
    const { state, sent, c, list } = client();
    c.opened();
    c.frame(list);
    c.frame({
      type: 'changes', channel_id: CH, has_more: true, events: [
        { type: 'chat_message', ...msg(4, 'bob', 'four') },
        { type: 'message_updated', channel_id: CH, message_id: '1001', seq: 5, user_id: 'bob', content: 'one (fixed)', edited_at: '2026-01-01T12:01:00.000Z' },
      ],
    });
    const next = sent.at(-1);
    assert(next.type === 'fetch_changes' && next.after_seq === 5, `next page: ${JSON.stringify(next)}`);
    c.frame({
      type: 'changes', channel_id: CH, has_more: false, events: [
        { type: 'message_deleted', channel_id: CH, message_id: '1003', seq: 6, deleted_by: 'bob' },
        { type: 'reaction', channel_id: CH, message_id: '1002', seq: 7, user_id: 'bob', emoji: '👍', op: 'add' },
      ],
    });
    assert(!sent.some((f) => f.type === 'fetch_history'), 'fell back to history');
    const ch = state.channels.get(CH);
    assert(JSON.stringify(texts(state)) === '["one (fixed)","two","","four"]', `state: ${texts(state)}`);
    assert(ch.messages.get('1001').edited_at && ch.messages.get('1003').deleted, 'edit/deletion not applied');
    assert(ch.messages.get('1002').reactions[0].count === 1, 'reaction not applied');
    assert(ch.maxSeq === 7, `maxSeq ${ch.maxSeq}`);
    // a live gap (seq 9 after 7) is read with fetch_changes after 7
    c.frame({ type: 'chat_message', ...msg(9, 'bob', 'nine') });
    assert(sent.at(-1).type === 'fetch_changes' && sent.at(-1).after_seq === 7, `gap: ${JSON.stringify(sent.at(-1))}`);
  }],

  ['unit: a message sent again after a reconnect (same client_msg_id) shows once; receipts', async () => {
    const { state, sent, c, list } = client();
    c.send(CH, 'lost with the connection'); // sent; the echo never comes
    assert(state.pendingIn(CH).length === 1, 'not pending');
    c.opened();
    c.frame(list);
    const again = sent.filter((f) => f.type === 'chat_message');
    assert(again.length === 2 && again[0].client_msg_id === again[1].client_msg_id, 'not sent again with the same id');
    const echo = { type: 'chat_message', ...msg(4, 'alice', 'lost with the connection', { client_msg_id: again[0].client_msg_id }) };
    c.frame(echo);
    c.frame(echo);
    assert(state.pendingIn(CH).length === 0 && JSON.stringify(texts(state)) === '["one","two","three","lost with the connection"]',
      `state: ${texts(state)}`);
    c.frame({ type: 'channel_read', channel_id: CH, user_id: 'bob', last_read_message_id: '1004' });
    const readers = () => JSON.stringify([...state.readers(state.channels.get(CH))]);
    assert(readers() === '[["1004",["bob"]]]', `receipts: ${readers()}`);
    // bob answers and reads his own: his receipt stays under the last message of someone else
    c.frame({ type: 'chat_message', ...msg(5, 'bob', 'five') });
    c.frame({ type: 'channel_read', channel_id: CH, user_id: 'bob', last_read_message_id: '1005' });
    assert(readers() === '[["1004",["bob"]]]', `receipts after bob's answer: ${readers()}`);
  }],

  ['unit: live edits, deletions and reactions; a replayed message does not undo them', async () => {
    const { state, sent, c } = client();
    const ch = state.channels.get(CH);
    const m = (id) => ch.messages.get(id);
    c.frame({ type: 'message_updated', channel_id: CH, message_id: '1001', seq: 4, user_id: 'bob', content: 'one!', edited_at: 'x', mentions: [] });
    c.frame({ type: 'reaction', channel_id: CH, message_id: '1001', seq: 5, user_id: 'bob', emoji: '👍', op: 'add' });
    c.frame({ type: 'reaction', channel_id: CH, message_id: '1001', seq: 6, user_id: 'alice', emoji: '👍', op: 'add' });
    c.frame({ type: 'reaction', channel_id: CH, message_id: '1001', seq: 7, user_id: 'alice', emoji: '🎉' });
    c.frame({ type: 'reaction', channel_id: CH, message_id: '1001', seq: 8, user_id: 'bob', emoji: '👍', op: 'remove' });
    const r = JSON.stringify(m('1001').reactions);
    assert(r === '[{"emoji":"👍","count":1,"users":["alice"]},{"emoji":"🎉","count":1,"users":["alice"]}]', `reactions ${r}`);
    assert(m('1001').content === 'one!' && m('1001').edited_at === 'x', 'edit not applied');
    c.frame({ type: 'message_deleted', channel_id: CH, message_id: '1001', seq: 9, deleted_by: 'bob' });
    assert(m('1001').deleted && m('1001').content === '' && m('1001').reactions.length === 0, 'no tombstone');
    assert(!sent.some((f) => f.type === 'fetch_changes'), 'a gap where there was none');
    // catching up: the first frame of a message held already does not bring its old text back
    c.frame({ type: 'changes', channel_id: CH, has_more: false, events: [{ type: 'chat_message', ...msg(3, 'bob', 'three') }] });
    c.frame({ type: 'message_updated', channel_id: CH, message_id: '1003', seq: 10, user_id: 'bob', content: 'THREE', edited_at: 'y' });
    c.frame({ type: 'changes', channel_id: CH, has_more: false, events: [{ type: 'chat_message', ...msg(3, 'bob', 'three') }] });
    assert(m('1003').content === 'THREE', `replayed: ${m('1003').content}`);
    // an unread message deleted before it was read is not unread any more
    state.setActive(null);
    c.frame({ type: 'chat_message', ...msg(11, 'bob', 'oops') });
    assert(ch.unread === 1, `unread ${ch.unread}`);
    c.frame({ type: 'message_deleted', channel_id: CH, message_id: '1011', seq: 12, deleted_by: 'bob' });
    assert(ch.unread === 0, `unread after the deletion ${ch.unread}`);
    // edit and delete go out as §6 says
    assert(c.edit(CH, '1002', '  ') === 'a message cannot be empty', 'an empty edit was sent');
    assert(c.edit(CH, '1002', 'two!') === null && c.deleteMessage(CH, '1002') === null && c.react(CH, '1002', '👍', false) === null, 'not sent');
    assert(JSON.stringify(sent.slice(-3)) === JSON.stringify([
      { type: 'edit_message', channelId: CH, message_id: '1002', content: 'two!' },
      { type: 'delete_message', channelId: CH, message_id: '1002' },
      { type: 'react', channelId: CH, message_id: '1002', emoji: '👍', op: 'remove' },
    ]), `sent ${JSON.stringify(sent.slice(-3))}`);
  }],

  ['unit: frames out of seq order (a cluster\'s bus may swap two) are applied in seq order', async () => {
    const { state, sent, c } = client();
    const ch = state.channels.get(CH);
    const add = { type: 'reaction', channel_id: CH, message_id: '1001', seq: 4, user_id: 'bob', emoji: '👍', op: 'add' };
    const edit1 = { type: 'message_updated', channel_id: CH, message_id: '1002', seq: 5, user_id: 'alice', content: 'first edit', edited_at: 'a' };
    const remove = { ...add, seq: 6, op: 'remove' };
    const edit2 = { ...edit1, seq: 7, content: 'second edit', edited_at: 'b' };
    c.frame(remove); // 4 and 5 missing: it waits, they are read
    assert(sent.at(-1).type === 'fetch_changes' && sent.at(-1).after_seq === 3 && ch.maxSeq === 3, `asked ${JSON.stringify(sent.at(-1))}`);
    c.frame(edit2);
    c.frame({ type: 'changes', channel_id: CH, events: [add, edit1, remove, edit2], has_more: false });
    c.frame({ type: 'changes', channel_id: CH, events: [add, edit1, remove, edit2], has_more: false }); // the second ask's answer
    c.frame(add); // the late ones
    c.frame(edit1);
    const m = (id) => ch.messages.get(id);
    assert((m('1001').reactions || []).length === 0, `reactions ${JSON.stringify(m('1001').reactions)}`);
    assert(m('1002').content === 'second edit' && ch.maxSeq === 7, `content ${m('1002').content}, maxSeq ${ch.maxSeq}`);
  }],

  ['unit: threads — replies counted on their root, the open thread follows edits; replies pending apart', async () => {
    const { state, sent, c } = client();
    const ch = state.channels.get(CH);
    c.openThread(CH, '1001');
    assert(sent.at(-1).type === 'fetch_thread' && sent.at(-1).message_id === '1001' && state.panel === 'thread', 'not asked');
    const old = msg(0, 'bob', 'an old reply', { message_id: '999', reply_to: '1001' });
    c.frame({ type: 'thread', channel_id: CH, root: { ...msg(1, 'bob', 'one'), reply_count: 1 }, replies: [old], has_more: false });
    c.send(CH, 'my reply', '1001');
    assert(sent.at(-1).reply_to === '1001' && state.pendingIn(CH).length === 0 && state.pendingIn(CH, '1001').length === 1, 'pending');
    c.frame({ type: 'chat_message', ...msg(4, 'alice', 'my reply', { reply_to: '1001', client_msg_id: sent.at(-1).client_msg_id }) });
    assert(ch.messages.get('1001').reply_count === 2 && state.thread.root.reply_count === 2, 'root not counted');
    assert(state.pendingIn(CH, '1001').length === 0, 'still pending');
    c.frame({ type: 'message_updated', channel_id: CH, message_id: '999', seq: 5, user_id: 'bob', content: 'edited reply', edited_at: 'z' });
    const texts = state.threadReplies().map((m) => m.content);
    assert(JSON.stringify(texts) === '["edited reply","my reply"]', `thread ${texts}`);
    c.frame({ type: 'chat_message', ...msg(4, 'alice', 'my reply', { reply_to: '1001' }) }); // again: counted once
    assert(ch.messages.get('1001').reply_count === 2, 'counted twice');
    state.closePanel();
    assert(state.thread === null && state.panel === 'members', 'not closed');
  }],

  ['unit: mentions — spans by §6 rule, mention_count, live mentions counted, read clears', async () => {
    const spans = (t) => JSON.stringify(mentionSpans(t).map((x) => [x.name, x.start]));
    assert(spans('@bob hi @carol. mail a@b.c (@d-) @') === '[["bob",0],["carol",8],["d",28]]', spans('@bob hi @carol. mail a@b.c (@d-) @'));
    const { state, c, list } = client();
    const ch = state.channels.get(CH);
    c.frame({ ...list, channels: [{ ...list.channels[0], mention_count: 2, unread_count: 3, topic: 'plans', private: true, member_count: 4 }] });
    assert(ch.mentions === 2 && ch.topic === 'plans' && ch.private && ch.memberCount === 4, 'entry fields');
    state.setActive(null);
    c.frame({ type: 'chat_message', ...msg(4, 'bob', 'hey @alice', { mentions: ['alice'] }) });
    c.frame({ type: 'chat_message', ...msg(5, 'bob', 'hey @carol', { mentions: ['carol'] }) });
    assert(ch.mentions === 3 && ch.unread === 5, `mentions ${ch.mentions} unread ${ch.unread}`);
    // an edit that adds a mention of alice counts; one that takes it away, or a deletion, uncounts
    c.frame({ type: 'message_updated', channel_id: CH, message_id: '1005', seq: 6, user_id: 'bob', content: '@alice too', edited_at: 'x', mentions: ['alice'] });
    assert(ch.mentions === 4 && ch.unread === 5, `after an edit: mentions ${ch.mentions} unread ${ch.unread}`);
    c.frame({ type: 'message_updated', channel_id: CH, message_id: '1004', seq: 7, user_id: 'bob', content: 'hey', edited_at: 'x', mentions: [] });
    c.frame({ type: 'message_deleted', channel_id: CH, message_id: '1005', seq: 8, deleted_by: 'bob' });
    assert(ch.mentions === 2 && ch.unread === 4, `after an edit and a deletion: mentions ${ch.mentions} unread ${ch.unread}`);
    c.open(CH);
    assert(ch.mentions === 0 && ch.unread === 0, 'read does not clear');
  }],

  ['unit: typing shown until it expires or their message comes; sent at most every 3 s', async () => {
    const { state, sent, c } = client();
    const ch = state.channels.get(CH);
    state.setTyping({ channel_id: CH, user_id: 'bob', expires_ms: 6000 }, 1000);
    state.setTyping({ channel_id: CH, user_id: 'alice', expires_ms: 6000 }, 1000); // ourselves: never shown
    assert(JSON.stringify(state.typers(ch, 6999)) === '["bob"]' && state.typers(ch, 7000).length === 0, 'expiry');
    c.frame({ type: 'typing', channel_id: CH, user_id: 'bob', expires_ms: 6000 });
    assert(state.typers(ch).length === 1, 'not shown');
    c.frame({ type: 'chat_message', ...msg(4, 'bob', 'done typing') });
    assert(state.typers(ch).length === 0, 'still typing after the message');
    for (const t of [0, 1000, 2999, 3000, 5000, 6000]) c.typing(CH, 100000 + t);
    const typing = sent.filter((f) => f.type === 'typing');
    assert(typing.length === 3 && typing[0].channelId === CH, `typing sent ${typing.length} times`);
  }],

  ['unit: notices manage members, roles, name and topic; search, directory', async () => {
    const { state, sent, c } = client();
    const ch = state.channels.get(CH);
    c.frame({ type: 'channel_joined', channelId: CH, messages: [], participants: [{ user_id: 'alice', role: 'admin' }, { user_id: 'bob', role: 'member' }] });
    assert(state.isAdmin(ch), 'alice is the admin');
    const notice = (seq, metadata) => c.frame({ type: 'system', ...msg(seq, 'system', 'n', { metadata }) });
    notice(4, { event: 'members_added', user_ids: ['carol', 'dan'], by: 'alice' });
    notice(5, { event: 'role_changed', user_id: 'bob', role: 'admin', by: 'alice' });
    notice(6, { event: 'member_removed', user_id: 'dan', by: 'alice' });
    notice(7, { event: 'channel_updated', name: 'Renamed', topic: 'new topic', by: 'bob' });
    const members = JSON.stringify([...ch.members]);
    assert(members === '[["alice","admin"],["bob","admin"],["carol","member"]]', members);
    assert(ch.name === 'Renamed' && ch.topic === 'new topic' && ch.memberCount === 3, `${ch.name} ${ch.topic}`);
    assert(c.search('hello wor*') === null && state.search.loading, 'search');
    c.frame({ type: 'search_results', query: 'hello wor*', messages: [msg(3, 'bob', 'hello world')], has_more: true });
    assert(state.search.messages.length === 1 && state.search.hasMore && state.panel === 'search', 'results');
    c.search('hello wor*', null, '1003');
    c.frame({ type: 'search_results', query: 'hello wor*', messages: [msg(2, 'bob', 'hello work')], has_more: false });
    assert(state.search.messages.length === 2 && !state.search.hasMore, 'older results not appended');
    c.search('x'.repeat(300));
    c.search('"unclosed');
    c.frame({ type: 'error', error: 'query is bad', code: 'invalid_field', request_type: 'search' });
    assert(state.search.error === 'query is bad' && state.notices.length === 0, 'search error');
    c.listChannels('gen');
    assert(JSON.stringify(sent.at(-1)) === '{"type":"list_channels","query":"gen","limit":100}', JSON.stringify(sent.at(-1)));
    c.frame({ type: 'channel_directory', channels: [{ channel_id: 'x', name: 'general', topic: '', member_count: 2, created_at: '', is_member: false }], has_more: false });
    assert(state.directory.channels[0].name === 'general', 'directory');
    c.addMembers(CH, ['erin']);
    c.removeMember(CH, 'carol');
    c.setRole(CH, 'bob', 'member');
    c.updateChannel(CH, undefined, 'topic only');
    c.createChannel('secret', ['bob'], true);
    assert(JSON.stringify(sent.slice(-5)) === JSON.stringify([
      { type: 'add_members', channelId: CH, userIds: ['erin'] },
      { type: 'remove_member', channelId: CH, userId: 'carol' },
      { type: 'set_role', channelId: CH, userId: 'bob', role: 'member' },
      { type: 'update_channel', channelId: CH, topic: 'topic only' },
      { type: 'create_channel', name: 'secret', participants: ['bob'], kind: 'group', private: true },
    ]), JSON.stringify(sent.slice(-5)));
  }],

  ['unit: an expired token is not kept across a reload', async () => {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = (exp) => `${b64({ alg: 'HS256' })}.${b64({ username: 'a', exp })}.sig`;
    const now = Date.now();
    assert(tokenExpired(jwt(Math.floor(now / 1000) - 1), now), 'an expired token passes');
    assert(!tokenExpired(jwt(Math.floor(now / 1000) + 3600), now), 'a live token is refused');
    assert(!tokenExpired('not a jwt', now), 'an unreadable token is refused by the page');
  }],
];
