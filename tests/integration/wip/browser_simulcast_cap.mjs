// WORK IN PROGRESS (issue 19; not run by CTest, which runs tests/integration/*.test.mjs):
// the acceptance case of a receiver behind a 300 kbps egress cap (--fault-injection,
// set-transport-egress-cap). The sender is a canvas of blocky noise (media_page's `noise`,
// 32-pixel blocks), so that each layer costs about what its maxBitrate allows (measured:
// r0 94/129 kbps at T0/T1, r1 175/317/428, r2 341/722/1238). What it shows on 2026-11-23:
// the consumer leaves the top encoding within about 1 s of the cap (delay-based overuse)
// and reaches (0, 0) within 3-4 s; but then it oscillates (7 layer switches in 15 s): the
// loss-based estimate falls to ~80 kbps on each keyframe burst's losses while probes (which
// succeed, the link really carries 300 kbps) lift it again, each lift moves the consumer
// up, whose keyframe overflows the link's queue. Frames stall (freezes) and the climb after
// lifting the cap is not shown. Next: a longer, growing hold after a fall; the keyframe's
// size in the cost of a switch up; loss-based decreases only for loss that persists.
// Run by hand: CHORUS_BIN=build/chorus ./scripts/netns-run.sh node --test tests/integration/wip/browser_simulcast_cap.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from '../lib/browser.mjs';
import { waitForNoPeers } from '../lib/http.mjs';
import { MEDIA_PAGE } from '../lib/media_page.mjs';
import { ENCODINGS, consumerStats, layersEvents, videoRow } from '../lib/simulcast.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

test('simulcast VP8 behind a 300 kbps egress cap: a lower layer within 10 s, back up within 20 s of lifting it', { timeout: 240000, skip }, async () => {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn', '--fault-injection'] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=thin`;
    const sender = await openPage(browser, `${site.url}/`, 'sender');
    const thin = await openPage(browser, `${site.url}/`, 'thin');
    await sender.evaluate(([u, encodings]) => window.chorusJoin(u, { video: { width: 960, height: 540 }, encodings, noise: true }),
      [wsUrl('sender'), ENCODINGS]);
    await thin.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('thin'));
    const id = (await videoRow(thin)).consumerId;
    const transportId = await thin.evaluate(() => window.recvTransport.id);
    const topNow = async () => Math.max(...(await sender.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth));
    const bwe = async () => (await thin.evaluate((t) => window.chorusRequest('get-transport-stats', { transportId: t }), transportId)).data;
    const t0 = Date.now();
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
    const later = (await until(thin, 'decoding on the thin link', async () => {
      const d = await bwe();
      const c = await consumerStats(thin, id);
      const pid = await sender.evaluate(() => window.producers.get('video').id);
      const ps = (await sender.evaluate((i) => window.chorusRequest('get-producer-stats', { producerId: i }), pid)).data.map((e) => e.bitrateByLayer);
      return { ps, row: await videoRow(thin), bwe: d.bwe, cap: d.egressCap, alloc: d.allocation, sent: d.rtp, c: { bitrate: c.bitrate, rtx: c.retransmissionBuffer, retransmitted: c.bytesRetransmitted, layers: c.currentLayers, target: c.targetLayers, sw: c.layerSwitches, kf: c.keyframeRequests, skipped: c.skipped, pkts: c.packetCount } };
    }, (x) => x.row.framesDecoded > settled.framesDecoded + 20, 10000, 250)).row;
    const lostWhileSettled = later.packetsLost - settled.packetsLost;
    const receivedWhileSettled = later.packetsReceived - settled.packetsReceived;
    process.stderr.write(`on the thin link: ${JSON.stringify(later)}, lost ${lostWhileSettled} of ${receivedWhileSettled + lostWhileSettled}\n`);
    { const d = await bwe(); const c = await consumerStats(thin, id); process.stderr.write(`thin: bwe ${JSON.stringify(d.bwe)} cap ${JSON.stringify(d.egressCap)} alloc ${JSON.stringify(d.allocation)} consumer ${JSON.stringify({ bitrate: c.bitrate, rtx: c.retransmissionBuffer, retransmitted: c.bytesRetransmitted, layers: c.currentLayers, sw: c.layerSwitches })}\n`); }
    assert.ok(lostWhileSettled <= 0.05 * (receivedWhileSettled + lostWhileSettled), `sustained loss: ${lostWhileSettled} lost, ${receivedWhileSettled} received`);

    // Lifted: probes find the bandwidth again and the consumer climbs back to the top.
    await thin.evaluate((t) => window.chorusRequest('set-transport-egress-cap', { transportId: t, bitrate: 0 }), transportId);
    const liftAt = Date.now();
    await until(thin, 'the top encoding within 20 s of lifting the cap', async () => ({ b: (await bwe()).bwe, a: (await bwe()).allocation, top: await topNow(), s: await consumerStats(thin, id), row: await videoRow(thin) }),
      ({ row, top, s }) => s.currentLayers?.spatialLayer === 2 && row.frameWidth === top, 20000, 250);
    process.stderr.write(`back on top after ${Date.now() - liftAt} ms; transport ${JSON.stringify((await bwe()).bwe)}\n`);
    const evs = await layersEvents(thin, id);
    assert.ok(evs.some((e) => e.spatialLayer < 2) && evs.at(-1).spatialLayer === 2, JSON.stringify(evs));
    const freezes = (await videoRow(thin)).freezeCount;
    process.stderr.write(`freezes on the thin receiver: ${freezes}\n`);

    for (const p of [sender, thin]) await p.close();
    await waitForNoPeers(server);
  });
});
