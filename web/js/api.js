// api: the HTTP API of the server that served the page (same origin):
// POST /register and POST /auth (PROTOCOL.md section 1).

/** An HTTP API failure; message is the server's sentence when it sent one. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function post(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('cannot reach the server', 0);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // a body that is not JSON: only the status speaks
  }
  if (!res.ok) {
    throw new ApiError((data && data.error) || `the server answered ${res.status}`, res.status);
  }
  return data;
}

/**
 * Creates an account. Resolves on 201; rejects with ApiError (400 names the
 * broken rule, 409 = taken).
 */
export function register(username, password) {
  return post('/register', { username, password });
}

/**
 * Logs in.
 * @returns {Promise<{token: string, chat: {host: string, port: string, id: number},
 *                    presence: {host: string, port: string, id: number}}>}
 */
export async function login(username, password) {
  const data = await post('/auth', { username, password });
  if (!data || typeof data.sessionToken !== 'string' || !data.servers) {
    throw new ApiError('the server sent an unexpected answer', 200);
  }
  return { token: data.sessionToken, chat: data.servers.chat, presence: data.servers.presence };
}

/**
 * The WebSocket URL of a server /auth named: exactly the host and port it
 * gave (what the operator configured), wss: when the server speaks TLS
 * ("tls": true) or the page came over https.
 */
export function socketUrl(server, path, token) {
  const scheme = server.tls === true || location.protocol === 'https:' ? 'wss' : 'ws';
  const host = server.host.includes(':') && !server.host.startsWith('[')
    ? `[${server.host}]` : server.host;
  return `${scheme}://${host}:${server.port}${path}?token=${encodeURIComponent(token)}`;
}
