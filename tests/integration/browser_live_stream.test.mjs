// A room's live stream end to end, with Debian's FFmpeg on both sides and real Chromium:
// - to RTMP: a teacher in Chromium (the stock mediasoup-client, VP8 camera and microphone)
//   and an encoder publishing over RTMP (H.264 and AAC) are on stage; a moderator starts
//   `live-stream { url }` over the JSON dialect toward an FFmpeg listening as an RTMP
//   server (`-listen 1`); the teacher shares a screen and pauses the camera; the moderator
//   stops the stream, and the file FFmpeg wrote holds H.264 1280x720 and AAC of the
//   stream's duration: first the teacher's camera, at the end the slide large with the
//   encoder's H.264 camera in the corner;
// - to HLS: a moderator over Socket.IO starts `live-stream { hls: true }`; Chromium plays
//   /live/ROOM/index.m3u8 in a plain <video> (natively); after stop-live-stream the
//   playlist is ended and ffprobe reads video and audio of its duration.
// Runs in a loopback-only network namespace (CMakeLists.txt).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { FFMPEG, ffmpegAvailable, probe, startFfmpeg } from './lib/ffmpeg.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { publishTestPattern, rtmpPort } from './lib/rtmp.mjs';
import { freeTcpPort, runProcess, tempConfig, tempDir } from './lib/server.mjs';
import { connectSio } from './lib/socketio.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';
import { connectPeer } from './lib/ws_client.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || (!ffmpegAvailable() && 'no ffmpeg');
const ROOM = 'lecture';

const metric = async (server, name) => parsePrometheus(await (await fetch(`${server.url}/metrics`)).text()).value(name);

// The mean level of the red, green and blue of the frame `atS` seconds into `file` (0
// black .. 255 white), of the part `crop` (an FFmpeg crop filter and a comma) or all of it.
async function meanLevel(file, atS, crop = '') {
  const out = path.join(tempDir('chorus-live-frame-'), 'frame.rgb');
  const r = await runProcess(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', '-ss', String(atS), '-i', file,
    '-frames:v', '1', '-vf', `${crop}scale=64:36,format=rgb24`, '-f', 'rawvideo', out], { timeoutMs: 20000 });
  assert.equal(r.code, 0, r.stderr);
  const bytes = fs.readFileSync(out);
  assert.ok(bytes.length > 0, 'no frame decoded');
  return bytes.reduce((a, b) => a + b, 0) / bytes.length;
}

function serverArgs(liveDir) {
  return jwtArgs(['--log-level', 'warn', '--rtmp-listen', '127.0.0.1:0',
    '--config', tempConfig({ live: { directory: liveDir } })]);
}

test('live-stream { url } to an RTMP server: the stage composed (VP8 from Chromium, H.264 over RTMP), H.264 1280x720 and AAC of the right duration', { timeout: 150000, skip }, async () => {
  const liveDir = tempDir('chorus-live-');
  await withBrowser({ html: MEDIA_PAGE, serverArgs: serverArgs(liveDir) }, async ({ server, browser, site }) => {
    const page = await openPage(browser, `${site.url}/`, 'teacher');
    const teacher = sign({ sub: 'teacher', room: ROOM, role: 'teacher' });
    await page.evaluate((u) => window.chorusJoin(u, { produce: true }), `ws://127.0.0.1:${server.port}/socket?token=${teacher}&channelId=${ROOM}`);
    const guestKey = sign({ sub: 'guest', room: ROOM, role: 'teacher' });
    const encoder = publishTestPattern(`rtmp://127.0.0.1:${rtmpPort(server)}/live/${guestKey}`, { seconds: 90 });
    const outFile = path.join(tempDir('chorus-live-out-'), 'out.flv');
    const rtmpOut = await freeTcpPort();
    const receiver = startFfmpeg(['-listen', '1', '-i', `rtmp://127.0.0.1:${rtmpOut}/live/secret-key`, '-c', 'copy', '-f', 'flv', outFile]);
    const host = await connectPeer(server, { token: sign({ sub: 'host', room: ROOM, role: 'teacher' }), channelId: ROOM });
    try {
      await until(page, 'both publishers on stage', () => page.evaluate(() => window.received()),
        (rows) => rows.filter((r) => r.kind === 'video').length === 1 && rows.length === 2, 30000);
      const started = host.nextOfType('live-stream-started', () => true, 10000);
      const reply = await host.expectReply('live-stream', { url: `rtmp://127.0.0.1:${rtmpOut}/live/secret-key` }, 'live-stream', 10000);
      assert.ok(reply.data.liveStreamId, JSON.stringify(reply));
      const ev = (await started).data;
      assert.equal(ev.target, 'rtmp');
      assert.equal(ev.where, `rtmp://127.0.0.1:${rtmpOut}/live/...`); // the key is not shown
      assert.equal(ev.by, 'host');
      // A second start is refused while it runs; a student may not start one.
      assert.equal((await host.request('live-stream', { hls: true })).data?.code, 'invalid-state');
      const t0 = Date.now();
      // The receiver gets the stream: the file grows past 1 MB (about 3 s at 2.5 Mbit/s).
      const grown = Date.now() + 40000;
      while (!(fs.existsSync(outFile) && fs.statSync(outFile).size > 1_000_000)) {
        assert.ok(Date.now() < grown, `the RTMP receiver got ${fs.existsSync(outFile) ? fs.statSync(outFile).size : 0} bytes: ${receiver.stderr()}`);
        assert.equal(receiver.child.exitCode, null, receiver.stderr());
        await new Promise((r) => setTimeout(r, 200));
      }
      // The teacher shares a screen and pauses the camera: the screen goes large (VP8), the
      // other camera (the encoder's H.264) into the corner. Eight seconds more, then stop: the
      // receiver's input ends, it closes its file.
      await page.evaluate(() => window.chorusShare({ display: false }));
      await page.evaluate(() => window.setProducerPaused('video', true));
      await new Promise((r) => setTimeout(r, 8000));
      assert.equal(await metric(server, 'chorus_live_streams'), 1);
      const stopped = host.nextOfType('live-stream-stopped', () => true, 15000);
      const stop = await host.expectReply('stop-live-stream', {}, 'stop-live-stream', 15000);
      assert.equal(stop.data.liveStreamId, reply.data.liveStreamId);
      const streamedS = (Date.now() - t0) / 1000;
      assert.equal((await stopped).data.reason, 'stopped');
      await receiver.exited;
      const info = await probe(outFile);
      const v = info.streams.find((s) => s.codec_type === 'video');
      const a = info.streams.find((s) => s.codec_type === 'audio');
      assert.equal(v?.codec_name, 'h264', JSON.stringify(info.streams));
      assert.equal(v.width, 1280);
      assert.equal(v.height, 720);
      assert.equal(a?.codec_name, 'aac');
      assert.equal(a.sample_rate, '48000');
      const duration = Number(info.format.duration);
      assert.ok(duration > streamedS - 6 && duration < streamedS + 2, `${duration} s in the file, ${streamedS} s streamed`);
      // First the teacher's camera (Chromium's green test picture), at the end the slide
      // (light grey) with the encoder's test pattern in the lower right corner.
      // (The composer shows black until the camera's first keyframe.)
      const early = [];
      for (const at of [1.5, 2, 2.5, 3]) early.push(await meanLevel(outFile, at));
      assert.ok(early.some((l) => l > 20 && l < 120), `the camera's picture: level ${early.join(', ')}`);
      const slide = await meanLevel(outFile, duration - 2);
      assert.ok(slide > 180, `the slide, large: level ${slide}`);
      const corner = await meanLevel(outFile, duration - 2, 'crop=200:140:1040:536,');
      assert.ok(corner > 60 && corner < 180, `the encoder's camera in the corner: level ${corner}`);
      const cpuMs = await metric(server, 'chorus_live_stream_cpu_milliseconds_total');
      assert.ok(cpuMs > 0);
      console.log(`# the composer: ${(cpuMs / 1000 / streamedS).toFixed(2)} of a core over ${streamedS.toFixed(1)} s`);
      assert.equal(await metric(server, 'chorus_live_streams'), 0);
      assert.equal(await metric(server, 'chorus_live_stream_failures_total'), 0);
    } finally {
      await receiver.stop('SIGKILL');
      await encoder.stop('SIGKILL');
      host.close();
      await page.close();
    }
  });
});

test('live-stream { hls: true } over Socket.IO: Chromium plays /live/ROOM/index.m3u8 natively; the ended playlist holds video and audio of its duration', { timeout: 150000, skip }, async () => {
  const liveDir = tempDir('chorus-live-');
  await withBrowser({ serverArgs: serverArgs(liveDir) }, async ({ server, browser }) => {
    const key = sign({ sub: 'teacher', room: ROOM, role: 'teacher' });
    const encoder = publishTestPattern(`rtmp://127.0.0.1:${rtmpPort(server)}/live/${key}`, { seconds: 90 });
    const host = await connectSio(server, { transports: ['websocket'], auth: { token: sign({ sub: 'host', room: ROOM, role: 'teacher' }) } });
    const student = await connectSio(server, { transports: ['websocket'], auth: { token: sign({ sub: 's1', room: ROOM, role: 'student' }) } });
    const ack = (s, event, data) => s.timeout(15000).emitWithAck(event, data);
    const page = await openPage(browser, `${server.url}/healthz`, 'player');
    try {
      await ack(host, 'join-mediasoup-room', { roomId: ROOM });
      await ack(student, 'join-mediasoup-room', { roomId: ROOM });
      assert.equal((await ack(student, 'live-stream', { hls: true })).code, 'forbidden');
      assert.equal((await ack(host, 'live-stream', { url: 'file:///etc/passwd' })).code, 'invalid-field');
      const started = new Promise((resolve) => student.once('live-stream-started', resolve));
      const reply = await ack(host, 'live-stream', { hls: true });
      const t0 = Date.now();
      assert.ok(reply.liveStreamId, JSON.stringify(reply));
      const ev = await started;
      assert.equal(ev.where, `/live/${ROOM}/index.m3u8`);
      const playlist = `${server.url}${ev.where}`;
      // Three segments listed: the player has something to start with.
      const listed = Date.now() + 40000;
      for (;;) {
        const r = await fetch(playlist);
        if (r.status === 200 && ((await r.text()).match(/segment_\d+\.ts/g) ?? []).length >= 3) break;
        assert.ok(Date.now() < listed, 'the playlist did not list three segments in 40 s');
        await new Promise((res) => setTimeout(res, 250));
      }
      assert.equal((await fetch(`${server.url}/live/${ROOM}/inputs.sdp`)).status, 404); // only the playlist and segments
      assert.equal((await fetch(`${server.url}/live/${ROOM}/..%2F..%2Fetc%2Fpasswd`)).status, 404);
      // Chromium plays it in a plain <video>, natively.
      const played = await page.evaluate(async (url) => {
        const video = document.createElement('video');
        video.muted = true;
        document.body.appendChild(video);
        if (!video.canPlayType('application/vnd.apple.mpegurl')) return { native: false };
        video.src = url;
        await video.play();
        const start = video.currentTime;
        const until = Date.now() + 20000;
        while (video.currentTime < start + 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
        return { native: true, advanced: video.currentTime - start, width: video.videoWidth, height: video.videoHeight, error: video.error?.message };
      }, playlist);
      assert.equal(played.native, true, 'Chromium lists no native HLS playback');
      assert.ok(played.advanced >= 3, JSON.stringify(played));
      assert.equal(played.width, 1280);
      assert.equal(played.height, 720);
      const stopped = new Promise((resolve) => student.once('live-stream-stopped', resolve));
      assert.equal((await ack(host, 'stop-live-stream', {})).liveStreamId, reply.liveStreamId);
      const streamedS = (Date.now() - t0) / 1000;
      await stopped;
      const text = await (await fetch(playlist)).text();
      assert.match(text, /#EXT-X-ENDLIST/);
      const segments = (text.match(/#EXTINF:([\d.]+)/g) ?? []).map((l) => Number(l.slice(8)));
      const listedS = segments.reduce((x, y) => x + y, 0);
      const info = await probe(path.join(liveDir, ROOM, 'index.m3u8'));
      const v = info.streams.find((s) => s.codec_type === 'video');
      const a = info.streams.find((s) => s.codec_type === 'audio');
      assert.equal(v?.codec_name, 'h264', JSON.stringify(info.streams));
      assert.equal(a?.codec_name, 'aac');
      const duration = Number(info.format.duration);
      assert.ok(Math.abs(duration - listedS) < 2.5, `${duration} s read, ${listedS} s listed`);
      assert.ok(duration > streamedS - 6 && duration < streamedS + 2, `${duration} s in the playlist, ${streamedS} s streamed`);
    } finally {
      await encoder.stop('SIGKILL');
      host.close();
      student.close();
      await page.close();
    }
  });
});
