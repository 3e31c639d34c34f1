'use strict';
/*
 * report_util: what the parts of the report (report.js, report_scale.js)
 * share — the run's results and commands, number formats, the phase table.
 */
const fs = require('fs');
const path = require('path');

const RES = process.env.RES;

/* A scenario's JSON result, or null when it failed or did not run. */
function load(name) {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(RES, `${name}.json`), 'utf8'));
    return j.failed ? null : j;
  } catch (e) {
    return null;
  }
}

/* name -> the chat-bench command line that produced it (bench/run.sh). */
const commands = {};
for (const line of fs.readFileSync(path.join(RES, 'commands.tsv'), 'utf8').split('\n')) {
  const tab = line.indexOf('\t');
  if (tab > 0) commands[line.slice(0, tab)] = line.slice(tab + 1);
}

const int = (x) => (x == null || Number.isNaN(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const ms = (x) => (x == null ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const us = (x) => (x == null ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (a, b) => (a == null || b == null || !b ? '—' : `${(a / b).toFixed(1)}×`);
const ratio2 = (a, b) => (a == null || b == null || !b ? '—' : `${(a / b).toFixed(2)}×`);
const get = (o, ...keys) => keys.reduce((v, k) => (v == null ? null : v[k]), o);
const pass = (ok) => (ok == null ? '' : ok ? ' ✅' : ' ❌');

function phaseTable(r) {
  if (!r) return ['(this run failed; see the run.sh output)'];
  const rows = ['| phase | offered msgs/s | msgs/s | deliveries/s | server CPU µs/msg | µs/delivery | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | missing | srv% | gen% |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  const phases = [r.saturation, ...(r.steps || [])].filter(Boolean);
  for (const p of phases) {
    const l = p.latency;
    rows.push(`| ${p.phase} | ${p.offered_msgs_per_s == null ? 'max' : int(p.offered_msgs_per_s)} | ${int(p.msgs_per_s)} | ${int(p.deliveries_per_s)} | ${us(p.server_cpu_us_per_msg)} | ${us(p.server_cpu_us_per_delivery)} | ${ms(l.p50_ms)} | ${ms(l.p90_ms)} | ${ms(l.p99_ms)} | ${ms(l.p999_ms)} | ${ms(l.max_ms)} | ${int(p.missing_deliveries)} | ${int(p.server_cpu_pct)} | ${int(p.bench_cpu_pct)} |`);
  }
  return rows;
}

module.exports = { load, commands, int, ms, us, ratio, ratio2, get, pass, phaseTable };
