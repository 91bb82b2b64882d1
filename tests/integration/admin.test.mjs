// The admin API and the graceful drain: a bearer token is
// required, rooms are listed with their participants, a kicked peer is told, a closed
// room ends for everyone, a room's recording starts and stops (recording-finished to the
// webhooks); during a drain new joins are refused while a running class keeps its media,
// and the process exits 0 when the class ends.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { ffmpegAvailable, startFfmpeg } from './lib/ffmpeg.mjs';
import { httpGet } from './lib/http.mjs';
import { startServer, tempConfig, tempDir, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { receiver } from './lib/webhook_receiver.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { speakerProcess } from './lib/wrtc_speaker.mjs';

const TOKEN = 'admin-token-0123456789abcdef';
const HOOK_KEY = 'webhook-key-for-the-admin-test';

function adminUrl(server) {
  const m = /^chorus admin API on (http:\/\/\S+)$/m.exec(server.stdout());
  assert.ok(m, `no admin API line in stdout: ${server.stdout()}`);
  return m[1];
}

// One admin request (bounded); resolves { status, json, headers }.
async function admin(server, method, path, { token = TOKEN, body } = {}) {
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${adminUrl(server)}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`${method} ${path}: not JSON (${res.status}): ${text}`);
  }
  return { status: res.status, json, headers: res.headers };
}

// Polls `probe` (bounded) until it returns a truthy value; resolves that value.
const until = (probe, what, timeoutMs = 5000) => pollUntil(probe, { timeoutMs, intervalMs: 50, what });

// The server's exit, or { timedOut: true } after `ms` (the timer is cleared either way).
async function exitWithin(server, ms) {
  let timer;
  const timeout = new Promise((r) => {
    timer = setTimeout(() => r({ timedOut: true }), ms);
  });
  try {
    return await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function adminArgs(extra = []) {
  const tokenFile = tempConfig(`${TOKEN}\n`, 'admin-token');
  return ['--admin-listen', '127.0.0.1:0', '--admin-token-file', tokenFile, ...extra];
}

// /healthz once it says draining (503), bounded.
const drainingHealth = (server) => until(async () => {
  const res = await httpGet(`${server.url}/healthz`);
  return res.status === 503 && res.json?.status === 'draining' ? res : null;
}, 'healthz draining');

// The packets the admin API counts for the first producer of `room`'s teacher.
async function teacherPackets(server, room) {
  const d = await admin(server, 'GET', `/rooms/${room}`);
  const p = d.json.participants?.find((x) => x.peerId === 'teacher')?.producers?.[0];
  const stats = Array.isArray(p?.stats) ? p.stats[0] : p?.stats;
  return stats?.packetCount ?? stats?.packetsReceived ?? 0;
}

test('admin API: token, rooms, a kick the peer hears, closing a room', { timeout: 60000 }, async () => {
  await withServer(adminArgs(), async (server) => {
    // Without a token, with a wrong one: 401 with a JSON error code.
    for (const token of [null, 'wrong-token-0123456789abcdef', '']) {
      const r = await admin(server, 'GET', '/rooms', { token });
      assert.equal(r.status, 401, `token ${token}`);
      assert.equal(r.json.error, 'unauthorized');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    assert.deepEqual((await admin(server, 'GET', '/rooms')).json, { rooms: [] });

    const a = await connectPeer(server, { auth: 'alice', channelId: 'class-1' });
    const b = await connectPeer(server, { auth: 'bob', channelId: 'class-1' });
    await a.request('get-rtp-capabilities', {});
    await b.request('get-rtp-capabilities', {});
    const rooms = await admin(server, 'GET', '/rooms');
    assert.equal(rooms.status, 200);
    assert.equal(rooms.json.rooms.length, 1);
    assert.equal(rooms.json.rooms[0].id, 'class-1');
    assert.equal(rooms.json.rooms[0].participants, 2);

    // b makes a transport: the room's detail lists it with its stats.
    const t = await b.request('create-transport', { direction: 'recv' });
    assert.equal(t.type, 'transport-params', JSON.stringify(t));
    const detail = await admin(server, 'GET', '/rooms/class-1');
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.json.participants.map((p) => p.peerId).sort(), ['alice', 'bob']);
    const bob = detail.json.participants.find((p) => p.peerId === 'bob');
    assert.equal(bob.transports.length, 1);
    assert.equal(bob.transports[0].id, t.data.id);
    assert.notEqual(bob.transports[0].stats, null);
    assert.ok(bob.joinedAt > 0);

    assert.equal((await admin(server, 'GET', '/rooms/nowhere')).json.error, 'unknown-room');
    assert.equal((await admin(server, 'GET', '/rooms/nowhere')).status, 404);
    assert.equal((await admin(server, 'POST', '/rooms/class-1/peers/nobody/kick')).status, 404);
    const wrongMethod = await admin(server, 'POST', '/rooms');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.json.error, 'method-not-allowed');
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    assert.equal((await admin(server, 'GET', '/drain')).status, 405);
    assert.equal((await admin(server, 'GET', '/nothing')).json.error, 'not-found');
    assert.equal((await admin(server, 'POST', '/rooms/class-1/peers/bob/kick', { body: { reason: 7 } })).status, 400);

    // The kick: bob is told, then closed (4005); alice hears of it.
    const kick = await admin(server, 'POST', '/rooms/class-1/peers/bob/kick', { body: { reason: 'spam' } });
    assert.equal(kick.status, 200, JSON.stringify(kick.json));
    const told = await b.nextOfType('kicked');
    assert.equal(told.data.by, 'admin');
    assert.equal(told.data.reason, 'spam');
    assert.equal((await b.closedWithin(3000)).code, 4005);
    await a.nextOfType('peer-kicked', (m) => m.data.peerId === 'bob');
    assert.equal((await admin(server, 'GET', '/rooms/class-1')).json.participants.length, 1);

    // Closing the room: alice is told and closed (4007); the room goes away.
    const closed = await admin(server, 'DELETE', '/rooms/class-1');
    assert.equal(closed.status, 200);
    assert.equal(closed.json.participants, 1);
    await a.nextOfType('room-ended');
    assert.equal((await a.closedWithin(3000)).code, 4007);
    await until(async () => (await admin(server, 'GET', '/rooms')).json.rooms.length === 0, 'the room closed');
    await closeAll(a, b);
  });
});

test('drain by POST /drain: healthz says draining, joins are refused, exit 0 when idle', { timeout: 60000 }, async () => {
  const server = await startServer(adminArgs(['--drain-timeout-ms', '20000']));
  try {
    const a = await connectPeer(server, { auth: 'alice', channelId: 'd-room' });
    await a.request('get-rtp-capabilities', {});
    const r = await admin(server, 'POST', '/drain', { body: { timeoutMs: 20000 } });
    assert.equal(r.status, 202);
    const h = await drainingHealth(server);
    assert.equal(h.json.rooms, 1);
    // A new room and a join to the running one are both refused.
    const late = await connectPeer(server, { auth: 'late' });
    assert.equal((await late.request('join-mediasoup-room', { roomId: 'd-room' })).data?.code, 'draining');
    assert.equal((await late.request('join-mediasoup-room', { roomId: 'new-room' })).data?.code, 'draining');
    const byChannel = await connectPeer(server, { auth: 'late2', channelId: 'd-room' });
    assert.equal((await byChannel.closedWithin(3000)).code, 4003);
    assert.ok(server.isRunning());
    // The class ends: the server stops on its own, exit code 0.
    await closeAll(a, late, byChannel);
    const exit = await exitWithin(server, 10000);
    assert.deepEqual({ code: exit.code, timedOut: exit.timedOut }, { code: 0, timedOut: undefined }, server.stderr());
  } finally {
    await server.stop();
  }
});

test('drain by SIGTERM: a running class keeps its media until it ends, then exit 0', { timeout: 90000 }, async () => {
  const server = await startServer(adminArgs(['--drain-timeout-ms', '30000']));
  let speaker;
  try {
    speaker = await speakerProcess(server, 'teacher', 'class-d', 440);
    speaker.setAmplitude(8000);
    const packets = () => teacherPackets(server, 'class-d');
    const before = await until(async () => (await packets()) > 0 && packets(), 'the teacher\'s packets counted', 15000);
    process.kill(server.pid, 'SIGTERM');
    await until(async () => (await httpGet(`${server.url}/healthz`)).json?.status === 'draining', 'healthz draining');
    const late = await connectPeer(server, { auth: 'late' });
    assert.equal((await late.request('join-mediasoup-room', { roomId: 'class-d' })).data?.code, 'draining');
    await late.close();
    // Media still flows during the drain.
    await until(async () => (await packets()) > before + 50, 'packets growing during the drain', 10000);
    assert.ok(server.isRunning());
    speaker.kill();
    const exit = await exitWithin(server, 45000);
    assert.equal(exit.timedOut, undefined, 'the server did not exit after the class ended');
    assert.equal(exit.code, 0, server.stderr());
  } finally {
    speaker?.kill();
    await server.stop();
  }
});

test('drain by POST /drain without a timeout, default configuration: the class goes on until told to stop', { timeout: 90000 }, async () => {
  const server = await startServer(adminArgs());
  let speaker;
  try {
    speaker = await speakerProcess(server, 'teacher', 'class-e', 440);
    speaker.setAmplitude(8000);
    const packets = () => teacherPackets(server, 'class-e');
    await until(async () => (await packets()) > 0, 'the teacher\'s packets counted', 15000);
    // No body: no deadline (drain.timeoutMs is 0 by default), never "stop at once".
    const r = await admin(server, 'POST', '/drain');
    assert.equal(r.status, 202);
    assert.deepEqual(r.json, { draining: true, timeoutMs: null });
    const atDrain = await packets();
    const h = await drainingHealth(server);
    assert.equal(h.json.rooms, 1);
    const late = await connectPeer(server, { auth: 'late' });
    assert.equal((await late.request('join-mediasoup-room', { roomId: 'class-e' })).data?.code, 'draining');
    await late.close();
    // The class's media keeps flowing: 100 more packets (two seconds of audio) after the drain began.
    await until(async () => (await packets()) > atDrain + 100, 'packets growing during the drain', 10000);
    assert.ok(server.isRunning(), 'the server stopped during a drain without a deadline');
    // Only an explicit request stops at once; the class is still running.
    const now = await admin(server, 'POST', '/drain', { body: { timeoutMs: 0 } });
    assert.deepEqual({ status: now.status, json: now.json }, { status: 202, json: { draining: true, timeoutMs: 0 } });
    const exit = await exitWithin(server, 10000);
    assert.deepEqual({ code: exit.code, timedOut: exit.timedOut }, { code: 0, timedOut: undefined }, server.stderr());
  } finally {
    speaker?.kill();
    await server.stop();
  }
});

test('drain: a second SIGTERM stops at once, with the rooms still open', { timeout: 60000 }, async () => {
  const server = await startServer(['--drain-timeout-ms', '600000']);
  try {
    const a = await connectPeer(server, { auth: 'alice', channelId: 'stays' });
    await a.request('get-rtp-capabilities', {});
    process.kill(server.pid, 'SIGTERM');
    await until(async () => (await httpGet(`${server.url}/healthz`)).json?.status === 'draining', 'healthz draining');
    assert.ok(server.isRunning());
    const r = await server.stop({ signal: 'SIGTERM', timeoutMs: 5000 });
    assert.equal(r.timedOut, false);
    assert.equal(r.code, 0, server.stderr());
    assert.equal((await a.closedWithin(3000)).code, 1001);
  } finally {
    await server.stop();
  }
});

test('admin API: recording start and stop; recording-finished reaches the webhooks, signed', { skip: !ffmpegAvailable(), timeout: 90000 }, async () => {
  const hooks = await receiver();
  const dir = tempDir('chorus-admin-rec-');
  const config = tempConfig({ recording: { directory: dir }, webhooks: { urls: [hooks.url], key: HOOK_KEY } });
  let ff;
  try {
    await withServer(['--config', config, ...adminArgs()], async (server) => {
      const ingest = await connectPeer(server, { auth: 'camera', channelId: 'rec-1' });
      try {
        await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
        const t = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
        await ingest.expectReply('produce', {
          transportId: t.id, kind: 'video', appData: { source: 'webcam' },
          rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: 44444444 }] },
        }, 'producer-id');
        ff = startFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-t', '60',
          '-c:v', 'libvpx', '-deadline', 'realtime', '-b:v', '300k', '-g', '30',
          '-ssrc', '44444444', '-payload_type', '101', '-f', 'rtp', `rtp://127.0.0.1:${t.port}?rtcpport=${t.port}&pkt_size=1200`]);
        const started = await admin(server, 'POST', '/rooms/rec-1/recording/start');
        assert.equal(started.status, 200, JSON.stringify(started.json));
        assert.match(started.json.recordingId, /\S/);
        const startedEvent = await ingest.nextOfType('recording-started', () => true, 5000);
        assert.equal(startedEvent.data.by, 'admin');
        assert.equal((await admin(server, 'POST', '/rooms/rec-1/recording/start')).status, 409, 'already recording');
        // Some media in the file, then the stop: the manifest comes back.
        await pollUntil(() => fs.readdirSync(dir, { recursive: true }).some((f) => /\.webm$/.test(f) && fs.statSync(path.join(dir, f)).size > 20000),
          { timeoutMs: 20000, intervalMs: 200, what: 'a webm file with media' });
        const stopped = await admin(server, 'POST', '/rooms/rec-1/recording/stop');
        assert.equal(stopped.status, 200, JSON.stringify(stopped.json));
        assert.match(stopped.json.manifest, /manifest\.json$/);
        assert.ok(fs.existsSync(stopped.json.manifest));
        assert.equal((await admin(server, 'POST', '/rooms/rec-1/recording/stop')).status, 409, 'not recording');
        assert.equal((await admin(server, 'POST', '/rooms/nowhere/recording/start')).status, 404);
        assert.equal((await admin(server, 'GET', '/rooms/rec-1/recording/start')).status, 405);
        await hooks.until((got) => got.some((g) => g.headers['x-chorus-event'] === 'recording-finished'), 10000);
        const g = hooks.got.find((x) => x.headers['x-chorus-event'] === 'recording-finished');
        assert.equal(g.headers['x-chorus-signature'], `sha256=${crypto.createHmac('sha256', HOOK_KEY).update(g.body).digest('hex')}`);
        const body = JSON.parse(g.body);
        assert.equal(body.room.id, 'rec-1');
        assert.equal(body.recording.id, started.json.recordingId, g.body);
        assert.equal(body.recording.file, stopped.json.manifest, g.body);
        assert.ok(body.recording.bytes > 20000, g.body);
        assert.ok(body.recording.durationMs > 0, g.body);
      } finally {
        await ff?.stop('SIGKILL');
        await closeAll(ingest);
      }
    });
  } finally {
    await hooks.close();
  }
});
