// v11: the web client's views of protocol 1.1 (PROTOCOL.md section 6)
// against a chatd of their own, driven through accessible names as people
// use them: edit and delete from a message's menu, reaction chips, the
// thread panel, @-completion, mentions and their badge, "is typing…",
// search, the channel browser, private channels, the members panel and
// the topic, and a reconnect that catches up on changes to old messages
// through fetch_changes. The cases share the server and the pages and run
// in order.

import {
  Chatd, PASSWORD, assert, bannerText, connected, createChannel, expectShownOnce, newPage, openConversation, say,
  shownTexts, signUp, ui, until,
} from './lib.mjs';
import { seedInPage } from './embedded.mjs';

/** The article of the main log whose text contains text. */
export function article(p, text) {
  return ui(p).articles.filter({ has: p.locator('.text', { hasText: text }) });
}

/** Chooses item (a name) in the "Message actions" menu of the message showing text. */
export async function act(p, text, item, scope = null) {
  const a = scope ? scope.getByRole('article').filter({ has: p.locator('.text', { hasText: text }) }) : article(p, text);
  await a.hover();
  await a.getByRole('button', { name: 'Message actions', exact: true }).click();
  await a.getByRole('menuitem', { name: item, exact: true }).click();
}

/** The reaction chip of emoji under the message showing text ("👍 2"). */
export function chip(p, text, emoji) {
  return article(p, text).getByRole('group', { name: 'Reactions' }).getByRole('button', { name: new RegExp(`^${emoji} \\d+$`) });
}

export const squash = (s) => (s || '').replace(/\s+/g, ' ').trim();

/**
 * @param {import('playwright-core').Browser} browser
 * @returns {{cases: Array<[string, () => Promise<void>]>, dispose: () => Promise<void>, server: Chatd}}
 */
export function v11Cases(browser) {
  const server = new Chatd();
  const pages = [];
  let alice;
  let bob;
  let carol;

  async function page(name) {
    const p = await newPage(browser, name);
    pages.push(p);
    return p;
  }

  function noProblems() {
    const all = pages.flatMap((p) => p.problems)
      .filter((t) => !/WebSocket connection to '.*' failed/.test(t));
    assert(all.length === 0, `browser console reported:\n${all.join('\n')}`);
  }

  const cases = [
    ['1.1 set-up: alice, bob and carol in Launch', async () => {
      await server.start();
      alice = await page('alice');
      bob = await page('bob');
      carol = await page('carol');
      for (const p of [alice, bob, carol]) await signUp(p, server.url, p.user);
      await createChannel(alice, 'Launch', 'bob, carol');
      await openConversation(bob, 'Launch');
      await openConversation(carol, 'Launch');
    }],

    ['1.1 edit and delete from the message menu: "(edited)", a tombstone, admins delete others\'', async () => {
      await say(alice, 'the launch is on Tuesday');
      await expectShownOnce(bob, 'the launch is on Tuesday');
      await act(alice, 'the launch is on Tuesday', 'Edit');
      const box = alice.getByRole('textbox', { name: 'Edit message', exact: true });
      assert(await box.inputValue() === 'the launch is on Tuesday', 'the editor does not hold the text');
      await box.fill('the launch is on Wednesday');
      await box.press('Enter');
      for (const p of [alice, bob, carol]) {
        await expectShownOnce(p, 'the launch is on Wednesday');
        await until(`${p.user} sees "(edited)"`, async () => (await article(p, 'the launch is on Wednesday').textContent()).includes('(edited)'));
      }
      assert(!(await shownTexts(bob)).includes('the launch is on Tuesday'), 'the old text stays');

      // bob may neither edit nor delete alice's message
      const a = article(bob, 'the launch is on Wednesday');
      await a.hover();
      await a.getByRole('button', { name: 'Message actions' }).click();
      await a.getByRole('menuitem', { name: 'Reply in thread' }).waitFor();
      assert(await a.getByRole('menuitem', { name: /^(Edit|Delete)$/ }).count() === 0, 'bob may change alice\'s message');
      await bob.keyboard.press('Escape');
      await until('the menu to close', async () => !(await a.getByRole('menu').isVisible()));

      // bob deletes his own, after saying yes
      await say(bob, 'wrong channel, sorry');
      await expectShownOnce(alice, 'wrong channel, sorry');
      await act(bob, 'wrong channel, sorry', 'Delete');
      await bob.getByRole('dialog', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete', exact: true }).click();
      // alice, the channel's admin, deletes carol's
      await say(carol, 'buy cheap watches');
      await expectShownOnce(alice, 'buy cheap watches');
      await act(alice, 'buy cheap watches', 'Delete');
      await alice.getByRole('dialog', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete', exact: true }).click();
      for (const p of [alice, bob, carol]) {
        await until(`${p.user} sees two tombstones`, async () => {
          const texts = await shownTexts(p);
          return texts.filter((t) => t === 'This message was deleted.').length === 2
            && !texts.includes('wrong channel, sorry') && !texts.includes('buy cheap watches');
        });
      }
      noProblems();
    }],

    ['1.1 reactions: picked from the menu, chips toggle, counted on every screen', async () => {
      const text = 'the launch is on Wednesday';
      await act(bob, text, '🎉');
      for (const p of [alice, bob]) await until(`${p.user} sees 🎉 1`, async () => squash(await chip(p, text, '🎉').textContent()) === '🎉 1');
      assert(await chip(bob, text, '🎉').getAttribute('aria-pressed') === 'true', 'bob\'s chip is not pressed');
      assert(await chip(alice, text, '🎉').getAttribute('aria-pressed') === 'false', 'alice\'s chip is pressed');
      await chip(alice, text, '🎉').click();
      for (const p of [alice, bob, carol]) await until(`${p.user} sees 🎉 2`, async () => squash(await chip(p, text, '🎉').textContent()) === '🎉 2');
      assert((await chip(carol, text, '🎉').getAttribute('title')) === 'bob, alice', 'who reacted');
      await chip(bob, text, '🎉').click();
      await chip(alice, text, '🎉').click(); // taken back: the chip goes
      for (const p of [alice, bob, carol]) await until(`${p.user}'s chip to go`, async () => (await chip(p, text, '🎉').count()) === 0);
      noProblems();
    }],

    ['1.1 threads: replies in the side panel, counted on the root, live for the others', async () => {
      const root = 'the launch is on Wednesday';
      await act(alice, root, 'Reply in thread');
      const panel = (p) => p.getByRole('complementary', { name: 'Thread', exact: true });
      const reply = panel(alice).getByRole('textbox', { name: 'Reply', exact: true });
      await until('the focus in Reply', () => reply.evaluate((e) => e === document.activeElement));
      await reply.fill('the checklist is in the wiki');
      await reply.press('Enter');
      await panel(alice).getByText('the checklist is in the wiki', { exact: true }).waitFor();
      await article(bob, root).getByRole('button', { name: '1 reply', exact: true }).click();
      await panel(bob).getByText('the checklist is in the wiki', { exact: true }).waitFor();
      await panel(bob).getByRole('textbox', { name: 'Reply', exact: true }).fill('thanks, reading it');
      await panel(bob).getByRole('button', { name: 'Send reply', exact: true }).click();
      await panel(alice).getByText('thanks, reading it', { exact: true }).waitFor();
      for (const p of [alice, bob, carol]) {
        await article(p, root).getByRole('button', { name: '2 replies', exact: true }).waitFor();
        const texts = await shownTexts(p);
        assert(!texts.includes('thanks, reading it') && !texts.includes('the checklist is in the wiki'),
          `${p.user}: a reply in the conversation itself`);
      }
      // a reply edited in the panel changes there too
      await act(bob, 'thanks, reading it', 'Edit', panel(bob));
      const box = panel(bob).getByRole('textbox', { name: 'Edit message', exact: true });
      await box.fill('thanks, read it');
      await box.press('Enter');
      await panel(alice).getByText('thanks, read it', { exact: true }).waitFor();
      for (const p of [alice, bob]) await panel(p).getByRole('button', { name: 'Close thread' }).click();
      await ui(alice).members.waitFor();
      noProblems();
    }],

    ['1.1 mentions: @-completion, highlighted, a badge until read; "bob is typing…"', async () => {
      await createChannel(carol, 'Quiet', '');
      const b = ui(bob);
      await b.message.click();
      const sentBefore = bob.sent.length;
      const t0 = Date.now();
      await bob.keyboard.type('@ca');
      const option = bob.getByRole('listbox').getByRole('option', { name: '@carol', exact: true });
      await option.waitFor();
      await bob.keyboard.press('Enter'); // completes, does not send
      assert(await b.message.inputValue() === '@carol ', `completed to "${await b.message.inputValue()}"`);
      await bob.keyboard.type('please review the notes');
      // alice sees bob typing (he goes on while she does not: a typing frame
      // of his within the last 3 s holds the next back), until his message comes
      await until('alice to see bob typing', async () => {
        await bob.keyboard.type('x');
        await bob.keyboard.press('Backspace');
        return squash(await alice.locator('#composer-typing').textContent()) === 'bob is typing…';
      });
      const typingFrames = bob.sent.slice(sentBefore).filter((s) => s.frame.type === 'typing');
      const most = Math.floor((Date.now() - t0) / 3000) + 1;
      assert(typingFrames.length >= 1 && typingFrames.length <= most, `bob sent ${typingFrames.length} typing frames (at most ${most})`);
      await bob.keyboard.press('Enter');
      await expectShownOnce(alice, '@carol please review the notes');
      await until('the typing line to clear', async () => squash(await alice.locator('#composer-typing').textContent()) === '');
      const c = ui(carol);
      await until('carol\'s mention badge', async () => squash(await c.item('Launch').textContent()) === 'Launch 1 unread @1 mention');
      await openConversation(carol, 'Launch');
      const mark = article(carol, 'please review the notes').locator('mark.mention.me');
      assert(await mark.textContent() === '@carol', 'the mention is not highlighted');
      await until('the badge to go', async () => squash(await c.item('Launch').textContent()) === 'Launch');
      assert(await article(alice, 'please review the notes').locator('mark.mention').count() === 1, 'alice: not highlighted');
      noProblems();
    }],

    ['1.1 search: results in the side panel; a click shows the message in its channel', async () => {
      await openConversation(alice, 'Launch');
      await say(alice, 'the rollout plan is ready for review');
      await expectShownOnce(alice, 'the rollout plan is ready for review');
      await createChannel(alice, 'Elsewhere', '');
      const box = alice.getByRole('searchbox', { name: 'Search messages', exact: true });
      const panel = alice.getByRole('complementary', { name: 'Search results', exact: true });
      await box.fill('ROLLOUT* plan');
      await box.press('Enter');
      const result = panel.getByRole('button').filter({ hasText: 'the rollout plan is ready for review' });
      await result.waitFor();
      assert(/alice in Launch/.test(await result.textContent()), `result: ${await result.textContent()}`);
      await box.fill('watches'); // deleted: never found
      await box.press('Enter');
      await until('no result', async () => /^0 messages match/.test(await panel.getByRole('status').textContent()));
      await box.fill('"rollout plan"');
      await box.press('Enter');
      await result.click();
      await until('alice in Launch', async () => (await ui(alice).title.textContent()) === 'Launch');
      await article(alice, 'the rollout plan is ready for review').waitFor();
      // a reply: shown in its thread
      await box.fill('checklist wiki');
      await box.press('Enter');
      await panel.getByRole('button').filter({ hasText: 'the checklist is in the wiki' }).click();
      const thread = alice.getByRole('complementary', { name: 'Thread', exact: true });
      await thread.getByText('the checklist is in the wiki', { exact: true }).waitFor();
      await thread.getByRole('button', { name: 'Close thread' }).click();
      // a result older than the page has read: it reads back until it can show it
      await alice.evaluate(seedInPage, {
        user: 'ivy', password: PASSWORD, channel: 'Archive', members: ['alice'], count: 120, prefix: 'archived',
      });
      await box.fill('archived 007');
      await box.press('Enter');
      await panel.getByRole('button').filter({ hasText: 'archived 007' }).click();
      await until('alice in Archive', async () => (await ui(alice).title.textContent()) === 'Archive');
      await article(alice, 'archived 007').waitFor();
      assert((await shownTexts(alice)).length >= 114, 'the page did not read back to the result');
      await panel.getByRole('button', { name: 'Close search' }).click();
      noProblems();
    }],

    ['1.1 channel browser, a private channel, members added, promoted and removed, the topic', async () => {
      await createChannel(bob, 'Lobby', '');
      // private: not in the directory, not joinable
      const a = ui(alice);
      await a.newChannel.click();
      await a.channelName.fill('Secret');
      await a.membersField.fill('bob');
      await alice.getByRole('checkbox', { name: /Private/ }).check();
      await a.create.click();
      await until('alice in Secret', async () => (await a.title.textContent()) === 'Secret');
      await until('Secret shown as private', async () => /private/.test(await alice.locator('#channel-subtitle').textContent()));

      await carol.getByRole('button', { name: 'Browse channels', exact: true }).click();
      const dir = carol.getByRole('dialog', { name: 'Browse channels' });
      await dir.getByRole('button', { name: 'Join Lobby', exact: true }).waitFor();
      await dir.getByRole('button', { name: 'Open Launch', exact: true }).waitFor();
      assert(await dir.getByText('Secret').count() === 0, 'a private channel in the directory');
      await dir.getByRole('searchbox', { name: 'Find a channel' }).fill('lob');
      await until('the directory filtered', async () => (await dir.getByRole('listitem').count()) === 1);
      await dir.getByRole('button', { name: 'Join Lobby', exact: true }).click();
      await until('carol in Lobby', async () => (await ui(carol).title.textContent()) === 'Lobby');
      await ui(carol).member('carol').waitFor();
      await ui(carol).member('bob').waitFor();

      // the admin of Secret adds carol, makes her an admin, then removes her
      await openConversation(alice, 'Secret');
      const members = a.members;
      await members.getByRole('textbox', { name: 'Add people' }).fill('carol');
      await members.getByRole('button', { name: 'Add', exact: true }).click();
      await ui(carol).item('Secret').waitFor();
      await a.member('carol').waitFor();
      await members.getByRole('button', { name: 'Make carol an admin' }).click();
      await until('carol an admin', async () => (await a.member('carol').textContent()).includes('admin'));
      await openConversation(bob, 'Secret');
      assert(await ui(bob).members.getByRole('button', { name: /^Remove / }).count() === 0, 'bob, a member, may remove');
      assert(!(await bob.getByRole('button', { name: 'Edit channel' }).isVisible()), 'bob may edit the channel');
      await members.getByRole('button', { name: 'Remove carol' }).click();
      await until('Secret gone from carol\'s list', async () => (await ui(carol).item('Secret').count()) === 0);
      await until('carol gone from bob\'s panel', async () => (await ui(bob).member('carol').count()) === 0);

      // the topic
      await alice.getByRole('button', { name: 'Edit channel', exact: true }).click();
      const edit = alice.getByRole('dialog', { name: 'Edit channel' });
      await edit.getByRole('textbox', { name: 'Topic' }).fill('launch prep, invite only');
      await edit.getByRole('button', { name: 'Save' }).click();
      await until('bob sees the topic', async () => (await bob.locator('#channel-topic').textContent()) === 'launch prep, invite only');
      noProblems();
    }],

    ['1.1 reconnect: edits, deletions, reactions and replies to old messages missed offline arrive once (fetch_changes)', async () => {
      const dora = await page('dora');
      const net = { refuse: false, live: [] };
      await dora.routeWebSocket((u) => u.pathname === '/chat', (ws) => {
        if (net.refuse) {
          ws.close({ code: 1011, reason: 'test: network down' });
          return;
        }
        const srv = ws.connectToServer();
        net.live.push({ ws, srv });
      });
      await signUp(dora, server.url, 'dora');
      await createChannel(alice, 'Offline', 'dora');
      for (const t of ['old one', 'old two', 'old three']) await say(alice, t);
      await openConversation(dora, 'Offline');
      for (const t of ['old one', 'old two', 'old three']) await expectShownOnce(dora, t);

      net.refuse = true;
      for (const c of net.live.splice(0)) {
        await c.srv.close();
        await c.ws.close({ code: 1001, reason: 'test: connection lost' });
      }
      await until('dora\'s banner', async () => (await bannerText(dora)).includes('Reconnecting'));
      const sentBefore = dora.sent.length;
      await act(alice, 'old one', 'Edit');
      const box = alice.getByRole('textbox', { name: 'Edit message', exact: true });
      await box.fill('old one, fixed');
      await box.press('Enter');
      await act(alice, 'old two', 'Delete');
      await alice.getByRole('dialog', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete', exact: true }).click();
      await act(alice, 'old three', '👀');
      await act(alice, 'old three', 'Reply in thread');
      const thread = alice.getByRole('complementary', { name: 'Thread', exact: true });
      await thread.getByRole('textbox', { name: 'Reply', exact: true }).fill('a reply while dora is away');
      await thread.getByRole('button', { name: 'Send reply', exact: true }).click();
      await thread.getByText('a reply while dora is away', { exact: true }).waitFor();
      await thread.getByRole('button', { name: 'Close thread' }).click();
      await say(alice, 'new four');
      await expectShownOnce(alice, 'new four');
      await until('alice\'s reaction', async () => (await chip(alice, 'old three', '👀').count()) === 1);

      net.refuse = false;
      await dora.evaluate(() => window.dispatchEvent(new Event('online')));
      await connected(dora);
      await expectShownOnce(dora, 'new four', 15000);
      await expectShownOnce(dora, 'old one, fixed');
      await until('dora sees the reaction', async () => squash(await chip(dora, 'old three', '👀').textContent()) === '👀 1');
      await article(dora, 'old three').getByRole('button', { name: '1 reply', exact: true }).waitFor();
      const texts = await shownTexts(dora);
      assert(JSON.stringify(texts) === JSON.stringify(['old one, fixed', 'This message was deleted.', 'old three', 'new four']),
        `dora sees ${JSON.stringify(texts)}`);
      const asked = dora.sent.slice(sentBefore).map((s) => s.frame).filter((f) => /^fetch_/.test(f.type));
      assert(asked.length > 0 && asked.every((f) => f.type === 'fetch_changes'), `dora asked ${JSON.stringify(asked)}`);
      noProblems();
    }],
  ];

  return {
    cases,
    server,
    async dispose() {
      for (const p of pages) await p.context().close().catch(() => {});
      await server.dispose();
    },
  };
}
