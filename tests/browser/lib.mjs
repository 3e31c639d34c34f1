// lib: what the browser tests share — a chatd of their own (a free port,
// a temp dir under $TMPDIR, stopped by PID), headless Chromium through
// playwright-core (installed by scripts/deps.sh test into a cache dir
// outside the repo, never a downloaded browser), users driven through the
// page as a person would, and cmocka-style result lines so
// scripts/run-tests.sh counts these tests like the C ones.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const CHATD_BIN = process.env.CHATD_BIN || path.join(ROOT, 'build/chatd');
export const PASSWORD = 'correct-horse-1';

const cacheDir = process.env.CHATD_TEST_NODE_DIR
  || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'chatd-test-node');
const requireFromCache = createRequire(path.join(cacheDir, 'package.json'));
const { chromium } = requireFromCache('playwright-core');

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
];

/** A fresh private directory under $TMPDIR (removed by the caller). */
export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), prefix));
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Polls fn until it returns a truthy value (returned), or throws after ms. */
export async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await withTimeout(fn(), Math.max(end - Date.now(), 1000), `waiting for ${what}`);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** A TCP port nobody listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * One chatd (embedded shape) on a port of its own, in a temp dir; start()
 * again after stop() serves the same data on the same port.
 */
export class Chatd {
  constructor(extraArgs = []) {
    this.dir = tempDir('chatd-browser-');
    this.port = 0;
    this.proc = null;
    this.extraArgs = extraArgs;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    const portFile = path.join(this.dir, 'port');
    fs.rmSync(portFile, { force: true });
    const log = fs.openSync(path.join(this.dir, 'chatd.log'), 'a');
    this.proc = spawn(CHATD_BIN, [
      '--host', '127.0.0.1', '--port', String(this.port), '--port-file', portFile,
      '--data', path.join(this.dir, 'data'), '--secrets', path.join(this.dir, 'secrets'),
      '--argon2', 'min', '--fsync', 'off', ...this.extraArgs,
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const proc = this.proc;
    const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
    proc.exitedPromise = exited;
    await until('chatd to listen', async () => {
      if (proc.exitCode !== null) throw new Error(`chatd exited: ${this.logTail()}`);
      return fs.existsSync(portFile);
    }, 15000);
  }

  /** SIGTERM (clients get close 1001) and wait for the exit. */
  async stop(signal = 'SIGTERM') {
    if (!this.proc) return;
    const proc = this.proc;
    this.proc = null;
    if (proc.exitCode === null) proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await proc.exitedPromise;
    clearTimeout(t);
  }

  logTail(bytes = 3000) {
    try {
      const s = fs.readFileSync(path.join(this.dir, 'chatd.log'), 'utf8');
      return s.slice(-bytes);
    } catch {
      return '(no log)';
    }
  }

  async dispose() {
    await this.stop();
    if (!process.env.CHATD_KEEP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Headless Chromium from the Debian package (never a downloaded one). Each
 * launch gets a fresh user-data dir from playwright (under $TMPDIR, removed
 * by close()); each user gets a context of their own (newPage).
 */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHATD_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/**
 * A page of its own (its own context: storage, cookies) whose console
 * errors, page errors and CSP violations are collected in page.problems,
 * and whose WebSocket frames sent are kept in page.sent ({url, frame}).
 * contextOptions go to browser.newContext (permissions, colorScheme…).
 */
export async function newPage(browser, name, contextOptions = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 680 }, ...contextOptions });
  const page = await ctx.newPage();
  page.user = name;
  page.problems = [];
  page.sent = [];
  page.on('pageerror', (e) => page.problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`${name}: console error: ${m.text()}`);
  });
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    try {
      page.sent.push({ url: ws.url(), frame: JSON.parse(f.payload) });
    } catch {
      // not JSON: not ours
    }
  }));
  return page;
}

/**
 * The page through its accessible names (issue #12's contract): every test
 * finds what it uses the way a screen reader user would, so the tests
 * prove the names. Exact names: "Message" is not "Messages".
 */
export function ui(page) {
  const log = page.getByRole('log', { name: 'Messages', exact: true });
  const nav = page.getByRole('navigation', { name: 'Channels', exact: true });
  return {
    username: page.getByLabel('Username', { exact: true }),
    password: page.getByLabel('Password', { exact: true }),
    signIn: page.getByRole('button', { name: 'Sign in', exact: true }),
    createAccount: page.getByRole('button', { name: 'Create account', exact: true }),
    alert: page.getByRole('alert').filter({ hasText: /./ }),
    nav,
    newChannel: page.getByRole('button', { name: 'New channel', exact: true }),
    newDirect: page.getByRole('button', { name: 'New direct message', exact: true }),
    channelName: page.getByRole('textbox', { name: 'Channel name', exact: true }),
    membersField: page.getByRole('textbox', { name: 'Members', exact: true }),
    dmUser: page.getByRole('dialog').getByLabel('Username', { exact: true }),
    create: page.getByRole('button', { name: 'Create', exact: true }),
    start: page.getByRole('button', { name: 'Start', exact: true }),
    log,
    articles: log.getByRole('article'),
    message: page.getByRole('textbox', { name: 'Message', exact: true }),
    send: page.getByRole('button', { name: 'Send', exact: true }),
    status: page.getByRole('status'),
    myStatus: page.getByRole('combobox', { name: 'Status', exact: true }),
    members: page.getByRole('complementary', { name: 'Members', exact: true }),
    signOut: page.getByRole('button', { name: 'Sign out', exact: true }),
    title: page.locator('#channel-title'),
    /** The channel list's item for name: its accessible name starts with it. */
    item: (name) => nav.getByRole('link', { name: new RegExp(`^${escapeRe(name)}(\\s|$)`) }),
    /** name's entry in the members panel. */
    member: (name) => page.getByRole('complementary', { name: 'Members', exact: true })
      .getByRole('listitem').filter({ has: page.getByText(name, { exact: true }) }),
  };
}

export function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The status banner's text ('' while connected). */
export async function bannerText(page) {
  return ((await ui(page).status.textContent()) || '').trim();
}

/** Waits until both sockets are up: the status banner is empty (and takes no room). */
export async function connected(page, ms = 15000) {
  const { status } = ui(page);
  await until(`${page.user} connected`, async () => (await bannerText(page)) === '' && !(await status.isVisible()), ms);
}

/** Opens the page at url and creates the account name through the form ("Create account"). */
export async function signUp(page, url, name) {
  const u = ui(page);
  await page.goto(url);
  await u.username.fill(name);
  await u.password.fill(PASSWORD);
  await u.createAccount.click();
  await u.log.waitFor();
  await connected(page);
}

/** Signs in through the form ("Sign in"). */
export async function signIn(page, url, name) {
  const u = ui(page);
  if (url) await page.goto(url);
  await u.username.fill(name);
  await u.password.fill(PASSWORD);
  await u.signIn.click();
  await u.log.waitFor();
  await connected(page);
}

/** Creates a group channel through "New channel" (Channel name, Members, Create). */
export async function createChannel(page, name, members) {
  const u = ui(page);
  await u.newChannel.click();
  await u.channelName.fill(name);
  await u.membersField.fill(members);
  await u.create.click();
  await until(`${page.user} in ${name}`, async () => (await u.title.textContent()) === name);
}

/** Types text into the Message field and sends it with Enter. */
export async function say(page, text) {
  const u = ui(page);
  await u.message.fill(text);
  await u.message.press('Enter');
}

/**
 * The messages on screen, one per article: {sender, text, pending, all}
 * (all: the article's whole text, which must hold sender and text).
 */
export function articles(page) {
  return ui(page).articles.evaluateAll((els) => els.map((e) => ({
    sender: (e.querySelector('.author') || {}).textContent || '',
    text: (e.querySelector('.text') || {}).textContent || '',
    pending: e.classList.contains('pending'),
    all: e.textContent,
  })));
}

/** The texts of the acknowledged messages on screen (pending ones excluded). */
export async function shownTexts(page) {
  return (await articles(page)).filter((a) => !a.pending).map((a) => a.text);
}

/**
 * Waits until text shows as an acknowledged message, then checks that it
 * is in exactly one article (pending copies included).
 */
export async function expectShownOnce(page, text, ms = 10000) {
  await until(`"${text}" on ${page.user}'s screen`, async () => (await shownTexts(page)).includes(text), ms);
  const all = (await articles(page)).filter((a) => a.text === text);
  if (all.length !== 1) {
    throw new Error(`"${text}" shown ${all.length} times on ${page.user}'s screen: ${JSON.stringify(await articles(page))}`);
  }
}

/** Opens the conversation named title from the channel list. */
export async function openConversation(page, title) {
  const u = ui(page);
  await u.item(title).click();
  const item = page.getByRole('navigation', { name: 'Channels', exact: true, includeHidden: true }).getByRole('link', { name: new RegExp(`^${escapeRe(title)}(\\s|$)`), includeHidden: true });
  await until(`${page.user} in ${title}`, async () => (await u.title.textContent()) === title
    && (await item.getAttribute('aria-current')) === 'page');
}

/** Presses Tab until locator has the focus (at most max times). */
export async function tabTo(page, locator, what, max = 40) {
  for (let i = 0; i < max; i++) {
    if (await locator.evaluate((e) => e === document.activeElement).catch(() => false)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${max} Tabs did not reach ${what}`);
}

/** Whether locator has the keyboard focus. */
export function focused(locator) {
  return locator.evaluate((e) => e === document.activeElement);
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const CASE_TIMEOUT_MS = 120000;

/** Runs named async cases in order, printing cmocka-style lines; returns failures. */
export async function runCases(cases) {
  let failed = 0;
  const failedNames = [];
  for (const [name, fn] of cases) {
    console.log(`[ RUN      ] ${name}`);
    const t0 = Date.now();
    try {
      await withTimeout(fn(), CASE_TIMEOUT_MS, name);
      console.log(`[       OK ] ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed += 1;
      failedNames.push(name);
      console.log(`[  FAILED  ] ${name} (${Date.now() - t0} ms)\n    ${String(e && e.stack || e).split('\n').join('\n    ')}`);
    }
  }
  return { passed: cases.length - failed, failed, failedNames };
}
