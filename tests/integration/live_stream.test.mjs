// A room's live stream when things go wrong, with the real composer (Debian's FFmpeg):
// - an RTMP server that is not there: each composer run fails at once, is reported
//   (live-stream-error ffmpeg-exited, webhook live-stream-failed) and restarted after a
//   growing backoff; the fifth short run in a row ends the stream (live-stream-stopped
//   { reason: "failed" }, webhook live-stream-stopped), counted in /metrics;
// - HLS whose composer is killed: it is restarted, the playlist goes on after a
//   discontinuity in the same file, and a stop ends it (#EXT-X-ENDLIST);
// - refusals: live streaming off, a student, a second start, a stop without a stream.
// The stage is empty (the composer shows black and mixes silence): nothing but the
// composer encodes.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ffmpegAvailable, ffmpegChildren } from './lib/ffmpeg.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { tempConfig, tempDir, withServer } from './lib/server.mjs';
import { connectPeer } from './lib/ws_client.mjs';
import { receiver } from './lib/webhook_receiver.mjs';

const skip = !ffmpegAvailable() && 'no ffmpeg';
const ROOM = 'lecture';

const metric = async (server, name) => parsePrometheus(await (await fetch(`${server.url}/metrics`)).text()).value(name);

// A participant of ROOM over the JSON dialect (auth mode none: the role asked for).
async function join(server, name, role) {
  const c = await connectPeer(server, { auth: name, channelId: ROOM, role });
  await c.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
  return c;
}

const hooksOf = (got, event) => got.filter((g) => g.headers['x-chorus-event'] === event).map((g) => JSON.parse(g.body));

test('live-stream to an RTMP server that is not there: restarted with backoff, then given up; failures in events, webhooks and /metrics', { timeout: 90000, skip }, async () => {
  const hooks = await receiver();
  const config = tempConfig({ live: { directory: tempDir('chorus-live-') }, webhooks: { urls: [hooks.url], key: 'k' } });
  await withServer(['--config', config, '--log-level', 'error'], async (server) => {
    const host = await join(server, 'host', 'teacher');
    const student = await join(server, 's1', 'student');
    try {
      assert.equal((await student.request('live-stream', { url: 'rtmp://127.0.0.1:1/live/k' })).data?.code, 'forbidden');
      assert.equal((await host.request('stop-live-stream', {})).data?.code, 'invalid-state');
      const stopped = student.nextOfType('live-stream-stopped', () => true, 60000);
      const reply = await host.expectReply('live-stream', { url: 'rtmp://127.0.0.1:1/live/secret' }, 'live-stream');
      const id = reply.data.liveStreamId;
      assert.equal((await host.request('live-stream', { hls: true })).data?.code, 'invalid-state');
      const ev = (await stopped).data;
      assert.equal(ev.liveStreamId, id);
      assert.equal(ev.reason, 'failed');
      const errors = student.take((m) => m.type === 'live-stream-error').map((m) => m.data);
      assert.deepEqual(errors.map((e) => e.reason), ['ffmpeg-exited', 'ffmpeg-exited', 'ffmpeg-exited', 'ffmpeg-exited', 'gave-up'],
        JSON.stringify(errors));
      assert.match(errors[0].message, /restarting in 500 ms/);
      assert.match(errors[3].message, /restarting in 4000 ms/);
      for (const e of errors) assert.equal(e.where, 'rtmp://127.0.0.1:1/live/...');
      await hooks.until((got) => hooksOf(got, 'live-stream-stopped').length === 1);
      assert.equal(hooksOf(hooks.got, 'live-stream-started').length, 1);
      assert.equal(hooksOf(hooks.got, 'live-stream-failed').length, 5);
      const last = hooksOf(hooks.got, 'live-stream-stopped')[0];
      const { cpuMs, ...stream } = last.liveStream;
      assert.deepEqual(stream, { id, target: 'rtmp', where: 'rtmp://127.0.0.1:1/live/...', reason: 'failed' });
      // The five composers' CPU time in all, as /metrics counted it.
      assert.ok(cpuMs > 0, JSON.stringify(last));
      assert.equal(await metric(server, 'chorus_live_stream_cpu_milliseconds_total'), cpuMs);
      assert.equal(last.room.id, ROOM);
      assert.ok(!hooks.got.some((g) => g.body.includes('secret')), 'the stream key stays in the server');
      assert.equal(await metric(server, 'chorus_live_stream_failures_total'), 5);
      assert.equal(await metric(server, 'chorus_live_streams'), 0);
      assert.deepEqual(ffmpegChildren(server.pid), []);
      // The room streams nothing now: a new start is taken.
      const again = await host.expectReply('live-stream', { hls: true }, 'live-stream');
      assert.notEqual(again.data.liveStreamId, id);
      await host.expectReply('stop-live-stream', {}, 'stop-live-stream', 15000);
    } finally {
      host.close();
      student.close();
      await hooks.close();
    }
  });
});

test('HLS whose composer is killed: restarted, the playlist goes on after a discontinuity, a stop ends it', { timeout: 90000, skip }, async () => {
  const liveDir = tempDir('chorus-live-');
  await withServer(['--config', tempConfig({ live: { directory: liveDir } }), '--log-level', 'error'], async (server) => {
    const host = await join(server, 'host', 'teacher');
    const playlist = `${server.url}/live/${ROOM}/index.m3u8`;
    const segments = async () => {
      const r = await fetch(playlist);
      return r.status === 200 ? ((await r.text()).match(/segment_\d+\.ts/g) ?? []).length : 0;
    };
    const waitFor = async (what, done, ms) => {
      const deadline = Date.now() + ms;
      while (!(await done())) {
        assert.ok(Date.now() < deadline, `${what} not within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    try {
      await host.expectReply('live-stream', { hls: true }, 'live-stream');
      await waitFor('two segments', async () => (await segments()) >= 2, 30000);
      const [composer] = ffmpegChildren(server.pid);
      assert.ok(composer, 'the composer runs');
      const error = host.nextOfType('live-stream-error', () => true, 10000);
      process.kill(composer.pid, 'SIGKILL');
      assert.equal((await error).data.reason, 'ffmpeg-exited');
      const before = await segments();
      await waitFor('two more segments from the new composer', async () => (await segments()) >= before + 2, 30000);
      const [next] = ffmpegChildren(server.pid);
      assert.notEqual(next.pid, composer.pid);
      const stop = await host.expectReply('stop-live-stream', {}, 'stop-live-stream', 15000);
      assert.ok(stop.data.liveStreamId);
      const text = await (await fetch(playlist)).text();
      assert.match(text, /#EXT-X-DISCONTINUITY\n#EXTINF/);
      assert.match(text, /#EXT-X-ENDLIST\s*$/);
      const listed = text.match(/segment_(\d+)\.ts/g);
      assert.equal(new Set(listed).size, listed.length, 'the new composer numbers its segments after the old ones');
      for (const name of listed) assert.equal((await fetch(`${server.url}/live/${ROOM}/${name}`)).status, 200);
      assert.deepEqual(ffmpegChildren(server.pid), []);
    } finally {
      host.close();
    }
  });
});

test('live-stream is refused while live.directory is empty', { timeout: 30000, skip }, async () => {
  await withServer(['--log-level', 'error'], async (server) => {
    const host = await join(server, 'host', 'teacher');
    try {
      const r = await host.request('live-stream', { hls: true });
      assert.equal(r.data?.code, 'invalid-state');
      assert.match(r.data?.message, /live\.directory/);
      assert.equal((await fetch(`${server.url}/live/${ROOM}/index.m3u8`)).status, 404);
    } finally {
      host.close();
    }
  });
});
