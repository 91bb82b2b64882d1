// Active speaker and audio levels end to end: two participants send real Opus through
// libwebrtc (@roamhq/wrtc under mediasoup-client, each in a process of its own: see
// lib/wrtc_speaker.mjs), each from an RTCAudioSource fed with a sine whose amplitude the
// test sets; libwebrtc computes the RFC 6464 level of what it sends (ssrc-audio-level,
// negotiated from the router's capabilities). A third client, which sends nothing, must
// hear `active-speaker` name the loud one, then the other one once they swap, and
// `audio-levels` list the loud producer; a joiner is told who speaks.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withServer } from './lib/server.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { speakerProcess } from './lib/wrtc_speaker.mjs';

const LOUD = 12000; // peak amplitude of the sine (of 32767): about -11 dBov RMS
const QUIET = 300; // a quiet tone: about -44 dBov RMS, still "speech" to the activity
// measure, so the louder one must win on loudness (rtp/active_speaker.hpp)

// Waits (bounded) for an active-speaker naming `peerId`; returns it.
function activeSpeaker(client, peerId, timeoutMs = 20000) {
  return client.nextOfType('active-speaker', (m) => m.data?.peerId === peerId, timeoutMs);
}

test('active-speaker follows the loud participant, audio-levels lists it', { timeout: 90000 }, async () => {
  await withServer([], async (server) => {
    const room = 'speakers';
    const listener = await connectPeer(server, { auth: 'carol', channelId: room });
    let alice, bob;
    try {
      await listener.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      // One after the other: a start that fails leaves no child that finally cannot stop.
      alice = await speakerProcess(server, 'alice', room, 440);
      bob = await speakerProcess(server, 'bob', room, 660);

      // Alice loud, Bob quiet: both send a tone all the time.
      bob.setAmplitude(QUIET);
      alice.setAmplitude(LOUD);
      const first = await activeSpeaker(listener, 'alice');
      assert.deepEqual(first.data, { peerId: 'alice', userId: 'alice', producerId: alice.producerId });
      // Levels queued before alice led may average her silence before the tone: check one
      // sent after.
      listener.take((m) => m?.type === 'audio-levels');
      const levels = await listener.nextOfType(
        'audio-levels',
        (m) => Array.isArray(m.data) && m.data.some((l) => l.producerId === alice.producerId),
        5000,
      );
      const a = levels.data.find((l) => l.producerId === alice.producerId);
      assert.equal(a.peerId, 'alice');
      assert.ok(Number.isInteger(a.volume) && a.volume <= 0 && a.volume > -40, `alice's volume ${a.volume} dBov`);
      const b = levels.data.find((l) => l.producerId === bob.producerId);
      assert.ok(!b || b.volume < a.volume - 20, `quiet bob: ${JSON.stringify(levels.data)}`);
      assert.equal(levels.data[0].producerId, alice.producerId, 'loudest first');

      // They swap: Bob loud, Alice quiet. An active-speaker naming bob queued before alice led
      // (both start at once) must not pass for the one after the swap.
      listener.take((m) => m?.type === 'active-speaker');
      alice.setAmplitude(QUIET);
      bob.setAmplitude(LOUD);
      const second = await activeSpeaker(listener, 'bob');
      assert.deepEqual(second.data, { peerId: 'bob', userId: 'bob', producerId: bob.producerId });

      // A participant joining now is told who speaks.
      const late = await connectPeer(server, { auth: 'dave', channelId: room });
      try {
        await late.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
        await activeSpeaker(late, 'bob', 5000);
      } finally {
        await late.close();
      }

      // The levels of a steady talker wake its producer's timer once per batch (every
      // 100 ms), not for every 20 ms packet (actors/producer.cpp, pending_delay): fewer
      // timer turns than half the packets (1.1 a packet before, about a fifth now; half
      // leaves room for a sender whose 10 ms audio clock falls behind on a loaded machine).
      // Read once bob has sent 150 packets or more (3 s; between reads, the next
      // audio-levels event: bounded either way).
      let s;
      for (let i = 0; i < 20; i++) {
        [s] = await bob.stats();
        if (s.packetCount >= 150) break;
        listener.take((m) => m?.type === 'audio-levels');
        await listener.nextOfType('audio-levels', () => true, 5000);
      }
      assert.ok(s.packetCount >= 150, `bob's packets: ${JSON.stringify(s)}`);
      assert.ok(s.ticks < s.packetCount / 2, `timer turns ${s.ticks} for ${s.packetCount} packets`);
    } finally {
      alice?.kill();
      bob?.kill();
      await closeAll(listener);
    }
  });
});
