// Plain RTP in, end to end: FFmpeg sends a test pattern (testsrc as VP8) and a sine tone
// (Opus) as RTP into two comedia plain transports; a real Chromium page with the stock
// mediasoup-client joins the room, consumes both producers and decodes frames and audio.
// Runs in a loopback-only network namespace (CMakeLists.txt).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { assertAudioIsSound, chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { ffmpegAvailable, startFfmpeg } from './lib/ffmpeg.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { connect } from './lib/ws_client.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || (!ffmpegAvailable() && 'no ffmpeg');

test('FFmpeg testsrc + sine into plain transports, consumed and decoded by Chromium', { timeout: 120000, skip }, async () => {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const ws = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=lecture`;
    const ingest = await connect(ws('ffmpeg'), { label: 'ingest' });
    let ff;
    try {
      await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const vt = (await ingest.expectReply('create-plain-transport', { comedia: true, rtcpMux: true }, 'create-plain-transport')).data;
      const at = (await ingest.expectReply('create-plain-transport', { comedia: true, rtcpMux: true }, 'create-plain-transport')).data;
      await ingest.expectReply('produce', {
        transportId: vt.id, kind: 'video',
        rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }], encodings: [{ ssrc: 22222222 }] },
      }, 'producer-id');
      await ingest.expectReply('produce', {
        transportId: at.id, kind: 'audio',
        rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 11111111 }] },
      }, 'producer-id');
      // A small picture: one ffmpeg process paces both streams, and a video encoder that
      // falls behind on a loaded machine (the sanitizer run) holds the audio back with it.
      ff = startFfmpeg([
        '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15',
        '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-t', '90',
        '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '250k', '-g', '30',
        '-ssrc', '22222222', '-payload_type', '101', '-f', 'rtp', `rtp://127.0.0.1:${vt.port}?rtcpport=${vt.port}&pkt_size=1200`,
        '-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-b:a', '64k',
        '-ssrc', '11111111', '-payload_type', '100', '-f', 'rtp', `rtp://127.0.0.1:${at.port}?rtcpport=${at.port}&pkt_size=1200`,
      ]);

      const page = await openPage(browser, `${site.url}/`, 'viewer');
      await page.evaluate((u) => window.chorusJoin(u, { produce: false }), ws('viewer'));
      const rx = () => page.evaluate(() => window.received());
      const rows = await until(page, 'decoding ffmpeg\'s media', rx, (r) =>
        r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 30 : x.totalSamplesReceived > 48000)), 30000);
      const video = rows.find((r) => r.kind === 'video');
      assert.ok(video.framesDecoded > 30, JSON.stringify(rows));
      // The audio is decoded sound (the jitter buffer's start, long on a loaded machine, past).
      await assertAudioIsSound(page, rx, rows);
      assert.ok(ff.child.exitCode === null, `ffmpeg still sending: ${ff.stderr()}`);
      await page.close();
    } finally {
      await ff?.stop('SIGKILL');
      await ingest.close();
    }
  });
});
