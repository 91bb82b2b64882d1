// Seed 004's "Connection Lifecycle", step by step, in real Chromium with the stock
// socket.io-client and mediasoup-client (loopback-only network namespace): two
// participants, both decoding each other's audio and video.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RECEIVED_SCRIPT, chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>lifecycle</title>
<script src="/libs.js"></script>
<script>
window.steps = [];
window.lifecycle = async (serverUrl, roomId) => {
  const step = (s) => window.steps.push(s);
  const ack = (event, data) => window.socket.timeout(10000).emitWithAck(event, data).then((r) => {
    if (r && r.error) throw new Error(event + ': ' + r.error);
    return r;
  });
  // 1. Client connects -> Socket established (default transports: polling, then upgrade)
  const socket = io(serverUrl, { path: '/socket.io/', reconnection: false });
  window.socket = socket;
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  step(1);
  const consumers = [];
  window.consumers = consumers;
  let device, recvTransport;
  const consume = async (producerId) => {
    // 10. client emits "consume"; 11. "resume-consumer"
    const p = await ack('consume', { roomId, producerId, rtpCapabilities: device.rtpCapabilities });
    const consumer = await recvTransport.consume({ id: p.id, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters });
    const el = document.createElement(p.kind);
    el.muted = p.kind === 'video';
    el.srcObject = new MediaStream([consumer.track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
    consumers.push(consumer);
    socket.emit('resume-consumer', { roomId, consumerId: p.id });
  };
  // 12./13. the server emits "new-producer"; the client consumes it automatically
  socket.on('new-producer', ({ producerId }) => { step(12); consume(producerId).then(() => step(13)); });
  // 2. get-rtp-capabilities; 3. load the device
  const { rtpCapabilities } = await ack('get-rtp-capabilities', { roomId });
  step(2);
  device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: rtpCapabilities });
  step(3);
  // 4. join-mediasoup-room -> existing producers
  const { existingProducers } = await ack('join-mediasoup-room', { roomId, rtpCapabilities: device.rtpCapabilities });
  step(4);
  // 5./6. create-webrtc-transport send and recv
  const send = await ack('create-webrtc-transport', { roomId, direction: 'send' });
  const sendTransport = device.createSendTransport(send.params);
  step(5);
  const recv = await ack('create-webrtc-transport', { roomId, direction: 'recv' });
  recvTransport = device.createRecvTransport(recv.params);
  step(6);
  // 7. connect-transport (for both transports, when mediasoup-client asks)
  for (const t of [sendTransport, recvTransport]) {
    t.on('connect', ({ dtlsParameters }, cb, eb) => {
      ack('connect-transport', { roomId, transportId: t.id, dtlsParameters }).then(() => { step(7); cb(); }, eb);
    });
  }
  // 8./9. produce audio, then video
  sendTransport.on('produce', ({ kind, rtpParameters }, cb, eb) => {
    ack('produce', { roomId, transportId: sendTransport.id, kind, rtpParameters }).then(({ id }) => cb({ id }), eb);
  });
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  await sendTransport.produce({ track: stream.getAudioTracks()[0] });
  step(8);
  await sendTransport.produce({ track: stream.getVideoTracks()[0] });
  step(9);
  // 10./11. for each existing producer: consume and resume
  for (const id of existingProducers) await consume(id);
  step(10);
  return socket.id;
};
${RECEIVED_SCRIPT}
</script>`;

test('seed 004 Connection Lifecycle in Chromium: two participants decode each other', { timeout: 120000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: PAGE, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const pages = [];
    for (let i = 0; i < 2; ++i) pages.push(await openPage(browser, `${site.url}/`, `page ${i}`));
    const ids = [];
    for (const page of pages) ids.push(await page.evaluate(([u, r]) => window.lifecycle(u, r), [server.url, 'lifecycle']));
    assert.notEqual(ids[0], ids[1]);
    for (const page of pages) {
      await until(page, 'decoding', () => page.evaluate(() => window.received()),
        (rows) => rows.length === 2 && rows.every((r) => (r.kind === 'video' ? r.framesDecoded > 10 : r.packetsReceived > 50 && r.totalSamplesReceived > 0)),
        20000, 200);
    }
    // Steps in the lifecycle's order; the first page got new-producer (12, 13) for the second.
    const first = await pages[0].evaluate(() => window.steps);
    assert.deepEqual(first.filter((s) => s <= 10 && s !== 7), [1, 2, 3, 4, 5, 6, 8, 9, 10]);
    assert.ok(first.includes(7) && first.includes(12) && first.includes(13), JSON.stringify(first));
    for (const p of pages) await p.close();
    await waitForNoPeers(server);
  });
});
