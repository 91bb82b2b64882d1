// The seed 004 frontend's extended events over Socket.IO with the real
// socket.io-client: identity (set-user-id, userId/userName/userImageUrl/isCreator), the
// extended participant list, who and what in new-producer and the consume ack, screen
// shares, producer-closed before participant-left, the replaced microphone, own state.
// A plain seed 004 client in the same room keeps seed 004's shapes.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadDevice } from './lib/device.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { audio, video } from './lib/rtp_fixtures.mjs';
import { withServer } from './lib/server.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';

const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('CD').join(':') }] };
const ROOM = 'frontend-room';
const ack = (socket, event, data) => socket.timeout(3000).emitWithAck(event, data);
const nextPayload = async (socket, event, match = () => true) => (await nextEvent(socket, event, { match }))[0];
const LIST_KEYS = ['audioLocked', 'id', 'imageUrl', 'isAudioMuted', 'isCoHost', 'isHost', 'isVideoPaused', 'name', 'screenShareLocked'];

// Records every event a socket receives, in order.
function recorder(socket) {
  const seen = [];
  socket.onAny((name, data) => seen.push({ name, data }));
  return seen;
}

async function sendTransport(socket) {
  const t = await ack(socket, 'create-webrtc-transport', { roomId: ROOM, direction: 'send' });
  assert.deepEqual(await ack(socket, 'connect-transport', { roomId: ROOM, transportId: t.params.id, dtlsParameters: DTLS }), {});
  return t.params.id;
}

test('identity, extended list, producers with who and what, leaving announced', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const alice = await connectSio(server, { transports: ['websocket'] });
    const bob = await connectSio(server, { transports: ['websocket'] });
    const carol = await connectSio(server, { transports: ['websocket'] }); // plain seed 004
    const caps = (await ack(alice, 'get-rtp-capabilities', { roomId: ROOM })).rtpCapabilities;
    const device = await loadDevice(caps);
    const rtpCapabilities = device.rtpCapabilities;

    // 1. Identity: set-user-id (a bare string) first, then the join with the frontend's fields.
    assert.deepEqual(await ack(alice, 'set-user-id', 'user_alice'), {});
    const aliceList = nextPayload(alice, 'participant-list-update', (l) => l.length === 1);
    const aj = await ack(alice, 'join-mediasoup-room', { roomId: ROOM, rtpCapabilities, userId: 'user_alice', userName: 'Alice', userImageUrl: 'https://img.example/a.png', isCreator: true });
    assert.deepEqual(aj, { success: true, existingProducers: [], isHost: true, isCoHost: false });
    const l1 = await aliceList;
    assert.deepEqual(Object.keys(l1[0]).sort(), LIST_KEYS);
    assert.deepEqual(l1[0], { id: 'user_alice', name: 'Alice', imageUrl: 'https://img.example/a.png', isHost: true, isCoHost: false, isAudioMuted: true, isVideoPaused: true, audioLocked: false, screenShareLocked: false });

    // A second creator is not the host; the list reaches the whole room, the joiner too.
    const bobList = nextPayload(bob, 'participant-list-update', (l) => l.length === 2);
    const aliceList2 = nextPayload(alice, 'participant-list-update', (l) => l.length === 2);
    const bj = await ack(bob, 'join-mediasoup-room', { roomId: ROOM, rtpCapabilities, userId: 'user_bob', userName: 'Bob', isCreator: true });
    assert.deepEqual(bj, { success: true, existingProducers: [], isHost: false, isCoHost: false });
    for (const list of [await bobList, await aliceList2]) {
      assert.deepEqual(list.map((p) => [p.id, p.name, p.isHost]), [['user_alice', 'Alice', true], ['user_bob', 'Bob', false]]);
    }
    // A plain seed 004 client sees seed 004's list: socket ids, four fields.
    const carolList = nextPayload(carol, 'participant-list-update', (l) => l.length === 3);
    assert.deepEqual(await ack(carol, 'join-mediasoup-room', { roomId: ROOM, rtpCapabilities }), { existingProducers: [] });
    const cl = await carolList;
    assert.deepEqual(Object.keys(cl[0]).sort(), ['id', 'isAudioMuted', 'isVideoPaused', 'name']);
    assert.deepEqual(cl.map((p) => p.id), [alice.id, bob.id, carol.id]);

    // get-socket-id-for-user
    assert.deepEqual(await ack(alice, 'get-socket-id-for-user', { userId: 'user_bob' }), { socketId: bob.id });
    assert.deepEqual(await ack(alice, 'get-socket-id-for-user', { userId: carol.id }), { socketId: carol.id });
    const nobody = await ack(alice, 'get-socket-id-for-user', { userId: 'user_nobody' });
    assert.equal(nobody.code, 'unknown-user', JSON.stringify(nobody));

    // 2. Producers carry who and what: camera, microphone and a screen share.
    const aliceSeen = recorder(alice);
    const bobSeen = recorder(bob);
    const carolSeen = recorder(carol);
    const sendId = await sendTransport(alice);
    const mic = await ack(alice, 'produce', { roomId: ROOM, transportId: sendId, kind: 'audio', rtpParameters: audio(9100) });
    const cam = await ack(alice, 'produce', { roomId: ROOM, transportId: sendId, kind: 'video', rtpParameters: video(9200) });
    const npShare = nextPayload(bob, 'new-producer', (p) => p.isScreenShare);
    const carolNp = nextPayload(carol, 'new-producer', (p) => p.kind === 'video' && p.producerId !== cam.id);
    const share = await ack(alice, 'produce', { roomId: ROOM, transportId: sendId, kind: 'video', rtpParameters: video(9300), appData: { share: true } });
    assert.deepEqual(await npShare, { producerId: share.id, peerId: alice.id, userId: 'user_alice', userName: 'Alice', kind: 'video', isScreenShare: true });
    assert.equal((await carolNp).producerId, share.id);
    const bobNew = bobSeen.filter((e) => e.name === 'new-producer').map((e) => e.data);
    assert.deepEqual(bobNew, [
      { producerId: mic.id, peerId: alice.id, userId: 'user_alice', userName: 'Alice', kind: 'audio', isScreenShare: false },
      { producerId: cam.id, peerId: alice.id, userId: 'user_alice', userName: 'Alice', kind: 'video', isScreenShare: false },
      { producerId: share.id, peerId: alice.id, userId: 'user_alice', userName: 'Alice', kind: 'video', isScreenShare: true },
    ]);
    assert.deepEqual(carolSeen.filter((e) => e.name === 'new-producer').map((e) => e.data),
      [mic, cam, share].map((p, i) => ({ producerId: p.id, peerId: alice.id, kind: i === 0 ? 'audio' : 'video' })));
    assert.deepEqual(aliceSeen.filter((e) => e.name === 'new-producer'), [], 'never to the producer itself');

    // The consume ack names the producer's user and whether it is a screen share.
    const recv = await ack(bob, 'create-webrtc-transport', { roomId: ROOM, direction: 'recv' });
    await ack(bob, 'connect-transport', { roomId: ROOM, transportId: recv.params.id, dtlsParameters: DTLS });
    const cs = await ack(bob, 'consume', { roomId: ROOM, producerId: share.id, transportId: recv.params.id, rtpCapabilities });
    assert.equal(cs.userId, 'user_alice');
    assert.equal(cs.userName, 'Alice');
    assert.equal(cs.producerSocketId, alice.id);
    assert.equal(cs.isScreenShare, true);
    assert.deepEqual(cs.appData, { share: true });
    const cc = await ack(bob, 'consume', { roomId: ROOM, producerId: cam.id, transportId: recv.params.id, rtpCapabilities });
    assert.equal(cc.isScreenShare, false);
    assert.deepEqual(cc.appData, {});
    const carolRecv = await ack(carol, 'create-webrtc-transport', { roomId: ROOM, direction: 'recv' });
    const plain = await ack(carol, 'consume', { roomId: ROOM, producerId: cam.id, transportId: carolRecv.params.id, rtpCapabilities });
    assert.equal(plain.userId, undefined, 'seed 004 clients keep seed 004\'s consume reply');

    // 3. Stopping the share: producer-closed with who and what, to the others.
    const closedShare = nextPayload(bob, 'producer-closed', (p) => p.producerId === share.id);
    const consumerGone = nextPayload(bob, 'consumer-closed', (p) => p.producerId === share.id);
    const carolClosed = nextPayload(carol, 'producer-closed', (p) => p.producerId === share.id);
    assert.deepEqual(await ack(alice, 'screen-share-stopped', { roomId: ROOM, userId: 'user_alice', producerId: share.id }), {});
    assert.deepEqual(await closedShare, { producerId: share.id, peerId: alice.id, userId: 'user_alice', kind: 'video', isScreenShare: true });
    await consumerGone;
    assert.deepEqual(await carolClosed, { producerId: share.id });

    // A new microphone replaces the old one, which is closed and announced.
    const oldMicClosed = nextPayload(bob, 'producer-closed', (p) => p.producerId === mic.id);
    const newMicAnnounced = nextPayload(bob, 'new-producer', (p) => p.kind === 'audio' && p.producerId !== mic.id);
    const mic2 = await ack(alice, 'produce', { roomId: ROOM, transportId: sendId, kind: 'audio', rtpParameters: audio(9400) });
    assert.deepEqual(await oldMicClosed, { producerId: mic.id, peerId: alice.id, userId: 'user_alice', kind: 'audio', isScreenShare: false });
    assert.equal((await newMicAnnounced).producerId, mic2.id);
    const closeMic = await ack(alice, 'close-producer', { roomId: ROOM, producerId: mic.id });
    assert.equal(closeMic.code, 'unknown-producer', 'the replaced producer is gone');
    // A plain seed 004 client keeps several audio producers.
    const carolSend = await sendTransport(carol);
    const ca1 = await ack(carol, 'produce', { roomId: ROOM, transportId: carolSend, kind: 'audio', rtpParameters: audio(9500) });
    const ca2 = await ack(carol, 'produce', { roomId: ROOM, transportId: carolSend, kind: 'audio', rtpParameters: audio(9600) });
    assert.ok((await ack(bob, 'get-socket-id-for-user', { userId: carol.id })).socketId);
    const bj2 = await ack(bob, 'join-mediasoup-room', { roomId: ROOM, rtpCapabilities });
    assert.ok(bj2.existingProducers.includes(ca1.id) && bj2.existingProducers.includes(ca2.id), JSON.stringify(bj2));

    // 4. Own state: participant-state-changed to the others, and the list follows.
    const changed = nextPayload(bob, 'participant-state-changed');
    const mutedList = nextPayload(bob, 'participant-list-update', (l) => l.find((p) => p.id === 'user_alice')?.isAudioMuted === true);
    assert.deepEqual(await ack(alice, 'update-my-state', { roomId: ROOM, userId: 'user_alice', isAudioMuted: true }), {});
    assert.deepEqual(await changed, { userId: 'user_alice', peerId: alice.id, isAudioMuted: true });
    await mutedList;
    const bad = await ack(alice, 'update-my-state', { roomId: ROOM, userId: 'user_alice' });
    assert.equal(bad.code, 'missing-field', JSON.stringify(bad));
    assert.equal(aliceSeen.filter((e) => e.name === 'participant-state-changed').length, 0);

    // Leaving: producer-closed for each producer of the leaver, then participant-left.
    const before = bobSeen.length;
    const left = nextPayload(bob, 'participant-left', (p) => p.userId === 'user_alice');
    const aliceId = alice.id;
    const carolLeft = nextPayload(carol, 'participant-left', (p) => p.peerId === aliceId);
    alice.disconnect();
    assert.deepEqual(await left, { peerId: aliceId, userId: 'user_alice' });
    const tail = bobSeen.slice(before).filter((e) => ['producer-closed', 'participant-left'].includes(e.name));
    assert.deepEqual(tail.map((e) => e.name), ['producer-closed', 'producer-closed', 'participant-left']);
    assert.deepEqual(tail.slice(0, 2).map((e) => e.data.producerId).sort(), [cam.id, mic2.id].sort());
    assert.deepEqual(await carolLeft, { peerId: aliceId });
    bob.disconnect();
    carol.disconnect();
    await waitForNoPeers(server);
  });
});

test('the same user id again is refused while the first is connected, then joins; the creator stays host', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const first = await connectSio(server, { transports: ['websocket'] });
    const other = await connectSio(server, { transports: ['websocket'] });
    assert.equal((await ack(first, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_t', userName: 'Teacher', isCreator: true })).isHost, true);
    await ack(other, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_s', userName: 'Student' });
    const firstId = first.id;
    const left = nextPayload(other, 'participant-left', (p) => p.peerId === firstId);
    // auth.mode none: no silent takeover of a connected user id.
    const again = await connectSio(server, { transports: ['websocket'] });
    const taken = await ack(again, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_t', userName: 'Teacher' });
    assert.equal(taken.code, 'id-taken', JSON.stringify(taken));
    assert.ok(first.connected);
    first.disconnect(); // the reload's old page goes; then the new one joins as the host
    assert.equal((await left).userId, 'user_t');
    const j = await ack(again, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_t', userName: 'Teacher' });
    assert.deepEqual(j, { success: true, existingProducers: [], isHost: true, isCoHost: false });
    const list = await nextPayload(other, 'participant-list-update', (l) => l.length === 2 && l.some((p) => p.id === 'user_t'));
    assert.deepEqual(list.map((p) => [p.id, p.isHost]).sort(), [['user_s', false], ['user_t', true]]);
    assert.deepEqual(await ack(other, 'get-socket-id-for-user', { userId: 'user_t' }), { socketId: again.id });
    // set-user-id after the join: the list shows the new id, and the room lives on.
    const renamed = nextPayload(other, 'participant-list-update', (l) => l.some((p) => p.id === 'user_s2'));
    assert.deepEqual(await ack(other, 'set-user-id', 'user_s2'), {});
    await renamed;
    assert.deepEqual(await ack(again, 'get-socket-id-for-user', { userId: 'user_s2' }), { socketId: other.id });
    assert.ok(again.connected && other.connected);
    // Before joining, the participant requests answer not-joined (they join nothing).
    const loner = await connectSio(server, { transports: ['websocket'] });
    assert.equal((await ack(loner, 'get-socket-id-for-user', { userId: 'user_t' })).code, 'not-joined');
    assert.equal((await ack(loner, 'update-my-state', { isVideoPaused: true })).code, 'not-joined');
    assert.equal((await ack(loner, 'set-user-id', 42)).code, 'invalid-message');
    for (const s of [again, other, loner]) s.disconnect();
    await waitForNoPeers(server);
  });
});
