// The browser tests: the page's modules on their own (unit.mjs), then the
// web client in headless Chromium against a chatd of their own
// (embedded.mjs; protocol 1.1's views: v11.mjs) and against a cluster
// (it takes ~20 s to start: it comes up in the background while the
// embedded cases run). Prints cmocka's lines
// (counted by scripts/run-tests.sh) and what it measured: page JS size and
// time to interactive.
//   CHATD_BIN=build/chatd node tests/browser/run.mjs
// CHATD_BROWSER_NO_CLUSTER=1 skips the cluster case (quick local runs);
// CHATD_WEB_SCREENSHOT=docs/web-client.png writes the README's screenshot.

import { launchBrowser, runCases } from './lib.mjs';
import { TTI_TARGET_MS, embeddedCases } from './embedded.mjs';
import { clusterCases, clusterUp } from './cluster.mjs';
import { unitCases } from './unit.mjs';
import { v11Cases } from './v11.mjs';

const t0 = Date.now();
const withCluster = !process.env.CHATD_BROWSER_NO_CLUSTER;
let cluster = null;
const metrics = {};
let browser = null;
let suites = [];
const result = { passed: 0, failed: 0 };

async function cleanUp() {
  for (const s of suites) await s.dispose().catch((e) => console.log(`clean-up: ${e}`));
  suites = [];
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (cluster) cluster.down();
  cluster = null;
}

process.on('SIGTERM', () => cleanUp().finally(() => process.exit(1)));
process.on('SIGINT', () => cleanUp().finally(() => process.exit(1)));

function count(r) {
  result.passed += r.passed;
  result.failed += r.failed;
}

try {
  count(await runCases(unitCases));
  browser = await launchBrowser();
  const embedded = embeddedCases(browser, metrics);
  suites.push(embedded);
  // Time to interactive is measured first, on a quiet machine; the cluster
  // (~20 s to start) comes up while the other embedded cases run.
  count(await runCases(embedded.cases.slice(0, 1)));
  if (withCluster) cluster = clusterUp();
  const v11 = v11Cases(browser);
  suites.push(v11);
  const rest = [...embedded.cases.slice(1), ...v11.cases];
  if (cluster) {
    const c = clusterCases(browser, cluster);
    suites.push(c);
    rest.push(...c.cases);
  }
  count(await runCases(rest));
  if (result.failed) {
    console.log(`chatd log (tail):\n${embedded.server.logTail()}`);
    console.log(`chatd log of the protocol 1.1 cases (tail):\n${v11.server.logTail()}`);
  }
} catch (e) {
  result.failed += 1;
  console.log(`[  FAILED  ] set-up\n    ${e && e.stack || e}`);
} finally {
  await cleanUp();
}

if (metrics.jsBytes) {
  console.log(`web client: page JS ${metrics.jsBytes} bytes in ${metrics.jsFiles} files (limit 150 KiB)`);
}
if (metrics.ttiMs) {
  console.log(`web client: time to interactive ${metrics.ttiMs} ms best, ${metrics.ttiMedianMs} ms median of cold loads `
    + `${metrics.ttiRuns.join(', ')} ms (target ${TTI_TARGET_MS} for the best: ${metrics.ttiMs < TTI_TARGET_MS ? 'met' : 'MISSED'}); domInteractive ${metrics.domInteractiveMs} ms`);
}
if (metrics.reloadMs) console.log(`web client: a signed-in reload shows the chat after ${metrics.reloadMs} ms`);
const took = (Date.now() - t0) / 1000;
console.log(`browser tests took ${took.toFixed(1)} s${took > 120 ? ' (over the 2-minute budget: a busy machine, or a slower page?)' : ''}`);
console.log(`[  PASSED  ] ${result.passed} test(s).`);
if (result.failed) console.log(`[  FAILED  ] ${result.failed} test(s), listed above`);
process.exit(result.failed ? 1 : 0);
