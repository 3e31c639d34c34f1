// embedded: the web client against one chatd (the embedded shape), the
// way people use it: users in their own browser contexts, driven through
// the page's accessible names (lib.mjs ui(): the contract of issue #12),
// chatting, a server killed with -9 and restarted, a lost frame, a dropped
// connection, 200 messages of history, notifications, the keyboard alone,
// a phone-sized screen, the dark theme. The cases share the server and
// the pages and run in order.

import fs from 'node:fs';
import path from 'node:path';
import {
  Chatd, PASSWORD, ROOT, articles, assert, bannerText, connected, createChannel, expectShownOnce,
  focused, newPage, openConversation, say, shownTexts, signIn, signUp, tabTo, ui, until,
} from './lib.mjs';

const JS_LIMIT_BYTES = 150 * 1024;
// Time to interactive is measured and reported here (the target is 300 ms,
// issue #12); the test only fails past a bound no healthy page comes near
// (a script waiting on a timeout, a blocking request): speed is judged from
// the printed figure, not by a timed assertion on a shared machine.
export const TTI_TARGET_MS = 300;
const TTI_BROKEN_MS = 2000;
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
  + "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/**
 * Init script for a page whose tab the test hides: records every desktop
 * notification the page creates (window.__notes) and lets the test hide and
 * show the tab (window.__setHidden): headless Chromium keeps every tab
 * visible.
 */
function notificationHook() {
  window.__notes = [];
  const Real = window.Notification;
  if (Real) {
    class Recorded extends Real {
      constructor(title, options) {
        window.__notes.push({ title, body: options && options.body });
        super(title, options);
      }
    }
    window.Notification = Recorded;
  }
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', {
    configurable: true, get: () => (hidden ? 'hidden' : 'visible'),
  });
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
}

/**
 * Runs in a page of the server's origin: creates user, a channel with
 * members, and count messages "NAME 001"… through raw WebSockets (blocks
 * of 90 per connection: the rate limit's burst is 100 frames), each
 * acknowledged by its echo.
 */
export async function seedInPage({ user, password, channel, members, count, prefix }) {
  const post = (p, b) => fetch(p, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(b),
  });
  await post('/register', { username: user, password });
  const auth = await (await post('/auth', { username: user, password })).json();
  const { host, port } = auth.servers.chat;
  const url = `ws://${host}:${port}/chat?token=${encodeURIComponent(auth.sessionToken)}`;
  const open = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('seed: WebSocket failed'));
  });
  const wait = (ws, pred, what) => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`seed: no ${what}`)), 15000);
    const h = (ev) => {
      const f = JSON.parse(ev.data);
      if (f.type === 'error') reject(new Error(`seed: ${ev.data}`));
      if (pred(f)) {
        clearTimeout(t);
        ws.removeEventListener('message', h);
        resolve(f);
      }
    };
    ws.addEventListener('message', h);
  });
  let ws = await open();
  const created = wait(ws, (f) => f.type === 'channel_created', 'channel_created');
  ws.send(JSON.stringify({ type: 'create_channel', name: channel, participants: members }));
  const channelId = (await created).channel.channel_id;
  const BLOCK = 90;
  for (let first = 1; first <= count; first += BLOCK) {
    if (first > 1) {
      ws.close();
      ws = await open();
    }
    const last = Math.min(count, first + BLOCK - 1);
    const done = wait(ws, (f) => f.type === 'chat_message' && f.client_msg_id === `seed-${last}`, `echo ${last}`);
    for (let i = first; i <= last; i++) {
      ws.send(JSON.stringify({
        type: 'chat_message', channelId, content: `${prefix} ${String(i).padStart(3, '0')}`, client_msg_id: `seed-${i}`,
      }));
    }
    await done;
  }
  ws.close();
  return channelId;
}

/**
 * @param {import('playwright-core').Browser} browser
 * @param {Object} metrics  filled with what the run measured
 * @returns {{cases: Array<[string, () => Promise<void>]>, dispose: () => Promise<void>}}
 */
export function embeddedCases(browser, metrics) {
  const server = new Chatd();
  const pages = [];
  let alice;
  let bob;
  let carol;
  let kim;

  async function page(name, contextOptions) {
    const p = await newPage(browser, name, contextOptions);
    pages.push(p);
    return p;
  }

  function noProblems() {
    const all = pages.flatMap((p) => p.problems)
      .filter((t) => !/WebSocket connection to '.*' failed/.test(t)); // the browser's own log of a refused reconnect
    assert(all.length === 0, `browser console reported:\n${all.join('\n')}`);
  }

  /** Every article holds its sender and its text; no text shows twice. */
  async function wellFormed(p) {
    const list = await articles(p);
    for (const a of list) {
      assert(a.sender && a.all.includes(a.sender) && a.all.includes(a.text),
        `${p.user}: an article without its sender or text: ${JSON.stringify(a)}`);
    }
    const texts = list.map((a) => a.text);
    const twice = texts.filter((t, i) => texts.indexOf(t) !== i);
    assert(twice.length === 0, `${p.user} sees twice: ${JSON.stringify(twice)}`);
    return list;
  }

  const cases = [
    ['page: headers, strict CSP, nothing external, JS size, time to interactive', async () => {
      await server.start();
      const runs = [];
      // Cold loads (a fresh context, empty cache, each): five, and up to five
      // more while none was under the limit (a machine busy with other work).
      for (let i = 0; i < 5 || (i < 10 && Math.min(...runs) >= TTI_TARGET_MS); i++) {
        const p = await newPage(browser, `cold${i}`);
        const requests = [];
        p.on('request', (r) => requests.push(r.url()));
        const res = await p.goto(server.url);
        const h = res.headers();
        assert(h['content-security-policy'] === CSP, `CSP: ${h['content-security-policy']}`);
        assert(h['x-content-type-options'] === 'nosniff', 'no nosniff');
        assert(h['content-type'] === 'text/html; charset=utf-8', `content-type ${h['content-type']}`);
        assert(h['cache-control'] === 'no-cache' && /^"[0-9a-f]{32}(-gz)?"$/.test(h.etag), 'cache headers');
        await until('the Username field to have the focus', () => focused(ui(p).username));
        runs.push(await p.evaluate(() => performance.getEntriesByName('chatd-interactive')[0].startTime));
        if (i === 0) {
          const nav = await p.evaluate(() => performance.getEntriesByType('navigation')[0].toJSON());
          metrics.domInteractiveMs = Math.round(nav.domInteractive);
          const inline = await p.evaluate(() => [...document.scripts].filter((s) => !s.src).length
            + document.querySelectorAll('[style], [onclick], [onload]').length);
          assert(inline === 0, 'the page has inline script or style');
        }
        const foreign = requests.filter((u) => !u.startsWith(`${server.url}/`));
        assert(foreign.length === 0, `the page asked for ${foreign.join(', ')}`);
        assert(p.problems.length === 0, p.problems.join('\n'));
        await p.context().close();
      }
      // The best of the cold loads is the page's own cost; the others add
      // whatever else the (shared, two-core) machine was doing meanwhile.
      runs.sort((a, b) => a - b);
      metrics.ttiRuns = runs.map((x) => Math.round(x));
      metrics.ttiMs = metrics.ttiRuns[0];
      metrics.ttiMedianMs = metrics.ttiRuns[Math.floor(runs.length / 2)];
      assert(metrics.ttiMs < TTI_BROKEN_MS, `time to interactive ${metrics.ttiMs} ms (best of ${metrics.ttiRuns}) >= ${TTI_BROKEN_MS}`);

      const files = fs.readdirSync(path.join(ROOT, 'web/js'), { recursive: true }).filter((f) => f.endsWith('.js'));
      metrics.jsFiles = files.length;
      metrics.jsBytes = files.reduce((n, f) => n + fs.statSync(path.join(ROOT, 'web/js', f)).size, 0);
      assert(metrics.jsBytes < JS_LIMIT_BYTES, `page JS is ${metrics.jsBytes} bytes`);
    }],

    ['two users: sign up, channel, chat both ways, unread, title, receipts, presence, DM', async () => {
      alice = await page('alice');
      bob = await page('bob');
      await signUp(alice, server.url, 'alice');
      await signUp(bob, server.url, 'bob');
      const a = ui(alice);
      const b = ui(bob);

      await createChannel(alice, 'Team Chat', 'bob');
      await say(alice, 'hi bob, the deploy is done');
      await expectShownOnce(alice, 'hi bob, the deploy is done');
      assert(await a.message.inputValue() === '', 'the Message field keeps the text after Enter');

      // bob has not opened it: an unread badge (text in the item), the count in the title
      await until('bob\'s unread badge', () => b.item('Team Chat').isVisible());
      await until('bob\'s badge to say 1', async () => /^Team Chat 1 unread$/.test(
        (await b.item('Team Chat').textContent()).replace(/\s+/g, ' ').trim(),
      ));
      await bob.getByRole('navigation', { name: 'Channels' })
        .getByRole('link', { name: /^Team Chat 1 unread$/ }).waitFor();
      await until('bob\'s title', async () => (await bob.title()) === '(1) chatd');
      assert(await alice.title() === 'chatd', `alice's title: ${await alice.title()}`);
      await openConversation(bob, 'Team Chat');
      await expectShownOnce(bob, 'hi bob, the deploy is done');
      await until('the badge to go', async () => !/unread/.test(await b.item('Team Chat').textContent()));
      await until('bob\'s title to clear', async () => (await bob.title()) === 'chatd');

      // alice sees that bob read her message, under the last one he read
      await alice.getByText('Seen by bob', { exact: true }).waitFor();
      assert(/Seen by bob/.test(await a.articles.last().textContent()), 'the receipt is not under the last message');

      // and the other way, typed with the Send button
      await b.message.fill('great, thanks alice!');
      await b.send.click();
      await expectShownOnce(alice, 'great, thanks alice!');
      await expectShownOnce(bob, 'great, thanks alice!');
      await bob.getByText('Seen by alice', { exact: true }).waitFor();
      // bob's mark is now on his own answer: his receipt stays under the last message of alice's he read
      await until('"Seen by bob" under the message he read', async () => (await a.articles
        .filter({ hasText: 'hi bob, the deploy is done' }).textContent()).includes('Seen by bob'));
      assert(await alice.getByText('Seen by bob').count() === 1, 'two receipts for bob');

      // presence in the members panel: bob online, away, busy, online again
      const bobEntry = a.member('bob');
      for (const st of ['online', 'away', 'busy', 'online']) {
        if (st !== 'online' || (await b.myStatus.inputValue()) !== 'online') await b.myStatus.selectOption(st);
        await until(`alice to see bob ${st}`, async () => (await bobEntry.textContent()).includes(st));
        assert((await b.member('bob').textContent()).includes(st), `bob's own entry is not ${st}`);
      }
      assert((await a.member('alice').textContent()).includes('online'), 'alice is not online in her panel');

      // a direct message: named by the other user, with their presence
      await b.newDirect.click();
      await b.dmUser.fill('alice');
      await b.start.click();
      await until('bob in the DM', async () => (await b.title.textContent()) === 'alice');
      await say(bob, 'a private word');
      await until('alice\'s DM badge', async () => /^bob \(online\) 1 unread$/.test(
        (await a.item('bob').textContent()).replace(/\s+/g, ' ').trim(),
      ));
      await until('alice\'s title counts the DM', async () => (await alice.title()) === '(1) chatd');
      await b.myStatus.selectOption('away');
      await until('bob away in alice\'s sidebar', async () => (await a.item('bob').textContent()).includes('(away)'));
      await b.myStatus.selectOption('online');
      await until('bob online in alice\'s sidebar', async () => (await a.item('bob').textContent()).includes('(online)'));
      await openConversation(alice, 'bob');
      await expectShownOnce(alice, 'a private word');
      // groups first, then direct messages
      const names = await a.nav.getByRole('link').evaluateAll((els) => els.map((e) => e.querySelector('.name').textContent));
      assert(JSON.stringify(names) === '["Team Chat","bob"]', `channel list: ${names}`);
      await openConversation(alice, 'Team Chat');
      await openConversation(bob, 'Team Chat');

      // Enter sends, Shift+Enter adds a line
      await a.message.click();
      await alice.keyboard.type('release notes are at https://example.com/releases/1.4');
      await alice.keyboard.press('Shift+Enter');
      await alice.keyboard.type('tests are green');
      assert(await a.message.inputValue() === 'release notes are at https://example.com/releases/1.4\ntests are green',
        'Shift+Enter did not add a line');
      await alice.keyboard.press('Enter');
      await expectShownOnce(bob, 'release notes are at https://example.com/releases/1.4\ntests are green');
      await say(bob, 'reading them now. the new search is fast');
      await expectShownOnce(alice, 'reading them now. the new search is fast');
      await say(bob, 'and the receipts work');
      await expectShownOnce(alice, 'and the receipts work');
      await bob.getByText('Seen by alice', { exact: true }).waitFor();

      // grouped by day and by sender: one day heading; bob's two in a row share a visible name
      await a.log.getByRole('heading', { name: 'Today', exact: true }).waitFor();
      const shown = await wellFormed(alice);
      assert(shown.length === 5, `alice sees ${shown.length} articles`);
      const headerShown = await a.articles.evaluateAll((els) => els.map((e) => !e.querySelector('header').classList.contains('visually-hidden')));
      assert(JSON.stringify(headerShown) === '[true,true,true,true,false]', `sender shown per article: ${headerShown}`);
      await wellFormed(bob);
      if (process.env.CHATD_WEB_SCREENSHOT) {
        await alice.mouse.move(0, 0);
        await alice.screenshot({ path: process.env.CHATD_WEB_SCREENSHOT });
      }
      noProblems();
    }],

    ['message text is text: <img onerror>, <script>, no markup, http(s) links only', async () => {
      const texts = [
        '<img src=x onerror="window.__owned=1">',
        '<script>window.__owned=2</script> & **not markdown**',
        'javascript:window.__owned=3 and data:text/html,hi',
        'docs at https://example.com/a?b=1&c=2. thanks',
      ];
      for (const t of texts) await say(alice, t);
      for (const t of texts) await expectShownOnce(bob, t);
      const found = await ui(bob).log.evaluate((box) => ({
        owned: window.__owned,
        elements: box.querySelectorAll('img, script, iframe, object, b, strong').length,
        images: document.images.length,
        links: [...box.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.rel, a.target]),
      }));
      assert(found.owned === undefined, 'message text ran as code');
      assert(found.elements === 0 && found.images === 0, 'message text became markup');
      assert(JSON.stringify(found.links) === JSON.stringify([
        ['https://example.com/releases/1.4', 'noopener noreferrer', '_blank'],
        ['https://example.com/a?b=1&c=2', 'noopener noreferrer', '_blank'],
      ]), `links: ${JSON.stringify(found.links)}`);
      const img = ui(bob).articles.filter({ hasText: '<img src=x onerror="window.__owned=1">' });
      assert(await img.count() === 1, 'the <img> text is not one article');
      noProblems();
    }],

    ['server killed with -9 and restarted: "Reconnecting" comes and goes, nothing lost or doubled', async () => {
      const before = { alice: (await articles(alice)).length, bob: (await articles(bob)).length };
      // one message still in flight when the server dies: stored or not, it must show once
      await say(alice, 'sent right before the kill');
      await server.stop('SIGKILL');
      for (const p of [alice, bob]) {
        await until(`${p.user}'s banner`, async () => (await bannerText(p)).includes('Reconnecting')
          && (await ui(p).status.isVisible()));
      }
      await say(alice, 'written while the server was down');
      await ui(alice).articles.filter({ hasText: 'written while the server was down' })
        .filter({ hasText: 'sending…' }).waitFor();
      assert((await bannerText(alice)).includes('Reconnecting'), 'the banner went before the server came back');
      await server.start(); // same port, same data
      for (const p of [alice, bob]) {
        await connected(p, 20000);
        for (const t of ['sent right before the kill', 'written while the server was down']) {
          await expectShownOnce(p, t, 15000);
        }
      }
      await say(bob, 'and we are back');
      await expectShownOnce(alice, 'and we are back');
      for (const p of [alice, bob]) {
        await until(`${p.user}'s count`, async () => (await articles(p)).length === before[p.user] + 3);
        await wellFormed(p);
        await expectShownOnce(p, 'hi bob, the deploy is done'); // history is not repeated
      }
      noProblems();
    }],

    ['lost frame (seq gap) and dropped connection: caught up, once, in order', async () => {
      carol = await page('carol');
      // carol's /chat socket runs through the test: it can lose a frame or
      // the whole connection, and refuse reconnects for a while.
      const net = { dropNextMessage: false, refuse: false, live: [] };
      await carol.routeWebSocket((u) => u.pathname === '/chat', (ws) => {
        if (net.refuse) {
          ws.close({ code: 1011, reason: 'test: network down' });
          return;
        }
        const srv = ws.connectToServer();
        srv.onMessage((m) => {
          if (net.dropNextMessage && JSON.parse(m).type === 'chat_message') {
            net.dropNextMessage = false;
            return;
          }
          ws.send(m);
        });
        net.live.push({ ws, srv });
      });
      await signUp(carol, server.url, 'carol');
      await createChannel(alice, 'Gaps', 'bob, carol');
      await openConversation(carol, 'Gaps');
      await openConversation(bob, 'Gaps');

      net.dropNextMessage = true;
      await say(bob, 'gap one');
      await until('the frame to be dropped', async () => !net.dropNextMessage);
      await say(bob, 'gap two'); // its seq shows carol that one is missing
      await expectShownOnce(carol, 'gap one');
      await expectShownOnce(carol, 'gap two');

      net.refuse = true;
      for (const c of net.live.splice(0)) {
        await c.srv.close();
        await c.ws.close({ code: 1001, reason: 'test: connection lost' });
      }
      await until('carol\'s banner', async () => (await bannerText(carol)).includes('Reconnecting'));
      for (const t of ['missed 1', 'missed 2', 'missed 3']) await say(bob, t);
      await expectShownOnce(bob, 'missed 3');
      net.refuse = false;
      await carol.evaluate(() => window.dispatchEvent(new Event('online')));
      for (const t of ['missed 1', 'missed 2', 'missed 3']) await expectShownOnce(carol, t, 15000);
      await connected(carol);
      const texts = await shownTexts(carol);
      assert(JSON.stringify(texts) === JSON.stringify(
        ['gap one', 'gap two', 'missed 1', 'missed 2', 'missed 3'],
      ), `carol sees ${JSON.stringify(texts)}`);
      // what the page asked for: fetch_changes after the last seq it held, for the gap and the reconnect
      // (a server without it answers unknown_type, then history after: unit.mjs)
      const asked = carol.sent.map((s) => s.frame).filter((f) => f.type === 'fetch_changes' || f.type === 'fetch_history');
      assert(asked.length >= 2 && asked.every((f) => f.type === 'fetch_changes' && typeof f.after_seq === 'number'),
        `carol asked ${JSON.stringify(asked)}`);
      noProblems();
    }],

    ['200 messages of history load by scrolling up (fetch_history before)', async () => {
      const seeder = await page('hal');
      await seeder.goto(server.url);
      await seeder.evaluate(seedInPage, {
        user: 'hal', password: PASSWORD, channel: 'History', members: ['alice'], count: 200, prefix: 'history',
      });
      await seeder.context().close();
      const a = ui(alice);
      await until('200 unread', async () => /^History 200 unread$/.test(
        (await a.item('History').textContent()).replace(/\s+/g, ' ').trim(),
      ), 15000);
      await until('alice\'s title', async () => /^\(\d+\) chatd$/.test(await alice.title()));
      const sentBefore = alice.sent.length;
      await openConversation(alice, 'History');
      await until('the newest page', async () => (await a.articles.count()) >= 50);
      assert(await a.articles.count() < 200, 'everything came at once: nothing to scroll for');
      await a.log.hover();
      await until('200 messages after scrolling up', async () => {
        await alice.mouse.wheel(0, -4000);
        return (await a.articles.count()) === 200;
      }, 30000);
      const texts = await shownTexts(alice);
      const want = Array.from({ length: 200 }, (_, i) => `history ${String(i + 1).padStart(3, '0')}`);
      assert(JSON.stringify(texts) === JSON.stringify(want), `History shows ${texts.length}: ${texts.slice(0, 3)}…`);
      const befores = alice.sent.slice(sentBefore).map((s) => s.frame)
        .filter((f) => f.type === 'fetch_history' && f.before);
      assert(befores.length >= 3, `${befores.length} fetch_history before`);
      assert(!(await alice.getByRole('button', { name: 'Load older messages' }).isVisible()), 'more to load after the first');
      await wellFormed(alice);
      noProblems();
    }],

    ['desktop notification for a new message while the tab is hidden, once allowed', async () => {
      const nia = await page('nia', { permissions: ['notifications'] });
      const noa = await page('noa'); // never allowed notifications
      for (const p of [nia, noa]) await p.addInitScript(notificationHook);
      await signUp(nia, server.url, 'nia');
      await signUp(noa, server.url, 'noa');
      await createChannel(alice, 'Alerts', 'nia noa');
      await openConversation(nia, 'Alerts');
      await openConversation(noa, 'Alerts');
      await say(alice, 'you are looking at this');
      await expectShownOnce(nia, 'you are looking at this');
      for (const p of [nia, noa]) await p.evaluate(() => window.__setHidden(true));
      await say(alice, 'while you were away');
      await until('nia\'s notification', () => nia.evaluate(() => window.__notes.length > 0));
      const notes = await nia.evaluate(() => window.__notes);
      assert(notes.length === 1 && notes[0].title === 'alice in Alerts' && notes[0].body === 'while you were away',
        `nia's notifications: ${JSON.stringify(notes)}`);
      await until('nia\'s title while hidden', async () => (await nia.title()) === '(1) chatd');
      await expectShownOnce(noa, 'while you were away');
      assert((await noa.evaluate(() => window.__notes.length)) === 0, 'a notification without permission');
      await nia.evaluate(() => window.__setHidden(false));
      await until('nia\'s title when back', async () => (await nia.title()) === 'chatd');
      await alice.getByText('Seen by nia', { exact: false }).first().waitFor();
      for (const p of [nia, noa]) await p.context().close();
      noProblems();
    }],

    ['keyboard only: sign in, choose a channel, send, open a dialog', async () => {
      const res = await fetch(`${server.url}/register`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'kim', password: PASSWORD }),
      });
      assert(res.status === 201, `register kim: ${res.status}`);
      await createChannel(alice, 'Keys', 'kim');
      kim = await page('kim');
      const k = ui(kim);
      await kim.goto(server.url);
      await until('the focus in Username', () => focused(k.username));
      await kim.keyboard.type('kim');
      await kim.keyboard.press('Tab');
      assert(await focused(k.password), 'Tab does not lead to Password');
      await kim.keyboard.type(PASSWORD);
      await tabTo(kim, k.signIn, 'Sign in');
      await kim.keyboard.press('Enter');
      await k.log.waitFor();
      await connected(kim);
      await tabTo(kim, k.item('Keys'), 'the Keys channel');
      await kim.keyboard.press('Enter');
      await until('kim in Keys', async () => (await k.title.textContent()) === 'Keys');
      assert(await focused(k.message), 'choosing a channel does not put the focus in Message');
      await kim.keyboard.type('typed without a mouse');
      await kim.keyboard.press('Enter');
      await expectShownOnce(kim, 'typed without a mouse');
      await expectShownOnce(alice, 'typed without a mouse');
      await tabTo(kim, k.myStatus, 'Status');
      await tabTo(kim, k.newDirect, 'New direct message');
      await kim.keyboard.press('Enter');
      await until('the dialog with the focus in Username', () => focused(k.dmUser));
      await kim.keyboard.press('Escape');
      await until('the dialog to close', async () => !(await kim.getByRole('dialog').isVisible()));
      noProblems();
    }],

    ['narrow screen: below 700 px the sidebar collapses', async () => {
      const k = ui(kim);
      await kim.setViewportSize({ width: 700, height: 700 });
      assert(await k.nav.isVisible(), 'the sidebar is collapsed at 700 px');
      for (const width of [699, 390]) {
        await kim.setViewportSize({ width, height: 700 });
        await until(`the sidebar to collapse at ${width} px`, async () => !(await k.nav.isVisible()));
        for (const [what, l] of [['log', k.log], ['Message', k.message], ['Send', k.send]]) {
          const box = await l.boundingBox();
          assert(box && box.x >= 0 && box.x + box.width <= width + 0.5, `${what} does not fit ${width} px: ${JSON.stringify(box)}`);
        }
        const overflow = await kim.evaluate(() => document.documentElement.scrollWidth);
        assert(overflow <= width, `the page is ${overflow} px wide at ${width} px`);
      }
      const toggle = kim.getByRole('button', { name: 'Show channels' });
      await toggle.click();
      assert(await toggle.getAttribute('aria-expanded') === 'true', 'aria-expanded');
      await k.nav.waitFor();
      await kim.keyboard.press('Escape'); // closes it, back on the button
      await until('Escape to fold the sidebar', async () => !(await k.nav.isVisible()) && (await focused(toggle)));
      await toggle.click();
      await k.nav.waitFor();
      await openConversation(kim, 'Keys');
      await until('the sidebar to collapse again', async () => !(await k.nav.isVisible()));
      await kim.setViewportSize({ width: 1100, height: 680 });
      await k.nav.waitFor();
    }],

    ['light and dark themes follow the system setting', async () => {
      const luminance = () => ui(kim).log.evaluate((e) => {
        const rgb = (c) => c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
        const l = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
        let n = e;
        while (n && getComputedStyle(n).backgroundColor === 'rgba(0, 0, 0, 0)') n = n.parentElement;
        return { bg: l(rgb(getComputedStyle(n || document.body).backgroundColor)), fg: l(rgb(getComputedStyle(e).color)) };
      });
      await kim.emulateMedia({ colorScheme: 'dark' });
      const dark = await luminance();
      assert(dark.bg < 0.2 && dark.fg > 0.7, `dark: ${JSON.stringify(dark)}`);
      await kim.emulateMedia({ colorScheme: 'light' });
      const light = await luminance();
      assert(light.bg > 0.8 && light.fg < 0.3, `light: ${JSON.stringify(light)}`);
    }],

    ['reload: still signed in, same conversation, nothing twice', async () => {
      await openConversation(alice, 'Gaps');
      await alice.reload();
      await until('alice back in Gaps', async () => (await ui(alice).title.textContent()) === 'Gaps', 15000);
      metrics.reloadMs = Math.round(await alice.evaluate(() => performance.getEntriesByName('chatd-interactive')[0].startTime));
      await expectShownOnce(alice, 'missed 3');
      await openConversation(alice, 'Team Chat');
      await expectShownOnce(alice, 'written while the server was down');
      await say(alice, 'after a reload');
      await expectShownOnce(alice, 'after a reload');
      await openConversation(bob, 'Team Chat');
      await expectShownOnce(bob, 'after a reload');
      await wellFormed(alice);
      noProblems();
    }],

    ['sign out: back to the sign-in form, and a reload stays signed out', async () => {
      const k = ui(kim);
      await k.signOut.click();
      await k.username.waitFor();
      await kim.reload();
      await k.signIn.waitFor();
      assert(!(await k.log.isVisible()), 'signed in again after a reload');
      await signIn(kim, null, 'kim');
      await openConversation(kim, 'Keys');
      await expectShownOnce(kim, 'typed without a mouse');
    }],

    ['token refused: the page signs in again by itself, or asks', async () => {
      // A new JWT secret: every token issued so far is refused (close 3000).
      await server.stop();
      fs.mkdirSync(path.join(server.dir, 'secrets'), { recursive: true });
      fs.writeFileSync(path.join(server.dir, 'secrets', 'jwt_secret.txt'), 'another-secret-0123456789abcdef\n');
      await server.start();
      // bob signed in on this page load: it still holds his password
      await say(bob, 'still here with a new token');
      await expectShownOnce(bob, 'still here with a new token', 15000);
      // alice's page was reloaded since: it must ask
      const a = ui(alice);
      await until('alice asked to sign in', async () => (await a.alert.count()) > 0
        && /Your session has ended/.test(await a.alert.textContent()), 15000);
      await signIn(alice, null, 'alice');
      await openConversation(alice, 'Team Chat');
      await expectShownOnce(alice, 'still here with a new token');
      noProblems();
    }],
  ];

  return {
    cases,
    async dispose() {
      for (const p of pages) await p.context().close().catch(() => {});
      await server.dispose();
    },
    server,
  };
}
