// The existing frontend's signaling, unchanged: the real socket.io-client 4.x against the
// real binary. Every event of seed 004 with its documented response, every seed 000 alias,
// errors in the ack's `error` field, server events, and disconnect cleanup.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadDevice } from './lib/device.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { audio, video } from './lib/rtp_fixtures.mjs';
import { withServer } from './lib/server.mjs';
import { connectSio, nextEvent, upgradedTo } from './lib/socketio.mjs';

const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };

const ack = (socket, event, data) => socket.timeout(3000).emitWithAck(event, data);

// The payload of the next `event` on `socket` whose payload matches (bounded).
const nextPayload = async (socket, event, match = () => true) => (await nextEvent(socket, event, { match }))[0];

test('seed 004 events with their documented responses, over polling upgraded to websocket', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    // Default transports: the session opens over polling (the handshake is a GET poll) and
    // upgrades to websocket; whether the upgrade completes before 'connect' fires is a race
    // inside the client, so only the end state is asserted.
    const alice = await connectSio(server);
    await upgradedTo(alice.io.engine, 'websocket');
    const bob = await connectSio(server, { transports: ['websocket'] });
    assert.equal(bob.io.engine.transport.name, 'websocket');

    const caps = await ack(alice, 'get-rtp-capabilities', { roomId: 'r1' });
    assert.deepEqual(Object.keys(caps), ['rtpCapabilities']);
    const device = await loadDevice(caps.rtpCapabilities);

    const aliceList = nextPayload(alice, 'participant-list-update', (l) => l.length === 1);
    const joined = await ack(alice, 'join-mediasoup-room', { roomId: 'r1', rtpCapabilities: device.rtpCapabilities });
    assert.deepEqual(joined, { existingProducers: [] });
    const list = await aliceList;
    assert.deepEqual(Object.keys(list[0]).sort(), ['id', 'isAudioMuted', 'isVideoPaused', 'name']);
    assert.equal(list[0].id, alice.id, 'the peer id is the socket id');

    const t = await ack(alice, 'create-webrtc-transport', { roomId: 'r1', direction: 'send' });
    assert.deepEqual(Object.keys(t), ['params']);
    assert.deepEqual(Object.keys(t.params).sort(), ['dtlsParameters', 'iceCandidates', 'iceParameters', 'id']);
    assert.deepEqual(await ack(alice, 'connect-transport', { roomId: 'r1', transportId: t.params.id, dtlsParameters: DTLS }), {});

    await ack(bob, 'join-mediasoup-room', { roomId: 'r1', rtpCapabilities: device.rtpCapabilities });
    const bobRecv = await ack(bob, 'create-webrtc-transport', { roomId: 'r1', direction: 'recv' });
    assert.ok(bobRecv.params.id);

    const np = nextPayload(bob, 'new-producer');
    const produced = await ack(alice, 'produce', { roomId: 'r1', transportId: t.params.id, kind: 'video', rtpParameters: video(5000) });
    assert.deepEqual(Object.keys(produced), ['id']);
    const ev = await np;
    assert.equal(ev.producerId, produced.id);
    assert.equal(ev.peerId, alice.id);

    const consumed = await ack(bob, 'consume', { roomId: 'r1', producerId: produced.id, rtpCapabilities: device.rtpCapabilities });
    for (const k of ['id', 'producerId', 'kind', 'rtpParameters', 'peerId']) assert.ok(k in consumed, k);
    assert.equal(consumed.producerId, produced.id);
    assert.equal(consumed.kind, 'video');
    assert.equal(consumed.peerId, alice.id);
    // resume-consumer has no callback in seed 004: fire and forget, then it must be running.
    bob.emit('resume-consumer', { roomId: 'r1', consumerId: consumed.id });
    const stats = await ack(bob, 'get-consumer-stats', { roomId: 'r1', consumerId: consumed.id });
    assert.equal(stats[0].paused, false, JSON.stringify(stats));

    // The events added by Chorus use the same style.
    // (listeners are attached before the request: the event may overtake alice's ack)
    const pausedEv = nextPayload(bob, 'producer-paused', (p) => p.producerId === produced.id);
    assert.deepEqual(await ack(alice, 'pause-producer', { roomId: 'r1', producerId: produced.id }), {});
    await pausedEv;
    assert.deepEqual(await ack(alice, 'resume-producer', { roomId: 'r1', producerId: produced.id }), {});
    const ice = await ack(alice, 'restart-ice', { roomId: 'r1', transportId: t.params.id });
    assert.ok(ice.iceParameters.usernameFragment);
    const closedEv = nextPayload(bob, 'consumer-closed', (c) => c.consumerId === consumed.id);
    assert.deepEqual(await ack(alice, 'close-producer', { roomId: 'r1', producerId: produced.id }), {});
    await closedEv;

    // Errors arrive in the ack's `error` field.
    const e1 = await ack(bob, 'consume', { roomId: 'r1', producerId: 'nope', rtpCapabilities: device.rtpCapabilities });
    assert.equal(typeof e1.error, 'string');
    assert.match(e1.error, /nope/);
    const e2 = await ack(bob, 'connect-transport', { roomId: 'r1', transportId: 'nope', dtlsParameters: DTLS });
    assert.equal(typeof e2.error, 'string');
    const e3 = await ack(bob, 'produce', { roomId: 'r1', transportId: bobRecv.params.id, kind: 'video', rtpParameters: { codecs: 5 } });
    assert.equal(typeof e3.error, 'string');
    const e4 = await ack(bob, 'no-such-event', {});
    assert.equal(typeof e4.error, 'string');

    // Disconnect cleanup: bob sees alice leave (socket.io-client forgets the id on disconnect).
    const aliceId = alice.id;
    const left = nextPayload(bob, 'participant-left', (p) => p.peerId === aliceId);
    alice.disconnect();
    await left;
    bob.disconnect();
    await waitForNoPeers(server);
  });
});

test('seed 000 aliases', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const a = await connectSio(server);
    const b = await connectSio(server, { transports: ['websocket'] });
    // Over Socket.IO the seed 000 names answer with seed 000's shapes: the capabilities and
    // the transport parameters unwrapped (docs/protocol.md, "Socket.IO dialect").
    const caps = await ack(a, 'getRouterRtpCapabilities', { roomId: 'r0' });
    assert.equal(caps.rtpCapabilities, undefined, 'unwrapped');
    assert.ok(Array.isArray(caps.codecs) && caps.codecs.length > 0, JSON.stringify(caps).slice(0, 200));
    assert.ok(Array.isArray(caps.headerExtensions), JSON.stringify(caps).slice(0, 200));
    const device = await loadDevice(caps);
    await ack(a, 'join-mediasoup-room', { roomId: 'r0', rtpCapabilities: device.rtpCapabilities });
    await ack(b, 'join-mediasoup-room', { roomId: 'r0', rtpCapabilities: device.rtpCapabilities });

    const TRANSPORT_KEYS = ['dtlsParameters', 'iceCandidates', 'iceParameters', 'id'];
    const sendParams = await ack(a, 'createWebRtcTransport', { roomId: 'r0', direction: 'send' });
    assert.deepEqual(Object.keys(sendParams).sort(), TRANSPORT_KEYS, JSON.stringify(sendParams));
    assert.ok(sendParams.id, JSON.stringify(sendParams));
    assert.deepEqual(await ack(a, 'connectTransport', { roomId: 'r0', transportId: sendParams.id, dtlsParameters: DTLS }), {});
    const p = await ack(a, 'produce', { roomId: 'r0', transportId: sendParams.id, kind: 'audio', rtpParameters: audio(7000) });
    // A client that speaks seed 000's names reads the new producer's id as producerId.
    assert.deepEqual(p, { id: p.id, producerId: p.id }, JSON.stringify(p));

    const recvParams = await ack(b, 'create-consumer-transport', { roomId: 'r0' });
    assert.deepEqual(Object.keys(recvParams).sort(), TRANSPORT_KEYS, JSON.stringify(recvParams));
    assert.notEqual(recvParams.id, sendParams.id);
    assert.deepEqual(await ack(b, 'connect-consumer-transport', { roomId: 'r0', transportId: recvParams.id, dtlsParameters: DTLS }), {});
    // consume-media without producerId: the oldest producer of another peer.
    const m = await ack(b, 'consume-media', { roomId: 'r0', rtpCapabilities: device.rtpCapabilities });
    assert.equal(m.producerId, p.id, JSON.stringify(m));
    assert.ok(m.id && m.kind === 'audio' && m.rtpParameters);
    assert.deepEqual(await ack(b, 'unpauseConsumer', { roomId: 'r0', consumerId: m.id }), {});
    a.disconnect();
    b.disconnect();
    await waitForNoPeers(server);
  });
});

// The room a connection is in, read from the participant list it receives: the ids.
const listIds = (list) => list.map((p) => p.id).sort();

test('seed 000 without any join: implicit join into the default room, consume-media one producer at a time', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const a = await connectSio(server);
    const b = await connectSio(server, { transports: ['websocket'] });
    const caps = await ack(a, 'getRouterRtpCapabilities');
    const device = await loadDevice(caps);
    // a's first request that needs a room joins it into "default".
    const aList = nextPayload(a, 'participant-list-update', (l) => l.length === 1);
    const send = await ack(a, 'createWebRtcTransport', { direction: 'send' });
    assert.ok(send.id && send.iceParameters && send.dtlsParameters, JSON.stringify(send));
    assert.deepEqual(listIds(await aList), [a.id]);
    assert.deepEqual(await ack(a, 'connectTransport', { dtlsParameters: DTLS }), {});
    const pa = await ack(a, 'produce', { kind: 'audio', rtpParameters: audio(7100) });
    const pv = await ack(a, 'produce', { kind: 'video', rtpParameters: video(7200) });
    assert.deepEqual(pa, { id: pa.id, producerId: pa.id });
    assert.deepEqual(pv, { id: pv.id, producerId: pv.id });

    // b joins the same room with its first such request, and both see each other.
    const both = (l) => l.length === 2;
    const aBoth = nextPayload(a, 'participant-list-update', both);
    const bBoth = nextPayload(b, 'participant-list-update', both);
    const recv = await ack(b, 'create-consumer-transport');
    assert.ok(recv.id && recv.iceCandidates.length > 0, JSON.stringify(recv));
    assert.deepEqual(listIds(await aBoth), [a.id, b.id].sort());
    assert.deepEqual(listIds(await bBoth), [a.id, b.id].sort());
    assert.deepEqual(await ack(b, 'connect-consumer-transport', { dtlsParameters: DTLS }), {});

    // consume-media without producerId, twice at once: each gets another producer.
    const got = await Promise.all([1, 2].map(() => ack(b, 'consume-media', { rtpCapabilities: device.rtpCapabilities })));
    for (const m of got) assert.deepEqual(Object.keys(m).slice(0, 4), ['id', 'producerId', 'kind', 'rtpParameters'], JSON.stringify(m));
    assert.deepEqual(got.map((m) => m.producerId).sort(), [pa.id, pv.id].sort());
    assert.deepEqual(got.map((m) => m.kind).sort(), ['audio', 'video']);
    // Nothing left: a clear error at once, with its own code.
    const none = await ack(b, 'consume-media', { rtpCapabilities: device.rtpCapabilities });
    assert.equal(none.code, 'nothing-to-consume', JSON.stringify(none));
    assert.match(none.error, /no producer left/);

    // The consumers start paused; unpauseConsumer resumes (by id, and without one: those
    // still waiting for their first resume).
    const paused = async (id) => (await ack(b, 'get-consumer-stats', { consumerId: id }))[0].paused;
    assert.equal(await paused(got[0].id), true);
    assert.equal(await paused(got[1].id), true);
    assert.deepEqual(await ack(b, 'unpauseConsumer', { consumerId: got[0].id }), {});
    assert.equal(await paused(got[0].id), false);
    assert.equal(await paused(got[1].id), true);
    assert.deepEqual(await ack(b, 'unpauseConsumer'), {});
    assert.equal(await paused(got[1].id), false);

    // A new producer is the next one to consume.
    const np = nextPayload(b, 'new-producer');
    const pa2 = await ack(a, 'produce', { kind: 'audio', rtpParameters: audio(7300) });
    assert.equal((await np).producerId, pa2.id);
    const m3 = await ack(b, 'consume-media', { rtpCapabilities: device.rtpCapabilities });
    assert.equal(m3.producerId, pa2.id);

    // An explicit join into another room after the implicit one is refused; into the same
    // room it is accepted as today (an update).
    const other = await ack(a, 'join-mediasoup-room', { roomId: 'elsewhere', rtpCapabilities: device.rtpCapabilities });
    assert.equal(other.code, 'already-joined', JSON.stringify(other));
    assert.match(other.error, /implicitly/);
    const same = await ack(b, 'join-mediasoup-room', { roomId: 'default', rtpCapabilities: device.rtpCapabilities });
    assert.deepEqual(same.existingProducers.sort(), [pa.id, pv.id, pa2.id].sort());
    const health = (await httpGet(`${server.url}/healthz`)).json;
    assert.equal(health.rooms, 1);
    assert.equal(health.peers, 2);

    const left = nextPayload(b, 'participant-left');
    const aId = a.id; // socket.io-client forgets it on disconnect
    a.disconnect();
    assert.equal((await left).peerId, aId);
    b.disconnect();
    await waitForNoPeers(server);
  });
});

test('consume-media without producerId skips producers the capabilities cannot receive', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const a = await connectSio(server);
    const b = await connectSio(server);
    const device = await loadDevice(await ack(a, 'getRouterRtpCapabilities'));
    await ack(a, 'createWebRtcTransport', { direction: 'send' });
    await ack(a, 'connectTransport', { dtlsParameters: DTLS });
    // The older producer is video, which an audio-only receiver cannot take.
    const pv = await ack(a, 'produce', { kind: 'video', rtpParameters: video(7600) });
    const pa = await ack(a, 'produce', { kind: 'audio', rtpParameters: audio(7700) });
    await ack(b, 'create-consumer-transport');
    const audioOnly = { ...device.rtpCapabilities, codecs: device.rtpCapabilities.codecs.filter((c) => c.kind === 'audio') };
    const m = await ack(b, 'consume-media', { rtpCapabilities: audioOnly });
    assert.equal(m.producerId, pa.id, JSON.stringify(m).slice(0, 300));
    const none = await ack(b, 'consume-media', { rtpCapabilities: audioOnly });
    assert.equal(none.code, 'nothing-to-consume', JSON.stringify(none));
    // With video in its capabilities, the video producer is the next one.
    const v = await ack(b, 'consume-media', { rtpCapabilities: device.rtpCapabilities });
    assert.equal(v.producerId, pv.id);
    a.disconnect();
    b.disconnect();
    await waitForNoPeers(server);
  });
});

test('the Engine.IO handshake\'s name is the participant\'s display name', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const s = await connectSio(server, { query: { name: 'Grace' } });
    const list = nextPayload(s, 'participant-list-update', (l) => l.length === 1);
    await ack(s, 'create-consumer-transport');
    assert.equal((await list)[0].name, 'Grace');
    s.disconnect();
    await waitForNoPeers(server);
  });
});

test('implicit join: the request\'s roomId, else the handshake\'s (query or auth), else the default room', { timeout: 60000 }, async () => {
  await withServer(['--default-room', 'lobby'], async (server) => {
    const q = await connectSio(server, { query: { roomId: 'class-7' } });
    const au = await connectSio(server, { auth: { roomId: 'class-7', name: 'Ada' } });
    const ch = await connectSio(server, { query: { channelId: 'class-8' } });
    const named = await connectSio(server, { query: { roomId: 'class-7' } });
    const plain = await connectSio(server);
    const joinedList = (s, n) => nextPayload(s, 'participant-list-update', (l) => l.length === n);

    let list = joinedList(q, 1);
    await ack(q, 'createWebRtcTransport', { direction: 'send' });
    assert.deepEqual(listIds(await list), [q.id]);
    list = joinedList(q, 2);
    await ack(au, 'createWebRtcTransport', { direction: 'send' });
    const l2 = await list;
    assert.deepEqual(listIds(l2), [q.id, au.id].sort());
    assert.equal(l2.find((p) => p.id === au.id).name, 'Ada', 'the name from the auth payload');

    list = joinedList(ch, 1);
    await ack(ch, 'createWebRtcTransport', { direction: 'send' });
    assert.deepEqual(listIds(await list), [ch.id], 'channelId in the query names the room');

    // The request's roomId wins over the handshake's.
    list = joinedList(named, 1);
    await ack(named, 'createWebRtcTransport', { roomId: 'own-room', direction: 'send' });
    assert.deepEqual(listIds(await list), [named.id]);
    const wrong = await ack(named, 'createWebRtcTransport', { roomId: 'class-7', direction: 'recv' });
    assert.equal(wrong.code, 'wrong-room', JSON.stringify(wrong));

    list = joinedList(plain, 1);
    await ack(plain, 'create-consumer-transport');
    assert.deepEqual(listIds(await list), [plain.id], 'the configured default room');
    assert.equal((await httpGet(`${server.url}/healthz`)).json.rooms, 4);

    for (const s of [q, au, ch, named, plain]) s.disconnect();
    await waitForNoPeers(server);
  });
});

test('an invalid roomId in the handshake is refused', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    await assert.rejects(connectSio(server, { auth: { roomId: 42 } }), /Invalid payload/);
    await assert.rejects(connectSio(server, { query: { roomId: 'a'.repeat(129) } }));
    await waitForNoPeers(server);
  });
});
