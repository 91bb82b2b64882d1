// A lecture: a teacher (Chromium, the seed 004 frontend's page, publishing), 300 students
// who may not publish (socket.io-client in Node, no media), a moderator (Node), and two more
// pages: a viewer who watches and a student brought on stage. Beyond rooms.rosterLimit
// (100) the students are the room's audience: the pages see the stage and a count, never
// a participant event per student; chat reaches all 300 within a second; 300 votes are
// tallied right; the moderator pages the whole list; the student brought on stage is seen
// and heard by the viewer's page.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { PAGE } from './lib/frontend_page.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';

const ROOM = 'lecture-e2e';
const STUDENTS = 300;
const ack = (socket, event, data) => socket.timeout(10000).emitWithAck(event, data);

// A student of the audience: joined with role student (subscribe and chat), recording the
// events it gets by name and the arrival time of chat messages.
async function joinStudent(server, i) {
  const socket = await connectSio(server, { transports: ['websocket'], query: { role: 'student' }, timeoutMs: 15000 });
  const seen = { counts: {}, chat: new Map(), polls: [] };
  socket.onAny((name) => { seen.counts[name] = (seen.counts[name] || 0) + 1; });
  // The frontend's shape (a join with a user id): receive-message { socketId, message }.
  socket.on('receive-message', (m) => seen.chat.set(m.message?.text, performance.now()));
  socket.on('poll-results', (p) => seen.polls.push(p));
  const r = await ack(socket, 'join-mediasoup-room', { roomId: ROOM, userId: `user_s${i}`, userName: `Student ${i}` });
  assert.ok(Array.isArray(r.existingProducers), JSON.stringify(r));
  return { socket, seen, i };
}

// Resolves once every page's stream of `user` decodes (video frames, audio packets), bounded.
async function sees(page, label, user) {
  await until(page, `${label}: ${user}'s camera and microphone`, () => page.evaluate(() => window.streamStats()),
    (s) => (s[user] || []).length === 2 && s[user].every((r) => (r.kind === 'video' ? r.framesDecoded > 5 : r.packetsReceived > 20)),
    30000, 200);
}

test('a lecture: 300 in the audience, the stage listed, chat, a poll, paging, on stage', { timeout: 240000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: PAGE, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const students = [];
    try {
      // The teacher opens the lecture and publishes.
      const teacher = await openPage(browser, `${site.url}/`, 'teacher');
      await teacher.evaluate(() => { window.joinOptions = { role: 'teacher' }; });
      await teacher.evaluate(([u, r]) => window.join(u, r, 'Ada', true, false), [server.url, ROOM]);

      // A moderator (Node) and 300 students, 50 joining at a time.
      const mod = await connectSio(server, { transports: ['websocket'], query: { role: 'moderator' } });
      await ack(mod, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_mod', userName: 'Mo' });
      for (let i = 0; i < STUDENTS; i += 50) {
        const batch = [];
        for (let j = i; j < Math.min(i + 50, STUDENTS); j++) batch.push(joinStudent(server, j));
        students.push(...await Promise.all(batch));
      }

      // The viewer's page joins into the audience: it sees the teacher, the stage as the
      // list, and the count.
      const viewer = await openPage(browser, `${site.url}/`, 'viewer');
      await viewer.evaluate(() => { window.joinOptions = { role: 'viewer', publish: false }; });
      await viewer.evaluate(([u, r]) => window.join(u, r, 'Vi', false, false), [server.url, ROOM]);
      await sees(viewer, 'viewer', 'user_ada');
      const stage = await until(viewer, 'viewer: the stage listed, the audience counted',
        () => viewer.evaluate(() => ({ list: window.list, audience: window.audience })),
        (v) => Array.isArray(v.list) && v.audience?.count === STUDENTS + 1, 15000);
      assert.deepEqual(stage.list.map((p) => p.id).sort(), ['user_ada', 'user_mod']);

      // Chat: one student's message reaches all 300 within a second.
      const text = 'question from the back row';
      const sent = performance.now();
      const reply = await ack(students[7].socket, 'chat-message', { roomId: ROOM, text });
      assert.ok(reply.id, JSON.stringify(reply));
      const deadline = sent + 5000;
      while (students.some((s) => !s.seen.chat.has(text)) && performance.now() < deadline) {
        await new Promise((resolve) => { setTimeout(resolve, 20); });
      }
      const arrivals = students.map((s) => s.seen.chat.get(text));
      assert.ok(arrivals.every((t) => t !== undefined), `${arrivals.filter((t) => t === undefined).length} students got no chat message`);
      const slowest = Math.max(...arrivals) - sent;
      assert.ok(slowest < 1000, `the chat message reached the last student after ${slowest.toFixed(0)} ms`);

      // A poll: 300 votes, the tally right for the moderator and the students.
      const created = await ack(mod, 'create-poll', { roomId: ROOM, question: 'Ready?', options: ['yes', 'no'] });
      assert.ok(created.pollId, JSON.stringify(created));
      const tally = nextEvent(mod, 'poll-results', { match: (p) => p.voters === STUDENTS, timeoutMs: 15000, what: 'poll-results with 300 voters' });
      await Promise.all(students.map(async (s) => {
        assert.deepEqual(await ack(s.socket, 'vote', { roomId: ROOM, pollId: created.pollId, option: s.i % 3 === 0 ? 1 : 0 }), {});
      }));
      const [results] = await tally;
      assert.deepEqual(results.counts, [200, 100]);
      await until(viewer, 'students: the final tally', async () => students.filter((s) => s.seen.polls.at(-1)?.voters === STUDENTS).length,
        (n) => n === STUDENTS, 15000);

      // The moderator pages everyone; a student may not.
      const first = await ack(mod, 'get-participants', { roomId: ROOM, offset: 0, limit: 100 });
      assert.equal(first.total, STUDENTS + 3);
      assert.equal(first.audience, STUDENTS + 1);
      assert.equal(first.participants.length, 100);
      assert.equal(first.participants[0].id, 'user_ada');
      const last = await ack(mod, 'get-participants', { roomId: ROOM, offset: 300, limit: 100 });
      assert.equal(last.participants.length, 3);
      const found = await ack(mod, 'get-participants', { roomId: ROOM, filter: 'student 123' });
      assert.deepEqual(found.participants.map((p) => [p.id, p.inAudience]), [['user_s123', true]]);
      assert.equal((await ack(students[0].socket, 'get-participants', { roomId: ROOM })).code, 'forbidden');

      // A student brought on stage: listed, then seen and heard by the viewer's page.
      const guest = await openPage(browser, `${site.url}/`, 'guest');
      await guest.evaluate(() => { window.joinOptions = { role: 'student', publish: false }; });
      const g = await guest.evaluate(([u, r]) => window.join(u, r, 'Gus', false, false), [server.url, ROOM]);
      assert.deepEqual(await ack(mod, 'allow-publish', { roomId: ROOM, peerId: 'user_gus' }), {});
      await until(viewer, 'viewer: the guest listed on stage', () => viewer.evaluate(() => window.list),
        (l) => Array.isArray(l) && l.some((p) => p.id === 'user_gus'), 15000);
      await guest.evaluate(() => window.publish(false));
      await sees(viewer, 'viewer', 'user_gus');
      assert.ok(g.socketId);

      // Nobody saw a participant event per student: the pages' lists were few and short,
      // no participant-left came, and no student got a list with the audience in it.
      for (const [label, page] of [['teacher', teacher], ['viewer', viewer]]) {
        const counts = await page.evaluate(() => window.eventCounts);
        assert.ok((counts['participant-list-update'] || 0) < 30, `${label}: ${counts['participant-list-update']} list updates`);
        assert.equal(counts['participant-left'] || 0, 0, label);
        assert.ok((counts['audience-update'] || 0) >= 1, label);
      }
      const lists = students.map((s) => s.seen.counts['participant-list-update'] || 0);
      assert.ok(Math.max(...lists) < 30, `a student got ${Math.max(...lists)} list updates`);
      assert.deepEqual(await teacher.evaluate(() => window.errors), []);
      assert.deepEqual(await viewer.evaluate(() => window.errors), []);
    } finally {
      for (const s of students) s.socket.close();
    }
  });
});
