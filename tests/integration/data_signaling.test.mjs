// Data channel signaling against the real binary, in both dialects, without SCTP traffic
// (that is browser_data.test.mjs): sctpCapabilities -> sctpParameters (and the sctp.*
// configuration), produce-data / consume-data and their typed errors, new-data-producer
// (also for a late joiner, and the room's own), data-consumer-closed and
// data-producer-closed cascades, stats.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { runChorus, tempConfig, withServer } from './lib/server.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const SCTP_CAPS = { numStreams: { OS: 1024, MIS: 1024 } };
const ack = (socket, event, data) => socket.timeout(3000).emitWithAck(event, data);

test('JSON dialect: transports with SCTP, produce-data, consume-data, events, errors, close cascade', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'd1' });
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'd1' });
    await alice.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
    await bob.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');

    const plain = await alice.expectReply('create-transport', { direction: 'send' }, 'transport-params');
    assert.equal(plain.data.sctpParameters, undefined, 'no SCTP unless asked');
    const send = await alice.expectReply('create-transport', { direction: 'send', sctpCapabilities: { numStreams: { OS: 16, MIS: 2048 } } }, 'transport-params');
    assert.deepEqual(send.data.sctpParameters, { port: 5000, OS: 1024, MIS: 16, maxMessageSize: 262144 });
    // Nothing about data producers until a peer asks for data channels.
    assert.deepEqual(bob.take((m) => m.type === 'new-data-producer'), []);
    const recv = await bob.expectReply('create-transport', { direction: 'recv', enableSctp: true }, 'transport-params');
    assert.deepEqual(recv.data.sctpParameters, { port: 5000, OS: 1024, MIS: 1024, maxMessageSize: 262144 });
    // Its first transport with SCTP: the room's own data producer is announced to it.
    const own = await bob.nextOfType('new-data-producer', (m) => m.data.label === 'room');
    assert.deepEqual(Object.keys(own.data).sort(), ['dataProducerId', 'label', 'peerId', 'protocol']);
    assert.equal(own.data.peerId, '');

    // Typed errors.
    const sp = { streamId: 1, ordered: true };
    await alice.expectError('produce-data', { transportId: plain.data.id, sctpStreamParameters: sp }, 'invalid-state');
    await alice.expectError('produce-data', { transportId: send.data.id }, 'missing-field');
    await alice.expectError('produce-data', { transportId: send.data.id, sctpStreamParameters: { streamId: 'x' } }, 'invalid-field');
    await alice.expectError('produce-data', { transportId: send.data.id, sctpStreamParameters: { streamId: 70000 } }, 'invalid-field');
    await alice.expectError('produce-data', { transportId: send.data.id, sctpStreamParameters: { streamId: 2, maxRetransmits: 1, maxPacketLifeTime: 100 } }, 'invalid-field');
    await alice.expectError('produce-data', { transportId: send.data.id, sctpStreamParameters: { streamId: 16 } }, 'invalid-field'); // beyond MIS 16
    await alice.expectError('produce-data', { transportId: 'nope', sctpStreamParameters: sp }, 'unknown-transport');
    await bob.expectError('consume-data', { dataProducerId: 'nope' }, 'unknown-producer');
    await bob.expectError('consume-data', {}, 'missing-field');

    // produce-data -> { id }; bob hears new-data-producer.
    const pd = await alice.expectReply('produce-data', { transportId: send.data.id, sctpStreamParameters: { streamId: 1, ordered: false, maxRetransmits: 3 }, label: 'chat', protocol: 'json', appData: { x: 1 } }, 'produce-data');
    assert.deepEqual(Object.keys(pd.data), ['id']);
    await alice.expectError('produce-data', { transportId: send.data.id, sctpStreamParameters: sp }, 'invalid-field'); // stream 1 taken
    const nd = await bob.nextOfType('new-data-producer', (m) => m.data.dataProducerId === pd.data.id);
    assert.deepEqual(nd.data, { dataProducerId: pd.data.id, peerId: 'alice', label: 'chat', protocol: 'json' });

    // consume-data: a stream of bob's transport, the producer's reliability, label, protocol.
    const cd = await bob.expectReply('consume-data', { dataProducerId: pd.data.id }, 'consume-data');
    assert.deepEqual(cd.data, { id: cd.data.id, dataProducerId: pd.data.id,
      sctpStreamParameters: { streamId: 0, ordered: false, maxRetransmits: 3 }, label: 'chat', protocol: 'json', appData: { x: 1 }, peerId: 'alice' });
    const cd2 = await bob.expectReply('consume-data', { dataProducerId: own.data.dataProducerId, transportId: recv.data.id }, 'consume-data');
    assert.equal(cd2.data.sctpStreamParameters.streamId, 1, 'the next free stream');
    assert.equal(cd2.data.label, 'room');

    const cs = await bob.expectReply('get-data-consumer-stats', { dataConsumerId: cd.data.id }, 'get-data-consumer-stats');
    assert.equal(cs.data[0].type, 'data-consumer');
    const ps = await alice.expectReply('get-data-producer-stats', { dataProducerId: pd.data.id }, 'get-data-producer-stats');
    assert.equal(ps.data[0].consumers, 1);
    await bob.expectError('close-data-producer', { dataProducerId: pd.data.id }, 'unknown-producer'); // not bob's
    await alice.expectError('close-data-consumer', { dataConsumerId: cd.data.id }, 'unknown-consumer');

    // A late joiner hears about both data producers with its first SCTP transport.
    const carol = await connectPeer(server, { auth: 'carol', channelId: 'd1' });
    await carol.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
    await carol.expectReply('create-transport', { direction: 'recv', sctpCapabilities: SCTP_CAPS }, 'transport-params');
    await carol.nextOfType('new-data-producer', (m) => m.data.dataProducerId === pd.data.id);
    await carol.nextOfType('new-data-producer', (m) => m.data.label === 'room');

    // close-data-producer: bob's data consumer closes (data-consumer-closed); the others
    // hear data-producer-closed.
    await alice.expectReply('close-data-producer', { dataProducerId: pd.data.id }, 'close-data-producer');
    const cc = await bob.nextOfType('data-consumer-closed');
    assert.deepEqual(cc.data, { dataConsumerId: cd.data.id, dataProducerId: pd.data.id });
    await carol.nextOfType('data-producer-closed', (m) => m.data.dataProducerId === pd.data.id);
    await bob.expectError('get-data-consumer-stats', { dataConsumerId: cd.data.id }, 'unknown-consumer');

    // close-data-consumer; then bob's transport-less request fails.
    await bob.expectReply('close-data-consumer', { dataConsumerId: cd2.data.id }, 'close-data-consumer');
    await bob.expectError('get-data-consumer-stats', { dataConsumerId: cd2.data.id }, 'unknown-consumer');

    // A data producer ends with its peer: data-producer-closed for the others.
    const pd2 = await alice.expectReply('produce-data', { transportId: send.data.id, sctpStreamParameters: { streamId: 3 }, label: 'x' }, 'produce-data');
    const cd3 = await bob.expectReply('consume-data', { dataProducerId: pd2.data.id }, 'consume-data');
    const health = async () => (await httpGet(`${server.url}/healthz`)).json;
    // The counts are the actors' own (each counts itself when it starts, which may come just
    // after the reply under load): awaited, with a bound.
    await pollUntil(async () => {
      const h = await health();
      return h.dataProducers === 2 && h.dataConsumers === 1; // alice's and the room's own; bob's
    }, { timeoutMs: 5000, what: 'two data producers and one data consumer counted' });
    await closeAll(alice);
    await bob.nextOfType('data-consumer-closed', (m) => m.data.dataConsumerId === cd3.data.id);
    await carol.nextOfType('data-producer-closed', (m) => m.data.dataProducerId === pd2.data.id);
    await closeAll(bob, carol);
    await waitForNoPeers(server);
    // Nothing left: the room ended, and with it its own data producer.
    await pollUntil(async () => {
      const x = await health();
      return x.dataProducers === 0 && x.dataConsumers === 0 && x.rooms === 0;
    }, { timeoutMs: 5000, what: 'no data producers or consumers left' });
  });
});

test('roles: a viewer may consume data but not produce it (permission chat); a student may', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const viewer = await connectPeer(server, { auth: 'v1', role: 'viewer', channelId: 'roles' });
    const student = await connectPeer(server, { auth: 's1', role: 'student', channelId: 'roles' });
    const vt = await viewer.expectReply('create-transport', { direction: 'send', sctpCapabilities: SCTP_CAPS }, 'transport-params');
    const e = await viewer.expectError('produce-data', { transportId: vt.data.id, sctpStreamParameters: { streamId: 0 } }, 'forbidden');
    assert.match(e.data.message, /chat/);
    const st = await student.expectReply('create-transport', { direction: 'send', sctpCapabilities: SCTP_CAPS }, 'transport-params');
    const pd = await student.expectReply('produce-data', { transportId: st.data.id, sctpStreamParameters: { streamId: 0 } }, 'produce-data');
    await viewer.nextOfType('new-data-producer', (m) => m.data.dataProducerId === pd.data.id);
    await viewer.expectReply('consume-data', { dataProducerId: pd.data.id, transportId: vt.data.id }, 'consume-data');
    await closeAll(viewer, student);
    await waitForNoPeers(server);
  });
});

test('Socket.IO dialect: the same requests and events, errors in the ack', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const a = await connectSio(server, { transports: ['websocket'] });
    const b = await connectSio(server, { transports: ['websocket'] });
    await ack(a, 'join-mediasoup-room', { roomId: 's1' });
    await ack(b, 'join-mediasoup-room', { roomId: 's1' });
    const t = await ack(a, 'create-webrtc-transport', { roomId: 's1', direction: 'send', sctpCapabilities: SCTP_CAPS });
    assert.deepEqual(t.params.sctpParameters, { port: 5000, OS: 1024, MIS: 1024, maxMessageSize: 262144 });
    const ownEv = nextEvent(b, 'new-data-producer');
    const r = await ack(b, 'create-webrtc-transport', { roomId: 's1', direction: 'recv', sctpCapabilities: SCTP_CAPS });
    assert.equal((await ownEv)[0].label, 'room');

    const bad = await ack(a, 'produce-data', { roomId: 's1', transportId: t.params.id });
    assert.equal(typeof bad.error, 'string');
    const nd = nextEvent(b, 'new-data-producer', { match: (d) => d.label === 'chat' });
    const produced = await ack(a, 'produce-data', { roomId: 's1', transportId: t.params.id, sctpStreamParameters: { streamId: 0, ordered: true }, label: 'chat', protocol: '' });
    assert.deepEqual(Object.keys(produced), ['id']);
    const ev = (await nd)[0];
    assert.equal(ev.dataProducerId, produced.id);
    assert.equal(ev.peerId, a.id);
    const consumed = await ack(b, 'consume-data', { roomId: 's1', dataProducerId: produced.id, transportId: r.params.id });
    assert.equal(consumed.dataProducerId, produced.id);
    assert.deepEqual(consumed.sctpStreamParameters, { streamId: 0, ordered: true });
    const closedEv = nextEvent(b, 'data-consumer-closed');
    assert.deepEqual(await ack(a, 'close-data-producer', { roomId: 's1', dataProducerId: produced.id }), {});
    assert.deepEqual((await closedEv)[0], { dataConsumerId: consumed.id, dataProducerId: produced.id });
    a.close();
    b.close();
    await waitForNoPeers(server);
  });
});

test('sctp.* configuration: maxMessageSize and maxStreams in sctpParameters; bad values refused', { timeout: 30000 }, async () => {
  const cfg = tempConfig(JSON.stringify({ sctp: { maxMessageSize: 65536, maxStreams: 64, sendBufferSize: 131072 } }));
  await withServer(['--config', cfg], async (server) => {
    const c = await connectPeer(server, { auth: 'x', channelId: 'cfg' });
    const t = await c.expectReply('create-transport', { direction: 'send', sctpCapabilities: SCTP_CAPS }, 'transport-params');
    assert.deepEqual(t.data.sctpParameters, { port: 5000, OS: 64, MIS: 64, maxMessageSize: 65536 });
    await closeAll(c);
  });
  for (const [sctp, mention] of [
    [{ maxMessageSize: 10 }, 'sctp.maxMessageSize'],
    [{ maxStreams: 0 }, 'sctp.maxStreams'],
    [{ maxMessageSize: 262144, sendBufferSize: 65536 }, 'sctp.sendBufferSize'],
    [{ bogus: 1 }, 'sctp.bogus'],
  ]) {
    const r = await runChorus(['--config', tempConfig(JSON.stringify({ sctp }))], { timeoutMs: 5000 });
    assert.notEqual(r.code, 0, JSON.stringify(sctp));
    assert.ok(r.stderr.includes(mention), `${JSON.stringify(sctp)}: ${r.stderr}`);
  }
});
