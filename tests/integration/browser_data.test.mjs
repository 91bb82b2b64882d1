// End to end data channels with real Chromium and the stock mediasoup-client, in a
// loopback-only network namespace: page A produceData(), pages B and C consumeData();
// text and binary messages (one of 200 KB) arrive intact and in order; the room's own
// data producer carries the chat; closing A's data producer closes B's and C's data
// consumers; a send transport with both media and data works.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { DATA_PAGE } from './lib/data_page.mjs';
import { waitForNoPeers } from './lib/http.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

async function withPages(count, body) {
  await withBrowser({ html: DATA_PAGE, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const pages = [];
    for (let i = 0; i < count; ++i) pages.push(await openPage(browser, `${site.url}/`, `page ${i}`));
    const wsUrl = (peer, room) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=${room}`;
    await body({ server, pages, wsUrl });
    for (const p of pages) if (!p.isClosed()) await p.close();
    await waitForNoPeers(server);
  });
}

const openConsumers = (page) => page.evaluate(() => [...window.dataConsumers.values()].filter((dc) => dc.readyState === 'open').length);
const gotFrom = (page, id) => page.evaluate((id) => window.got.filter((g) => g.dataProducerId === id), id);
const pageErrors = (page) => page.evaluate(() => window.events.filter((e) => e.type === 'page-error'));

test('produceData on A, consumeData on B and C: text and binary up to 200 KB intact and in order; room data; close', { timeout: 180000, skip }, async () => {
  await withPages(3, async ({ pages: [a, b, c], wsUrl }) => {
    await b.evaluate((u) => window.dataJoin(u), wsUrl('bob', 'data'));
    await c.evaluate((u) => window.dataJoin(u), wsUrl('carol', 'data'));
    const { dataProducerId } = await a.evaluate((u) => window.dataJoin(u, { produce: true, consume: false }), wsUrl('alice', 'data'));
    // B and C consume the room's own data producer and A's.
    for (const p of [b, c]) await until(p, 'two open data consumers', () => openConsumers(p), (n) => n === 2, 15000);

    const items = [];
    for (let i = 0; i < 50; ++i) items.push({ text: `m${i}` });
    items.push({ length: 1000, seed: 1 }, { length: 5000, seed: 2 }, { length: 200 * 1024, seed: 3 });
    items.push({ text: '' }, { text: 'é€ unicode ✓' }, { length: 16, seed: 4 }, { text: 'end' });
    const t0 = Date.now();
    await a.evaluate((items) => window.sendAll(items), items);
    for (const p of [b, c]) {
      const got = await until(p, 'all messages', () => gotFrom(p, dataProducerId), (g) => g.some((x) => x.text === 'end'), 20000);
      assert.equal(got.length, items.length, JSON.stringify(got.map((g) => g.text ?? g.length)));
      got.forEach((g, i) => {
        const want = items[i];
        if (want.text !== undefined) {
          assert.equal(g.kind, 'string', `message ${i}`);
          assert.equal(g.text, want.text, `message ${i}`);
        } else {
          assert.equal(g.kind, 'binary', `message ${i}`);
          assert.equal(g.length, want.length, `message ${i}`);
          assert.ok(g.ok, `message ${i}: bytes differ`);
        }
      });
    }
    process.stderr.write(`${items.length} messages (${items.reduce((s, x) => s + (x.length ?? x.text.length), 0)} bytes) A -> B, C in ${Date.now() - t0} ms\n`);

    // Server-side counters: the data producer got every message and handed each to 2.
    const ps = await a.evaluate((id) => window.chorusRequest('get-data-producer-stats', { dataProducerId: id }), dataProducerId);
    assert.equal(ps.type, 'get-data-producer-stats', JSON.stringify(ps));
    const pstats = Array.isArray(ps.data) ? ps.data[0] : ps.data;
    assert.equal(pstats.messagesReceived, items.length, JSON.stringify(pstats));
    assert.equal(pstats.messagesSent, items.length * 2, JSON.stringify(pstats));
    assert.equal(pstats.consumers, 2);

    // The room's own data producer: a chat message reaches B and C over the data channel.
    const sent = await a.evaluate(() => window.chorusRequest('chat-message', { text: 'hello over SCTP' }));
    assert.notEqual(sent.type, 'error', JSON.stringify(sent));
    for (const p of [b, c]) {
      const roomMsgs = await until(p, 'room data message', () => p.evaluate(() => window.got.filter((g) => g.label === 'room')),
        (g) => g.length === 1, 10000);
      const chat = JSON.parse(roomMsgs[0].text);
      assert.equal(chat.type, 'chat-message');
      assert.equal(chat.text, 'hello over SCTP');
      assert.equal(chat.peerId, 'alice');
    }

    // A closes its data producer: B and C hear data-consumer-closed and their channel closes.
    const closed = await a.evaluate((id) => window.chorusRequest('close-data-producer', { dataProducerId: id }), dataProducerId);
    assert.equal(closed.type, 'close-data-producer', JSON.stringify(closed));
    for (const p of [b, c]) {
      await until(p, 'data-consumer-closed', () => p.evaluate(() => window.events.filter((e) => e.type === 'data-consumer-closed')),
        (evs) => evs.length === 1 && evs[0].data.dataProducerId !== undefined, 10000);
      await until(p, 'one open data consumer left', () => openConsumers(p), (n) => n === 1, 10000);
      assert.deepEqual(await pageErrors(p), []);
    }
    assert.deepEqual(await pageErrors(a), []);
  });
});

test('one send transport with media and data: video flows and data arrives; closing the page closes the consumers on B and C', { timeout: 180000, skip }, async () => {
  await withPages(3, async ({ pages: [a, b, c], wsUrl }) => {
    await b.evaluate((u) => window.dataJoin(u), wsUrl('bob', 'mixed'));
    await c.evaluate((u) => window.dataJoin(u), wsUrl('carol', 'mixed'));
    const { dataProducerId } = await a.evaluate((u) => window.dataJoin(u, { produce: true, consume: false, media: true }), wsUrl('alice', 'mixed'));
    await until(b, 'two open data consumers', () => openConsumers(b), (n) => n === 2, 15000);
    await until(c, 'two open data consumers', () => openConsumers(c), (n) => n === 2, 15000);
    const items = [];
    for (let i = 0; i < 20; ++i) items.push({ text: `x${i}` }, { length: 3000, seed: i });
    items.push({ text: 'end' });
    await a.evaluate((items) => window.sendAll(items), items);
    const got = await until(b, 'messages', () => gotFrom(b, dataProducerId), (g) => g.some((x) => x.text === 'end'), 15000);
    assert.equal(got.length, items.length);
    assert.ok(got.every((g, i) => (items[i].text !== undefined ? g.text === items[i].text : g.ok && g.length === items[i].length)));
    // The video producer on the same transport gets packets meanwhile.
    const videoId = await a.evaluate(() => window.videoProducer.id);
    const stats = await until(a, 'video packets at the server', () => a.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), videoId),
      (r) => r.type === 'get-producer-stats' && (r.data?.[0]?.packetCount ?? r.data?.[0]?.packetsReceived ?? 0) > 50, 15000);
    assert.equal(stats.data[0].kind, 'video', JSON.stringify(stats.data[0]));
    const ts = await a.evaluate((id) => window.chorusRequest('get-transport-stats', { transportId: id }), await a.evaluate(() => window.sendTransport.id));
    const tstats = Array.isArray(ts.data) ? ts.data[0] : ts.data;
    assert.equal(tstats.sctpState, 'connected', JSON.stringify(tstats));
    assert.ok(tstats.rtp.received > 50 && tstats.sctp.messagesReceived === items.length, JSON.stringify(tstats));

    // Unordered with partial reliability, as the data consumer's channel is made too.
    const unreliable = await a.evaluate(() => window.produceMore({ ordered: false, maxPacketLifeTime: 500, label: 'cursor' }));
    const ucons = await until(b, 'a consumer of the unordered one', () => b.evaluate((id) => {
      for (const dc of window.dataConsumers.values()) if (dc.dataProducerId === id && dc.readyState === 'open') return { ordered: dc.sctpStreamParameters.ordered, life: dc.sctpStreamParameters.maxPacketLifeTime };
      return null;
    }, unreliable), (x) => x !== null, 10000);
    assert.deepEqual(ucons, { ordered: false, life: 500 });
    await a.evaluate((id) => { for (let i = 0; i < 30; ++i) window.moreProducers.get(id).send(`u${i}`); }, unreliable);
    const ugot = await until(b, 'unordered messages', () => gotFrom(b, unreliable), (g) => g.length === 30, 10000);
    assert.deepEqual(ugot.map((g) => g.text).sort(), Array.from({ length: 30 }, (_, i) => `u${i}`).sort());

    // A data channel Chromium opens in-band (DCEP, RFC 8832) on the same association: the
    // server acknowledges it, so it opens; its messages have no data producer and are
    // dropped and counted.
    const dcep = await a.evaluate(async () => {
      const dc = window.sendTransport._handler._pc.createDataChannel('in-band', { protocol: 'p1', ordered: false, maxRetransmits: 1 });
      await new Promise((resolve, reject) => { dc.onopen = resolve; setTimeout(() => reject(new Error('DCEP channel not open')), 5000); });
      dc.send('nobody consumes this');
      return { state: dc.readyState, id: dc.id };
    });
    assert.equal(dcep.state, 'open');
    await until(a, 'DCEP open and the unrouted message counted', async () => {
      const r = await a.evaluate((id) => window.chorusRequest('get-transport-stats', { transportId: id }), await a.evaluate(() => window.sendTransport.id));
      return Array.isArray(r.data) ? r.data[0] : r.data;
    }, (t) => t.sctp.dcepOpens === 1 && t.sctp.droppedNoRoute === 1, 5000);

    // C got the ordered messages too, intact and in order.
    const cgot = await until(c, 'messages at C', () => gotFrom(c, dataProducerId), (g) => g.some((x) => x.text === 'end'), 15000);
    assert.equal(cgot.length, items.length);
    assert.ok(cgot.every((g, i) => (items[i].text !== undefined ? g.text === items[i].text : g.ok && g.length === items[i].length)));

    // A's page closes (no close request: the tab goes): B and C hear data-consumer-closed
    // for each of A's data producers and their channels of A close; the room's stays open.
    await a.close();
    for (const p of [b, c]) {
      await until(p, 'data-consumer-closed on departure', () => p.evaluate(() => window.events.filter((e) => e.type === 'data-consumer-closed')),
        (evs) => evs.some((e) => e.data.dataProducerId === dataProducerId), 10000);
      await until(p, 'data-producer-closed on departure', () => p.evaluate(() => window.events.filter((e) => e.type === 'data-producer-closed')),
        (evs) => evs.some((e) => e.data.dataProducerId === dataProducerId), 10000);
      await until(p, 'only the room\'s data consumer open', () => openConsumers(p), (n) => n === 1, 10000);
      assert.deepEqual(await pageErrors(p), []);
    }
  });
});
