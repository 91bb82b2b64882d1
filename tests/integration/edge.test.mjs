// The HTTP edge's admission against the real binary: the Origin check on
// every entry point (/socket upgrades, Engine.IO polling handshakes, polls and posts of an
// existing session, the preflight, Engine.IO WebSocket handshakes and upgrades), the own
// origin and local pages accepted by default, an allowed-origins list, "*", the per-address
// connection limit, an application refusal with its status, and the refusal counters in
// /healthz.

import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import WebSocket from 'ws';

import { httpGet } from './lib/http.mjs';
import { withServer } from './lib/server.mjs';
import { EIO_PATH as EIO } from './lib/socketio.mjs';
import { connectPeer } from './lib/ws_client.mjs';

const T = { timeout: 60000 };
const FOREIGN = 'http://evil.example.test';

// A bounded HTTP request on a fresh connection. Resolves { status, headers, body, json }.
function request(url, { method = 'GET', headers = {}, body, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        clearTimeout(timer);
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${url}: no response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Tries a WebSocket upgrade. Resolves { open: true, ws } or { open: false, status, json }
// (the HTTP answer instead of the handshake); bounded.
function upgrade(url, { origin, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, ...(origin ? { origin } : {}) });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url}: neither open nor refused within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve({ open: true, ws });
    });
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => {
        clearTimeout(timer);
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ open: false, status: res.statusCode, json });
        req.destroy();
      });
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${url}: ${e.message}`));
    });
  });
}

// Closes a WebSocket and waits (bounded) for the close to complete.
function closeWs(ws, timeoutMs = 2000) {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, timeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(1000);
  });
}

const eioUrl = (server, query) => `${server.url}${EIO}?EIO=4&${query}`;
const eioWsUrl = (server, query) => server.wsUrl(`${EIO}?EIO=4&${query}`);

// An Engine.IO polling handshake; resolves the response and the sid.
async function handshake(server, headers = {}) {
  const res = await request(eioUrl(server, 'transport=polling'), { headers });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.body[0], '0', `not an open packet: ${res.body}`);
  return { res, sid: JSON.parse(res.body.slice(1)).sid };
}

const healthz = async (server) => {
  const res = await httpGet(`${server.url}/healthz`);
  assert.equal(res.status, 200, res.body);
  return res.json;
};

function assertOriginRefused(res, what) {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.json ?? res.body)}`);
  assert.equal(res.json?.error, 'origin-not-allowed', `${what}: ${JSON.stringify(res.json ?? res.body)}`);
  assert.equal(typeof res.json?.message, 'string', what);
}

// ---- Origin --------------------------------------------------------------------------------

test('a foreign Origin is refused (403) at every entry point, before anything is created', T, async () => {
  await withServer([], async (server) => {
    const before = await healthz(server);
    assert.equal(before.edge.refusedOrigin, 0);

    // /socket: no upgrade, no session.
    const sock = await upgrade(server.wsUrl('/socket?auth=mallory'), { origin: FOREIGN });
    assert.equal(sock.open, false, '/socket upgrade with a foreign Origin was accepted');
    assertOriginRefused(sock, '/socket');

    // Engine.IO polling handshake: no Engine.IO session.
    assertOriginRefused(await request(eioUrl(server, 'transport=polling'), { headers: { origin: FOREIGN } }), 'polling handshake');
    // Engine.IO WebSocket handshake.
    assertOriginRefused(await upgrade(eioWsUrl(server, 'transport=websocket'), { origin: FOREIGN }), 'engine.io websocket handshake');
    // The CORS preflight.
    assertOriginRefused(
      await request(eioUrl(server, 'transport=polling'), { method: 'OPTIONS', headers: { origin: FOREIGN, 'access-control-request-method': 'POST' } }),
      'preflight',
    );
    assert.equal((await healthz(server)).sessions, 0, 'a refused request created a session');

    // An existing session (opened by a client without Origin): a foreign POST carrying the
    // close packet is refused without reaching the session, and so is a foreign poll and
    // the WebSocket upgrade; the session still answers its own client afterwards.
    const { sid } = await handshake(server);
    assertOriginRefused(
      await request(eioUrl(server, `transport=polling&sid=${sid}`), { method: 'POST', headers: { origin: FOREIGN }, body: '1' }),
      'polling POST of an existing session',
    );
    assertOriginRefused(await request(eioUrl(server, `transport=polling&sid=${sid}`), { headers: { origin: FOREIGN } }), 'polling GET of an existing session');
    assertOriginRefused(await upgrade(eioWsUrl(server, `transport=websocket&sid=${sid}`), { origin: FOREIGN }), 'engine.io websocket upgrade');
    const closeOwn = await request(eioUrl(server, `transport=polling&sid=${sid}`), { method: 'POST', body: '1' });
    assert.equal(closeOwn.status, 200, `the session did not survive the refused requests: ${closeOwn.body}`);
    assert.equal(closeOwn.body, 'ok');

    // Each refusal counted once.
    const after = await healthz(server);
    assert.equal(after.edge.refusedOrigin, 7, JSON.stringify(after.edge));
  });
});

test('the own origin and pages on localhost, 127.0.0.1 and [::1] are accepted by default', T, async () => {
  await withServer([], async (server) => {
    const own = server.url; // http://127.0.0.1:PORT, which is also the Host header
    for (const origin of [own, 'http://localhost:5173', 'https://localhost', 'http://[::1]:3000', 'http://127.0.0.1:9']) {
      const sock = await upgrade(server.wsUrl(`/socket?auth=p${Math.random().toString(36).slice(2, 8)}`), { origin });
      assert.equal(sock.open, true, `/socket refused Origin ${origin}: ${sock.status} ${JSON.stringify(sock.json)}`);
      await closeWs(sock.ws);

      const { res, sid } = await handshake(server, { origin });
      assert.equal(res.headers['access-control-allow-origin'], origin, `CORS for ${origin}`);
      assert.equal(res.headers['access-control-allow-credentials'], 'true');
      const ws = await upgrade(eioWsUrl(server, `transport=websocket&sid=${sid}`), { origin });
      assert.equal(ws.open, true, `engine.io upgrade refused Origin ${origin}: ${ws.status}`);
      await closeWs(ws.ws);
    }
    // Without Origin (node clients, chorus-bench): accepted, no CORS headers.
    const plain = await handshake(server);
    assert.equal(plain.res.headers['access-control-allow-origin'], undefined);
    await request(eioUrl(server, `transport=polling&sid=${plain.sid}`), { method: 'POST', body: '1' });
    assert.equal((await healthz(server)).edge.refusedOrigin, 0);
  });
});

test('--allowed-origins: listed origins and the own origin in, local pages then out; "*" lets any in', T, async () => {
  const app = 'https://app.example.test';
  await withServer(['--allowed-origins', app], async (server) => {
    const listed = await upgrade(server.wsUrl('/socket?auth=listed'), { origin: app });
    assert.equal(listed.open, true, `listed origin refused: ${listed.status}`);
    await closeWs(listed.ws);
    const own = await upgrade(server.wsUrl('/socket?auth=own'), { origin: server.url });
    assert.equal(own.open, true, `own origin refused: ${own.status}`);
    await closeWs(own.ws);
    const { res, sid } = await handshake(server, { origin: app });
    assert.equal(res.headers['access-control-allow-origin'], app);
    await request(eioUrl(server, `transport=polling&sid=${sid}`), { method: 'POST', body: '1', headers: { origin: app } });
    assertOriginRefused(await upgrade(server.wsUrl('/socket?auth=local'), { origin: 'http://localhost:5173' }), 'localhost with a list');
    assertOriginRefused(await request(eioUrl(server, 'transport=polling'), { headers: { origin: FOREIGN } }), 'foreign with a list');
  });
  await withServer(['--allowed-origins', '*'], async (server) => {
    const sock = await upgrade(server.wsUrl('/socket?auth=anyone'), { origin: FOREIGN });
    assert.equal(sock.open, true, `"*" did not let ${FOREIGN} in: ${sock.status}`);
    await closeWs(sock.ws);
    const { res, sid } = await handshake(server, { origin: FOREIGN });
    assert.equal(res.headers['access-control-allow-origin'], FOREIGN);
    const ws = await upgrade(eioWsUrl(server, `transport=websocket&sid=${sid}`), { origin: FOREIGN });
    assert.equal(ws.open, true);
    await closeWs(ws.ws);
    assert.equal((await healthz(server)).edge.refusedOrigin, 0);
  });
});

// ---- the application's refusal --------------------------------------------------------------

test('an upgrade the application refuses gets its status and body, and is counted', T, async () => {
  await withServer([], async (server) => {
    const r = await upgrade(server.wsUrl('/not-a-socket'));
    assert.equal(r.open, false);
    assert.equal(r.status, 404);
    const h = await healthz(server);
    assert.equal(h.edge.refusedByApplication, 1, JSON.stringify(h.edge));
    assert.equal(h.edge.refusedOrigin, 0);
  });
});

// ---- connections per address --------------------------------------------------------------

test('--max-connections-per-ip 3: the 4th connection gets 429, the first 3 keep working, a slot frees after a close', T, async () => {
  await withServer(['--max-connections-per-ip', '3'], async (server) => {
    let refusals = 0; // every 429 this test sees, to compare with the server's count
    const clients = [];
    for (const name of ['a', 'b', 'c']) clients.push(await connectPeer(server, { auth: name }));

    const fourth = await upgrade(server.wsUrl('/socket?auth=d'));
    assert.equal(fourth.open, false, 'the 4th connection was accepted');
    assert.equal(fourth.status, 429);
    assert.equal(fourth.json?.error, 'too-many-connections');
    refusals += 1;
    // Plain HTTP from the same address is a connection too.
    const busy = await request(`${server.url}/healthz`);
    assert.equal(busy.status, 429);
    refusals += 1;

    for (const c of clients) await c.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');

    // One closes: its slot is given back once the server has seen the close. Retried until
    // then (bounded); a retry refused meanwhile is counted like any other.
    await clients.shift().close();
    const deadline = performance.now() + 3000;
    let again;
    for (;;) {
      const r = await upgrade(server.wsUrl('/socket?auth=d'));
      if (r.open) {
        again = r.ws;
        break;
      }
      assert.equal(r.status, 429, `unexpected answer ${r.status}`);
      refusals += 1;
      if (performance.now() > deadline) throw new Error('no slot freed within 3 s of a close');
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const c of clients) await c.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    const still = await upgrade(server.wsUrl('/socket?auth=e'));
    assert.equal(still.status, 429, 'the limit holds again with 3 open');
    refusals += 1;

    await closeWs(again);
    for (const c of clients) await c.close();
    // /healthz once a slot is free (bounded), counting the 429s on the way.
    const until = performance.now() + 3000;
    let h;
    for (;;) {
      const r = await request(`${server.url}/healthz`);
      if (r.status === 200) {
        h = r.json;
        break;
      }
      assert.equal(r.status, 429);
      refusals += 1;
      if (performance.now() > until) throw new Error('/healthz still refused 3 s after every client closed');
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(h.edge.refusedPerIp, refusals, JSON.stringify(h.edge));
    assert.equal(h.edge.connectionsRefused, 0);
  });
});

test('maxConnectionsPerIp 0 is unlimited', T, async () => {
  await withServer(['--max-connections-per-ip', '0'], async (server) => {
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await connectPeer(server, { auth: `u${i}` }));
    const h = await healthz(server);
    assert.equal(h.edge.refusedPerIp, 0);
    assert.ok(h.edge.openConnections >= 21, JSON.stringify(h.edge));
    for (const c of clients) await c.close();
  });
});
