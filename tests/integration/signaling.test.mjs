// The plain WebSocket JSON dialect (seed 001, docs/protocol.md) against the real binary:
// health check, RTP capabilities loaded by a stock mediasoup-client, room membership and its
// events, requestId echo, connection replacement, and a clean shutdown on SIGTERM.
//
// Each test starts its own server on a free loopback port and stops it by its PID.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadDevice } from './lib/device.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { startServer, withServer } from './lib/server.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';
import { closeAll, connectPeer, isEvent, nextParticipantList, participantIds } from './lib/ws_client.mjs';

const T = { timeout: 30000 };

// mediasoup's WebRtcTransport parameters, as mediasoup-client's createSendTransport takes them.
// `signalingPort`: the server's, where a passive ICE-TCP candidate also waits
// (rtc.tcpOnSignalingPort), after the transport's own.
function assertTransportParams(p, signalingPort) {
  assert.equal(typeof p.id, 'string');
  assert.match(p.iceParameters?.usernameFragment ?? '', /^[a-z0-9]{16}$/);
  assert.match(p.iceParameters?.password ?? '', /^[a-z0-9]{32}$/);
  assert.equal(p.iceParameters.iceLite, true);
  const onSignaling = p.iceCandidates.filter((c) => c.port === signalingPort);
  assert.equal(onSignaling.length, 1, `one candidate on the signaling port: ${JSON.stringify(p.iceCandidates)}`);
  assert.equal(onSignaling[0].protocol, 'tcp');
  assert.equal(onSignaling[0].tcpType, 'passive');
  const own = p.iceCandidates.filter((c) => c.port !== signalingPort);
  assert.equal(own.length, 2, JSON.stringify(p.iceCandidates));
  const byProtocol = Object.fromEntries(own.map((c) => [c.protocol, c]));
  assert.ok(byProtocol.tcp.priority > onSignaling[0].priority, 'the transport\'s own port first');
  for (const proto of ['udp', 'tcp']) {
    const c = byProtocol[proto];
    assert.ok(c, `a ${proto} candidate: ${JSON.stringify(p.iceCandidates)}`);
    assert.equal(c.type, 'host');
    assert.equal(c.address, '127.0.0.1');
    assert.ok(c.port >= 40000 && c.port <= 49999, `port ${c.port} in the default range`);
    assert.ok(Number.isInteger(c.priority) && c.priority > 0);
    assert.equal(typeof c.foundation, 'string');
  }
  assert.equal(byProtocol.tcp.tcpType, 'passive');
  assert.ok(byProtocol.udp.priority > byProtocol.tcp.priority, 'UDP preferred');
  assert.equal(p.dtlsParameters.role, 'auto');
  const algs = p.dtlsParameters.fingerprints.map((f) => f.algorithm).sort();
  assert.deepEqual(algs, ['sha-256', 'sha-384', 'sha-512']);
  const sha256 = p.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  assert.match(sha256.value, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
}

const outcome = (m) => (m.type === 'error' ? `error:${m.data?.code}` : m.type);

function assertParticipant(p) {
  assert.equal(typeof p.id, 'string', `participant id: ${JSON.stringify(p)}`);
  assert.ok(p.id.length > 0);
  assert.equal(typeof p.name, 'string', `participant name: ${JSON.stringify(p)}`);
  assert.equal(typeof p.isAudioMuted, 'boolean', `participant isAudioMuted: ${JSON.stringify(p)}`);
  assert.equal(typeof p.isVideoPaused, 'boolean', `participant isVideoPaused: ${JSON.stringify(p)}`);
}

// After a round trip on `client`, nothing matching `predicate` may be queued: events the
// server sent before the reply have arrived by then.
async function assertNoneQueued(client, predicate, what) {
  await client.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
  const found = client.take(predicate);
  assert.deepEqual(found, [], `${client.label} got unexpected ${what}`);
}

test('GET /healthz answers 200 with status ok', T, async () => {
  await withServer([], async (server) => {
    const res = await httpGet(`${server.url}/healthz`);
    assert.equal(res.status, 200, res.body);
    assert.match(String(res.headers['content-type']), /json/);
    assert.equal(res.json?.status, 'ok', res.body);
  });
});

test('GET / serves the page', T, async () => {
  await withServer([], async (server) => {
    const res = await httpGet(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /<html/i);
    const missing = await httpGet(`${server.url}/no-such-page`);
    assert.equal(missing.status, 404);
  });
});

test('get-rtp-capabilities replies rtp-capabilities that mediasoup-client loads', T, async () => {
  await withServer([], async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'room1' });
    const reply = await alice.request('get-rtp-capabilities', undefined, 2000, { requestId: 1 });
    assert.equal(reply.type, 'rtp-capabilities', JSON.stringify(reply));
    assert.equal(reply.requestId, 1);
    const caps = reply.data;
    assert.ok(Array.isArray(caps?.codecs) && caps.codecs.length > 0, 'codecs');
    assert.ok(Array.isArray(caps?.headerExtensions), 'headerExtensions');
    for (const c of caps.codecs) {
      assert.ok(['audio', 'video'].includes(c.kind), JSON.stringify(c));
      assert.equal(typeof c.mimeType, 'string');
      assert.ok(Number.isInteger(c.preferredPayloadType), JSON.stringify(c));
      assert.ok(Number.isInteger(c.clockRate), JSON.stringify(c));
    }

    const device = await loadDevice(caps);
    assert.equal(device.loaded, true);
    assert.equal(device.canProduce('audio'), true, 'canProduce(audio)');
    assert.equal(device.canProduce('video'), true, 'canProduce(video)');
    assert.ok(device.rtpCapabilities.codecs.length > 0);

    // Before joining (seed 004's order): the capabilities are served too, and are the same.
    const carol = await connectPeer(server, { auth: 'carol' });
    const again = await carol.expectReply('get-rtp-capabilities', { roomId: 'room2' }, 'rtp-capabilities');
    assert.deepEqual(again.data, caps);
    await closeAll(alice, carol);
  });
});

test('peers of a room see each other in participant-list-update, and who left', T, async () => {
  await withServer([], async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'room1' });
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    const seenByAlice = await nextParticipantList(alice, ['alice', 'bob']);
    const seenByBob = await nextParticipantList(bob, ['alice', 'bob']);
    for (const m of [seenByAlice, seenByBob]) {
      assert.equal(m.requestId, undefined, 'events carry no requestId');
      m.data.forEach(assertParticipant);
    }
    // The display name defaults to the peer id.
    assert.deepEqual(
      seenByBob.data.map((p) => [p.id, p.name]).sort(),
      [
        ['alice', 'alice'],
        ['bob', 'bob'],
      ],
    );

    // A peer in another room is not listed here.
    const dave = await connectPeer(server, { auth: 'dave', channelId: 'room-other' });
    await nextParticipantList(dave, ['dave']);

    await alice.close();
    const left = await bob.nextOfType('participant-left');
    assert.deepEqual(left.data, { peerId: 'alice' });
    await nextParticipantList(bob, ['bob']);
    await assertNoneQueued(dave, (m) => isEvent(m), 'events of another room');
    await closeAll(bob, dave);
    await waitForNoPeers(server);
  });
});

test('join-mediasoup-room without channelId joins the named room', T, async () => {
  await withServer([], async (server) => {
    const carol = await connectPeer(server, { auth: 'carol' });
    const reply = await carol.request('join-mediasoup-room', { roomId: 'room2', name: 'Carol' });
    assert.equal(reply.type, 'join-mediasoup-room', JSON.stringify(reply));
    assert.deepEqual(reply.data, { existingProducers: [] });
    const list = await carol.next(
      (m) => m.type === 'participant-list-update' && m.data?.some?.((p) => p.id === 'carol' && p.name === 'Carol'),
      2000,
      "participant-list-update listing carol as 'Carol'",
    );
    list.data.forEach(assertParticipant);
    assert.deepEqual(participantIds(list), ['carol']);

    // A second peer of room2 sees Carol by her name.
    const erin = await connectPeer(server, { auth: 'erin', channelId: 'room2' });
    const seen = await nextParticipantList(erin, ['carol', 'erin']);
    assert.equal(seen.data.find((p) => p.id === 'carol').name, 'Carol');

    // One room per connection.
    await carol.expectError('join-mediasoup-room', { roomId: 'room3' }, 'already-joined');
    // With channelId, naming another room is already-joined too.
    await erin.expectError('join-mediasoup-room', { roomId: 'room3' }, 'already-joined');
    await closeAll(carol, erin);
  });
});

test('requestId is echoed verbatim, string or number, in replies and errors', T, async () => {
  await withServer([], async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'room1' });
    for (const id of ['abc', 'with "quotes" and \\ and ü', '', 7, 0, -3, 4294967296, 1.5]) {
      const reply = await alice.request('get-rtp-capabilities', undefined, 2000, { requestId: id });
      assert.equal(reply.type, 'rtp-capabilities');
      assert.ok(Object.is(reply.requestId, id), `requestId ${JSON.stringify(id)} came back as ${JSON.stringify(reply.requestId)}`);
      const err = await alice.request('no-such-request', undefined, 2000, { requestId: id });
      assert.equal(err.type, 'error');
      assert.equal(err.data.code, 'unknown-type');
      assert.equal(err.data.request, 'no-such-request');
      assert.equal(typeof err.data.message, 'string');
      assert.ok(Object.is(err.requestId, id), `error requestId ${JSON.stringify(id)} came back as ${JSON.stringify(err.requestId)}`);
    }
    // Without a requestId, the reply has none.
    alice.send({ type: 'get-rtp-capabilities' });
    const bare = await alice.nextOfType('rtp-capabilities');
    assert.equal('requestId' in bare, false, 'reply to a request without requestId');
    await alice.close();
  });
});

test('a second connection with the same peer id is refused without a token (4004) and replaces the first with one (4001)', T, async () => {
  await withServer([], async (server) => {
    const first = await connectPeer(server, { auth: 'alice', channelId: 'room1' }, { label: 'alice#1' });
    await nextParticipantList(first, ['alice']);
    const second = await connectPeer(server, { auth: 'alice', channelId: 'room1' }, { label: 'alice#2' });
    assert.equal((await second.closedWithin(2000)).code, 4004);
    await first.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    await closeAll(first);
  });
  await withServer(jwtArgs(), async (server) => {
    const token = (sub) => sign({ sub, room: '*' });
    const alice1 = await connectPeer(server, { token: token('alice'), channelId: 'room1' }, { label: 'alice#1' });
    const bob = await connectPeer(server, { token: token('bob'), channelId: 'room1' });
    await nextParticipantList(bob, ['alice', 'bob']);
    await nextParticipantList(alice1, ['alice', 'bob']);
    bob.take(() => true);

    const alice2 = await connectPeer(server, { token: token('alice'), channelId: 'room1' }, { label: 'alice#2' });
    const { code } = await alice1.closedWithin(2000);
    assert.equal(code, 4001, 'the replaced connection is closed with 4001');

    // Bob gets a fresh list, alice in it once; no participant-left.
    const list = await nextParticipantList(bob, ['alice', 'bob']);
    list.data.forEach(assertParticipant);
    await nextParticipantList(alice2, ['alice', 'bob']);
    await assertNoneQueued(
      bob,
      (m) => m.type === 'participant-left' || (m.type === 'participant-list-update' && !participantIds(m).includes('alice')),
      'participant-left, or a list without alice, for a replaced connection',
    );

    // The new connection works.
    await alice2.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    await closeAll(alice2, bob);
    await waitForNoPeers(server);
  });
});

test('a connection without auth gets a random peer id', T, async () => {
  await withServer([], async (server) => {
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    await nextParticipantList(bob, ['bob']);
    const anon1 = await connectPeer(server, { channelId: 'room1' }, { label: 'anon1' });
    const list1 = await anon1.next((m) => m.type === 'participant-list-update' && m.data?.length === 2, 2000, 'list of 2');
    const id1 = participantIds(list1).find((id) => id !== 'bob');
    assert.ok(typeof id1 === 'string' && id1.length > 0, JSON.stringify(list1));
    assert.deepEqual(participantIds(await nextParticipantList(bob, ['bob', id1])), ['bob', id1].sort());

    const anon2 = await connectPeer(server, { channelId: 'room1' }, { label: 'anon2' });
    const list2 = await anon2.next((m) => m.type === 'participant-list-update' && m.data?.length === 3, 2000, 'list of 3');
    const ids = participantIds(list2);
    assert.equal(new Set(ids).size, 3, `three distinct ids: ${ids}`);
    assert.ok(ids.includes('bob') && ids.includes(id1));
    // anon1 is still connected: a random id never collides into a replacement.
    assert.equal(anon1.isOpen, true);
    await closeAll(bob, anon1, anon2);
  });
});

test('create-transport: mediasoup-shaped transport parameters', T, async () => {
  await withServer([], async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'room1' });
    const reply = await alice.request('create-transport', { direction: 'send' });
    assert.equal(reply.type, 'transport-params', `create-transport answered ${JSON.stringify(reply)}`);
    assertTransportParams(reply.data, server.port);
    // Seed 004's name: the same outcome, under its own reply name.
    const reply004 = await alice.request('create-webrtc-transport', { roomId: 'room1', direction: 'recv' });
    assert.equal(reply004.type, 'create-webrtc-transport', `create-webrtc-transport answered ${JSON.stringify(reply004)}`);
    assertTransportParams(reply004.data.params, server.port);
    assert.notEqual(reply004.data.params.id, reply.data.id);

    // restart-ice: fresh credentials for that transport.
    const restarted = await alice.request('restart-ice', { transportId: reply.data.id });
    assert.equal(restarted.type, 'restart-ice');
    assert.match(restarted.data.iceParameters.usernameFragment, /^[a-z0-9]{16}$/);
    assert.notEqual(restarted.data.iceParameters.usernameFragment, reply.data.iceParameters.usernameFragment);
    assert.notEqual(restarted.data.iceParameters.password, reply.data.iceParameters.password);

    // get-transport-stats before anything connected.
    const stats = await alice.request('get-transport-stats', { transportId: reply.data.id });
    assert.equal(stats.type, 'get-transport-stats');
    assert.equal(stats.data.transportId, reply.data.id);
    assert.equal(stats.data.iceState, 'new');
    assert.equal(stats.data.dtlsState, 'new');

    // connect-transport without an id: ambiguous with two unconnected transports.
    const dtls = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: sha256Of(1) }] };
    const ambiguous = await alice.request('connect-transport', { dtlsParameters: dtls });
    assert.equal(outcome(ambiguous), 'error:missing-field');
    const connected = await alice.request('connect-transport', { transportId: reply.data.id, dtlsParameters: dtls });
    assert.equal(connected.type, 'transport-connected');
    const twice = await alice.request('connect-transport', { transportId: reply.data.id, dtlsParameters: dtls });
    assert.equal(outcome(twice), 'error:invalid-state');
    // Now exactly one is unconnected: the id may be omitted (seed 001).
    const implicit = await alice.request('connect-transport', { dtlsParameters: dtls });
    assert.equal(implicit.type, 'transport-connected');
    const none = await alice.request('connect-transport', { dtlsParameters: dtls });
    assert.equal(outcome(none), 'error:unknown-transport');

    // At most 4 transports per peer.
    for (let i = 0; i < 2; i++) assert.equal((await alice.request('create-transport', {})).type, 'transport-params');
    assert.equal(outcome(await alice.request('create-transport', {})), 'error:limit-exceeded');
    await alice.close();
    await waitForNoPeers(server);
  });
});

function sha256Of(seed) {
  return Array.from({ length: 32 }, (_, i) => ((i * 7 + seed) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':');
}

test('SIGTERM: exit code 0 within 2000 ms, clients see close code 1001', T, async () => {
  const server = await startServer([]);
  let clients = [];
  try {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'room1' });
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    const carol = await connectPeer(server, { auth: 'carol' });
    clients = [alice, bob, carol];
    await nextParticipantList(bob, ['alice', 'bob']);

    const result = await server.stop({ timeoutMs: 2000 });
    assert.equal(result.timedOut, false, `still running 2000 ms after SIGTERM\n${server.stderr()}`);
    assert.equal(result.code, 0, `exit code ${result.code} signal ${result.signal}\n${server.stderr()}`);
    assert.ok(result.elapsedMs <= 2000, `exit took ${result.elapsedMs} ms`);
    for (const c of clients) {
      const { code } = await c.closedWithin(2000);
      assert.equal(code, 1001, `${c.label} close code`);
    }
  } finally {
    await server.stop();
    await closeAll(clients);
  }
});
