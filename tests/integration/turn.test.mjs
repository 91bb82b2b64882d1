// The TURN server inside Chorus against the real binary over loopback, driven by a TURN
// client written from the RFCs (lib/turn_client.mjs) with the credentials a transport reply
// hands out: the client allocates, reaches its transport through a permission and a
// channel (an ICE check relayed in, the transport's answer relayed back), and every abuse
// is refused and counted: no credentials, expired or forged ones, permissions to what is
// not a Chorus transport (the signaling port, the admin port, another loopback port where a test listener
// waits, a private address), and a flood of allocations from one address.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { test } from 'node:test';

import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { tempConfig, withServer } from './lib/server.mjs';
import { CLASS, METHOD, TurnClient, iceCheck, parseMessage } from './lib/turn_client.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const SECRET = 'integration-turn-secret';
const CONFIG = { turn: { enabled: true, udpPort: 0, secret: SECRET } };
const FLOOD = 300; // allocations at once from one address

async function metrics(server) {
  const r = await httpGet(`${server.url}/metrics`);
  assert.equal(r.status, 200);
  return parsePrometheus(r.body);
}

// A credential of the REST form made here with the server's secret.
function credential(expiresS, id) {
  const username = `${expiresS}:${id}`;
  return { username, credential: crypto.createHmac('sha1', SECRET).update(username).digest('base64') };
}

// The built-in server's URLs: UDP and TCP on one port, for the announced address.
function turnServerOf(params) {
  const urls = params.iceServers?.[0]?.urls ?? [];
  const m = /^turn:127\.0\.0\.1:(\d+)\?transport=udp$/.exec(urls[0] ?? '');
  assert.ok(m, `a turn: URL for 127.0.0.1 in ${JSON.stringify(params.iceServers)}`);
  assert.deepEqual(urls, [`turn:127.0.0.1:${m[1]}?transport=udp`, `turn:127.0.0.1:${m[1]}?transport=tcp`]);
  return { address: '127.0.0.1', port: Number(m[1]) };
}

const ADMIN_TOKEN = 'turn-test-admin-token-0123456789';

test('TURN: relayed into the transport and back; every abuse refused and counted', { timeout: 60000 }, async () => {
  const adminArgs = ['--admin-listen', '127.0.0.1:0', '--admin-token-file', tempConfig(`${ADMIN_TOKEN}\n`, 'admin-token')];
  await withServer(['--config', tempConfig(CONFIG), ...adminArgs], async (server) => {
    const peer = await connectPeer(server, { auth: 'alice', channelId: 'turn-room' });
    const listener = dgram.createSocket('udp4'); // a third party on loopback
    const heard = [];
    listener.on('message', (m) => heard.push(m));
    await new Promise((r) => listener.bind(0, '127.0.0.1', r));
    const clients = [];
    try {
      await peer.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const params = (await peer.expectReply('create-webrtc-transport', { direction: 'recv' }, 'create-webrtc-transport')).data.params;
      const turn = turnServerOf(params);
      const [ice] = params.iceServers;
      const [user, expiry] = [ice.username.split(':')[1], Number(ice.username.split(':')[0])];
      assert.ok(user.length > 0, 'the credential names the peer');
      assert.ok(expiry > Date.now() / 1000 + 3600, 'the credential is valid for hours');
      const udp = params.iceCandidates.find((c) => c.protocol === 'udp');

      // Allocate: a 401 challenge first, then the relayed address.
      const client = await new TurnClient(turn, ice).open();
      clients.push(client);
      const alloc = await client.allocate();
      assert.equal(alloc.cls, CLASS.success, `Allocate answered ${alloc.errorCode}`);
      assert.equal(alloc.relayed.address, '127.0.0.1');

      // Permissions: the transport yes; anything else 403.
      assert.equal((await client.permit(udp.address, udp.port)).cls, CLASS.success);
      const adminPort = Number(/chorus admin API on http:\/\/[^\s:]+:(\d+)/.exec(server.stdout())[1]);
      for (const [address, port, what] of [
        ['127.0.0.1', listener.address().port, 'another loopback port'],
        ['127.0.0.1', server.port, 'the signaling port'],
        ['127.0.0.1', adminPort, 'the admin port'],
        ['10.1.2.3', udp.port, 'a private address'],
      ])
        assert.equal((await client.permit(address, port)).errorCode, 403, what);
      assert.equal((await client.bindChannel(0x4000, '127.0.0.1', listener.address().port)).errorCode, 403);

      // An ICE check relayed to the transport: its answer comes back as a Data indication.
      await client.sendIndication('127.0.0.1', listener.address().port, Buffer.from('to a third party'));
      await client.sendIndication(udp.address, udp.port, iceCheck(params.iceParameters.usernameFragment, params.iceParameters.password));
      const data = await client.nextData();
      assert.ok(data, 'the transport answered through the relay');
      assert.deepEqual(data.peer, { address: udp.address, port: udp.port });
      const answer = parseMessage(data.data);
      assert.equal(answer.cls, CLASS.success, 'a binding success from the transport');
      assert.deepEqual(answer.first(0x0020) ? true : false, true, 'with XOR-MAPPED-ADDRESS');

      // A channel to the transport: ChannelData in, ChannelData back.
      assert.equal((await client.bindChannel(0x4001, udp.address, udp.port)).cls, CLASS.success);
      const check = iceCheck(params.iceParameters.usernameFragment, params.iceParameters.password);
      const framed = Buffer.alloc(4 + check.length);
      framed.writeUInt16BE(0x4001, 0);
      framed.writeUInt16BE(check.length, 2);
      check.copy(framed, 4);
      await client.send(framed);
      const back = await client.next((m) => m.length >= 4 && m.readUInt16BE(0) === 0x4001);
      assert.ok(back, 'ChannelData back from the transport');
      assert.equal(parseMessage(back.subarray(4, 4 + back.readUInt16BE(2))).cls, CLASS.success);

      // Credentials: none, expired, forged.
      const now = Math.floor(Date.now() / 1000);
      for (const [cred, what] of [
        [credential(now - 10, user), 'expired ten seconds ago'],
        [{ username: `${now + 600}:${user}`, credential: 'Zm9yZ2VkIHBhc3N3b3JkIQ==' }, 'forged'],
      ]) {
        const c = await new TurnClient(turn, cred).open();
        clients.push(c);
        assert.equal((await c.allocate()).errorCode, 401, what);
      }

      // A flood of allocations from one address (each from its own port, valid
      // credentials of distinct ids): past the per-address burst (200) some are refused with
      // 486 Allocation Quota Reached.
      const flood = [];
      for (let i = 0; i < FLOOD; i++) flood.push(await new TurnClient(turn, credential(now + 600, `flood-${i}`)).open());
      clients.push(...flood);
      const codes = await Promise.all(flood.map((c) => c.allocate().then((m) => m.errorCode)));
      const refused = codes.filter((c) => c === 486).length;
      assert.ok(refused > 0 && refused < FLOOD, `some of ${FLOOD} allocations at once are refused (${codes.join(',')})`);

      const m = await metrics(server);
      const v = (name, labels = {}) => m.value(name, labels) ?? 0;
      assert.ok(v('chorus_turn_allocations') >= 2, 'allocations open');
      assert.equal(v('chorus_turn_refusals_total', { reason: 'peer' }), 5);
      assert.ok(v('chorus_turn_refusals_total', { reason: 'credentials' }) >= 2);
      assert.equal(v('chorus_turn_refusals_total', { reason: 'rate' }), refused);
      assert.ok(v('chorus_turn_relayed_packets_total', { direction: 'to_transport' }) >= 2);
      assert.ok(v('chorus_turn_relayed_packets_total', { direction: 'to_client' }) >= 2);
      assert.ok(v('chorus_turn_dropped_total', { reason: 'unroutable' }) >= 1, 'the Send to the third party was dropped');
      assert.equal(v('chorus_turn_dropped_total', { reason: 'unanswered' }), 0, 'every request answered');
      console.log(`turn: ${FLOOD} allocations at once from one address, ${refused} refused by the rate limit; metrics ${JSON.stringify({
        allocations: v('chorus_turn_allocations'), toTransport: v('chorus_turn_relayed_packets_total', { direction: 'to_transport' }),
        toClient: v('chorus_turn_relayed_packets_total', { direction: 'to_client' }) })}`);
      assert.equal(heard.length, 0, 'the third party never received a byte');

      // The admin API's view of the same.
      const adminUrl = /chorus admin API on (http:\/\/\S+)/.exec(server.stdout())[1];
      const view = await (await fetch(`${adminUrl}/turn`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
      assert.equal(view.enabled, true);
      assert.equal(view.port, turn.port);
      assert.deepEqual(view.urls, params.iceServers[0].urls);
      assert.deepEqual(view.signalingPort, { turn: true, turnTls: false, iceTcpPort: server.port }, 'no TLS here: plain TURN and ICE-TCP');
      assert.equal(view.allocations, v('chorus_turn_allocations'));
      assert.equal(view.refusals.peer, 5);
      assert.equal(view.refusals.rate, refused);
      assert.ok(view.relayed.toTransport.packets >= 2 && view.relayed.toClient.bytes > 0);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await new Promise((r) => listener.close(() => r()));
      await closeAll(peer);
    }
  });
});

test('TURN off: transport replies carry no iceServers', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const peer = await connectPeer(server, { auth: 'bob', channelId: 'plain-room' });
    try {
      await peer.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const params = (await peer.expectReply('create-webrtc-transport', { direction: 'send' }, 'create-webrtc-transport')).data.params;
      assert.equal(params.iceServers, undefined);
      assert.equal(params.iceTransportPolicy, undefined);
    } finally {
      await closeAll(peer);
    }
  });
});
