// Simulcast behind a thin link, end to end with real Chromium and the stock mediasoup-client
// (issue 19's acceptance case): the server runs with --fault-injection, and the receiving
// transport gets a 300 kbps egress cap (set-transport-egress-cap: a 250 ms drop-tail queue
// at that rate). The sender is a canvas of blocky noise (media_page's `noise`), so that each
// layer costs about its maxBitrate (r0 ~100-150 kbps, r1 ~300-400, r2 ~1.2 Mbit/s) and its
// keyframes are large (r0 ~9 KB, r1 ~15 KB, r2 ~22 KB: more than the queue holds).
// What must hold: the consumer leaves the top encoding and settles (the same layers for 2 s)
// within 10 s of the cap; then frames keep being decoded with at most 15 % loss; once the cap
// is lifted it is back on the top encoding within 20 s; consumer-layers-changed told each
// step. What makes it hold: the send-side estimate (rtp/send_bwe), pacing at twice the
// estimate (a keyframe reaches the thin link no faster than it drains), a spatial switch up
// only when the layer's keyframe passes within 500 ms at the estimate, and upgrades only to
// what a fifth less than the budget pays for (docs/architecture.md, "Simulcast, SVC and the
// bandwidth each receiver gets"). CAP_TIMELINE=1 prints the state every second.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { ENCODINGS, consumerStats, layersEvents, videoRow } from './lib/simulcast.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

const VP8_SIMULCAST = { video: { width: 960, height: 540 }, encodings: ENCODINGS, noise: true, actOnUnused: true };
const VP9_SVC = { video: { width: 960, height: 540 }, codec: 'video/VP9', scalabilityMode: 'L3T3_KEY' };

test('simulcast VP8 behind a 300 kbps egress cap: a lower layer within 10 s, back up within 20 s of lifting it', { timeout: 240000, skip }, async () => {
  await thinLinkCase(VP8_SIMULCAST);
});

test('VP9 SVC (L3T3_KEY) behind a 300 kbps egress cap: a lower spatial layer within 10 s, back up within 20 s of lifting it', { timeout: 240000, skip }, async () => {
  await thinLinkCase(VP9_SVC);
});

async function thinLinkCase(produce) {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn', '--fault-injection'] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=thin`;
    const sender = await openPage(browser, `${site.url}/`, 'sender');
    const thin = await openPage(browser, `${site.url}/`, 'thin');
    await sender.evaluate(([u, options]) => window.chorusJoin(u, options), [wsUrl('sender'), produce]);
    // The application acting on producer-layers-unused as docs/protocol.md suggests: it
    // stops sending the encodings above the highest one that is used, and sends them again
    // when they are wanted. Installed once the thin link's loss was judged (acting on the
    // last event so far), so that the encoder's reallocation does not blur that figure.
    const actOnUnused = () => sender.evaluate(() => {
      window.maxLayers = [];
      const act = (m) => {
        if (m.type !== 'producer-layers-unused') return;
        let max = 2;
        while (max > 0 && m.data.spatialLayers.includes(max)) --max;
        window.maxLayers.push(max);
        window.producers.get('video').setMaxSpatialLayer(max).catch((e) => window.events.push({ type: 'page-error', data: String(e) }));
      };
      window.onEvent = act;
      const last = window.events.filter((e) => e.type === 'producer-layers-unused').at(-1);
      if (last) act(last);
    });
    const maxLayers = () => sender.evaluate(() => window.maxLayers);
    await thin.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('thin'));
    const id = (await videoRow(thin)).consumerId;
    const transportId = await thin.evaluate(() => window.recvTransport.id);
    const topNow = async () => Math.max(...(await sender.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth));
    const bwe = async () => (await thin.evaluate((t) => window.chorusRequest('get-transport-stats', { transportId: t }), transportId)).data;
    const t0 = Date.now();
    const sending = await until(sender, 'the sender sending', () => sender.evaluate(() => window.sentEncodings()),
      (e) => e.length > 0 && e.every((x) => x.frameWidth > 0), 20000, 250);
    process.stderr.write(`sender: ${JSON.stringify(sending)}\n`);
    await until(thin, 'the top encoding before the cap', async () => ({ row: await videoRow(thin), top: await topNow(), s: await consumerStats(thin, id) }),
      ({ row, top, s }) => row.framesDecoded > 10 && row.frameWidth === top && s.currentLayers?.spatialLayer === 2, 30000, 250);
    process.stderr.write(`top layer after ${Date.now() - t0} ms; transport ${JSON.stringify((await bwe()).bwe)}\n`);

    // The thin link: 300 kbps. The estimate falls, the allocation moves the consumer down.
    const capped = await thin.evaluate((t) => window.chorusRequest('set-transport-egress-cap', { transportId: t, bitrate: 300000 }), transportId);
    assert.notEqual(capped.type, 'error', JSON.stringify(capped));
    const capAt = Date.now();
    const down = await until(thin, 'a lower layer within 10 s of the cap', () => consumerStats(thin, id),
      (s) => s.currentLayers && s.currentLayers.spatialLayer < 2, 10000, 250);
    { const d = await bwe(); process.stderr.write(`down to ${JSON.stringify(down.currentLayers)} after ${Date.now() - capAt} ms; bwe ${JSON.stringify(d.bwe)} cap ${JSON.stringify(d.egressCap)} alloc ${JSON.stringify(d.allocation)}\n`); }
    // Settled: frames keep being decoded and the loss stops (what the link carries fits).
    // Settled: the same layers for 2 s, within 10 s of the cap.
    let last = '', sameSince = Date.now();
    await until(thin, 'the layers settle within 10 s of the cap', async () => JSON.stringify((await consumerStats(thin, id)).currentLayers),
      (layers) => {
        if (layers !== last) {
          last = layers;
          sameSince = Date.now();
        }
        return Date.now() - sameSince >= 2000;
      }, Math.max(1000, 10000 - (Date.now() - capAt)), 250);
    process.stderr.write(`settled on ${last} after ${Date.now() - capAt} ms\n`);
    const settled = await videoRow(thin);
    const settledAt = Date.now();
    if (process.env.CAP_TIMELINE) {
      const t1 = Date.now();
      let next = 0;
      await until(thin, 'timeline', async () => {
        if (Date.now() - t1 < next) return false;
        next += 1000;
        const d = await bwe();
        const c = await consumerStats(thin, id);
        const r = await videoRow(thin);
        const pid = await sender.evaluate(() => window.producers.get('video').id);
        const kf = (await sender.evaluate((i) => window.chorusRequest('get-producer-stats', { producerId: i }), pid)).data.map((e) => e.keyframeBytes);
        process.stderr.write(`T+${Date.now() - capAt} kf${JSON.stringify(kf)} rx{dec:${r.framesDecoded} rcv:${r.packetsReceived} lost:${r.packetsLost} nack:${r.nackCount} pli:${r.pliCount} frz:${r.freezeCount} w:${r.frameWidth}} c{paced:${JSON.stringify(c.paced)} pkts:${c.packetCount} br:${c.bitrate} L:${JSON.stringify(c.currentLayers)} T:${JSON.stringify(c.targetLayers)} rtx:${JSON.stringify(c.retransmissionBuffer)} kf:${c.keyframeRequests} sw:${c.layerSwitches} drop:${c.droppedLayers} oth:${c.otherLayers}} bwe{t:${d.bwe.targetBps} dl:${d.bwe.delayBasedBps} ls:${d.bwe.lossBasedBps} ack:${d.bwe.ackedBps} u:${d.bwe.usage} lf:${d.bwe.lossFraction}} cap${JSON.stringify(d.egressCap)} alloc${JSON.stringify(d.allocation)}\n`);
        return Date.now() - t1 > 15000;
      }, (x) => x, 30000, 200);
    }
    const later = (await until(thin, 'decoding on the thin link', async () => {
      const d = await bwe();
      const c = await consumerStats(thin, id);
      const pid = await sender.evaluate(() => window.producers.get('video').id);
      const ps = (await sender.evaluate((i) => window.chorusRequest('get-producer-stats', { producerId: i }), pid)).data.map((e) => e.bitrateByLayer);
      return { ps, row: await videoRow(thin), bwe: d.bwe, cap: d.egressCap, alloc: d.allocation, sent: d.rtp, c: { bitrate: c.bitrate, rtx: c.retransmissionBuffer, retransmitted: c.bytesRetransmitted, layers: c.currentLayers, target: c.targetLayers, sw: c.layerSwitches, kf: c.keyframeRequests, skipped: c.skipped, pkts: c.packetCount } };
    // Over at least 8 s (transients of a switch attempt or a probe are not sustained loss).
    }, (x) => x.row.framesDecoded > settled.framesDecoded + 20 && Date.now() - settledAt >= 8000, 15000, 250)).row;
    const lostWhileSettled = later.packetsLost - settled.packetsLost;
    const receivedWhileSettled = later.packetsReceived - settled.packetsReceived;
    process.stderr.write(`on the thin link: ${JSON.stringify(later)}, lost ${lostWhileSettled} of ${receivedWhileSettled + lostWhileSettled}\n`);
    { const d = await bwe(); const c = await consumerStats(thin, id); process.stderr.write(`thin: bwe ${JSON.stringify(d.bwe)} cap ${JSON.stringify(d.egressCap)} alloc ${JSON.stringify(d.allocation)} consumer ${JSON.stringify({ bitrate: c.bitrate, rtx: c.retransmissionBuffer, retransmitted: c.bytesRetransmitted, layers: c.currentLayers, sw: c.layerSwitches })}\n`); }
    // Not sustained: at most 15 % over those 8 s. Measured 0-10 % (an upgrade attempt or a
    // probe that the 250 ms queue could not absorb costs a few packets, then it stops);
    // before pacing and the loss-based fix it was 13-40 % with stalls. Bringing this down is
    // open work (issue 19), not a settled figure.
    assert.ok(lostWhileSettled <= 0.15 * (receivedWhileSettled + lostWhileSettled), `sustained loss: ${lostWhileSettled} lost, ${receivedWhileSettled} received`);

    if (produce.actOnUnused) {
      await actOnUnused();
      const eventsBeforeCap = 0;
      // Nobody can use the top encoding: the publisher hears so and stops it (an event after
      // the cap); it is not made to cycle it on and off while the link stays thin (the first
      // version of the demand did, every 5-6 s: on, then off again after the hold).
      await until(sender, 'the publisher stops the top encoding', maxLayers,
        (l) => l.length > eventsBeforeCap && l.at(-1) < 2, 15000, 250);
      const stoppedAt = (await maxLayers()).length;
      const t1 = Date.now();
      await until(sender, 'eight seconds on the thin link', () => Date.now() - t1, (ms) => ms >= 8000, 12000, 500);
      const after = (await maxLayers()).slice(stoppedAt - 1);
      process.stderr.write(`setMaxSpatialLayer while capped: ${JSON.stringify(await maxLayers())}\n`);
      const cycled = after.some((m, i) => m === 2 && after.slice(i + 1).some((n) => n < 2));
      assert.ok(!cycled, `the top encoding cycled on and off on the thin link: ${JSON.stringify(after)}`);
      const row = await videoRow(thin);
      assert.ok(row.framesDecoded > later.framesDecoded, 'still decoding');
      // The climb below is the case: the publisher sending every encoding again. (An
      // application that waits for producer-layers-unused to shrink before turning the top
      // encoding on again climbs later: the estimate must first reach the top layer's last
      // cost by probing; it did within 20 s in most runs, not all.)
      await sender.evaluate(() => {
        window.onEvent = null;
        return window.producers.get('video').setMaxSpatialLayer(2);
      });
    }
    // Lifted: probes find the bandwidth again and the consumer climbs back to the top.
    await thin.evaluate((t) => window.chorusRequest('set-transport-egress-cap', { transportId: t, bitrate: 0 }), transportId);
    const liftAt = Date.now();
    await until(thin, 'the top encoding within 20 s of lifting the cap', async () => ({ b: (await bwe()).bwe, a: (await bwe()).allocation, top: await topNow(), s: await consumerStats(thin, id), row: await videoRow(thin) }),
      ({ row, top, s, b, a }) => {
        if (process.env.CAP_TIMELINE) process.stderr.write(`L+${Date.now() - liftAt} L:${JSON.stringify(s.currentLayers)} T:${JSON.stringify(s.targetLayers)} w:${row.frameWidth} bwe{t:${b.targetBps} dl:${b.delayBasedBps} ls:${b.lossBasedBps} ack:${b.ackedBps} u:${b.usage} lf:${b.lossFraction} pr:${b.probesSent}/${b.probesSucceeded}} alloc${JSON.stringify(a)}\n`);
        return s.currentLayers?.spatialLayer === 2 && row.frameWidth === top;
      }, 20000, 250);
    process.stderr.write(`back on top after ${Date.now() - liftAt} ms; transport ${JSON.stringify((await bwe()).bwe)}\n`);
    const evs = await layersEvents(thin, id);
    assert.ok(evs.some((e) => e.spatialLayer < 2) && evs.at(-1).spatialLayer === 2, JSON.stringify(evs));
    const freezes = (await videoRow(thin)).freezeCount;
    process.stderr.write(`freezes on the thin receiver: ${freezes}\n`);

    for (const p of [sender, thin]) await p.close();
    await waitForNoPeers(server);
  });
}
