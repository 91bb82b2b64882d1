// The seed 004 frontend's flow (shared/guide/seed004-frontend.md) in real Chromium with the
// stock socket.io-client and mediasoup-client (loopback-only network namespace): three
// participants with user ids, names and pictures, the creator as host, camera + microphone
// keyed by user id, a canvas screen share keyed `${userId}-screen`, stopping the share, and
// a participant leaving (producer-closed for each of its producers, then participant-left).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>frontend</title>
<script src="/libs.js"></script>
<script>
window.events = [];   // new-producer, producer-closed, participant-left, in order
window.errors = [];   // failures of consumes started by events
window.list = null;   // the latest participant-list-update
window.streams = {};  // key (userId or userId-screen) -> [{ kind, consumer, ...consume ack }]
let socket, device, recvTransport, roomId, userId, shareProducer, markReady;
const ready = new Promise((resolve) => { markReady = resolve; });
const consumed = new Set();
const closed = new Set();
const ack = async (event, data) => {
  const r = await socket.timeout(10000).emitWithAck(event, data);
  if (!r || typeof r !== 'object' || r.error !== undefined) throw new Error(event + ' -> ' + JSON.stringify(r));
  return r;
};
const removeProducer = (producerId) => {
  for (const [key, list] of Object.entries(window.streams)) {
    for (const s of list.filter((x) => x.producerId === producerId)) s.consumer.close();
    window.streams[key] = list.filter((x) => x.producerId !== producerId);
    if (window.streams[key].length === 0) delete window.streams[key];
  }
};
const consume = async (producerId) => {
  if (consumed.has(producerId)) return;
  consumed.add(producerId);
  await ready;
  const p = await ack('consume', { roomId, producerId, rtpCapabilities: device.rtpCapabilities, transportId: recvTransport.id });
  const consumer = await recvTransport.consume({ id: p.id, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters, appData: p.appData });
  const el = document.createElement(p.kind);
  el.muted = true;
  el.srcObject = new MediaStream([consumer.track]);
  document.body.appendChild(el);
  el.play().catch(() => {});
  const key = p.isScreenShare ? p.userId + '-screen' : p.userId;
  (window.streams[key] ||= []).push({ kind: p.kind, consumer, producerId: p.producerId, userId: p.userId, userName: p.userName,
    producerSocketId: p.producerSocketId, isScreenShare: p.isScreenShare, appData: p.appData });
  if (closed.has(producerId)) removeProducer(producerId);
  socket.emit('resume-consumer', { roomId, consumerId: p.id });
};

// Joins as the frontend does; with share, also produces a canvas screen share.
window.join = async (serverUrl, room, name, isCreator, share) => {
  roomId = room;
  userId = 'user_' + name.toLowerCase();
  socket = io(serverUrl, { path: '/socket.io/', transports: ['websocket'], reconnection: false });
  window.socket = socket;
  socket.on('participant-list-update', (l) => { window.list = l; });
  for (const n of ['new-producer', 'producer-closed', 'participant-left']) socket.on(n, (data) => window.events.push({ name: n, data }));
  socket.on('new-producer', (d) => consume(d.producerId).catch((e) => window.errors.push(String(e))));
  socket.on('producer-closed', (d) => { closed.add(d.producerId); removeProducer(d.producerId); });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  const setUserId = await ack('set-user-id', userId);
  const { rtpCapabilities } = await ack('get-rtp-capabilities', { roomId });
  device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: rtpCapabilities });
  const joined = await ack('join-mediasoup-room', { roomId, rtpCapabilities: device.rtpCapabilities, userId, userName: name,
    userImageUrl: 'https://img.example/' + name.toLowerCase() + '.png', isCreator });
  const send = device.createSendTransport((await ack('create-webrtc-transport', { roomId, direction: 'send' })).params);
  recvTransport = device.createRecvTransport((await ack('create-webrtc-transport', { roomId, direction: 'recv' })).params);
  for (const t of [send, recvTransport]) {
    t.on('connect', ({ dtlsParameters }, cb, eb) => { ack('connect-transport', { roomId, transportId: t.id, dtlsParameters }).then(() => cb(), eb); });
  }
  send.on('produce', ({ kind, rtpParameters, appData }, cb, eb) => {
    ack('produce', { roomId, transportId: send.id, kind, rtpParameters, appData }).then(({ id }) => cb({ id }), eb);
  });
  markReady();
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const producers = {};
  producers.audio = (await send.produce({ track: media.getAudioTracks()[0], appData: {} })).id;
  producers.video = (await send.produce({ track: media.getVideoTracks()[0], appData: {} })).id;
  if (share) {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const g = canvas.getContext('2d');
    let n = 0;
    const draw = () => {
      g.fillStyle = 'hsl(' + ((n++ * 7) % 360) + ',80%,50%)';
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#000';
      g.font = '48px sans-serif';
      g.fillText('screen ' + n, 40, 80);
    };
    draw();
    setInterval(draw, 66);
    shareProducer = await send.produce({ track: canvas.captureStream(15).getVideoTracks()[0], appData: { share: true } });
    producers.share = shareProducer.id;
  }
  for (const e of joined.existingProducers) await consume(typeof e === 'string' ? e : e.producerId);
  return { socketId: socket.id, setUserId, joined, producers };
};

window.stopShare = async () => {
  const producerId = shareProducer.id;
  shareProducer.close();
  return ack('screen-share-stopped', { roomId, userId, producerId });
};

window.socketIdFor = (user) => ack('get-socket-id-for-user', { userId: user });

// Per stream key: what the consume ack said and the consumer's inbound-rtp counters.
window.streamStats = async () => {
  const out = {};
  for (const [key, list] of Object.entries(window.streams)) {
    out[key] = await Promise.all(list.map(async (s) => {
      const row = { kind: s.kind, consumerId: s.consumer.id, producerId: s.producerId, userId: s.userId, userName: s.userName,
        producerSocketId: s.producerSocketId, isScreenShare: s.isScreenShare, appData: s.appData, framesDecoded: 0, packetsReceived: 0 };
      (await s.consumer.getStats()).forEach((x) => {
        if (x.type !== 'inbound-rtp') return;
        row.framesDecoded = x.framesDecoded || 0;
        row.packetsReceived = x.packetsReceived || 0;
      });
      return row;
    }));
  }
  return out;
};
</script>`;

const ROOM = 'frontend-e2e';
const uid = (name) => `user_${name.toLowerCase()}`;
const entry = (name) => ({ id: uid(name), name, imageUrl: `https://img.example/${name.toLowerCase()}.png`, isHost: name === 'Ada',
  isCoHost: false, isAudioMuted: false, isVideoPaused: false, audioLocked: false, screenShareLocked: false });
const byId = (a, b) => (a.id < b.id ? -1 : 1);
const stats = (page) => page.evaluate(() => window.streamStats());
const events = (page) => page.evaluate(() => window.events);

// Waits (bounded) until `page` holds exactly the streams of `spec` ({ key: [kinds] }), all
// decoding (video framesDecoded > 5, audio packetsReceived > 20), then until every counter
// has grown past that sample. Resolves the first sample.
async function flowing(page, label, spec) {
  const kinds = (rows) => rows.map((r) => r.kind).sort().join();
  const first = await until(page, `${label}: streams decoding`, () => stats(page),
    (s) => Object.keys(s).sort().join() === Object.keys(spec).sort().join()
      && Object.entries(spec).every(([k, want]) => kinds(s[k]) === [...want].sort().join()
        && s[k].every((r) => (r.kind === 'video' ? r.framesDecoded > 5 : r.packetsReceived > 20))),
    30000, 200);
  const counter = (r) => (r.kind === 'video' ? r.framesDecoded : r.packetsReceived);
  const was = new Map(Object.values(first).flat().map((r) => [r.consumerId, counter(r)]));
  await until(page, `${label}: counters growing`, () => stats(page),
    (s) => Object.values(s).flat().every((r) => counter(r) > was.get(r.consumerId)), 15000, 200);
  assert.deepEqual(await page.evaluate(() => window.errors), [], label);
  return first;
}

test('seed 004 frontend in Chromium: identity, host, streams by user id, screen share, leaving', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: PAGE, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const names = ['Ada', 'Bo', 'Cy'];
    const pages = {};
    const me = {};
    for (const name of names) pages[name] = await openPage(browser, `${site.url}/`, name);
    // Ada creates (and shares her screen), then Bo joins, then Cy (also claiming creator).
    for (const name of names) {
      me[name] = await pages[name].evaluate(([u, r, n, c, s]) => window.join(u, r, n, c, s), [server.url, ROOM, name, name !== 'Bo', name === 'Ada']);
    }
    const { Ada: ada, Bo: bo, Cy: cy } = me;
    assert.equal(new Set(names.map((n) => me[n].socketId)).size, 3);
    for (const name of names) assert.deepEqual(me[name].setUserId, {});
    const adaIds = Object.values(ada.producers);
    const boIds = Object.values(bo.producers);
    assert.equal(adaIds.length, 3);
    const joinAck = (j) => ({ ...j, existingProducers: [...j.existingProducers].sort() });
    assert.deepEqual(joinAck(ada.joined), { success: true, existingProducers: [], isHost: true, isCoHost: false });
    assert.deepEqual(joinAck(bo.joined), { success: true, existingProducers: [...adaIds].sort(), isHost: false, isCoHost: false });
    assert.deepEqual(joinAck(cy.joined), { success: true, existingProducers: [...adaIds, ...boIds].sort(), isHost: false, isCoHost: false });

    // 1. Every page's latest list: the three users, Ada alone host.
    const full = names.map(entry);
    for (const name of names) {
      await until(pages[name], `${name}: list`, () => pages[name].evaluate(() => window.list),
        (l) => Array.isArray(l) && JSON.stringify([...l].sort(byId)) === JSON.stringify(full), 15000);
    }

    // 2. Streams keyed as the frontend keys them, all decoding; the share apart from the camera.
    const av = ['audio', 'video'];
    await flowing(pages.Ada, 'Ada', { user_bo: av, user_cy: av });
    for (const [name, other] of [['Bo', 'Cy'], ['Cy', 'Bo']]) {
      const s = await flowing(pages[name], name, { user_ada: av, 'user_ada-screen': ['video'], [uid(other)]: av });
      const [screen] = s['user_ada-screen'];
      const camera = s.user_ada.find((r) => r.kind === 'video');
      assert.notEqual(screen.consumerId, camera.consumerId);
      assert.deepEqual([screen.producerId, screen.isScreenShare, screen.appData, screen.userId, screen.userName, screen.producerSocketId],
        [ada.producers.share, true, { share: true }, 'user_ada', 'Ada', ada.socketId]);
      for (const r of s.user_ada) {
        assert.deepEqual([r.producerId, r.isScreenShare, r.appData, r.userId, r.userName, r.producerSocketId],
          [ada.producers[r.kind], false, {}, 'user_ada', 'Ada', ada.socketId]);
      }
      for (const r of s[uid(other)]) assert.deepEqual([r.producerId, r.userId, r.producerSocketId], [me[other].producers[r.kind], uid(other), me[other].socketId]);
    }

    // 3. get-socket-id-for-user
    assert.deepEqual(await pages.Ada.evaluate(() => window.socketIdFor('user_bo')), { socketId: bo.socketId });

    // 4. Ada stops sharing: the share goes away on Bo and Cy, her camera keeps decoding.
    assert.deepEqual(await pages.Ada.evaluate(() => window.stopShare()), {});
    for (const [name, other] of [['Bo', 'Cy'], ['Cy', 'Bo']]) {
      await flowing(pages[name], `${name} after the share`, { user_ada: av, [uid(other)]: av });
      const closedShare = (await events(pages[name])).filter((e) => e.name === 'producer-closed' && e.data.producerId === ada.producers.share);
      assert.deepEqual(closedShare.map((e) => e.data), [{ producerId: ada.producers.share, peerId: ada.socketId, userId: 'user_ada', kind: 'video', isScreenShare: true }]);
    }

    // 5. Cy leaves: producer-closed for both of Cy's producers, then participant-left; lists and streams drop Cy.
    await pages.Cy.evaluate(() => window.socket.disconnect());
    for (const name of ['Ada', 'Bo']) {
      const page = pages[name];
      const ev = await until(page, `${name}: Cy left`, () => events(page), (e) => e.some((x) => x.name === 'participant-left'), 15000);
      const aboutCy = ev.filter((e) => e.data.userId === 'user_cy' && e.name !== 'new-producer');
      assert.deepEqual(aboutCy.map((e) => e.name), ['producer-closed', 'producer-closed', 'participant-left'], JSON.stringify(aboutCy));
      assert.deepEqual(aboutCy.slice(0, 2).map((e) => e.data).sort((a, b) => (a.kind < b.kind ? -1 : 1)),
        ['audio', 'video'].map((kind) => ({ producerId: cy.producers[kind], peerId: cy.socketId, userId: 'user_cy', kind, isScreenShare: false })));
      assert.deepEqual(aboutCy[2].data, { peerId: cy.socketId, userId: 'user_cy' });
      await until(page, `${name}: list without Cy`, () => page.evaluate(() => window.list),
        (l) => JSON.stringify([...l].sort(byId)) === JSON.stringify([entry('Ada'), entry('Bo')]), 15000);
      await flowing(page, `${name} after Cy left`, name === 'Ada' ? { user_bo: av } : { user_ada: av });
    }

    for (const name of names) await pages[name].close();
    await waitForNoPeers(server);
  });
});
