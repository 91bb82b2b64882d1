// A receiver's link that thins out mid-call, phase by phase (lib/impaired_link.mjs): its
// capacity toward the receiver drops to 1 Mbit/s, then to 300 kbit/s (each behind a 200 ms
// drop-tail queue: a home router's buffer), then comes back. The receiving page samples its
// inbound-rtp stats (lib/receiver_figures.mjs: SAMPLER, already started); the sending page
// answers window.sentEncodings() (rid, frameWidth, framesEncoded per encoding), as
// lib/media_page.mjs and lib/janus_page.mjs do. Used by browser_thin_link.test.mjs and by
// bench/janus/impaired.mjs --thin.
//
//   const r = await thinLinkPhases({ teacher, student, link });
//   // r.phases: [{ name, firstFive, settled, onLowest, onTop, mostlyWidth, senderFps, ... }]
//   // r.recoveryMs: the top layer again after the link came back (null: not within 10 s)

import { figures } from './receiver_figures.mjs';

export const THIN_PHASES = [
  { name: '1 Mbit/s', impairment: { rateKbps: 1000, queueMs: 200 }, seconds: 20 },
  { name: '300 kbit/s', impairment: { rateKbps: 300, queueMs: 200 }, seconds: 30 },
];
export const RECOVERY_BOUND_MS = 10000;

const videoRow = async (page) => (await page.evaluate(() => window.received())).find((r) => r.kind === 'video');

export async function thinLinkPhases({ teacher, student, link, log = console.log }) {
  const widths = async () => (await teacher.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth || 0).filter((w) => w > 0);
  const topWidth = Math.max(...(await widths()));
  const lowWidth = Math.min(...(await widths()));
  // The sender's frames per second per encoding width between two readings.
  const sent = async () => ({ t: Date.now(), encodings: await teacher.evaluate(() => window.sentEncodings()) });
  const senderFps = (a, b) => Object.fromEntries(b.encodings.map((e) => {
    const before = a.encodings.find((x) => x.rid === e.rid);
    return [e.frameWidth, (e.framesEncoded - (before?.framesEncoded ?? 0)) / ((b.t - a.t) / 1000)];
  }));
  const phases = [];
  for (const { name, impairment, seconds } of THIN_PHASES) {
    const from = await student.evaluate(() => performance.now());
    link.set('down', impairment);
    await student.waitForTimeout(5000); // the phase's window, not synchronisation
    const s0 = await sent();
    await student.waitForTimeout((seconds - 5) * 1000);
    const s1 = await sent();
    const to = await student.evaluate(() => performance.now());
    const samples = await student.evaluate(() => window.samples);
    const seen = samples.filter((r) => r.t >= from + 5000 && r.t <= to && r.video).map((r) => r.video.frameWidth);
    const share = (w) => Number((seen.filter((x) => x === w).length / Math.max(1, seen.length)).toFixed(2));
    const mostly = [...new Set(seen)].sort((a, b) => share(b) - share(a))[0];
    const f = {
      name,
      firstFive: figures(samples, from, from + 5000),
      settled: figures(samples, from + 5000, to),
      onLowest: share(lowWidth),
      onTop: share(topWidth),
      mostlyWidth: mostly,
      // What the sender encoded of that width meanwhile: the receiver's frame rate is
      // judged against it (the sender's encoder adapts its frame rate to its CPU).
      senderFps: Number((senderFps(s0, s1)[mostly] ?? 0).toFixed(1)),
      queueDrops: link.stats().down.queueDrops,
      // When in the window (ms from its start) the top layer was seen.
      onTopAt: samples.filter((r) => r.t >= from + 5000 && r.t <= to && r.video?.frameWidth === topWidth).map((r) => Math.round(r.t - from)),
    };
    log(`thin link, ${name}: ${JSON.stringify(f)}`);
    phases.push(f);
  }
  // Back to unlimited: how long until the top layer is decoded again (bounded).
  const healAt = Date.now();
  link.set('down', {});
  let recoveryMs = null;
  while (Date.now() - healAt < RECOVERY_BOUND_MS) {
    if ((await videoRow(student))?.frameWidth === topWidth) {
      recoveryMs = Date.now() - healAt;
      break;
    }
    await student.waitForTimeout(100);
  }
  log(`thin link, back to unlimited: the top layer after ${recoveryMs ?? `more than ${RECOVERY_BOUND_MS}`} ms`);
  return { phases, recoveryMs, topWidth, lowWidth };
}
