// Audio redundancy for students on lossy links, end to end: a teacher's page publishes its
// microphone as plain Opus (the stock mediasoup-client sends one codec per producer); two
// students' Chromium pages receive it through the same impaired link
// (lib/impaired_link.mjs), 5 % random loss toward them. One lists audio/red, as Chromium
// does: it negotiates RED and the router wraps each packet with the two before it. The
// other leaves audio/red out of the capabilities it tells the server (as a browser without
// RED would): it gets the same producer as plain Opus. The figure is what each student's
// decoder had to conceal (concealedSamples / totalSamplesReceived) over the same window,
// on the bare link and with a 100 ms round trip (where a NACK's repair of plain Opus mostly
// comes too late to be played): RED's must be under 2 % and under half of plain Opus's.
// The playout-delay hint is off here (--playout-delay-limit-ms 0): on these lossy links the
// router asks the students to hold the teacher's video longer, lip sync holds the audio as
// long, and NACK's repairs of plain Opus then come in time: the hint's effect on audio,
// which would hide what RED alone does.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { linkServerArgs, pointAtLink, startImpairedLink } from './lib/impaired_link.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { freeRtcPort } from './lib/server.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';
const WINDOW_S = 15;
const SETTLE_S = 3;

const audioRow = async (page) => (await page.evaluate(() => window.received())).find((r) => r.kind === 'audio');

// The server's stats of the page's audio consumer.
const consumerStats = (page) => page.evaluate(async () => {
  const [id] = [...window.consumers].find(([, c]) => c.kind === 'audio');
  return (await window.chorusRequest('get-consumer-stats', { consumerId: id })).data[0];
});

test('RED through a lossy link: a Chromium receiver that lists it gets RED and conceals less than one that gets plain Opus from the same producer', { timeout: 180000, skip }, async () => {
  const port = await freeRtcPort();
  await withBrowser({ html: MEDIA_PAGE, serverArgs: [...linkServerArgs(port), '--playout-delay-limit-ms', '0'] }, async ({ server, browser, site }) => {
    const link = await startImpairedLink({ port, seed: 2198 });
    try {
      const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=red`;
      const teacher = await openPage(browser, `${site.url}/`, 'teacher');
      await teacher.evaluate((u) => window.chorusJoin(u, { video: { width: 320, height: 240 } }), wsUrl('teacher'));
      const students = {};
      for (const name of ['red', 'plain']) {
        const page = await openPage(browser, `${site.url}/`, name);
        await pointAtLink(page); // its transport through the link
        if (name === 'plain')
          await page.evaluate(() => {
            window.adaptRtpCapabilities = (caps) => ({ ...caps, codecs: caps.codecs.filter((c) => c.mimeType.toLowerCase() !== 'audio/red') });
          });
        await page.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl(`student-${name}`));
        await until(page, `student ${name} hears the teacher through the link`, () => audioRow(page), (r) => r?.totalSamplesReceived > 48000, 30000, 250);
        students[name] = page;
      }
      assert.ok(link.clients() >= 2, `both students go through the link: ${link.clients()}`);

      // What each negotiated, and what the router sends each.
      const red = await audioRow(students.red);
      const plain = await audioRow(students.plain);
      assert.equal(red.negotiated[0], 'audio/red', `the RED student's receiver: ${red.negotiated}`);
      assert.ok(red.negotiated.includes('audio/opus'));
      assert.equal(plain.negotiated[0], 'audio/opus', `the plain student's receiver: ${plain.negotiated}`);
      assert.ok(!plain.negotiated.includes('audio/red'));
      const redStats0 = await consumerStats(students.red);
      assert.equal(redStats0.red?.sends, 'red', JSON.stringify(redStats0.red));
      assert.ok(redStats0.red.converted > 100, `wrapped by the router: ${JSON.stringify(redStats0.red)}`);
      assert.equal((await consumerStats(students.plain)).red?.sends, 'opus');

      // The same loss toward both, over the same window: on the bare link (loopback's round
      // trip: Chromium's NACK for plain Opus is answered in time), then with 50 ms each way
      // (a home connection's round trip of 100 ms: a repair comes too late to be played).
      const share = (a, b) => (b.concealedSamples - a.concealedSamples) / Math.max(1, b.totalSamplesReceived - a.totalSamplesReceived);
      const lost = (a, b) => (b.packetsLost - a.packetsLost) / Math.max(1, b.packetsLost - a.packetsLost + b.packetsReceived - a.packetsReceived);
      const phases = [
        { name: '5 % loss', down: { loss: 0.05 }, up: {} },
        { name: '5 % loss, 100 ms round trip', down: { loss: 0.05, delayMs: 50 }, up: { delayMs: 50 } },
      ];
      const results = {};
      for (const ph of phases) {
        link.set('down', ph.down);
        link.set('up', ph.up);
        // The step in delay itself makes both receivers' jitter buffers conceal once; the
        // window starts after it.
        await students.red.waitForTimeout(SETTLE_S * 1000); // the link's step, not synchronisation
        const [r0, p0] = [await audioRow(students.red), await audioRow(students.plain)];
        await students.red.waitForTimeout(WINDOW_S * 1000); // the window, not synchronisation
        const [r1, p1] = [await audioRow(students.red), await audioRow(students.plain)];
        for (const [name, a, b] of [['red', r0, r1], ['plain', p0, p1]])
          assert.ok(b.totalSamplesReceived - a.totalSamplesReceived > 48000 * (WINDOW_S - 5), `${ph.name}, ${name}: audio played through the window`);
        results[ph.name] = {
          withRed: { concealed: share(r0, r1), lostOnTheLink: lost(r0, r1) },
          plainOpus: { concealed: share(p0, p1), lostAfterNack: lost(p0, p1), nacks: p1.nackCount - p0.nackCount },
        };
        console.log(`RED, ${ph.name}: ${JSON.stringify(results[ph.name])}`);
        // The receiver's losses keep the router's redundancy at its full two packets.
        assert.equal((await consumerStats(students.red)).red.distance, 2, `${ph.name}: RED's distance`);
      }
      link.set('down', {});
      link.set('up', {});
      for (const ph of phases)
        assert.ok(results[ph.name].withRed.concealed < 0.02, `${ph.name}, with RED: ${(100 * results[ph.name].withRed.concealed).toFixed(2)} % concealed`);
      const far = results[phases[1].name];
      // The control: the loss reaches the plain receiver's ears (Chromium's jitter buffer
      // grows with the loss it sees, so some repairs come in time: 1.8-4.3 % seen).
      assert.ok(far.plainOpus.concealed > 0.01, `plain Opus with a 100 ms round trip conceals: ${far.plainOpus.concealed}`);
      assert.ok(far.withRed.concealed < far.plainOpus.concealed / 2, 'RED conceals measurably less');
    } finally {
      await link.close();
    }
  });
});
