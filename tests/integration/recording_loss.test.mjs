// Recordings that stay whole when the publisher's link loses packets: libwebrtc
// publishers (@roamhq/wrtc under mediasoup-client; VP8 and VP9 in one room, AV1 in
// another, each with Opus) send through an impaired link (lib/impaired_link.mjs) that
// drops 5 % of what they send; the server repairs what it can (NACK, RTX) and records. Every file must hold about the whole
// stretch and decode with no error line (lib/ffmpeg.mjs decodeErrors: the frames keep the
// file's timestamps; see docs/design/plain-rtp-and-recording.md for the plain `-f null`).
// And H264 from an FFmpeg over plain RTP, whose losses nobody repairs: the file keeps only
// whole frames from a keyframe on, and decodes with no error line all the same.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { decodeErrors, ffmpegAvailable, ffmpegChildren, probe, startFfmpeg, videoPackets } from './lib/ffmpeg.mjs';
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

async function recordedThroughLoss(codecs, seed) {
  const dir = tempDir('chorus-rec-loss-');
  const config = tempConfig({ recording: { directory: dir } });
  await withSinglePortServer(['--config', config, '--rtc-ip', '127.0.0.1', '--announced-ip', '127.0.0.2'], async (server) => {
    const port = Number(server.args[server.args.indexOf('--rtc-single-port') + 1]);
    const link = await startImpairedLink({ port, seed, up: { loss: 0.05 } });
    const room = `lossy-${codecs.join('-')}`;
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: room });
    const pubs = [];
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      for (const videoCodec of codecs) pubs.push(await publisherProcess(server, videoCodec, room, 20000, { videoCodec }));
      assert.ok(link.clients() >= codecs.length, 'every publisher sends through the link');
      await teacher.expectReply('start-recording', {}, 'start-recording');
      await pollUntil(() => ffmpegChildren(server.pid).length === 2 * codecs.length, { timeoutMs: 10000, intervalMs: 100, what: 'the recorders' });
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
      assert.equal(manifest.tracks.length, 2 * codecs.length, JSON.stringify(manifest.tracks));
      for (const t of manifest.tracks) {
        assert.equal(t.segments.length, 1, JSON.stringify(t));
        const seg = t.segments[0];
        const file = path.join(path.dirname(stopped.data.manifest), seg.file);
        const info = await probe(file, { countFrames: true });
        const frames = Number(info.streams[0].nb_read_frames);
        const what = `${seg.file}: ${frames} frames, ${info.format.duration} s of ${totalMs} ms`;
        // The child writes from its first packet after analysing its input (1-2 s, longer
        // on a loaded machine under the sanitizer): the file may begin a little late.
        assert.ok(seg.durationMs <= totalMs + 500 && seg.durationMs >= totalMs - 3000, what);
        assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, what);
        // 10 s: 30 fps of video, less what a loss costs until a keyframe; 50 Opus frames a second.
        assert.ok(frames > (t.kind === 'video' ? 240 : 400), what);
        // Video: the child's log names no packet it had to call corrupt, no frame it had to
        // drop, no gap (Chorus hands it whole frames); audio's losses are the decoder's to hide.
        const log = fs.readFileSync(file.replace(/\.[a-z0-9]+$/, '.log'), 'utf8');
        if (t.kind === 'video') assert.doesNotMatch(log, /corrupt|dropping frame|missed \d+ packets/i, `${seg.file}'s ffmpeg log`);
        assert.equal(await decodeErrors(file), '', `${seg.file} decodes with no error line`);
      }
      // Each RTP-fed child ended on the BYE sent behind its last packet, not on a signal.
      assert.doesNotMatch(server.stderr(), /after its BYE: SIGINT/);
    } finally {
      await Promise.all(pubs.map((p) => p.kill()));
      await closeAll(teacher);
      await link.close();
    }
  });
}

test('VP8, VP9 and Opus recorded with 5 % loss on the publishers\' link: repaired, whole, decoded with no error line', { skip, timeout: 120000 }, async () => {
  await recordedThroughLoss(['vp8', 'vp9'], 11);
});

test('AV1 recorded with 5 % loss on the publisher\'s link: repaired, whole, decoded with no error line', { skip, timeout: 120000 }, async () => {
  await recordedThroughLoss(['av1'], 12);
});

test('H264 over plain RTP with 5 % loss nobody repairs: only whole frames from a keyframe on, decoded with no error line', { skip, timeout: 90000 }, async () => {
  const dir = tempDir('chorus-rec-loss-');
  const config = tempConfig({ recording: { directory: dir } });
  await withSinglePortServer(['--config', config, '--rtc-ip', '127.0.0.1'], async (server) => {
    const room = 'lossy-h264';
    const ingest = await connectPeer(server, { auth: 'camera', channelId: room });
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: room });
    let ff, link;
    try {
      await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const t = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      // The plain transport's own port, behind a link of its own.
      link = await startImpairedLink({ port: t.port, seed: 13, up: { loss: 0.05 } });
      const codec = { mimeType: 'video/H264', payloadType: 102, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 } };
      await ingest.expectReply('produce', {
        transportId: t.id, kind: 'video', appData: { source: 'webcam' }, rtpParameters: { codecs: [codec], encodings: [{ ssrc: 44444444 }] },
      }, 'producer-id');
      ff = startFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-t', '60',
        '-c:v', 'libx264', '-profile:v', 'baseline', '-level', '3.1', '-tune', 'zerolatency', '-preset', 'ultrafast', '-g', '15', '-bf', '0', '-pix_fmt', 'yuv420p',
        '-ssrc', '44444444', '-payload_type', '102', '-f', 'rtp', `rtp://${link.ip}:${t.port}?rtcpport=${t.port}&pkt_size=1200`]);
      await teacher.expectReply('start-recording', {}, 'start-recording');
      await pollUntil(() => ffmpegChildren(server.pid).length === 1, { timeoutMs: 10000, intervalMs: 100, what: 'the recorder child' });
      await record(8000);
      const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const stats = link.stats();
      assert.ok(stats.up.dropped > 0.03 * stats.up.received, `the link dropped ${JSON.stringify(stats.up)}`);
      const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
      const seg = manifest.tracks[0].segments[0];
      const file = path.join(path.dirname(stopped.data.manifest), seg.file);
      const info = await probe(file, { countFrames: true });
      assert.equal(info.streams[0].codec_name, 'h264');
      const frames = Number(info.streams[0].nb_read_frames);
      // 8 s at 30 fps, a keyframe every half second: what is left is the whole frames from each
      // keyframe up to the first loss after it.
      assert.ok(frames >= 10 && frames < 240, `${frames} frames kept`);
      const log = fs.readFileSync(file.replace(/\.[a-z0-9]+$/, '.log'), 'utf8');
      const errors = await decodeErrors(file);
      if (errors !== '') {
        // The packets (the short ones, and the last few) and the recorder's log say where.
        const packets = await videoPackets(file);
        const shown = packets.map((p, i) => `${i}: ${p}`).filter((p, i) => i >= packets.length - 5 || Number(p.split(',')[1]) < 200);
        assert.fail(`${seg.file} decodes with errors:\n${errors}\npackets (${packets.length}; short ones and the last):\n${shown.join('\n')}\nrecorder's log:\n${log}`);
      }
      assert.doesNotMatch(log, /corrupt|dropping frame|missed \d+ packets/i, `${seg.file}'s ffmpeg log`);
      // The child ended on the BYE sent behind the last frame, not on a signal that cuts it off.
      assert.doesNotMatch(server.stderr(), /after its BYE: SIGINT/);
    } finally {
      await ff?.stop('SIGKILL');
      await closeAll(ingest, teacher);
      await link?.close();
    }
  });
});
