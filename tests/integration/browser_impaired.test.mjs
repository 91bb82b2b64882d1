// What a student on a poor network notices, end to end: real Chromium with the stock
// mediasoup-client receives a teacher's camera and microphone through an impaired link
// (lib/impaired_link.mjs: seeded loss, delay and jitter, in userspace, both directions
// alike), while the teacher's page sends directly. The receiver's page samples its
// inbound-rtp stats every 100 ms; for each case the test reports what a person notices:
// freezes (count, share of the time), the longest stall, frames per second and
// resolution, the share of audio the decoder had to conceal, and the audio/video offset
// (from estimatedPlayoutTimestamp, where Chromium gives one). The server runs with a single
// media port on 127.0.0.1; the receiver's page points its transport at the link
// (adaptTransportParams), which forwards to that port.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, until, withBrowser } from './lib/browser.mjs';
import { IMPAIRMENTS, joinThroughLink, linkServerArgs, startImpairedLink } from './lib/impaired_link.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { SAMPLER, measureCase } from './lib/receiver_figures.mjs';
import { freeRtcPort } from './lib/server.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

// What must hold over each case's window (lib/impaired_link.mjs: IMPAIRMENTS, in order):
// the issue's targets, which Chorus holds on this harness (docs/performance.md, "Under an
// impaired link", has the figures). A lossy receiver is asked to hold its video for a
// round trip and a second NACK (rtp/playout_delay.hpp), so a repaired frame plays in time
// instead of freezing; each case shows the hint was written and the receiver held frames.
const hinted = (f) => {
  assert.ok(f.playout?.lossy && f.playout.minMs >= 100 && f.playout.frames > 100,
    `the receiver told to hold its video for repairs: ${JSON.stringify(f.playout)}`);
};
const CHECKS = [
  // 5 % random loss: frozen under 1 % of the time.
  (f) => {
    hinted(f);
    assert.ok(f.freezeShare < 0.01, `video frozen ${(100 * f.freezeShare).toFixed(2)} % of the time`);
    assert.ok(f.longestStallMs < 500, `a stall of ${f.longestStallMs} ms`);
  },
  // 100 ms +- 30 ms delay with 2 % loss: no freeze over 500 ms, lip sync within 100 ms.
  (f) => {
    hinted(f);
    assert.ok(f.longestStallMs < 500, `a stall of ${f.longestStallMs} ms`);
    if (f.avOffsetMs !== null) assert.ok(Math.abs(f.avOffsetMs) <= 100, `audio and video ${f.avOffsetMs} ms apart`);
  },
  // The same with reordering: libwebrtc asks for packets that are only late, too.
  (f) => {
    hinted(f);
    assert.ok(f.longestStallMs < 1000, `a stall of ${f.longestStallMs} ms`);
    if (f.avOffsetMs !== null) assert.ok(Math.abs(f.avOffsetMs) <= 100, `audio and video ${f.avOffsetMs} ms apart`);
  },
];

// The student's video consumer's playout-delay state, as the server reports it.
async function playoutOf(student) {
  const id = (await student.evaluate(() => window.received())).find((x) => x.kind === 'video').consumerId;
  const c = (await student.evaluate((i) => window.chorusRequest('get-consumer-stats', { consumerId: i }), id)).data[0];
  return c.playoutDelay;
}

test('Chromium behind an impaired link: freezes, stalls, concealment and A/V offset per case, within what a class can live with', { timeout: 180000, skip }, async () => {
  const port = await freeRtcPort();
  await withBrowser({ html: MEDIA_PAGE, serverArgs: linkServerArgs(port) }, async ({ server, browser, site }) => {
    const link = await startImpairedLink({ port, seed: 62 });
    try {
      const { student } = await joinThroughLink({ teacherBrowser: browser, siteUrl: site.url, server, room: 'impaired' });
      assert.ok(link.clients() >= 1 && link.stats().down.delivered > 100, `the media went through the link: ${JSON.stringify(link.stats())}`);
      // Chromium negotiates the extension; on the clean link nothing is written.
      const clean = await playoutOf(student);
      assert.ok(clean && !clean.lossy && clean.frames === 0, `no hint on a clean link: ${JSON.stringify(clean)}`);
      await student.evaluate(SAMPLER);

      const results = [];
      for (const c of IMPAIRMENTS) {
        const m0 = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
        const f = await measureCase(student, link, c, async (fig) => {
          const m1 = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
          for (const k of ['chorus_nacks_received_total', 'chorus_plis_received_total', 'chorus_firs_received_total', 'chorus_keyframe_requests_sent_total', 'chorus_retransmissions_total'])
            fig[k.replace(/^chorus_|_total$/g, '')] = m1.value(k) - m0.value(k);
          fig.playout = await playoutOf(student);
        });
        results.push({ case: c.name, ...f });
        console.log(`impaired link, ${c.name}: ${JSON.stringify(f)}`);
      }
      for (const [i, c] of IMPAIRMENTS.entries()) {
        assert.ok(results[i].fps > 10, `${c.name}: ${results[i].fps} frames per second`);
        CHECKS[i](results[i]);
      }
      // Healed, the receiver is told it may play at once again (ten calm reports).
      await until(student, 'the playout delay released on the healed link', () => playoutOf(student),
        (p) => !p.lossy && p.minMs === 0, 30000, 500);
    } finally {
      await link.close();
    }
  });
});
