// The impaired link of browser_impaired with Firefox (Debian's firefox-esr: Gecko, its own
// WebRTC stack) as the student, receiving a Chromium teacher's camera and microphone with
// the stock mediasoup-client: the figures a person notices under 5 % random loss both ways.
// Firefox gathers no candidate on loopback, so the server's single media port is on the
// veth address of the test's namespace (lib/veth.mjs, run under scripts/netns-run.sh),
// where the teacher sends directly, and the link listens on a second address of it. The
// figures are browser_impaired's (Firefox counts freezes too); Firefox negotiates no RED,
// so its audio is plain Opus.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, withBrowser } from './lib/browser.mjs';
import { firefoxAvailable, launchFirefox } from './lib/firefox.mjs';
import { IMPAIRMENTS, joinThroughLink, startImpairedLink } from './lib/impaired_link.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { SAMPLER, measureCase } from './lib/receiver_figures.mjs';
import { freeRtcPort } from './lib/server.mjs';
import { MEDIA_IP, addRelayAddress, inOwnNetns, removeMediaNetwork } from './lib/veth.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') ||
  (!firefoxAvailable() && 'no /usr/bin/firefox-esr (Debian package firefox-esr)') ||
  (!inOwnNetns() && 'needs a network namespace of its own: run under scripts/netns-run.sh');

test('Firefox behind a link losing 5 % both ways: video at full rate with short stalls, every video loss repaired, audio as plain Opus', { timeout: 150000, skip }, async () => {
  const relayIp = addRelayAddress();
  const port = await freeRtcPort();
  // The server on the media address, the link on the relay address: the link's socket
  // towards the server is on MEDIA_IP, so the address the server's ICE answers name is one
  // Firefox takes (from 127.0.0.1 it took none, its ICE ignores loopback).
  const serverArgs = ['--log-level', 'warn', '--rtc-single-port', String(port), '--rtc-ip', MEDIA_IP];
  try {
    await withBrowser({ html: MEDIA_PAGE, serverArgs }, async ({ server, browser, site }) => {
      const firefox = await launchFirefox();
      const link = await startImpairedLink({ port, serverIp: MEDIA_IP, linkIp: relayIp, seed: 63 });
      try {
        const { student } = await joinThroughLink({ teacherBrowser: browser, studentBrowser: firefox, siteUrl: site.url, server, room: 'impaired-firefox', linkIp: relayIp });
        const rows = () => student.evaluate(() => window.received());
        assert.ok(link.clients() >= 1 && link.stats().down.delivered > 100, `the media went through the link: ${JSON.stringify(link.stats())}`);
        await student.evaluate(SAMPLER);

        const f = await measureCase(student, link, IMPAIRMENTS[0], async (fig) => {
          const consumerId = (await rows()).find((x) => x.kind === 'video').consumerId;
          const c = (await student.evaluate((id) => window.chorusRequest('get-consumer-stats', { consumerId: id }), consumerId)).data[0];
          fig.resent = c.packetsRetransmitted;
          fig.copies = c.retransmissionBuffer?.copies;
          fig.nacksIn = c.nackPacketCount;
          fig.playout = c.playoutDelay ?? null;
          fig.audioCodecs = (await rows()).find((x) => x.kind === 'audio').negotiated;
        });
        console.log(`impaired link, Firefox, ${IMPAIRMENTS[0].name}: ${JSON.stringify(f)} (link ${JSON.stringify(link.stats())})`);

        assert.ok(f.fps > 10, `${f.fps} frames per second`);
        assert.ok(f.longestStallMs < 1000, `a stall of ${f.longestStallMs} ms`);
        // Firefox's capabilities (through mediasoup-client) list no audio/red, and it sends
        // no NACK for audio: what the link drops is concealed, about the loss itself.
        assert.deepEqual(f.audioCodecs, ['audio/opus']);
        assert.ok(f.concealedShare < 0.08, `audio concealed ${(100 * f.concealedShare).toFixed(2)} %`);
        // Firefox negotiates the playout-delay extension (its video receiver is libwebrtc's):
        // told to hold its video for repairs, as Chromium is (rtp/playout_delay.hpp).
        assert.ok(f.playout?.lossy && f.playout.minMs >= 100 && f.playout.frames > 100, `the playout delay asked of Firefox: ${JSON.stringify(f.playout)}`);
        assert.ok(f.nacksIn > 0 && f.resent > 0, `losses asked for and repaired: ${f.nacksIn} asked, ${f.resent} resent`);
      } finally {
        await link.close();
        await firefox.close();
      }
    });
  } finally {
    removeMediaNetwork();
  }
});
