// WHIP (RFC 9725) in real Chromium: a page publishes a microphone and a camera in three
// simulcast layers with a plain RTCPeerConnection and fetch (no mediasoup-client), and a
// seed 004 frontend page in the room sees and hears it (lib/frontend_page.mjs, the stock
// socket.io-client and mediasoup-client). Then an ICE restart over PATCH (the page's new
// credentials in, the server's new ones back, media flowing on), and DELETE, after which
// the room lets the publisher go and the resource is gone. And GStreamer's webrtcbin
// (lib/gst_whip.py), an independent WebRTC stack, publishing VP8 and Opus through WHIP: the
// room gets both producers and their packets (on a veth address: libnice gathers no
// candidate on loopback).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { PAGE } from './lib/frontend_page.mjs';
import { OFFER_HELPERS } from './lib/offer_page.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { tempConfig, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { MEDIA_IP, addMediaNetwork, inOwnNetns, removeMediaNetwork } from './lib/veth.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const ROOM = 'whip-e2e';

// What the publishing page runs: WHIP as any browser client would write it.
function whipClient() {
  window.whipPublish = async (endpoint) => {
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    const pc = new RTCPeerConnection();
    pc.addTransceiver(media.getAudioTracks()[0], { direction: 'sendonly', streams: [media] });
    pc.addTransceiver(media.getVideoTracks()[0], { direction: 'sendonly', streams: [media],
      sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }] });
    await pc.setLocalDescription(await pc.createOffer());
    await window.offerGathered(pc);
    const r = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
    const body = await r.text();
    if (r.status !== 201) return { status: r.status, body };
    const location = new URL(r.headers.get('location'), endpoint).href;
    window.whip = { pc, location, etag: r.headers.get('etag'), answer: body };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    return { status: r.status, location, etag: window.whip.etag, contentType: r.headers.get('content-type'), answer: body };
  };
  // ICE restart (RFC 9725 §4.3.2), the fragment naming the offer's m-lines.
  window.whipRestart = () => window.offerRestartIce(window.whip, { mids: [...window.whip.pc.localDescription.sdp.matchAll(/a=mid:(.*)\r\n/g)].map((m) => m[1]) });
  window.whipState = () => window.whip.pc.iceConnectionState;
  window.whipDelete = async () => {
    const r = await fetch(window.whip.location, { method: 'DELETE' });
    window.whip.pc.close();
    return r.status;
  };
}

const stats = (page) => page.evaluate(() => window.streamStats());
const counters = (rows) => new Map(rows.map((r) => [r.consumerId, r.kind === 'video' ? r.framesDecoded : r.packetsReceived]));

// The frontend page's streams of one publisher: audio and video, both decoding, and growing
// past `since` (a counters map) when given.
async function decoding(page, label, since = null) {
  return until(page, label, () => stats(page), (s) => {
    const rows = Object.values(s).flat();
    if (rows.map((r) => r.kind).sort().join() !== 'audio,video') return false;
    if (!rows.every((r) => (r.kind === 'video' ? r.framesDecoded > 5 : r.packetsReceived > 20))) return false;
    return !since || rows.every((r) => counters([r]).get(r.consumerId) > (since.get(r.consumerId) ?? Infinity));
  }, 30000, 200);
}

test('WHIP: Chromium publishes with RTCPeerConnection and fetch, a seed 004 page sees and hears it; ICE restart over PATCH; DELETE', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: PAGE, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const viewer = await openPage(browser, `${site.url}/`, 'viewer');
    await viewer.evaluate(() => { window.joinOptions = { publish: false }; });
    await viewer.evaluate(([u, r]) => window.join(u, r, 'Vi', true, false), [server.url, ROOM]);

    const publisher = await openPage(browser, `${site.url}/`, 'whip');
    await publisher.evaluate(OFFER_HELPERS);
    await publisher.evaluate(whipClient);
    const posted = await publisher.evaluate((endpoint) => window.whipPublish(endpoint), `${server.url}/whip/${ROOM}`);
    assert.equal(posted.status, 201, JSON.stringify(posted));
    assert.equal(posted.contentType, 'application/sdp');
    assert.match(posted.location, new RegExp(`^${server.url}/whip/${ROOM}/[0-9a-f-]{36}$`));
    assert.match(posted.answer, /a=ice-lite\r\n/);
    assert.match(posted.answer, /a=simulcast:recv q;h;f\r\n/);
    await until(publisher, 'the WHIP connection', () => publisher.evaluate(() => window.whipState()), (s) => s === 'connected' || s === 'completed', 15000);

    // Seen and heard: the viewer consumes the new producers (new-producer) and decodes them.
    const first = await decoding(viewer, 'the viewer decodes the WHIP audio and video');
    const rows = Object.values(first).flat();
    assert.ok(rows.every((r) => r.producerSocketId === rows[0].producerSocketId), JSON.stringify(rows));
    const list = await viewer.evaluate(() => window.list);
    assert.ok(Array.isArray(list) && list.length === 2, JSON.stringify(list));

    // ICE restart: new credentials both ways, the connection comes back, media flows on.
    const restarted = await publisher.evaluate(() => window.whipRestart());
    assert.equal(restarted.status, 200, JSON.stringify(restarted));
    assert.equal(restarted.contentType, 'application/trickle-ice-sdpfrag');
    assert.notEqual(restarted.after, restarted.before);
    assert.equal(restarted.etag, `"${restarted.after}"`);
    await until(publisher, 'the connection after the restart', () => publisher.evaluate(() => window.whipState()), (s) => s === 'connected' || s === 'completed', 15000);
    const after = counters(Object.values(await stats(viewer)).flat());
    await decoding(viewer, 'media after the ICE restart', after);

    // DELETE: the publisher leaves the room; the resource is gone.
    assert.equal(await publisher.evaluate(() => window.whipDelete()), 200);
    await until(viewer, 'the WHIP participant leaves', () => viewer.evaluate(() => window.events),
      (e) => e.some((x) => x.name === 'participant-left'), 15000);
    const again = await fetch(posted.location, { method: 'DELETE' });
    assert.equal(again.status, 404);

    await publisher.close();
    await viewer.close();
    await waitForNoPeers(server);
  });
});

const GST_PY = '/usr/bin/python3';
const ADMIN_TOKEN = 'admin-token-of-the-whip-test';
const adminUrl = (server) => /^chorus admin API on (http:\/\/\S+)$/m.exec(server.stdout())[1];
const GST_WHIP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'gst_whip.py');
const gstSkip = !fs.existsSync('/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstwebrtc.so') ? 'GStreamer webrtcbin not installed (scripts/setup.sh installs it)'
  : !inOwnNetns() ? 'needs a network namespace of its own: run under scripts/netns-run.sh' : false;

test('WHIP: GStreamer webrtcbin publishes VP8 and Opus; the room gets both producers and their packets', { timeout: 90000, skip: gstSkip }, async () => {
  addMediaNetwork();
  try {
    const adminToken = tempConfig(`${ADMIN_TOKEN}\n`, 'admin-token');
    await withServer(['--log-level', 'warn', '--rtc-ip', MEDIA_IP, '--admin-listen', '127.0.0.1:0', '--admin-token-file', adminToken], async (server) => {
      const room = 'whip-gst';
      const viewer = await connectPeer(server, { auth: 'viewer', channelId: room });
      await viewer.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const gst = spawn(GST_PY, [GST_WHIP, `${server.url}/whip/${room}`, '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = [];
      let stderr = '';
      gst.stderr.on('data', (d) => { stderr += d; });
      readline.createInterface({ input: gst.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
      const exited = new Promise((resolve) => gst.on('exit', (code) => resolve(code)));
      try {
        const seen = (event) => () => lines.some((l) => l.event === event || l.event === 'error');
        await pollUntil(seen('answered'), { timeoutMs: 20000, intervalMs: 100, what: `the WHIP answer (${stderr})` });
        const answered = lines.find((l) => l.event === 'answered');
        assert.equal(answered?.status, 201, JSON.stringify(lines));
        await pollUntil(seen('connected'), { timeoutMs: 20000, intervalMs: 100, what: `webrtcbin connected (${JSON.stringify(lines)})` });
        assert.ok(lines.some((l) => l.event === 'connected'), JSON.stringify(lines));

        // The viewer is told of both producers; the room's view (the admin API) shows each
        // receiving packets (decrypted: SRTP keyed by the DTLS handshake with webrtcbin).
        for (const kind of ['audio', 'video'])
          await viewer.next((m) => m.type === 'new-producer' && m.data?.kind === kind, 15000, `the ${kind} producer`);
        const packets = async () => {
          const r = await fetch(`${adminUrl(server)}/rooms/${room}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
          const producers = (await r.json()).participants.flatMap((p) => p.producers ?? []);
          return Object.fromEntries(producers.map((p) => [p.kind, p.stats?.[0]?.packetCount ?? 0]));
        };
        const first = await packets();
        let last = first;
        await pollUntil(async () => { last = await packets(); return last.audio > (first.audio ?? 0) + 20 && last.video > (first.video ?? 0) + 20; },
          { timeoutMs: 10000, intervalMs: 200, what: 'audio and video packets from GStreamer' })
          .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(first)} -> ${JSON.stringify(last)}`); });

        assert.equal(await exited, 0, `gst_whip.py: ${JSON.stringify(lines)} ${stderr}`);
        assert.equal(lines.find((l) => l.event === 'deleted')?.status, 200);
      } finally {
        gst.kill('SIGKILL');
        await closeAll(viewer);
      }
      await waitForNoPeers(server);
    });
  } finally {
    removeMediaNetwork();
  }
});
