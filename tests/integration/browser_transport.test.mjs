// End to end with real Chromium and the stock mediasoup-client: createSendTransport with
// Chorus's transport-params and produce() of the fake camera bring the transport to
// `connected` (ICE-lite + DTLS + SRTP against a real browser), and the server's stats show
// decrypted SRTP/SRTCP from it. Run inside a loopback-only network namespace (see CMakeLists.txt).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { bundleMediasoupClient, chromiumAvailable, launchChromium, serveStatic } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { withServer } from './lib/server.mjs';

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
  // Media routing may not exist yet: produce() may be refused; the transport still connects.
  const produced = transport.produce({ track: stream.getVideoTracks()[0] }).then(
    (p) => 'produced ' + p.id, (e) => 'produce refused: ' + e.message);
  window.produceOutcome = produced;
  return { transportId: transport.id, log };
};
</script>`;

test('Chromium + mediasoup-client: a send transport reaches connected', { timeout: 90000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  const bundle = await bundleMediasoupClient();
  const site = await serveStatic({
    '/': { type: 'text/html', body: PAGE },
    '/mediasoup-client.js': { type: 'text/javascript', body: bundle },
  });
  const browser = await launchChromium();
  try {
    await withServer(['--log-level', 'info'], async (server) => {
      const page = await browser.context.newPage();
      page.on('console', (m) => process.stderr.write(`[page] ${m.text()}\n`));
      await page.goto(site.url + '/');
      const wsUrl = `ws://127.0.0.1:${server.port}/socket?auth=browser&channelId=e2e`;
      const { transportId } = await page.evaluate((u) => window.runSendTransport(u), wsUrl);
      // connectionstatechange reaches 'connected' (ICE + DTLS done in the browser).
      await page.waitForFunction(() => window.transportStates.includes('connected'), null, { timeout: 20000 });
      // The server sees the same: DTLS connected with a GCM profile, RTP decrypted.
      let stats;
      const deadline = Date.now() + 20000;
      for (;;) {
        const r = await page.evaluate((id) => window.chorusRequest('get-transport-stats', { transportId: id }), transportId);
        stats = r.data;
        // SRTP or SRTCP decrypted. (While produce is refused, mediasoup-client stops the
        // sender, so the browser's RTCP is what arrives for sure.)
        if (stats && stats.dtlsState === 'connected' && stats.rtp.received + stats.rtcp.received > 0) break;
        assert.ok(Date.now() < deadline, `server never decrypted SRTP/SRTCP: ${JSON.stringify(r)}`);
        await page.waitForTimeout(250); // polling interval of a bounded loop, not synchronization
      }
      assert.match(stats.srtpProfile, /^SRTP_AEAD_AES_(256|128)_GCM$/);
      assert.ok(['connected', 'completed'].includes(stats.iceState), stats.iceState);
      assert.equal(stats.iceSelectedTuple.protocol, 'udp');
      const outcome = await page.evaluate(() => window.produceOutcome);
      process.stderr.write(`produce outcome: ${outcome}\n`);
      await page.close();
      await waitForNoPeers(server);
    });
  } finally {
    await browser.close();
    await site.close();
  }
});
