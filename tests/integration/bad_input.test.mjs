// Hostile and broken clients against the real binary: every bad frame gets exactly one
// typed error and the connection stays usable; a peer in the same room keeps being served
// meanwhile; frames over the size limit, slow readers, silent peers, bad query strings and
// full rooms are cut off with the documented close codes; the server stays healthy.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RTP_CAPS_OK, RTP_PARAMS_OK, cases } from './lib/bad_frames.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { tempConfig, withServer } from './lib/server.mjs';
import { pollUntil, serverSideEstablished, tcpBufferMax } from './lib/tcp.mjs';
import { closeAll, connectPeer, isReply, nextParticipantList } from './lib/ws_client.mjs';
import WebSocket from 'ws';

const T = { timeout: 120000 };

const MAX_MESSAGE_BYTES = 65536; // signaling.maxMessageBytes default
const BOB_DEADLINE_MS = 2000; // bob's requests are answered within this, whatever mallory does
const BATCH = 8; // frames mallory pipelines before awaiting their replies (< maxRequestsInFlight)
const BOB_EVERY_BATCHES = 3; // bob asks something every BATCH * BOB_EVERY_BATCHES frames
const ROUNDS = 3; // how many times each case is sent (with different requestIds, shuffled)

// ---- helpers ----------------------------------------------------------------------------

// A deterministic shuffle (mulberry32), so that a failure can be replayed.
function shuffled(list, seed) {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const outcome = (m) => (m.type === 'error' ? m.data?.code : `reply:${m.type}`);

function checkReply(c, reply) {
  const got = outcome(reply);
  const shown = JSON.stringify(reply).slice(0, 400);
  assert.ok(c.expect.includes(got), `case '${c.name}': expected ${c.expect.join(' or ')}, got ${shown}`);
  if (reply.type === 'error') {
    assert.equal(typeof reply.data?.message, 'string', `case '${c.name}': error without data.message: ${shown}`);
    assert.ok(reply.data.message.length > 0, `case '${c.name}': empty data.message`);
    if (c.request !== undefined) {
      assert.ok(
        reply.data.request === c.request,
        `case '${c.name}': data.request should be ${JSON.stringify(c.request)}, got ${JSON.stringify(reply.data.request)?.slice(0, 80)}`,
      );
    }
  }
}

async function bobIsServed(bob, label) {
  const t0 = performance.now();
  const reply = await bob.request('get-rtp-capabilities', undefined, BOB_DEADLINE_MS);
  assert.equal(reply.type, 'rtp-capabilities', `bob ${label}: ${JSON.stringify(reply).slice(0, 200)}`);
  return performance.now() - t0;
}

test('bad frames each get exactly one typed error; other peers keep being served; oversized frames close 1009', T, async (t) => {
  await withServer([], async (server) => {
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    const mallory = await connectPeer(server, { auth: 'mallory', channelId: 'room1' });
    await nextParticipantList(bob, ['bob', 'mallory']);

    let ridCounter = 0;
    const frames = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of shuffled(cases, 1234 + round)) frames.push(c);
    }
    assert.ok(frames.length >= 300, `only ${frames.length} frames`);

    // Batches of up to BATCH frames, at most one of them without a readable requestId (its
    // reply is recognised by having none, so it must be the only such reply outstanding).
    const batches = [];
    for (const c of frames) {
      let last = batches.at(-1);
      if (!last || last.length >= BATCH || (!c.rid && last.some((x) => !x.rid))) batches.push((last = []));
      last.push(c);
    }

    let bobWorst = 0;
    let sent = 0;
    for (const [n, group] of batches.entries()) {
      const batch = group.map((c) => {
        ridCounter += 1;
        const rid = ridCounter % 2 ? ridCounter : `m-${ridCounter}`;
        const f = c.build(rid);
        mallory.sendRaw(f.text, { binary: !!f.binary });
        return { c, rid: c.rid ? rid : undefined };
      });
      sent += batch.length;
      for (const { c, rid } of batch) {
        const reply =
          rid !== undefined
            ? await mallory.next((m) => isReply(m) && m.requestId === rid, 5000, `reply to case '${c.name}' (requestId ${rid})`)
            : await mallory.next((m) => isReply(m) && !('requestId' in m), 5000, `reply without requestId to case '${c.name}'`);
        checkReply(c, reply);
      }
      // Exactly one reply per frame: none left over once the batch's replies are in.
      const extra = mallory.take(isReply);
      assert.deepEqual(
        extra.map((m) => JSON.stringify(m).slice(0, 200)),
        [],
        `replies nobody asked for, after the batch [${group.map((c) => c.name).join('; ')}]`,
      );
      if ((n + 1) % BOB_EVERY_BATCHES === 0) {
        bobWorst = Math.max(bobWorst, await bobIsServed(bob, `after ${sent} bad frames`));
      }
    }
    // Exactly one reply each: after one more round trip nothing else is waiting.
    await mallory.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    const extra = mallory.take(isReply);
    assert.deepEqual(extra.map((m) => JSON.stringify(m).slice(0, 200)), [], 'replies nobody asked for');
    assert.ok(bobWorst < BOB_DEADLINE_MS);
    t.diagnostic(`${frames.length} bad frames (${cases.length} cases x ${ROUNDS}) in ${batches.length} batches; bob's slowest reply ${Math.round(bobWorst)} ms`);

    // Exactly at the size limit: served.
    const prefix = '{"type":"get-rtp-capabilities","requestId":"at-limit","pad":"';
    const suffix = '"}';
    const atLimit = prefix + 'p'.repeat(MAX_MESSAGE_BYTES - prefix.length - suffix.length) + suffix;
    assert.equal(Buffer.byteLength(atLimit), MAX_MESSAGE_BYTES);
    mallory.sendRaw(atLimit);
    const limitReply = await mallory.next((m) => m.requestId === 'at-limit', 5000, 'reply to a frame of exactly maxMessageBytes');
    assert.equal(limitReply.type, 'rtp-capabilities', JSON.stringify(limitReply).slice(0, 200));

    // One byte over: the connection is closed with 1009.
    const overLimit = prefix + 'p'.repeat(MAX_MESSAGE_BYTES + 1 - prefix.length - suffix.length) + suffix;
    assert.equal(Buffer.byteLength(overLimit), MAX_MESSAGE_BYTES + 1);
    mallory.sendRaw(overLimit);
    const { code } = await mallory.closedWithin(5000);
    assert.equal(code, 1009, 'close code for a frame over maxMessageBytes');

    const left = await bob.nextOfType('participant-left', undefined, 5000);
    assert.deepEqual(left.data, { peerId: 'mallory' });
    await nextParticipantList(bob, ['bob']);
    await bobIsServed(bob, 'after mallory was cut off');
    const health = await httpGet(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await bob.close();
    await waitForNoPeers(server);
  });
});

test('a slow reader is disconnected, the server stays healthy', T, async (t) => {
  // maxRequestsInFlight is raised so that every pipelined request gets a full reply.
  const config = tempConfig({ signaling: { maxQueuedBytes: 65536, maxRequestsInFlight: 4096 } });
  await withServer(['--config', config], async (server) => {
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    const slow = await connectPeer(server, { auth: 'slow', channelId: 'room1' });
    await nextParticipantList(bob, ['bob', 'slow']);
    const capsBytes = JSON.stringify((await bob.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities')).data).length;

    // Enough replies to fill the kernel's buffers and the server's queue with room to spare.
    const [sndMax] = tcpBufferMax();
    const count = Math.min(20000, Math.max(3000, Math.ceil((1.5 * (sndMax + (1 << 20) + 65536)) / capsBytes)));

    const socket = slow.ws._socket;
    const serverPort = server.port;
    const clientPort = socket.localPort;
    assert.equal(serverSideEstablished(serverPort, clientPort), true, 'the connection is visible in /proc/net/tcp');
    socket.pause();
    for (let i = 0; i < count; i++) slow.send({ type: 'get-rtp-capabilities', requestId: i });

    // The server's end of the connection leaves ESTABLISHED when it gives up on the client.
    await pollUntil(() => !serverSideEstablished(serverPort, clientPort), {
      timeoutMs: 20000,
      what: `server drops a client that does not read ${count} replies of ${capsBytes} bytes`,
    });
    socket.resume();
    const { code } = await slow.closedWithin(10000);
    assert.ok([1008, 1006].includes(code), `slow reader close code ${code} (1008, or 1006 without a close frame)`);
    assert.ok(slow.received < count, `slow reader got all ${count} replies`);
    t.diagnostic(`slow reader: ${count} requests for ${capsBytes}-byte replies; got ${slow.received} messages, then close code ${code}`);

    const left = await bob.nextOfType('participant-left', undefined, 5000);
    assert.deepEqual(left.data, { peerId: 'slow' });
    await bobIsServed(bob, 'after the slow reader was dropped');
    const health = await httpGet(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await bob.close();
    await waitForNoPeers(server);
  });
});

test('a peer that does not answer pings is closed after idleTimeoutMs; one that does stays', T, async () => {
  const config = tempConfig({ signaling: { idleTimeoutMs: 1000 } });
  await withServer(['--config', config], async (server) => {
    const t0 = performance.now();
    const [silent, normal] = await Promise.all([
      connectPeer(server, { auth: 'silent', channelId: 'room1' }, { wsOptions: { autoPong: false } }),
      connectPeer(server, { auth: 'normal', channelId: 'room1' }),
    ]);
    await silent.closedWithin(3500);
    const closedAfter = performance.now() - t0;
    assert.ok(closedAfter >= 500, `closed after ${Math.round(closedAfter)} ms, before the idle timeout`);
    assert.equal(normal.isOpen, true, 'the answering peer was closed too');

    // The answering peer outlives several ping periods (pings come every ~idleTimeoutMs/2).
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`normal peer got ${normal.pings} pings in 5000 ms`)), 5000);
      const check = () => {
        if (normal.pings >= 4) {
          clearTimeout(timer);
          normal.ws.off('ping', check);
          resolve();
        }
      };
      normal.ws.on('ping', check);
      check();
    });
    assert.equal(normal.isOpen, true);
    assert.ok(performance.now() - t0 > 1500, 'the answering peer outlived the idle timeout');
    await normal.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    const left = await normal.nextOfType('participant-left');
    assert.deepEqual(left.data, { peerId: 'silent' });
    await normal.close();
  });
});

test('invalid query strings are closed with 4002', T, async () => {
  await withServer([], async (server) => {
    const rejected = async (query) => {
      const ws = new WebSocket(server.wsUrl(`/socket?${query}`), { handshakeTimeout: 3000 });
      ws.on('error', () => {});
      const code = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          ws.terminate();
          reject(new Error(`?${query.slice(0, 60)}: still open after 3000 ms`));
        }, 3000);
        ws.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
        ws.on('unexpected-response', (req, res) => {
          clearTimeout(timer);
          req.destroy();
          reject(new Error(`?${query.slice(0, 60)}: upgrade refused with HTTP ${res.statusCode}, expected close code 4002`));
        });
      });
      assert.equal(code, 4002, `close code for ?${query.slice(0, 60)}`);
    };
    // Every query is tried; the failures are reported together.
    const failures = [];
    for (const query of [
      `auth=${'a'.repeat(129)}&channelId=room1`,
      'auth=%00bad&channelId=room1',
      'auth=bad%0Aline&channelId=room1',
      'auth=%zz&channelId=room1',
      'auth=ok&channelId=%zz',
      `auth=ok&channelId=${'c'.repeat(129)}`,
      'auth=ok&channelId=room%01',
      'auth=ok&channelId=room1&name=%7F',
      'auth=ok&channelId=room1&name=%FF', // not UTF-8: it would reach the others' JSON
      'auth=%C3%28&channelId=room1',
      'auth=ok&channelId=room%ED%A0%80',
    ]) {
      await rejected(query).catch((e) => failures.push(e.message.split('\n')[0]));
    }
    assert.deepEqual(failures, [], 'invalid query strings that were not closed with 4002');

    // 128 bytes is still fine.
    const longId = 'a'.repeat(128);
    const edge = await connectPeer(server, { auth: longId, channelId: 'room1' });
    await nextParticipantList(edge, [longId]);
    await edge.close();
    const health = await httpGet(`${server.url}/healthz`);
    assert.equal(health.status, 200);
  });
});

test('full rooms and too many rooms: 4003 on connect, room-full and limit-exceeded on join', T, async () => {
  const config = tempConfig({ limits: { maxPeersPerRoom: 2, maxRooms: 2 } });
  await withServer(['--config', config], async (server) => {
    const a = await connectPeer(server, { auth: 'a', channelId: 'room1' });
    const b = await connectPeer(server, { auth: 'b', channelId: 'room1' });
    await nextParticipantList(a, ['a', 'b']);
    // Room full: with channelId the connection is closed with 4003 ...
    const c = await connectPeer(server, { auth: 'c', channelId: 'room1' });
    assert.equal((await c.closedWithin(3000)).code, 4003);
    // ... with join-mediasoup-room the request fails and the connection stays.
    const d = await connectPeer(server, { auth: 'd' });
    await d.expectError('join-mediasoup-room', { roomId: 'room1' }, 'room-full');
    // Too many rooms.
    const e = await connectPeer(server, { auth: 'e', channelId: 'room2' });
    await nextParticipantList(e, ['e']);
    await d.expectError('join-mediasoup-room', { roomId: 'room3' }, 'limit-exceeded');
    const f = await connectPeer(server, { auth: 'f', channelId: 'room3' });
    assert.equal((await f.closedWithin(3000)).code, 4003);
    // The rejected ones did not disturb the room.
    await assertNoLeftFor(a, ['c']);
    await closeAll(a, b, d, e);
    await waitForNoPeers(server);
  });
});

// No participant-left may be queued for peers that never got in.
async function assertNoLeftFor(client, ids) {
  await client.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
  const bad = client.take((m) => m.type === 'participant-left' && ids.includes(m.data?.peerId));
  assert.deepEqual(bad, []);
}

test('without channelId, the first request that needs a room joins the default room', T, async () => {
  await withServer([], async (server) => {
    const loner = await connectPeer(server, { auth: 'loner' });
    // Capabilities need no room, and asking for them joins none.
    await loner.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    assert.equal((await httpGet(`${server.url}/healthz`)).json.peers, 0);
    const host = await connectPeer(server, { auth: 'host', channelId: 'default' });
    await nextParticipantList(host, ['host']);
    // An invalid request joins nothing: it is refused before any room is chosen.
    await loner.expectError('create-transport', { direction: 'sideways' }, 'invalid-field');
    assert.equal((await httpGet(`${server.url}/healthz`)).json.peers, 1);
    const both = nextParticipantList(host, ['host', 'loner']);
    await loner.expectReply('create-transport', { direction: 'send' }, 'transport-params');
    await both;
    // One connection, one room: an explicit join elsewhere is refused.
    await loner.expectError('join-mediasoup-room', { roomId: 'room2' }, 'already-joined');
    await closeAll(loner, host);
    await waitForNoPeers(server);
  });
});

test('fault injection is refused without --fault-injection (inject-fault, set-transport-egress-cap)', T, async () => {
  await withServer([], async (server) => {
    const peer = await connectPeer(server, { auth: 'p', channelId: 'room' });
    const t = await peer.expectReply('create-transport', { direction: 'recv' }, 'transport-params');
    for (const target of ['transport', 'session'])
      await peer.expectError('inject-fault', { target, id: t.data.id }, 'forbidden');
    await peer.expectError('set-transport-egress-cap', { transportId: t.data.id, bitrate: 1000 }, 'forbidden');
    await peer.expectError('inject-fault', { target: 'room', id: 'x' }, 'invalid-field');
    // Still served.
    await peer.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    await closeAll(peer);
    await waitForNoPeers(server);
  });
});
