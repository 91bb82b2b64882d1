// Webhooks: a receiver gets every event of a short class, each signed
// with HMAC-SHA256 of its body, while a receiver that accepts and never answers delays
// neither the class nor the other receiver.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';

import { tempConfig, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { receiver } from './lib/webhook_receiver.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const KEY = 'webhook-key-for-the-test';

// An HTTP receiver on loopback that records every POST and answers 200.
// A receiver that is down in the worst way: it accepts and never answers.
async function blackhole() {
  const sockets = new Set();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted += 1;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}/never`,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

test('webhooks: every event of a class, signed; a hanging receiver delays nothing', { timeout: 60000 }, async () => {
  const good = await receiver();
  const hang = await blackhole();
  const cfg = tempConfig({
    webhooks: { urls: [hang.url, good.url], key: KEY, timeoutMs: 20000, maxAttempts: 3 },
  });
  try {
    await withServer(['--config', cfg], async (server) => {
      const t0 = performance.now();
      const teacher = await connectPeer(server, { auth: 'teacher', channelId: 'hooked' });
      await teacher.request('get-rtp-capabilities', {});
      const student = await connectPeer(server, { auth: 'student', channelId: 'hooked' });
      await student.request('get-rtp-capabilities', {});
      await student.close();
      // The server sees the two sockets close in its own order: wait for the student's
      // departure before the teacher leaves, so that the order of the events is the test's.
      await good.until((g) => g.some((x) => x.headers['x-chorus-event'] === 'participant-left'));
      await teacher.close();
      // The whole class ran while the first receiver held its first POST unanswered.
      await good.until((g) => g.some((x) => x.headers['x-chorus-event'] === 'room-finished'));
      const elapsed = performance.now() - t0;
      assert.ok(hang.accepted() >= 1, 'the hanging receiver was not even tried');
      const events = good.got.map((g) => JSON.parse(g.body));
      assert.deepEqual(
        events.map((e) => `${e.event}${e.participant ? `:${e.participant.peerId}` : ''}`),
        ['room-started', 'participant-joined:teacher', 'participant-joined:student',
          'participant-left:student', 'participant-left:teacher', 'room-finished'],
      );
      for (const g of good.got) {
        assert.equal(g.method, 'POST');
        assert.equal(g.url, '/hooks/chorus');
        assert.equal(g.headers['content-type'], 'application/json');
        const want = `sha256=${crypto.createHmac('sha256', KEY).update(g.body).digest('hex')}`;
        assert.equal(g.headers['x-chorus-signature'], want, `bad signature on ${g.body}`);
        const body = JSON.parse(g.body);
        assert.equal(g.headers['x-chorus-event'], body.event);
        assert.equal(g.headers['x-chorus-delivery'], body.id);
        assert.equal(body.room.id, 'hooked');
        assert.ok(body.createdAt > 0);
      }
      assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'delivery ids are unique');
      assert.equal(events[2].room.participants, 2);
      assert.equal(events[3].participant.reason, 'left');
      assert.ok(events[5].room.durationMs >= 0);
      // The hanging receiver's 20 s timeout was never waited for by anyone.
      assert.ok(elapsed < 20000, `the class took ${elapsed} ms`);
      // A delivery is counted once the server has read the receiver's answer, which may
      // come after the receiver saw the whole request.
      await pollUntil(async () => /^chorus_webhook_deliveries_total\{result="delivered"\} 6$/m.test(
        await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text()),
      { timeoutMs: 5000, what: '6 deliveries counted' });
    });
  } finally {
    await hang.close();
    await good.close();
  }
});

test('webhooks: a refused url and a bad key file are configuration errors', { timeout: 20000 }, async () => {
  const { runChorus } = await import('./lib/server.mjs');
  const bad = await runChorus(['--config', tempConfig({ webhooks: { urls: ['ftp://x.example/'], key: 'k' } })]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /webhooks\.urls/);
  const nokey = await runChorus(['--config', tempConfig({ webhooks: { urls: ['http://127.0.0.1:9/'] } })]);
  assert.equal(nokey.code, 2);
  assert.match(nokey.stderr, /webhooks\.key/);
  const missing = await runChorus(['--config', tempConfig({ webhooks: { urls: ['http://127.0.0.1:9/'], keyFile: '/nonexistent/key' } })]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /webhooks\.keyFile/);
});

test('webhooks: a failed attempt is retried with the same delivery id; a full queue drops the oldest', { timeout: 60000 }, async () => {
  // The flaky receiver answers 503 to the first attempt of every delivery, 200 to the next.
  const attempts = new Map();
  const got = [];
  const flaky = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const id = req.headers['x-chorus-delivery'];
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      if (n === 1) {
        res.writeHead(503, { connection: 'close' });
        res.end('busy');
        return;
      }
      got.push(JSON.parse(body));
      res.writeHead(204, { connection: 'close' });
      res.end();
    });
  });
  flaky.listen(0, '127.0.0.1');
  await once(flaky, 'listening');
  const hang = await blackhole();
  const cfg = tempConfig({
    webhooks: {
      urls: [`http://127.0.0.1:${flaky.address().port}/`, hang.url],
      key: KEY,
      queueSize: 2,
      timeoutMs: 30000,
    },
  });
  try {
    await withServer(['--config', cfg], async (server) => {
      const a = await connectPeer(server, { auth: 'a', channelId: 'retry' });
      await a.request('get-rtp-capabilities', {});
      await a.close();
      // room-started, joined, left, finished: each delivered on its second attempt, in order
      // (the 2-event queue of the flaky url may drop the oldest while one is retried).
      const deadline = performance.now() + 20000;
      while (!got.some((e) => e.event === 'room-finished')) {
        if (performance.now() > deadline) throw new Error(`not delivered: ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const e of got) assert.equal(attempts.get(e.id), 2, `${e.event} delivered after ${attempts.get(e.id)} attempts`);
      const order = ['room-started', 'participant-joined', 'participant-left', 'room-finished'];
      const seen = got.map((e) => e.event);
      assert.deepEqual(seen, order.filter((x) => seen.includes(x)), 'in order');
      // The hanging url holds one POST and keeps at most 2 queued: of 4 events, 1 dropped.
      // (Counted once the server has read each answer: polled.)
      const metrics = await pollUntil(async () => {
        const text = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
        return Number(/^chorus_webhook_deliveries_total\{result="delivered"\} (\d+)$/m.exec(text)?.[1]) === got.length && text;
      }, { timeoutMs: 5000, what: `${got.length} deliveries counted` });
      const dropped = Number(/^chorus_webhook_deliveries_total\{result="dropped"\} (\d+)$/m.exec(metrics)?.[1]);
      assert.ok(dropped >= 1, metrics);
    });
  } finally {
    await hang.close();
    await new Promise((r) => flaky.close(r));
  }
});

test('webhooks: a node that stops reports the participants still in and the room\'s end', { timeout: 30000 }, async () => {
  const good = await receiver();
  const cfg = tempConfig({ webhooks: { urls: [good.url], key: KEY } });
  try {
    const { startServer } = await import('./lib/server.mjs');
    const server = await startServer(['--config', cfg]);
    try {
      const a = await connectPeer(server, { auth: 'stayer', channelId: 'until-the-end' });
      await a.request('get-rtp-capabilities', {});
      await good.until((g) => g.some((x) => x.headers['x-chorus-event'] === 'participant-joined'));
      const r = await server.stop();
      assert.equal(r.code, 0);
    } finally {
      await server.stop();
    }
    await good.until((g) => g.some((x) => x.headers['x-chorus-event'] === 'room-finished'));
    const events = good.got.map((g) => JSON.parse(g.body));
    assert.deepEqual(events.map((e) => e.event), ['room-started', 'participant-joined', 'participant-left', 'room-finished']);
    assert.equal(events[2].participant.reason, 'room-closed');
  } finally {
    await good.close();
  }
});

test('webhooks over https: the receiver\'s certificate is verified (webhooks.caFile)', { timeout: 60000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { default: https } = await import('node:https');
  const { tempDir, REPO_ROOT } = await import('./lib/server.mjs');
  const dir = tempDir('chorus-hook-tls-');
  execFileSync(`${REPO_ROOT}/scripts/make-self-signed.sh`, ['--out', dir, '127.0.0.1'], { stdio: 'ignore' });
  const cert = `${dir}/chorus-cert.pem`;
  const got = [];
  const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(`${dir}/chorus-key.pem`) }, (req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { connection: 'close' });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `https://127.0.0.1:${server.address().port}/tls-hook`;
  const classOf = async (srv, room) => {
    const a = await connectPeer(srv, { auth: 'a', channelId: room });
    await a.request('get-rtp-capabilities', {});
    await a.close();
  };
  try {
    // Trusted through caFile: every event arrives, signed.
    await withServer(['--config', tempConfig({ webhooks: { urls: [url], key: KEY, caFile: cert } })], async (srv) => {
      await classOf(srv, 'tls-ok');
      const deadline = performance.now() + 10000;
      while (!got.some((g) => g.headers['x-chorus-event'] === 'room-finished')) {
        if (performance.now() > deadline) throw new Error(`not delivered over https: ${got.length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const g of got)
        assert.equal(g.headers['x-chorus-signature'], `sha256=${crypto.createHmac('sha256', KEY).update(g.body).digest('hex')}`);
    });
    // Not trusted (the system's CAs do not know it): nothing is delivered, failures counted.
    const before = got.length;
    await withServer(['--config', tempConfig({ webhooks: { urls: [url], key: KEY, maxAttempts: 1 } })], async (srv) => {
      await classOf(srv, 'tls-untrusted');
      const deadline = performance.now() + 10000;
      for (;;) {
        const m = await (await fetch(`${srv.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
        const failed = Number(/^chorus_webhook_deliveries_total\{result="failed"\} (\d+)$/m.exec(m)?.[1]);
        if (failed >= 4) break;
        if (performance.now() > deadline) throw new Error(`untrusted receiver: ${m.split('\n').filter((l) => l.includes('webhook')).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    assert.equal(got.length, before, 'an untrusted receiver got events');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('webhooks: a caFile that cannot be read is a configuration error', { timeout: 20000 }, async () => {
  const { runChorus } = await import('./lib/server.mjs');
  const r = await runChorus(['--config', tempConfig({ webhooks: { urls: ['https://127.0.0.1:9/'], key: 'k', caFile: '/nonexistent/ca.pem' } })]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /webhooks\.caFile/);
});
