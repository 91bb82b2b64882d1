// A student whose link thins out mid-call, end to end: a teacher's Chromium page publishes
// its (fake) camera as VP8 simulcast (960x540, 480x270 and 240x135, at most 1.2 Mbit/s,
// 400 and 150 kbit/s) and its microphone; a student's Chromium page
// receives through lib/impaired_link.mjs, whose capacity toward the student drops from
// unlimited to 1 Mbit/s, then to 300 kbit/s (each behind a 200 ms drop-tail queue: a home
// router's buffer), and then comes back. Nothing but the link tells the server: it learns
// the capacity from the student's transport-cc feedback. What must hold: after the first
// 5 s of each drop, video without a stall over 1 s (at 1 Mbit/s at the sender's frame rate;
// at 300 kbit/s mostly below the top layer) and audio intact (under 2 % concealed); when the link
// returns to unlimited, the top layer within 10 s. The figures per phase are printed
// (lib/receiver_figures.mjs). The server logs its layer decisions (debug), which a failure
// shows.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { linkServerArgs, pointAtLink, startImpairedLink } from './lib/impaired_link.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { SAMPLER } from './lib/receiver_figures.mjs';
import { freeRtcPort } from './lib/server.mjs';
import { ENCODINGS, videoRow } from './lib/simulcast.mjs';
import { RECOVERY_BOUND_MS, thinLinkPhases } from './lib/thin_link.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

test('a receiver\'s link drops to 1 Mbit/s, then 300 kbit/s mid-call: video without a stall over 1 s after the first 5 s, below the top layer at 300 kbit/s, audio intact, the top layer within 10 s of the link coming back', { timeout: 180000, skip }, async () => {
  const port = await freeRtcPort();
  const serverArgs = linkServerArgs(port).map((a) => (a === 'warn' ? 'debug' : a));
  await withBrowser({ html: MEDIA_PAGE, serverArgs }, async ({ server, browser, site }) => {
    const link = await startImpairedLink({ port, seed: 300 });
    try {
      const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=thin`;
      const teacher = await openPage(browser, `${site.url}/`, 'teacher');
      const student = await openPage(browser, `${site.url}/`, 'student');
      await teacher.evaluate(([u, options]) => window.chorusJoin(u, options), [wsUrl('teacher'), { video: { width: 960, height: 540 }, encodings: ENCODINGS }]);
      await pointAtLink(student); // its transport through the link
      await student.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('student'));
      const top = async () => Math.max(...(await teacher.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth || 0));
      await until(student, 'the top layer through the open link', async () => ({ row: await videoRow(student), top: await top() }),
        ({ row, top: t }) => row?.framesDecoded > 30 && t > 0 && row.frameWidth === t, 40000, 250);
      await student.evaluate(SAMPLER);

      // The capacity drops in two steps, then comes back (lib/thin_link.mjs).
      const { phases: [mbit, thin], recoveryMs, topWidth } = await thinLinkPhases({ teacher, student, link });
      assert.ok(recoveryMs !== null, `the top layer again within ${RECOVERY_BOUND_MS} ms of the link coming back`);

      for (const f of [mbit, thin]) {
        assert.ok(f.settled.longestStallMs < 1000, `${f.name}: after the first 5 s, a stall of ${f.settled.longestStallMs} ms`);
        assert.ok(f.settled.concealedShare < 0.02, `${f.name}: audio concealed ${(100 * f.settled.concealedShare).toFixed(2)} % after the first 5 s`);
      }
      assert.ok(mbit.settled.fps >= 0.8 * mbit.senderFps, `1 Mbit/s: ${mbit.settled.fps} frames per second of the ${mbit.senderFps} sent on that layer`);
      // Mostly below the top layer, and on it only briefly: the fake camera's simple picture
      // costs the top layer's base temporal layer about 130 kbit/s (server log: "layers 2/0
      // ... cost"), which a 300 kbit/s link carries, so the allocator may take it when the
      // estimate swings up (a camera of noise, whose layers cost their limits, starves this
      // 2-core machine's encoder).
      assert.ok(thin.mostlyWidth < topWidth, `300 kbit/s: mostly on ${thin.mostlyWidth}`);
      assert.ok(thin.onTop <= 0.1, `300 kbit/s: on the top layer ${thin.onTop} of the time after the first 5 s (at ${thin.onTopAt} ms)`);
      // Reported, not judged: at 300 kbit/s the allocator keeps the lowest layer's base
      // temporal layers only (about 5 of its 20 frames a second; docs/performance.md).
    } finally {
      await link.close();
    }
  });
});
