// Cluster membership: several chorus processes on loopback join through
// CAF's middleman, admit only nodes that prove the shared secret, exchange heartbeats with
// their load, and report a node lost when its process dies (down message) or hangs (missed
// heartbeats). A single node starts nothing of it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { SECRET, cluster, homeOf, makeCerts, members, withNodes } from './lib/cluster.mjs';
import { httpGet } from './lib/http.mjs';
import { BENCH_BIN, runChorus, runProcess, startServer, tempConfig, tempDir } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { video } from './lib/rtp_fixtures.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';
import { connectPeer, nextParticipantList } from './lib/ws_client.mjs';

const T = { timeout: 90000 };

// The tests choose room ids by homeOf (lib/cluster.mjs), a copy of the rule the nodes apply:
// it must name the node `chorus home` names.
test('the tests\' homeOf names the home that chorus home names', T, async () => {
  for (const nodes of [['node-a', 'node-b'], ['node-a', 'node-b', 'node-c'], ['node-b', 'node-c']]) {
    for (let i = 0; i < 12; ++i) {
      const room = `home-check-${i}`;
      const r = await runChorus(['home', room, '--nodes', nodes.join(',')], { timeoutMs: 5000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(homeOf(room, nodes), r.stdout.trim(), `${room} over ${nodes}`);
    }
  }
});

test('three nodes from one seed form a full mesh; a wrong secret is never admitted; a dead or hung node is lost', T, async () => {
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh();
    const seed = (await cluster(a)).listen;
    assert.match(seed, /^127\.0\.0\.1:\d+$/);
    // Each entry says where clients reach that node, and its load.
    const viewOfA = await cluster(a);
    const bEntry = viewOfA.nodes.find((n) => n.nodeId === 'node-b');
    assert.equal(bEntry.clientUrl, b.url);
    assert.match(bEntry.clusterAddress, /^127\.0\.0\.1:\d+$/);
    for (const k of ['rooms', 'peers', 'consumers', 'cpuMs', 'lastHeardMs']) assert.equal(typeof bEntry[k], 'number', k);

    // A node with another secret: refused by every node it reaches, never listed.
    const evil = await nodes.start('node-evil', { peers: [seed], secret: 'not the cluster secret at all' });
    await pollUntil(async () => (await cluster(evil)).refused >= 1, { timeoutMs: 10000, what: 'evil refused' });
    assert.deepEqual(await members(evil), []);
    for (const n of [a, b, c]) assert.ok(!(await members(n)).includes('node-evil'));

    // SIGKILL: the others learn at once from CAF (the connection drops).
    await nodes.kill(c);
    for (const n of [a, b]) {
      await pollUntil(async () => !(await members(n)).includes('node-c'), { timeoutMs: 3000, what: `node-c gone from ${n.url}` });
      assert.ok((await cluster(n)).lost >= 1);
    }

    // SIGSTOP: the connection stays, the heartbeats stop: lost after the timeout (1.5 s)
    // since the last heartbeat heard, which node-b sent up to an interval (1 s) before it
    // stopped, and seen on node-a's next tick: 0.5 to 2.5 s after the stop.
    process.kill(b.pid, 'SIGSTOP');
    const t0 = performance.now();
    try {
      await pollUntil(async () => !(await members(a)).includes('node-b'), { timeoutMs: 6000, what: 'hung node-b lost' });
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 400, `lost after ${elapsed} ms, before the heartbeat timeout less an interval`);
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    // Back: it is admitted again (a dials it again with backoff).
    await pollUntil(async () => (await members(a)).includes('node-b') && (await members(b)).includes('node-a'),
      { timeoutMs: 20000, what: 'node-b back' });
  });
});

// CA and node certificates made by the project's own script.
test('with TLS: three nodes mesh; a node of another CA and a node without TLS are refused', T, async () => {
  const ours = await makeCerts(['node-a', 'node-b', 'node-c']);
  const theirs = await makeCerts(['node-x']);
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh(ours.tls);
    const seed = (await cluster(a)).listen;
    for (const [node, others] of [[a, ['node-b', 'node-c']], [b, ['node-a', 'node-c']], [c, ['node-a', 'node-b']]]) {
      await pollUntil(async () => JSON.stringify(await members(node)) === JSON.stringify(others),
        { timeoutMs: 15000, what: `${others} in ${node.url}/healthz (TLS)` });
    }
    assert.doesNotMatch(a.stderr(), /not encrypted/);
    // Another CA's certificate, and no TLS at all: the TLS handshake fails (the secret is
    // right), so they never get as far as the admission exchange. CAF's dial reports a
    // handshake refused while it still waits in connect() as cannot_connect_to_node, one
    // refused after it as disconnect_during_handshake (which of the two is timing: the
    // first was seen once, under the sanitizer); the seed listens, so either is the TLS
    // handshake refused.
    const x = await nodes.start('node-x', { peers: [seed], extra: theirs.tls('node-x') });
    const plain = await nodes.start('node-plain', { peers: [seed] });
    assert.match(plain.stderr(), /not encrypted/);
    const refused = /disconnect_during_handshake|cannot_connect_to_node/;
    await pollUntil(() => refused.test(x.stderr()) && refused.test(plain.stderr()),
      { timeoutMs: 10000, what: 'both refused in the TLS handshake' });
    for (const n of [x, plain]) assert.deepEqual(await members(n), []);
    // The refused nodes keep retrying: the cluster's own links never drop for it (CAF's
    // TLS module used to drop them on a stale OpenSSL error: app/openssl_error_queue.cpp).
    await pollUntil(async () => (await cluster(x)).dialFailures >= 3 && (await cluster(plain)).dialFailures >= 3,
      { timeoutMs: 15000, what: 'node-x and node-plain refused three times each' });
    for (const n of [a, b, c]) {
      assert.equal((await members(n)).length, 2, n.url);
      assert.equal((await cluster(n)).lost, 0, `${n.url} lost a link`);
    }
    for (const n of [a, b, c]) {
      const ids = await members(n);
      assert.ok(!ids.includes('node-x') && !ids.includes('node-plain'), JSON.stringify(ids));
    }
  });
});


test('one room across three nodes: events reach everyone, media crosses nodes, a lost node\'s peers leave', T, async () => {
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh();
    // Three clients, one per node, in one room (seed 001: channelId joins at connect).
    const room = 'across-nodes';
    const clients = [];
    for (const [n, id] of [[a, 'ua'], [b, 'ub'], [c, 'uc']]) clients.push(await connectPeer(n, { auth: id, channelId: room }));
    for (const cl of clients) await nextParticipantList(cl, ['ua', 'ub', 'uc'], 5000);
    // The room lives on one node (its home by rendezvous); the others hold only their peers.
    const rooms = await Promise.all([a, b, c].map(async (n) => (await httpGet(`${n.url}/healthz`)).json.rooms));
    assert.deepEqual(rooms.slice().sort(), [0, 0, 1], JSON.stringify(rooms));
    // A client leaves: the others, on other nodes, are told.
    await clients[1].close();
    for (const cl of [clients[0], clients[2]]) {
      const left = await cl.nextOfType('participant-left', (m) => m.data.peerId === 'ub', 5000);
      assert.equal(left.data.peerId, 'ub');
    }
    await clients[0].close();
    await clients[2].close();

    // Media across nodes: a meeting of three, one participant per node, real ICE/DTLS/SRTP.
    const run = await runProcess(BENCH_BIN, ['--url', [a, b, c].map((n) => n.wsUrl('')).join(','),
      '--scenario', 'meeting', '--participants', '3', '--duration-s', '2', '--warmup-s', '1',
      '--json', path.join(tempDir('chorus-cluster-bench-'), 'r.json')], { timeoutMs: 45000, outputBytes: 1 << 20 });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const setup = /setup: 3 participants .* (\d+)\/(\d+) consumers, (\d+) failed/.exec(run.stdout);
    assert.ok(setup, run.stdout);
    assert.deepEqual([setup[1], setup[2], setup[3]], ['12', '12', '0'], run.stdout);
    const loss = /loss\s+([\d.]+) %/.exec(run.stdout);
    assert.ok(loss && Number(loss[1]) < 1, run.stdout);

    // Once per link: a class whose publisher is on a, with 3 subscribers on each node (the
    // bench deals participants over the URLs in turn). b and c each receive the producer's
    // packets once, through one relay per producer, and hand 3 copies to their consumers.
    const relaysBefore = await Promise.all([b, c].map(async (n) => (await httpGet(`${n.url}/healthz`)).json.relays));
    const classRun = await runProcess(BENCH_BIN, ['--url', [a, b, c].map((n) => n.wsUrl('')).join(','),
      '--scenario', 'class', '--subscribers', '9', '--duration-s', '2', '--warmup-s', '1',
      '--node-pids', [a, b, c].map((n) => n.pid).join(',')], { timeoutMs: 45000, outputBytes: 1 << 20 });
    assert.equal(classRun.code, 0, classRun.stdout + classRun.stderr);
    assert.match(classRun.stdout, /18\/18 consumers, 0 failed/, classRun.stdout);
    // The bench's rows per node: the link into b and c carries the publisher's rate once
    // (audio and video, about 200 packets/s), and each hands out 3 copies; the CPU is read.
    const rows = [...classRun.stdout.matchAll(/node\s+(ws:\S+): relays in ([\d.]+) packets\/s \(the link into it\), out ([\d.]+) packets\/s; CPU/g)];
    assert.equal(rows.length, 3, classRun.stdout);
    for (const [, url, inRate, outRate] of rows.slice(1)) {
      assert.ok(Number(inRate) > 100 && Number(inRate) < 400, `${url}: ${inRate} packets/s in`);
      assert.ok(Math.abs(Number(outRate) - 3 * Number(inRate)) < 0.1 * Number(outRate), `${url}: ${outRate} out`);
    }
    const classLoss = /loss\s+([\d.]+) %/.exec(classRun.stdout);
    assert.ok(classLoss && Number(classLoss[1]) < 1, classRun.stdout);
    for (const [i, n] of [b, c].entries()) {
      const r = (await httpGet(`${n.url}/healthz`)).json.relays;
      const inc = r.packetsIn - relaysBefore[i].packetsIn;
      const out = r.packetsOut - relaysBefore[i].packetsOut;
      assert.ok(inc > 100, `${n.url}: relayed ${inc} packets`);
      assert.ok(out >= 2.9 * inc && out <= 3 * inc, `${n.url}: ${inc} packets in, ${out} out (3 consumers each)`);
      await pollUntil(async () => (await httpGet(`${n.url}/healthz`)).json.relays.active === 0,
        { timeoutMs: 5000, what: `relays gone at ${n.url}` });
    }

    // A node dies: its client leaves the room for the others.
    const home = [a, b, c][rooms.indexOf(1)];
    const edge = [a, b, c].find((n) => n !== home);
    const other = [a, b, c].find((n) => n !== home && n !== edge);
    const onHome = await connectPeer(home, { auth: 'h1', channelId: room });
    const onEdge = await connectPeer(edge, { auth: 'e1', channelId: room });
    const onOther = await connectPeer(other, { auth: 'o1', channelId: room });
    await nextParticipantList(onHome, ['e1', 'h1', 'o1'], 5000);
    await nodes.kill(edge);
    for (const cl of [onHome, onOther]) {
      const left = await cl.nextOfType('participant-left', (m) => m.data.peerId === 'e1', 5000);
      assert.equal(left.data.peerId, 'e1');
    }
    await onHome.close();
    await onOther.close();
  });
});

test('feedback crosses the link: remote receivers get sender reports and NACK what they miss, the loss is NACKed to the publisher and mostly repaired', T, async () => {
  // node-a drops 3 % of the RTP it receives (fault injection): the publisher's packets are
  // lost on the way in and repaired by NACK and retransmission, while every subscriber is
  // on node-b (--remote-subscribers: all of its media crossed the link). (Keyframe requests
  // crossing back: browser_cluster.test.mjs, where Chromium decodes across nodes.)
  const lossy = tempConfig({ rtc: { dropRtpPercent: 3 } });
  await withNodes(async (nodes) => {
    const a = await nodes.start('node-a', { extra: ['--config', lossy] });
    const b = await nodes.start('node-b', { peers: [(await cluster(a)).listen] });
    await pollUntil(async () => (await members(a)).includes('node-b') && (await members(b)).includes('node-a'),
      { timeoutMs: 15000, what: 'a and b meshed' });
    const json = path.join(tempDir('chorus-cluster-feedback-'), 'r.json');
    const run = await runProcess(BENCH_BIN, ['--url', [a, b].map((n) => n.wsUrl('')).join(','),
      '--scenario', 'class', '--subscribers', '4', '--remote-subscribers', '--duration-s', '6', '--warmup-s', '1',
      '--json', json], { timeoutMs: 45000, outputBytes: 1 << 20 });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /8\/8 consumers, 0 failed/, run.stdout);
    const r = JSON.parse(fs.readFileSync(json, 'utf8'));
    const text = JSON.stringify({ sent: r.sent, delivered: r.delivered, feedback: r.feedback });
    assert.ok(r.feedback.senderReportsReceived > 0, `sender reports reached the remote receivers: ${text}`);
    assert.ok(r.feedback.nackPackets > 0, `the remote receivers NACKed what they missed: ${text}`);
    assert.ok(r.sent.nacksReceived > 0 && r.sent.retransmissions > 0, `the loss was NACKed and retransmitted: ${text}`);
    // Most of the injected 3 % is repaired in the window (what is still in flight at its
    // end counts as lost; audio is not NACKed, so about 0.8 % stays). A 6 s window: over 3 s
    // the drops' count alone spread the loss from 0.4 to 1.7 % on a quiet machine and once
    // past 2 % in CI, the bound a chance, not the repair, decided.
    const loss = /loss\s+([\d.]+) %/.exec(run.stdout);
    assert.ok(loss && Number(loss[1]) < 2, run.stdout);
  });
});

test('a producer on one node, its consumer on another: pause, resume and close reach the consumer as if local', T, async () => {
  await withNodes(async (nodes) => {
    const [a, b] = await nodes.mesh();
    const room = 'pause-across';
    const sender = await connectPeer(a, { auth: 'sender', channelId: room });
    const receiver = await connectPeer(b, { auth: 'receiver', channelId: room });
    await nextParticipantList(sender, ['receiver', 'sender'], 5000);
    const caps = (await receiver.request('get-rtp-capabilities', {}, 5000)).data;
    const t = await sender.request('create-webrtc-transport', { direction: 'send' }, 5000);
    const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };
    await sender.request('connect-transport', { transportId: t.data.params.id, dtlsParameters: DTLS }, 5000);
    const cam = await sender.request('produce', { transportId: t.data.params.id, kind: 'video', rtpParameters: video(7300) }, 5000);
    assert.equal(cam.type, 'producer-id', JSON.stringify(cam));
    const recv = await receiver.request('create-webrtc-transport', { direction: 'recv' }, 5000);
    const consumer = await receiver.request('consume', { transportId: recv.data.params.id, producerId: cam.data.id, rtpCapabilities: caps }, 5000);
    assert.equal(consumer.type, 'consumer-params', JSON.stringify(consumer));
    // The consumer on b reads its producer on a through b's relay.
    await pollUntil(async () => (await httpGet(`${b.url}/healthz`)).json.relays.active === 1, { timeoutMs: 5000, what: 'a relay on b' });
    const paused = receiver.nextOfType('producer-paused', (m) => m.data.producerId === cam.data.id, 5000);
    await sender.expectReply('pause-producer', { producerId: cam.data.id }, 'pause-producer', 5000);
    await paused;
    const resumed = receiver.nextOfType('producer-resumed', (m) => m.data.producerId === cam.data.id, 5000);
    await sender.expectReply('resume-producer', { producerId: cam.data.id }, 'resume-producer', 5000);
    await resumed;
    const closed = receiver.nextOfType('consumer-closed', (m) => m.data.consumerId === consumer.data.id, 5000);
    await sender.expectReply('close-producer', { producerId: cam.data.id }, 'close-producer', 5000);
    await closed;
    await pollUntil(async () => (await httpGet(`${b.url}/healthz`)).json.relays.active === 0, { timeoutMs: 5000, what: 'the relay gone with its producer' });
    await sender.close();
    await receiver.close();
  });
});

test('tokens and moderation across nodes: the room on its home decides for peers on every node', T, async () => {
  await withNodes(async (nodes) => {
    const auth = jwtArgs();
    const [a, b, c] = await nodes.mesh(() => auth);
    const room = 'moderated';
    const token = (sub, role) => sign({ sub, room, role });
    const teacher = await connectPeer(a, { token: token('teacher', 'teacher'), channelId: room });
    const student = await connectPeer(b, { token: token('student', 'student'), channelId: room });
    await nextParticipantList(teacher, ['student', 'teacher'], 5000);
    const t = await student.request('create-webrtc-transport', { direction: 'send' }, 5000);
    const sendId = t.data.params.id;
    const DTLS = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: Array(32).fill('AB').join(':') }] };
    await student.request('connect-transport', { transportId: sendId, dtlsParameters: DTLS }, 5000);
    assert.equal((await student.request('produce', { transportId: sendId, kind: 'video', rtpParameters: video(7100) }, 5000)).data?.code, 'forbidden');
    assert.equal((await teacher.request('allow-publish', { peerId: 'student', kinds: ['video'] }, 5000)).type, 'allow-publish');
    const cam = await student.request('produce', { transportId: sendId, kind: 'video', rtpParameters: video(7100) }, 5000);
    assert.equal(cam.type, 'producer-id', JSON.stringify(cam));
    await teacher.request('mute-peer', { peerId: 'student', kind: 'video' }, 5000);
    assert.deepEqual((await student.nextOfType('producer-paused', () => true, 5000)).data, { producerId: cam.data.id, byModerator: true });
    assert.equal((await student.request('resume-producer', { producerId: cam.data.id }, 5000)).data?.code, 'forbidden');
    // Block: kicked on node b, refused through node c.
    await teacher.request('block-peer', { peerId: 'student', reason: 'noise' }, 5000);
    assert.equal((await student.nextOfType('kicked', () => true, 5000)).data.blocked, true);
    assert.equal((await student.closedWithin(5000)).code, 4006);
    const again = await connectPeer(c, { token: token('student', 'student') });
    assert.equal((await again.request('join-mediasoup-room', { roomId: room }, 5000)).data?.code, 'blocked');
    await again.close();
    await teacher.close();
  });
});

test('a single node starts nothing of the cluster; a cluster without a valid secret does not start', T, async () => {
  const single = await startServer(['--log-level', 'warn']);
  try {
    const health = (await httpGet(`${single.url}/healthz`)).json;
    assert.equal(health.cluster, undefined);
  } finally {
    assert.equal((await single.stop()).code, 0);
  }
  for (const [args, message] of [
    [['--cluster-listen', '127.0.0.1:0'], /cluster needs a shared secret/],
    [['--cluster-peers', '127.0.0.1:1', '--cluster-secret', 'short'], /at least 16 bytes/],
    [['--cluster-listen', 'nowhere:1', '--cluster-secret', SECRET], /--cluster-listen/],
    [['--cluster-listen', '127.0.0.1:0', '--cluster-secret-file', '/nonexistent/secret'], /cannot read the file/],
    [['--cluster-listen', '127.0.0.1:0', '--cluster-secret', SECRET, '--cluster-cert', '/x/a.pem'], /go together/],
  ]) {
    const r = await runChorus(['--listen', '127.0.0.1:0', ...args], { timeoutMs: 5000 });
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
});
