// The seed 004 frontend's host controls over Socket.IO with the real
// socket.io-client: mute and release a participant's microphone and camera (locked audio
// refused with audio-locked), remove a participant, room-wide mutes and screen-share locks,
// co-hosts and hosts, and the refusals (a participant trying host controls, a co-host
// acting on the host, removing the creator) as `error { message }` events.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { audio, video } from './lib/rtp_fixtures.mjs';
import { withServer } from './lib/server.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';

const ROOM = 'host-room';
const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('CD').join(':') }] };
const ack = (s, e, d) => s.timeout(3000).emitWithAck(e, d);
const payload = async (s, e, match = () => true) => (await nextEvent(s, e, { match }))[0];

async function member(server, userId, name, isCreator = false) {
  const s = await connectSio(server, { transports: ['websocket'] });
  assert.deepEqual(await ack(s, 'set-user-id', userId), {});
  const j = await ack(s, 'join-mediasoup-room', { roomId: ROOM, userId, userName: name, isCreator });
  assert.equal(j.success, true, JSON.stringify(j));
  const t = await ack(s, 'create-webrtc-transport', { roomId: ROOM, direction: 'send' });
  await ack(s, 'connect-transport', { roomId: ROOM, transportId: t.params.id, dtlsParameters: DTLS });
  s.sendId = t.params.id;
  return s;
}

test('host controls: mute and release, remove, co-hosts and hosts, room-wide locks, refusals', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const host = await member(server, 'user_host', 'Host', true);
    const bo = await member(server, 'user_bo', 'Bo');
    const cy = await member(server, 'user_cy', 'Cy');
    const mic = await ack(bo, 'produce', { roomId: ROOM, transportId: bo.sendId, kind: 'audio', rtpParameters: audio(9100) });

    // A participant cannot use host controls: error { message }.
    const denied = payload(bo, 'error');
    bo.emit('toggle-remote-audio', { roomId: ROOM, userId: 'user_bo', targetUserId: 'user_cy', force: 'mute' });
    assert.match((await denied).message, /host/);

    // Mute: the target is told (locked), its microphone is paused, and a new one is refused.
    const forced = payload(bo, 'force-mute');
    const paused = payload(bo, 'producer-paused');
    const listLocked = payload(cy, 'participant-list-update', (l) => l.some((p) => p.id === 'user_bo' && p.audioLocked));
    host.emit('toggle-remote-audio', { roomId: ROOM, userId: 'user_host', targetUserId: 'user_bo', force: 'mute' });
    assert.deepEqual(await forced, { audio: true, by: 'user_host', locked: true });
    assert.deepEqual(await paused, { producerId: mic.id, byModerator: true });
    await listLocked;
    const locked = payload(bo, 'audio-locked');
    const again = await ack(bo, 'produce', { roomId: ROOM, transportId: bo.sendId, kind: 'audio', rtpParameters: audio(9101) });
    assert.equal(again.code, 'forbidden');
    assert.ok((await locked).reason);
    // Unmute: allow-unmute, and the frontend's new microphone is taken.
    const allowed = payload(bo, 'allow-unmute');
    host.emit('toggle-remote-audio', { roomId: ROOM, userId: 'user_host', targetUserId: 'user_bo', force: 'unmute' });
    assert.deepEqual(await allowed, { by: 'user_host', locked: false });
    assert.ok((await ack(bo, 'produce', { roomId: ROOM, transportId: bo.sendId, kind: 'audio', rtpParameters: audio(9102) })).id);
    // Camera: force-video-pause / allow-unpause.
    const vp = payload(cy, 'force-video-pause');
    host.emit('toggle-remote-video', { roomId: ROOM, targetUserId: 'user_cy', force: 'pause' });
    assert.deepEqual(await vp, { video: true, by: 'user_host' });
    const vu = payload(cy, 'allow-unpause');
    host.emit('toggle-remote-video', { roomId: ROOM, targetUserId: 'user_cy', force: 'unpause' });
    assert.deepEqual(await vu, { by: 'user_host' });

    // Co-host: granted, announced, and it acts on participants only.
    const granted = payload(cy, 'cohost-granted');
    const updated = payload(bo, 'participant-updated');
    host.emit('make-cohost', { roomId: ROOM, participantId: 'user_cy' });
    assert.deepEqual(await granted, { by: 'user_host' });
    assert.deepEqual(await updated, { participantId: 'user_cy', updates: { isCoHost: true } });
    await payload(bo, 'participant-list-update', (l) => l.some((p) => p.id === 'user_cy' && p.isCoHost));
    const onHost = payload(cy, 'error');
    cy.emit('toggle-remote-audio', { roomId: ROOM, targetUserId: 'user_host', force: 'mute' });
    assert.match((await onHost).message, /co-host acts on participants only/);
    const coMute = payload(bo, 'force-mute');
    cy.emit('toggle-remote-audio', { roomId: ROOM, targetUserId: 'user_bo', force: 'mute' });
    assert.equal((await coMute).by, 'user_cy');
    const noPromote = payload(cy, 'error');
    cy.emit('make-host', { roomId: ROOM, participantId: 'user_cy' });
    assert.match((await noPromote).message, /only a host/);

    // Room-wide: screen sharing off, a share refused with screenshare-denied; on again.
    const control = payload(bo, 'screenshare-control');
    host.emit('disable-all-screen-sharing', { roomId: ROOM });
    assert.deepEqual(await control, { enabled: false, by: 'user_host' });
    const deniedShare = payload(bo, 'screenshare-denied');
    const share = await ack(bo, 'produce', { roomId: ROOM, transportId: bo.sendId, kind: 'video', rtpParameters: video(9200), appData: { share: true } });
    assert.equal(share.code, 'forbidden');
    assert.ok((await deniedShare).reason);
    const on = payload(bo, 'screenshare-control');
    host.emit('enable-all-screen-sharing', { roomId: ROOM });
    assert.equal((await on).enabled, true);
    assert.ok((await ack(bo, 'produce', { roomId: ROOM, transportId: bo.sendId, kind: 'video', rtpParameters: video(9201), appData: { share: true } })).id);
    // mute-all: every participant but hosts and co-hosts.
    const allBo = payload(bo, 'force-mute');
    host.emit('unmute-all-participants', { roomId: ROOM });
    host.emit('mute-all-participants', { roomId: ROOM });
    assert.equal((await allBo).by, 'user_host');

    // Hosts: make-host and remove-host; the creator cannot be removed.
    const hg = payload(cy, 'host-granted');
    host.emit('make-host', { roomId: ROOM, participantId: 'user_cy' });
    assert.deepEqual(await hg, { by: 'user_host' });
    const hr = payload(cy, 'host-revoked');
    host.emit('remove-host', { roomId: ROOM, participantId: 'user_cy' });
    assert.deepEqual(await hr, { by: 'user_host' });
    const creatorStays = payload(host, 'error');
    host.emit('remove-host', { roomId: ROOM, participantId: 'user_host' });
    assert.ok((await creatorStays).message);

    // Remove: kicked-from-room to the target, its producers closed and announced, gone.
    const kicked = payload(bo, 'kicked-from-room');
    const closed = payload(cy, 'producer-closed');
    const left = payload(cy, 'participant-left', (p) => p.userId === 'user_bo');
    const gone = nextEvent(bo, 'disconnect');
    host.emit('remove-participant', { roomId: ROOM, userId: 'user_host', targetUserId: 'user_bo' });
    assert.equal((await kicked).by, 'user_host');
    assert.equal((await closed).userId, 'user_bo');
    await left;
    await gone;
    for (const s of [host, cy]) s.close();
  });
});

test('the frontend chat: history before and at the join, send-message to the room, typing, reactions, pins, video reactions, message-error', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const host = await member(server, 'user_host', 'Host', true);
    const bo = await member(server, 'user_bo', 'Bo');
    const msg = (id, text, extra = {}) => ({ id, text, createdAt: Date.now(), pinned: false, sender: { id: 'x', name: 'x', avatarUrl: 'https://img.example/x.png' }, ...extra });
    // To the whole room, the sender included, as { socketId, message }.
    const atBo = payload(bo, 'receive-message');
    const atHost = payload(host, 'receive-message');
    bo.emit('send-message', { roomId: ROOM, message: msg('c-1', 'Hello class') });
    for (const r of [await atBo, await atHost]) {
      assert.equal(r.socketId, bo.id);
      assert.equal(r.message.id, 'c-1');
      assert.equal(r.message.text, 'Hello class');
      assert.deepEqual(r.message.sender, { id: 'user_bo', name: 'Bo', avatarUrl: 'https://img.example/x.png' });
      assert.equal(r.message.pinned, false);
    }
    const reply = payload(host, 'receive-message');
    host.emit('send-message', { roomId: ROOM, message: msg('c-2', 'Welcome', { replyTo: { id: 'c-1', text: 'Hello class', senderName: 'Bo' } }) });
    assert.deepEqual((await reply).message.replyTo, { id: 'c-1', text: 'Hello class', senderName: 'Bo' });
    // A refused message: message-error { messageId, error }.
    const refused = payload(bo, 'message-error');
    bo.emit('send-message', { roomId: ROOM, message: msg('c-3', 'x'.repeat(3000)) });
    assert.equal((await refused).messageId, 'c-3');
    // Typing, to the others.
    const typing = payload(host, 'typing-start');
    bo.emit('typing-start', { roomId: ROOM, name: 'Bo' });
    assert.deepEqual(await typing, { socketId: bo.id, name: 'Bo' });
    const stop = payload(host, 'typing-stop');
    bo.emit('typing-stop', { roomId: ROOM });
    assert.equal((await stop).socketId, bo.id);
    // Reactions toggle; pins are the host's.
    const react = payload(bo, 'message-react-update');
    host.emit('message-react', { roomId: ROOM, messageId: 'c-1', emoji: '👍', userId: 'user_host' });
    assert.deepEqual(await react, { messageId: 'c-1', userId: 'user_host', emoji: '👍', action: 'add' });
    const unreact = payload(bo, 'message-react-update');
    host.emit('message-react', { roomId: ROOM, messageId: 'c-1', emoji: '👍', userId: 'user_host' });
    assert.equal((await unreact).action, 'remove');
    bo.emit('message-react', { roomId: ROOM, messageId: 'c-1', emoji: '🎉', userId: 'user_bo' });
    const pin = payload(bo, 'pin-message-update');
    host.emit('pin-message', { roomId: ROOM, messageId: 'c-1', pinned: true });
    assert.deepEqual(await pin, { messageId: 'c-1', pinned: true, by: 'user_host' });
    assert.equal((await ack(bo, 'pin-message', { roomId: ROOM, messageId: 'c-1', pinned: false })).code, 'forbidden');
    const vr = payload(host, 'receive-video-reaction');
    bo.emit('video-reaction', { roomId: ROOM, emoji: '👏', sessionId: 's-9', userId: 'user_bo', userName: 'Bo' });
    assert.deepEqual(await vr, { emoji: '👏', sessionId: 's-9', userId: 'user_bo', userName: 'Bo' });
    // A late frontend asks before joining (its chat panel mounts first), and gets it again at the join.
    const late = await connectSio(server, { transports: ['websocket'] });
    const early = payload(late, 'chat-history');
    late.emit('request-chat-history', { roomId: ROOM }); // before it names its user
    const h = await early;
    await ack(late, 'set-user-id', 'user_late');
    assert.deepEqual(h.map((x) => [x.socketId, x.message.id, x.message.text]), [['system', 'c-1', 'Hello class'], ['system', 'c-2', 'Welcome']]);
    assert.equal(h[0].message.pinned, true);
    assert.deepEqual(h[0].message.reactions, { '🎉': ['user_bo'] });
    const atJoin = payload(late, 'chat-history');
    await ack(late, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_late', userName: 'Late' });
    assert.equal((await atJoin).length, 2);
    for (const s of [host, bo, late]) s.close();
  });
});
