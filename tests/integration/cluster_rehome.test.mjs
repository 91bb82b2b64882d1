// Re-homing: a room whose home node is lost is rebuilt on a survivor
// from the survivors' copies, with no participant on a surviving node losing its media; a
// home that stops (SIGTERM) hands its rooms over first; a node that joins receives the
// rooms it is now the home of. Three chorus processes on loopback; media is the bench's
// real ICE/DTLS/SRTP, with the publisher and subscribers on the nodes that stay.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cluster, makeCerts, members, withNodes } from './lib/cluster.mjs';
import { httpGet } from './lib/http.mjs';
import { BENCH_BIN, CHORUS_BIN, runProcess } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { connectPeer, participantIds } from './lib/ws_client.mjs';

const T = { timeout: 120000 };


// The node that homes `room` when `nodes` are live (the rule every node applies).
async function homeOf(room, nodes) {
  const r = await runProcess(CHORUS_BIN, ['home', room, '--nodes', nodes.join(',')], { timeoutMs: 5000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

// A bench run id whose class room is homed on `want` among `nodes`.
async function runIdHomedOn(prefix, want, nodes) {
  for (let i = 0; i < 64; i++) {
    const id = `${prefix}${i}`;
    if (await homeOf(`bench-${id}-class`, nodes) === want) return id;
  }
  throw new Error(`no room of prefix ${prefix} homed on ${want}`);
}

const health = async (n) => (await httpGet(`${n.url}/healthz`)).json;

// Samples node n's relay output until `done` settles: the longest time its count of relayed
// packets handed to local consumers did not grow (a measurement, not a synchronisation).
function watchRelayGap(n, done) {
  let last = null;
  let lastGrowth = performance.now();
  let maxGap = 0;
  let samples = 0;
  let finished = false;
  done.finally(() => { finished = true; });
  const loop = (async () => {
    const until = performance.now() + 60000;
    while (!finished && performance.now() < until) {
      // A node gone (the test failed and stopped it) ends the sampling, so that the failure
      // is what the test reports.
      const h = await health(n).catch(() => null);
      if (!h) break;
      const out = h.relays?.packetsOut ?? 0;
      const now = performance.now();
      if (last !== null && out > last) {
        maxGap = Math.max(maxGap, now - lastGrowth);
        lastGrowth = now;
      }
      if (last === null) lastGrowth = now;
      last = out;
      samples++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return { result: async () => { await loop; return { maxGap, samples }; } };
}

// A class over nodes a and c (publisher on a, subscribers dealt over a and c) in a room
// homed on `home` (b: the node that goes; a: another), plus a plain client of each node in
// that room. `hit(b)` ends b (SIGKILL or SIGTERM) while the media flows. Checked: the bench
// never notices (all consumers, loss under 1 %), c's relay output never pauses for 1 s, b's
// client is reported gone to the others, and the room then lives on one survivor that
// knows the publisher's producers, where b's client rejoins.
async function nodeLeaves(nodes, { prefix, home = 'node-b', hit, meshExtra = () => [], classState = false, askDuringMove = false }) {
  const [a, b, c] = await nodes.mesh(meshExtra);
  const runId = await runIdHomedOn(prefix, home, ['node-a', 'node-b', 'node-c']);
  const room = `bench-${runId}-class`;
  const onB = await connectPeer(b, { auth: 'hb', channelId: room });
  const onA = await connectPeer(a, { auth: 'oa', channelId: room });
  const onC = await connectPeer(c, { auth: 'oc', channelId: room });
  for (const cl of [onA, onC]) {
    await cl.nextOfType('participant-list-update', (m) => ['hb', 'oa', 'oc'].every((id) => participantIds(m).includes(id)), 5000);
  }
  const homeNode = { 'node-a': a, 'node-b': b, 'node-c': c }[home];
  assert.equal((await health(homeNode)).rooms, 1, `the room is homed on ${home}`);

  const bench = runProcess(BENCH_BIN, ['--url', [a, c].map((n) => n.wsUrl('')).join(','),
    '--scenario', 'class', '--subscribers', '4', '--duration-s', '8', '--warmup-s', '1', '--run-id', runId],
  { timeoutMs: 60000, outputBytes: 1 << 20 });
  await pollUntil(async () => ((await health(c)).relays?.packetsIn ?? 0) > 100, { timeoutMs: 20000, what: 'media relayed to c' });
  const gap = watchRelayGap(c, bench);
  if (classState) { // the live class, to see it moved along: a chat message and a raised hand
    assert.equal((await onA.request('chat-message', { text: 'before the move' }, 5000)).type, 'chat-message');
    assert.equal((await onC.request('raise-hand', {}, 5000)).type, 'raise-hand');
  }
  const leftA = onA.nextOfType('participant-left', (m) => m.data.peerId === 'hb', 15000);
  const leftC = onC.nextOfType('participant-left', (m) => m.data.peerId === 'hb', 15000);
  // The survivors' clients ask the room about itself all through the move (one request every
  // 10 ms each, within the request rate, and as a client that honours the server's limit on
  // requests in flight, signaling.maxRequestsInFlight 32, at most half of it unanswered):
  // every one is answered by a room, old or new.
  let asking = askDuringMove;
  const askUntil = performance.now() + 30000; // the move's own waits end within this
  const MAX_UNANSWERED = 16;
  const asked = [onA, onC].map(async (cl) => {
    const answers = [];
    let unanswered = 0;
    while (asking && performance.now() < askUntil) {
      if (unanswered < MAX_UNANSWERED) {
        unanswered += 1;
        answers.push(cl.request('get-room-info', {}, 15000)
          .catch((e) => ({ type: 'no answer', data: e.message }))
          .finally(() => { unanswered -= 1; }));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return Promise.all(answers);
  });
  try {
    await hit(b);
    for (const left of [leftA, leftC]) assert.equal((await left).data.peerId, 'hb');
  } finally {
    asking = false;
  }
  for (const answers of await Promise.all(asked)) {
    const refused = answers.filter((r) => r.type !== 'get-room-info');
    assert.deepEqual(refused, [], `${answers.length} asked during the move`);
  }

  // While the class goes on: the room lives on one survivor now, and knows the
  // survivors' producers: b's client rejoins through c and is offered the publisher's
  // audio and video.
  const rooms = await Promise.all([a, c].map(async (n) => (await health(n)).rooms));
  assert.deepEqual(rooms.slice().sort(), [0, 1], JSON.stringify(rooms));
  const back = await connectPeer(c, { auth: 'hb' });
  const history = classState && back.nextOfType('chat-history', () => true, 5000);
  const hands = classState && back.nextOfType('hands-update', () => true, 5000);
  const joined = await back.request('join-mediasoup-room', { roomId: room }, 5000);
  assert.equal(joined.type, 'join-mediasoup-room', JSON.stringify(joined));
  assert.equal(joined.data.existingProducers.length, 2, JSON.stringify(joined));
  await onA.nextOfType('participant-list-update', (m) => participantIds(m).includes('hb'), 5000);
  if (classState) {
    assert.deepEqual((await history).data.map((m) => m.text), ['before the move']);
    assert.deepEqual((await hands).data.map((h) => h.peerId), ['oc']);
  }

  const run = await bench;
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /8\/8 consumers, 0 failed/, run.stdout);
  const loss = /loss\s+([\d.]+) %/.exec(run.stdout);
  assert.ok(loss && Number(loss[1]) < 1, run.stdout);
  const { maxGap, samples } = await gap.result();
  assert.ok(samples > 10, `${samples} samples`);
  assert.ok(maxGap < 1000, `c's relay paused for ${Math.round(maxGap)} ms`);

  for (const cl of [back, onA, onC]) await cl.close();
}

test('a node that is not the room\'s home is killed while media flows: its client is gone, the others keep their media', T, async () => {
  await withNodes(async (nodes) => {
    await nodeLeaves(nodes, { prefix: 'edge', home: 'node-a', hit: (b) => nodes.kill(b) });
  });
});

test('the room\'s home is killed while media flows: the room is rebuilt on a survivor with its chat and hands, nobody there loses media', T, async () => {
  await withNodes(async (nodes) => {
    // The kill follows the acknowledgements at once: what was acknowledged is on a survivor.
    await nodeLeaves(nodes, { prefix: 'lost', classState: true, hit: (b) => nodes.kill(b) });
  });
});

test('the room\'s home stops (SIGTERM), over TLS links: it hands the room over, with its chat and hands, and exits 0', T, async () => {
  const certs = await makeCerts(['node-a', 'node-b', 'node-c']);
  await withNodes(async (nodes) => {
    await nodeLeaves(nodes, {
      prefix: 'term',
      meshExtra: certs.tls,
      classState: true,
      askDuringMove: true,
      hit: async (b) => {
        const result = await b.stop({ signal: 'SIGTERM' });
        assert.equal(result.code, 0, b.stderr().slice(-3000));
        assert.match(b.stderr(), /handing over \d+ participants/);
      },
    });
  });
});

test('a node that joins receives the rooms it is now the home of; their participants stay connected', T, async () => {
  await withNodes(async (nodes) => {
    // Rooms homed on a or b while only they are up, and on c once c is up.
    const rooms = [];
    for (let i = 0; rooms.length < 2 && i < 200; i++) {
      const room = `moves-${i}`;
      if (await homeOf(room, ['node-a', 'node-b', 'node-c']) === 'node-c') rooms.push(room);
    }
    assert.equal(rooms.length, 2);
    const a = await nodes.start('node-a');
    const seed = (await cluster(a)).listen;
    const b = await nodes.start('node-b', { peers: [seed] });
    await pollUntil(async () => (await members(a)).includes('node-b'), { timeoutMs: 15000, what: 'a and b meshed' });
    const clients = [];
    for (const room of rooms) {
      const x = await connectPeer(a, { auth: `${room}-x`, channelId: room });
      const y = await connectPeer(b, { auth: `${room}-y`, channelId: room });
      await x.nextOfType('participant-list-update', (m) => participantIds(m).length === 2, 5000);
      clients.push([room, x, y]);
    }
    const before = (await health(a)).rooms + (await health(b)).rooms;
    assert.equal(before, 2);
    const c = await nodes.start('node-c', { peers: [seed] });
    await pollUntil(async () => (await health(c)).rooms === 2, { timeoutMs: 15000, what: 'both rooms moved to node-c' });
    assert.equal((await health(a)).rooms + (await health(b)).rooms, 0);
    // No stale copy: the former homes hold one copy per room (their participants are in
    // it), the new home none.
    const copies = async () => Promise.all([a, b, c].map(async (n) => (await health(n)).roomCopies));
    await pollUntil(async () => (await copies()).join() === '2,2,0', { timeoutMs: 5000, intervalMs: 50, what: 'copies 2,2,0 after the move' });
    for (const [room, x, y] of clients) {
      // One room, not two: a joiner through c meets the two that were there before.
      const z = await connectPeer(c, { auth: `${room}-z`, channelId: room });
      for (const cl of [x, y, z]) {
        await cl.nextOfType('participant-list-update', (m) => participantIds(m).length === 3, 5000);
      }
      // The moved participants still use their room: a request the room answers.
      const info = await x.request('get-room-info', {}, 5000);
      assert.equal(info.type, 'get-room-info', JSON.stringify(info));
      assert.equal(info.data.participants.length, 3);
      for (const cl of [x, y, z]) await cl.close();
    }
    // The classes over, no copy of them stays anywhere.
    await pollUntil(async () => (await copies()).join() === '0,0,0', { timeoutMs: 5000, intervalMs: 50, what: 'no copy left once the rooms ended' });
  });
});
