// Audio redundancy (RFC 2198) through the router, with real Opus from Debian's FFmpeg: a
// publisher that sends RED itself (the test wraps FFmpeg's Opus packets, each with the one
// before it, as libwebrtc does) into a plain transport. A receiver that lists audio/red gets
// RED with the blocks' payload type mapped into router space; one that does not gets the
// primary alone, as plain Opus; the recording is Opus and decodes clean. Malformed RED from
// the publisher is dropped and counted, and the others' packets go on. A plain Opus
// publisher's packets reach a RED receiver wrapped by the router, each with the two before.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { decodeErrors, ffmpegAvailable, probe, startFfmpeg } from './lib/ffmpeg.mjs';
import { tempConfig, tempDir, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const skip = ffmpegAvailable() ? false : 'ffmpeg/ffprobe not installed (scripts/setup.sh installs them)';

const SSRC = 33333333;
const CLIENT_RED = 63;
const CLIENT_OPUS = 111;
const RED = { mimeType: 'audio/red', payloadType: CLIENT_RED, clockRate: 48000, channels: 2 };
const OPUS = { mimeType: 'audio/opus', payloadType: CLIENT_OPUS, clockRate: 48000, channels: 2 };

// An RTP packet's parts (no CSRCs from FFmpeg; extensions skipped if any).
function parseRtp(b) {
  const cc = b[0] & 0x0f;
  let at = 12 + 4 * cc;
  if (b[0] & 0x10) at += 4 + 4 * b.readUInt16BE(at + 2);
  let end = b.length;
  if (b[0] & 0x20) end -= b[b.length - 1];
  return { pt: b[1] & 0x7f, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8), payload: b.subarray(at, end) };
}

// RFC 2198, written independently of the server: blocks [{ pt, offset, data }] oldest first,
// the primary last.
function redPayload(blocks) {
  const headers = [];
  blocks.forEach((b, i) => {
    if (i === blocks.length - 1) {
      headers.push(Buffer.from([b.pt]));
    } else {
      const h = Buffer.alloc(4);
      h[0] = 0x80 | b.pt;
      h[1] = (b.offset >> 6) & 0xff;
      h[2] = ((b.offset & 0x3f) << 2) | ((b.data.length >> 8) & 0x03);
      h[3] = b.data.length & 0xff;
      headers.push(h);
    }
  });
  return Buffer.concat([...headers, ...blocks.map((b) => b.data)]);
}

function parseRed(p) {
  const heads = [];
  let at = 0;
  for (;;) {
    if (at >= p.length) return null;
    if (!(p[at] & 0x80)) {
      heads.push({ pt: p[at] & 0x7f, offset: 0, length: -1 });
      at += 1;
      break;
    }
    if (at + 4 > p.length) return null;
    heads.push({ pt: p[at] & 0x7f, offset: (p[at + 1] << 6) | (p[at + 2] >> 2), length: ((p[at + 2] & 3) << 8) | p[at + 3] });
    at += 4;
  }
  return heads.map((h) => {
    const len = h.length < 0 ? p.length - at : h.length;
    const data = p.subarray(at, at + len);
    at += len;
    return { pt: h.pt, offset: h.offset, data };
  });
}

function header(pt, seq, ts, ssrc) {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = pt;
  h.writeUInt16BE(seq, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc, 8);
  return h;
}

// A UDP socket on loopback collecting the RTP that arrives (parsed; RTCP, which shares the
// port, left out), bounded.
const isRtcp = (m) => m.length >= 2 && m[1] >= 192 && m[1] <= 223;
async function sink() {
  const sock = dgram.createSocket('udp4');
  const got = [];
  sock.on('message', (m) => { if (got.length < 5000 && m.length >= 12 && !isRtcp(m)) got.push(parseRtp(m)); });
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, got, port: sock.address().port, close: () => new Promise((r) => sock.close(r)) };
}

async function plainConsumer(peer, producerId, caps, port) {
  const t = (await peer.expectReply('create-plain-transport', { comedia: false }, 'create-plain-transport')).data;
  await peer.expectReply('connect-plain-transport', { transportId: t.id, ip: '127.0.0.1', port }, 'connect-plain-transport');
  const c = (await peer.expectReply('consume', { transportId: t.id, producerId, rtpCapabilities: caps }, 'consumer-params')).data;
  await peer.expectReply('resume-consumer', { consumerId: c.id }, 'resume-consumer');
  return c;
}

const stats = async (peer, what, id) =>
  (await peer.expectReply(`get-${what}-stats`, { [`${what}Id`]: id }, `get-${what}-stats`)).data[0];

test('RED from a publisher: forwarded to receivers with RED, unwrapped for those without and for the recording; malformed RED dropped and counted', { skip, timeout: 120000 }, async () => {
  const dir = tempDir('chorus-red-');
  await withServer(['--config', tempConfig({ recording: { directory: dir } })], async (server) => {
    const room = 'red';
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: room });
    const student = await connectPeer(server, { auth: 'student', channelId: room });
    const toRed = await sink();
    const toOpus = await sink();
    const fromFfmpeg = await sink();
    const out = dgram.createSocket('udp4');
    let ff;
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await student.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const caps = (await student.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities')).data;
      const routerRed = caps.codecs.find((c) => c.mimeType === 'audio/red');
      const routerOpus = caps.codecs.find((c) => c.mimeType === 'audio/opus');
      assert.ok(routerRed && routerOpus, 'the router offers audio/red and audio/opus');
      const withoutRed = { ...caps, codecs: caps.codecs.filter((c) => c.mimeType !== 'audio/red') };

      const at = (await teacher.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const producer = (await teacher.expectReply('produce', { transportId: at.id, kind: 'audio', rtpParameters: { codecs: [RED, OPUS], encodings: [{ ssrc: SSRC }] } }, 'producer-id')).data;
      const redConsumer = await plainConsumer(student, producer.id, caps, toRed.port);
      const opusConsumer = await plainConsumer(student, producer.id, withoutRed, toOpus.port);
      assert.deepEqual(redConsumer.rtpParameters.codecs.map((c) => c.mimeType), ['audio/red', 'audio/opus']);
      assert.deepEqual(opusConsumer.rtpParameters.codecs.map((c) => c.mimeType), ['audio/opus']);
      await teacher.expectReply('start-recording', {}, 'start-recording');

      // FFmpeg's Opus, wrapped: each packet with the previous one's payload (distance 1).
      // The primaries sent, by payload (hex), with the one before each.
      const sent = new Map();
      let prev = null;
      let bad = 0;
      fromFfmpeg.sock.removeAllListeners('message');
      fromFfmpeg.sock.on('message', (m) => {
        if (m.length < 12 || isRtcp(m)) return;
        const p = parseRtp(m);
        const blocks = prev && p.ts - prev.ts > 0 && p.ts - prev.ts < 0x4000 && prev.payload.length < 1024
          ? [{ pt: CLIENT_OPUS, offset: p.ts - prev.ts, data: prev.payload }, { pt: CLIENT_OPUS, offset: 0, data: p.payload }]
          : [{ pt: CLIENT_OPUS, offset: 0, data: p.payload }];
        let payload = redPayload(blocks);
        // Every 50th: a block length that runs past the payload (malformed).
        if (p.seq % 50 === 7) {
          payload = Buffer.from(payload);
          payload[0] = 0x80 | CLIENT_OPUS;
          payload[2] = 0x03;
          payload[3] = 0xff;
          bad += 1;
        } else if (sent.size < 5000) {
          sent.set(p.payload.toString('hex'), prev ? prev.payload.toString('hex') : null);
        }
        out.send(Buffer.concat([header(CLIENT_RED, p.seq, p.ts, SSRC), payload]), at.port, '127.0.0.1');
        prev = p;
      });
      ff = startFfmpeg(['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '30',
        '-c:a', 'libopus', '-ac', '2', '-b:a', '48k', '-payload_type', String(CLIENT_OPUS), '-f', 'rtp', `rtp://127.0.0.1:${fromFfmpeg.port}?pkt_size=1200`]);
      await pollUntil(() => toRed.got.length >= 150 && toOpus.got.length >= 150 && bad >= 3,
        { timeoutMs: 20000, intervalMs: 100, what: 'RED and Opus at both receivers, malformed RED among what was sent' });

      // The RED receiver: RED at the router's payload type, blocks at the router's Opus
      // type, each primary one that was sent, with the payload sent before it.
      let withRedundancy = 0;
      for (const p of toRed.got.slice(5)) {
        assert.equal(p.pt, routerRed.preferredPayloadType);
        const blocks = parseRed(p.payload);
        assert.ok(blocks, 'RED that parses');
        for (const b of blocks) assert.equal(b.pt, routerOpus.preferredPayloadType, 'the blocks are in router space');
        const primary = blocks.at(-1).data.toString('hex');
        assert.ok(sent.has(primary), 'a primary that was sent');
        if (blocks.length === 2) {
          withRedundancy += 1;
          assert.equal(blocks[0].data.toString('hex'), sent.get(primary), 'the redundancy is the packet before');
          assert.equal(blocks[0].offset, 960);
        }
      }
      assert.ok(withRedundancy > 100, `RED packets with redundancy: ${withRedundancy}`);
      // The Opus receiver: the primaries alone.
      for (const p of toOpus.got.slice(5)) {
        assert.equal(p.pt, routerOpus.preferredPayloadType);
        assert.ok(sent.has(p.payload.toString('hex')), 'plain Opus: a primary that was sent');
      }
      const ps = await stats(teacher, 'producer', producer.id);
      assert.ok(ps.dropped.redMalformed >= 3, `malformed RED counted: ${JSON.stringify(ps.dropped)}`);
      const rs = await stats(student, 'consumer', redConsumer.id);
      const os = await stats(student, 'consumer', opusConsumer.id);
      assert.equal(rs.red.sends, 'red');
      assert.equal(rs.red.converted, 0, 'RED passes as it is');
      assert.equal(os.red.sends, 'opus');
      assert.ok(os.red.converted >= 150, `unwrapped for the Opus receiver: ${JSON.stringify(os.red)}`);
      assert.equal(os.red.bad, 0);

      const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
      assert.equal(manifest.tracks.length, 1, JSON.stringify(manifest.tracks));
      const seg = manifest.tracks[0].segments[0];
      const file = path.join(path.dirname(stopped.data.manifest), seg.file);
      const info = await probe(file);
      assert.equal(info.streams[0].codec_name, 'opus');
      assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, `${info.format.duration} s in the file, ${seg.durationMs} ms in the manifest`);
      assert.equal(await decodeErrors(file), '', 'decodes with no error line');
    } finally {
      await ff?.stop();
      out.close();
      await Promise.all([toRed.close(), toOpus.close(), fromFfmpeg.close()]);
      await closeAll(teacher, student);
    }
  });
});

test('plain Opus from a publisher: a receiver with RED gets it wrapped, each packet with the two before', { skip, timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const room = 'red-wrap';
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: room });
    const student = await connectPeer(server, { auth: 'student', channelId: room });
    const toRed = await sink();
    let ff;
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await student.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const caps = (await student.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities')).data;
      const routerOpus = caps.codecs.find((c) => c.mimeType === 'audio/opus');
      const at = (await teacher.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const producer = (await teacher.expectReply('produce', { transportId: at.id, kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc: SSRC }] } }, 'producer-id')).data;
      const c = await plainConsumer(student, producer.id, caps, toRed.port);
      assert.deepEqual(c.rtpParameters.codecs.map((x) => x.mimeType), ['audio/red', 'audio/opus']);
      ff = startFfmpeg(['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '30',
        '-c:a', 'libopus', '-ac', '2', '-b:a', '48k', '-ssrc', String(SSRC), '-payload_type', String(CLIENT_OPUS), '-f', 'rtp', `rtp://127.0.0.1:${at.port}?pkt_size=1200`]);
      await pollUntil(() => toRed.got.length >= 100, { timeoutMs: 20000, intervalMs: 100, what: 'wrapped Opus at the RED receiver' });
      // In order on loopback: from the third on, each carries the two before it.
      const got = toRed.got.slice(0, 100);
      for (let i = 2; i < got.length; i++) {
        const blocks = parseRed(got[i].payload);
        assert.ok(blocks, 'RED that parses');
        assert.equal(blocks.length, 3, `packet ${i}: ${blocks.length} blocks`);
        assert.deepEqual(blocks.map((b) => b.offset), [1920, 960, 0]);
        for (const b of blocks) assert.equal(b.pt, routerOpus.preferredPayloadType);
        assert.ok(blocks[0].data.equals(parseRed(got[i - 2].payload).at(-1).data), 'the oldest block is two packets back');
        assert.ok(blocks[1].data.equals(parseRed(got[i - 1].payload).at(-1).data), 'the next is one back');
      }
      const s = await stats(student, 'consumer', c.id);
      assert.equal(s.red.sends, 'red');
      assert.ok(s.red.converted >= 100, JSON.stringify(s.red));
    } finally {
      await ff?.stop();
      await toRed.close();
      await closeAll(teacher, student);
    }
  });
});
