// Simulcast and SVC to three receivers at once, one of them behind a thin link, end to end
// with real Chromium and the stock mediasoup-client. The server
// runs with --fault-injection; one page produces three encodings (VP8 simulcast r0, r1, r2;
// then VP9 SVC L3T3_KEY in one stream, then AV1 SVC L3T3) and three pages receive it in the
// same room:
// - `wide`, unconstrained: it decodes the top encoding's width;
// - `low`, set-consumer-preferred-layers to spatial layer 0: it decodes the lowest width;
// - `thin`, whose receive transport gets a 300 kbps egress cap (set-transport-egress-cap:
//   a 250 ms drop-tail queue at that rate): it leaves the top layer and settles (the same
//   layers for 2 s) within 10 s of the cap, then keeps decoding with at most 5 % loss over
//   8 s (freezes counted and printed), and is back on the top layer within 20 s of the lift.
// Meanwhile `wide` and `low` stay where they were and lose nothing worth a mention: one
// receiver's thin link does not reach the others. consumer-layers-changed told each step.
// The VP8 sender is a canvas of blocky noise (media_page's `noise`), so that each layer costs
// about its maxBitrate (r0 ~100-150 kbps, r1 ~300-400, r2 ~1.2 Mbit/s) and its keyframes are
// large (r0 ~9 KB, r1 ~15 KB, r2 ~22 KB: more than the queue holds).
// What makes the thin link hold: the send-side estimate (rtp/send_bwe), pacing at twice the
// estimate (a keyframe reaches the thin link no faster than it drains), a spatial switch up
// only when the layer's keyframe passes within 300 ms at the estimate, and upgrades only to
// what a fifth less than the budget pays for (docs/design/bandwidth.md,
// "Allocation"). A third test is the application acting on
// producer-layers-unused behind the thin link. CAP_TIMELINE=1 prints the state every second.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { ENCODINGS, consumerStats, layersEvents, videoRow } from './lib/simulcast.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

const VP8_SIMULCAST = { video: { width: 960, height: 540 }, encodings: ENCODINGS, noise: true };
const VP9_SVC = { video: { width: 960, height: 540 }, codec: 'video/VP9', scalabilityMode: 'L3T3_KEY' };
const AV1_SVC = { video: { width: 960, height: 540 }, codec: 'video/AV1', scalabilityMode: 'L3T3' };

test('simulcast VP8 to three receivers: the top encoding, the lowest on preference, and behind a 300 kbps cap a lower layer within 10 s and back within 20 s of the lift', { timeout: 240000, skip }, async () => {
  await threeReceivers(VP8_SIMULCAST, (top, sent) => sent[0].frameWidth);
});

test('VP9 SVC (L3T3_KEY) to three receivers: the top spatial layer, spatial layer 0 on preference, and behind a 300 kbps cap a lower layer within 10 s and back within 20 s of the lift', { timeout: 240000, skip }, async () => {
  // L3: each spatial layer doubles the width; spatial layer 0 is a quarter of the top.
  await threeReceivers(VP9_SVC, (top) => top / 4);
});

test('AV1 SVC (L3T3, layers read from the Dependency Descriptor) to three receivers: the top spatial layer, spatial layer 0 on preference, and behind a 300 kbps cap a lower layer within 10 s and back within 20 s of the lift', { timeout: 240000, skip }, async () => {
  await threeReceivers(AV1_SVC, (top) => top / 4);
});

test('simulcast VP8 behind a thin link, the publisher acting on producer-layers-unused: the top encoding stopped, not cycled on and off', { timeout: 240000, skip }, async () => {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn', '--fault-injection'] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=unused`;
    const sender = await openPage(browser, `${site.url}/`, 'sender');
    const thin = await openPage(browser, `${site.url}/`, 'thin');
    await sender.evaluate(([u, options]) => window.chorusJoin(u, options), [wsUrl('sender'), VP8_SIMULCAST]);
    await thin.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('thin'));
    const r = await receiver(thin);
    const topNow = async () => Math.max(...(await sentEncodings(sender)).map((e) => e.frameWidth));
    await until(thin, 'the top encoding before the cap', async () => ({ row: await videoRow(thin), top: await topNow(), s: await consumerStats(thin, r.id) }),
      ({ row, top, s }) => row.framesDecoded > 10 && row.frameWidth === top && s.currentLayers?.spatialLayer === 2, 30000, 250);
    await capAndSettle(sender, r);

    // The application acting on producer-layers-unused as docs/protocol.md suggests: it
    // stops sending the encodings above the highest one that is used, and sends them again
    // when they are wanted (acting on the last event so far, then on each one).
    await sender.evaluate(() => {
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
    // Nobody can use the top encoding: the publisher hears so and stops it; it is not made
    // to cycle it on and off while the link stays thin (the first version of the demand
    // did, every 5-6 s: on, then off again after the hold).
    await until(sender, 'the publisher stops the top encoding', maxLayers, (l) => l.length > 0 && l.at(-1) < 2, 15000, 250);
    const stoppedAt = (await maxLayers()).length;
    const before = await videoRow(thin);
    const t1 = Date.now();
    await until(sender, 'eight seconds on the thin link', () => Date.now() - t1, (ms) => ms >= 8000, 12000, 500);
    const after = (await maxLayers()).slice(stoppedAt - 1);
    process.stderr.write(`setMaxSpatialLayer while capped: ${JSON.stringify(await maxLayers())}\n`);
    const cycled = after.some((m, i) => m === 2 && after.slice(i + 1).some((n) => n < 2));
    assert.ok(!cycled, `the top encoding cycled on and off on the thin link: ${JSON.stringify(after)}`);
    const row = await videoRow(thin);
    // Frames keep coming (the noise's lowest encoding, at its lowest temporal layer while
    // the publisher reconfigures, decodes 1-5 a second: a fresh-clone CI run saw under 20 in
    // the 8 s, so the bound is one every two seconds).
    assert.ok(row.framesDecoded >= before.framesDecoded + 4, `still decoding: ${JSON.stringify(row)} (before: ${before.framesDecoded})`);
    // Lifted, with the publisher sending every encoding again: back on the top encoding.
    // (An application that waits for producer-layers-unused to shrink before turning the
    // top encoding on again climbs later: the estimate must first reach the top layer's
    // last cost by probing. Noted, not asserted.)
    await sender.evaluate(() => {
      window.onEvent = null;
      return window.producers.get('video').setMaxSpatialLayer(2);
    });
    await liftAndClimb(sender, r);

    for (const p of [sender, thin]) await p.close();
    await waitForNoPeers(server);
  });
});

async function threeReceivers(produce, lowWidthOf) {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn', '--fault-injection'] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=three`;
    const sender = await openPage(browser, `${site.url}/`, 'sender');
    await sender.evaluate(([u, options]) => window.chorusJoin(u, options), [wsUrl('sender'), produce]);
    const sending = await until(sender, 'the sender sending', () => sentEncodings(sender),
      (e) => e.length > 0 && e.every((x) => x.frameWidth > 0), 20000, 250);
    process.stderr.write(`sender: ${JSON.stringify(sending)}\n`);
    const pages = {};
    for (const name of ['wide', 'low', 'thin']) {
      const page = await openPage(browser, `${site.url}/`, name);
      await page.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl(name));
      pages[name] = await receiver(page);
    }
    const { wide, low, thin } = pages;
    const type = produce.encodings ? 'simulcast' : 'svc';
    assert.equal(await wide.page.evaluate((id) => window.consumers.get(id).type, wide.id), type);
    const asked = await low.page.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 0 }), low.id);
    assert.notEqual(asked.type, 'error', JSON.stringify(asked));

    // Widths now: the top encoding's, and the lowest one's.
    const widths = async () => {
      const sent = await sentEncodings(sender);
      const top = Math.max(...sent.map((e) => e.frameWidth));
      return { top, low: lowWidthOf(top, sent) };
    };
    const where = async () => {
      const w = await widths();
      const out = { w };
      for (const [name, r] of Object.entries(pages)) out[name] = { row: await videoRow(r.page), s: await consumerStats(r.page, r.id) };
      return out;
    };
    const onTop = (x, name) => x[name].row.frameWidth === x.w.top && x[name].s.currentLayers?.spatialLayer === 2;
    const onLow = (x) => x.low.row.frameWidth === x.w.low && x.low.s.currentLayers?.spatialLayer === 0;
    const t0 = Date.now();
    const start = await until(sender, 'wide and thin on the top layer, low on spatial layer 0', where,
      (x) => onTop(x, 'wide') && onTop(x, 'thin') && onLow(x) && ['wide', 'low', 'thin'].every((n) => x[n].row.framesDecoded > 10), 40000, 250);
    process.stderr.write(`all three where they belong after ${Date.now() - t0} ms: widths ${JSON.stringify(start.w)}\n`);
    // SVC: one stream, the server drops the spatial layers above 0 for low.
    if (type === 'svc') assert.ok(start.low.s.droppedLayers > 0, JSON.stringify(start.low.s));
    await until(low.page, 'consumer-layers-changed to spatial 0 on low', () => layersEvents(low.page, low.id),
      (evs) => evs.at(-1)?.spatialLayer === 0, 5000);

    // The thin link: down, settled, decoding without sustained loss.
    const others = { wide: await videoRow(wide.page), low: await videoRow(low.page) };
    const cappedAt = Date.now();
    await capAndSettle(sender, thin);
    const cappedFor = (Date.now() - cappedAt) / 1000;
    // The others did not notice: on their layers, decoding, (almost) nothing lost.
    const during = await where();
    for (const name of ['wide', 'low']) {
      const row = during[name].row;
      const lost = row.packetsLost - others[name].packetsLost;
      const received = row.packetsReceived - others[name].packetsReceived;
      process.stderr.write(`${name} while thin was capped (${cappedFor} s): ${row.framesDecoded - others[name].framesDecoded} frames, lost ${lost} of ${lost + received}, freezes ${row.freezeCount}, ${row.frameWidth} wide\n`);
      // At least 2 frames a second: the noise's lowest VP8 encoding runs at 4-5 (libvpx drops
      // frames to keep 150 kbps), the others at 12-15.
      assert.ok(row.framesDecoded > others[name].framesDecoded + 2 * cappedFor, `${name} kept decoding over ${cappedFor} s: ${JSON.stringify(row)}`);
      assert.ok(lost <= 0.01 * (lost + received), `${name} lost ${lost} of ${lost + received} while another receiver was capped`);
    }
    assert.ok(onTop(during, 'wide'), `wide left the top layer: ${JSON.stringify(during.wide)}`);
    assert.ok(onLow(during), `low left spatial layer 0: ${JSON.stringify(during.low)}`);

    await liftAndClimb(sender, thin);
    const end = await where();
    assert.ok(onTop(end, 'wide') && onLow(end), JSON.stringify({ wide: end.wide.s.currentLayers, low: end.low.s.currentLayers }));
    const events = (await Promise.all([sender, wide.page, low.page, thin.page].map((p) => p.evaluate(() => window.events)))).flat();
    assert.ok(events.every((e) => e.type !== 'page-error'), JSON.stringify(events.filter((e) => e.type === 'page-error')));

    for (const p of [sender, wide.page, low.page, thin.page]) await p.close();
    await waitForNoPeers(server);
  });
}

const sentEncodings = (sender) => sender.evaluate(() => window.sentEncodings());

// A receiving page: its video consumer, its receive transport, the transport's stats.
async function receiver(page) {
  const id = (await videoRow(page)).consumerId;
  const transportId = await page.evaluate(() => window.recvTransport.id);
  const stats = async () => (await page.evaluate((t) => window.chorusRequest('get-transport-stats', { transportId: t }), transportId)).data;
  return { page, id, transportId, stats };
}

// Caps the receiver's link at 300 kbps; the estimate falls and the allocation moves the
// consumer down within 10 s, where it settles (the same layers for 2 s) and goes on decoding
// with at most 5 % loss over the next 8 s.
async function capAndSettle(sender, { page, id, transportId, stats }) {
  const capped = await page.evaluate((t) => window.chorusRequest('set-transport-egress-cap', { transportId: t, bitrate: 300000 }), transportId);
  assert.notEqual(capped.type, 'error', JSON.stringify(capped));
  const capAt = Date.now();
  const down = await until(page, 'a lower layer within 10 s of the cap', () => consumerStats(page, id),
    (s) => s.currentLayers && s.currentLayers.spatialLayer < 2, 10000, 250);
  { const d = await stats(); process.stderr.write(`down to ${JSON.stringify(down.currentLayers)} after ${Date.now() - capAt} ms; bwe ${JSON.stringify(d.bwe)} cap ${JSON.stringify(d.egressCap)} alloc ${JSON.stringify(d.allocation)}\n`); }
  let last = '', sameSince = Date.now();
  await until(page, 'the layers settle within 10 s of the cap', async () => JSON.stringify((await consumerStats(page, id)).currentLayers),
    (layers) => {
      if (layers !== last) {
        last = layers;
        sameSince = Date.now();
      }
      return Date.now() - sameSince >= 2000;
    }, Math.max(1000, 10000 - (Date.now() - capAt)), 250);
  process.stderr.write(`settled on ${last} after ${Date.now() - capAt} ms\n`);
  const settled = await videoRow(page);
  const settledAt = Date.now();
  let next = 0;
  const later = (await until(page, 'decoding on the thin link', async () => {
    if (process.env.CAP_TIMELINE && Date.now() - settledAt >= next) {
      next += 1000;
      const d = await stats();
      const c = await consumerStats(page, id);
      const r = await videoRow(page);
      const pid = await sender.evaluate(() => window.producers.get('video').id);
      const kf = (await sender.evaluate((i) => window.chorusRequest('get-producer-stats', { producerId: i }), pid)).data.map((e) => e.keyframeBytes);
      process.stderr.write(`T+${Date.now() - capAt} kf${JSON.stringify(kf)} rx{dec:${r.framesDecoded} rcv:${r.packetsReceived} lost:${r.packetsLost} nack:${r.nackCount} pli:${r.pliCount} frz:${r.freezeCount} w:${r.frameWidth}} c{paced:${JSON.stringify(c.paced)} pkts:${c.packetCount} br:${c.bitrate} L:${JSON.stringify(c.currentLayers)} T:${JSON.stringify(c.targetLayers)} rtx:${JSON.stringify(c.retransmissionBuffer)} kf:${c.keyframeRequests} sw:${c.layerSwitches} drop:${c.droppedLayers} oth:${c.otherLayers}} bwe{t:${d.bwe.targetBps} dl:${d.bwe.delayBasedBps} ls:${d.bwe.lossBasedBps} ack:${d.bwe.ackedBps} u:${d.bwe.usage} lf:${d.bwe.lossFraction} pr:${d.bwe.probesSent}/${d.bwe.probesSucceeded} pc:${d.bwe.probeCapacityBps}} cap${JSON.stringify(d.egressCap)} alloc${JSON.stringify(d.allocation)}\n`);
    }
    return { row: await videoRow(page), at: Date.now() };
  // Over at least 8 s (transients of a switch attempt or a probe are not sustained loss).
  }, (x) => x.row.framesDecoded > settled.framesDecoded + 20 && x.at - settledAt >= 8000, 15000, 250)).row;
  const lost = later.packetsLost - settled.packetsLost;
  const received = later.packetsReceived - settled.packetsReceived;
  const d = await stats();
  const c = await consumerStats(page, id);
  process.stderr.write(`on the thin link: decoded ${later.framesDecoded - settled.framesDecoded} frames, lost ${lost} of ${received + lost}, freezes ${later.freezeCount}; bwe ${JSON.stringify(d.bwe)} cap ${JSON.stringify(d.egressCap)} consumer ${JSON.stringify({ bitrate: c.bitrate, layers: c.currentLayers, sw: c.layerSwitches, kf: c.keyframeRequests })}\n`);
  // Not sustained: at most 5 % over those 8 s. Measured 0-3 % in 15 runs (an upgrade
  // attempt or a probe that the 250 ms queue could not absorb costs a few packets); before
  // pacing it was 13-40 % with stalls, before the pacing floor (forwardedBps) up to 21 %, with the keyframe ceiling at 400 ms 7-8 % in 3 runs of 5.
  assert.ok(lost <= 0.05 * (received + lost), `sustained loss: ${lost} lost, ${received} received`);
  return later;
}

// Lifts the cap: probes find the bandwidth again and the consumer is back on the top layer
// (the top encoding's width decoded) within 20 s; consumer-layers-changed told both steps.
async function liftAndClimb(sender, { page, id, transportId, stats }) {
  const lifted = await page.evaluate((t) => window.chorusRequest('set-transport-egress-cap', { transportId: t, bitrate: 0 }), transportId);
  assert.notEqual(lifted.type, 'error', JSON.stringify(lifted));
  const liftAt = Date.now();
  await until(page, 'the top layer within 20 s of lifting the cap', async () => ({ b: (await stats()).bwe, top: Math.max(...(await sentEncodings(sender)).map((e) => e.frameWidth)), s: await consumerStats(page, id), row: await videoRow(page) }),
    ({ row, top, s, b }) => {
      if (process.env.CAP_TIMELINE) process.stderr.write(`L+${Date.now() - liftAt} L:${JSON.stringify(s.currentLayers)} T:${JSON.stringify(s.targetLayers)} w:${row.frameWidth} bwe{t:${b.targetBps} dl:${b.delayBasedBps} ls:${b.lossBasedBps} ack:${b.ackedBps} u:${b.usage} lf:${b.lossFraction} pr:${b.probesSent}/${b.probesSucceeded}}\n`);
      return s.currentLayers?.spatialLayer === 2 && row.frameWidth === top;
    }, 20000, 250);
  process.stderr.write(`back on top after ${Date.now() - liftAt} ms; transport ${JSON.stringify((await stats()).bwe)}; freezes on the thin receiver: ${(await videoRow(page)).freezeCount}\n`);
  const evs = await layersEvents(page, id);
  assert.ok(evs.some((e) => e.spatialLayer < 2) && evs.at(-1).spatialLayer === 2, JSON.stringify(evs));
}
