// A room across a three-node cluster in real Chromium, with the stock socket.io-client and
// mediasoup-client (loopback-only network namespace): a page on node A and a page on node
// C run seed 004's lifecycle in one room and decode each other's audio and video. The room
// lives on one node (its home); each page's node holds one relay per remote producer its
// page consumes, and the relays carry the media between the nodes.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RECEIVED_SCRIPT, bundleMediasoupClient, chromiumAvailable, launchChromium, openPage, serveStatic, until } from './lib/browser.mjs';
import { withNodes } from './lib/cluster.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { pollUntil } from './lib/tcp.mjs';

// With today's rendezvous weights this room's home is node-b, the node with no page, so the
// signalling of both pages crosses nodes; the test requires only that there is one home.
const ROOM = 'a-to-c-via-b';

// Seed 004's lifecycle over Socket.IO (as in browser_socketio.test.mjs), condensed: join,
// send and recv transports, produce audio and video from the fake camera, consume the
// existing producers and every new one.
const PAGE = `<!doctype html><meta charset="utf-8"><title>cluster</title>
<script src="/libs.js"></script>
<script>
window.consumers = [];
window.lifecycle = async (serverUrl, roomId) => {
  const socket = io(serverUrl, { path: '/socket.io/', reconnection: false });
  window.socket = socket;
  const ack = (event, data) => socket.timeout(10000).emitWithAck(event, data).then((r) => {
    if (r && r.error) throw new Error(event + ': ' + r.error);
    return r;
  });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  let device, recvTransport;
  const consume = async (producerId) => {
    const p = await ack('consume', { roomId, producerId, rtpCapabilities: device.rtpCapabilities });
    const consumer = await recvTransport.consume({ id: p.id, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters });
    const el = document.createElement(p.kind);
    el.muted = p.kind === 'video';
    el.srcObject = new MediaStream([consumer.track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
    window.consumers.push(consumer);
    socket.emit('resume-consumer', { roomId, consumerId: p.id });
  };
  socket.on('new-producer', ({ producerId }) => { consume(producerId).catch((e) => console.error('consume ' + producerId + ': ' + e.message)); });
  const { rtpCapabilities } = await ack('get-rtp-capabilities', { roomId });
  device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: rtpCapabilities });
  const { existingProducers } = await ack('join-mediasoup-room', { roomId, rtpCapabilities: device.rtpCapabilities });
  const sendTransport = device.createSendTransport((await ack('create-webrtc-transport', { roomId, direction: 'send' })).params);
  recvTransport = device.createRecvTransport((await ack('create-webrtc-transport', { roomId, direction: 'recv' })).params);
  for (const t of [sendTransport, recvTransport]) {
    t.on('connect', ({ dtlsParameters }, cb, eb) => { ack('connect-transport', { roomId, transportId: t.id, dtlsParameters }).then(() => cb(), eb); });
  }
  sendTransport.on('produce', ({ kind, rtpParameters }, cb, eb) => {
    ack('produce', { roomId, transportId: sendTransport.id, kind, rtpParameters }).then(({ id }) => cb({ id }), eb);
  });
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const producers = [];
  producers.push((await sendTransport.produce({ track: stream.getAudioTracks()[0] })).id);
  producers.push((await sendTransport.produce({ track: stream.getVideoTracks()[0] })).id);
  for (const id of existingProducers) await consume(id);
  return { socketId: socket.id, producers };
};
${RECEIVED_SCRIPT}
</script>`;

const healthz = async (node) => (await httpGet(`${node.url}/healthz`)).json;

test('a page on node A and a page on node C of a three-node cluster see and hear each other', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async (t) => {
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh();
    let site = null;
    let browser = null;
    try {
      site = await serveStatic({
        '/': { type: 'text/html', body: PAGE },
        '/libs.js': { type: 'text/javascript', body: await bundleMediasoupClient({ socketio: true }) },
        '/favicon.ico': { type: 'image/x-icon', body: '' },
      });
      browser = await launchChromium();
      const pageA = await openPage(browser, `${site.url}/`, 'page on A');
      const pageC = await openPage(browser, `${site.url}/`, 'page on C');
      const onA = await pageA.evaluate(([u, r]) => window.lifecycle(u, r), [a.url, ROOM]);
      const onC = await pageC.evaluate(([u, r]) => window.lifecycle(u, r), [c.url, ROOM]);
      assert.notEqual(onA.socketId, onC.socketId);

      // Each page consumes the other's audio and video, and decodes both.
      const decoding = (rows) => rows.length === 2 &&
        rows.every((r) => (r.kind === 'video' ? r.framesDecoded > 10 : r.packetsReceived > 50 && r.totalSamplesReceived > 0));
      for (const [page, other] of [[pageA, onC], [pageC, onA]]) {
        const rows = await until(page, 'decoding the other page', () => page.evaluate(() => window.received()), decoding, 30000, 200);
        assert.deepEqual(rows.map((r) => r.kind).sort(), ['audio', 'video']);
        assert.deepEqual(rows.map((r) => r.producerId).sort(), other.producers.slice().sort(), 'consumers of the other page');
        t.diagnostic(`received: ${JSON.stringify(rows)}`);
      }

      // One home for the room; the pages' nodes each hold one relay per remote producer (2),
      // node B none, and the relays keep receiving over the links.
      const first = await Promise.all([a, b, c].map(healthz));
      assert.deepEqual(first.map((h) => h.rooms).sort(), [0, 0, 1], JSON.stringify(first.map((h) => h.rooms)));
      for (const [i, node] of [[0, a], [2, c]]) {
        assert.equal(first[i].relays.active, 2, `${node.url} relays: ${JSON.stringify(first[i].relays)}`);
        assert.ok(first[i].relays.packetsIn > 0, `${node.url} relays: ${JSON.stringify(first[i].relays)}`);
      }
      assert.equal(first[1].relays.active, 0, `${b.url} relays: ${JSON.stringify(first[1].relays)}`);
      for (const [i, node] of [[0, a], [2, c]]) {
        await pollUntil(async () => (await healthz(node)).relays.packetsIn > first[i].relays.packetsIn + 50,
          { timeoutMs: 5000, intervalMs: 100, what: `relays.packetsIn growing at ${node.url}` });
      }
      const later = await Promise.all([a, b, c].map(healthz));
      t.diagnostic(`rooms (a, b, c) ${JSON.stringify(later.map((h) => h.rooms))}, relays ${JSON.stringify(later.map((h) => h.relays))}`);

      await pageA.close();
      await pageC.close();
      for (const node of [a, b, c]) {
        await waitForNoPeers(node, { timeoutMs: 10000 });
        await pollUntil(async () => (await healthz(node)).relays.active === 0, { timeoutMs: 5000, intervalMs: 50, what: `relays gone at ${node.url}` });
      }
    } catch (e) {
      // What each node says about itself, next to the stderr tails withNodes adds.
      for (const node of [a, b, c]) {
        const h = await healthz(node).catch((err) => `(no /healthz: ${err.message})`);
        if (e instanceof Error) e.message += `\n--- ${node.url} /healthz ---\n${JSON.stringify(h)}`;
      }
      throw e;
    } finally {
      await browser?.close();
      await site?.close();
    }
  });
});
