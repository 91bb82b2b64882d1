// AV1 end to end with real Chromium and the stock mediasoup-client: the router offers
// video/AV1 (after VP8, VP9 and H264, so that nobody gets it unasked) and the Dependency
// Descriptor extension, from which it reads the layers (rtp/dependency_descriptor.hpp). A
// teacher's page produces its camera in AV1 SVC (L3T3), a student's page consumes and
// decodes it, a keyframe asked for by the server arrives (the recorder asks for one), and
// the room's recording holds the AV1 in Matroska (depacketized by Chorus:
// rtp/av1_frames.hpp), of the right length, decoded with no error line. And AV1 simulcast
// with three temporal layers per encoding: the server switches a receiver between the
// encodings (at their keyframes) and between temporal layers (at the descriptor's switch
// points), both ways.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { decodeErrors, ffmpegAvailable, ffmpegChildren, firstVideoPacketFlags, probe } from './lib/ffmpeg.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { ENCODINGS, consumerStats, videoRow } from './lib/simulcast.mjs';
import { tempConfig, tempDir } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';

const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || (!ffmpegAvailable() && 'no ffmpeg');

// Lets media flow for `ms` (the length of what is recorded, not a synchronisation).
const record = (ms) => new Promise((r) => setTimeout(r, ms));

test('AV1 L3T3 from Chromium: offered, produced, decoded by another page, recorded to Matroska that decodes', { timeout: 120000, skip }, async () => {
  const dir = tempDir('chorus-av1-');
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn', '--config', tempConfig({ recording: { directory: dir } })] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=av1`;
    const teacher = await openPage(browser, `${site.url}/`, 'teacher');
    const student = await openPage(browser, `${site.url}/`, 'student');
    await teacher.evaluate((u) => window.chorusJoin(u, { codec: 'video/AV1', video: { width: 960, height: 540 }, scalabilityMode: 'L3T3' }), wsUrl('teacher'));
    const sent = await teacher.evaluate(() => window.producers.get('video').rtpParameters.codecs[0].mimeType);
    assert.equal(sent.toLowerCase(), 'video/av1');
    const svc = await teacher.evaluate(() => window.producers.get('video').rtpParameters);
    assert.equal(svc.encodings[0].scalabilityMode, 'L3T3');
    assert.ok(svc.headerExtensions.some((e) => /dependency-descriptor/.test(e.uri)), 'the Dependency Descriptor negotiated');
    const caps = await teacher.evaluate(() => window.device.rtpCapabilities.codecs.filter((c) => c.kind === 'video' && !/rtx/i.test(c.mimeType)).map((c) => c.mimeType));
    assert.equal(caps.at(-1), 'video/AV1', `AV1 offered last: ${caps}`);

    await student.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('student'));
    const video = async () => (await student.evaluate(() => window.received())).find((r) => r.kind === 'video');
    const first = await until(student, 'the student decodes the AV1 camera', video, (r) => r && r.framesDecoded > 30, 30000, 250);
    const codec = await student.evaluate(async () => {
      const c = [...window.consumers.values()].find((x) => x.kind === 'video');
      let mime = null;
      (await c.consumer.getStats()).forEach((s) => {
        if (s.type === 'codec') mime = s.mimeType;
      });
      return mime;
    });
    assert.equal(codec?.toLowerCase(), 'video/av1');

    // The layers come from the descriptor: the student gets the top one, and the lowest
    // (a quarter of the width) when it asks for it. (Chromium encodes three spatial layers
    // from 960x540 up; at 640x360 it makes two of L3T3.)
    const producerId = await teacher.evaluate(() => window.producers.get('video').id);
    const pstats = (await teacher.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId)).data[0];
    assert.ok(pstats.dependencyDescriptor.structures >= 1, JSON.stringify(pstats.dependencyDescriptor));
    assert.equal(pstats.dependencyDescriptor.unread, 0);
    const consumerId = first.consumerId;
    assert.equal(await student.evaluate((id) => window.consumers.get(id).type, consumerId), 'svc');
    const decodes = (what, width, spatial) => until(student, what, async () => ({ row: await video(), s: await consumerStats(student, consumerId) }),
      ({ row, s }) => row.frameWidth === width && s.currentLayers?.spatialLayer === spatial, 30000, 250);
    await decodes('the top spatial layer (960 wide)', 960, 2);
    const ask = (spatialLayer) => student.evaluate(([c, sl]) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: c, spatialLayer: sl }), [consumerId, spatialLayer]);
    assert.notEqual((await ask(0)).type, 'error');
    const low = await decodes('spatial layer 0 on request (240 wide)', 240, 0);
    assert.ok(low.s.droppedLayers > 0, JSON.stringify(low.s));
    assert.notEqual((await ask(2)).type, 'error');
    await decodes('the top spatial layer again', 960, 2);

    const started = await teacher.evaluate(() => window.chorusRequest('start-recording', {}));
    assert.equal(started.type, 'start-recording', JSON.stringify(started));
    await pollUntil(() => ffmpegChildren(server.pid).length === 2, { timeoutMs: 10000, intervalMs: 100, what: 'two recorders' });
    const children = ffmpegChildren(server.pid);
    assert.equal(children.filter((c) => /-f ivf -i pipe:0/.test(c.args)).length, 1, JSON.stringify(children));
    const t0 = Date.now();
    await record(6000);
    const stopped = await teacher.evaluate(() => window.chorusRequest('stop-recording', {}));
    const totalMs = Date.now() - t0;
    assert.equal(stopped.type, 'stop-recording', JSON.stringify(stopped));
    const later = await video();
    assert.ok(later.framesDecoded > first.framesDecoded + 60, `decoding went on: ${first.framesDecoded} -> ${later.framesDecoded}`);

    const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
    assert.deepEqual(manifest.errors, []);
    const track = manifest.tracks.find((t) => t.kind === 'video');
    assert.equal(track.codec.toLowerCase(), 'video/av1');
    const [seg] = track.segments;
    assert.ok(seg.hasMedia, JSON.stringify(seg));
    assert.match(seg.file, /\.mkv$/);
    const file = path.join(path.dirname(stopped.data.manifest), seg.file);
    const info = await probe(file, { countFrames: true });
    const stream = info.streams[0];
    assert.equal(stream.codec_name, 'av1');
    assert.equal(`${stream.width}x${stream.height}`, '960x540');
    assert.ok(Number(stream.nb_read_frames) > 60, `frames: ${stream.nb_read_frames}`);
    assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, `${info.format.duration} s vs ${seg.durationMs} ms`);
    assert.ok(Math.abs(seg.durationMs - totalMs) <= 1500, `${seg.durationMs} ms recorded of ${totalMs}`);
    assert.match(await firstVideoPacketFlags(file), /^K/, 'starts with a keyframe');
    assert.equal(await decodeErrors(file), '', 'decodes with no error line');
  });
});

test('AV1 simulcast (L1T3 each) from Chromium: a receiver switched between the encodings and between temporal layers by the server, both ways', { timeout: 120000, skip }, async () => {
  await withBrowser({ html: MEDIA_PAGE, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=av1-sim`;
    const sender = await openPage(browser, `${site.url}/`, 'sender');
    const rx = await openPage(browser, `${site.url}/`, 'receiver');
    const encodings = ENCODINGS.map((e) => ({ ...e, scalabilityMode: 'L1T3' }));
    await sender.evaluate(([u, e]) => window.chorusJoin(u, { codec: 'video/AV1', video: { width: 960, height: 540 }, encodings: e }),
      [wsUrl('sender'), encodings]);
    const producerId = await sender.evaluate(() => window.producers.get('video').id);
    await until(sender, 'three AV1 encodings received', () =>
      sender.evaluate((id) => window.chorusRequest('get-producer-stats', { producerId: id }), producerId),
    (r) => r.data?.length === 3 && r.data.every((e) => e.packetCount > 0 && /av1/i.test(e.mimeType)), 20000, 250);
    const widths = async () => (await sender.evaluate(() => window.sentEncodings())).map((e) => e.frameWidth);
    await until(sender, 'three encodings of growing width', widths, (w) => w.length === 3 && w[0] > 0 && w[0] < w[1] && w[1] < w[2], 20000, 250);

    await rx.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('receiver'));
    const id = (await until(rx, 'a video consumer', () => videoRow(rx), (r) => r !== undefined, 10000)).consumerId;
    const decodesWidth = async (what, index) => until(rx, what, async () => ({ row: await videoRow(rx), w: (await widths())[index] }),
      ({ row, w }) => row.framesDecoded > 10 && row.frameWidth === w, 30000, 250);
    await decodesWidth('the top encoding unasked', 2);
    const ask = (spatialLayer) => rx.evaluate(([c, s]) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: c, spatialLayer: s }), [id, spatialLayer]);
    assert.notEqual((await ask(0)).type, 'error');
    await decodesWidth('the lowest encoding on request', 0);
    assert.equal((await consumerStats(rx, id)).currentLayers?.spatialLayer, 0);
    assert.notEqual((await ask(2)).type, 'error');
    const back = await decodesWidth('the top encoding again', 2);
    await until(rx, 'decoding goes on at the top', () => videoRow(rx), (r) => r.framesDecoded > back.row.framesDecoded + 30 && r.frameWidth === back.w, 10000, 250);

    // Temporal layers, from the descriptor: the base layer is a quarter of the frames.
    const fps = async () => {
      const a = await videoRow(rx);
      const t = Date.now();
      await record(3000);
      const b = await videoRow(rx);
      return (b.framesDecoded - a.framesDecoded) * 1000 / (Date.now() - t);
    };
    const askTemporal = (t) => rx.evaluate(([c, tl]) => window.chorusRequest('set-consumer-preferred-layers', { consumerId: c, spatialLayer: 2, temporalLayer: tl }), [id, t]);
    const onTemporal = (t) => until(rx, `temporal layer ${t}`, () => consumerStats(rx, id), (st) => st.currentLayers?.temporalLayer === t && st.currentLayers?.spatialLayer === 2, 10000, 250);
    await onTemporal(2);
    const all = await fps();
    assert.notEqual((await askTemporal(0)).type, 'error');
    await onTemporal(0);
    const base = await fps();
    assert.notEqual((await askTemporal(2)).type, 'error');
    await onTemporal(2);
    const again = await fps();
    process.stderr.write(`AV1 L1T3 top encoding: ${all.toFixed(1)} fps with all temporal layers, ${base.toFixed(1)} with the base, ${again.toFixed(1)} with all again\n`);
    assert.ok(base > 0 && base < 0.6 * all, `the base layer alone: ${base} fps of ${all}`);
    assert.ok(again > 1.5 * base, `all temporal layers again: ${again} fps (base ${base})`);
    assert.equal((await videoRow(rx)).frameWidth, back.w);
  });
});
