// Opus DTX end to end: a participant sends real Opus through libwebrtc (@roamhq/wrtc under
// mediasoup-client, lib/wrtc_speaker.mjs) with DTX negotiated, silent, then loud for 3 s,
// then silent again, while the room is recorded. In silence libwebrtc sends a packet every
// 400 ms instead of every 20 ms; none of that may look like loss (no NACK, nothing lost),
// like a dead producer (its score stays, it keeps its consumer: the recorder's), or like a
// speaker (active-speaker names it only while it is loud); and the recording keeps real time
// through the gaps: the loud stretch sits in the file where it was in the room, and the
// file decodes with no error line.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { decodeErrors, FFMPEG, ffmpegAvailable, probe } from './lib/ffmpeg.mjs';
import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { runProcess, tempConfig, tempDir, withServer } from './lib/server.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { speakerProcess } from './lib/wrtc_speaker.mjs';

const skip = ffmpegAvailable() ? false : 'ffmpeg/ffprobe not installed (scripts/setup.sh installs them)';
const LOUD = 12000; // peak amplitude of the sine: about -11 dBov RMS

// Lets the speaker be silent or loud for `ms` (what is sent, not a synchronisation).
const hold = (ms) => new Promise((r) => setTimeout(r, ms));

// The stretches of sound in an audio file of `duration` seconds (seconds from its start,
// as decoded: samples counted), by ffmpeg's silencedetect.
async function soundStretches(file, duration) {
  const r = await runProcess(FFMPEG, ['-hide_banner', '-nostdin', '-i', file, '-af', 'silencedetect=n=-40dB:d=0.3', '-f', 'null', '-'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  const ends = [...r.stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
  const starts = [...r.stderr.matchAll(/silence_start: ([\d.]+)/g)].map((m) => Number(m[1]));
  // Sound runs from the start (unless silence starts there) or from a silence's end, to the
  // next silence's start or the end of the file.
  const froms = [...(starts[0] === 0 ? [] : [0]), ...ends];
  return froms.map((from) => ({ from, to: starts.find((s) => s > from) ?? duration })).filter((r) => r.to - r.from > 0.3);
}

test('Opus DTX: silence is neither loss, nor a dead producer, nor a speaker; the recording keeps real time through it', { skip, timeout: 90000 }, async () => {
  const dir = tempDir('chorus-dtx-');
  await withServer(['--config', tempConfig({ recording: { directory: dir } })], async (server) => {
    const room = 'dtx';
    const listener = await connectPeer(server, { auth: 'teacher', channelId: room });
    let dana;
    try {
      await listener.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      dana = await speakerProcess(server, 'dana', room, 440, 15000, { dtx: true }); // silent at first
      await listener.expectReply('start-recording', {}, 'start-recording');
      const metrics = async () => parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
      const m0 = await metrics();
      const [s0] = await dana.stats();

      await hold(5000);
      const [s1] = await dana.stats();
      const silentPackets = s1.packetCount - s0.packetCount;
      // DTX is on: about 12 packets in 5 s of silence, not 250.
      assert.ok(silentPackets > 0 && silentPackets < 60, `packets in 5 s of silence: ${silentPackets}`);
      assert.equal(listener.take((m) => m?.type === 'active-speaker' && m.data?.peerId === 'dana').length, 0, 'silence is no speaker');

      const loudAt = Date.now();
      dana.setAmplitude(LOUD);
      await listener.nextOfType('active-speaker', (m) => m.data?.peerId === 'dana', 10000);
      await hold(3000 - (Date.now() - loudAt));
      const quietAt = Date.now();
      dana.setAmplitude(0);
      await hold(5000);
      const [s2] = await dana.stats();
      const m1 = await metrics();

      // Nothing of it was loss, and the producer is as healthy as it was.
      assert.equal(s2.packetsLost, 0, JSON.stringify(s2));
      assert.equal(s2.nackCount ?? 0, 0, JSON.stringify(s2));
      assert.equal(m1.value('chorus_nacks_sent_total') - m0.value('chorus_nacks_sent_total'), 0, 'no NACK for a DTX gap');
      assert.equal(s2.score, s0.score, `score ${s0.score} -> ${s2.score}`);
      // The recorder's consumer, attached during the first silence, is still there.
      assert.ok(s1.consumers >= 1 && s2.consumers === s1.consumers, `consumers ${s1.consumers} -> ${s2.consumers}`);

      const stopped = await listener.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
      assert.equal(manifest.tracks.length, 1, JSON.stringify(manifest.tracks));
      const seg = manifest.tracks[0].segments[0];
      assert.ok(seg.hasMedia, JSON.stringify(seg));
      const file = path.join(path.dirname(stopped.data.manifest), seg.file);
      const info = await probe(file);
      assert.equal(info.streams[0].codec_name, 'opus');
      assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, `${info.format.duration} s in the file, ${seg.durationMs} ms in the manifest`);
      assert.equal(await decodeErrors(file), '', 'decodes with no error line');
      // Where the loud stretch is: the file starts at the segment's first media.
      const fileStart = manifest.startedAtMs + seg.startOffsetMs;
      const sound = await soundStretches(file, Number(info.format.duration));
      assert.equal(sound.length, 1, `stretches of sound: ${JSON.stringify(sound)}`);
      const expectFrom = (loudAt - fileStart) / 1000;
      const expectTo = (quietAt - fileStart) / 1000;
      assert.ok(Math.abs(sound[0].from - expectFrom) <= 0.5, `sound from ${sound[0].from} s in the file, ${expectFrom.toFixed(2)} s in the room`);
      assert.ok(Math.abs(sound[0].to - expectTo) <= 0.5, `sound to ${sound[0].to} s in the file, ${expectTo.toFixed(2)} s in the room`);
    } finally {
      dana?.kill();
      await closeAll(listener);
    }
  });
});
