// cluster: the web client against a whole cluster (scripts/cluster up:
// PostgreSQL, Redis, ZooKeeper, 1 api, 3 chat, 2 presence, 2 dispatcher
// chatd processes). The page comes from the API server and chats through
// the chat servers /auth names: two users on two different chat servers
// (protocol 1.1 too: a reaction, an edit and a thread reply across them),
// then one of those servers killed (-9) while the other user talks.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  CHATD_BIN, ROOT, assert, bannerText, connected, createChannel, expectShownOnce, newPage, openConversation,
  say, signUp, tempDir, ui, until,
} from './lib.mjs';
import { act, article, chip, squash } from './v11.mjs';

/** Starts `scripts/cluster up` in the background (it takes ~20 s). */
export function clusterUp() {
  const dir = tempDir('chatd-web-cluster-');
  fs.chmodSync(dir, 0o755); // PostgreSQL runs as its own user
  const env = {
    ...process.env,
    CHATD_CLUSTER_DIR: dir,
    CHATD_BUILD: path.dirname(CHATD_BIN),
    CHATD_CLUSTER_FLAGS: '--argon2 min',
  };
  let output = '';
  const proc = spawn(path.join(ROOT, 'scripts/cluster'), ['up', '--bus', 'redis'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const ready = new Promise((resolve, reject) => {
    proc.on('exit', (code) => {
      if (code === 0) resolve(fs.readFileSync(path.join(dir, 'api_url'), 'utf8').trim());
      else reject(new Error(`scripts/cluster up failed (${code}):\n${output}`));
    });
  });
  ready.catch(() => {}); // awaited by the case; not an unhandled rejection meanwhile
  return {
    dir,
    ready,
    down() {
      spawnSync(path.join(ROOT, 'scripts/cluster'), ['down'], { env, stdio: 'ignore' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function chatPortOf(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('chatd.session')).chat.port);
}

/** SIGKILLs the chat server of the cluster listening on port. */
function killChatServer(dir, port) {
  for (const name of ['chat1', 'chat2', 'chat3']) {
    const p = path.join(dir, name, 'port');
    if (fs.existsSync(p) && fs.readFileSync(p, 'utf8').trim() === String(port)) {
      process.kill(Number(fs.readFileSync(path.join(dir, 'pids', name), 'utf8')), 'SIGKILL');
      return name;
    }
  }
  throw new Error(`no chat server on port ${port}`);
}

export function clusterCases(browser, cluster) {
  const pages = [];
  const cases = [
    ['cluster: two users on two chat servers, and one of them killed', async () => {
      const url = await cluster.ready;
      // /auth spreads logins over the chat servers: sign up until two differ.
      const names = ['ann', 'ben', 'cat', 'dan'];
      let first = null;
      let second = null;
      for (const name of names) {
        const p = await newPage(browser, name);
        pages.push(p);
        await signUp(p, url, name);
        if (!first) first = p;
        else if (await chatPortOf(p) !== await chatPortOf(first)) {
          second = p;
          break;
        }
      }
      assert(second, 'four logins in a row went to the same chat server');
      const [a, b] = [first, second];
      const portA = await chatPortOf(a);

      // the page came from the api role
      const health = await (await fetch(`${url}/health`)).json();
      assert(health.role === 'api', `the page's server is ${JSON.stringify(health)}`);
      await createChannel(a, 'Across', b.user);
      await openConversation(b, 'Across');
      await say(a, `hello from chat server ${portA}`);
      await expectShownOnce(b, `hello from chat server ${portA}`);
      await say(b, 'hello from the other one');
      await expectShownOnce(a, 'hello from the other one');
      await until('b online in a\'s members panel', async () => (await ui(a).member(b.user).textContent()).includes('online'));
      await ui(b).myStatus.selectOption('busy'); // presence across presence servers
      await until('b busy in a\'s members panel', async () => (await ui(a).member(b.user).textContent()).includes('busy'));

      // protocol 1.1 across the servers: a reaction, an edit, a reply
      const text = `hello from chat server ${portA}`;
      await act(b, text, '👍');
      await until('b\'s reaction on a\'s screen', async () => squash(await chip(a, text, '👍').textContent()) === '👍 1');
      await act(a, text, 'Edit');
      const box = a.getByRole('textbox', { name: 'Edit message', exact: true });
      await box.fill(`${text}, edited`);
      await box.press('Enter');
      await expectShownOnce(b, `${text}, edited`);
      await act(b, `${text}, edited`, 'Reply in thread');
      await b.getByRole('textbox', { name: 'Reply', exact: true }).fill('a reply across servers');
      await b.getByRole('button', { name: 'Send reply', exact: true }).click();
      await article(a, `${text}, edited`).getByRole('button', { name: '1 reply', exact: true }).waitFor();
      await b.getByRole('button', { name: 'Close thread' }).click();

      // a's chat server dies; b talks meanwhile; a's page logs in again
      // (its password is in memory), is sent to a live server and catches up.
      killChatServer(cluster.dir, portA);
      await until('the banner', async () => (await bannerText(a)).includes('Reconnecting'));
      await say(b, 'said while your server was gone');
      await expectShownOnce(a, 'said while your server was gone', 30000);
      await connected(a, 30000);
      const portA2 = await chatPortOf(a);
      assert(portA2 !== portA, 'the page still names the dead server');
      await say(a, 'back, through another server');
      await expectShownOnce(b, 'back, through another server');
      const problems = pages.flatMap((p) => p.problems)
        .filter((t) => !/WebSocket connection to .* failed/.test(t)); // the dead server, expected
      assert(problems.length === 0, problems.join('\n'));
    }],
  ];
  return {
    cases,
    async dispose() {
      for (const p of pages) await p.context().close().catch(() => {});
    },
  };
}
