// Data channels across a three-node cluster in real Chromium with the stock
// mediasoup-client (loopback-only network namespace): a page on node A produces data, two
// pages on node C consume it. The data producer lives on A; node C holds one relay of it,
// so each message crosses the A -> C link once for both consumers (relays.packetsIn grows
// by one per message, packetsOut by two).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bundleMediasoupClient, chromiumAvailable, launchChromium, openPage, serveStatic, until } from './lib/browser.mjs';
import { withNodes } from './lib/cluster.mjs';
import { DATA_PAGE } from './lib/data_page.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { pollUntil } from './lib/tcp.mjs';

const healthz = async (node) => (await httpGet(`${node.url}/healthz`)).json;
const ROOM = 'data-across';

test('a data producer on node A reaches two data consumers on node C through one relay', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withNodes(async (nodes) => {
    const [a, , c] = await nodes.mesh();
    let site = null;
    let browser = null;
    try {
      site = await serveStatic({
        '/': { type: 'text/html', body: DATA_PAGE },
        '/mediasoup-client.js': { type: 'text/javascript', body: await bundleMediasoupClient() },
        '/favicon.ico': { type: 'image/x-icon', body: '' },
      });
      browser = await launchChromium();
      const url = (node, peer) => `ws://127.0.0.1:${node.port}/socket?auth=${peer}&channelId=${ROOM}`;
      const [pa, pc1, pc2] = [await openPage(browser, `${site.url}/`, 'A'), await openPage(browser, `${site.url}/`, 'C1'), await openPage(browser, `${site.url}/`, 'C2')];
      await pc1.evaluate((u) => window.dataJoin(u), url(c, 'c1'));
      await pc2.evaluate((u) => window.dataJoin(u), url(c, 'c2'));
      const { dataProducerId } = await pa.evaluate((u) => window.dataJoin(u, { produce: true, consume: false }), url(a, 'a'));
      const open = (p) => p.evaluate(() => [...window.dataConsumers.values()].filter((x) => x.readyState === 'open').length);
      for (const p of [pc1, pc2]) await until(p, 'two open data consumers', () => open(p), (n) => n === 2, 20000);

      const before = (await healthz(c)).relays;
      const items = [];
      for (let i = 0; i < 40; ++i) items.push({ text: `n${i}` });
      items.push({ length: 200 * 1024, seed: 5 }, { text: 'end' });
      await pa.evaluate((items) => window.sendAll(items), items);
      for (const p of [pc1, pc2]) {
        const got = await until(p, 'messages from node A', () => p.evaluate((id) => window.got.filter((g) => g.dataProducerId === id), dataProducerId),
          (g) => g.some((x) => x.text === 'end'), 20000);
        assert.equal(got.length, items.length);
        got.forEach((g, i) => assert.ok(items[i].text !== undefined ? g.text === items[i].text : g.ok && g.length === items[i].length, `message ${i}`));
      }
      const after = (await healthz(c)).relays;
      process.stderr.write(`node C relays before ${JSON.stringify(before)}, after ${JSON.stringify(after)}\n`);
      assert.equal(after.packetsIn - before.packetsIn, items.length, 'each message crossed the link once');
      assert.equal(after.packetsOut - before.packetsOut, 2 * items.length, 'and was handed to both consumers');

      // The producer closes: both consumers on C hear data-consumer-closed.
      await pa.evaluate((id) => window.chorusRequest('close-data-producer', { dataProducerId: id }), dataProducerId);
      for (const p of [pc1, pc2])
        await until(p, 'data-consumer-closed', () => p.evaluate((id) => window.events.filter((e) => e.type === 'data-consumer-closed' && e.data.dataProducerId === id).length, dataProducerId), (n) => n === 1, 10000);
      for (const p of [pa, pc1, pc2]) await p.close();
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
