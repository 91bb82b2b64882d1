// Simulcast across a three-node cluster in real Chromium with the stock mediasoup-client
// (loopback-only network namespace): a page on node A publishes three rid encodings, a
// page on node C receives them through node C's relay. The relay carries across the link
// only the encodings its consumers select (layer_demand): while the receiver prefers
// spatial layer 0, only r0's packets cross; when it prefers the top, only r2's. The
// publisher hears which encodings nobody in the room selects (producer-layers-unused).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bundleMediasoupClient, chromiumAvailable, launchChromium, openPage, serveStatic, until } from './lib/browser.mjs';
import { withNodes } from './lib/cluster.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { ENCODINGS, consumerStats, videoRow } from './lib/simulcast.mjs';
import { pollUntil } from './lib/tcp.mjs';

const healthz = async (node) => (await httpGet(`${node.url}/healthz`)).json;
const ROOM = 'simulcast-across';

// The sender's producer stats: entry 0 carries the fan-out (one row per attached consumer
// or relay) and the forwarded total.
const producerStats = async (page, id) =>
  (await page.evaluate((p) => window.chorusRequest('get-producer-stats', { producerId: p }), id)).data;
const unusedEvents = (page) => page.evaluate(() =>
  window.events.filter((e) => e.type === 'producer-layers-unused').map((e) => e.data.spatialLayers));

// Over about two seconds: the packets handed to the remote relay and the packets the
// producer forwarded in all (every encoding).
async function relayShare(sender, producerId) {
  const take = async () => {
    const s = (await producerStats(sender, producerId))[0];
    const relay = s.fanout.find((f) => f.remote);
    return { relay, forwarded: s.forwarded };
  };
  const a = await take();
  const t0 = Date.now();
  await until(sender, 'two seconds of forwarding', () => Date.now() - t0, (ms) => ms >= 2000, 5000, 250);
  const b = await take();
  return { layers: b.relay.spatialLayers, relayed: b.relay.packets - a.relay.packets, forwarded: b.forwarded - a.forwarded };
}

test('a relay carries only the encodings its node selects; the publisher hears the unused ones', { timeout: 180000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withNodes(async (nodes) => {
    const [a, , c] = await nodes.mesh();
    let site = null;
    let browser = null;
    try {
      site = await serveStatic({
        '/': { type: 'text/html', body: MEDIA_PAGE },
        '/mediasoup-client.js': { type: 'text/javascript', body: await bundleMediasoupClient() },
        '/favicon.ico': { type: 'image/x-icon', body: '' },
      });
      browser = await launchChromium();
      const url = (node, peer) => `ws://127.0.0.1:${node.port}/socket?auth=${peer}&channelId=${ROOM}`;
      const sender = await openPage(browser, `${site.url}/`, 'sender on A');
      const recv = await openPage(browser, `${site.url}/`, 'receiver on C');
      await sender.evaluate(([u, encodings]) => window.chorusJoin(u, { video: { width: 960, height: 540 }, encodings }),
        [url(a, 'sender'), ENCODINGS]);
      const producerId = await sender.evaluate(() => window.producers.get('video').id);
      await recv.evaluate((u) => window.chorusJoin(u, { produce: false }), url(c, 'recv'));
      const consumerId = (await videoRow(recv)).consumerId;
      const sent = await until(sender, 'three encodings sending', () => sender.evaluate(() => window.sentEncodings()),
        (e) => e.length === 3 && e.every((x) => x.frameWidth > 0), 20000, 250);
      process.stderr.write(`sender encodings: ${JSON.stringify(sent)}\n`);
      const width = async (i) => (await sender.evaluate(() => window.sentEncodings()))[i].frameWidth;

      // Spatial layer 0 only: the receiver decodes r0, the relay takes only encoding 0.
      await recv.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 0 }), consumerId);
      await until(recv, 'the receiver on C decodes encoding 0', async () => ({ row: await videoRow(recv), w: await width(0) }),
        ({ row, w }) => row.frameWidth === w && row.framesDecoded > 10, 30000, 250);
      const low = await relayShare(sender, producerId);
      process.stderr.write(`relay while spatial 0 is selected: ${JSON.stringify(low)}\n`);
      assert.deepEqual(low.layers, [0], JSON.stringify(low));
      assert.ok(low.relayed > 0 && low.relayed < 0.4 * low.forwarded, `only encoding 0 crossed the link: ${JSON.stringify(low)}`);
      // Nobody in the room selects r1 or r2: the publisher is told (after the hold).
      await until(sender, 'producer-layers-unused [1, 2]', () => unusedEvents(sender),
        (evs) => JSON.stringify(evs.at(-1)) === '[1,2]', 15000, 250);

      // The top: the relay switches to encoding 2, the receiver decodes its width; at once
      // the publisher hears that encoding 2 is used again.
      await recv.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 2 }), consumerId);
      await until(recv, 'the receiver on C decodes encoding 2', async () => ({ row: await videoRow(recv), w: await width(2) }),
        ({ row, w }) => row.frameWidth === w && row.framesDecoded > 10, 30000, 250);
      const evs = await unusedEvents(sender);
      assert.ok(evs.some((e) => JSON.stringify(e) === '[1]' || JSON.stringify(e) === '[]' || JSON.stringify(e) === '[0,1]'),
        `encoding 2 reported used again: ${JSON.stringify(evs)}`);
      const top = await relayShare(sender, producerId);
      process.stderr.write(`relay while spatial 2 is selected: ${JSON.stringify(top)}\n`);
      assert.deepEqual(top.layers, [2], JSON.stringify(top));
      assert.ok(top.relayed > 0 && top.relayed < 0.9 * top.forwarded, JSON.stringify(top));
      assert.ok(top.relayed > 1.5 * low.relayed, `the top encoding is the larger: ${JSON.stringify({ low, top })}`);
      await until(sender, 'producer-layers-unused [0, 1]', () => unusedEvents(sender),
        (evs) => JSON.stringify(evs.at(-1)) === '[0,1]', 15000, 250);
      const cs = await consumerStats(recv, consumerId);
      assert.equal(cs.currentLayers.spatialLayer, 2, JSON.stringify(cs));
      const row = await videoRow(recv);
      process.stderr.write(`receiver on C: ${JSON.stringify(row)}\n`);
      assert.ok(row.packetsLost <= 5 && row.nackCount <= 10, JSON.stringify(row));

      await sender.close();
      await recv.close();
      for (const node of [a, c]) {
        await waitForNoPeers(node, { timeoutMs: 10000 });
        await pollUntil(async () => (await healthz(node)).relays.active === 0, { timeoutMs: 5000, intervalMs: 50, what: `relays gone at ${node.url}` });
      }
    } finally {
      await browser?.close();
      await site?.close();
    }
  });
});
