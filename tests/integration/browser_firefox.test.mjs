// Firefox (Debian's firefox-esr, a second browser engine: Gecko, its own SDP, DTLS and
// SCTP stacks) against Chorus, beside Chromium, with the stock mediasoup-client (its
// Firefox120 handler): media both ways, simulcast published by Firefox and switched for a
// Chromium receiver, data channels both ways, a screen share, and ICE restart. One Firefox,
// one Chromium and one server serve every case, each case in a room of its own. Firefox
// gathers no candidate on loopback: the server's media address is 192.0.2.1 on a veth pair
// made in the test's network namespace (lib/veth.mjs; run under scripts/netns-run.sh).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { bundleMediasoupClient, chromiumAvailable, grewFrom, launchChromium, openPage, serveStatic, until } from './lib/browser.mjs';
import { DATA_PAGE } from './lib/data_page.mjs';
import { firefoxAvailable, launchFirefox } from './lib/firefox.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { startServer } from './lib/server.mjs';
import { ENCODINGS, consumerStats, layersEvents, videoRow } from './lib/simulcast.mjs';
import { MEDIA_IP, addMediaNetwork, inOwnNetns, removeMediaNetwork } from './lib/veth.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') ||
  (!firefoxAvailable() && 'no /usr/bin/firefox-esr (Debian package firefox-esr)') ||
  (!inOwnNetns() && 'needs a network namespace of its own: run under scripts/netns-run.sh');

// What every case shares: the server, the site (MEDIA_PAGE at /, DATA_PAGE at /data) and
// one launch of each browser.
const env = {};

before(async () => {
  if (skip) return;
  addMediaNetwork();
  env.site = await serveStatic({
    '/': { type: 'text/html', body: MEDIA_PAGE },
    '/data': { type: 'text/html', body: DATA_PAGE },
    '/mediasoup-client.js': { type: 'text/javascript', body: await bundleMediasoupClient() },
  });
  env.server = await startServer(['--log-level', process.env.CHORUS_LOG_LEVEL || 'warn', '--rtc-ip', MEDIA_IP]);
  // Launched side by side; whichever started is kept for after() to close.
  const [firefox, chromium] = await Promise.allSettled([launchFirefox(), launchChromium()]);
  env.firefox = firefox.value;
  env.chromium = chromium.value;
  for (const r of [firefox, chromium]) if (r.status === 'rejected') throw r.reason;
  process.stderr.write(`firefox: ${env.firefox.version}\n`);
});

after(async () => {
  await env.firefox?.close();
  await env.chromium?.close();
  const stopped = await env.server?.stop();
  await env.site?.close();
  removeMediaNetwork();
  if (stopped) {
    assert.ok(!stopped.timedOut && stopped.code === 0,
      `chorus did not exit cleanly: ${JSON.stringify(stopped)}\n${env.server.stderr().slice(-8192)}`);
  }
});

const wsUrl = (peer, room) => `ws://127.0.0.1:${env.server.port}/socket?auth=${peer}&channelId=${room}`;

// Runs body({ fox, chrome }) with a Firefox page and a Chromium page of `path`; both are
// closed afterwards and the server must then hold nothing of them. A failure carries the
// server's log tail.
async function withPair(path, body) {
  const fox = await openPage(env.firefox, `${env.site.url}${path}`, 'firefox');
  const chrome = await openPage(env.chromium, `${env.site.url}${path}`, 'chromium');
  try {
    await body({ fox, chrome });
  } catch (e) {
    if (e instanceof Error) e.message += `\n--- chorus stderr (tail) ---\n${env.server.stderr().slice(-8192)}`;
    throw e;
  } finally {
    await fox.close().catch(() => {});
    await chrome.close().catch(() => {});
  }
  await waitForNoPeers(env.server, { timeoutMs: 5000 });
}

const rx = (page) => () => page.evaluate(() => window.received());
// Every consumer decoding: video frames, audio packets and samples.
const decodingAll = (expected) => (rows) =>
  rows.length === expected &&
  rows.every((r) => (r.kind === 'video' ? r.framesDecoded > 0 && r.frameWidth > 0 : r.packetsReceived > 0 && r.totalSamplesReceived > 0));
const transportStats = (page, which) => page.evaluate(async (w) =>
  (await window.chorusRequest('get-transport-stats', { transportId: window[w].id })).data, which);
const pageErrors = (page) => page.evaluate(() => window.events.filter((e) => e.type === 'page-error'));

// Each transport of a page, as the browser and the server see it: the browser's connection
// state and selected pair, the server's ICE state, selected tuple, DTLS state and the
// packets it dropped for coming from a tuple it had not selected.
async function transportViews(page, transports = ['sendTransport', 'recvTransport']) {
  const out = [];
  for (const which of transports) {
    const browser = await page.evaluate(async (w) => window[w] &&
      { state: window[w].connectionState, pair: await window.selectedPair(w) }, which);
    if (!browser) continue;
    const s = await transportStats(page, which);
    out.push({ which, ...browser, server: { iceState: s.iceState, tuple: s.iceSelectedTuple, dtlsState: s.dtlsState, dtlsIn: s.dtls?.received, notSelected: s.dropped?.notSelected } });
  }
  return out;
}
// Connected, on the pair the browser selected: the server's tuple is the browser's local
// candidate (protocol and port).
const samePair = (t) => t.state === 'connected' && t.pair?.local && t.server.tuple &&
  t.server.tuple.protocol === t.pair.local.protocol && t.server.tuple.remotePort === t.pair.local.port;
const connectedOnSamePair = (page, name, transports) =>
  until(page, `${name}'s transports connected, on the pair the browser selected`, () => transportViews(page, transports),
    (ts) => ts.length > 0 && ts.every(samePair), 10000, 200);

test('Firefox and Chromium: camera and microphone both ways', { timeout: 40000, skip }, async () => {
  await withPair('/', async ({ fox, chrome }) => {
    await fox.evaluate((u) => window.chorusJoin(u), wsUrl('fox', 'media'));
    await chrome.evaluate((u) => window.chorusJoin(u), wsUrl('chrome', 'media'));
    assert.equal(await fox.evaluate(() => window.device.handlerName), 'Firefox120');
    const views = await connectedOnSamePair(fox, 'firefox');
    for (const [name, page] of [['firefox', fox], ['chromium', chrome]]) {
      const first = await until(page, `${name} decoding`, rx(page), decodingAll(2), 15000, 200);
      const later = await until(page, `${name} still receiving`, rx(page), grewFrom(first), 5000, 200);
      process.stderr.write(`${name} receives: ${JSON.stringify(later.map((r) => ({ kind: r.kind, framesDecoded: r.framesDecoded, frameWidth: r.frameWidth, packetsReceived: r.packetsReceived, totalSamplesReceived: r.totalSamplesReceived })))}\n`);
    }
    // Firefox's selected pairs: its host candidate (an mDNS name) and the server's 192.0.2.1.
    for (const t of views) {
      process.stderr.write(`firefox ${t.which}: selected pair ${t.pair.local.type}/${t.pair.local.protocol} -> ${t.pair.remote.type}/${t.pair.remote.protocol} ${t.pair.remote.address}:${t.pair.remote.port}; server ${JSON.stringify(t.server)}\n`);
      assert.equal(t.pair.remote.address, MEDIA_IP, JSON.stringify(t));
      const s = await transportStats(fox, t.which);
      // DTLS: Firefox is the client (mediasoup-client's Firefox120 handler), the server the
      // DTLS server; SRTP keys from it.
      assert.equal(s.dtlsState, 'connected', JSON.stringify(s));
      assert.equal(s.dtlsRole, 'server', JSON.stringify(s));
      assert.match(s.srtpProfile, /^SRTP_/, JSON.stringify(s));
    }
    assert.deepEqual(await pageErrors(fox), []);
    assert.deepEqual(await pageErrors(chrome), []);
  });
});

test('simulcast from Firefox: three rid encodings, a Chromium receiver switched down and up', { timeout: 60000, skip }, async () => {
  await withPair('/', async ({ fox, chrome }) => {
    await fox.evaluate(([u, encodings]) => window.chorusJoin(u, { video: { width: 960, height: 540 }, encodings }),
      [wsUrl('fox', 'simulcast'), ENCODINGS]);
    await chrome.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('chrome', 'simulcast'));
    await connectedOnSamePair(fox, 'firefox', ['sendTransport']);
    // The server took Firefox's three encodings as one producer and learnt their SSRCs by rid.
    const producerId = await fox.evaluate(() => window.producers.get('video').id);
    const producerStats = () => fox.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId);
    const pstats = await until(fox, 'three encodings at the server', producerStats,
      (r) => r.data?.length === 3 && r.data.every((e) => e.packetCount > 0 && e.ssrc !== 0), 20000, 250);
    assert.deepEqual(pstats.data.map((e) => e.rid), ['r0', 'r1', 'r2']);
    // What Firefox sends: three widths, lowest first.
    const sent = await until(fox, 'firefox sending three encodings', () => fox.evaluate(() => window.sentEncodings()),
      (e) => e.length === 3 && e.every((x) => x.frameWidth > 0), 15000, 250);
    process.stderr.write(`firefox encodings: ${JSON.stringify(sent)}\n`);
    const widths = sent.map((e) => e.frameWidth);
    assert.ok(widths[0] < widths[1] && widths[1] < widths[2], JSON.stringify(widths));

    const consumerId = (await videoRow(chrome)).consumerId;
    assert.equal(await chrome.evaluate((id) => window.consumers.get(id).type, consumerId), 'simulcast');
    const widthOf = async (i) => (await fox.evaluate(() => window.sentEncodings()))[i].frameWidth;
    const decodes = (what, layer, i) => until(chrome, what, async () => ({ row: await videoRow(chrome), w: await widthOf(i), s: await consumerStats(chrome, consumerId) }),
      ({ row, w, s }) => row.frameWidth === w && s.currentLayers?.spatialLayer === layer, 20000, 250);
    // Unconstrained: the top encoding.
    const top = await decodes('chromium decodes the top encoding', 2, 2);
    process.stderr.write(`chromium on the top encoding: ${top.row.frameWidth}x${top.row.frameHeight}\n`);
    // Preferring spatial layer 0: r0's width, told by consumer-layers-changed.
    const asked = await chrome.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 0 }), consumerId);
    assert.notEqual(asked.type, 'error', JSON.stringify(asked));
    const low = await decodes('chromium decodes encoding 0', 0, 0);
    process.stderr.write(`chromium on encoding 0: ${low.row.frameWidth}x${low.row.frameHeight}\n`);
    await until(chrome, 'consumer-layers-changed to spatial 0', () => layersEvents(chrome, consumerId),
      (evs) => evs.at(-1)?.spatialLayer === 0, 5000);
    // And back up to the top, decoding on.
    const before = await videoRow(chrome);
    await chrome.evaluate((id) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: id, spatialLayer: 2 }), consumerId);
    const back = await decodes('chromium back on the top encoding', 2, 2);
    await until(chrome, 'still decoding on the top encoding', () => videoRow(chrome), (r) => r.framesDecoded > back.row.framesDecoded + 5, 5000, 250);
    assert.ok(back.row.framesDecoded > before.framesDecoded);
    process.stderr.write(`chromium after switching: ${JSON.stringify(await videoRow(chrome))}\n`);
    assert.deepEqual(await pageErrors(chrome), []);
  });
});

// Messages of a data channel test: text, empty, unicode, and binary up to 200 KB (a byte
// pattern the receiving page checks).
const dataItems = (tag) => {
  const items = [];
  for (let i = 0; i < 30; ++i) items.push({ text: `${tag}${i}` });
  items.push({ length: 1000, seed: 1 }, { length: 64 * 1024, seed: 2 }, { length: 200 * 1024, seed: 3 });
  items.push({ text: '' }, { text: 'é€ unicode ✓' }, { text: 'end' });
  return items;
};
const openConsumers = (page) => page.evaluate(() => [...window.dataConsumers.values()].filter((dc) => dc.readyState === 'open').length);
const gotFrom = (page, id) => page.evaluate((id) => window.got.filter((g) => g.dataProducerId === id), id);
function assertIntact(got, items, what) {
  assert.equal(got.length, items.length, `${what}: ${JSON.stringify(got.map((g) => g.text ?? g.length))}`);
  got.forEach((g, i) => {
    const want = items[i];
    if (want.text !== undefined) assert.deepEqual([g.kind, g.text], ['string', want.text], `${what}: message ${i}`);
    else assert.deepEqual([g.kind, g.length, g.ok], ['binary', want.length, true], `${what}: message ${i}`);
  });
}

test('data channels: Firefox and Chromium produce and consume each other\'s, text and binary up to 200 KB', { timeout: 30000, skip }, async () => {
  await withPair('/data', async ({ fox, chrome }) => {
    const c = await chrome.evaluate((u) => window.dataJoin(u, { produce: true, consume: true, label: 'from-chromium' }), wsUrl('chrome', 'data'));
    const f = await fox.evaluate((u) => window.dataJoin(u, { produce: true, consume: true, label: 'from-firefox' }), wsUrl('fox', 'data'));
    // Each consumes the room's own data producer and the other's.
    for (const [name, page] of [['firefox', fox], ['chromium', chrome]])
      await until(page, `${name}: two open data consumers`, () => openConsumers(page), (n) => n === 2, 10000);
    // Firefox's SCTP association runs over its DTLS to the server.
    const fs = await transportStats(fox, 'sendTransport');
    assert.equal(fs.sctpState, 'connected', JSON.stringify(fs));

    const fromFox = dataItems('f');
    const fromChrome = dataItems('c');
    const t0 = Date.now();
    await Promise.all([fox.evaluate((items) => window.sendAll(items), fromFox), chrome.evaluate((items) => window.sendAll(items), fromChrome)]);
    const atChrome = await until(chrome, 'Firefox\'s messages at Chromium', () => gotFrom(chrome, f.dataProducerId), (g) => g.some((x) => x.text === 'end'), 15000);
    const atFox = await until(fox, 'Chromium\'s messages at Firefox', () => gotFrom(fox, c.dataProducerId), (g) => g.some((x) => x.text === 'end'), 15000);
    process.stderr.write(`data: ${fromFox.length} messages each way in ${Date.now() - t0} ms\n`);
    assertIntact(atChrome, fromFox, 'Firefox -> Chromium');
    assertIntact(atFox, fromChrome, 'Chromium -> Firefox');
    // The server counted each message once in and once out.
    const ps = await fox.evaluate((id) => window.chorusRequest('get-data-producer-stats', { dataProducerId: id }), f.dataProducerId);
    const pstats = Array.isArray(ps.data) ? ps.data[0] : ps.data;
    assert.deepEqual([pstats.messagesReceived, pstats.messagesSent], [fromFox.length, fromFox.length], JSON.stringify(pstats));
    // A chat message over the room's data producer reaches Firefox too.
    await chrome.evaluate(() => window.chorusRequest('chat-message', { text: 'hello Firefox' }));
    const room = await until(fox, 'room data message at Firefox', () => fox.evaluate(() => window.got.filter((g) => g.label === 'room')), (g) => g.length === 1, 10000);
    assert.equal(JSON.parse(room[0].text).text, 'hello Firefox');
    for (const page of [fox, chrome]) assert.deepEqual(await pageErrors(page), []);
  });
});

test('screen share from Firefox: a second video producer marked as a screen share, decoded by Chromium', { timeout: 30000, skip }, async () => {
  await withPair('/', async ({ fox, chrome }) => {
    await fox.evaluate((u) => window.chorusJoin(u), wsUrl('fox', 'share'));
    await chrome.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('chrome', 'share'));
    await connectedOnSamePair(fox, 'firefox', ['sendTransport']);
    await until(chrome, 'chromium decoding the camera', rx(chrome), decodingAll(2), 15000, 200);
    const share = await fox.evaluate(() => window.chorusShare({ width: 960, height: 540 }));
    process.stderr.write(`firefox screen share via ${share.via}${share.displayError ? ` (getDisplayMedia: ${share.displayError})` : ''}\n`);
    // Announced as a screen share, and the participant list says so.
    const announced = await until(chrome, 'new-producer of the share', () => chrome.evaluate((id) =>
      window.events.find((e) => e.type === 'new-producer' && e.data.producerId === id)?.data, share.producerId), (d) => d !== undefined, 5000);
    assert.equal(announced.source, 'screen', JSON.stringify(announced));
    await until(chrome, 'isScreenSharing in the participant list', () => chrome.evaluate(() =>
      window.events.filter((e) => e.type === 'participant-list-update').at(-1)?.data.find((p) => p.id === 'fox')),
    (p) => p?.isScreenSharing === true, 5000);
    // Chromium decodes it beside the camera: its own consumer, at the share's size.
    const shareRow = async () => (await rx(chrome)()).find((r) => r.producerId === share.producerId);
    const first = await until(chrome, 'chromium decoding the share', shareRow, (r) => r?.framesDecoded > 0 && r.frameWidth > 0, 15000, 200);
    const later = await until(chrome, 'the share still decoding', shareRow, (r) => r.framesDecoded > first.framesDecoded + 5, 10000, 200);
    process.stderr.write(`chromium decodes the share: ${later.frameWidth}x${later.frameHeight}, ${later.framesDecoded} frames\n`);
    // The canvas is 16:9 (Firefox's encoder may scale it down while its estimate ramps up),
    // the camera 4:3: this is the share's picture, not the camera's.
    if (share.via === 'canvas') assert.ok(Math.abs(later.frameWidth / later.frameHeight - 16 / 9) < 0.05, JSON.stringify(later));
    const camera = (await rx(chrome)()).find((r) => r.kind === 'video' && r.producerId !== share.producerId);
    assert.ok(camera && camera.framesDecoded > 0, JSON.stringify(camera));
    assert.deepEqual(await pageErrors(fox), []);
  });
});

test('ICE restart of Firefox\'s transports: new credentials both ways, the server on Firefox\'s new pair, media flowing on', { timeout: 40000, skip }, async () => {
  await withPair('/', async ({ fox, chrome }) => {
    await fox.evaluate((u) => window.chorusJoin(u), wsUrl('fox', 'restart'));
    await chrome.evaluate((u) => window.chorusJoin(u), wsUrl('chrome', 'restart'));
    const before = await connectedOnSamePair(fox, 'firefox');
    for (const page of [fox, chrome]) await until(page, 'decoding', rx(page), decodingAll(2), 15000, 200);
    // The ICE usernames of both sides, from each transport's SDP (Firefox's local one, the
    // server's as mediasoup-client wrote it into the remote one).
    const ufrags = () => fox.evaluate(() => ['sendTransport', 'recvTransport'].map((w) => {
      const pc = window[w]._handler._pc;
      const ufrag = (sdp) => sdp.match(/a=ice-ufrag:(\S+)/)[1];
      return { local: ufrag(pc.localDescription.sdp), remote: ufrag(pc.remoteDescription.sdp) };
    }));
    const ufragsBefore = await ufrags();

    const restarted = [];
    for (const which of ['sendTransport', 'recvTransport']) restarted.push(await fox.evaluate((w) => window.chorusRestartIce(w), which));
    // New credentials both ways: the server's from restart-ice, Firefox's own.
    const ufragsAfter = await ufrags();
    ufragsAfter.forEach((u, i) => {
      const what = JSON.stringify({ before: ufragsBefore[i], after: u, restartIce: restarted[i] });
      assert.equal(u.remote, restarted[i].usernameFragment, what);
      assert.notEqual(u.remote, ufragsBefore[i].remote, what);
      assert.notEqual(u.local, ufragsBefore[i].local, what);
    });
    // Firefox gathers afresh for the new ICE session and checks with the new credentials: the
    // server validates them and moves to Firefox's new tuple, the one Firefox selected.
    const after = await until(fox, 'the server on Firefox\'s new pair', () => transportViews(fox),
      (views) => views.length === 2 && views.every((v, i) => samePair(v) && v.server.tuple.remotePort !== before[i].server.tuple.remotePort), 15000, 250);
    for (const [i, v] of after.entries()) {
      const stun = (await transportStats(fox, v.which)).stun;
      process.stderr.write(`firefox ${v.which} after ICE restart: pair ${v.pair.local.protocol}:${v.pair.local.port} (was ${before[i].pair.local.protocol}:${before[i].pair.local.port}); server stun ${JSON.stringify(stun)}\n`);
    }
    // Media both ways goes on, on the new pairs.
    await until(fox, 'firefox receiving after the restart', rx(fox), grewFrom(await rx(fox)()), 10000, 200);
    await until(chrome, 'chromium receiving Firefox after the restart', rx(chrome), grewFrom(await rx(chrome)()), 10000, 200);
    assert.deepEqual(await pageErrors(fox), []);
  });
});
