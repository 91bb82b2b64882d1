// The signaling edge on several threads (--edge-threads 4; net/http_server.hpp): plain
// WebSocket peers and socket.io clients (WebSocket, polling upgraded to WebSocket, polling
// only) join one room all at once; each sees everyone, requests are answered on every
// connection while others leave abruptly, nothing is left afterwards, the connections'
// work ran on more than one edge thread, and a shutdown with held polls and open
// WebSockets exits cleanly. Plain HTTP and TLS both.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT, tempDir, withServer } from './lib/server.mjs';
import { closeEngine, connectSio, nextEvent } from './lib/socketio.mjs';
import { closeAll, connectPeer, nextParticipantList } from './lib/ws_client.mjs';

const T = { timeout: 120000 };
const ROOM = 'edge-threads';
const PLAIN = 24; // plain WebSocket peers
const SIO = 24; // socket.io clients, a third on each transport setting
const TRANSPORTS = [['websocket'], undefined, ['polling']]; // undefined: polling, then upgrade

const ack = (socket, event, data) => socket.timeout(8000).emitWithAck(event, data);

// Nanoseconds on the CPU of each edge thread of `pid` (the main thread runs the edge too).
function edgeThreadsCpu(pid) {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let comm;
    try {
      comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    if (comm.startsWith('chorus-edge-')) {
      out[comm] = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
  }
  return out;
}

// The test's own self-signed pair (TLS) is not verified.
const UNVERIFIED = { rejectUnauthorized: false };

async function storm(server) {
  const plain = Array.from({ length: PLAIN }, (_, i) => connectPeer(server, { auth: `p${i}`, channelId: ROOM }, { timeoutMs: 8000, wsOptions: UNVERIFIED }));
  const sio = Array.from({ length: SIO }, (_, i) => connectSio(server, { transports: TRANSPORTS[i % 3], timeoutMs: 8000, query: { roomId: ROOM, name: `s${i}` }, clientOptions: UNVERIFIED }));
  const peers = await Promise.all(plain);
  const sockets = await Promise.all(sio);
  // A client the server drops would show as a missing list below: say why it went.
  const dropped = [];
  sockets.forEach((s, i) => s.on('disconnect', (reason, details) => {
    const why = details?.description?.message ?? details?.description ?? details?.context?.statusText ?? '';
    dropped.push(`s${i} over ${s.io.engine?.transport?.name ?? '?'}: ${reason}${why ? ` (${why})` : ''}${details?.context?.status ? ` HTTP ${details.context.status}` : ''}`);
  }));
  // Every socket.io client joins (the plain peers joined with channelId); then everyone
  // sees the whole room.
  const caps = await ack(sockets[0], 'get-rtp-capabilities', { roomId: ROOM });
  const everyone = [...peers.map((_, i) => `p${i}`), ...sockets.map((s) => s.id)];
  const lists = peers.map((p) => nextParticipantList(p, everyone, 20000));
  const sioLists = sockets.map((s) => nextEvent(s, 'participant-list-update', { match: (l) => l.length === everyone.length, timeoutMs: 20000 }));
  await Promise.all(sockets.map((s) => ack(s, 'join-mediasoup-room', { roomId: ROOM, rtpCapabilities: caps.rtpCapabilities })));
  await Promise.all([...lists, ...sioLists]).catch((e) => {
    throw new Error(`${e.message}\nsocket.io clients disconnected: ${dropped.join(', ') || 'none'}`);
  });
  assert.deepEqual(dropped, [], 'no socket.io client was disconnected');
  for (const s of sockets) s.removeAllListeners('disconnect');
  return { peers, sockets };
}

async function stormAndLeave(server) {
  const { peers, sockets } = await storm(server);
  // Half of each kind leave without a word (a dropped TCP connection, an engine closed)
  // while the others keep asking, each on its own connection.
  const leaving = [...peers.slice(0, PLAIN / 2).map((p) => p.ws.terminate()), ...sockets.slice(0, SIO / 2).map((s) => closeEngine({ socket: s }))];
  const staying = await Promise.all([
    ...peers.slice(PLAIN / 2).map(async (p) => {
      for (let k = 0; k < 5; k++) assert.equal((await p.request('get-rtp-capabilities', undefined, 8000)).type, 'rtp-capabilities');
    }),
    ...sockets.slice(SIO / 2).map(async (s) => {
      for (let k = 0; k < 5; k++) assert.ok((await ack(s, 'get-rtp-capabilities', { roomId: ROOM })).rtpCapabilities);
    }),
  ]);
  assert.equal(staying.length, PLAIN / 2 + SIO / 2);
  await Promise.all(leaving);
  return { peers: peers.slice(PLAIN / 2), sockets: sockets.slice(SIO / 2) };
}

test('--edge-threads 4: a storm of WebSocket and socket.io joins, requests while others drop, nothing left, several threads at work', T, async () => {
  await withServer(['--edge-threads', '4', '--max-connections-per-ip', '0'], async (server) => {
    // (the threads start once the server listens: those not there yet have done nothing)
    const before = edgeThreadsCpu(server.pid);
    const { peers, sockets } = await stormAndLeave(server);
    const after = edgeThreadsCpu(server.pid);
    assert.deepEqual(Object.keys(after).sort(), ['chorus-edge-1', 'chorus-edge-2', 'chorus-edge-3']);
    const busy = Object.keys(after).filter((k) => after[k] > (before[k] ?? 0));
    // The main thread runs the edge as the fourth; at least two of the three others worked.
    assert.ok(busy.length >= 2, `edge threads that ran: ${JSON.stringify(after)}`);
    await closeAll(peers);
    for (const s of sockets) closeEngine({ socket: s });
    const health = await waitForNoPeers(server, { timeoutMs: 10000 });
    assert.equal(health.peers, 0);
    const edge = (await httpGet(`${server.url}/healthz`)).json.edge;
    assert.ok(edge && typeof edge === 'object', 'edge counters in /healthz');
  });
});

test('--edge-threads 4: shutdown while held polls, upgraded sessions and WebSockets are open exits cleanly', T, async () => {
  await withServer(['--edge-threads', '4', '--max-connections-per-ip', '0'], async (server) => {
    const { peers, sockets } = await storm(server);
    const closed = [
      ...peers.map((p) => p.closed()),
      ...sockets.map((s) => nextEvent(s, 'disconnect', { timeoutMs: 8000 })),
    ];
    const r = await server.stop({ timeoutMs: 8000 });
    assert.equal(r.code, 0, `exit code ${r.code}\n${server.stderr()}`);
    assert.equal(r.timedOut, false);
    await Promise.all(closed);
  });
});

test('--edge-threads 4 over TLS: joins on every transport, then nothing left', T, async () => {
  const dir = tempDir('chorus-edge-tls-');
  execFileSync(path.join(REPO_ROOT, 'scripts/make-self-signed.sh'), ['--out', dir], { stdio: 'pipe' });
  const tls = ['--tls-cert', path.join(dir, 'chorus-cert.pem'), '--tls-key', path.join(dir, 'chorus-key.pem')];
  try {
    await withServer(['--edge-threads', '4', '--max-connections-per-ip', '0', ...tls], async (server) => {
      const { peers, sockets } = await stormAndLeave(server);
      await closeAll(peers);
      for (const s of sockets) closeEngine({ socket: s });
      await waitForNoPeers(server, { timeoutMs: 10000 });
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
