// The browser tests: the web client in headless Chromium against a chatd
// of their own and against a cluster (started in the background first: it
// takes ~20 s). Prints cmocka's lines (counted by scripts/run-tests.sh) and
// what it measured: page JS size and time to interactive.
//   CHATD_BIN=build/chatd node tests/browser/run.mjs
// CHATD_BROWSER_NO_CLUSTER=1 skips the cluster case (quick local runs);
// CHATD_WEB_SCREENSHOT=docs/web-client.png writes the README's screenshot.

import { launchBrowser, runCases } from './lib.mjs';
import { embeddedCases } from './embedded.mjs';
import { clusterCases, clusterUp } from './cluster.mjs';

const t0 = Date.now();
const withCluster = !process.env.CHATD_BROWSER_NO_CLUSTER;
const cluster = withCluster ? clusterUp() : null;
const metrics = {};
let browser = null;
let suites = [];
let result = { passed: 0, failed: 1, failedNames: ['set-up'] };

async function cleanUp() {
  for (const s of suites) await s.dispose().catch((e) => console.log(`clean-up: ${e}`));
  suites = [];
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (cluster) cluster.down();
}

process.on('SIGTERM', () => cleanUp().finally(() => process.exit(1)));
process.on('SIGINT', () => cleanUp().finally(() => process.exit(1)));

try {
  browser = await launchBrowser();
  const embedded = embeddedCases(browser, metrics);
  suites.push(embedded);
  const cases = [...embedded.cases];
  if (cluster) {
    const c = clusterCases(browser, cluster);
    suites.push(c);
    cases.push(...c.cases);
  }
  result = await runCases(cases);
  if (result.failed) console.log(`chatd log (tail):\n${embedded.server.logTail()}`);
} catch (e) {
  console.log(`[  FAILED  ] set-up\n    ${e && e.stack || e}`);
} finally {
  await cleanUp();
}

if (metrics.jsBytes) {
  console.log(`web client: page JS ${metrics.jsBytes} bytes in ${metrics.jsFiles} files (limit 150 KiB)`);
}
if (metrics.ttiMs) {
  console.log(`web client: time to interactive ${metrics.ttiMs} ms median of cold loads ${metrics.ttiRuns.join(', ')} ms (limit 300)`);
}
console.log(`browser tests took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`[  PASSED  ] ${result.passed} test(s).`);
if (result.failed) console.log(`[  FAILED  ] ${result.failed} test(s), listed above`);
process.exit(result.failed ? 1 : 0);
