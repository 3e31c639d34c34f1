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
 * errors, page errors and CSP violations are collected in page.problems.
 */
export async function newPage(browser, name) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 680 } });
  const page = await ctx.newPage();
  page.user = name;
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(`${name}: console error: ${m.text()}`);
  });
  return page;
}

/** Opens the page at url and registers + logs in name through the form. */
export async function signUp(page, url, name) {
  await page.goto(url);
  await page.fill('#login-username', name);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-create');
  await page.waitForSelector('.shell');
  await until(`${name}'s sockets`, () => page.evaluate(() => window.chatd
    && window.chatd.state.connection.chat === 'open'
    && window.chatd.state.connection.presence === 'open'));
}

/** Types text into the composer and sends it with Enter. */
export async function say(page, text) {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** The texts of the acknowledged messages on screen (pending ones excluded). */
export function shownTexts(page) {
  return page.$$eval('#messages .msg:not(.pending):not(.system) .text', (els) => els.map((e) => e.textContent));
}

/** Waits until text shows exactly once as an acknowledged message. */
export async function expectShownOnce(page, text, ms = 10000) {
  await until(`"${text}" on ${page.user}'s screen`, async () => {
    const texts = await shownTexts(page);
    return texts.includes(text);
  }, ms);
  const texts = await shownTexts(page);
  const n = texts.filter((t) => t === text).length;
  if (n !== 1) throw new Error(`"${text}" shown ${n} times on ${page.user}'s screen: ${JSON.stringify(texts)}`);
}

/** Opens the conversation named title in the sidebar. */
export async function openConversation(page, title) {
  await page.click(`.channel-list button.channel:has(.name:text-is("${title}"))`);
  await page.waitForSelector(`#channel-title:text-is("${title}")`);
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
