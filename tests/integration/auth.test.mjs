// Who may do what: tokens at connect in both dialects, rooms a token covers, no
// silent takeover of a connected id, roles and permissions, moderation (mute, allow and
// disallow publishing, kick, block, lock, end), and the per-connection request rate.
// Tokens are signed with Node's crypto (lib/tokens.mjs), independently of the server.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { audio, video } from './lib/rtp_fixtures.mjs';
import { tempConfig, tempDir, withServer } from './lib/server.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';
import { httpGet } from './lib/http.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const T = { timeout: 60000 };
const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };
const CAPS = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] },
    { kind: 'video', mimeType: 'video/VP8', preferredPayloadType: 101, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack', parameter: '' }] },
  ],
  headerExtensions: [],
};
const ROOM = 'class-a';
const teacherToken = (extra = {}) => sign({ sub: 'teacher', name: 'Ms T', room: ROOM, role: 'teacher', ...extra });
const studentToken = (sub = 'student', extra = {}) => sign({ sub, name: sub, room: ROOM, role: 'student', ...extra });

// Resolves the HTTP status a refused upgrade answered (fails if the upgrade succeeds).
async function refusedStatus(server, query) {
  try {
    const c = await connectPeer(server, query);
    await c.close();
  } catch (e) {
    const m = /HTTP (\d+)/.exec(e.message);
    if (m) return Number(m[1]);
    throw e;
  }
  throw new Error(`upgrade with ${JSON.stringify(query)} was accepted`);
}

// Resolves the error of a refused Socket.IO CONNECT (fails if it connects).
async function connectError(server, opts) {
  try {
    const s = await connectSio(server, { transports: ['websocket'], ...opts });
    s.close();
  } catch (e) {
    return e;
  }
  throw new Error('the Socket.IO connection was accepted');
}

async function joined(server, token, query = {}) {
  const c = await connectPeer(server, { token, ...query });
  const r = await c.request('join-mediasoup-room', { roomId: ROOM, rtpCapabilities: CAPS });
  assert.equal(r.type, 'join-mediasoup-room', JSON.stringify(r));
  return c;
}

async function sendTransport(c) {
  const t = await c.request('create-webrtc-transport', { direction: 'send' });
  const id = t.data.params.id;
  assert.equal((await c.request('connect-transport', { transportId: id, dtlsParameters: DTLS })).type, 'transport-connected');
  return id;
}

async function recvTransport(c) {
  const t = await c.request('create-webrtc-transport', { direction: 'recv' });
  return t.data.params.id;
}

test('jwt, plain WebSocket: no, bad, expired, unsigned or foreign-room tokens are refused before the upgrade', T, async () => {
  await withServer(jwtArgs(), async (server) => {
    assert.equal(await refusedStatus(server, {}), 401);
    assert.equal(await refusedStatus(server, { token: 'not.a.token' }), 401);
    assert.equal(await refusedStatus(server, { token: sign({ sub: 'x', room: ROOM }, { key: 'another secret of at least thirty-two bytes' }) }), 401);
    assert.equal(await refusedStatus(server, { token: sign({ sub: 'x', room: ROOM }, { ttlS: -120 }) }), 401);
    assert.equal(await refusedStatus(server, { token: sign({ sub: 'x', room: ROOM }, { alg: 'none' }) }), 401);
    assert.equal(await refusedStatus(server, { token: 'a'.repeat(100 * 1024) }).catch(() => 431) >= 400, true);
    // A token for class-a does not open class-b, at connect (channelId) or on join.
    assert.equal(await refusedStatus(server, { token: studentToken(), channelId: 'class-b' }), 403);
    // Nothing was made for the refused connections.
    const refusedHealth = (await httpGet(`${server.url}/healthz`)).json;
    assert.deepEqual([refusedHealth.sessions, refusedHealth.peers, refusedHealth.rooms], [0, 0, 0]);
    const s = await connectPeer(server, { token: studentToken() });
    const other = await s.request('join-mediasoup-room', { roomId: 'class-b' });
    assert.equal(other.data?.code, 'forbidden', JSON.stringify(other));
    assert.match(other.data.message, /class-b/);
    const implicit = await s.request('create-webrtc-transport', { roomId: 'class-b', direction: 'recv' });
    assert.equal(implicit.data?.code, 'forbidden', JSON.stringify(implicit));
    assert.equal((await s.request('join-mediasoup-room', { roomId: ROOM })).type, 'join-mediasoup-room');
    await s.close();
    assert.equal((await httpGet(`${server.url}/healthz`)).json.status, 'ok'); // still serving
  });
});

test('jwt, Socket.IO: CONNECT_ERROR with a message for no, bad and expired tokens; auth.token and ?token= admit', T, async () => {
  await withServer(jwtArgs(), async (server) => {
    const none = await connectError(server, {});
    assert.match(none.message, /token is required/);
    assert.equal(none.data?.code, 'unauthorized');
    const bad = await connectError(server, { auth: { token: sign({ sub: 's', room: ROOM }, { key: 'wrong secret wrong secret wrong secret!' }) } });
    assert.match(bad.message, /bad-signature/);
    const expired = await connectError(server, { auth: { token: sign({ sub: 's', room: ROOM }, { ttlS: -300 }) } });
    assert.match(expired.message, /expired/);
    const foreign = await connectError(server, { auth: { token: studentToken(), roomId: 'class-b' } });
    assert.equal(foreign.data?.code, 'forbidden');

    const viaAuth = await connectSio(server, { transports: ['websocket'], auth: { token: studentToken('s1') } });
    const viaQuery = await connectSio(server, { transports: ['polling'], query: { token: studentToken('s2') } });
    const ack = (s, e, d) => s.timeout(3000).emitWithAck(e, d);
    assert.deepEqual(Object.keys(await ack(viaAuth, 'join-mediasoup-room', { roomId: ROOM })), ['existingProducers']);
    const refused = await ack(viaQuery, 'join-mediasoup-room', { roomId: 'class-b' });
    assert.equal(refused.code, 'forbidden');
    // A userId other than the token's subject is refused.
    const mismatch = await ack(viaQuery, 'set-user-id', 'teacher');
    assert.equal(mismatch.code, 'forbidden', JSON.stringify(mismatch));
    const info = await ack(viaAuth, 'get-room-info', {});
    assert.equal(info.role, 'student');
    assert.deepEqual(info.permissions, ['subscribe', 'chat']);
    assert.equal(info.blocked, undefined); // the block list is for moderators
    viaAuth.close();
    viaQuery.close();
  });
});

test('impersonation: a connected id is taken over only with a valid token for it', T, async () => {
  await withServer(jwtArgs(), async (server) => {
    const teacher = await joined(server, teacherToken());
    // The student's token with the teacher's id: refused before the upgrade.
    assert.equal(await refusedStatus(server, { token: studentToken(), auth: 'teacher' }), 403);
    assert.equal((await teacher.request('get-room-info', {})).data.role, 'teacher');
    // The teacher's own token on a second connection replaces the first (a reload).
    const again = await joined(server, teacherToken());
    assert.equal((await teacher.closedWithin(3000)).code, 4001);
    await again.close();
  });
  // Mode none: a taken id is refused with a clear error and the first connection survives.
  await withServer([], async (server) => {
    const first = await connectPeer(server, { auth: 'alice' });
    assert.equal((await first.request('join-mediasoup-room', { roomId: 'r' })).type, 'join-mediasoup-room');
    const second = await connectPeer(server, { auth: 'alice' });
    const refused = await second.request('join-mediasoup-room', { roomId: 'r' });
    assert.equal(refused.data?.code, 'id-taken', JSON.stringify(refused));
    assert.equal((await first.request('get-room-info', {})).data.participants.length, 1);
    // Once the first is gone, the id is free again.
    await first.close();
    await pollUntil(async () => (await httpGet(`${server.url}/healthz`)).json?.peers === 0,
      { timeoutMs: 3000, what: 'the room sees the first connection gone' });
    assert.equal((await second.request('join-mediasoup-room', { roomId: 'r' })).type, 'join-mediasoup-room');
    // The seed 004 frontend's user id likewise (Socket.IO).
    const ack = (s, e, d) => s.timeout(3000).emitWithAck(e, d);
    const u1 = await connectSio(server, { transports: ['websocket'] });
    const u2 = await connectSio(server, { transports: ['websocket'] });
    assert.ok((await ack(u1, 'join-mediasoup-room', { roomId: 'r2', userId: 'user_x' })).success);
    const taken = await ack(u2, 'join-mediasoup-room', { roomId: 'r2', userId: 'user_x' });
    assert.equal(taken.code, 'id-taken');
    assert.ok(u1.connected);
    u1.close();
    u2.close();
    await closeAll(second);
  });
});

test('roles: a student publishes after allow-publish; mute-peer pauses for every receiver and holds until allowed', T, async () => {
  await withServer(jwtArgs(), async (server) => {
    const teacher = await joined(server, teacherToken());
    const student = await joined(server, studentToken());
    const viewer = await joined(server, sign({ sub: 'viewer1', room: ROOM, role: 'viewer' }));
    const sendId = await sendTransport(student);
    const refused = await student.request('produce', { transportId: sendId, kind: 'video', rtpParameters: video(5100) });
    assert.equal(refused.data?.code, 'forbidden', JSON.stringify(refused));
    assert.match(refused.data.message, /publish-video/);
    // A student cannot moderate.
    assert.equal((await student.request('mute-peer', { peerId: 'teacher', kind: 'audio' })).data?.code, 'forbidden');
    // The teacher allows video (by the student's id); the event reaches the room.
    assert.equal((await teacher.request('allow-publish', { peerId: 'student', kinds: ['video'] })).type, 'allow-publish');
    const allowed = await viewer.nextOfType('publish-allowed');
    assert.deepEqual(allowed.data, { peerId: 'student', userId: 'student', kinds: ['video'], by: 'teacher' });
    const cam = await student.request('produce', { transportId: sendId, kind: 'video', rtpParameters: video(5100) });
    assert.equal(cam.type, 'producer-id', JSON.stringify(cam));
    // Audio is still not allowed.
    assert.equal((await student.request('produce', { transportId: sendId, kind: 'audio', rtpParameters: audio(5200) })).data?.code, 'forbidden');

    // Teacher and viewer consume the camera.
    const consumers = [];
    for (const c of [teacher, viewer]) {
      const recv = await recvTransport(c);
      const r = await c.request('consume', { transportId: recv, producerId: cam.data.id, rtpCapabilities: CAPS });
      assert.equal(r.type, 'consumer-params', JSON.stringify(r));
      consumers.push(r.data.id);
    }
    // mute-peer: the owner hears it was a moderator, each receiver sees producer-paused.
    assert.equal((await teacher.request('mute-peer', { peerId: 'student', kind: 'video' })).type, 'mute-peer');
    const own = await student.nextOfType('producer-paused');
    assert.deepEqual(own.data, { producerId: cam.data.id, byModerator: true });
    await viewer.nextOfType('producer-paused', (m) => m.data.producerId === cam.data.id);
    await teacher.nextOfType('producer-paused', (m) => m.data.producerId === cam.data.id);
    assert.deepEqual((await viewer.nextOfType('peer-muted')).data, { peerId: 'student', userId: 'student', kinds: ['video'], by: 'teacher' });
    const stats = await student.request('get-producer-stats', { producerId: cam.data.id });
    assert.match(JSON.stringify(stats.data), /"paused":true/);
    // The owner cannot resume until allow-publish.
    const resume = await student.request('resume-producer', { producerId: cam.data.id });
    assert.equal(resume.data?.code, 'forbidden', JSON.stringify(resume));
    assert.match(resume.data.message, /muted by a moderator/);
    await teacher.request('allow-publish', { peerId: 'student', kinds: ['video'] });
    assert.equal((await student.request('resume-producer', { producerId: cam.data.id })).type, 'resume-producer');
    await viewer.nextOfType('producer-resumed', (m) => m.data.producerId === cam.data.id);

    // disallow-publish closes the producer and refuses a new one.
    await teacher.request('disallow-publish', { peerId: 'student', kinds: ['video'] });
    await student.nextOfType('producer-closed', (m) => m.data.producerId === cam.data.id);
    await viewer.nextOfType('consumer-closed', (m) => m.data.producerId === cam.data.id, 3000);
    assert.equal((await student.request('produce', { transportId: sendId, kind: 'video', rtpParameters: video(5300) })).data?.code, 'forbidden');
    // A viewer cannot publish at all; it may subscribe.
    const vSend = await sendTransport(viewer);
    assert.equal((await viewer.request('produce', { transportId: vSend, kind: 'audio', rtpParameters: audio(5400) })).data?.code, 'forbidden');
    // Unknown targets are named.
    const unknown = await teacher.request('mute-peer', { peerId: 'nobody', kind: 'audio' });
    assert.equal(unknown.data?.code, 'unknown-user');
    const badKind = await teacher.request('mute-peer', { peerId: 'student', kind: 'smell' });
    assert.equal(badKind.data?.code, 'invalid-field');
    await closeAll(teacher, student, viewer);
  });
});

test('kick, block with rejoin refused, unblock, lock, end-room', T, async () => {
  await withServer(jwtArgs(), async (server) => {
    const teacher = await joined(server, teacherToken());
    const s1 = await joined(server, studentToken('s1'));
    const s2 = await joined(server, studentToken('s2'));
    // kick
    assert.equal((await teacher.request('kick-peer', { peerId: 's1', reason: 'talking' })).type, 'kick-peer');
    assert.deepEqual((await s1.nextOfType('kicked')).data, { reason: 'talking', by: 'teacher', blocked: false });
    assert.equal((await s1.closedWithin(3000)).code, 4005);
    assert.deepEqual((await s2.nextOfType('peer-kicked')).data, { peerId: 's1', userId: 's1', reason: 'talking', by: 'teacher' });
    await s2.nextOfType('participant-left', (m) => m.data.peerId === 's1');
    // A kicked student may come back.
    const back = await joined(server, studentToken('s1'));
    // block: kicked, and refused on rejoin (by token subject) until unblocked.
    await teacher.request('block-peer', { peerId: 's1', reason: 'spam' });
    assert.equal((await back.nextOfType('kicked')).data.blocked, true);
    assert.equal((await back.closedWithin(3000)).code, 4006);
    const again = await connectPeer(server, { token: studentToken('s1') });
    const refused = await again.request('join-mediasoup-room', { roomId: ROOM });
    assert.equal(refused.data?.code, 'blocked', JSON.stringify(refused));
    assert.match(refused.data.message, /spam/);
    const info = (await teacher.request('get-room-info', {})).data;
    assert.deepEqual(info.blocked.map((b) => [b.peerId, b.reason, b.by]), [['s1', 'spam', 'teacher']]);
    await teacher.request('unblock-peer', { peerId: 's1' });
    assert.equal((await again.request('join-mediasoup-room', { roomId: ROOM })).type, 'join-mediasoup-room');
    // A block for a time, of someone not in the room.
    await teacher.request('block-peer', { peerId: 's9', seconds: 60 });
    const s9 = await connectPeer(server, { token: studentToken('s9') });
    assert.equal((await s9.request('join-mediasoup-room', { roomId: ROOM })).data?.code, 'blocked');
    assert.ok((await teacher.request('get-room-info', {})).data.blocked.find((b) => b.peerId === 's9').until > Date.now());
    // lock: new joins refused (a moderator may still join), unlock lets them in.
    await teacher.request('lock-room', {});
    await s2.nextOfType('room-locked');
    const late = await connectPeer(server, { token: studentToken('late') });
    assert.equal((await late.request('join-mediasoup-room', { roomId: ROOM })).data?.code, 'room-locked');
    assert.equal((await teacher.request('get-room-info', {})).data.locked, true);
    await teacher.request('unlock-room', {});
    assert.equal((await late.request('join-mediasoup-room', { roomId: ROOM })).type, 'join-mediasoup-room');
    // end-room: everyone is told and disconnected.
    await teacher.request('end-room', { reason: 'class over' });
    for (const c of [teacher, s2, again, late]) {
      assert.equal((await c.nextOfType('room-ended')).data.reason, 'class over');
      assert.equal((await c.closedWithin(3000)).code, 4007);
    }
    await closeAll(s9);
  });
});

test('moderation over Socket.IO: mute and kick with acks and events', T, async () => {
  await withServer(jwtArgs(), async (server) => {
    const ack = (s, e, d) => s.timeout(3000).emitWithAck(e, d);
    const teacher = await connectSio(server, { transports: ['websocket'], auth: { token: teacherToken() } });
    const student = await connectSio(server, { transports: ['websocket'], auth: { token: studentToken() } });
    await ack(teacher, 'join-mediasoup-room', { roomId: ROOM });
    await ack(student, 'join-mediasoup-room', { roomId: ROOM });
    const denied = await ack(student, 'kick-peer', { peerId: 'teacher' });
    assert.equal(denied.code, 'forbidden');
    const muted = nextEvent(student, 'peer-muted');
    assert.deepEqual(await ack(teacher, 'mute-peer', { peerId: 'student', kind: 'audio' }), {});
    assert.deepEqual((await muted)[0], { peerId: student.id, userId: 'student', kinds: ['audio'], by: 'teacher' });
    const kicked = nextEvent(student, 'kicked');
    const gone = nextEvent(student, 'disconnect');
    assert.deepEqual(await ack(teacher, 'kick-peer', { peerId: 'student', reason: 'bye' }), {});
    assert.deepEqual((await kicked)[0], { reason: 'bye', by: 'teacher', blocked: false });
    await gone;
    teacher.close();
  });
});

test('RS256 and ES256 tokens with a configured public key', T, async () => {
  const dir = tempDir('chorus-keys-');
  for (const [alg, type, opts] of [['RS256', 'rsa', { modulusLength: 2048 }], ['ES256', 'ec', { namedCurve: 'P-256' }]]) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync(type, opts);
    const file = path.join(dir, `${alg}.pem`);
    fs.writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
    await withServer(['--auth-mode', 'jwt', '--auth-algorithm', alg, '--auth-public-key-file', file], async (server) => {
      const good = await connectPeer(server, { token: sign({ sub: 'k', room: '*', role: 'teacher' }, { alg, key: privateKey }) });
      assert.equal((await good.request('join-mediasoup-room', { roomId: 'any-room' })).type, 'join-mediasoup-room');
      await good.close();
      // An HS256 token signed with the public key's PEM as the secret: refused (alg confusion).
      const pem = fs.readFileSync(file, 'utf8');
      assert.equal(await refusedStatus(server, { token: sign({ sub: 'k', room: '*' }, { key: pem }) }), 401);
      assert.equal(await refusedStatus(server, { token: sign({ sub: 'k', room: '*' }) }), 401);
    });
  }
});

test('mode none: a role chosen at connect, the default role from config', T, async () => {
  await withServer([], async (server) => {
    const t = await connectPeer(server, { auth: 'tt', role: 'teacher' });
    const s = await connectPeer(server, { auth: 'ss', role: 'student' });
    await t.request('join-mediasoup-room', { roomId: 'demo' });
    await s.request('join-mediasoup-room', { roomId: 'demo' });
    assert.equal((await s.request('kick-peer', { peerId: 'tt' })).data?.code, 'forbidden');
    const list = (await t.request('get-room-info', {})).data.participants;
    assert.deepEqual(list.map((p) => [p.id, p.role]), [['tt', 'teacher'], ['ss', 'student']]);
    assert.equal((await t.request('kick-peer', { peerId: 'ss' })).type, 'kick-peer');
    // An unknown role is refused before the upgrade.
    assert.equal(await refusedStatus(server, { role: 'emperor' }), 400);
    await closeAll(t, s);
  });
  // Without a role everyone has every permission, as before.
  await withServer([], async (server) => {
    const a = await connectPeer(server, { auth: 'a' });
    await a.request('join-mediasoup-room', { roomId: 'demo' });
    const info = (await a.request('get-room-info', {})).data;
    assert.deepEqual(info.permissions, ['publish-audio', 'publish-video', 'publish-screen', 'subscribe', 'chat', 'moderate', 'record']);
    await a.close();
  });
});

test('request rate: a flood answers rate-limited and is closed; another connection is not slowed', T, async () => {
  const config = tempConfig({ signaling: { requestRefusalsToClose: 200 } });
  await withServer(['--request-rate', '20', '--request-burst', '20', '--config', config], async (server) => {
    const flood = await connectPeer(server, { auth: 'flood' });
    const calm = await connectPeer(server, { auth: 'calm' });
    for (let i = 0; i < 400; i++) flood.send({ type: 'get-rtp-capabilities', requestId: i });
    const limited = await flood.next((m) => m.data?.code === 'rate-limited', 5000, 'a rate-limited error');
    assert.match(limited.data.message, /at most 20 per second/);
    const t0 = performance.now();
    assert.equal((await calm.request('get-rtp-capabilities', {})).type, 'rtp-capabilities');
    assert.ok(performance.now() - t0 < 1000);
    assert.equal((await flood.closedWithin(5000)).code, 4008);
    const ok = flood.queue.filter((m) => m.type === 'rtp-capabilities').length;
    assert.ok(ok >= 20 && ok < 60, `${ok} requests served`);
    await calm.close();
  });
});

test('limits.maxPublishersPerRoom: one participant more than the limit cannot publish', T, async () => {
  const config = tempConfig({ limits: { maxPublishersPerRoom: 1 } });
  await withServer(['--config', config], async (server) => {
    const a = await connectPeer(server, { auth: 'a', channelId: 'small' });
    const b = await connectPeer(server, { auth: 'b', channelId: 'small' });
    const aSend = await sendTransport(a);
    const bSend = await sendTransport(b);
    assert.equal((await a.request('produce', { transportId: aSend, kind: 'video', rtpParameters: video(6100) })).type, 'producer-id');
    assert.equal((await a.request('produce', { transportId: aSend, kind: 'audio', rtpParameters: audio(6200) })).type, 'producer-id');
    const refused = await b.request('produce', { transportId: bSend, kind: 'audio', rtpParameters: audio(6300) });
    assert.equal(refused.data?.code, 'limit-exceeded', JSON.stringify(refused));
    assert.match(refused.data.message, /maxPublishersPerRoom/);
    // When the publisher leaves, the place is free.
    await a.close();
    await b.nextOfType('participant-left', (m) => m.data.peerId === 'a', 3000);
    assert.equal((await b.request('produce', { transportId: bSend, kind: 'audio', rtpParameters: audio(6301) })).type, 'producer-id',
      'the publisher place is free once the publisher left');
    await b.close();
  });
});
