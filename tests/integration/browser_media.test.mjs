// End to end media with real Chromium and the stock mediasoup-client, in a loopback-only
// network namespace (see CMakeLists.txt): two participants each producing the fake camera
// and microphone and consuming the other's; bandwidth estimation; producer pause/resume;
// departure; 5 % injected loss recovered by NACK/RTX; several receivers of one producer.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, grewFrom, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

const byKind = (rows, kind) => rows.filter((r) => r.kind === kind);
const decodingAll = (rows, expected) =>
  rows.length === expected &&
  rows.every((r) => (r.kind === 'video' ? r.framesDecoded > 0 : r.packetsReceived > 0 && r.totalSamplesReceived > 0));

// Runs body({ server, pages, wsUrl }) with `count` pages of MEDIA_PAGE; the pages are closed
// afterwards and the server must then be empty.
async function withPages(count, serverArgs, body) {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn', ...serverArgs] }, async ({ server, browser, site }) => {
    const pages = [];
    for (let i = 0; i < count; ++i) pages.push(await openPage(browser, `${site.url}/`, `page ${i}`));
    const wsUrl = (peer, room) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=${room}`;
    await body({ server, pages, wsUrl });
    for (const p of pages) if (!p.isClosed()) await p.close();
    await waitForNoPeers(server);
  });
}

test('two participants: audio and video both ways, BWE above 1 Mbps, pause/resume, departure', { timeout: 180000, skip }, async () => {
  await withPages(2, [], async ({ server, pages: [alice, bob], wsUrl }) => {
    const t0 = Date.now();
    await alice.evaluate((u) => window.chorusJoin(u), wsUrl('alice', 'meet'));
    await bob.evaluate((u) => window.chorusJoin(u), wsUrl('bob', 'meet'));
    const rx = (page) => () => page.evaluate(() => window.received());

    // Both sides decode the other's video and receive its audio, and it keeps growing.
    for (const page of [alice, bob]) {
      const first = await until(page, 'decoding', rx(page), (r) => decodingAll(r, 2), 20000);
      await until(page, 'still growing', rx(page), grewFrom(first), 5000);
    }

    // RTCP both ways: bob's browser has read the server's sender reports for both streams,
    // alice's browser the server's receiver reports about hers; the server measured the
    // round trip to bob from bob's receiver reports.
    await until(bob, 'sender reports at bob', rx(bob), (r) => r.length === 2 && r.every((x) => x.senderReports > 0), 5000);
    await until(alice, 'receiver reports at alice', () => alice.evaluate(() => window.producerReports()),
      (r) => r.video && r.audio && typeof r.video.roundTripTime === 'number', 5000);
    const bobVideoConsumer = byKind(await rx(bob)(), 'video')[0].consumerId;
    const cstats = await until(bob, 'consumer RTT', () => bob.evaluate((id) => window.chorusRequest('get-consumer-stats', { consumerId: id }), bobVideoConsumer),
      (r) => typeof r.data?.[0]?.roundTripTime === 'number', 5000);
    assert.ok(cstats.data[0].roundTripTime >= 0 && cstats.data[0].roundTripTime < 1000, JSON.stringify(cstats.data[0]));
    assert.ok(cstats.data[0].packetCount > 0 && cstats.data[0].bitrate > 0);

    // The server's own send-side estimate toward bob (rtp/send_bwe.hpp), from the
    // transport-cc feedback bob's browser sends about what it receives: fed, acknowledging
    // what arrives, and above what alice's camera needs.
    const tstats = await until(bob, 'the server\'s send-side estimate toward bob',
      () => bob.evaluate(() => window.chorusRequest('get-transport-stats', { transportId: window.recvTransport.id })),
      (r) => r.data?.bwe?.feedbacks > 10 && r.data.bwe.ackedBps > 0, 10000, 250);
    const est = tstats.data.bwe;
    process.stderr.write(`server's estimate toward bob: ${JSON.stringify(est)}\n`);
    process.stderr.write(`server's counters toward bob: ${JSON.stringify({ rtp: tstats.data.rtp, media: tstats.data.media, dropped: tstats.data.dropped })}\n`);
    process.stderr.write(`bob's inbound: ${JSON.stringify((await rx(bob)()).map((r) => ({ kind: r.kind, packetsReceived: r.packetsReceived, packetsLost: r.packetsLost, nackCount: r.nackCount })))}\n`);
    assert.ok(est.packetsAcked > 30, JSON.stringify(est));
    assert.ok(est.targetBps >= 300000, JSON.stringify(est)); // no collapse on a clean loopback
    assert.ok(est.lossFraction < 0.05, JSON.stringify(est));
    // bob's receiver reports reached his consumers through their lanes (no message, no
    // worker woken) at least once: they are idle between packets.
    assert.ok(tstats.data.media.rtcpThroughLanes > 0, JSON.stringify(tstats.data.media));

    // The sender's bandwidth estimate passes 1 Mbps within 15 s (transport-cc feedback).
    const bwe = await until(alice, 'availableOutgoingBitrate above 1 Mbps, 15 s after joining',
      () => alice.evaluate(() => window.outgoingBitrate()), (b) => b > 1e6, Math.max(0, 15000 - (Date.now() - t0)), 200);
    process.stderr.write(`alice availableOutgoingBitrate ${bwe} bps after ${Date.now() - t0} ms\n`);
    // How many of the datagrams a real Chromium's frames became left segmented (UDP GSO:
    // a run of equal-size packets to one receiver; informational, its packetizer and pacer
    // decide the runs).
    const metrics = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
    const counter = (name) => Number(metrics.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);
    process.stderr.write(`segmented sends: ${JSON.stringify(Object.fromEntries(['batched_datagrams', 'segmented_messages', 'segmented_datagrams', 'segment_fallbacks'].map((n) => [n, counter(`chorus_media_${n}_total`)])))}\n`);

    // Pausing alice's video stops bob's frames; resuming restarts them within 2 s.
    const bobVideo = async () => byKind(await bob.evaluate(() => window.received()), 'video')[0].framesDecoded;
    await alice.evaluate(() => window.setProducerPaused('video', true));
    let stalled = await bobVideo();
    for (const deadline = Date.now() + 5000; ;) {
      await bob.waitForTimeout(1000);
      const now = await bobVideo();
      if (now === stalled) break;
      stalled = now;
      assert.ok(Date.now() < deadline, 'bob kept decoding frames of a paused producer');
    }
    // participant-list-update shows alice's camera off and her microphone on.
    const aliceEntry = () => bob.evaluate(() =>
      window.events.filter((e) => e.type === 'participant-list-update').at(-1).data.find((p) => p.id === 'alice'));
    await until(bob, 'isVideoPaused', aliceEntry, (a) => a.isVideoPaused === true && a.isAudioMuted === false, 2000);
    const resumedAt = Date.now();
    await alice.evaluate(() => window.setProducerPaused('video', false));
    await until(bob, 'frames after resume', bobVideo, (n) => n > stalled, 2000);
    process.stderr.write(`bob decodes again ${Date.now() - resumedAt} ms after resume\n`);
    await until(bob, 'isVideoPaused cleared', aliceEntry, (a) => a.isVideoPaused === false, 2000);

    // Alice closes her page: bob hears participant-left and consumer-closed for both.
    await alice.close();
    const events = await until(bob, 'departure events', () => bob.evaluate(() => window.events),
      (evs) => evs.some((e) => e.type === 'participant-left' && e.data.peerId === 'alice') &&
        evs.filter((e) => e.type === 'consumer-closed').length >= 2, 10000);
    assert.ok(events.every((e) => e.type !== 'page-error'), JSON.stringify(events.filter((e) => e.type === 'page-error')));
  });
});

test('5 % injected loss: frames keep being decoded, NACK and retransmission counters grow', { timeout: 180000, skip }, async () => {
  await withPages(2, ['--drop-rtp-percent', '5'], async ({ pages: [alice, bob], wsUrl }) => {
    await alice.evaluate((u) => window.chorusJoin(u), wsUrl('alice', 'lossy'));
    await bob.evaluate((u) => window.chorusJoin(u), wsUrl('bob', 'lossy'));
    const rx = () => bob.evaluate(() => window.received());
    const first = await until(bob, 'decoding', rx, (r) => decodingAll(r, 2), 20000);
    await until(bob, 'still growing', rx, grewFrom(first), 5000);
    // Server side: alice's video producer asked for retransmissions, bob's consumer of it
    // retransmitted.
    const producerId = await alice.evaluate(() => window.producers.get('video').id);
    const consumerId = byKind(first, 'video')[0].consumerId;
    const stats = await until(bob, 'NACK/RTX counters', async () => {
      const p = await alice.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId);
      const c = await bob.evaluate((id) => window.chorusRequest('get-consumer-stats', { consumerId: id }), consumerId);
      return { producer: p.data[0], consumer: c.data[0] };
    }, (s) => s.producer.nackCount > 0 && s.producer.packetsRetransmitted > 0 &&
      s.consumer.nackCount > 0 && s.consumer.packetsRetransmitted > 0, 20000);
    process.stderr.write(`loss stats: producer nacks ${stats.producer.nackCount} (${stats.producer.nackPacketCount} seqs), ` +
      `retransmitted in ${stats.producer.packetsRetransmitted}; consumer nacks ${stats.consumer.nackCount}, ` +
      `retransmitted out ${stats.consumer.packetsRetransmitted}, lost ${stats.producer.packetsLost}\n`);
    const later = await until(bob, 'still decoding under loss', rx, grewFrom(await rx()), 5000);
    assert.ok(byKind(later, 'video')[0].framesDecoded > byKind(first, 'video')[0].framesDecoded);
  });
});

test('several receivers of one producer all decode', { timeout: 180000, skip }, async () => {
  await withPages(4, [], async ({ pages: [teacher, ...students], wsUrl }) => {
    await teacher.evaluate((u) => window.chorusJoin(u), wsUrl('teacher', 'class'));
    for (const [i, s] of students.entries())
      await s.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl(`student${i}`, 'class'));
    for (const s of students) {
      const rx = () => s.evaluate(() => window.received());
      const first = await until(s, 'student decoding', rx, (r) => decodingAll(r, 2), 20000);
      await until(s, 'student still growing', rx, grewFrom(first), 5000);
    }
    const producerId = await teacher.evaluate(() => window.producers.get('video').id);
    const p = await teacher.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId);
    assert.equal(p.data[0].consumers, students.length);
    // Idle consumers take batches through their direct lane (actors/consumer.hpp), and
    // the producer its transport's (actors/lane.hpp): what they forward that way is what
    // these students decoded.
    assert.ok(p.data[0].directBatches > 0, JSON.stringify(p.data[0]));
    assert.ok(p.data[0].laneBatchesIn > 0, JSON.stringify(p.data[0]));
  });
});
