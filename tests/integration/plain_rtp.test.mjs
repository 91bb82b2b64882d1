// Plain RTP transports (mediasoup's PlainTransport shapes) with Debian's FFmpeg on both
// sides: FFmpeg sends a test pattern (testsrc as VP8) and a sine (Opus) as RTP into two
// comedia transports whose producers get RTCP back (receiver reports, and a PLI when a
// consumer starts); a consumer on a third plain transport delivers the video to a second
// FFmpeg, which writes a file that ffprobe and a full decode accept. Also: the same over
// SRTP (FFmpeg's srtp:// output keyed through srtpParameters), the transport shapes in the
// Socket.IO dialect, and the refusals.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { consumerSdp, decodeErrors, ffmpegAvailable, freePortPair, probe, startFfmpeg } from './lib/ffmpeg.mjs';
import { tempConfig, tempDir, withServer } from './lib/server.mjs';
import { receiverReport, rtpPacket, srtpSessionKeys, SrtpSender } from './lib/srtp.mjs';
import { connectSio, nextEvent } from './lib/socketio.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const skip = ffmpegAvailable() ? false : 'ffmpeg/ffprobe not installed (scripts/setup.sh installs them)';

const VIDEO_SSRC = 22222222;
const AUDIO_SSRC = 11111111;
const VP8 = { mimeType: 'video/VP8', payloadType: 101, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] };
const OPUS = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };

// Whether ffmpeg (or anyone) has bound UDP `port` yet.
function portBound(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(true));
    s.bind(port, '0.0.0.0', () => s.close(() => resolve(false)));
  });
}

// FFmpeg's test pattern and sine as RTP to two ports (each with RTCP on the same port).
function ingestArgs(videoUrl, audioUrl, extraVideo = [], extraAudio = []) {
  return [
    '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '60',
    '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30',
    '-ssrc', String(VIDEO_SSRC), '-payload_type', '101', ...extraVideo, '-f', 'rtp', videoUrl,
    '-map', '1:a', '-c:a', 'libopus', '-ac', '2', '-b:a', '48k',
    '-ssrc', String(AUDIO_SSRC), '-payload_type', '100', ...extraAudio, '-f', 'rtp', audioUrl,
  ];
}

async function nodeMetrics(server) {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  return parsePrometheus(await res.text());
}

async function stats(client, transportId) {
  const r = await client.expectReply('get-transport-stats', { transportId }, 'get-transport-stats');
  return r.data[0];
}

test('plain RTP in from FFmpeg (comedia) and out to an FFmpeg that writes a decodable file', { skip, timeout: 120000 }, async () => {
  await withServer([], async (server) => {
    const room = 'plain';
    const ingest = await connectPeer(server, { auth: 'ingest', channelId: room });
    const sink = await connectPeer(server, { auth: 'sink', channelId: room });
    let ff, recv;
    try {
      await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await sink.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const caps = (await sink.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities')).data;

      const vt = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const at = (await ingest.expectReply('create-plain-transport', { comedia: true, rtcpMux: true }, 'create-plain-transport')).data;
      assert.equal(vt.ip, '127.0.0.1');
      assert.ok(vt.port > 0 && at.port > 0 && vt.port !== at.port);
      assert.equal(vt.rtcpPort, undefined, 'rtcpMux (the default): no rtcpPort');
      assert.deepEqual(vt.tuple, { localIp: '127.0.0.1', localPort: vt.port, protocol: 'udp' });
      // comedia: connect names no address (mediasoup's flow connects only for SRTP)
      const vp = await ingest.expectReply('produce', { transportId: vt.id, kind: 'video', rtpParameters: { codecs: [VP8], encodings: [{ ssrc: VIDEO_SSRC }] } }, 'producer-id');
      const ap = await ingest.expectReply('produce', { transportId: at.id, kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc: AUDIO_SSRC }] } }, 'producer-id');

      ff = startFfmpeg(ingestArgs(`rtp://127.0.0.1:${vt.port}?rtcpport=${vt.port}&pkt_size=1200`, `rtp://127.0.0.1:${at.port}?rtcpport=${at.port}&pkt_size=1200`));
      await pollUntil(async () => (await stats(ingest, vt.id)).rtp.received > 30, { timeoutMs: 15000, what: 'video RTP from ffmpeg' });
      await pollUntil(async () => (await stats(ingest, at.id)).rtp.received > 30, { timeoutMs: 10000, what: 'audio RTP from ffmpeg' });
      // The node's totals count what plain transports receive, as they count WebRTC's (no
      // WebRTC transport here: all of it is the plain transports').
      const received = (await stats(ingest, vt.id)).rtp.received + (await stats(ingest, at.id)).rtp.received;
      await pollUntil(async () => (await nodeMetrics(server)).value('chorus_rtp_packets_in_total') >= received,
        { timeoutMs: 5000, intervalMs: 100, what: `chorus_rtp_packets_in_total to reach ${received}` });

      // Out: a consumer on a plain transport toward an FFmpeg that records 4 s of it.
      const st = (await sink.expectReply('create-plain-transport', { comedia: false, rtcpMux: false }, 'create-plain-transport')).data;
      assert.ok(st.rtcpPort > 0 && st.rtcpPort !== st.port, 'rtcpMux false: an RTCP port of its own');
      const c = await sink.expectReply('consume', { transportId: st.id, producerId: vp.data.id, rtpCapabilities: caps, paused: true }, 'consumer-params');
      const port = await freePortPair();
      const dir = tempDir('chorus-plain-');
      const sdp = path.join(dir, 'in.sdp');
      fs.writeFileSync(sdp, consumerSdp('video', c.data.rtpParameters, port));
      const out = path.join(dir, 'out.webm');
      recv = startFfmpeg(['-protocol_whitelist', 'file,udp,rtp', '-i', sdp, '-c', 'copy', '-t', '4', '-y', out]);
      await pollUntil(() => portBound(port), { timeoutMs: 10000, what: 'the receiving ffmpeg to bind its port' });
      await sink.expectError('connect-plain-transport', { transportId: st.id, ip: '127.0.0.1', port }, 'missing-field');
      await sink.expectReply('connect-plain-transport', { transportId: st.id, ip: '127.0.0.1', port, rtcpPort: port + 1 }, 'connect-plain-transport');
      await sink.expectError('connect-plain-transport', { transportId: st.id, ip: '127.0.0.1', port, rtcpPort: port + 1 }, 'invalid-state');
      await sink.expectReply('resume-consumer', { consumerId: c.data.id }, 'resume-consumer');
      let timer;
      const done = await Promise.race([recv.exited, new Promise((r) => { timer = setTimeout(() => r({ timedOut: true }), 40000); })]);
      clearTimeout(timer);
      assert.equal(done.code, 0, `receiving ffmpeg: ${JSON.stringify(done)} ${recv.stderr()}`);

      const info = await probe(out, { countFrames: true });
      const v = info.streams.find((s) => s.codec_type === 'video');
      assert.equal(v?.codec_name, 'vp8', JSON.stringify(info.streams));
      assert.equal(v.width, 320);
      assert.ok(Number(v.nb_read_frames) >= 60, `frames decoded: ${v.nb_read_frames}`);
      assert.equal(await decodeErrors(out), '');

      // RTCP toward the ingest: receiver reports, and the PLI the consumer's start asked for.
      const vs = await stats(ingest, vt.id);
      assert.ok(vs.rtcp.sent > 0, `RTCP sent to the ingest: ${JSON.stringify(vs.rtcp)}`);
      // FFmpeg's sender reports come from its RTP port + 1: taken (same host), read.
      await pollUntil(async () => (await stats(ingest, vt.id)).media.senderReports > 0,
        { timeoutMs: 12000, intervalMs: 200, what: 'a sender report from ffmpeg' });
      assert.ok(vs.tuple && vs.tuple.remotePort > 0, 'comedia learnt the remote tuple');
      const ss = await stats(sink, st.id);
      assert.ok(ss.rtp.sent > 60, `consumer RTP sent: ${JSON.stringify(ss)}`);
      const ps = await ingest.expectReply('get-producer-stats', { producerId: ap.data.id }, 'get-producer-stats');
      assert.ok(JSON.stringify(ps.data).length > 2);
    } finally {
      await recv?.stop('SIGKILL');
      await ff?.stop('SIGKILL');
      await closeAll(ingest, sink);
    }
  });
});

test('plain RTP over SRTP: FFmpeg keyed through srtpParameters, both directions keyed', { skip, timeout: 60000 }, async () => {
  await withServer([], async (server) => {
    const ingest = await connectPeer(server, { auth: 'ingest', channelId: 'srtp' });
    let ff;
    try {
      await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const t = (await ingest.expectReply('create-plain-transport', { comedia: true, enableSrtp: true, srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' }, 'create-plain-transport')).data;
      assert.equal(t.srtpParameters.cryptoSuite, 'AES_CM_128_HMAC_SHA1_80');
      assert.equal(Buffer.from(t.srtpParameters.keyBase64, 'base64').length, 30);
      const a = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const key = crypto.randomBytes(30).toString('base64');
      await ingest.expectError('connect-plain-transport', { transportId: t.id }, 'missing-field');
      await ingest.expectError('connect-plain-transport', { transportId: t.id, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: 'AAAA' } }, 'invalid-field');
      await ingest.expectReply('connect-plain-transport', { transportId: t.id, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: key } }, 'connect-plain-transport');
      await ingest.expectReply('produce', { transportId: t.id, kind: 'video', rtpParameters: { codecs: [VP8], encodings: [{ ssrc: VIDEO_SSRC }] } }, 'producer-id');
      await ingest.expectReply('produce', { transportId: a.id, kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc: AUDIO_SSRC }] } }, 'producer-id');
      ff = startFfmpeg(ingestArgs(
        `srtp://127.0.0.1:${t.port}?rtcpport=${t.port}&pkt_size=1200`,
        `rtp://127.0.0.1:${a.port}?rtcpport=${a.port}&pkt_size=1200`,
        ['-srtp_out_suite', 'AES_CM_128_HMAC_SHA1_80', '-srtp_out_params', key],
      ));
      await pollUntil(async () => (await stats(ingest, t.id)).rtp.received > 30, { timeoutMs: 15000, what: 'SRTP video from ffmpeg' });
      const s = await stats(ingest, t.id);
      assert.equal(s.dropped.srtp, 0, JSON.stringify(s.dropped));
      assert.equal(s.srtpCryptoSuite, 'AES_CM_128_HMAC_SHA1_80');
    } finally {
      await ff?.stop('SIGKILL');
      await closeAll(ingest);
    }
  });
});

test('the tests\' SRTP sender derives the session keys of RFC 3711 B.3', () => {
  const k = srtpSessionKeys(Buffer.from('E1F97A0D3E018BE0D64FA32C06DE4139', 'hex'), Buffer.from('0EC675AD498AFEEBB6960B3AABE6', 'hex'));
  assert.equal(k.cipherKey.toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(k.salt.toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(k.authKey.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
});

// An SRTP plain transport keeps the state (replay window, rollover counter) of an SSRC it
// routes nowhere only while it is among the last 16 such SSRCs (as a WebRTC transport does),
// and a closed producer's SSRCs join them; the SRTCP state of a sender SSRC while it is
// among the last 256: a client cannot grow that state without bound.
// Seen from outside: a packet replayed while its SSRC's state is kept is refused as a
// replay; once 16 other unrouted SSRCs have pushed it out, the same bytes are taken as new.
// An unrouted stream that wraps its sequence number meanwhile keeps decrypting.
test('plain SRTP: the state of unrouted and closed-producer SSRCs is bounded, a wrapping stream kept', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const c = await connectPeer(server, { auth: 'srtp-bound', channelId: 'plain-srtp-bound' });
    const sock = dgram.createSocket('udp4');
    try {
      await c.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const t = (await c.expectReply('create-plain-transport', { comedia: true, enableSrtp: true, srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' }, 'create-plain-transport')).data;
      const key = crypto.randomBytes(30);
      await c.expectReply('connect-plain-transport', { transportId: t.id, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: key.toString('base64') } }, 'connect-plain-transport');
      await new Promise((r) => sock.bind(0, '127.0.0.1', r));
      const srtp = new SrtpSender(key);
      const packet = (ssrc, seq) => srtp.protect(rtpPacket({ payloadType: 101, seq, timestamp: seq * 3000, ssrc, payload: crypto.randomBytes(80) }));
      const send = (bytes) => sock.send(bytes, t.port, '127.0.0.1');
      // What the transport must have counted: RTP packets and RTCP datagrams taken, and
      // datagrams SRTP refused.
      const counts = { rtp: 0, rtcp: 0, refused: 0 };
      // Sends datagrams that the transport must count as `kind`, and waits until it has.
      const expect = async (what, kind, datagrams) => {
        for (const d of datagrams)
          send(d);
        counts[kind] += datagrams.length;
        return pollUntil(async () => {
          const s = await stats(c, t.id);
          return s.rtp.received === counts.rtp && s.rtcp.received === counts.rtcp && s.dropped.srtp === counts.refused && s;
        }, { timeoutMs: 5000, intervalMs: 20, what });
      };
      // Packets (or receiver reports) from `n` SSRCs not seen before, one each.
      let next = 7000;
      const others = (n, make = (ssrc) => packet(ssrc, 1)) => Array.from({ length: n }, () => make(next++));

      // An unrouted SSRC: the first packet is taken, its replay refused; 15 more unrouted
      // SSRCs keep it (16 in all); the 16th pushes it out and its state is forgotten.
      const a = packet(5001, 100);
      await expect('first packet of an unrouted SSRC', 'rtp', [a]);
      await expect('its replay refused while its state is kept', 'refused', [a]);
      await expect('15 other unrouted SSRCs', 'rtp', others(15));
      await expect('the replay still refused: the SSRC is among the last 16', 'refused', [a]);
      await expect('the 16th other SSRC', 'rtp', others(1));
      await expect('the replay taken as new: its state was forgotten', 'rtp', [a]);

      // An unrouted stream across the wrap of its sequence number: every packet decrypts.
      await expect('an unrouted stream wrapping its sequence number', 'rtp',
        Array.from({ length: 12 }, (_, i) => packet(5002, (65530 + i) & 0xffff)));

      // A producer's SSRC: routed while it lives; once closed, it is unrouted like any other.
      const producerId = (await c.expectReply('produce', { transportId: t.id, kind: 'video', rtpParameters: { codecs: [VP8], encodings: [{ ssrc: 5003 }] } }, 'producer-id')).data.id;
      const p = packet(5003, 200);
      await expect('a packet of the producer', 'rtp', [p]);
      await c.expectReply('close-producer', { producerId }, 'close-producer');
      const unknownBefore = (await stats(c, t.id)).media.unknownSsrc;
      let seq = 201;
      await pollUntil(async () => { // the route ends when the transport hears of the producer's end
        const s = await expect('a packet of the closed producer', 'rtp', [packet(5003, seq++)]);
        return s.media.unknownSsrc > unknownBefore;
      }, { timeoutMs: 5000, intervalMs: 20, what: 'the closed producer\'s SSRC routed nowhere' });
      await expect('its replay refused while its state is kept', 'refused', [p]);
      await expect('16 other unrouted SSRCs', 'rtp', others(16));
      await expect('its replay taken as new once 16 others pushed it out', 'rtp', [p]);

      // SRTCP: a sender's replayed report is refused while it is among the last 256 senders,
      // taken as new once 256 others pushed it out.
      const report = (ssrc) => srtp.protectRtcp(receiverReport(ssrc));
      const rr = report(9001);
      await expect('a receiver report', 'rtcp', [rr]);
      await expect('its replay refused', 'refused', [rr]);
      await expect('receiver reports from 255 other senders', 'rtcp', others(255, report));
      await expect('the replay still refused: the sender is among the last 256', 'refused', [rr]);
      await expect('a receiver report from a 256th other sender', 'rtcp', others(1, report));
      await expect('the replay taken as new: the sender\'s state was forgotten', 'rtcp', [rr]);
    } finally {
      sock.close();
      await closeAll(c);
    }
  });
});

test('create-plain-transport refusals', async () => {
  await withServer([], async (server) => {
    const c = await connectPeer(server, { auth: 'p', channelId: 'plain-bad' });
    try {
      await c.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await c.expectError('create-plain-transport', { enableSrtp: true, srtpCryptoSuite: 'NOPE' }, 'invalid-field');
      await c.expectError('create-plain-transport', { listenIp: 'not-an-ip' }, 'invalid-field');
      await c.expectError('create-plain-transport', { comedia: 'yes' }, 'invalid-field');
      await c.expectError('connect-plain-transport', { ip: '127.0.0.1', port: 5000 }, 'missing-field');
      await c.expectError('connect-plain-transport', { transportId: 'nope', ip: '127.0.0.1', port: 5000 }, 'unknown-transport');
      const t = (await c.expectReply('create-plain-transport', { listenIp: { ip: '127.0.0.1' } }, 'create-plain-transport')).data;
      // Garbage at the port: neither RTP nor RTCP, or RTP before connect: dropped and counted.
      const junk = dgram.createSocket('udp4');
      await new Promise((r) => junk.bind(0, '127.0.0.1', r));
      for (const b of [Buffer.from([0x00, 0x01, 0x02]), crypto.randomBytes(40).fill(0x16, 0, 1), Buffer.concat([Buffer.from([0x80, 0x60]), crypto.randomBytes(30)])])
        junk.send(b, t.port, '127.0.0.1');
      await pollUntil(async () => {
        const d = (await stats(c, t.id)).dropped;
        return d.unknown >= 2 && d.notConnected >= 1;
      }, { timeoutMs: 5000, intervalMs: 50, what: 'garbage counted' });
      junk.close();
      await c.expectError('connect-plain-transport', { transportId: t.id, ip: 'example.org', port: 5000 }, 'invalid-field');
      await c.expectError('connect-plain-transport', { transportId: t.id, ip: '127.0.0.1', port: 70000 }, 'invalid-field');
      await c.expectError('connect-plain-transport', { transportId: t.id, ip: '127.0.0.1', port: 5000, srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80', keyBase64: 'x' } }, 'invalid-field');
    } finally {
      await closeAll(c);
    }
  });
});

test('Socket.IO dialect: create-plain-transport, connect-plain-transport, start/stop-recording with their events', { skip, timeout: 30000 }, async () => {
  const dir = tempDir('chorus-rec-sio-');
  await withServer(['--config', tempConfig({ recording: { directory: dir } })], async (server) => {
    const s = await connectSio(server, { transports: ['websocket'] });
    const ack = (event, data) => s.timeout(5000).emitWithAck(event, data);
    try {
      await ack('join-mediasoup-room', { roomId: 'sio-plain' });
      const t = await ack('create-plain-transport', { roomId: 'sio-plain', comedia: false, rtcpMux: false });
      assert.deepEqual(Object.keys(t).sort(), ['id', 'ip', 'port', 'rtcpPort', 'rtcpTuple', 'tuple']);
      assert.deepEqual(await ack('connect-plain-transport', { roomId: 'sio-plain', transportId: t.id, ip: '127.0.0.1', port: 9, rtcpPort: 10 }), {});
      const bad = await ack('connect-plain-transport', { roomId: 'sio-plain', transportId: t.id, ip: '127.0.0.1', port: 9, rtcpPort: 10 });
      assert.equal(bad.error?.code ?? bad.code, 'invalid-state', JSON.stringify(bad));
      const started = nextEvent(s, 'recording-started');
      const r = await ack('start-recording', { roomId: 'sio-plain' });
      assert.match(r.recordingId, /^[0-9a-f-]{36}$/);
      assert.equal((await started)[0].recordingId, r.recordingId);
      const stopped = nextEvent(s, 'recording-stopped', { timeoutMs: 10000 });
      const st = await ack('stop-recording', { roomId: 'sio-plain' });
      const [ev] = await stopped;
      assert.equal(ev.manifestPath, st.manifest);
      assert.equal(ev.manifest.recordingId, r.recordingId);
      assert.deepEqual(ev.manifest.tracks, []);
    } finally {
      s.disconnect();
    }
  });
});

test('loss that NACK cannot repair asks the ingest for a keyframe (receivers like ffmpeg never ask)', { skip, timeout: 60000 }, async () => {
  // 5 % of the RTP dropped on arrival; FFmpeg answers no NACK, so every gap is given up.
  await withServer(['--drop-rtp-percent', '5'], async (server) => {
    const ingest = await connectPeer(server, { auth: 'ingest', channelId: 'lossy' });
    let ff;
    try {
      await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const vt = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const at = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const vp = await ingest.expectReply('produce', { transportId: vt.id, kind: 'video', rtpParameters: { codecs: [VP8], encodings: [{ ssrc: VIDEO_SSRC }] } }, 'producer-id');
      // A keyframe every 20 s only: the losses are given up by NACK (retries, age), not made
      // moot by the next keyframe (which asks for nothing).
      ff = startFfmpeg(ingestArgs(`rtp://127.0.0.1:${vt.port}?rtcpport=${vt.port}&pkt_size=1200`,
        `rtp://127.0.0.1:${at.port}?rtcpport=${at.port}&pkt_size=1200`, ['-g', '600']));
      const producerStats = async () => (await ingest.expectReply('get-producer-stats', { producerId: vp.data.id }, 'get-producer-stats')).data[0];
      // Nobody consumes: the only keyframe requests are the producer's own.
      await pollUntil(async () => {
        const s = await producerStats();
        return s.nackAbandoned > 0 && s.pliCount > 0;
      }, { timeoutMs: 20000, intervalMs: 200, what: 'a PLI after abandoned packets' });
      const s = await producerStats();
      assert.equal(s.keyframeRequests, 0, 'no consumer asked');
    } finally {
      await ff?.stop('SIGKILL');
      await closeAll(ingest);
    }
  });
});
