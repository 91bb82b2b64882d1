// Data channels across a three-node cluster in real Chromium with the stock
// mediasoup-client (loopback-only network namespace): a page on node A produces data, two
// pages on node C consume it. The data producer lives on A; node C holds one relay of it,
// so each message crosses the A -> C link once for both consumers (relays.packetsIn grows
// by one per message, packetsOut by two). When the room's home is killed, the data channels
// of participants on the surviving nodes go on, and the room's own data producer is rebuilt
// on the room's next home under the same id, feeding the data consumers the pages already
// have; when the node comes back, the room moves home to it, and they go on again.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bundleMediasoupClient, chromiumAvailable, launchChromium, openPage, serveStatic, until } from './lib/browser.mjs';
import { cluster, roomHomedOn, withNodes } from './lib/cluster.mjs';
import { DATA_PAGE } from './lib/data_page.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { pollUntil } from './lib/tcp.mjs';

const healthz = async (node) => (await httpGet(`${node.url}/healthz`)).json;
const ROOM = 'data-across';
// The data test page and the stock client, served on the loopback.
const dataSite = async () => serveStatic({
  '/': { type: 'text/html', body: DATA_PAGE },
  '/mediasoup-client.js': { type: 'text/javascript', body: await bundleMediasoupClient() },
  '/favicon.ico': { type: 'image/x-icon', body: '' },
});

test('a data producer on node A reaches two data consumers on node C through one relay', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withNodes(async (nodes) => {
    const [a, , c] = await nodes.mesh();
    let site = null;
    let browser = null;
    try {
      site = await dataSite();
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

test('the room\'s home killed: data channels between the surviving nodes go on, the room\'s own is rebuilt', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh();
    const room = roomHomedOn('data-crash', 'node-a', ['node-a', 'node-b', 'node-c']);
    let site = null;
    let browser = null;
    try {
      site = await dataSite();
      browser = await launchChromium();
      const url = (node, peer) => `ws://127.0.0.1:${node.port}/socket?auth=${peer}&channelId=${room}`;
      const [pb, pc] = [await openPage(browser, `${site.url}/`, 'B'), await openPage(browser, `${site.url}/`, 'C')];
      await pc.evaluate((u) => window.dataJoin(u), url(c, 'c1'));
      const { dataProducerId } = await pb.evaluate((u) => window.dataJoin(u, { produce: true, consume: true }), url(b, 'b1'));
      const open = (p) => p.evaluate(() => [...window.dataConsumers.values()].filter((x) => x.readyState === 'open').length);
      await until(pc, 'the room\'s own and B\'s data consumers open', () => open(pc), (n) => n === 2, 20000);
      await until(pb, 'the room\'s own data consumer open', () => open(pb), (n) => n === 1, 20000);
      assert.equal((await healthz(a)).rooms, 1, 'the room is not homed on node-a');
      const roomTexts = (p) => p.evaluate(() => window.got.filter((g) => g.label === 'room').map((g) => JSON.parse(g.text).text));
      const fromB = () => pc.evaluate((id) => window.got.filter((g) => g.dataProducerId === id).map((g) => g.text), dataProducerId);
      const chat = async (text) => {
        const r = await pb.evaluate((t) => window.chorusRequest('chat-message', { text: t }), text);
        assert.notEqual(r.type, 'error', JSON.stringify(r));
      };
      await chat('before');
      for (const p of [pb, pc]) await until(p, 'the chat over the room\'s own data channel', () => roomTexts(p), (t) => t.includes('before'), 10000);
      await pb.evaluate(() => window.sendAll([{ text: 'b-before' }]));
      await until(pc, 'B\'s message', fromB, (t) => t.includes('b-before'), 10000);

      const killed = Date.now();
      await nodes.kill(a);
      // B's producer and C's consumer of it never lived on node A.
      await pb.evaluate(() => window.sendAll([{ text: 'b-after' }]));
      await until(pc, 'B\'s message after the kill', fromB, (t) => t.includes('b-after'), 10000);
      // The chat waits for the rebuilt room, and its own data producer reaches both pages
      // over the data consumers they had.
      await chat('after');
      for (const p of [pb, pc]) await until(p, 'the chat over the rebuilt room\'s data channel', () => roomTexts(p), (t) => t.includes('after'), 15000);
      process.stderr.write(`data channels after the kill: the rebuilt room's chat arrived ${Date.now() - killed} ms after it\n`);
      for (const p of [pb, pc]) {
        assert.deepEqual(await p.evaluate(() => window.closedConsumers), [], 'a data consumer closed');
        assert.deepEqual(await p.evaluate(() => window.events.filter((e) => e.type === 'data-consumer-closed' || e.type === 'page-error')), []);
      }
      assert.equal(await open(pc), 2);
      assert.equal(await open(pb), 1);

      // node-a comes back: the room moves home to it (a graceful move), and the data
      // channels go on again.
      const a2 = await nodes.start('node-a', { peers: [(await cluster(b)).listen] });
      await pollUntil(async () => (await healthz(a2)).rooms === 1, { timeoutMs: 20000, intervalMs: 50, what: 'the room moving back to node-a' });
      await chat('moved');
      for (const p of [pb, pc]) await until(p, 'the chat after the move', () => roomTexts(p), (t) => t.includes('moved'), 15000);
      await pb.evaluate(() => window.sendAll([{ text: 'b-moved' }]));
      await until(pc, 'B\'s message after the move', fromB, (t) => t.includes('b-moved'), 10000);
      for (const p of [pb, pc]) {
        assert.deepEqual(await p.evaluate(() => window.closedConsumers), [], 'a data consumer closed in the move');
        // Each once, in order: a resuming consumer catches up on what its room's own sent
        // before it was attached again (from the copy's chat too), and skips what it had.
        assert.deepEqual(await roomTexts(p), ['before', 'after', 'moved']);
      }
    } finally {
      await browser?.close();
      await site?.close();
    }
  });
});
