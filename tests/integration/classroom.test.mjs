// The live class in the server: raised hands, chat with history,
// private messages and moderation, polls with live and final results, over both dialects.
// Roles come from mode none's role choice (`?role=`, Socket.IO `auth.role`).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import path from 'node:path';

import { runProcess, startServer, tempDir, withServer } from './lib/server.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';
import { closeAll, connectPeer, nextParticipantList, participantIds } from './lib/ws_client.mjs';

const T = { timeout: 90000 };
const ROOM = 'lesson';
const ack = (s, e, d) => s.timeout(5000).emitWithAck(e, d);

// A client is connected when its socket opens, but the room takes its join a moment later:
// waits for the joiner's own participant-list-update that lists it (left in its queue), so
// that whatever the test does next happens after the join (a chat message sent before it
// would reach the joiner as history, not as a message; seen once in CI).
async function joinPlain(server, auth, role) {
  const c = await connectPeer(server, { auth, role, channelId: ROOM });
  const listsMe = (m) => m?.type === 'participant-list-update' && participantIds(m).includes(auth);
  if (!c.queue.some(listsMe)) {
    // Resolved as it arrived (before any later message is queued): back at the queue's end
    // keeps the order.
    c.queue.push(await c.next(listsMe, 5000, `its own join in a participant-list-update`));
  }
  return c;
}

test('hands: a queue in raise order, lowered by the owner or a moderator, shown to late joiners', T, async () => {
  await withServer([], async (server) => {
    const teacher = await joinPlain(server, 'teacher', 'teacher');
    const s1 = await joinPlain(server, 's1', 'student');
    const s2 = await joinPlain(server, 's2', 'student');
    assert.equal((await s1.request('raise-hand', {})).type, 'raise-hand');
    const first = await teacher.nextOfType('hands-update');
    assert.deepEqual(first.data.map((h) => h.peerId), ['s1']);
    assert.ok(first.data[0].raisedAt > 0);
    await s2.request('raise-hand', {});
    await teacher.nextOfType('hands-update', (m) => m.data.length === 2);
    // A second raise keeps the place.
    await s1.request('raise-hand', {});
    // A student cannot lower another's hand; a moderator can.
    assert.equal((await s2.request('lower-hand', { peerId: 's1' })).data?.code, 'forbidden');
    const info = (await teacher.request('get-room-info', {})).data;
    assert.deepEqual(info.hands.map((h) => h.peerId), ['s1', 's2']);
    // A late joiner gets the queue.
    const late = await joinPlain(server, 'late', 'student');
    assert.deepEqual((await late.nextOfType('hands-update')).data.map((h) => h.peerId), ['s1', 's2']);
    await teacher.request('lower-hand', { peerId: 's1' });
    assert.deepEqual((await late.nextOfType('hands-update')).data.map((h) => h.peerId), ['s2']);
    // Leaving lowers the hand.
    await s2.close();
    assert.deepEqual((await late.nextOfType('hands-update')).data, []);
    assert.equal((await teacher.request('lower-hand', { peerId: 'nobody' })).data?.code, 'unknown-user');
    await closeAll(teacher, s1, late);
  });
});

test('chat: to the room and privately, history in order for late joiners, limits, moderation', T, async () => {
  await withServer([], async (server) => {
    const teacher = await joinPlain(server, 'teacher', 'teacher');
    const s1 = await joinPlain(server, 's1', 'student');
    const s2 = await joinPlain(server, 's2', 'student');
    const viewer = await joinPlain(server, 'v1', 'viewer');
    const sent = [];
    for (const [c, text] of [[teacher, 'Welcome!'], [s1, 'Hi'], [s2, 'Hello\nall'], [s1, 'Ready']]) {
      const r = await c.request('chat-message', { text });
      assert.equal(r.type, 'chat-message', JSON.stringify(r));
      sent.push(r.data.id);
    }
    const seen = [];
    while (seen.length < 4) seen.push((await viewer.nextOfType('chat-message')).data);
    assert.deepEqual(seen.map((m) => [m.id, m.from, m.text]), [[sent[0], 'teacher', 'Welcome!'], [sent[1], 's1', 'Hi'], [sent[2], 's2', 'Hello\nall'], [sent[3], 's1', 'Ready']]);
    assert.ok(seen.every((m) => m.at > 0 && m.to === undefined));
    // Private: only the target and the sender see it, and it is not in the history.
    const priv = await s1.request('chat-message', { text: 'psst', to: 's2' });
    assert.equal((await s2.nextOfType('chat-message', (m) => m.data.text === 'psst')).data.to, 's2');
    assert.equal((await s1.nextOfType('chat-message', (m) => m.data.text === 'psst')).data.id, priv.data.id);
    // Limits and permissions.
    assert.equal((await s1.request('chat-message', { text: 'x'.repeat(2001) })).data?.code, 'invalid-field');
    assert.equal((await s1.request('chat-message', { text: '' })).data?.code, 'invalid-field');
    assert.equal((await s1.request('chat-message', { text: 'a\u001bb' })).data?.code, 'invalid-field');
    assert.equal((await s1.request('chat-message', { text: 'hi', to: 'nobody' })).data?.code, 'unknown-user');
    assert.equal((await s1.request('chat-message', { text: 42 })).data?.code, 'invalid-field');
    assert.equal((await viewer.request('chat-message', { text: 'hi' })).data?.code, 'forbidden');
    // A late joiner gets the public history, oldest first, without the private message.
    const late = await joinPlain(server, 'late', 'student');
    const history = (await late.nextOfType('chat-history')).data;
    assert.deepEqual(history.map((m) => m.id), sent);
    // The viewer saw no private message.
    assert.equal(viewer.take((m) => m.type === 'chat-message' && m.data.text === 'psst').length, 0);
    // Moderation: delete, disable for one, disable for the room.
    assert.equal((await s1.request('delete-chat-message', { id: sent[1] })).data?.code, 'forbidden');
    await teacher.request('delete-chat-message', { id: sent[1] });
    assert.deepEqual((await late.nextOfType('chat-message-deleted')).data, { id: sent[1], by: 'teacher' });
    await teacher.request('disable-chat', { peerId: 's2' });
    assert.deepEqual((await late.nextOfType('chat-disabled')).data, { peerId: 's2', by: 'teacher' });
    assert.equal((await s2.request('chat-message', { text: 'hey' })).data?.code, 'forbidden');
    assert.equal((await s1.request('chat-message', { text: 'still here' })).type, 'chat-message');
    await teacher.request('disable-chat', {});
    assert.equal((await s1.request('chat-message', { text: 'hey' })).data?.code, 'forbidden');
    assert.equal((await teacher.request('chat-message', { text: 'moderators may' })).type, 'chat-message');
    assert.equal((await s1.request('get-room-info', {})).data.chatEnabled, false);
    await teacher.request('enable-chat', {});
    await teacher.request('enable-chat', { peerId: 's2' });
    assert.equal((await s2.request('chat-message', { text: 'back' })).type, 'chat-message');
    const late2 = await joinPlain(server, 'late2', 'student');
    const h2 = (await late2.nextOfType('chat-history')).data;
    assert.ok(!h2.some((m) => m.id === sent[1]), 'the deleted message is gone from the history');
    // The per-participant rate: a burst past it is refused.
    let limited = 0;
    for (let i = 0; i < 15; i++) if ((await s1.request('chat-message', { text: `spam ${i}` })).data?.code === 'rate-limited') limited++;
    assert.ok(limited > 0, 'no chat message was rate-limited');
    await closeAll(teacher, s1, s2, viewer, late, late2);
  });
});

test('polls: 50 clients over both dialects vote; everyone sees the right final counts', T, async () => {
  await withServer([], async (server) => {
    const teacher = await connectSio(server, { transports: ['websocket'], auth: { role: 'teacher', roomId: ROOM } });
    assert.deepEqual(Object.keys(await ack(teacher, 'join-mediasoup-room', { roomId: ROOM })), ['existingProducers']);
    const plain = [];
    const sio = [];
    for (let i = 0; i < 25; i++) plain.push(await joinPlain(server, `p${i}`, 'student'));
    for (let i = 0; i < 25; i++) {
      const s = await connectSio(server, { transports: ['websocket'], auth: { role: 'student' } });
      await ack(s, 'join-mediasoup-room', { roomId: ROOM });
      sio.push(s);
    }
    // A student cannot create a poll.
    assert.equal((await ack(sio[0], 'create-poll', { question: 'Q?', options: ['a', 'b'] })).code, 'forbidden');
    assert.equal((await plain[0].request('create-poll', { question: 'Q?', options: ['a', 'b'] })).data?.code, 'forbidden');
    assert.equal((await ack(teacher, 'create-poll', { question: 'Q?', options: ['only one'] })).code, 'invalid-field');
    const started = plain.map((c) => c.nextOfType('poll-started', () => true, 5000));
    const sioStarted = sio.map((s) => nextEvent(s, 'poll-started', { timeoutMs: 5000 }));
    const created = await ack(teacher, 'create-poll', { question: 'Which planet?', options: ['Mars', 'Venus', 'Jupiter'] });
    assert.match(created.pollId, /^p\d+$/);
    for (const m of await Promise.all(started)) assert.equal(m.data.pollId, created.pollId);
    for (const [p] of await Promise.all(sioStarted)) assert.deepEqual(p.options, ['Mars', 'Venus', 'Jupiter']);
    // Votes: i % 3 for everyone; p0 changes its vote to 2; a bad option is refused.
    const expected = [0, 0, 0];
    const finals = [...plain.map((c) => c.nextOfType('poll-closed', () => true, 10000).then((m) => m.data)),
      ...sio.map((s) => nextEvent(s, 'poll-closed', { timeoutMs: 10000 }).then(([p]) => p))];
    await Promise.all([
      ...plain.map(async (c, i) => {
        const r = await c.request('vote', { pollId: created.pollId, options: [i % 3] });
        assert.equal(r.type, 'vote', JSON.stringify(r));
      }),
      ...sio.map(async (s, i) => assert.deepEqual(await ack(s, 'vote', { pollId: created.pollId, option: (25 + i) % 3 }), {})),
    ]);
    for (let i = 0; i < 50; i++) expected[i % 3] += 1;
    await plain[0].request('vote', { pollId: created.pollId, options: [2] });
    expected[0] -= 1;
    expected[2] += 1;
    assert.equal((await plain[1].request('vote', { pollId: created.pollId, options: [7] })).data?.code, 'invalid-field');
    assert.equal((await plain[1].request('vote', { pollId: created.pollId, options: [0, 1] })).data?.code, 'invalid-field');
    // Live results arrive (throttled) before the close.
    const live = await plain[2].nextOfType('poll-results', () => true, 5000);
    assert.equal(live.data.pollId, created.pollId);
    assert.deepEqual(await ack(teacher, 'close-poll', { pollId: created.pollId }), {});
    for (const p of await Promise.all(finals)) {
      assert.deepEqual(p.counts, expected);
      assert.equal(p.voters, 50);
      assert.equal(p.closed, true);
    }
    assert.equal((await plain[3].request('vote', { pollId: created.pollId, options: [0] })).data?.code, 'invalid-state');
    assert.equal((await ack(teacher, 'close-poll', { pollId: created.pollId })).code, 'invalid-state');
    // Results are kept for late joiners.
    const late = await joinPlain(server, 'late', 'student');
    const again = await late.nextOfType('poll-closed');
    assert.deepEqual(again.data.counts, expected);
    assert.deepEqual((await late.request('get-room-info', {})).data.polls.map((p) => p.counts), [expected]);
    for (const s of sio) s.close();
    teacher.close();
    await closeAll(plain, late);
  });
});

test('screen share: new-producer carries source, the list shows isScreenSharing while it lasts', T, async () => {
  const { video } = await import('./lib/rtp_fixtures.mjs');
  await withServer([], async (server) => {
    const teacher = await joinPlain(server, 'teacher', 'teacher');
    const s1 = await joinPlain(server, 's1', 'student');
    const t = await teacher.request('create-webrtc-transport', { direction: 'send' });
    const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };
    await teacher.request('connect-transport', { transportId: t.data.params.id, dtlsParameters: DTLS });
    const cam = await teacher.request('produce', { transportId: t.data.params.id, kind: 'video', rtpParameters: video(8100), appData: { source: 'webcam' } });
    assert.equal((await s1.nextOfType('new-producer', (m) => m.data.producerId === cam.data.id)).data.source, 'webcam');
    const share = await teacher.request('produce', { transportId: t.data.params.id, kind: 'video', rtpParameters: video(8200), appData: { source: 'screen' } });
    assert.deepEqual((await s1.nextOfType('new-producer', (m) => m.data.producerId === share.data.id)).data, { producerId: share.data.id, peerId: 'teacher', kind: 'video', source: 'screen' });
    const sharing = await s1.nextOfType('participant-list-update', (m) => m.data.some((p) => p.isScreenSharing), 3000);
    assert.deepEqual(sharing.data.filter((p) => p.isScreenSharing).map((p) => p.id), ['teacher']);
    // A student may not share a screen without publish-screen.
    const st = await s1.request('create-webrtc-transport', { direction: 'send' });
    await s1.request('connect-transport', { transportId: st.data.params.id, dtlsParameters: DTLS });
    const refused = await s1.request('produce', { transportId: st.data.params.id, kind: 'video', rtpParameters: video(8300), appData: { source: 'screen' } });
    assert.match(refused.data?.message ?? '', /publish-screen/);
    await teacher.request('close-producer', { producerId: share.data.id });
    await s1.nextOfType('participant-list-update', (m) => m.data.every((p) => !p.isScreenSharing), 3000);
    await closeAll(teacher, s1);
  });
});

test('the class record: after the class the SQLite file holds its attendance, chat, poll and moderation rows', T, async () => {
  const db = path.join(tempDir('chorus-record-'), 'classes.db');
  const server = await startServer(['--storage-path', db]);
  let stopped;
  try {
    // One after the other, each join seen by the room before the next connects (the
    // socket opens before the room has the join): the attendance rows are in join order.
    const teacher = await joinPlain(server, 'teacher', 'teacher');
    await nextParticipantList(teacher, ['teacher']);
    const s1 = await joinPlain(server, 's1', 'student');
    await nextParticipantList(teacher, ['teacher', 's1']);
    const s2 = await joinPlain(server, 's2', 'student');
    await nextParticipantList(teacher, ['teacher', 's1', 's2']);
    await teacher.request('chat-message', { text: 'Good morning' });
    await s1.request('chat-message', { text: 'Morning!' });
    await s1.request('chat-message', { text: 'just for you', to: 'teacher' });
    const poll = await teacher.request('create-poll', { question: '2+2?', options: ['3', '4'] });
    await s1.request('vote', { pollId: poll.data.pollId, options: [1] });
    await s2.request('vote', { pollId: poll.data.pollId, options: [0] });
    await s2.request('vote', { pollId: poll.data.pollId, options: [1] }); // changed
    await teacher.request('close-poll', { pollId: poll.data.pollId });
    await teacher.request('kick-peer', { peerId: 's2', reason: 'late homework' });
    await s2.closedWithin(3000);
    await closeAll(s1, teacher);
  } finally {
    // The recorder writes what waits before the process ends; its last commit waits on the
    // disk: the server's own watchdog (10 s) judges a hang, not this bound.
    stopped = await server.stop({ timeoutMs: 15000 });
  }
  assert.equal(stopped.code, 0, `chorus exited ${stopped.code} ${stopped.elapsedMs} ms after SIGTERM: ${server.stderr().slice(-600)}`);
  process.stdout.write(`classroom: stopped in ${stopped.elapsedMs} ms\n`);
  const sql = async (q) => {
    const r = await runProcess('sqlite3', ['-separator', '|', db, q], { timeoutMs: 5000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean);
  };
  assert.deepEqual(await sql("SELECT room_id, closed_at IS NOT NULL FROM rooms"), [`${ROOM}|1`]);
  assert.deepEqual(await sql("SELECT peer_id, role, left_at >= joined_at FROM attendance ORDER BY id"),
    ['teacher|teacher|1', 's1|student|1', 's2|student|1']);
  assert.deepEqual(await sql("SELECT from_peer_id, text, coalesce(to_peer_id, '') FROM chat_messages ORDER BY sent_at, id"),
    ['teacher|Good morning|', 's1|Morning!|', 's1|just for you|teacher']);
  assert.deepEqual(await sql("SELECT question, voters, closed_at IS NOT NULL FROM polls"), ['2+2?|2|1']);
  assert.deepEqual(await sql("SELECT option_index, text, final_count FROM poll_options ORDER BY option_index"), ['0|3|0', '1|4|2']);
  assert.deepEqual(await sql("SELECT voter_peer_id, option_index FROM votes ORDER BY voter_peer_id"), ['s1|1', 's2|1']);
  assert.deepEqual(await sql("SELECT action, target, by_peer_id, reason FROM moderation_actions"), ['kick-peer|s2|teacher|late homework']);
});

test('chat over Socket.IO: to the room, privately to one peer only, the history in order for a late joiner', T, async () => {
  await withServer([], async (server) => {
    const join = async (role) => {
      const s = await connectSio(server, { transports: ['websocket'], auth: { role } });
      await ack(s, 'join-mediasoup-room', { roomId: ROOM });
      return s;
    };
    const teacher = await join('teacher');
    const s1 = await join('student');
    const s2 = await join('student');
    const ids = [];
    for (const [s, text] of [[teacher, 'one'], [s1, 'two'], [teacher, 'three']]) {
      const r = await ack(s, 'chat-message', { text });
      assert.match(r.id, /^m\d+$/);
      ids.push(r.id);
    }
    // Private: s2 gets it, s1 never does (its next chat event is the public one after it).
    const atS2 = nextEvent(s2, 'chat-message', { match: (m) => m.text === 'psst' });
    const atS1 = nextEvent(s1, 'chat-message', { match: (m) => m.text === 'psst' || m.text === 'after' });
    assert.ok((await ack(teacher, 'chat-message', { text: 'psst', to: s2.id })).id);
    assert.equal((await atS2)[0].to, s2.id);
    ids.push((await ack(teacher, 'chat-message', { text: 'after' })).id);
    assert.equal((await atS1)[0].text, 'after');
    // The late joiner: the public history, oldest first.
    const late = await connectSio(server, { transports: ['websocket'], auth: { role: 'student' } });
    const history = nextEvent(late, 'chat-history');
    await ack(late, 'join-mediasoup-room', { roomId: ROOM });
    const [items] = await history;
    assert.deepEqual(items.map((m) => m.id), ids);
    assert.deepEqual(items.map((m) => m.text), ['one', 'two', 'three', 'after']);
    for (const s of [teacher, s1, s2, late]) s.close();
  });
});
