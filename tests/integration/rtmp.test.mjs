// RTMP ingest against the real server, with Debian's FFmpeg as the encoder and no browser
// (tests/integration/browser_rtmp.test.mjs decodes the media): stream keys that are tokens
// (none, a bad one, another room's, a role that may not publish), the room from the
// token or from the URL, the participant and its two producers, the end of the publish
// leaving nothing behind (participant, producers, FFmpeg child), and bytes that are not
// RTMP.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import { ffmpegAvailable, ffmpegChildren } from './lib/ffmpeg.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { publishTestPattern, rtmpPort } from './lib/rtmp.mjs';
import { withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';
import { closeAll, connectPeer, nextParticipantList } from './lib/ws_client.mjs';

const skip = ffmpegAvailable() ? false : 'ffmpeg/ffprobe not installed (scripts/setup.sh installs them)';
const ROOM = 'rtmp-room';

async function metric(server, name) {
  return parsePrometheus((await httpGet(`${server.url}/metrics`)).body).value(name);
}

const health = async (server) => (await httpGet(`${server.url}/healthz`)).json;

test('RTMP publish with tokens: refused without one, with a bad one, for another room or a role that may not publish; a teacher\'s stream is a participant with H.264 and Opus until it stops', { skip, timeout: 120000 }, async () => {
  await withServer(jwtArgs(['--log-level', 'info', '--rtmp-listen', '127.0.0.1:0']), async (server) => {
    const base = `rtmp://127.0.0.1:${rtmpPort(server)}`;
    const refusals = async (url, pattern, options = {}) => {
      const before = await metric(server, 'chorus_rtmp_refused_total');
      const ff = publishTestPattern(url, { seconds: 20, ...options });
      const done = await Promise.race([ff.exited, new Promise((r) => setTimeout(() => r(null), 15000))]);
      if (!done) await ff.stop('SIGKILL');
      assert.ok(done && done.code !== 0, `ffmpeg must fail for ${url.replace(/\/[^/]*$/, '/KEY')}: ${JSON.stringify(done)} ${ff.stderr()}`);
      if (pattern) assert.match(ff.stderr(), pattern);
      await pollUntil(async () => (await metric(server, 'chorus_rtmp_refused_total')) > before,
        { timeoutMs: 3000, what: 'the refusal counted' });
      await waitForNoPeers(server);
    };
    await refusals(`${base}/live/not.a.token`, /malformed/);
    await refusals(`${base}/${ROOM}/${sign({ sub: 'x', room: 'another-room', role: 'teacher' })}`, /does not cover/);
    // A student may not publish: the transport is made, the produce refused, the connection ended.
    await refusals(`${base}/live/${sign({ sub: 'student-1', room: ROOM, role: 'student' })}`);

    const observer = await connectPeer(server, { token: sign({ sub: 'observer', room: ROOM, role: 'teacher' }), channelId: ROOM });
    let ff;
    try {
      await observer.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const key = sign({ sub: 'teacher-obs', name: 'Ms T (OBS)', room: ROOM, role: 'teacher' });
      // The room comes from the token (it names one); the URL's app is the encoders' usual "live".
      ff = publishTestPattern(`${base}/live/${key}`, { seconds: 60 });
      const list = await nextParticipantList(observer, ['observer', 'teacher-obs'], 15000);
      assert.equal(list.data.find((p) => p.id === 'teacher-obs').name, 'Ms T (OBS)');
      const kinds = new Set();
      while (kinds.size < 2) {
        const np = await observer.nextOfType('new-producer', (m) => !kinds.has(m.data.kind), 15000);
        kinds.add(np.data.kind);
      }
      assert.deepEqual([...kinds].sort(), ['audio', 'video']);
      assert.equal(await metric(server, 'chorus_rtmp_ingests'), 1);
      // RTP flows from the ingest's FFmpeg into the producers (a second's worth of both).
      await pollUntil(async () => (await health(server)).producers === 2, { timeoutMs: 5000, what: 'two producers' });
      await pollUntil(async () => (await metric(server, 'chorus_rtp_packets_in_total')) > 100,
        { timeoutMs: 10000, intervalMs: 200, what: 'RTP from the ingest\'s FFmpeg' });
      // x264's default High profile is not what browsers receive: transcoded (rtmp.video auto).
      const children = ffmpegChildren(server.pid);
      assert.equal(children.length, 1, 'one FFmpeg child takes the stream');
      assert.match(children[0].args, /-c:v libx264 .*-profile:v baseline/);

      // The encoder stops (SIGINT: FFmpeg unpublishes): the participant leaves, its FFmpeg ends.
      await ff.stop('SIGINT');
      await observer.nextOfType('participant-left', (m) => m.data.peerId === 'teacher-obs', 10000);
      await pollUntil(() => ffmpegChildren(server.pid).length === 0, { timeoutMs: 8000, what: 'the ingest\'s FFmpeg gone' });
      assert.equal(await metric(server, 'chorus_rtmp_ingests'), 0);
    } finally {
      await ff?.stop('SIGKILL');
      await closeAll(observer);
    }
    await waitForNoPeers(server);
  });
});

test('RTMP: bytes that are not RTMP, and a broken chunk stream after the handshake, are closed and counted; the server carries on', { timeout: 60000 }, async () => {
  await withServer(['--log-level', 'warn', '--rtmp-listen', '127.0.0.1:0'], async (server) => {
    const port = rtmpPort(server);
    const closedAfter = (bytes) => new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
      const timer = setTimeout(() => { s.destroy(); reject(new Error('not closed within 5 s')); }, 5000);
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => { clearTimeout(timer); resolve(); });
    });
    const before = await metric(server, 'chorus_rtmp_refused_total');
    await closedAfter(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')); // version 'G'
    // A handshake, then a chunk stream that starts in a compressed format.
    const c0c1 = Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 7)]);
    await closedAfter(Buffer.concat([c0c1, Buffer.alloc(1536, 1), Buffer.from([0x43, 0, 0, 0, 0, 0, 1, 20, 5])]));
    await pollUntil(async () => (await metric(server, 'chorus_rtmp_refused_total')) >= before + 2,
      { timeoutMs: 3000, what: 'both counted' });
    assert.equal((await httpGet(`${server.url}/healthz`)).status, 200);
    await waitForNoPeers(server);
  });
});

test('RTMP: H.264 the room takes as it is (main, no B-frames) is passed through; rtmp.video copy refuses High', { skip, timeout: 60000 }, async () => {
  await withServer(['--log-level', 'info', '--rtmp-listen', '127.0.0.1:0', '--rtmp-video', 'copy'], async (server) => {
    const base = `rtmp://127.0.0.1:${rtmpPort(server)}`;
    const before = await metric(server, 'chorus_rtmp_refused_total');
    const high = publishTestPattern(`${base}/copy-room/key`, { seconds: 20 });
    const done = await Promise.race([high.exited, new Promise((r) => setTimeout(() => r(null), 15000))]);
    if (!done) await high.stop('SIGKILL');
    assert.ok(done && done.code !== 0, `High must be refused with rtmp.video copy: ${JSON.stringify(done)}`);
    await pollUntil(async () => (await metric(server, 'chorus_rtmp_refused_total')) > before, { timeoutMs: 3000, what: 'counted' });
    assert.match(server.stderr(), /cannot be passed through \(rtmp.video copy\): the router does not take its profile/);
    await waitForNoPeers(server);

    const main = publishTestPattern(`${base}/copy-room/key`, { seconds: 30, profile: 'main' });
    try {
      // The producers are made first, then the ingest's FFmpeg is started.
      await pollUntil(async () => (await health(server)).producers === 2, { timeoutMs: 10000, what: 'two producers' });
      await pollUntil(() => ffmpegChildren(server.pid).length === 1, { timeoutMs: 5000, what: 'the ingest\'s FFmpeg' });
      assert.match(ffmpegChildren(server.pid)[0].args, /-c:v copy -bsf:v h264_mp4toannexb/);
      await pollUntil(async () => (await metric(server, 'chorus_rtp_packets_in_total')) > 100,
        { timeoutMs: 10000, intervalMs: 200, what: 'RTP passed through' });
    } finally {
      await main.stop('SIGKILL');
    }
    await waitForNoPeers(server, { timeoutMs: 8000 });
    await pollUntil(() => ffmpegChildren(server.pid).length === 0, { timeoutMs: 8000, what: 'the ingest\'s FFmpeg gone' });
  });
});
