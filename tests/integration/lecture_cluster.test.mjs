// A lecture over three nodes: a moderator on one node and 150 students (socket.io-client,
// no media) split over all three. Beyond rooms.rosterLimit (here 40) the students are the
// room's audience, wherever they are connected: on every node they see the stage as the
// list and the right count, and a poll's tally counts every vote. An event for everyone
// crosses to each other node once, not once per student there; the students' votes cross
// to the room's home in batches, not one message each, and so do their joins. A join waiting
// behind a batch to a home that hangs is placed again once that node is lost, and a join
// placed by a node that has lost a hung home, at a node that has not yet, is served once
// that one loses it too.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { members, roomIdWhere, withNodes } from './lib/cluster.mjs';
import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';
import { pollUntil } from './lib/tcp.mjs';

const ROOM = 'lecture-cluster';
const STUDENTS = 150;
const ack = (socket, event, data) => socket.timeout(10000).emitWithAck(event, data);
// Connects socket.io students (kept in `sockets`, for closing) to a node.
const studentsInto = (sockets) => async (node) => {
  const s = await connectSio(node, { transports: ['websocket'], query: { role: 'student' } });
  sockets.push(s);
  return s;
};

// Resolves once `check()` holds, polling every 20 ms; fails after `timeoutMs` with `what`.
async function eventually(what, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => { setTimeout(resolve, 20); });
  }
}

// The sums over the nodes of the named counters of /metrics: { key: sum }.
async function totals(nodes, names) {
  const out = Object.fromEntries(Object.keys(names).map((k) => [k, 0]));
  for (const node of nodes) {
    const m = parsePrometheus((await httpGet(`${node.url}/metrics`)).body);
    for (const [k, name] of Object.entries(names)) out[k] += m.value(name);
  }
  return out;
}

test('a lecture over three nodes: the audience counted and its votes tallied on every node', { timeout: 120000 }, async () => {
  await withNodes(async (nodes) => {
    const all = await nodes.mesh(() => ['--roster-limit', '40']);
    const sockets = [];
    try {
      const mod = await connectSio(all[0], { transports: ['websocket'], query: { role: 'moderator' } });
      sockets.push(mod);
      await ack(mod, 'join-mediasoup-room', { roomId: ROOM, userId: 'user_mod', userName: 'Mo' });
      const students = [];
      for (let i = 0; i < STUDENTS; i += 30) {
        const batch = [];
        for (let j = i; j < Math.min(i + 30, STUDENTS); j++) {
          batch.push((async () => {
            const node = all[j % 3];
            const socket = await connectSio(node, { transports: ['websocket'], query: { role: 'student' }, timeoutMs: 10000 });
            sockets.push(socket);
            const s = { socket, node: j % 3, i: j, audience: null, lists: [], polls: [] };
            socket.on('audience-update', (a) => { s.audience = a; });
            socket.on('participant-list-update', (l) => s.lists.push(l.length));
            socket.on('poll-results', (p) => s.polls.push(p));
            return s;
          })());
        }
        students.push(...await Promise.all(batch));
      }
      // Then they all join at once, as a lecture's audience does when the class starts.
      await Promise.all(students.map(async (s) => {
        const r = await ack(s.socket, 'join-mediasoup-room', { roomId: ROOM, userId: `user_s${s.i}`, userName: `Student ${s.i}` });
        assert.ok(Array.isArray(r.existingProducers), JSON.stringify(r));
      }));

      // The joins of the two nodes that are not the room's home crossed to it in batches: at
      // most one under way per node and room, the joins arriving meanwhile gathered into the
      // next.
      // (The moderator's too when the room's home is not the moderator's node.)
      const rooms = await Promise.all(all.map(async (n) => (await httpGet(`${n.url}/healthz`)).json.rooms));
      assert.equal(rooms.filter((r) => r === 1).length, 1, `rooms per node: ${rooms}`);
      const remoteJoins = 100 + (rooms[0] === 1 ? 0 : 1);
      const joins = await totals(all, { sent: 'chorus_join_batches_total', requests: 'chorus_join_batched_requests_total' });
      process.stdout.write(`lecture-cluster: ${remoteJoins} joins from the other nodes crossed in ${joins.sent} batches\n`);
      assert.equal(joins.requests, remoteJoins, `${joins.requests} joins crossed in batches`);
      assert.ok(joins.sent >= 2 && joins.sent <= 40, `${remoteJoins} joins crossed in ${joins.sent} batches`);

      // Every student, on every node, ends with the whole audience counted and the stage
      // (the moderator alone) as the list.
      await eventually('every student counts the whole audience',
        () => students.every((s) => s.audience?.count === STUDENTS));
      for (const s of students) {
        assert.ok(s.lists.length > 0, `student ${s.i} got no list`);
        assert.ok(Math.max(...s.lists) <= 41, `student ${s.i} (node ${s.node}) got a list of ${Math.max(...s.lists)}`);
        assert.equal(s.lists.at(-1), 1, `student ${s.i}'s last list`);
      }

      // A poll: poll-started for everyone crosses to each other node once (the nodes'
      // session fan-out counters), then every vote is counted, the tally right on every node.
      const fanouts = () => totals(all, { messages: 'chorus_session_fanouts_total', sessions: 'chorus_session_fanout_deliveries_total' });
      const before = await fanouts();
      const started = students.map((s) => nextEvent(s.socket, 'poll-started', { timeoutMs: 10000 }));
      const created = await ack(mod, 'create-poll', { roomId: ROOM, question: 'Ready?', options: ['yes', 'no'] });
      assert.ok(created.pollId, JSON.stringify(created));
      await Promise.all(started);
      const after = await fanouts();
      assert.equal(after.messages - before.messages, 2, `poll-started crossed ${after.messages - before.messages} times`);
      assert.ok(after.sessions - before.sessions >= 100, `it reached ${after.sessions - before.sessions} sessions elsewhere`);
      // The votes of the two nodes that are not the room's home (50 students each) cross to
      // it in batches (the nodes' class-batch counters), each answered.
      const batches = () => totals(all, { sent: 'chorus_class_batches_total', requests: 'chorus_class_batched_requests_total' });
      const beforeVotes = await batches();
      const tally = nextEvent(mod, 'poll-results', { match: (p) => p.voters === STUDENTS, timeoutMs: 15000, what: 'the full tally' });
      await Promise.all(students.map(async (s) => {
        assert.deepEqual(await ack(s.socket, 'vote', { roomId: ROOM, pollId: created.pollId, option: s.i % 5 === 0 ? 1 : 0 }), {});
      }));
      assert.deepEqual((await tally)[0].counts, [120, 30]);
      const afterVotes = await batches();
      const votesBatched = afterVotes.requests - beforeVotes.requests;
      const votesBatches = afterVotes.sent - beforeVotes.sent;
      process.stdout.write(`lecture-cluster: 100 votes from the two other nodes crossed in ${votesBatches} batches\n`);
      assert.equal(votesBatched, 100, `${votesBatched} votes crossed in batches`);
      assert.ok(votesBatches >= 2 && votesBatches <= 40, `100 votes crossed in ${votesBatches} batches`);
      await eventually('every student sees the full tally',
        () => students.every((s) => s.polls.at(-1)?.voters === STUDENTS && s.polls.at(-1).counts[1] === 30));

      // The moderator pages everyone, wherever connected.
      const page = await ack(mod, 'get-participants', { roomId: ROOM, limit: 500 });
      assert.equal(page.total, STUDENTS + 1);
      assert.equal(page.audience, STUDENTS);
      assert.deepEqual(new Set(page.participants.map((p) => p.id)).size, STUDENTS + 1);

      // Students leaving from every node are counted out.
      const leaving = students.slice(0, 30);
      for (const s of leaving) s.socket.close();
      const staying = students.slice(30);
      await eventually('the departures counted on every node',
        () => staying.every((s) => s.audience?.count === STUDENTS - 30));

      // The moderator ends the lecture: every student, on every node, hears the end before
      // its connection closes (both cross to the other nodes the broadcasts' way).
      const ends = staying.map((s) => new Promise((resolve) => {
        let ended = null;
        s.socket.on('room-ended', (e) => { ended = e; });
        s.socket.on('disconnect', () => resolve({ s, ended }));
      }));
      assert.deepEqual(await ack(mod, 'end-room', { roomId: ROOM, reason: 'class over' }), {});
      let timer;
      const ended = await Promise.race([
        Promise.all(ends),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('not every student was disconnected within 15 s')), 15000); }),
      ]).finally(() => clearTimeout(timer));
      for (const { s, ended: e } of ended)
        assert.equal(e?.reason, 'class over', `student ${s.i} (node ${s.node}) closed without the end`);
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

// Joins behind a batch to a home that hangs: node-c, the room's home, stops answering
// (SIGSTOP) while one join's batch is under way to it and a second join waits behind that
// batch on node-a. Once node-c is lost (missed heartbeats), the waiting join is placed again
// and served by the room's new home, well before the hung batch's own 10 s timeout.
test('a join waiting for a hung home is placed again once that node is lost', { timeout: 90000 }, async () => {
  await withNodes(async (nodes) => {
    const [a, , c] = await nodes.mesh();
    const sockets = [];
    const student = studentsInto(sockets);
    try {
      // A room homed on node-c, made by joins through node-a.
      let room = null;
      for (let i = 0; i < 30 && !room; i++) {
        const s = await student(a);
        assert.ok(Array.isArray((await ack(s, 'join-mediasoup-room', { roomId: `hung-${i}`, userId: `k${i}`, userName: 'K' })).existingProducers));
        if ((await httpGet(`${c.url}/healthz`)).json.rooms === 1) room = `hung-${i}`;
      }
      assert.ok(room, 'no room of 30 was homed on node-c');
      const first = await student(a);
      const second = await student(a);
      const batches = async () => (await totals([a], { sent: 'chorus_join_batches_total' })).sent;
      const before = await batches();
      process.kill(c.pid, 'SIGSTOP');
      try {
        const one = first.timeout(30000).emitWithAck('join-mediasoup-room', { roomId: room, userId: 'u1', userName: 'One' })
          .then((r) => ({ r }), (e) => ({ e }));
        const sent = Date.now() + 5000;
        while ((await batches()) === before) {
          assert.ok(Date.now() < sent, 'the first join\'s batch did not leave');
          await new Promise((resolve) => { setTimeout(resolve, 20); });
        }
        const t0 = Date.now();
        const two = await second.timeout(30000).emitWithAck('join-mediasoup-room', { roomId: room, userId: 'u2', userName: 'Two' });
        const took = Date.now() - t0;
        assert.ok(Array.isArray(two.existingProducers), JSON.stringify(two));
        assert.ok(took < 8000, `the waiting join took ${took} ms`);
        process.stdout.write(`lecture-cluster: the join behind the hung batch was served in ${took} ms\n`);
        process.kill(c.pid, 'SIGCONT');
        // The hung batch's own join ends either way within its bound (served once node-c
        // answers, or refused at the timeout).
        const settled = await one;
        assert.ok(settled.r || settled.e, 'the first join never settled');
      } finally {
        process.kill(c.pid, 'SIGCONT');
      }
    } finally {
      for (const s of sockets) s.close();
    }
  });
});

// Views that differ: node-b counts a silent member lost only after 4 s, node-a after 1.5 s.
// The room is homed on node-c, and on node-b once node-c is gone. node-c hangs (SIGSTOP);
// once node-a has lost it, a join through node-a goes to node-b, which still places the
// room on node-c and passes the look-up on to it. When node-b loses node-c too, it answers
// the look-up itself (the room is made there), long before the look-up's own 10 s timeout.
test('a join placed at a node that still sees the hung home is served once that node loses it', { timeout: 90000 }, async () => {
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh((id) => (id === 'node-b' ? ['--cluster-heartbeat-timeout-ms', '4000'] : []));
    const sockets = [];
    const student = studentsInto(sockets);
    try {
      // Homed on node-c, then (node-c lost) on node-b.
      const room = roomIdWhere('views', (home) => home(['node-a', 'node-b', 'node-c']) === 'node-c' && home(['node-a', 'node-b']) === 'node-b');
      // The room's first participant is connected to node-c itself: nothing on node-a or
      // node-b rejoins it elsewhere when node-c is lost.
      const first = await student(c);
      assert.ok(Array.isArray((await ack(first, 'join-mediasoup-room', { roomId: room, userId: 'v0', userName: 'V' })).existingProducers));
      assert.equal((await httpGet(`${c.url}/healthz`)).json.rooms, 1, 'the room is not homed on node-c');
      const second = await student(a);
      const t0 = Date.now();
      process.kill(c.pid, 'SIGSTOP');
      try {
        await pollUntil(async () => !(await members(a)).includes('node-c'), { timeoutMs: 8000, what: 'node-a losing node-c' });
        assert.ok((await members(b)).includes('node-c'), 'node-b lost node-c as soon as node-a: the case needs it later');
        const joined = await second.timeout(30000).emitWithAck('join-mediasoup-room', { roomId: room, userId: 'v1', userName: 'W' });
        const took = Date.now() - t0;
        assert.ok(Array.isArray(joined.existingProducers), JSON.stringify(joined));
        assert.ok(took < 9000, `the join was served ${took} ms after node-c hung`);
        assert.equal((await httpGet(`${b.url}/healthz`)).json.rooms, 1, 'the room is not homed on node-b');
        process.stdout.write(`lecture-cluster: the join placed at node-b was served ${took} ms after node-c hung\n`);
      } finally {
        process.kill(c.pid, 'SIGCONT');
      }
    } finally {
      for (const s of sockets) s.close();
    }
  });
});
