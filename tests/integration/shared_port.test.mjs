// One port for everything a firewall lets through (net/connection_kind.hpp): the signaling
// port, with TLS, serves HTTPS and WSS as before and also takes TURN inside its TLS and
// ICE-TCP (RFC 4571 framing), each told apart by its first bytes; without TLS it takes
// TURN over plain TCP too. Against the real binary over loopback, with the TURN client of
// lib/turn_client.mjs over a TLS or TCP socket, and an ICE check framed by hand.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';

import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { REPO_ROOT, tempConfig, withServer } from './lib/server.mjs';
import { CLASS, TurnClient, iceCheck, parseMessage } from './lib/turn_client.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const T = { timeout: 60000 };
const CONFIG = { turn: { enabled: true, udpPort: 0, secret: 'shared-port-test-secret' } };
const NAME = 'chorus.test';

function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-shared-port-'));
  execFileSync(path.join(REPO_ROOT, 'scripts/make-self-signed.sh'), ['--out', dir, NAME, '127.0.0.1'], { stdio: 'pipe' });
  return { dir, cert: path.join(dir, 'chorus-cert.pem'), key: path.join(dir, 'chorus-key.pem') };
}

async function counter(server, name, labels) {
  const m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
  return m.value(name, labels) ?? 0;
}

// A connected socket (plain TCP, or TLS for NAME checked against the test's certificate).
function connectTcp(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}
function connectTls(port, ca) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: NAME, ca }, () => resolve(s));
    s.once('error', reject);
  });
}

// Everything the socket receives until it closes or `timeoutMs` passes.
function drain(socket, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const chunks = [];
    const done = (closed) => { clearTimeout(timer); resolve({ bytes: Buffer.concat(chunks), closed }); };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (c) => chunks.push(c));
    socket.once('close', () => done(true));
    socket.on('error', () => {});
  });
}

// Relays an ICE check to `udp` (the transport's own candidate) through `client`, by a Send
// indication and by a channel; both answers must be the transport's binding success.
async function relayCheck(client, params, udp) {
  const { usernameFragment: ufrag, password } = params.iceParameters;
  assert.equal((await client.permit(udp.address, udp.port)).cls, CLASS.success);
  await client.sendIndication(udp.address, udp.port, iceCheck(ufrag, password));
  const data = await client.nextData();
  assert.ok(data, 'the transport answered through the relay');
  assert.equal(parseMessage(data.data).cls, CLASS.success);
  assert.equal((await client.bindChannel(0x4000, udp.address, udp.port)).cls, CLASS.success);
  await client.channelData(0x4000, iceCheck(ufrag, password));
  const back = await client.next((m) => m.length >= 4 && m.readUInt16BE(0) === 0x4000);
  assert.ok(back, 'ChannelData back from the transport');
  assert.equal(parseMessage(back.subarray(4, 4 + back.readUInt16BE(2))).cls, CLASS.success);
}

// The first RFC 4571 frame `socket` receives, or null when it closes first or after
// `timeoutMs`.
function firstFrame(socket, timeoutMs = 3000) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (v) => { clearTimeout(timer); resolve(v); };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    socket.once('close', () => done(null));
    socket.on('error', () => {});
  });
}

// An ICE-TCP check on `port` (a binding request in an RFC 4571 frame): the answer, parsed,
// or null when none came.
async function iceTcpCheck(port, params) {
  const s = await connectTcp(port);
  try {
    const check = iceCheck(params.iceParameters.usernameFragment, params.iceParameters.password);
    const framed = Buffer.alloc(2 + check.length);
    framed.writeUInt16BE(check.length, 0);
    check.copy(framed, 2);
    const answer = firstFrame(s);
    s.write(framed);
    const frame = await answer;
    return frame ? parseMessage(frame) : null;
  } finally {
    s.destroy();
  }
}

test('one TLS port: HTTPS and WSS, TURN inside its TLS, and ICE-TCP, each by its first bytes', T, async () => {
  const certs = makeCerts();
  const ca = fs.readFileSync(certs.cert);
  try {
    await withServer(['--tls-cert', certs.cert, '--tls-key', certs.key, '--config', tempConfig(CONFIG)], async (server) => {
      assert.equal((await httpGet(`${server.url}/healthz`)).status, 200, 'HTTPS as before');
      // The client signals to NAME (its Host header): a turns: URL for it, on this port.
      const alice = await connectPeer(server, { auth: 'alice', channelId: 'shared' },
        { wsOptions: { ca, headers: { host: `${NAME}:${server.port}` } } });
      const byAddress = await connectPeer(server, { auth: 'bob', channelId: 'shared' }, { wsOptions: { ca } });
      try {
        await alice.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
        const params = (await alice.expectReply('create-webrtc-transport', { direction: 'recv' }, 'create-webrtc-transport')).data.params;
        const [ice] = params.iceServers;
        const turns = `turns:${NAME}:${server.port}?transport=tcp`;
        assert.ok(ice.urls.includes(turns), `${turns} in ${JSON.stringify(ice.urls)}`);
        assert.equal(ice.urls.filter((u) => u.startsWith('turns:')).length, 1);
        const onPort = params.iceCandidates.filter((c) => c.port === server.port);
        assert.deepEqual(onPort.map((c) => [c.protocol, c.tcpType]), [['tcp', 'passive']], JSON.stringify(params.iceCandidates));
        // Signaled to an address: no turns: URL (a name is needed to check the certificate).
        await byAddress.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
        const p2 = (await byAddress.expectReply('create-webrtc-transport', { direction: 'recv' }, 'create-webrtc-transport')).data.params;
        assert.deepEqual(p2.iceServers[0].urls.filter((u) => u.startsWith('turns:')), [], JSON.stringify(p2.iceServers));

        // TURN inside TLS on the signaling port, with the credential handed out.
        const udp = params.iceCandidates.find((c) => c.protocol === 'udp');
        const client = new TurnClient({ address: '127.0.0.1', port: server.port }, ice, await connectTls(server.port, ca));
        try {
          const alloc = await client.allocate();
          assert.equal(alloc.cls, CLASS.success, `Allocate over TLS answered ${alloc.errorCode}`);
          await relayCheck(client, params, udp);
          assert.equal((await client.permit('127.0.0.1', server.port)).errorCode, 403, 'the signaling port is no peer');
        } finally {
          await client.close();
        }

        // ICE-TCP on the signaling port: the transport answers the framed check.
        const answer = await iceTcpCheck(server.port, params);
        assert.ok(answer, 'a framed answer on the signaling port');
        assert.equal(answer.cls, CLASS.success);

        // What is neither closes without harm; HTTPS still answers.
        const junk = await connectTcp(server.port);
        const junkEnd = drain(junk);
        junk.write(Buffer.alloc(16, 0));
        assert.equal((await junkEnd).closed, true, 'an unknown first frame is closed');
        assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
        assert.ok(await counter(server, 'chorus_edge_handed_over_total', { kind: 'turn_tls' }) >= 1);
        assert.ok(await counter(server, 'chorus_edge_handed_over_total', { kind: 'ice_tcp' }) >= 1);
      } finally {
        await closeAll(alice, byAddress);
      }
    });
  } finally {
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
});

test('a plain signaling port: TURN over TCP on it, no turns: URL', T, async () => {
  await withServer(['--config', tempConfig(CONFIG)], async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'plain' }, { wsOptions: { headers: { host: `${NAME}:${server.port}` } } });
    try {
      await alice.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const params = (await alice.expectReply('create-webrtc-transport', { direction: 'recv' }, 'create-webrtc-transport')).data.params;
      const [ice] = params.iceServers;
      assert.deepEqual(ice.urls.filter((u) => u.startsWith('turns:')), [], 'no TLS here');
      const client = new TurnClient({ address: '127.0.0.1', port: server.port }, ice, await connectTcp(server.port));
      try {
        assert.equal((await client.allocate()).cls, CLASS.success);
        await relayCheck(client, params, params.iceCandidates.find((c) => c.protocol === 'udp'));
      } finally {
        await client.close();
      }
      assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
      assert.ok(await counter(server, 'chorus_edge_handed_over_total', { kind: 'turn' }) >= 1);
    } finally {
      await closeAll(alice);
    }
  });
});

test('both off: the signaling port is HTTP only, and transports have no candidate on it', T, async () => {
  const args = ['--config', tempConfig(CONFIG), '--rtc-tcp-on-signaling-port', 'off', '--turn-tls-on-signaling-port', 'off'];
  await withServer(args, async (server) => {
    const alice = await connectPeer(server, { auth: 'alice', channelId: 'off' });
    try {
      await alice.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const params = (await alice.expectReply('create-webrtc-transport', { direction: 'recv' }, 'create-webrtc-transport')).data.params;
      assert.deepEqual(params.iceCandidates.filter((c) => c.port === server.port), []);
      assert.equal(await iceTcpCheck(server.port, params), null, 'no answer: the HTTP parser refused it');
      assert.equal(await counter(server, 'chorus_edge_handed_over_total', { kind: 'ice_tcp' }), 0);
    } finally {
      await closeAll(alice);
    }
  });
});
