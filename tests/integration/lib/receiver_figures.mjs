// What a person notices on a receiving page (lib/media_page.mjs), from its consumers'
// inbound-rtp stats sampled every 100 ms: freezes, the longest stall, frames per second and
// resolution, the share of audio concealed, the audio/video offset, the video's time in
// the jitter buffer.
//
//   await page.evaluate(SAMPLER);               // starts window.samples
//   const f = figures(await page.evaluate(() => window.samples), fromMs);
//   const f = await measureCase(page, link, { impairment, seconds }); // one impaired window

import assert from 'node:assert/strict';

// Starts sampling the page's consumers (window.samples: one row per 100 ms).
export const SAMPLER = () => {
  window.samples = [];
  const pick = (s, keys) => Object.fromEntries(keys.map((k) => [k, s[k] ?? null]));
  window.sampler = setInterval(async () => {
    const row = { t: performance.now() };
    for (const c of window.consumers.values()) {
      (await c.consumer.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        row[c.kind] = c.kind === 'video'
          ? pick(s, ['framesDecoded', 'freezeCount', 'totalFreezesDuration', 'frameWidth', 'frameHeight', 'packetsLost', 'packetsReceived', 'nackCount', 'estimatedPlayoutTimestamp', 'jitterBufferDelay', 'jitterBufferEmittedCount'])
          : pick(s, ['concealedSamples', 'silentConcealedSamples', 'totalSamplesReceived', 'packetsLost', 'packetsReceived', 'estimatedPlayoutTimestamp']);
      });
    }
    window.samples.push(row);
  }, 100);
};

// What a person notices over the samples from `fromMs` (page time) on, up to `toMs`.
export function figures(samples, fromMs, toMs = Infinity) {
  const rows = samples.filter((r) => r.t >= fromMs && r.t <= toMs && r.video && r.audio);
  assert.ok(rows.length >= 10, `samples in the window: ${rows.length}`);
  const first = rows[0];
  const last = rows.at(-1);
  const seconds = (last.t - first.t) / 1000;
  let longestStallMs = 0;
  let lastProgress = first.t;
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].video.framesDecoded > rows[i - 1].video.framesDecoded) {
      longestStallMs = Math.max(longestStallMs, rows[i].t - lastProgress);
      lastProgress = rows[i].t;
    }
  }
  longestStallMs = Math.round(Math.max(longestStallMs, last.t - lastProgress));
  const d = (kind, key) => (last[kind][key] ?? 0) - (first[kind][key] ?? 0);
  const offsets = rows
    .filter((r) => r.video.estimatedPlayoutTimestamp && r.audio.estimatedPlayoutTimestamp)
    .map((r) => r.video.estimatedPlayoutTimestamp - r.audio.estimatedPlayoutTimestamp)
    .sort((a, b) => a - b);
  return {
    seconds: Number(seconds.toFixed(1)),
    freezes: d('video', 'freezeCount'),
    freezeShare: d('video', 'totalFreezesDuration') / seconds,
    longestStallMs,
    fps: Number((d('video', 'framesDecoded') / seconds).toFixed(1)),
    resolution: `${last.video.frameWidth}x${last.video.frameHeight}`,
    videoLoss: d('video', 'packetsLost') / Math.max(1, d('video', 'packetsLost') + d('video', 'packetsReceived')),
    nacks: d('video', 'nackCount'),
    concealedShare: d('audio', 'concealedSamples') / Math.max(1, d('audio', 'totalSamplesReceived')),
    // How long frames waited in the jitter buffer on average: the latency the receiver
    // added (a playout delay asked of it shows here).
    videoBufferMs: Math.round((1000 * d('video', 'jitterBufferDelay')) / Math.max(1, d('video', 'jitterBufferEmittedCount'))),
    avOffsetMs: offsets.length ? Math.round(offsets[Math.floor(offsets.length / 2)]) : null,
  };
}

// One case on a sampling page behind `link` (lib/impaired_link.mjs): the impairment both ways
// for its window, the figures, then the link healed and the video decoding again within
// 5 s. `during(f)`, if given, runs at the end of the window (the caller's own readings).
export async function measureCase(page, link, { name, impairment, seconds }, during = null) {
  link.set('up', impairment);
  link.set('down', impairment);
  const from = await page.evaluate(() => performance.now());
  await page.waitForTimeout(seconds * 1000); // the case's window, not synchronisation
  const f = figures(await page.evaluate(() => window.samples), from);
  if (during) await during(f);
  link.set('up', {});
  link.set('down', {});
  const decoded = async () => (await page.evaluate(() => window.received())).find((x) => x.kind === 'video')?.framesDecoded ?? 0;
  const before = await decoded();
  const deadline = Date.now() + 5000;
  while ((await decoded()) <= before + 30) {
    assert.ok(Date.now() < deadline, `decoding after "${name}" healed: not within 5 s`);
    await page.waitForTimeout(100);
  }
  return f;
}
