// WHEP in real Chromium: a teacher's page publishes its camera in three simulcast layers
// (960x540, 480x270, 240x135) and its microphone with the stock mediasoup-client; players
// with a plain RTCPeerConnection (two recvonly transceivers) and fetch POST their offers to
// /whep/ROOM and play the teacher: the whole picture on one, the lowest layer on another
// (?spatialLayer=0) of the camera alone (?producer=). Then an ICE restart
// over PATCH (media flowing on), DELETE (the player leaves the room), and a player of a
// room where nobody publishes: 404, nothing left behind.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { OFFER_HELPERS } from './lib/offer_page.mjs';
import { ENCODINGS } from './lib/simulcast.mjs';

const ROOM = 'whep-e2e';

// What a player page runs: WHEP as any browser player would write it.
function whepClient() {
  window.whepPlay = async (endpoint) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      const el = document.createElement(e.track.kind);
      el.autoplay = true;
      el.muted = true;
      el.srcObject = new MediaStream([e.track]);
      document.body.appendChild(el);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await window.offerGathered(pc);
    const r = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
    const body = await r.text();
    if (r.status !== 201) {
      pc.close();
      return { status: r.status, body };
    }
    const location = new URL(r.headers.get('location'), endpoint).href;
    window.whep = { pc, location, etag: r.headers.get('etag'), answer: body };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    return { status: r.status, location, etag: window.whep.etag, contentType: r.headers.get('content-type'), answer: body };
  };
  window.whepRestart = () => window.offerRestartIce(window.whep);
  window.whepState = () => window.whep.pc.iceConnectionState;
  // What the player decodes and plays.
  window.whepStats = async () => {
    const out = {};
    (await window.whep.pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out[s.kind] = s.kind === 'video'
        ? { framesDecoded: s.framesDecoded ?? 0, frameWidth: s.frameWidth ?? 0 }
        : { packetsReceived: s.packetsReceived ?? 0, totalSamplesReceived: s.totalSamplesReceived ?? 0 };
    });
    return out;
  };
  window.whepDelete = async () => {
    const r = await fetch(window.whep.location, { method: 'DELETE' });
    window.whep.pc.close();
    return r.status;
  };
}

// The player decodes video (past `frames`, at `width` when given) and plays audio.
const playing = (page, label, { frames = 30, width, audio = true } = {}) => until(page, label, () => page.evaluate(() => window.whepStats()),
  (s) => s.video?.framesDecoded > frames && (!width || s.video.frameWidth === width) && (!audio || s.audio?.totalSamplesReceived > 48000), 30000, 200);

async function player(browser, site, name, endpoint) {
  const page = await openPage(browser, `${site.url}/`, name);
  await page.evaluate(OFFER_HELPERS);
  await page.evaluate(whepClient);
  const posted = await page.evaluate((e) => window.whepPlay(e), endpoint);
  return { page, posted };
}

test('WHEP: Chromium players with RTCPeerConnection and fetch play a teacher\'s simulcast camera and microphone, the layer they choose; ICE restart over PATCH; DELETE; 404 for a room with nothing to play', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const teacher = await openPage(browser, `${site.url}/`, 'teacher');
    const { producers } = await teacher.evaluate(([u, options]) => window.chorusJoin(u, options),
      [`ws://127.0.0.1:${server.port}/socket?auth=teacher&channelId=${ROOM}`, { video: { width: 960, height: 540 }, encodings: ENCODINGS }]);
    const camera = producers[0]; // (video first: lib/media_page.mjs)

    // The whole picture: the top layer once the link's estimate has grown to it (a choice of
    // temporal layer alone, here the highest, leaves the spatial layers open).
    const full = await player(browser, site, 'player', `${server.url}/whep/${ROOM}?temporalLayer=2`);
    assert.equal(full.posted.status, 201, JSON.stringify(full.posted));
    assert.equal(full.posted.contentType, 'application/sdp');
    assert.match(full.posted.location, new RegExp(`^${server.url}/whep/${ROOM}/[0-9a-f-]{36}$`));
    assert.match(full.posted.answer, /a=ice-lite\r\n/);
    assert.equal(full.posted.answer.match(/a=sendonly\r\n/g)?.length, 2, full.posted.answer);
    await until(full.page, 'the WHEP connection', () => full.page.evaluate(() => window.whepState()), (s) => s === 'connected' || s === 'completed', 15000);
    await playing(full.page, 'the player decodes the top layer and plays the audio', { width: 960 });

    // The camera alone at its lowest layer, by choice: the audio m-line is rejected.
    const low = await player(browser, site, 'low', `${server.url}/whep/${ROOM}?producer=${camera}&spatialLayer=0`);
    assert.equal(low.posted.status, 201, JSON.stringify(low.posted));
    assert.match(low.posted.answer, /m=audio 0 /);
    assert.equal(low.posted.answer.match(/a=sendonly\r\n/g)?.length, 1, low.posted.answer);
    await playing(low.page, 'the second player decodes the lowest layer', { width: 240, audio: false });
    await low.page.waitForTimeout(2000); // a window to watch it stay there, not synchronisation
    assert.equal((await low.page.evaluate(() => window.whepStats())).video.frameWidth, 240);

    // ICE restart: new credentials both ways, media flowing on.
    const restarted = await full.page.evaluate(() => window.whepRestart());
    assert.equal(restarted.status, 200, JSON.stringify(restarted));
    assert.equal(restarted.contentType, 'application/trickle-ice-sdpfrag');
    assert.notEqual(restarted.after, restarted.before);
    await until(full.page, 'the connection after the restart', () => full.page.evaluate(() => window.whepState()), (s) => s === 'connected' || s === 'completed', 15000);
    const before = (await full.page.evaluate(() => window.whepStats())).video.framesDecoded;
    await playing(full.page, 'frames after the ICE restart', { frames: before + 30 });

    // DELETE: the players leave; the resource is gone.
    for (const p of [full, low]) {
      assert.equal(await p.page.evaluate(() => window.whepDelete()), 200);
      assert.equal((await fetch(p.posted.location, { method: 'DELETE' })).status, 404);
      await p.page.close();
    }

    // A room where nobody publishes: nothing to play, and nobody left in it.
    const empty = await player(browser, site, 'nobody', `${server.url}/whep/empty-room`);
    assert.equal(empty.posted.status, 404, JSON.stringify(empty.posted));
    assert.match(empty.posted.body, /nothing to play in room 'empty-room'/);
    await empty.page.close();
    await teacher.close();
    await waitForNoPeers(server);
  });
});
