// Recordings that stay whole when the publisher's link loses packets: two libwebrtc
// publishers (@roamhq/wrtc under mediasoup-client; one VP8, one VP9, both with Opus) send
// through an impaired link (lib/impaired_link.mjs) that drops 5 % of what they send; the
// server repairs what it can (NACK, RTX) and records. Every file must hold about the whole
// stretch and decode with no error line (lib/ffmpeg.mjs decodeErrors: the frames keep the
// file's timestamps; see docs/design/plain-rtp-and-recording.md for the plain `-f null`).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { decodeErrors, ffmpegAvailable, ffmpegChildren, probe } from './lib/ffmpeg.mjs';
import { httpGet } from './lib/http.mjs';
import { startImpairedLink } from './lib/impaired_link.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { tempConfig, tempDir, withSinglePortServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { publisherProcess } from './lib/wrtc_publisher.mjs';

const skip = ffmpegAvailable() ? false : 'ffmpeg/ffprobe not installed (scripts/setup.sh installs them)';

// Lets media flow for `ms` (the length of what is recorded, not a synchronisation).
const record = (ms) => new Promise((r) => setTimeout(r, ms));

test('VP8, VP9 and Opus recorded with 5 % loss on the publishers\' link: repaired, whole, decoded with no error line', { skip, timeout: 120000 }, async () => {
  const dir = tempDir('chorus-rec-loss-');
  const config = tempConfig({ recording: { directory: dir } });
  await withSinglePortServer(['--config', config, '--rtc-ip', '127.0.0.1', '--announced-ip', '127.0.0.2'], async (server) => {
    const port = Number(server.args[server.args.indexOf('--rtc-single-port') + 1]);
    const link = await startImpairedLink({ port, seed: 11, up: { loss: 0.05 } });
    const room = 'lossy';
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: room });
    const pubs = [];
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      pubs.push(await publisherProcess(server, 'eight', room, 20000, { videoCodec: 'vp8' }));
      pubs.push(await publisherProcess(server, 'nine', room, 20000, { videoCodec: 'vp9' }));
      assert.ok(link.clients() >= 2, 'both publishers send through the link');
      await teacher.expectReply('start-recording', {}, 'start-recording');
      await pollUntil(() => ffmpegChildren(server.pid).length === 4, { timeoutMs: 10000, intervalMs: 100, what: 'four recorders' });
      const t0 = Date.now();
      await record(10000);
      const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const totalMs = Date.now() - t0;
      const stats = link.stats();
      assert.ok(stats.up.dropped > 0.03 * stats.up.received, `the link dropped ${JSON.stringify(stats.up)}`);
      const m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
      assert.ok(m.value('chorus_nacks_sent_total') > 0, 'the server asked for the lost packets');
      const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
      assert.deepEqual(manifest.errors, []);
      assert.equal(manifest.tracks.length, 4, JSON.stringify(manifest.tracks));
      for (const t of manifest.tracks) {
        assert.equal(t.segments.length, 1, JSON.stringify(t));
        const seg = t.segments[0];
        const file = path.join(path.dirname(stopped.data.manifest), seg.file);
        const info = await probe(file, { countFrames: true });
        const frames = Number(info.streams[0].nb_read_frames);
        const what = `${seg.file}: ${frames} frames, ${info.format.duration} s of ${totalMs} ms`;
        assert.ok(Math.abs(seg.durationMs - totalMs) <= 1500, what);
        assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, what);
        // 10 s: 30 fps of video, less what a loss costs until a keyframe; 50 Opus frames a second.
        assert.ok(frames > (t.kind === 'video' ? 240 : 400), what);
        // Video: the child's log names no packet it had to call corrupt, no frame it had to
        // drop, no gap (Chorus hands it whole frames); audio's losses are the decoder's to hide.
        const log = fs.readFileSync(file.replace(/\.[a-z0-9]+$/, '.log'), 'utf8');
        if (t.kind === 'video') assert.doesNotMatch(log, /corrupt|dropping frame|missed \d+ packets/i, `${seg.file}'s ffmpeg log`);
        assert.equal(await decodeErrors(file), '', `${seg.file} decodes with no error line`);
      }
    } finally {
      await Promise.all(pubs.map((p) => p.kill()));
      await closeAll(teacher);
      await link.close();
    }
  });
});
