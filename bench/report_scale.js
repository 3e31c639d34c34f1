'use strict';
/*
 * report_scale: the parts of docs/BENCHMARKS.md about scale with a real
 * history (issue #11: connects with history, the reconnect storm, durable
 * writes at 10 million messages, 100,000 sockets) and per-message cost
 * (issue #16): Summary tables and sections, from the results bench/run.sh
 * wrote. Every "with history" figure is set against the empty-database
 * figure of the same run.
 */
const fs = require('fs');
const path = require('path');
const { load, commands, int, ms, us, ratio2, get, pass, phaseTable } = require('./report_util');

const env = process.env;

const R = {
  seedPop: load('seed-population'),
  seed2m: load('seed-2m'),
  seed10m: load('seed-10m'),
  seed10mPg: load('seed-10m-pg'),
  histEmpty: load('history-empty'),
  hist: load('history-2m'),
  storm: load('storm-2m'),
  durEmpty: load('durable-fsync-on-chatd'),
  dur10m: load('durable-10m-chatd'),
  sqlEmpty: load('store-sqlite-empty'),
  sql10m: load('store-sqlite-10m'),
  pgEmpty: load('store-pg-empty'),
  pg10m: load('store-pg-10m'),
  scale: load('scale-cluster'),
  joins: load('scale-joins'),
};

const frac = (a, b) => (a == null || b == null || !b ? null : a / b);
const cmd = (name) => `\`${commands[name] || '?'}\``;
const millions = (n) => (n == null ? '—' : `${(n / 1e6).toFixed(2)} M`);

/* A figure with history against the empty one: ratio and verdict. */
function row(w, label, empty, full, fmt, target, ok) {
  const r = frac(full, empty);
  w(`| ${label} | ${fmt(empty)} | ${fmt(full)} | ${ratio2(full, empty)}${pass(r == null ? null : ok(r))} | ${target} |`);
}

function summaryHistory(w) {
  const e = R.histEmpty;
  const h = R.hist;
  const users = get(h, 'concurrent') || get(e, 'concurrent');
  w('### Scale with history (issue #11), each figure against the empty database in the same run');
  w();
  w('| figure | empty database | with history | history / empty | target |');
  w('|---|---|---|---|---|');
  const msv = (x) => (x == null ? '—' : `${ms(x)} ms`);
  row(w, `connect → \`channels_list\`, ${int(users)} concurrent, p99 (user in ${int(get(h, 'channels_per_user'))} channels holding ${millions(msgsPerUser())} messages)`,
    get(e, 'connect_latency', 'p99_ms'), get(h, 'connect_latency', 'p99_ms'), msv, '≤ 1.5×', (r) => r <= 1.5);
  row(w, `connect → \`channels_list\`, ${int(users)} concurrent, p50`, get(e, 'connect_latency', 'p50_ms'),
    get(h, 'connect_latency', 'p50_ms'), msv, '', () => null);
  row(w, 'WebSocket connects/s (with auth), same users', get(e, 'connects_per_s'), get(h, 'connects_per_s'), int,
    '≥ 0.90×', (r) => r >= 0.9);
  const s = R.storm;
  w(`| reconnect storm, ${int(get(s, 'connections'))} sockets: fresh connects / restart → every socket has \`channels_list\` again | ${ms(get(s, 'fresh_s'))} s | ${ms(get(s, 'restart_to_all_back_s'))} s | ${ratio2(get(s, 'restart_to_all_back_s'), get(s, 'fresh_s'))}${pass(s ? s.all_back && s.storm_over_fresh <= 2 : null)} | ≤ 2× |`);
  w(`| reconnect storm: p99 connect latency, fresh / reconnects | ${msv(get(s, 'fresh_latency', 'p99_ms'))} | ${msv(get(s, 'reconnect_latency', 'p99_ms'))} | ${ratio2(get(s, 'reconnect_latency', 'p99_ms'), get(s, 'fresh_latency', 'p99_ms'))} | reported |`);
  row(w, `durable msgs/s, chatd on SQLite, fsync on (history: ${millions(get(R.seed10m, 'messages_stored'))} stored)`,
    get(R.durEmpty, 'stored_msgs_per_s'), get(R.dur10m, 'stored_msgs_per_s'), int, '≥ 0.80×', (r) => r >= 0.8);
  row(w, `store appends/s, SQLite, fsync on (${millions(get(R.seed10m, 'messages_stored'))} stored)`,
    get(R.sqlEmpty, 'appends_per_s'), get(R.sql10m, 'appends_per_s'), int, '≥ 0.80×', (r) => r >= 0.8);
  row(w, `store appends/s, PostgreSQL, synchronous_commit on (${millions(get(R.seed10mPg, 'messages_stored'))} stored)`,
    get(R.pgEmpty, 'appends_per_s'), get(R.pg10m, 'appends_per_s'), int, '≥ 0.80×', (r) => r >= 0.8);
  const rd = (k) => get(h, 'history_reads', k, 'p99_ms');
  w(`| \`fetch_history\` in a ${int(Number((env.HIST_MSGS || '').split(':')[0]))}-message channel, ${int(users)} users at once, p99: newest 50 / \`after\` the read mark / \`before\` the middle | — | ${ms(rd('newest_50'))} / ${ms(rd('after_mark_100'))} / ${ms(rd('before_middle_100'))} ms | | index lookups: reported |`);
  const c = get(h, 'check');
  w(`| chatd's \`unread_count\`, \`member_count\`, \`last_message_id\` against COUNTs over the stored rows | ${checkText(get(e, 'check'))} | ${checkText(c)} | | none differ${pass(c ? c.mismatches === 0 && get(e, 'check', 'mismatches') === 0 : null)} |`);
  w();
}

function checkText(c) {
  return c ? `${int(c.entries)} entries of ${int(c.users)} users, ${int(c.mismatches)} differ` : '—';
}

/* Messages in a measured user's channels (seed.h: B big + K small). */
function msgsPerUser() {
  const p = (env.HIST_POP || '').split(':').map(Number);
  const m = (env.HIST_MSGS || '').split(':').map(Number);
  return p.length === 5 && m.length === 2 ? p[1] * m[0] + p[4] * m[1] : null;
}

function summaryScale(w) {
  const s = R.scale;
  w(`### ${int(Number(env.SCALE_N))} sockets over a local cluster (issue #11)`);
  w();
  w('| figure | result | target |');
  w('|---|---|---|');
  const servers = get(s, 'servers') || [];
  w(`| authenticated sockets held at once (requested), over ${servers.length} chat servers, from ${int(get(s, 'processes'))} generator process(es) | ${int(get(s, 'connections_up'))} (${int(get(s, 'connections_requested'))})${pass(s ? s.connections_up >= Number(env.SCALE_N) : null)} | ${int(Number(env.SCALE_N))} |`);
  w(`| members of the channel (${get(s, "membership") || "?"}) | ${int(get(s, 'channel_members'))} | all of them |`);
  w(`| one message to all of them: time until the last socket has it / p50 / deliveries missing | ${ms(get(s, 'last_delivery_ms'))} ms / ${ms(get(s, 'delivery_latency', 'p50_ms'))} ms / ${int(get(s, 'missing'))} | reported, nothing missing${pass(s ? s.missing === 0 && s.deliveries > 0 : null)} |`);
  w(`| RSS per socket, each chat server (sockets it held) | ${servers.map((x) => `${int(x.rss_per_socket_bytes)} B (${int(x.sockets)})`).join(', ') || '—'} | reported |`);
  const j = R.joins;
  w(`| one chatd: ${int(get(j, 'joined'))} sockets joining one channel with \`join_channel\` / then one message: time to the last / missing | ${ms(get(j, 'join_s'))} s (${int(frac(get(j, 'joined'), get(j, 'join_s')))} joins/s) / ${ms(get(j, 'last_delivery_ms'))} ms / ${int(get(j, 'missing'))} | reported${pass(j ? j.missing === 0 && j.joined === j.connections_requested : null)} |`);
  w();
}

/* µs of seed indexing per message stored, or '—'. */
function usPerText(r) {
  const s = get(r, 'search_index_s');
  const n = get(r, 'messages_stored');
  return s != null && n ? ((s * 1e6) / n).toFixed(1) : '—';
}

/* Saturation phase of a fan-out-like result, or the durable phase. */
const sat = (r) => (r ? r.saturation || (r.steps || [])[0] : null);

function summaryCost(w) {
  w('### Per-message cost (issue #16): server CPU (all threads, /proc) per message stored and per delivery');
  w();
  w('| scenario (unpaced) | msgs/s | deliveries/s | server CPU µs per message | per delivery | server CPU % |');
  w('|---|---|---|---|---|---|');
  for (const [label, name] of costRows()) {
    const p = sat(load(name));
    w(`| ${label} | ${int(get(p, 'msgs_per_s'))} | ${int(get(p, 'deliveries_per_s'))} | ${us(get(p, 'server_cpu_us_per_msg'))} | ${us(get(p, 'server_cpu_us_per_delivery'))} | ${int(get(p, 'server_cpu_pct'))} |`);
  }
  w();
  w('One chatd (embedded, SQLite, fsync on) unless said otherwise; for the cluster, the CPU of every');
  w('chatd process (api, chat, dispatcher, presence) is summed (PostgreSQL, Redis and the broker not');
  w('counted). Per message = CPU / messages stored (acknowledged) in the measured window; per delivery');
  w('= CPU / deliveries in it.');
  w();
}

function costRows() {
  return [
    [`fan-out ${env.FAN1}`, `fanout-${env.FAN1}-chatd`],
    [`fan-out ${env.FAN2}`, `fanout-${env.FAN2}-chatd`],
    [`fan-out ${env.FAN3} (small channels)`, `fanout-${env.FAN3}-chatd`],
    [`${int(Number(env.DM_PAIRS))} direct-message pairs, both sides sending`, 'dm-chatd'],
    [`edits fanned out (protocol 1.1 message_updated), ${env.FAN1}`, `edits-${env.FAN1}-chatd`],
    ['durable: senders alone in their channels', 'durable-fsync-on-chatd'],
    [`cluster (3 chat servers, Redis bus): fan-out ${env.FAN2}`, `cluster-fanout-${env.FAN2}-redis`],
    [`cluster (3 chat servers, Kafka mock): fan-out ${env.FAN2}`, `cluster-fanout-${env.FAN2}-kafka`],
  ];
}

function summary(w) {
  summaryHistory(w);
  summaryScale(w);
  summaryCost(w);
}

/* ---- sections ---- */

function seedText(w) {
  const p = (env.HIST_POP || '?:?:?:?:?').split(':');
  const m = (env.HIST_MSGS || '?:?').split(':');
  const b = (env.BIG_MSGS || '?:?').split(':');
  w(`The history is written straight into the database while no chatd runs (\`chat-bench --scenario seed\`,`);
  w('bench/seed.h): 2 million messages cannot go through the protocol in a benchmark. The population');
  w(`(\`--population ${env.HIST_POP}\`): ${p[0]} users, all members of ${p[1]} big channels (${p[0]} members each); the first`);
  w(`${p[2]} (the measured users) also sit in groups of ${p[3]}, each group sharing ${p[4]} small channels, so a measured user is`);
  w(`in ${Number(p[1]) + Number(p[4])} channels. With history (\`--messages ${env.HIST_MSGS}\`) each big channel holds ${int(Number(m[0]))} messages and each`);
  w(`small one ${int(Number(m[1]))}: ${millions(msgsPerUser())} in a measured user's channels, ${millions(get(R.seed2m, 'messages_stored'))} in the database`);
  w(`(written in ${ms(get(R.seed2m, 'messages_s'))} s). The big store (\`--messages ${env.BIG_MSGS}\`, same population) holds ${millions(get(R.seed10m, 'messages_stored'))}`);
  w(`(SQLite written in ${ms(get(R.seed10m, 'messages_s'))} s, PostgreSQL in ${ms(get(R.seed10mPg, 'messages_s'))} s). On SQLite the seed then indexes`);
  w('its texts for search, as chatd\'s writer would in the background (`store_sqlite_index_file`): the 2 M');
  w(`history in ${ms(get(R.seed2m, 'search_index_s'))} s, the big store in ${ms(get(R.seed10m, 'search_index_s'))} s (${usPerText(R.seed2m)} and ${usPerText(R.seed10m)} µs a text, one thread).`);
  w('Every 100th message is a `system` notice; senders rotate over the members; measured users have');
  w('read each channel up to 0-19 % before its end (the others never read). Every counter chatd keeps');
  w('at write time (`msg_count`, `last_seq`, `last_message_id`, `member_count`, `own_count`, `read_seq`,');
  w('`read_count`, `read_own`, `count_no`, `own_no`) is written from closed forms of the same rows, and');
  w('checked after the run: chatd\'s `channels_list` for four users against COUNTs over the rows (the');
  w('unread messages after each read mark, found through `last_read_message_id`, not the counters).');
  w('Users share one argon2id hash of the bench password at `--argon2 min` limits. SQLite is written');
  w('with `synchronous = OFF` and no journal during the seed only; PostgreSQL with COPY, foreign-key');
  w('triggers off (`session_replication_role = replica`) during the seed only.');
}

const READS = [['newest_50', 'newest 50'], ['after_mark_100', '`after` the read mark, 100 (a reconnect\'s recovery)'],
  ['before_middle_100', '`before` the channel\'s middle, 100']];

function historyTable(w) {
  const e = R.histEmpty;
  const h = R.hist;
  w('| | empty database | with history |');
  w('|---|---|---|');
  const lat = (r, k) => ms(get(r, 'connect_latency', k));
  for (const k of ['p50_ms', 'p90_ms', 'p99_ms', 'max_ms'])
    w(`| ${get(e, 'concurrent') || ''} concurrent connects → \`channels_list\`, ${k.replace('_ms', '')} (ms) | ${lat(e, k)} | ${lat(h, k)} |`);
  w(`| samples (${get(h, 'rounds') || '?'} bursts after one unmeasured) | ${int(get(e, 'connect_latency', 'samples'))} | ${int(get(h, 'connect_latency', 'samples'))} |`);
  w(`| slowest burst (s) | ${ms(get(e, 'slowest_round_s'))} | ${ms(get(h, 'slowest_round_s'))} |`);
  w(`| connects/s, ${int(get(h, 'connections'))} sockets of the same users, window of handshakes | ${int(get(e, 'connects_per_s'))} | ${int(get(h, 'connects_per_s'))} |`);
  w(`| channels in each \`channels_list\` | ${int(get(e, 'channels_per_user'))} | ${int(get(h, 'channels_per_user'))} |`);
  for (const [k, label] of READS) {
    const v = (r) => (get(r, 'history_reads', k, 'samples') ? `${ms(get(r, 'history_reads', k, 'p50_ms'))} / ${ms(get(r, 'history_reads', k, 'p99_ms'))}` : '—');
    w(`| \`fetch_history\` ${label}, every user at once: p50 / p99 (ms) | ${v(e)} | ${v(h)} |`);
  }
  w(`| check against the stored rows | ${checkText(get(e, 'check'))} | ${checkText(get(h, 'check'))} |`);
  const first = get(h, 'check', 'first_mismatch') || get(e, 'check', 'first_mismatch');
  if (first) {
    w();
    w(`First difference: ${first}`);
  }
}

function stormTable(w) {
  const s = R.storm;
  w('| | |');
  w('|---|---|');
  w(`| sockets (users) | ${int(get(s, 'connections'))} (${int(get(s, 'users'))}) |`);
  w(`| fresh connects: all up in | ${ms(get(s, 'fresh_s'))} s (${int(get(s, 'fresh_connects_per_s'))}/s), p99 ${ms(get(s, 'fresh_latency', 'p99_ms'))} ms |`);
  w(`| SIGTERM → old chatd gone (every socket closed with 1001) | ${ms(get(s, 'shutdown_s'))} s |`);
  w(`| restart → every socket has its \`channels_list\` again | ${ms(get(s, 'restart_to_all_back_s'))} s (from SIGTERM ${ms(get(s, 'sigterm_to_all_back_s'))} s) |`);
  w(`| reconnect attempts (sockets lost) | ${int(get(s, 'attempts'))} (${int(get(s, 'lost'))}) |`);
  w(`| connect latency of the attempts that succeeded: p50 / p99 / max | ${ms(get(s, 'reconnect_latency', 'p50_ms'))} / ${ms(get(s, 'reconnect_latency', 'p99_ms'))} / ${ms(get(s, 'reconnect_latency', 'max_ms'))} ms |`);
  w(`| each socket's time from its loss to up again: p50 / p99 / max | ${ms(get(s, 'down_time', 'p50_ms'))} / ${ms(get(s, 'down_time', 'p99_ms'))} / ${ms(get(s, 'down_time', 'max_ms'))} ms |`);
  w(`| chatd RSS afterwards | ${int(get(s, 'server_rss_after_kib'))} KiB |`);
}

function durableTable(w) {
  w(`| | empty | ${millions(get(R.seed10m, 'messages_stored'))} messages stored | ratio |`);
  w('|---|---|---|---|');
  const d = (r) => get(r, 'stored_msgs_per_s');
  w(`| chatd on SQLite, fsync on: stored msgs/s | ${int(d(R.durEmpty))} | ${int(d(R.dur10m))} | ${ratio2(d(R.dur10m), d(R.durEmpty))} |`);
  w(`| chatd: server CPU µs per message | ${us(get(sat(R.durEmpty), 'server_cpu_us_per_msg'))} | ${us(get(sat(R.dur10m), 'server_cpu_us_per_msg'))} | |`);
  w(`| chatd: store commit mean (msgs per commit) | ${ms(get(R.durEmpty, 'commit', 'mean_ms'))} ms (${ms(get(R.durEmpty, 'commit', 'ops_per_commit'))}) | ${ms(get(R.dur10m, 'commit', 'mean_ms'))} ms (${ms(get(R.dur10m, 'commit', 'ops_per_commit'))}) | |`);
  for (const [label, e, f] of [['store, SQLite', R.sqlEmpty, R.sql10m], ['store, PostgreSQL', R.pgEmpty, R.pg10m]]) {
    const a = (r) => get(r, 'appends_per_s');
    w(`| ${label}: appends/s (${int(get(f, 'window') || get(e, 'window'))} in flight) | ${int(a(e))} | ${int(a(f))} | ${ratio2(a(f), a(e))} |`);
    w(`| ${label}: append latency p50 / p99 (ms) | ${ms(get(e, 'append_latency', 'p50_ms'))} / ${ms(get(e, 'append_latency', 'p99_ms'))} | ${ms(get(f, 'append_latency', 'p50_ms'))} / ${ms(get(f, 'append_latency', 'p99_ms'))} | |`);
    w(`| ${label}: CPU µs per append (the whole process: loop and store worker) | ${us(get(e, 'cpu_us_per_append'))} | ${us(get(f, 'cpu_us_per_append'))} | |`);
  }
}

function scaleSection(w) {
  const s = R.scale;
  w(`## ${int(Number(env.SCALE_N))} sockets`);
  w();
  w(`One process may hold at most \`ulimit -Hn\` (${int(Number(env.FDS))}) descriptors here, so the sockets are spread the way`);
  w(`users scale out: \`scripts/cluster up --bus redis --chat ${env.SCALE_CHAT}\` (${env.SCALE_CHAT} chat servers, each below its own limit, plus`);
  w('the api, 2 dispatchers, 2 presence servers, PostgreSQL, Redis and ZooKeeper), and `chat-bench --scenario');
  w('scale` forks generator processes, each with its slice of the users. Every user registers and logs in');
  w('through the API (which names the least loaded chat server) and opens its socket there. All of');
  w('them are members of one channel (a big one), seeded into the cluster\'s PostgreSQL before the logins');
  w('(`--db`): on a cluster chat server a `join_channel` from a non-member first re-reads the channel\'s');
  w('whole member list from the store, and the membership event makes every other chat server re-read');
  w('it too, so N joins cost O(N²) row reads there (a few thousand joins already slow down visibly).');
  w('The joins themselves are measured on one chatd (whose model is authoritative: a join is O(1)),');
  w(`${int(get(R.joins, 'connections_requested'))} sockets joining one channel. Then the channel's first member sends one message from a`);
  w('separate socket; each generator records when each of its sockets got it (all processes share');
  w('CLOCK_MONOTONIC).');
  w();
  if (!s) {
    w('(this run failed; see the run.sh output)');
    w();
    return;
  }
  w('| | |');
  w('|---|---|');
  w(`| sockets requested / logged in / up / joined | ${int(s.connections_requested)} / ${int(s.logged_in)} / ${int(s.connections_up)} / ${int(s.joined)} |`);
  w(`| generator processes | ${int(s.processes)} |`);
  w(`| login (${s.membership === 'seeded' ? '/auth' : '/register + /auth'}) / connect / join | ${ms(s.login_s)} s / ${ms(s.connect_s)} s (${int(s.connects_per_s)}/s) / ${s.membership === 'seeded' ? 'seeded' : `${ms(s.join_s)} s`} |`);
  w(`| the message: deliveries / missing / errors | ${int(s.deliveries)} / ${int(s.missing)} / ${int(s.errors)} |`);
  w(`| time until the last socket had it | ${ms(s.last_delivery_ms)} ms |`);
  w(`| delivery latency p50 / p90 / p99 | ${ms(get(s, 'delivery_latency', 'p50_ms'))} / ${ms(get(s, 'delivery_latency', 'p90_ms'))} / ${ms(get(s, 'delivery_latency', 'p99_ms'))} ms |`);
  w(`| the sender's own echo (stored, published, dispatched) | ${ms(s.sender_echo_ms)} ms |`);
  w();
  w('| chat server (port) | sockets | RSS before the sockets (KiB) | RSS with them up (KiB) | RSS per socket |');
  w('|---|---|---|---|---|');
  for (const x of s.servers || [])
    w(`| ${x.port} | ${int(x.sockets)} | ${int(x.rss_before_kib)} | ${int(x.rss_up_kib)} | ${int(x.rss_per_socket_bytes)} B |`);
  w();
  w(`Reproduce: \`scripts/cluster up --bus redis --chat ${env.SCALE_CHAT}\` (with \`CHATD_CLUSTER_FLAGS\` as in Settings), then ${cmd('scale-cluster')}`);
  w('with `--url` the API URL, `--server-pid PID@PORT,…` for the chat servers and `--db pg:CONNINFO` of');
  w(`the cluster's PostgreSQL; the joins: ${cmd('scale-joins')} against one chatd.`);
  w();
  const j = R.joins;
  if (j) {
    w(`Joins on one chatd: ${int(j.joined)} of ${int(j.connections_requested)} sockets joined in ${ms(j.join_s)} s; the message reached ${int(j.deliveries)}`);
    w(`(missing ${int(j.missing)}), the last after ${ms(j.last_delivery_ms)} ms (p50 ${ms(get(j, 'delivery_latency', 'p50_ms'))} ms).`);
    w();
  }
}

function sections(w) {
  w('## Scale with history');
  w();
  seedText(w);
  w();
  w(`Seed: ${cmd('seed-population')}, then ${cmd('seed-2m')}; the big store: ${cmd('seed-10m')} (and the same`);
  w('with `--db pg:CONNINFO`).');
  w();
  w('### Connects with history');
  w();
  w('The same users on the same memberships, first with no message stored, then with the history:');
  w('chatd is stopped, the messages are added, chatd starts again on the data dir. Each burst connects');
  w('every measured user at once (token already obtained) and times each socket from the start of its');
  w('TCP connect to the arrival of its `channels_list`. Then each measured user reads the first big');
  w('channel\'s history on its socket, all users at once: the newest 50, 100 `after` its read mark (what');
  w('a reconnecting client fetches) and 100 `before` the channel\'s middle message.');
  w();
  historyTable(w);
  w();
  w(`Reproduce: ${cmd('history-2m')} against chatd on the seeded data dir.`);
  w();
  w('### Reconnect storm');
  w();
  w('Sockets of the seeded users (all with history) connected; then chatd gets SIGTERM (every socket');
  w('is closed with 1001) and starts again on the same port and data. Every socket reconnects on its');
  w('own with the `chat` client\'s back-off (a wait between base/2 and base, base 100 ms doubling to 5 s),');
  w('no window, from 40 client addresses. Compared with the time the same number of fresh connects');
  w('(a window of 256 handshakes) took just before.');
  w();
  stormTable(w);
  w();
  w(`Reproduce: ${cmd('storm-2m')} with \`--url\`, \`--server-pid\` and \`--restart-cmd 'exec chatd --port PORT …'\`.`);
  w();
  w(`### Durable writes at ${millions(get(R.seed10m, 'messages_stored'))} stored messages`);
  w();
  w('chatd: the durable scenario (see Durable store) on an empty data dir and, right after, on the data');
  w('dir holding the big store. The store: `chat-bench --scenario store` links libchatd and drives the');
  w('store backend itself (`store_sqlite_backend`, `store_pg_backend`) the way chatd\'s loop does — channel');
  w('and user created through the store, then MSG_APPEND ops round-robin over 100 channels with a window');
  w('in flight, each completion submitting the next, group-committed by the backend with fsync on');
  w('(SQLite `synchronous = FULL`; PostgreSQL 15 as packaged, `synchronous_commit = on`, `fsync = on`,');
  w('with `max_wal_size = 8GB` so that the seed does not checkpoint every few seconds) — on an empty');
  w('database and on one holding the big store. The appends go into new channels: what the history');
  w('costs them is the size of the tables and their indexes. On SQLite the store indexes the queued');
  w('texts for search whenever its writer is idle and the machine has CPU to spare, which the store');
  w('scenario (one process, fsync-bound) leaves: its CPU per append includes that indexing, which');
  w('costs more in a 10 M-text index than in an empty one; chatd\'s durable scenario keeps the writer');
  w('busy, so there the index is built after the run. Each store run starts with the search index');
  w('caught up (the scenario lets the store\'s indexer take what earlier runs left, reported as');
  w('`search_backlog_before`): past `search_lag` (1,000,000 texts) the store indexes the excess inside');
  w('every batch, and the 10 M run follows chatd\'s durable run on the same data dir, which leaves');
  w('hundreds of thousands of texts unindexed; inherited, that debt was charged to the 10 M appends.');
  w();
  durableTable(w);
  w();
  w(`Reproduce: ${cmd('durable-10m-chatd')}; ${cmd('store-sqlite-10m')}; ${cmd('store-pg-10m')}.`);
  w();
  if (R.dur10m) {
    w(`#### chatd on the ${millions(get(R.seed10m, 'messages_stored'))} data dir`);
    w();
    phaseTable(R.dur10m).forEach((x) => w(x));
    w();
  }
  scaleSection(w);
  w('## Per-message cost');
  w();
  w('Server CPU per message stored and per delivery, from `/proc/PID/stat` (utime + stime: every');
  w('thread of the process, the store worker included) read at the start and end of each measured');
  w('phase, for the saturation phase of each scenario (the Summary table). The same two columns are in');
  w('every phase table of this file.');
  w();
  for (const [label, name] of costRows().slice(2, 4)) {
    w(`### ${label}, chatd`);
    w();
    phaseTable(load(name)).forEach((x) => w(x));
    w();
    w(`Reproduce: ${cmd(name)}.`);
    w();
  }
  /* The profiles are taken by hand (perf), not by make bench: kept as written. */
  fs.readFileSync(path.join(__dirname, 'per-message-profile.md'), 'utf8').trimEnd().split('\n')
    .forEach((x) => w(x));
  w();
}

module.exports = { summary, sections };
