// Media signaling against the real binary, without media: produce / consume validation and
// replies, the consumer's rtpParameters as mediasoup-client's Device accepts them,
// new-producer / producer-closed / consumer-closed events, participant flags from producer
// state, close cascades (close-producer, transport and peer gone) and the typed errors of
// each request. The media itself is covered by browser_media.test.mjs.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { loadDevice } from './lib/device.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { withServer } from './lib/server.mjs';
import { EXT, VP8, VP8_RTX, audio, video } from './lib/rtp_fixtures.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

async function joinWithTransports(server, peer, room) {
  const c = await connectPeer(server, { auth: peer, channelId: room });
  const caps = await c.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities');
  const send = await c.expectReply('create-transport', { direction: 'send' }, 'transport-params');
  const recv = await c.expectReply('create-transport', { direction: 'recv' }, 'transport-params');
  return { c, caps: caps.data, send: send.data.id, recv: recv.data.id };
}

test('produce, new-producer, consume with Device-acceptable parameters, flags, cascades', { timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const alice = await joinWithTransports(server, 'alice', 'm1');
    const bob = await joinWithTransports(server, 'bob', 'm1');
    const device = await loadDevice(alice.caps);

    // produce -> producer-id; bob hears new-producer; the participant list shows media on.
    const pv = await alice.c.expectReply('produce', { transportId: alice.send, kind: 'video', rtpParameters: video(1000) }, 'producer-id');
    const pa = await alice.c.expectReply('produce', { kind: 'audio', rtpParameters: audio(2000) }, 'producer-id'); // implicit send transport
    const np = await bob.c.nextOfType('new-producer', (m) => m.data.producerId === pv.data.id);
    assert.deepEqual(np.data, { producerId: pv.data.id, peerId: 'alice', kind: 'video' });
    await bob.c.nextOfType('participant-list-update', (m) => {
      const a = m.data.find((p) => p.id === 'alice');
      return a && !a.isVideoPaused && !a.isAudioMuted;
    });

    // consume with the Device's capabilities: parameters in router space, fresh SSRCs,
    // rtx, mid; mediasoup-client's own validation (via the Device) accepts them.
    const cv = await bob.c.expectReply('consume', { producerId: pv.data.id, transportId: bob.recv, rtpCapabilities: device.rtpCapabilities }, 'consumer-params');
    const p = cv.data;
    assert.equal(p.producerId, pv.data.id);
    assert.equal(p.kind, 'video');
    assert.equal(p.type, 'simple');
    assert.equal(p.producerPaused, false);
    assert.equal(p.peerId, 'alice');
    assert.equal(p.rtpParameters.mid, '0');
    assert.deepEqual(p.rtpParameters.codecs.map((c) => [c.mimeType, c.payloadType]), [['video/VP8', 101], ['video/rtx', 102]]);
    assert.equal(p.rtpParameters.codecs[1].parameters.apt, 101);
    const enc = p.rtpParameters.encodings[0];
    assert.ok(enc.ssrc > 0 && enc.ssrc !== 1000 && enc.rtx.ssrc > 0 && enc.rtx.ssrc !== enc.ssrc);
    assert.equal(p.rtpParameters.rtcp.cname, 'alice-cname');
    const uris = p.rtpParameters.headerExtensions.map((e) => e.uri);
    assert.ok(uris.includes(EXT.tcc.uri) && uris.includes(EXT.mid.uri), uris.join());
    assert.ok(p.rtpParameters.headerExtensions.every((e) => e.id !== 3 || e.uri !== EXT.tcc.uri), 'router ids, not the producer\'s');
    // The consumer's ids are what the Device can receive.
    for (const e of p.rtpParameters.headerExtensions)
      assert.ok(device.rtpCapabilities.headerExtensions.some((h) => h.uri === e.uri && h.preferredId === e.id && h.kind === 'video'), e.uri);
    assert.ok(device.canProduce('video'));

    // seed 001: consume without producerId takes the oldest producer not consumed yet.
    const ca = await bob.c.expectReply('consume', { rtpCapabilities: device.rtpCapabilities }, 'consumer-params');
    assert.equal(ca.data.producerId, pa.data.id);
    assert.equal(ca.data.rtpParameters.mid, '1');
    // Nothing left to consume has its own code, one a client can retry on.
    await bob.c.expectError('consume', { rtpCapabilities: device.rtpCapabilities }, 'nothing-to-consume');

    // Capabilities without the codec: cannot-consume, nothing created.
    const h264Only = { codecs: [{ kind: 'video', mimeType: 'video/H264', preferredPayloadType: 105, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f' }, rtcpFeedback: [] }], headerExtensions: [] };
    await bob.c.expectError('consume', { producerId: pv.data.id, rtpCapabilities: h264Only }, 'cannot-consume');

    // resume / pause / stats of the consumer; pausing a producer sets the flag and is told
    // to the consumers' peers.
    await bob.c.expectReply('resume-consumer', { consumerId: p.id }, 'resume-consumer');
    await bob.c.expectReply('pause-consumer', { consumerId: p.id }, 'pause-consumer');
    const cs = await bob.c.expectReply('get-consumer-stats', { consumerId: p.id }, 'get-consumer-stats');
    assert.equal(cs.data[0].type, 'outbound-rtp');
    assert.equal(cs.data[0].ssrc, enc.ssrc);
    await alice.c.expectReply('pause-producer', { producerId: pv.data.id }, 'pause-producer');
    await bob.c.nextOfType('producer-paused', (m) => m.data.producerId === pv.data.id);
    await bob.c.nextOfType('participant-list-update', (m) => m.data.find((x) => x.id === 'alice')?.isVideoPaused === true);
    const ps = await alice.c.expectReply('get-producer-stats', { producerId: pv.data.id }, 'get-producer-stats');
    assert.equal(ps.data[0].type, 'inbound-rtp');
    assert.equal(ps.data[0].paused, true);
    assert.equal(ps.data[0].consumers, 1);
    // Only the owner may operate a producer.
    await bob.c.expectError('pause-producer', { producerId: pv.data.id }, 'unknown-producer');
    await bob.c.expectError('close-producer', { producerId: pv.data.id }, 'unknown-producer');
    await alice.c.expectError('resume-consumer', { consumerId: p.id }, 'unknown-consumer');

    // A consumer created running (paused: false) asks the producer for a keyframe as soon as
    // its transport can send (DTLS keys and an ICE tuple); created paused (the default), when
    // resumed and able to send. This transport never connects: a keyframe asked for now
    // would be lost, and the request that then follows would wait out the producer's
    // throttle, so none is asked (the browser and bench tests see the asked one arrive).
    const before = (await alice.c.expectReply('get-producer-stats', { producerId: pv.data.id }, 'get-producer-stats')).data[0].keyframeRequests;
    const carolEarly = await joinWithTransports(server, 'carol-early', 'm1');
    const running = await carolEarly.c.expectReply('consume', { producerId: pv.data.id, rtpCapabilities: device.rtpCapabilities, paused: false }, 'consumer-params');
    await carolEarly.c.expectReply('get-consumer-stats', { consumerId: running.data.id }, 'get-consumer-stats');
    const after = (await alice.c.expectReply('get-producer-stats', { producerId: pv.data.id }, 'get-producer-stats')).data[0].keyframeRequests;
    assert.equal(after, before);
    await carolEarly.c.close();

    // close-producer: bob's consumer closes (consumer-closed), bob hears producer-closed.
    await alice.c.expectReply('close-producer', { producerId: pv.data.id }, 'close-producer');
    const closed = await bob.c.nextOfType('consumer-closed', (m) => m.data.consumerId === p.id);
    assert.equal(closed.data.producerId, pv.data.id);
    await bob.c.nextOfType('producer-closed', (m) => m.data.producerId === pv.data.id);
    await bob.c.expectError('get-consumer-stats', { consumerId: p.id }, 'unknown-consumer');
    await alice.c.expectError('get-producer-stats', { producerId: pv.data.id }, 'unknown-producer');

    // A late joiner gets the remaining producer in existingProducers.
    const carol = await joinWithTransports(server, 'carol', 'm1');
    const j = await carol.c.expectReply('join-mediasoup-room', { rtpCapabilities: device.rtpCapabilities }, 'join-mediasoup-room');
    assert.deepEqual(j.data.existingProducers, [pa.data.id]);

    // Alice leaves: bob's audio consumer closes, everybody hears participant-left.
    await alice.c.close();
    await bob.c.nextOfType('consumer-closed', (m) => m.data.consumerId === ca.data.id);
    await bob.c.nextOfType('participant-left', (m) => m.data.peerId === 'alice');
    await carol.c.nextOfType('participant-left', (m) => m.data.peerId === 'alice');
    await closeAll(bob.c, carol.c);
    const health = await waitForNoPeers(server); // producers and consumers included
    assert.equal(health.producers, 0);
    assert.equal(health.consumers, 0);
  });
});

test('produce refuses what the router cannot route, naming the field', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const a = await joinWithTransports(server, 'alice', 'm2');
    const cases = [
      ['unknown codec', { kind: 'video', rtpParameters: video(10, { codecs: [{ ...VP8, mimeType: 'video/H265' }] }) }, 'invalid-field', /codecs\[0\]/],
      ['five simulcast encodings', { kind: 'video', rtpParameters: video(20, { encodings: [20, 21, 22, 23, 24].map((ssrc) => ({ ssrc })) }) }, 'invalid-field', /at most 4/],
      ['rid only', { kind: 'video', rtpParameters: video(30, { encodings: [{ rid: 'r0' }] }) }, 'invalid-field', /encodings\[0\]/],
      ['kind mismatch', { kind: 'audio', rtpParameters: video(40) }, 'invalid-field', /codecs\[0\]/],
      ['rtx without apt', { kind: 'video', rtpParameters: video(50, { codecs: [VP8, { ...VP8_RTX, parameters: {} }] }) }, 'invalid-field', /apt/],
    ];
    for (const [name, data, code, message] of cases) {
      const r = await a.c.request('produce', { transportId: a.send, ...data });
      assert.equal(r.type, 'error', name);
      assert.equal(r.data.code, code, `${name}: ${JSON.stringify(r.data)}`);
      assert.match(r.data.message, message, name);
    }
    // The same SSRC twice on one transport is refused; the first producer is unaffected.
    const first = await a.c.expectReply('produce', { transportId: a.send, kind: 'video', rtpParameters: video(1000) }, 'producer-id');
    const dup = await a.c.request('produce', { transportId: a.send, kind: 'video', rtpParameters: video(1000) });
    assert.equal(dup.data.code, 'invalid-field', JSON.stringify(dup));
    assert.match(dup.data.message, /already used/);
    await a.c.expectReply('get-producer-stats', { producerId: first.data.id }, 'get-producer-stats');
    await closeAll(a.c);
    await waitForNoPeers(server);
  });
});
