// Engine.IO v4 at /socket.io/ against the real binary, with the real socket.io-client 4.x:
// default transports (long-polling, then the upgrade to WebSocket), WebSocket only, server
// ping/pong keeping a session alive and dropping a client that stops answering, CORS on the
// polling responses, Engine.IO's HTTP errors, and TLS (HTTPS + WSS) with a pair made by
// scripts/make-self-signed.sh.
//
// Socket.IO events are not tested here: the Socket.IO dialect is wired in separately.
// What is checked is that the Socket.IO CONNECT packet ("40") reaches the session and is
// answered.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { test } from 'node:test';
import { io } from 'socket.io-client';

import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT, runChorus, tempConfig, tempDir, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { EIO_PATH as EIO, closeEngine, nextEvent, openEngine, upgradedTo } from './lib/socketio.mjs';

const T = { timeout: 60000 };
const FAST_PING = { signaling: { pingIntervalMs: 300, pingTimeoutMs: 200 } };
// Pings as often, but a client that waits longer for each: a ping the server sends late on a
// loaded machine (the sanitizer build beside other tests) is no timeout, while the pings
// and pongs are still counted.
const FAST_PING_PATIENT = { signaling: { pingIntervalMs: 300, pingTimeoutMs: 1000 } };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A bounded HTTP request on a fresh connection. Resolves { status, headers, body, json }.
function request(url, { method = 'GET', headers = {}, body, timeoutMs = 3000, agentOptions = {} } = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, { method, agent: false, headers: { connection: 'close', ...headers }, ...agentOptions }, (res) => {
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

// An Engine.IO polling handshake over raw HTTP; resolves { sid, open, res }.
async function handshake(base, headers = {}) {
  const res = await request(`${base}${EIO}?EIO=4&transport=polling`, { headers });
  assert.equal(res.status, 200, res.body);
  assert.equal(res.body[0], '0', `not an open packet: ${res.body}`);
  const open = JSON.parse(res.body.slice(1));
  return { sid: open.sid, open, res };
}

const sessionsOf = async (server) => (await httpGet(`${server.url}/healthz`)).json.sessions;
// The node counts a session once its actor has registered, which can come just after the
// client holds the handshake (seen on a loaded machine): polled, with a bound.
const sessionsReach = (server, n) => pollUntil(async () => (await sessionsOf(server)) === n,
  { timeoutMs: 5000, what: `${n} session actor(s) on /healthz` });

// ---- transports and the upgrade -----------------------------------------------------------

test('default transports: long-polling first, then the upgrade to websocket', T, async () => {
  await withServer([], async (server) => {
    const { socket, engine, handshake: handshakeData } = await openEngine(server.url);
    assert.equal(engine.transport.name, 'polling', 'the first transport is long-polling');
    assert.deepEqual(handshakeData.upgrades, ['websocket']);
    assert.equal(handshakeData.pingInterval, 25000);
    assert.equal(handshakeData.pingTimeout, 20000);
    assert.equal(handshakeData.maxPayload, 1000000);
    assert.match(handshakeData.sid, /^[A-Za-z0-9_-]{20}$/);
    await upgradedTo(engine, 'websocket');
    assert.equal(socket.io.engine.transport.name, 'websocket');
    assert.equal(engine.id, handshakeData.sid, 'the session survives the upgrade');
    await sessionsReach(server, 1);
    closeEngine({ socket });
    await waitForNoPeers(server);
  });
});

test('websocket only: the session starts on a WebSocket, nothing to upgrade to', T, async () => {
  await withServer([], async (server) => {
    const { socket, engine, handshake: handshakeData } = await openEngine(server.url, { transports: ['websocket'] });
    assert.equal(engine.transport.name, 'websocket');
    assert.deepEqual(handshakeData.upgrades, []);
    await sessionsReach(server, 1);
    closeEngine({ socket });
    await waitForNoPeers(server);
  });
});

test('polling only: a session that never upgrades works and ends cleanly', T, async () => {
  await withServer(['--config', tempConfig(FAST_PING)], async (server) => {
    const { socket, engine } = await openEngine(server.url, { transports: ['polling'] });
    assert.equal(engine.transport.name, 'polling');
    // Held polls are answered by the pings: the session stays up across several (2 pings
    // at pingInterval 300 ms; bounded at 10 s: under the sanitizer beside other tests one
    // run took over 3 s).
    let pings = 0;
    await nextEvent(engine, 'ping', { match: () => ++pings === 2, timeoutMs: 10000, what: 'the second ping' });
    assert.equal(engine.readyState, 'open');
    await sessionsReach(server, 1);
    closeEngine({ socket }); // sends the close packet "1" by POST
    await waitForNoPeers(server);
  });
});

for (const transports of [undefined, ['websocket'], ['polling']]) {
  const label = transports ? transports.join('+') : 'default transports';
  test(`the Socket.IO CONNECT packet reaches the session and is answered (${label})`, T, async () => {
    await withServer([], async (server) => {
      const socket = io(server.url, { path: EIO, reconnection: false, forceNew: true, ...(transports ? { transports } : {}) });
      const engine = socket.io.engine;
      const sent = [];
      engine.on('packetCreate', (p) => {
        if (p.type === 'message') sent.push(p.data);
      });
      try {
        // The open packet (and pings) are skipped until the first message.
        const [packet] = await nextEvent(engine, 'packet', { match: (p) => p.type === 'message', timeoutMs: 5000, what: 'the first message packet' });
        assert.equal(sent[0], '0', `the client's first message is the CONNECT packet: ${JSON.stringify(sent)}`);
        assert.equal(typeof packet.data, 'string');
        assert.ok(packet.data.length > 0, 'a non-empty answer to CONNECT');
      } finally {
        socket.close();
        socket.io.engine?.close();
      }
      await waitForNoPeers(server);
    });
  });
}

// ---- heartbeat ------------------------------------------------------------------------------

for (const transports of [undefined, ['websocket']]) {
  const label = transports ? 'websocket only' : 'default transports';
  test(`server ping/pong keeps the session alive past pingInterval (${label})`, T, async () => {
    await withServer(['--config', tempConfig(FAST_PING_PATIENT)], async (server) => {
      const { socket, engine } = await openEngine(server.url, transports ? { transports } : {});
      const id = engine.id;
      let pings = 0;
      engine.on('ping', () => {
        pings += 1;
      });
      let closedReason = null;
      engine.on('close', (reason) => {
        closedReason = reason;
      });
      await sleep(1600); // > 5 pingIntervals
      assert.equal(closedReason, null, `closed: ${closedReason}`);
      assert.equal(engine.readyState, 'open');
      assert.equal(engine.id, id);
      assert.ok(pings >= 4, `only ${pings} pings in 1.6 s with pingInterval 300`);
      await sessionsReach(server, 1);
      closeEngine({ socket });
      await waitForNoPeers(server);
    });
  });

  test(`a client that stops answering pings is dropped within pingInterval + pingTimeout (${label})`, T, async () => {
    await withServer(['--config', tempConfig(FAST_PING)], async (server) => {
      const { socket, engine } = await openEngine(server.url, transports ? { transports } : {});
      if (!transports) await upgradedTo(engine, 'websocket');
      // Swallow every pong from now on (the client still sees the pings).
      const sendPacket = engine._sendPacket.bind(engine);
      engine._sendPacket = (type, ...rest) => (type === 'pong' ? undefined : sendPacket(type, ...rest));
      const t0 = performance.now();
      const [reason] = await nextEvent(engine, 'close', { timeoutMs: 3000, what: 'close' });
      const elapsed = performance.now() - t0;
      // The server closes the transport: the client sees 'transport close' (its own timer,
      // pingInterval + pingTimeout after the last ping, would say 'ping timeout').
      assert.equal(reason, 'transport close');
      assert.ok(elapsed <= 300 + 200 + 250, `dropped after ${Math.round(elapsed)} ms`);
      socket.close();
      await waitForNoPeers(server);
    });
  });
}

test('a long-polling client that stops answering pings is dropped too', T, async () => {
  await withServer(['--config', tempConfig(FAST_PING)], async (server) => {
    const { socket, engine } = await openEngine(server.url, { transports: ['polling'] });
    const sendPacket = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === 'pong' ? undefined : sendPacket(type, ...rest));
    const t0 = performance.now();
    const [reason] = await nextEvent(engine, 'close', { timeoutMs: 3000, what: 'close' });
    const elapsed = performance.now() - t0;
    assert.equal(reason, 'transport close'); // the pending poll carried the close packet
    assert.ok(elapsed <= 300 + 200 + 250, `dropped after ${Math.round(elapsed)} ms`);
    socket.close();
    await waitForNoPeers(server);
  });
});

// ---- CORS -----------------------------------------------------------------------------------

test('CORS: polling responses echo an allowed Origin (by default a local page), with credentials; preflight 204', T, async () => {
  await withServer([], async (server) => {
    const origin = 'http://localhost:5173';
    const { sid, res } = await handshake(server.url, { origin });
    assert.equal(res.headers['access-control-allow-origin'], origin);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.match(res.headers['content-type'], /^text\/plain/);

    const post = await request(`${server.url}${EIO}?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      headers: { origin, 'content-type': 'text/plain;charset=UTF-8' },
      body: '1', // the close packet: the session ends
    });
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    assert.equal(post.headers['access-control-allow-origin'], origin);

    const pre = await request(`${server.url}${EIO}?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], origin);
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.match(pre.headers['access-control-allow-methods'], /POST/);
    assert.match(pre.headers['access-control-allow-methods'], /GET/);
    assert.match(pre.headers['access-control-allow-headers'], /content-type/i);

    // Errors carry the headers too, so that the browser lets the page read them.
    const err = await request(`${server.url}${EIO}?EIO=4&transport=polling&sid=nope`, { headers: { origin } });
    assert.equal(err.status, 400);
    assert.equal(err.headers['access-control-allow-origin'], origin);

    // Without an Origin, no CORS headers.
    const plain = await handshake(server.url);
    assert.equal(plain.res.headers['access-control-allow-origin'], undefined);
    await request(`${server.url}${EIO}?EIO=4&transport=polling&sid=${plain.sid}`, { method: 'POST', body: '1' });
    await waitForNoPeers(server);
  });
});

test('CORS: signaling.corsOrigins (the old name of allowedOrigins) limits the allowed origins', T, async () => {
  const allowed = 'https://allowed.example.test';
  await withServer(['--config', tempConfig({ signaling: { corsOrigins: [allowed] } })], async (server) => {
    const ok = await handshake(server.url, { origin: allowed });
    assert.equal(ok.res.headers['access-control-allow-origin'], allowed);
    // Another origin is refused outright (tests/integration/edge.test.mjs has the rest).
    const other = await request(`${server.url}${EIO}?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example.test' } });
    assert.equal(other.status, 403);
    assert.equal(other.json?.error, 'origin-not-allowed');
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers['access-control-allow-credentials'], undefined);
    const pre = await request(`${server.url}${EIO}?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    await request(`${server.url}${EIO}?EIO=4&transport=polling&sid=${ok.sid}`, { method: 'POST', body: '1' });
    await waitForNoPeers(server);
  });
});

// ---- Engine.IO's errors over HTTP -------------------------------------------------------------

test('errors: HTTP 400 with {code, message} as Engine.IO answers them', T, async () => {
  await withServer([], async (server) => {
    const base = `${server.url}${EIO}`;
    const cases = [
      ['unknown transport', 'GET', '?EIO=4&transport=carrier-pigeon', 0],
      ['no transport', 'GET', '?EIO=4', 0],
      ['unknown sid', 'GET', '?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA', 1],
      ['handshake by POST', 'POST', '?EIO=4&transport=polling', 2],
      ['websocket handshake without an upgrade', 'GET', '?EIO=4&transport=websocket', 3],
      ['protocol 3', 'GET', '?EIO=3&transport=polling', 5],
    ];
    for (const [name, method, query, code] of cases) {
      const res = await request(`${base}${query}`, { method, body: method === 'POST' ? '4x' : undefined });
      assert.equal(res.status, 400, `${name}: ${res.status} ${res.body}`);
      assert.match(res.headers['content-type'], /^application\/json/, name);
      assert.equal(res.json?.code, code, `${name}: ${res.body}`);
      assert.equal(typeof res.json?.message, 'string', name);
    }

    // Transport mismatch: a session on polling asked for with transport=websocket.
    const { sid } = await handshake(server.url);
    const mismatch = await request(`${base}?EIO=4&transport=websocket&sid=${sid}`);
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.json?.code, 3);

    // A second concurrent poll is an error that ends the session; the poll the server holds
    // gets "1". Which of the two arrives first is not ours to decide: both are sent and
    // exactly one of each outcome is required.
    const polls = await Promise.all([0, 1].map(() =>
      request(`${base}?EIO=4&transport=polling&sid=${sid}`, { timeoutMs: 5000 })));
    const refused = polls.filter((r) => r.status === 400 && r.json?.code === 3);
    const closed = polls.filter((r) => r.status === 200 && r.body === '1');
    assert.equal(refused.length, 1, JSON.stringify(polls.map((r) => [r.status, r.body])));
    assert.equal(closed.length, 1, JSON.stringify(polls.map((r) => [r.status, r.body])));
    await waitForNoPeers(server);
    const gone = await request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(gone.json?.code, 1, 'the session is gone');
  });
});

test('errors: a POST larger than maxPayload is refused with 413 and ends the session', T, async () => {
  await withServer(['--config', tempConfig({ signaling: { maxPayloadBytes: 4096 } })], async (server) => {
    const base = `${server.url}${EIO}`;
    const { sid, open } = await handshake(server.url);
    assert.equal(open.maxPayload, 4096);
    const ok = await request(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: `4${'x'.repeat(4000)}` });
    assert.equal(ok.status, 200);
    const big = await request(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: `4${'x'.repeat(5000)}` });
    assert.equal(big.status, 413);
    await waitForNoPeers(server);
    // Beyond the HTTP layer's own body limit (1 MiB) as well.
    const s2 = await handshake(server.url);
    const huge = await request(`${base}?EIO=4&transport=polling&sid=${s2.sid}`, { method: 'POST', body: `4${'x'.repeat(1100000)}` }).catch((e) => ({ status: 'reset', error: e }));
    assert.ok(huge.status === 413 || huge.status === 'reset', `got ${huge.status}`);
    await waitForNoPeers(server);
  });
});

test('shutdown with Engine.IO sessions open (held poll, websocket) exits cleanly', T, async () => {
  await withServer([], async (server) => {
    const a = await openEngine(server.url, { transports: ['polling'] });
    const b = await openEngine(server.url, { transports: ['websocket'] });
    // (the WebSocket client's open event can come before the server counts its session)
    await sessionsReach(server, 2);
    const closedA = nextEvent(a.engine, 'close', { timeoutMs: 3000, what: 'close of the polling client' });
    const closedB = nextEvent(b.engine, 'close', { timeoutMs: 3000, what: 'close of the websocket client' });
    const r = await server.stop();
    assert.equal(r.code, 0, `exit code ${r.code}`);
    assert.equal(r.timedOut, false);
    assert.ok(r.elapsedMs < 1800, `shutdown took ${r.elapsedMs} ms`);
    await Promise.all([closedA, closedB]);
  });
});

// ---- TLS ------------------------------------------------------------------------------------

function makePair() {
  const dir = tempDir('chorus-tls-');
  execFileSync(path.join(REPO_ROOT, 'scripts/make-self-signed.sh'), ['--out', dir], { stdio: 'pipe' });
  const cert = path.join(dir, 'chorus-cert.pem');
  const key = path.join(dir, 'chorus-key.pem');
  assert.ok(fs.existsSync(cert) && fs.existsSync(key), 'make-self-signed.sh wrote the pair');
  return { dir, cert, key };
}

test('TLS: HTTPS /healthz and socket.io-client over https + wss', T, async () => {
  const { cert, key } = makePair();
  await withServer(['--tls-cert', cert, '--tls-key', key], async (server) => {
    assert.equal(server.tls, true);
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await request(`${server.url}/healthz`, { agentOptions: { rejectUnauthorized: false } });
    assert.equal(health.status, 200);
    assert.equal(health.json?.status, 'ok');

    // The certificate names 127.0.0.1: with it as the CA, verification passes.
    const ca = fs.readFileSync(cert);
    const verified = await request(`${server.url}/healthz`, { agentOptions: { ca } });
    assert.equal(verified.status, 200);

    // Plain HTTP on the TLS port gets nothing.
    const plain = await request(`http://127.0.0.1:${server.port}/healthz`, { timeoutMs: 2000 }).catch((e) => e);
    assert.ok(plain instanceof Error, `plain HTTP answered: ${plain.status}`);

    // Default transports: polling over HTTPS, then the upgrade to WSS.
    const a = await openEngine(server.url, { ca });
    assert.equal(a.engine.transport.name, 'polling');
    await upgradedTo(a.engine, 'websocket');
    // WebSocket only, over WSS.
    const b = await openEngine(server.url, { transports: ['websocket'], rejectUnauthorized: false });
    assert.equal(b.engine.transport.name, 'websocket');
    await pollUntil(async () => (await request(`${server.url}/healthz`, { agentOptions: { ca } })).json.sessions === 2,
      { timeoutMs: 5000, what: 'two session actors on /healthz' });
    closeEngine(a);
    closeEngine(b);
  });
});

test('TLS: refuses to start without both files, or with files that do not load', T, async () => {
  const { dir, cert, key } = makePair();
  const other = makePair(); // a key that does not match `cert`
  const notPem = path.join(dir, 'not.pem');
  fs.writeFileSync(notPem, 'not a certificate\n');
  const cases = [
    ['--tls-cert alone', ['--tls-cert', cert], '--tls-key'],
    ['--tls-key alone', ['--tls-key', key], '--tls-cert'],
    ['missing certificate file', ['--tls-cert', path.join(dir, 'nope.pem'), '--tls-key', key], '--tls-cert'],
    ['missing key file', ['--tls-cert', cert, '--tls-key', path.join(dir, 'nope.pem')], '--tls-key'],
    ['certificate not PEM', ['--tls-cert', notPem, '--tls-key', key], '--tls-cert'],
    ['key not PEM', ['--tls-cert', cert, '--tls-key', notPem], '--tls-key'],
    ['key of another certificate', ['--tls-cert', cert, '--tls-key', other.key], '--tls-key'],
    ['config: certificate without key', ['--config', tempConfig({ signaling: { tlsCertificateFile: cert } })], 'signaling.tlsPrivateKeyFile'],
  ];
  for (const [name, args, mention] of cases) {
    const r = await runChorus(['--listen', '127.0.0.1:0', ...args], { timeoutMs: 5000 });
    assert.equal(r.timedOut, false, `${name}: still running`);
    assert.equal(r.code, 2, `${name}: exit code ${r.code}\n${r.stderr}`);
    assert.ok(r.stderr.includes(mention), `${name}: the message does not name ${mention}:\n${r.stderr}`);
    assert.ok(!r.stdout.includes('chorus listening on'), `${name}: started listening`);
  }
});
