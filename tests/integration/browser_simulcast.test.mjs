// Simulcast end to end with real Chromium and the stock mediasoup-client: a page produces
// the fake camera with three rid-based encodings (mediasoup-client's r0, r1, r2; VP8 with
// three temporal layers each); receiving pages get one stream each, switched between the
// encodings by the server (rtp/layer_selector.hpp): the unconstrained one decodes the top
// encoding's width, one that prefers spatial layer 0 the lowest, and the layers follow
// set-consumer-preferred-layers both ways with consumer-layers-changed events, without a
// decoder reset or a NACK storm.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { ENCODINGS, consumerStats, layersEvents, videoRow } from './lib/simulcast.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

test('simulcast VP8: three encodings, receivers on the top and the lowest, switching both ways', { timeout: 240000, skip }, async () => {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=sim`;
    const sender = await openPage(browser, `${site.url}/`, 'sender');
    const wide = await openPage(browser, `${site.url}/`, 'wide');
    const low = await openPage(browser, `${site.url}/`, 'low');
    await sender.evaluate(([u, encodings]) => window.chorusJoin(u, { video: { width: 960, height: 540 }, encodings }),
      [wsUrl('sender'), ENCODINGS]);
    // The server took the three encodings of one producer and learnt their SSRCs by rid.
    const producerId = await sender.evaluate(() => window.producers.get('video').id);
    const pstats = await until(sender, 'three encodings received', () =>
      sender.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId),
    (r) => r.data?.length === 3 && r.data.every((e) => e.packetCount > 0 && e.ssrc !== 0), 20000, 250);
    assert.deepEqual(pstats.data.map((e) => e.rid), ['r0', 'r1', 'r2']);
    // Per-layer receive bitrates, per encoding ("spatial.temporal" -> bps), the top one the
    // dearest.
    const layered = await until(sender, 'per-layer bitrates of each encoding', () =>
      sender.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId),
    (r) => r.data?.length === 3 && r.data.every((e) => Object.values(e.bitrateByLayer ?? {}).some((bps) => bps > 0)), 10000, 250);
    process.stderr.write(`bitrateByLayer: ${JSON.stringify(layered.data.map((e) => e.bitrateByLayer))}\n`);
    const total = (e) => Math.max(...Object.values(e.bitrateByLayer));
    assert.ok(total(layered.data[2]) > total(layered.data[0]), JSON.stringify(layered.data.map((e) => e.bitrateByLayer)));

    await wide.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('wide'));
    await low.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('low'));
    const wideId = (await videoRow(wide)).consumerId;
    const lowId = (await videoRow(low)).consumerId;
    // consume answered with mediasoup's type for a simulcast producer.
    assert.equal(await wide.evaluate((id) => window.consumers.get(id).type, wideId), 'simulcast');

    // What the sender sends now: the widths of r0 < r1 < r2.
    const sent = await until(sender, 'three encodings sending', () => sender.evaluate(() => window.sentEncodings()),
      (e) => e.length === 3 && e.every((x) => x.frameWidth > 0), 20000, 250);
    const widths = sent.map((e) => e.frameWidth);
    process.stderr.write(`sender encodings: ${JSON.stringify(sent)}\n`);
    assert.ok(widths[0] < widths[1] && widths[1] < widths[2], JSON.stringify(widths));

    // The unconstrained receiver decodes the top encoding; the server forwards spatial 2.
    const topNow = async () => Math.max(...(await sender.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth));
    await until(wide, 'wide decodes the top encoding', async () => ({ row: await videoRow(wide), top: await topNow() }),
      ({ row, top }) => row.framesDecoded > 10 && row.frameWidth === top, 30000, 250);
    const wideStats = await consumerStats(wide, wideId);
    assert.equal(wideStats.consumerType, 'simulcast', JSON.stringify(wideStats));
    assert.equal(wideStats.currentLayers?.spatialLayer, 2, JSON.stringify(wideStats));
    // consumer-score: the stream's and the forwarded encoding's, one score per encoding.
    const score = await until(wide, 'a consumer-score event', () => wide.evaluate((id) =>
      window.events.filter((e) => e.type === 'consumer-score' && e.data.consumerId === id).at(-1)?.data, wideId),
    (d) => d && d.producerScores?.length === 3, 5000);
    assert.ok(score.score >= 0 && score.score <= 10 && score.producerScore >= 0, JSON.stringify(score));

    // The low receiver prefers spatial layer 0: it decodes r0's width, told by an event.
    const asked = await low.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 0 }), lowId);
    assert.notEqual(asked.type, 'error', JSON.stringify(asked));
    const lowWidth = async () => (await sender.evaluate(() => window.sentEncodings()))[0].frameWidth;
    await until(low, 'low decodes encoding 0', async () => ({ row: await videoRow(low), all: await low.evaluate(() => window.received()), w: await lowWidth(), s: await consumerStats(low, lowId),
      t: (await low.evaluate(() => window.chorusRequest('get-transport-stats', { transportId: window.recvTransport.id }))).data }),
      ({ row, w }) => row.frameWidth === w && row.framesDecoded > 10, 20000, 250);
    await until(low, 'consumer-layers-changed to spatial 0', () => layersEvents(low, lowId),
      (evs) => evs.length > 0 && evs.at(-1).spatialLayer === 0, 5000);
    const lowStats = await consumerStats(low, lowId);
    assert.equal(lowStats.currentLayers.spatialLayer, 0, JSON.stringify(lowStats));
    // The producer hands this consumer only encoding 0 now (layer_demand) ...
    const fanout = (await sender.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId)).data[0].fanout;
    assert.ok(fanout.some((f) => JSON.stringify(f.spatialLayers) === '[0]') && fanout.some((f) => JSON.stringify(f.spatialLayers) === '[2]'),
      JSON.stringify(fanout));
    // ... and r1 is selected by nobody: the publisher is told so (after a hold of seconds).
    await until(sender, 'producer-layers-unused [1]', () => sender.evaluate(() =>
      window.events.filter((e) => e.type === 'producer-layers-unused').map((e) => e.data.spatialLayers).at(-1)),
    (l) => JSON.stringify(l) === '[1]', 15000, 250);

    // Temporal layers: T0 only drops frames the receiver does not get, and it goes on decoding.
    await low.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 0, temporalLayer: 0 }), lowId);
    await until(low, 'temporal layer 0', () => consumerStats(low, lowId),
      (s) => s.currentLayers?.temporalLayer === 0 && s.droppedLayers > 0, 10000, 250);
    const t0 = await videoRow(low);
    await until(low, 'still decoding at T0', () => videoRow(low), (r) => r.framesDecoded > t0.framesDecoded + 5, 10000, 250);

    // Back up to the top: switched on a keyframe of r2, the sequence continuous.
    const before = await videoRow(low);
    await low.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 2, temporalLayer: 2 }), lowId);
    await until(low, 'low back on the top encoding', async () => ({ row: await videoRow(low), top: await topNow() }),
      ({ row, top }) => row.frameWidth === top && row.framesDecoded > before.framesDecoded + 10, 20000, 250);
    await until(low, 'consumer-layers-changed to spatial 2', () => layersEvents(low, lowId),
      (evs) => evs.at(-1)?.spatialLayer === 2, 5000);

    // mediasoup's set-consumer-priority: the consumer takes it (its stats say so, the
    // allocation weighs it). request-consumer-keyframe: the consumer asks the producer, and
    // the receiver decodes a new keyframe.
    const prio = await wide.evaluate((id) => window.chorusRequest('set-consumer-priority', { consumerId: id, priority: 7 }), wideId);
    assert.notEqual(prio.type, 'error', JSON.stringify(prio));
    assert.equal((await consumerStats(wide, wideId)).priority, 7);
    const kfBefore = { s: await consumerStats(wide, wideId), row: await videoRow(wide) };
    const kf = await wide.evaluate((id) => window.chorusRequest('request-consumer-keyframe', { consumerId: id }), wideId);
    assert.notEqual(kf.type, 'error', JSON.stringify(kf));
    await until(wide, 'the keyframe asked for is requested and decoded', async () => ({ s: await consumerStats(wide, wideId), row: await videoRow(wide) }),
      ({ s, row }) => s.keyframeRequests > kfBefore.s.keyframeRequests && row.keyFramesDecoded > kfBefore.row.keyFramesDecoded, 5000, 100);

    // No NACK storm, no loss: the switches kept the sequence numbers continuous.
    const after = await videoRow(low);
    process.stderr.write(`low receiver after switching: ${JSON.stringify(after)}\n`);
    process.stderr.write(`wide receiver: ${JSON.stringify(await videoRow(wide))}\n`);
    assert.ok(after.packetsLost <= 5, JSON.stringify(after));
    assert.ok(after.nackCount <= 10, JSON.stringify(after));
    const events = await low.evaluate(() => window.events);
    assert.ok(events.every((e) => e.type !== 'page-error'), JSON.stringify(events.filter((e) => e.type === 'page-error')));

    for (const p of [sender, wide, low]) await p.close();
    await waitForNoPeers(server);
  });
});


// VP9 SVC to a receiver on the top spatial layer and one on spatial layer 0 (and a third
// behind a thin link) is browser_simulcast_cap.test.mjs's second case.
