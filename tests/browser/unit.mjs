// unit: the page's modules without a browser (they do no I/O of their
// own): how chat.js catches up after a reconnect — fetch_changes when the
// server has it (protocol 1.1, not yet in chatd: only a fake server here
// can show it), fetch_history after when it answers unknown_type —, and
// that a message sent again after a reconnect shows once.

import { ChatClient } from '../../web/js/chat.js';
import { ChatState } from '../../web/js/state.js';
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

  ['unit: an expired token is not kept across a reload', async () => {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwt = (exp) => `${b64({ alg: 'HS256' })}.${b64({ username: 'a', exp })}.sig`;
    const now = Date.now();
    assert(tokenExpired(jwt(Math.floor(now / 1000) - 1), now), 'an expired token passes');
    assert(!tokenExpired(jwt(Math.floor(now / 1000) + 3600), now), 'a live token is refused');
    assert(!tokenExpired('not a jwt', now), 'an unreadable token is refused by the page');
  }],
];
