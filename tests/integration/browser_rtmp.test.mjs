// RTMP ingest end to end: a sample file is published with `ffmpeg -re -i sample.mp4 -c copy
// -f flv rtmp://...`, exactly as an operator would; a real Chromium page with the stock
// mediasoup-client, already in the room, consumes the participant that appears and
// decodes its video and its audio (transcoded to Opus by the server's FFmpeg child). Two
// samples: H.264 in main profile, which Chromium receives, passed through as it is; and in
// x264's default High profile, which it does not, transcoded (rtmp.video auto).
// Runs in a loopback-only network namespace (CMakeLists.txt).

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { assertAudioIsSound, chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { ffmpegAvailable, ffmpegChildren, probe, startFfmpeg } from './lib/ffmpeg.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { rtmpPort } from './lib/rtmp.mjs';
import { runProcess, tempDir } from './lib/server.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || (!ffmpegAvailable() && 'no ffmpeg');

const CASES = [
  { profile: 'main', named: 'Main', path: /-c:v copy -bsf:v h264_mp4toannexb/ },
  { profile: 'high', named: 'High', path: /-c:v libx264 .*-profile:v baseline/ },
];

for (const c of CASES) test(`ffmpeg -re -i sample.mp4 -c copy -f flv rtmp://.../live/TOKEN (H.264 ${c.named}) is a participant whose video and audio Chromium decodes`, { timeout: 120000, skip }, async () => {
  // The sample: 40 s of test pattern and tone, a keyframe a second, no B-frames (browsers
  // play H.264 without them; docs/protocol.md, "RTMP ingest").
  const sample = path.join(tempDir('chorus-rtmp-'), 'sample.mp4');
  const made = await runProcess('/usr/bin/ffmpeg', [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '40', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', c.profile, '-bf', '0', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', sample,
  ], { timeoutMs: 60000 });
  assert.equal(made.code, 0, made.stderr);
  const info = await probe(sample);
  assert.equal(info.streams.find((s) => s.codec_type === 'video').profile, c.named);

  await withBrowser({ html: MEDIA_PAGE, serverArgs: jwtArgs(['--log-level', 'warn', '--rtmp-listen', '127.0.0.1:0']) }, async ({ server, browser, site }) => {
    const page = await openPage(browser, `${site.url}/`, 'viewer');
    const viewer = sign({ sub: 'viewer', room: 'lecture', role: 'student' });
    await page.evaluate((u) => window.chorusJoin(u, { produce: false }), `ws://127.0.0.1:${server.port}/socket?token=${viewer}&channelId=lecture`);
    // The stream key is the teacher's token; "live" stands for the token's room.
    const key = sign({ sub: 'teacher', room: 'lecture', role: 'teacher' });
    const ff = startFfmpeg(['-re', '-i', sample, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort(server)}/live/${key}`]);
    try {
      const rx = () => page.evaluate(() => window.received());
      const rows = await until(page, 'decoding the RTMP publisher\'s media', rx, (r) =>
        r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 50 : x.totalSamplesReceived > 96000)), 40000);
      const video = rows.find((r) => r.kind === 'video');
      assert.equal(video.frameWidth, 640, JSON.stringify(rows));
      assert.equal(video.frameHeight, 360, JSON.stringify(rows));
      const children = ffmpegChildren(server.pid);
      assert.equal(children.length, 1);
      assert.match(children[0].args, c.path);
      // The audio is decoded sound (the jitter buffer's start, long on a loaded machine, past).
      await assertAudioIsSound(page, rx, rows);
      assert.ok(ff.child.exitCode === null, `ffmpeg still publishing: ${ff.stderr()}`);
      const events = await page.evaluate(() => window.events.filter((e) => e.type === 'new-producer').map((e) => e.data));
      assert.equal(events.length, 2, JSON.stringify(events));
    } finally {
      await ff.stop('SIGKILL');
      await page.close();
    }
  });
});
