// End to end with real Chromium and the stock mediasoup-client: createSendTransport with
// Chorus's transport-params and produce() of the fake camera bring the transport to
// `connected` (ICE-lite + DTLS + SRTP against a real browser), and the server's stats show
// decrypted SRTP/SRTCP from it. Run inside a loopback-only network namespace (see CMakeLists.txt).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';

const PAGE = `<!doctype html><meta charset="utf-8"><title>transport</title>
<script src="/mediasoup-client.js"></script>
<script>
// Plain JSON dialect client with requestIds (docs/protocol.md).
window.runSendTransport = async (wsUrl) => {
  const log = [];
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('ws error')); });
  let nextId = 1;
  const pending = new Map();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.requestId !== undefined && pending.has(msg.requestId)) {
      const { resolve } = pending.get(msg.requestId);
      pending.delete(msg.requestId);
      resolve(msg);
    }
  };
  const request = (type, data) => new Promise((resolve) => {
    const requestId = nextId++;
    pending.set(requestId, { resolve });
    ws.send(JSON.stringify({ type, data, requestId }));
  });
  window.chorusRequest = request;
  const caps = await request('get-rtp-capabilities');
  const device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps.data });
  const tp = await request('create-transport', { direction: 'send' });
  if (tp.type !== 'transport-params') throw new Error('create-transport: ' + JSON.stringify(tp));
  const transport = device.createSendTransport(tp.data);
  window.sendTransport = transport;
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    request('connect-transport', { transportId: transport.id, dtlsParameters }).then((r) => {
      log.push('connect: ' + r.type);
      r.type === 'transport-connected' ? callback() : errback(new Error(JSON.stringify(r.data)));
    });
  });
  transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
    request('produce', { transportId: transport.id, kind, rtpParameters }).then((r) => {
      log.push('produce: ' + r.type + (r.data && r.data.code ? ' ' + r.data.code : ''));
      r.type === 'producer-id' ? callback({ id: r.data.id }) : errback(new Error(r.data.message));
    });
  });
  const states = [];
  transport.on('connectionstatechange', (s) => states.push(s));
  window.transportStates = states;
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  // The outcome of produce() is reported as text, so that a refusal shows in the assertion.
  const produced = transport.produce({ track: stream.getVideoTracks()[0] }).then(
    (p) => 'produced ' + p.id, (e) => 'produce refused: ' + e.message);
  window.produceOutcome = produced;
  return { transportId: transport.id, log };
};
</script>`;

test('Chromium + mediasoup-client: a send transport reaches connected', { timeout: 90000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: PAGE, serverArgs: ['--log-level', 'info'] }, async ({ server, browser, site }) => {
    const page = await openPage(browser, `${site.url}/`, 'page', { allConsole: true });
    const wsUrl = `ws://127.0.0.1:${server.port}/socket?auth=browser&channelId=e2e`;
    const { transportId } = await page.evaluate((u) => window.runSendTransport(u), wsUrl);
    // connectionstatechange reaches 'connected' (ICE + DTLS done in the browser).
    await page.waitForFunction(() => window.transportStates.includes('connected'), null, { timeout: 20000 });
    // produce() is answered with a producer id (media routing exists).
    const outcome = await page.evaluate(() => window.produceOutcome);
    assert.match(outcome, /^produced /);
    // The server sees the same: DTLS connected with a GCM profile, SRTP from the producer
    // decrypted.
    const r = await until(page, 'the server decrypting SRTP',
      () => page.evaluate((id) => window.chorusRequest('get-transport-stats', { transportId: id }), transportId),
      (res) => res.data?.dtlsState === 'connected' && res.data.rtp.received > 0, 20000, 250);
    const stats = r.data;
    assert.match(stats.srtpProfile, /^SRTP_AEAD_AES_(256|128)_GCM$/);
    assert.ok(['connected', 'completed'].includes(stats.iceState), stats.iceState);
    assert.equal(stats.iceSelectedTuple.protocol, 'udp');
    await page.close();
    await waitForNoPeers(server);
  });
});
