'use strict';
/*
 * Baseline chat server for `make bench`: what chatd replaces, written the
 * way Node.js + ws users write it. It implements the subset of
 * docs/PROTOCOL.md that chat-bench drives: POST /register, POST /auth (JWT
 * HS256 via jsonwebtoken), GET /health, and the /chat WebSocket with
 * channels_list on connect, create_channel, join_channel and chat_message
 * fan-out (JSON.stringify once per message, then ws.send to every member's
 * sockets), with the same reply shapes as chatd for that subset.
 *
 * Storage is in memory only (users, channels, the last 1000 messages per
 * channel): nothing is written to disk, so a comparison with chatd, which
 * commits every message to SQLite before delivering it, favours this
 * server. Passwords are hashed with crypto.scrypt; the cost N is an option
 * (--scrypt-cost, default 16384; `make bench` uses the minimum, like
 * chatd's `--argon2 min`).
 *
 * Usage: node server.js [--host 127.0.0.1] [--port 0] [--port-file FILE]
 *                       [--scrypt-cost N]
 */
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const { WebSocketServer, WebSocket } = require('ws');
const jwt = require('jsonwebtoken');

const opts = { host: '127.0.0.1', port: 0, portFile: null, scryptCost: 16384 };
for (let i = 2; i < process.argv.length; i += 2) {
  const v = process.argv[i + 1];
  switch (process.argv[i]) {
    case '--host': opts.host = v; break;
    case '--port': opts.port = Number(v); break;
    case '--port-file': opts.portFile = v; break;
    case '--scrypt-cost': opts.scryptCost = Number(v); break;
    default:
      console.error(`unknown option ${process.argv[i]}`);
      process.exit(2);
  }
}

const SECRET = crypto.randomBytes(32);
const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const HISTORY_KEPT = 1000;

const users = new Map();        // username -> { salt, hash, createdAt }
const channels = new Map();     // channelId -> channel
const userChannels = new Map(); // username -> Set of channelIds
const sockets = new Map();      // username -> Set of ws

// ---- ids ----
let lastMs = 0n;
let seq = 0n;
function nextMessageId() {
  let now = BigInt(Date.now());
  if (now <= lastMs) {
    now = lastMs;
    seq += 1n;
    if (seq > 4095n) { now += 1n; seq = 0n; }
  } else {
    seq = 0n;
  }
  lastMs = now;
  return ((now << 22n) | (1n << 12n) | seq).toString();
}

// ---- HTTP API ----
function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function readJson(req, cb) {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > 65536) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    try {
      cb(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (e) {
      cb(null);
    }
  });
}

function hashPassword(password, salt, cb) {
  crypto.scrypt(password, salt, 32, { N: opts.scryptCost }, cb);
}

function register(req, res) {
  readJson(req, (body) => {
    if (!body || typeof body.username !== 'string' || typeof body.password !== 'string') {
      return sendJson(res, 400, { error: 'username and password are required' });
    }
    const { username, password } = body;
    if (!NAME_RE.test(username)) return sendJson(res, 400, { error: 'invalid username' });
    if (password.length < 8 || password.length > 128) {
      return sendJson(res, 400, { error: 'password must be 8-128 bytes' });
    }
    if (users.has(username)) return sendJson(res, 409, { error: 'that username is taken', code: 'conflict' });
    const salt = crypto.randomBytes(16);
    hashPassword(password, salt, (err, hash) => {
      if (err) return sendJson(res, 500, { error: 'internal error' });
      if (users.has(username)) return sendJson(res, 409, { error: 'that username is taken', code: 'conflict' });
      const createdAt = new Date().toISOString();
      users.set(username, { salt, hash, createdAt });
      sendJson(res, 201, { user_id: username, username, created_at: createdAt });
    });
  });
}

function auth(req, res) {
  readJson(req, (body) => {
    if (!body || typeof body.username !== 'string' || typeof body.password !== 'string') {
      return sendJson(res, 400, { error: 'username and password are required' });
    }
    const user = users.get(body.username);
    if (!user) return sendJson(res, 401, { error: 'Invalid credentials' });
    hashPassword(body.password, user.salt, (err, hash) => {
      if (err || !crypto.timingSafeEqual(hash, user.hash)) {
        return sendJson(res, 401, { error: 'Invalid credentials' });
      }
      const token = jwt.sign({ username: body.username }, SECRET, { algorithm: 'HS256', expiresIn: '24h' });
      const self = { host: opts.host, port: String(server.address().port), id: 1 };
      sendJson(res, 200, { sessionToken: token, servers: { chat: self, presence: self } });
    });
  });
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'POST' && path === '/register') return register(req, res);
  if (req.method === 'POST' && path === '/auth') return auth(req, res);
  if (req.method === 'GET' && path === '/health') {
    return sendJson(res, 200, { status: 'ok', service: 'baseline', role: 'all', uptime_s: process.uptime() });
  }
  sendJson(res, 404, { error: 'not found' });
});

// ---- chat ----
function sendError(ws, requestType, code, error) {
  ws.send(JSON.stringify({ type: 'error', error, code, request_type: requestType }));
}

function sendToUser(username, text) {
  const set = sockets.get(username);
  if (!set) return;
  for (const ws of set) {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }
}

function channelsList(username) {
  const list = [];
  for (const id of userChannels.get(username) || []) {
    const ch = channels.get(id);
    const last = ch.messages.length ? ch.messages[ch.messages.length - 1].message_id : null;
    list.push({
      user_id: username,
      channel_id: ch.id,
      channel_name: ch.name,
      channel_type: 'group',
      is_direct: false,
      last_read_at: null,
      other_participants: [...ch.members.keys()].filter((u) => u !== username),
      unread_count: 0,
      last_message_id: last,
      last_read_message_id: null,
    });
  }
  return { type: 'channels_list', channels: list };
}

function pushChannelsList(username) {
  sendToUser(username, JSON.stringify(channelsList(username)));
}

function addMember(ch, username, role) {
  ch.members.set(username, { channel_id: ch.id, user_id: username, joined_at: new Date().toISOString(), role });
  if (!userChannels.has(username)) userChannels.set(username, new Set());
  userChannels.get(username).add(ch.id);
}

function storeMessage(ch, senderId, content, metadata, clientMsgId) {
  const message = {
    channel_id: ch.id,
    message_id: nextMessageId(),
    user_id: senderId,
    sender_id: senderId,
    content,
    created_at: new Date().toISOString(),
    metadata: metadata || {},
    seq: ++ch.seq,
  };
  if (clientMsgId) message.client_msg_id = clientMsgId;
  ch.messages.push(message);
  if (ch.messages.length > HISTORY_KEPT) ch.messages.shift();
  return message;
}

function channelJoined(ch) {
  return JSON.stringify({
    type: 'channel_joined',
    channelId: ch.id,
    messages: ch.messages.slice(-50),
    participants: [...ch.members.values()],
  });
}

function createChannel(ws, user, msg) {
  if (typeof msg.name !== 'string' || msg.name.length < 1 || msg.name.length > 100) {
    return sendError(ws, 'create_channel', 'invalid_field', 'a group channel needs a name of 1-100 bytes');
  }
  const participants = Array.isArray(msg.participants) ? msg.participants : [];
  const unknown = participants.filter((p) => typeof p !== 'string' || !users.has(p));
  if (unknown.length) {
    return sendError(ws, 'create_channel', 'not_found', `unknown participants: ${unknown.join(', ')}`);
  }
  const ch = {
    id: crypto.randomUUID(),
    name: msg.name,
    creator: user,
    createdAt: new Date().toISOString(),
    members: new Map(),
    messages: [],
    seq: 0,
  };
  channels.set(ch.id, ch);
  addMember(ch, user, 'admin');
  for (const p of participants) if (!ch.members.has(p)) addMember(ch, p, 'member');
  ws.send(JSON.stringify({
    type: 'channel_created',
    channel: {
      channel_id: ch.id,
      type: 'group',
      created_at: ch.createdAt,
      metadata: { creator_id: user, name: ch.name },
      participants: [...ch.members.keys()],
    },
  }));
  ws.send(channelJoined(ch));
  for (const member of ch.members.keys()) pushChannelsList(member);
}

function joinChannel(ws, user, msg) {
  const ch = channels.get(msg.channelId);
  if (!ch) return sendError(ws, 'join_channel', 'not_found', 'no such channel');
  if (!ch.members.has(user)) {
    addMember(ch, user, 'member');
    const notice = storeMessage(ch, 'system', `${user} has joined the channel`,
      { event: 'user_joined', user_id: user });
    const text = JSON.stringify({ type: 'system', ...notice });
    for (const member of ch.members.keys()) if (member !== user) sendToUser(member, text);
    pushChannelsList(user);
  }
  ws.send(channelJoined(ch));
}

function chatMessage(ws, user, msg) {
  const ch = channels.get(msg.channelId);
  if (!ch) return sendError(ws, 'chat_message', 'not_found', 'no such channel');
  if (!ch.members.has(user)) return sendError(ws, 'chat_message', 'forbidden', 'you are not a member of this channel');
  if (typeof msg.content !== 'string' || msg.content.length < 1 || msg.content.length > 4000) {
    return sendError(ws, 'chat_message', 'invalid_field', 'content must be 1-4000 bytes');
  }
  const message = storeMessage(ch, user, msg.content, msg.metadata, msg.client_msg_id);
  const text = JSON.stringify({ type: 'chat_message', ...message });
  for (const member of ch.members.keys()) sendToUser(member, text);
}

const wss = new WebSocketServer({ server, path: '/chat' });

wss.on('connection', (ws, req) => {
  const token = new URL(req.url, 'http://localhost').searchParams.get('token');
  if (!token) return ws.close(3000, 'No authentication token provided');
  let user;
  try {
    user = jwt.verify(token, SECRET, { algorithms: ['HS256'] }).username;
  } catch (e) {
    return ws.close(3000, 'Authentication failed');
  }
  if (!users.has(user)) return ws.close(3000, 'Authentication failed');

  if (!sockets.has(user)) sockets.set(user, new Set());
  sockets.get(user).add(ws);
  ws.send(JSON.stringify(channelsList(user)));

  ws.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch (e) {
      return sendError(ws, null, 'bad_json', 'the frame is not valid JSON');
    }
    if (!msg || typeof msg !== 'object') return sendError(ws, null, 'bad_json', 'the frame is not a JSON object');
    switch (msg.type) {
      case 'create_channel': return createChannel(ws, user, msg);
      case 'join_channel': return joinChannel(ws, user, msg);
      case 'chat_message': return chatMessage(ws, user, msg);
      default: return sendError(ws, msg.type, 'unknown_type', `unknown type ${msg.type}`);
    }
  });

  ws.on('close', () => {
    const set = sockets.get(user);
    if (set) {
      set.delete(ws);
      if (set.size === 0) sockets.delete(user);
    }
  });
});

server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  if (opts.portFile) fs.writeFileSync(opts.portFile, `${port}\n`);
  console.log(`baseline listening on ${opts.host}:${port} (pid ${process.pid})`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
