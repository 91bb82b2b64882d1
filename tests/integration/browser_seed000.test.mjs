// Seed 000's client flow, step by step, in real Chromium with the stock socket.io-client and
// mediasoup-client (loopback-only network namespace). The flow never joins a room: the
// server joins the connection on its first request that needs one, in the room named in the
// Socket.IO handshake (query or auth) or else in "default".

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RECEIVED_SCRIPT, chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>seed 000</title>
<script src="/libs.js"></script>
<script>
window.events = [];
window.consumers = [];
let socket, device, recvTransport, wake = null;
const has = (r, keys) => r && typeof r === 'object' && keys.every((k) => r[k] !== undefined);
// Emits with an ack (no payload when data is undefined); an error ack throws unless its code
// is in 'allowed'; 'keys' are the fields the ack must carry.
const ack = async (event, data, keys = [], allowed = []) => {
  const args = data === undefined ? [event] : [event, data];
  const r = await socket.timeout(10000).emitWithAck(...args);
  if (r && r.error !== undefined) {
    if (allowed.includes(r.code)) return r;
    throw new Error(event + ' -> error ack ' + JSON.stringify(r));
  }
  if (!has(r, keys)) throw new Error(event + ' -> ' + JSON.stringify(r).slice(0, 300) + ', wanted ' + keys.join(', '));
  return r;
};
const empty = (event, r) => {
  if (Object.keys(r).length !== 0) throw new Error(event + ' -> ' + JSON.stringify(r) + ', wanted {}');
};
// The next new-producer event or ms milliseconds, whichever comes first (a retry interval).
const nextNewProducer = (ms) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  wake = () => { clearTimeout(t); resolve(); };
});
const TRANSPORT = ['id', 'iceParameters', 'iceCandidates', 'dtlsParameters'];

// Seed 000 steps 1 to 9 (connect, capabilities, send transport, produce audio and video,
// consumer transport). Resolves { socketId, producerIds }.
window.setup = async (serverUrl, { query, auth } = {}) => {
  // 1. connect
  const opts = { path: '/socket.io/', reconnection: false };
  if (query) opts.query = query;
  if (auth) opts.auth = auth;
  socket = io(serverUrl, opts);
  for (const name of ['new-producer', 'participant-list-update', 'participant-left']) {
    socket.on(name, (data) => {
      window.events.push({ name, data });
      if (name === 'new-producer' && wake) wake();
    });
  }
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  // 2. router capabilities, unwrapped
  const caps = await ack('getRouterRtpCapabilities', undefined, ['codecs', 'headerExtensions']);
  device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps });
  // 3./4./6./7. send transport and its listeners
  const send = await ack('createWebRtcTransport', { direction: 'send' }, TRANSPORT);
  const sendTransport = device.createSendTransport(send);
  sendTransport.on('connect', ({ dtlsParameters }, cb, eb) => {
    ack('connectTransport', { dtlsParameters }).then((r) => { empty('connectTransport', r); cb(); }).catch(eb);
  });
  sendTransport.on('produce', ({ kind, rtpParameters }, cb, eb) => {
    ack('produce', { kind, rtpParameters }, ['id', 'producerId']).then((r) => cb({ id: r.producerId ?? r.id }), eb);
  });
  // 5./8. media, one producer per track
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const producerIds = [];
  for (const track of stream.getTracks()) producerIds.push((await sendTransport.produce({ track })).id);
  // 9. consumer transport
  const recv = await ack('create-consumer-transport', undefined, TRANSPORT);
  recvTransport = device.createRecvTransport(recv);
  recvTransport.on('connect', ({ dtlsParameters }, cb, eb) => {
    ack('connect-consumer-transport', { dtlsParameters }).then((r) => { empty('connect-consumer-transport', r); cb(); }).catch(eb);
  });
  return { socketId: socket.id, producerIds };
};

// One consume-media: the ack (a consumer's parameters, or nothing-to-consume).
window.consumeMedia = () => ack('consume-media', { rtpCapabilities: device.rtpCapabilities },
  ['id', 'producerId', 'kind', 'rtpParameters'], ['nothing-to-consume']);

// Seed 000 step 10, repeated until one audio and one video consumer (bounded).
window.consumeBoth = async () => {
  const kinds = () => window.consumers.map((c) => c.kind);
  let last;
  for (let i = 0; i < 100 && !(kinds().includes('audio') && kinds().includes('video')); ++i) {
    last = await window.consumeMedia();
    if (last.code === 'nothing-to-consume') {
      if (typeof last.error !== 'string') throw new Error('nothing-to-consume without error: ' + JSON.stringify(last));
      await nextNewProducer(200);
      continue;
    }
    const { id, producerId, kind, rtpParameters } = last;
    const consumer = await recvTransport.consume({ id, producerId, kind, rtpParameters });
    const el = document.createElement(kind);
    el.muted = kind === 'video';
    el.srcObject = new MediaStream([consumer.track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
    window.consumers.push(consumer);
    empty('unpauseConsumer', await ack('unpauseConsumer', { consumerId: id }));
  }
  if (!(kinds().includes('audio') && kinds().includes('video'))) {
    throw new Error('no audio and video consumer after 100 tries: ' + JSON.stringify(kinds()) + ', last ' + JSON.stringify(last).slice(0, 300));
  }
};

window.seed000 = async (serverUrl, opts) => {
  const me = await window.setup(serverUrl, opts);
  await window.consumeBoth();
  return me;
};

${RECEIVED_SCRIPT}
</script>`;

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';
const run = (page, url, opts = {}) => page.evaluate(([u, o]) => window.seed000(u, o), [url, opts]);
const events = (page) => page.evaluate(() => window.events);

// Waits (bounded) until `page` decodes video and receives audio from exactly `from`'s
// producers: two consumers, one of each kind.
async function decodes(page, from) {
  const rows = await until(page, 'decoding', () => page.evaluate(() => window.received()),
    (r) => r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 10 : x.packetsReceived > 50 && x.totalSamplesReceived > 0)),
    20000, 200);
  assert.deepEqual(rows.map((r) => r.kind).sort(), ['audio', 'video']);
  assert.deepEqual(rows.map((r) => r.producerId).sort(), [...from.producerIds].sort());
}

async function withPages(count, body) {
  await withBrowser({ html: PAGE, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const pages = [];
    for (let i = 0; i < count; ++i) pages.push(await openPage(browser, `${site.url}/`, `page ${i}`));
    await body(server, pages);
    for (const p of pages) await p.close();
    await waitForNoPeers(server);
  });
}

const health = async (server) => (await httpGet(`${server.url}/healthz`)).json;

test('seed 000 flow in Chromium, no join and no roomId', { timeout: 120000, skip }, async () => {
  await withPages(2, async (server, pages) => {
    // Concurrently: the first page finds nothing to consume until the second produces.
    const me = await Promise.all(pages.map((p) => run(p, server.url)));
    assert.notEqual(me[0].socketId, me[1].socketId);
    for (const m of me) assert.equal(m.producerIds.length, 2);
    await decodes(pages[0], me[1]);
    await decodes(pages[1], me[0]);
    // Both in one room ("default"): each saw the other's producers and the other in its list.
    for (const [i, page] of pages.entries()) {
      const other = me[1 - i];
      const ev = await events(page);
      const np = ev.filter((e) => e.name === 'new-producer');
      assert.ok(np.every((e) => e.data.peerId === other.socketId), JSON.stringify(np));
      assert.ok(ev.some((e) => e.name === 'participant-list-update' && e.data.some((p) => p.id === other.socketId)), JSON.stringify(ev));
    }
    const h = await health(server);
    assert.deepEqual([h.rooms, h.peers, h.transports, h.producers, h.consumers], [1, 2, 4, 4, 4], JSON.stringify(h));
  });
});

test('seed 000 flow with roomId in the handshake lands in that room', { timeout: 120000, skip }, async () => {
  await withPages(3, async (server, [a, b, c]) => {
    // A names the room in the handshake query, B in the CONNECT auth, C another room.
    const [ma, mb, mc] = await Promise.all([
      run(a, server.url, { query: { roomId: 'class-7' } }),
      run(b, server.url, { auth: { roomId: 'class-7' } }),
      c.evaluate(([u, o]) => window.setup(u, o), [server.url, { query: { roomId: 'other-room' } }]),
    ]);
    assert.equal(new Set([ma.socketId, mb.socketId, mc.socketId]).size, 3);
    // A and B have produced: C still has nothing to consume.
    const nothing = await c.evaluate(() => window.consumeMedia());
    assert.equal(nothing.code, 'nothing-to-consume', JSON.stringify(nothing).slice(0, 300));
    assert.equal(typeof nothing.error, 'string');
    await decodes(a, mb);
    await decodes(b, ma);
    const ids = (ev) => ev.flatMap((e) => (e.name === 'new-producer' ? [e.data.peerId]
      : e.name === 'participant-list-update' ? e.data.map((p) => p.id) : []));
    const seenByC = ids(await events(c));
    assert.ok(!seenByC.includes(ma.socketId) && !seenByC.includes(mb.socketId), JSON.stringify(seenByC));
    for (const [page, other] of [[a, mb], [b, ma]]) {
      const ev = await events(page);
      const seen = ids(ev);
      assert.ok(seen.includes(other.socketId) && !seen.includes(mc.socketId), JSON.stringify(seen));
      const np = ev.filter((e) => e.name === 'new-producer').map((e) => e.data.producerId);
      assert.ok(np.every((id) => other.producerIds.includes(id)), JSON.stringify(np));
    }
    const h = await health(server);
    assert.deepEqual([h.rooms, h.peers, h.transports, h.producers, h.consumers], [2, 3, 6, 6, 4], JSON.stringify(h));
  });
});
