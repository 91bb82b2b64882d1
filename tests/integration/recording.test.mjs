// Recording in the server (actors/media_recorder.hpp) with real media: two participants
// publish Opus and VP8 through libwebrtc (@roamhq/wrtc under mediasoup-client, each in a
// process of its own), a teacher starts the recording, one participant leaves and rejoins,
// one ffmpeg child is killed (and must be restarted, the gap in the manifest), the
// recording stops. Every file must exist, hold the codec ffprobe expects, last as long as
// the manifest says (within 1 s), decode without errors, and sit at the offset the test
// observed; scripts/mix-recording.sh turns the manifest into one file. Also: the `record`
// permission, a full disk (reported, the class goes on), recording.autoStart, a child that
// leaves no file (listed without media); in a cluster, the room's home recording a remote
// publisher, and the recording going on at the room's next home when its home is killed
// (one manifest: both parts and the gap, then the mix).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { homeOf, roomHomedOn, withNodes } from './lib/cluster.mjs';
import { decodeErrors, ffmpegAvailable, ffmpegChildren, firstVideoPacketFlags, probe, startFfmpeg } from './lib/ffmpeg.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT, runProcess, tempConfig, tempDir, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { publisherProcess } from './lib/wrtc_publisher.mjs';

const skip = ffmpegAvailable() ? false : 'ffmpeg/ffprobe not installed (scripts/setup.sh installs them)';

// A consumer of `producerId` on a plain transport of `peer`, sent to a UDP socket of the
// test that notes when each RTP packet arrives (RTCP, payload types 72-76, is left out).
async function plainViewer(peer, producerId) {
  const caps = (await peer.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities')).data;
  const t = (await peer.expectReply('create-plain-transport', { comedia: false }, 'create-plain-transport')).data;
  const c = await peer.expectReply('consume', { transportId: t.id, producerId, rtpCapabilities: caps, paused: true }, 'consumer-params');
  const socket = dgram.createSocket('udp4');
  const arrivals = [];
  socket.on('message', (m) => {
    if (m.length >= 12 && ((m[1] & 0x7f) < 72 || (m[1] & 0x7f) > 76)) arrivals.push(Date.now());
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  await peer.expectReply('connect-plain-transport', { transportId: t.id, ip: '127.0.0.1', port: socket.address().port }, 'connect-plain-transport');
  await peer.expectReply('resume-consumer', { consumerId: c.data.id }, 'resume-consumer');
  return { arrivals, close: () => socket.close() };
}

// Lets media flow for `ms` (the length of what is recorded, not a synchronisation).
const record = (ms) => new Promise((r) => setTimeout(r, ms));

// The directory of a room's one recording under `root` (recording.directory), once it is
// there; null before.
function recordingDirOf(root, room) {
  const roomDir = path.join(root, room);
  const [d] = fs.existsSync(roomDir) ? fs.readdirSync(roomDir) : [];
  return d ? path.join(roomDir, d) : null;
}

// Waits (bounded) until `count` media files of a room's one recording whose names start
// with `prefix` have begun: ffmpeg writes nothing until it has analysed its input (up to
// 2 s of it, longer under the sanitizers or on a loaded machine).
async function filesBegun(config, room, prefix, count, what) {
  const root = JSON.parse(fs.readFileSync(config, 'utf8')).recording.directory;
  await pollUntil(() => {
    const dir = recordingDirOf(root, room);
    if (!dir) return false;
    const begun = fs.readdirSync(dir).filter((f) => f.startsWith(prefix) &&
      /\.(webm|mkv)$/.test(f) && fs.statSync(path.join(dir, f)).size > 0);
    return begun.length >= count;
  }, { timeoutMs: 15000, intervalMs: 100, what });
}

function recordingConfig(extra = {}) {
  const dir = tempDir('chorus-rec-');
  return { dir, config: tempConfig({ recording: { directory: dir, ...extra } }) };
}

test('a class recorded: leave and rejoin, a killed ffmpeg restarted, files that ffprobe and decode accept, the manifest, the mix', { skip, timeout: 240000 }, async () => {
  const { config } = recordingConfig();
  await withServer(['--config', config], async (server) => {
    const room = 'lecture';
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: room });
    let alice, bob, watcher;
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      // One after the other: a start that fails leaves no child that finally cannot stop.
      alice = await publisherProcess(server, 'alice', room);
      bob = await publisherProcess(server, 'bob', room);
      // A live viewer of alice's camera (a consumer on a plain transport toward a UDP socket
      // of the test): the class's media, which her recorder's crash must not touch.
      watcher = await plainViewer(teacher, alice.video);
      await pollUntil(() => watcher.arrivals.length > 30, { timeoutMs: 15000, what: 'alice\'s video at the live viewer' });

      const t0 = Date.now();
      const started = await teacher.expectReply('start-recording', {}, 'start-recording');
      const recordingId = started.data.recordingId;
      assert.match(recordingId, /^[0-9a-f-]{36}$/);
      const ev = await teacher.nextOfType('recording-started', () => true, 3000);
      assert.equal(ev.data.recordingId, recordingId);
      assert.equal(ev.data.by, 'teacher');
      await teacher.expectError('start-recording', {}, 'invalid-state');
      await pollUntil(() => ffmpegChildren(server.pid).length === 4, { timeoutMs: 10000, intervalMs: 100, what: 'four ffmpeg children' });
      await record(4000);

      // Bob leaves and comes back: his new producers are new files.
      const left = teacher.nextOfType('participant-left', (m) => m.data?.peerId === 'bob', 10000);
      await bob.kill();
      await left;
      const tLeft = Date.now();
      bob = await publisherProcess(server, 'bob', room);
      const tBack = Date.now();
      await record(3000);

      // Alice's camera recorder dies: reported, restarted into a new file.
      const cams = ffmpegChildren(server.pid).filter((c) => c.args.includes('_alice_webcam_'));
      assert.equal(cams.length, 1, JSON.stringify(ffmpegChildren(server.pid)));
      const errorEvent = teacher.nextOfType('recording-error', (m) => m.data?.reason === 'ffmpeg-exited', 10000);
      process.kill(cams[0].pid, 'SIGKILL');
      const tKilled = Date.now();
      const err = await errorEvent;
      assert.equal(err.data.recordingId, recordingId);
      await pollUntil(
        () => ffmpegChildren(server.pid).some((c) => c.args.includes('_alice_webcam_') && c.pid !== cams[0].pid),
        { timeoutMs: 10000, intervalMs: 100, what: 'the restarted ffmpeg' },
      );
      // The restarted child's file (from a keyframe the recorder asks for) has begun before
      // the 4 s: the killed one's and its own.
      await filesBegun(config, room, `${room}_alice_webcam_`, 2, 'the restarted recording file begun');
      await record(4000);
      // The live viewer got alice's camera all along: from 1 s before the crash to 3 s after
      // it, no gap of 500 ms (30 frames/s: several packets every 100 ms).
      const around = watcher.arrivals.filter((t) => t >= tKilled - 1000 && t <= tKilled + 3000);
      assert.ok(around.length > 60, `live viewer: ${around.length} packets around the crash`);
      const worstGap = Math.max(...around.slice(1).map((t, i) => t - around[i]));
      assert.ok(worstGap < 500, `live viewer: a gap of ${worstGap} ms around the crash`);

      const stoppedEvent = teacher.nextOfType('recording-stopped', () => true, 20000);
      const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 20000);
      const tStop = Date.now();
      const manifestPath = stopped.data.manifest;
      assert.ok(fs.existsSync(manifestPath), manifestPath);
      const sev = await stoppedEvent;
      assert.equal(sev.data.manifestPath, manifestPath);
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      assert.deepEqual(sev.data.manifest, manifest, 'the event carries the manifest');
      assert.equal(manifest.recordingId, recordingId);
      assert.equal(manifest.roomId, room);
      await teacher.expectError('stop-recording', {}, 'invalid-state');
      assert.equal(ffmpegChildren(server.pid).length, 0, 'every child stopped');

      // Tracks: alice mic + webcam, bob's first mic + webcam, bob's second mic + webcam.
      const tracksOf = (peer, source) => manifest.tracks.filter((t) => t.peerId === peer && t.source === source);
      assert.equal(tracksOf('alice', 'mic').length, 1);
      assert.equal(tracksOf('alice', 'webcam').length, 1);
      assert.equal(tracksOf('bob', 'mic').length, 2, JSON.stringify(manifest.tracks));
      assert.equal(tracksOf('bob', 'webcam').length, 2);
      const dir = path.dirname(manifestPath);
      const tol = 1000;
      const totalMs = tStop - t0;
      for (const t of manifest.tracks) {
        assert.equal(t.codec.toLowerCase(), t.kind === 'audio' ? 'audio/opus' : 'video/vp8');
        for (const s of t.segments) {
          assert.ok(s.hasMedia, `${t.peerId} ${t.source}: ${JSON.stringify(s)}`);
          const file = path.join(dir, s.file);
          assert.ok(fs.existsSync(file), file);
          assert.match(s.file, new RegExp(`^lecture_${t.peerId}_${t.source}_\\d{8}T\\d{6}\\.\\d{3}Z\\.webm$`));
          if (s.ended === 'ffmpeg-exited') continue; // killed: no trailer (checked below)
          const info = await probe(file);
          const stream = info.streams[0];
          assert.equal(stream.codec_name, t.kind === 'audio' ? 'opus' : 'vp8', file);
          const seconds = Number(info.format.duration);
          assert.ok(Math.abs(seconds * 1000 - s.durationMs) <= tol, `${s.file}: ffprobe ${seconds} s, manifest ${s.durationMs} ms`);
          assert.equal(await decodeErrors(file), '', `${s.file} decodes cleanly`);
        }
        // Every video file starts with a keyframe (the recorder asks for one at each start,
        // the restarted one included), so each plays from its first frame.
        if (t.kind === 'video')
          for (const s of t.segments) assert.match(await firstVideoPacketFlags(path.join(dir, s.file)), /^K/, `${s.file} starts with a keyframe`);
      }
      // Offsets and durations against what the test saw.
      // Her first media reaches the file once ffmpeg has started and bound its port: 0.4-1.1 s
      // after the start on the machines this ran on (2.3 s under the sanitizer beside other
      // tests on a slower one). Her file then runs to the stop: its start offset plus its
      // duration is the recording's length as the test saw it.
      const [aliceMic] = tracksOf('alice', 'mic');
      const aliceSeg = aliceMic.segments[0];
      assert.ok(aliceSeg.startOffsetMs < 3500, JSON.stringify(aliceMic));
      assert.ok(Math.abs(aliceSeg.startOffsetMs + aliceSeg.durationMs - totalMs) <= 1000,
        `alice's mic from ${aliceSeg.startOffsetMs} ms for ${aliceSeg.durationMs} ms of ${totalMs}`);
      const [bobMic1, bobMic2] = tracksOf('bob', 'mic').sort((a, b) => a.segments[0].startOffsetMs - b.segments[0].startOffsetMs);
      const end1 = bobMic1.segments[0].startOffsetMs + bobMic1.segments[0].durationMs;
      assert.ok(Math.abs(end1 - (tLeft - t0)) <= 1000, `bob's first mic ends at ${end1}, he left at ${tLeft - t0}`);
      assert.equal(bobMic1.segments[0].ended, 'producer-closed');
      // Back, his new file starts once its ffmpeg has started (as alice's above).
      const bobBack = bobMic2.segments[0].startOffsetMs - (tBack - t0);
      assert.ok(bobBack >= -1000 && bobBack < 2000, `bob's second mic starts at ${bobMic2.segments[0].startOffsetMs}, back at ${tBack - t0}`);
      // The killed camera: two segments with a gap; the first ended by the crash.
      const [cam] = tracksOf('alice', 'webcam');
      assert.equal(cam.segments.length, 2, JSON.stringify(cam));
      const [c1, c2] = cam.segments;
      assert.equal(c1.ended, 'ffmpeg-exited');
      assert.ok(Math.abs(c1.startOffsetMs + c1.durationMs - (tKilled - t0)) <= 1000, `crash at ${tKilled - t0}: ${JSON.stringify(c1)}`);
      assert.ok(c2.startOffsetMs > c1.startOffsetMs + c1.durationMs, `a gap: ${JSON.stringify(cam.segments)}`);
      assert.equal(c2.ended, 'stopped');
      const crashed = await probe(path.join(dir, c1.file), { countFrames: true });
      assert.ok(Number(crashed.streams[0].nb_read_frames) > 30, 'the crashed segment holds frames');
      assert.ok(manifest.errors.some((e) => e.includes('ffmpeg-exited')), JSON.stringify(manifest.errors));

      // The class went on: alice's mic (never interrupted) spans the whole recording in one file.
      assert.equal(aliceMic.segments.length, 1);

      // The mix: one file, the speakers side by side, the audio mixed.
      const mixed = path.join(dir, 'mixed.mkv');
      const mix = await runProcess(path.join(REPO_ROOT, 'scripts/mix-recording.sh'), [manifestPath, mixed], { timeoutMs: 180000 });
      assert.equal(mix.code, 0, mix.stderr);
      const m = await probe(mixed);
      const mv = m.streams.find((s) => s.codec_type === 'video');
      const ma = m.streams.find((s) => s.codec_type === 'audio');
      assert.ok(mv && ma, JSON.stringify(m.streams));
      assert.ok(mv.width >= 640, `side by side: ${mv.width}x${mv.height}`);
      assert.ok(Math.abs(Number(m.format.duration) * 1000 - manifest.durationMs) <= 1500, `mixed ${m.format.duration} s, recording ${manifest.durationMs} ms`);
    } finally {
      watcher?.close();
      await alice?.kill();
      await bob?.kill();
      await closeAll(teacher);
    }
  });
});

test('recording: the record permission, recording off, a full disk, autoStart', { skip, timeout: 60000 }, async () => {
  // Without recording.directory: refused with a clear reason.
  await withServer([], async (server) => {
    const c = await connectPeer(server, { auth: 't', channelId: 'off' });
    try {
      await c.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const r = await c.expectError('start-recording', {}, 'invalid-state');
      assert.match(r.data.message, /recording\.directory/);
    } finally {
      await closeAll(c);
    }
  });
  // minFreeMb beyond any disk: disk-full reported at once, the class goes on, the manifest
  // says so.
  const { config } = recordingConfig({ minFreeMb: 10000000 });
  await withServer(['--config', config], async (server) => {
    const mod = await connectPeer(server, { auth: 'mod', channelId: 'full', role: 'moderator' });
    const t = await connectPeer(server, { auth: 't', channelId: 'full', role: 'teacher' });
    let alice;
    try {
      await mod.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await t.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await mod.expectError('start-recording', {}, 'forbidden');
      alice = await publisherProcess(server, 'alice', 'full');
      const full = t.nextOfType('recording-error', (m) => m.data?.reason === 'disk-full', 5000);
      await t.expectReply('start-recording', {}, 'start-recording');
      await full;
      await pollUntil(() => ffmpegChildren(server.pid).length === 0, { timeoutMs: 10000, intervalMs: 100, what: 'children stopped' });
      const info = await t.expectReply('get-room-info', {}, 'get-room-info');
      assert.ok(info.data.participants.some((p) => p.id === 'alice'), 'the class goes on');
      const stopped = await t.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
      assert.ok(manifest.errors.some((e) => e.includes('disk-full')), JSON.stringify(manifest));
    } finally {
      await alice?.kill();
      await closeAll(mod, t);
    }
  });
  // autoStart: the first producer starts the room's recording.
  const auto = recordingConfig({ autoStart: true });
  await withServer(['--config', auto.config], async (server) => {
    const t = await connectPeer(server, { auth: 't', channelId: 'auto' });
    let alice;
    try {
      await t.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const started = t.nextOfType('recording-started', () => true, 20000);
      alice = await publisherProcess(server, 'alice', 'auto');
      const ev = await started;
      assert.ok(ev.data.recordingId);
      await pollUntil(() => ffmpegChildren(server.pid).length === 2, { timeoutMs: 10000, intervalMs: 100, what: 'two children' });
      const stopped = await t.expectReply('stop-recording', {}, 'stop-recording', 15000);
      assert.ok(fs.existsSync(stopped.data.manifest));
    } finally {
      await alice?.kill();
      await closeAll(t);
    }
    // A class that ends while it records (everyone leaves): the recording ends with the
    // room, and so do its consumers and transports: the server's actors are as before.
    const actors = async () => (await httpGet(`${server.url}/healthz`)).json.actors;
    await pollUntil(async () => (await httpGet(`${server.url}/healthz`)).json.rooms === 0, { timeoutMs: 5000, intervalMs: 50, what: 'the first class closed' });
    const idle = await actors();
    const t2 = await connectPeer(server, { auth: 't2', channelId: 'auto-ends' });
    let bob;
    try {
      await t2.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      bob = await publisherProcess(server, 'bob', 'auto-ends');
      await pollUntil(() => ffmpegChildren(server.pid).length === 2, { timeoutMs: 10000, intervalMs: 100, what: 'two children' });
    } finally {
      await bob?.kill();
      await closeAll(t2);
    }
    await pollUntil(async () => (await actors()) === idle && ffmpegChildren(server.pid).length === 0,
      { timeoutMs: 10000, intervalMs: 100, what: `actors back to ${idle} and no recorder child once the class ended` });
  });
});

// The real ffmpeg with its output sent to a pipe nobody keeps: a child that gets every packet
// and leaves no file, as one stopped while it still analyses its input does. Its segments
// must be listed without media, so that nothing (the mix) is handed a file that is not there.
test('recording: a child that leaves no file: its segments are listed without media', { skip, timeout: 60000 }, async () => {
  const wrapper = path.join(tempDir('chorus-ffmpeg-'), 'ffmpeg-no-file');
  fs.writeFileSync(wrapper, '#!/bin/bash\nexec ffmpeg "${@:1:$#-1}" pipe:1 >/dev/null\n', { mode: 0o755 });
  const { dir, config } = recordingConfig({ ffmpeg: wrapper });
  await withServer(['--config', config], async (server) => {
    const t = await connectPeer(server, { auth: 't', channelId: 'nofile' });
    let alice;
    try {
      await t.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      alice = await publisherProcess(server, 'alice', 'nofile');
      await t.expectReply('start-recording', {}, 'start-recording');
      // The manifest of a running recording says, every 2 s, which children packets reached.
      const reached = () => {
        const recDir = recordingDirOf(dir, 'nofile');
        const file = recDir && path.join(recDir, 'manifest.json');
        if (!file || !fs.existsSync(file)) return false;
        const m = JSON.parse(fs.readFileSync(file, 'utf8'));
        return m.tracks.length === 2 && m.tracks.every((tr) => tr.segments.at(-1)?.hasMedia);
      };
      await pollUntil(reached, { timeoutMs: 15000, intervalMs: 100, what: 'packets reached both children' });
      const stopped = await t.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
      const segments = manifest.tracks.flatMap((tr) => tr.segments);
      assert.equal(segments.length, 2, JSON.stringify(manifest.tracks));
      for (const seg of segments) {
        assert.ok(!fs.existsSync(path.join(path.dirname(stopped.data.manifest), seg.file)), seg.file);
        assert.deepEqual([seg.hasMedia, seg.durationMs, seg.startOffsetMs, seg.ended], [false, 0, 0, 'stopped'], JSON.stringify(seg));
      }
    } finally {
      await alice?.kill();
      await closeAll(t);
    }
  });
});

// A real full disk: the recording directory is a tmpfs of 1200 KB (root mounts it; the
// suite runs as root for its network namespaces). With recording.minFreeMb 1 the recorder
// sees the free space fall under 1 MB a few seconds into the class, reports disk-full and
// stops its children; the class goes on (a live viewer keeps receiving), and once files are
// removed the recording resumes into new files; the manifest fits in what is left.
function mountTmpfs(dir, size) {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (e) {
    return String(e.stderr || e.message);
  }
}

test('recording on a real full disk (a small tmpfs): reported, the class goes on, resumed when there is room', { skip, timeout: 90000 }, async (t) => {
  const dir = tempDir('chorus-rec-full-');
  const mounted = mountTmpfs(dir, '1200k');
  if (mounted !== true) {
    t.skip(`cannot mount a tmpfs here (${mounted.trim()}): needs root`);
    return;
  }
  try {
    const config = tempConfig({ recording: { directory: dir, minFreeMb: 1 } });
    await withServer(['--config', config], async (server) => {
      const teacher = await connectPeer(server, { auth: 'teacher', channelId: 'full' });
      let alice, watcher;
      try {
        await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
        alice = await publisherProcess(server, 'alice', 'full');
        watcher = await plainViewer(teacher, alice.video);
        const full = teacher.nextOfType('recording-error', (m) => m.data?.reason === 'disk-full', 40000);
        await teacher.expectReply('start-recording', {}, 'start-recording');
        const ev = await full;
        const tFull = Date.now();
        assert.match(ev.data.message ?? JSON.stringify(ev.data), /free|minFreeMb|disk/i);
        await pollUntil(() => ffmpegChildren(server.pid).length === 0, { timeoutMs: 10000, intervalMs: 100, what: 'children stopped on the full disk' });
        // The class goes on: the live viewer keeps getting alice's camera after the disk filled.
        await pollUntil(() => watcher.arrivals.filter((x) => x > tFull + 500).length > 30, { timeoutMs: 10000, what: 'media after the disk filled' });
        // Room again: the recorder starts new files (checked once a second).
        for (const f of fs.readdirSync(dir, { recursive: true })) if (f.endsWith('.webm')) fs.rmSync(path.join(dir, f));
        await pollUntil(() => ffmpegChildren(server.pid).length === 2, { timeoutMs: 15000, intervalMs: 100, what: 'the recording resuming' });
        const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 15000);
        const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
        assert.ok(manifest.errors.some((e) => e.includes('disk-full')), JSON.stringify(manifest.errors));
        const cam = manifest.tracks.find((x) => x.peerId === 'alice' && x.kind === 'video');
        assert.ok(cam && cam.segments.length >= 2, JSON.stringify(manifest.tracks));
        assert.equal(cam.segments[0].ended, 'disk-full');
      } finally {
        watcher?.close();
        await alice?.kill();
        await closeAll(teacher);
      }
    });
  } finally {
    execFileSync('umount', [dir]);
  }
});

test('cluster: the room\'s home node records a participant who publishes on another node (through its relay)', { skip, timeout: 120000 }, async () => {
  const dirs = {};
  await withNodes(async (nodes) => {
    const mesh = await nodes.mesh((id) => {
      const { dir, config } = recordingConfig();
      dirs[id] = dir;
      return ['--config', config];
    });
    const room = 'cluster-lecture';
    const teacher = await connectPeer(mesh[0], { auth: 'teacher', channelId: room });
    let alice;
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const rooms = await Promise.all(mesh.map(async (n) => (await httpGet(`${n.url}/healthz`)).json.rooms));
      const home = mesh[rooms.indexOf(1)];
      assert.ok(home, JSON.stringify(rooms));
      // Alice publishes on a node that is not the room's home.
      const away = mesh.find((n) => n !== home);
      alice = await publisherProcess(away, 'alice', room);
      const started = await teacher.expectReply('start-recording', {}, 'start-recording', 5000);
      assert.ok(started.data.recordingId);
      // Recorded from the start: the home node's two children (audio, video) are running.
      await pollUntil(() => ffmpegChildren(home.pid).length === 2, { timeoutMs: 10000, intervalMs: 100, what: 'two recorder children on the home node' });
      await record(3000);
      const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 20000);
      const manifestPath = stopped.data.manifest;
      assert.ok(fs.existsSync(manifestPath), manifestPath);
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      assert.equal(manifest.tracks.length, 2, JSON.stringify(manifest));
      for (const t of manifest.tracks) {
        assert.equal(t.peerId, 'alice');
        assert.ok(t.node, `a remote producer names its node: ${JSON.stringify(t)}`);
        const [seg] = t.segments;
        assert.ok(seg.hasMedia, JSON.stringify(t));
        const info = await probe(path.join(path.dirname(manifestPath), seg.file));
        assert.equal(info.streams[0].codec_name, t.kind === 'audio' ? 'opus' : 'vp8');
        assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, `${seg.file}: ${info.format.duration} s vs ${seg.durationMs} ms`);
      }
      // The files are on the home node's recording.directory.
      const homeDir = Object.values(dirs).find((d) => manifestPath.startsWith(d));
      assert.ok(homeDir, manifestPath);
    } finally {
      await alice?.kill();
      await closeAll(teacher);
    }
  });
});

// Three nodes sharing one recording directory, a room homed on node-a with the teacher on
// node-b and a libwebrtc publisher on node-c, recording for 3 s on node-a; then `body`
// with { a, next (the room's next home), teacher, recordingId }.
async function recordingOnNodeA(prefix, body) {
  const { dir, config } = recordingConfig();
  await withNodes(async (nodes) => {
    const [a, b, c] = await nodes.mesh(() => ['--config', config]);
    const room = roomHomedOn(prefix, 'node-a', ['node-a', 'node-b', 'node-c']);
    const next = homeOf(room, ['node-b', 'node-c']) === 'node-b' ? b : c;
    const teacher = await connectPeer(b, { auth: 'teacher', channelId: room });
    let alice;
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      assert.equal((await httpGet(`${a.url}/healthz`)).json.rooms, 1, 'the room is not homed on node-a');
      alice = await publisherProcess(c, 'alice', room);
      const started = await teacher.expectReply('start-recording', {}, 'start-recording', 5000);
      await pollUntil(() => ffmpegChildren(a.pid).length === 2, { timeoutMs: 10000, intervalMs: 100, what: 'two recorder children on node-a' });
      await record(3000);
      await body({ nodes, dir, a, next, teacher, recordingId: started.data.recordingId });
    } finally {
      await alice?.kill();
      await closeAll(teacher);
    }
  });
}

// The room's home is SIGKILLed while it records: the room's next home goes on recording
// within seconds, into the same directory (recording.directory is shared by the three
// nodes, as on shared storage). One manifest holds each track's segments from both homes
// (the first part's ending "home-lost": its ffmpeg children wrote their trailer on the
// server's death) and the gap between them; scripts/mix-recording.sh makes one file of it.
test('cluster: the room\'s home killed while recording: the recording goes on at the next home; one manifest with both parts and the gap; the mix', { skip, timeout: 180000 }, async () => {
  await recordingOnNodeA('rec-crash', async ({ nodes, dir, a, next, teacher, recordingId }) => {
    const orphans = ffmpegChildren(a.pid).map((x) => x.pid);
    const killed = Date.now();
    await nodes.kill(a);
    await pollUntil(() => ffmpegChildren(next.pid).length === 2, { timeoutMs: 10000, intervalMs: 50, what: `two recorder children on ${next.url}` });
    const resumedMs = Date.now() - killed;
    process.stderr.write(`recording: going on at the next home ${resumedMs} ms after the kill\n`);
    assert.ok(resumedMs < 5000, `the recording went on ${resumedMs} ms after the kill`);
    await record(3000);
    const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 20000);
    // node-a's children end on their own: their parent's death signals them, and what
    // they wrote is in their files (flushed packet by packet, in clusters of a second).
    // A child that has ended may stay a zombie of whichever process adopted it.
    const alive = (pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] !== 'Z';
      } catch {
        return false;
      }
    };
    await pollUntil(() => orphans.every((pid) => !alive(pid)), { timeoutMs: 30000, intervalMs: 100, what: 'node-a\'s recorder children ending' });
    process.stderr.write(`recording: node-a's children ended ${Date.now() - killed} ms after the kill\n`);
    const manifestPath = stopped.data.manifest;
    assert.ok(manifestPath.startsWith(dir), manifestPath);
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    assert.equal(manifest.recordingId, recordingId);
    assert.equal(manifest.gaps?.length, 1, JSON.stringify(manifest));
    const [gap] = manifest.gaps;
    assert.equal(gap.node, 'node-a');
    assert.ok(gap.fromMs >= 2000 && gap.fromMs < gap.toMs && gap.toMs - gap.fromMs < 8000, JSON.stringify(gap));
    assert.equal(manifest.tracks.length, 2, JSON.stringify(manifest));
    for (const t of manifest.tracks) {
      const media = t.segments.filter((seg) => seg.hasMedia);
      assert.ok(media.length >= 2, JSON.stringify(t));
      assert.equal(media[0].ended, 'home-lost', JSON.stringify(t));
      assert.ok(media[0].startOffsetMs + media[0].durationMs <= gap.fromMs + 100, JSON.stringify({ t, gap }));
      const last = media[media.length - 1];
      assert.equal(last.ended, 'stopped', JSON.stringify(t));
      assert.ok(last.startOffsetMs >= gap.toMs - 100, JSON.stringify({ t, gap }));
      for (const seg of [media[0], last]) {
        const info = await probe(path.join(path.dirname(manifestPath), seg.file));
        assert.equal(info.streams[0].codec_name, t.kind === 'audio' ? 'opus' : 'vp8', seg.file);
      }
    }
    const mixed = path.join(dir, 'mixed-crash.mkv');
    const mix = await runProcess(path.join(REPO_ROOT, 'scripts/mix-recording.sh'), [manifestPath, mixed], { timeoutMs: 180000 });
    assert.equal(mix.code, 0, mix.stderr);
    const m = await probe(mixed);
    assert.ok(m.streams.some((x) => x.codec_type === 'video') && m.streams.some((x) => x.codec_type === 'audio'), JSON.stringify(m.streams));
    assert.ok(Math.abs(Number(m.format.duration) * 1000 - manifest.durationMs) <= 1500, `mixed ${m.format.duration} s, recording ${manifest.durationMs} ms`);
  });
});

test('cluster: the room\'s home stops (SIGTERM) while recording: the recording goes on at the next home; the old part ends home-changed; one manifest with the gap', { skip, timeout: 180000 }, async () => {
  await recordingOnNodeA('rec-move', async ({ a, next, teacher, recordingId }) => {
    const stopping = Date.now();
    const result = await a.stop({ signal: 'SIGTERM' });
    assert.equal(result.code, 0, a.stderr().slice(-3000));
    assert.match(a.stderr(), /the room moves; the recording goes on at its new home/);
    await pollUntil(() => ffmpegChildren(next.pid).length === 2, { timeoutMs: 10000, intervalMs: 50, what: `two recorder children on ${next.url}` });
    const movedMs = Date.now() - stopping;
    process.stderr.write(`recording: going on at the next home ${movedMs} ms after the SIGTERM\n`);
    await record(3000);
    const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 20000);
    const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
    assert.equal(manifest.recordingId, recordingId);
    assert.deepEqual(manifest.gaps?.map((g) => [g.node, g.reason]), [['node-a', 'home-changed']], JSON.stringify(manifest.gaps));
    const [gap] = manifest.gaps;
    // A move's parts may overlap by a few ms: then the gap is a seam (from = to).
    assert.ok(gap.fromMs >= 2000 && gap.fromMs <= gap.toMs && gap.toMs - gap.fromMs < 5000, JSON.stringify(gap));
    assert.equal(manifest.tracks.length, 2, JSON.stringify(manifest));
    for (const t of manifest.tracks) {
      const media = t.segments.filter((seg) => seg.hasMedia);
      assert.ok(media.length >= 2, JSON.stringify(t));
      assert.equal(media[0].ended, 'home-changed', JSON.stringify(t));
      assert.equal(media[media.length - 1].ended, 'stopped', JSON.stringify(t));
      for (const seg of [media[0], media[media.length - 1]]) {
        const info = await probe(path.join(path.dirname(stopped.data.manifest), seg.file));
        assert.equal(info.streams[0].codec_name, t.kind === 'audio' ? 'opus' : 'vp8', seg.file);
      }
    }
    assert.ok(manifest.stoppedAtMs > manifest.startedAtMs + 5000, 'the stop of the recording, not of node-a\'s part');
  });
});

// VP9 (libwebrtc's packetizer, as Chrome's: picture ids, layer indices, the scalability
// structure): Debian 12's FFmpeg reads VP9 over RTP only experimentally, so Chorus
// depacketizes it (rtp/vp9_frames.hpp) and hands its ffmpeg child IVF on a pipe, which it
// writes to WebM without transcoding.
test('a VP9 producer is recorded to WebM (depacketized by Chorus, IVF to ffmpeg): ffprobe and a decode accept it', { skip, timeout: 90000 }, async () => {
  const { config } = recordingConfig();
  await withServer(['--config', config], async (server) => {
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: 'vp9' });
    let nine;
    try {
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      nine = await publisherProcess(server, 'nine', 'vp9', 20000, { videoCodec: 'vp9' });
      await teacher.expectReply('start-recording', {}, 'start-recording');
      await pollUntil(() => ffmpegChildren(server.pid).length === 2, { timeoutMs: 10000, intervalMs: 100, what: 'two recorders' });
      const children = ffmpegChildren(server.pid);
      assert.equal(children.filter((c) => /-f ivf -i pipe:0/.test(c.args)).length, 1, JSON.stringify(children));
      const t0 = Date.now();
      await record(5000);
      const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 15000);
      const totalMs = Date.now() - t0;
      const manifestPath = stopped.data.manifest;
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      assert.deepEqual(manifest.errors, []);
      assert.equal(manifest.tracks.length, 2, JSON.stringify(manifest.tracks));
      const video = manifest.tracks.find((t) => t.kind === 'video');
      assert.equal(video.codec.toLowerCase(), 'video/vp9');
      assert.equal(video.segments.length, 1);
      const seg = video.segments[0];
      assert.ok(seg.hasMedia, JSON.stringify(seg));
      assert.match(seg.file, /^vp9_nine_webcam_.*\.webm$/);
      const file = path.join(path.dirname(manifestPath), seg.file);
      const info = await probe(file, { countFrames: true });
      assert.equal(info.format.format_name, 'matroska,webm');
      const stream = info.streams[0];
      assert.equal(stream.codec_name, 'vp9');
      assert.equal(stream.width, 320);
      assert.equal(stream.height, 240);
      assert.ok(Number(stream.nb_read_frames) > 60, `frames: ${stream.nb_read_frames}`);
      assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, `${info.format.duration} s vs ${seg.durationMs} ms`);
      assert.ok(Math.abs(seg.durationMs - totalMs) <= 1500, `${seg.durationMs} ms recorded of ${totalMs}`);
      assert.match(await firstVideoPacketFlags(file), /^K/, 'starts with a keyframe');
      assert.equal(await decodeErrors(file), '', 'decodes cleanly');
      const audio = manifest.tracks.find((t) => t.kind === 'audio');
      assert.equal((await probe(path.join(path.dirname(manifestPath), audio.segments[0].file))).streams[0].codec_name, 'opus');
    } finally {
      await nine?.kill();
      await closeAll(teacher);
    }
  });
});

// Codecs from FFmpeg over plain RTP, each to its container without transcoding: H264 to
// Matroska (VP8 and Opus to WebM: the libwebrtc class above; VP9 from libwebrtc above).
const INGESTS = [
  {
    name: 'H264', room: 'h264', ext: /\.mkv$/, codecName: 'h264',
    codec: { mimeType: 'video/H264', payloadType: 102, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 } },
    encode: ['-c:v', 'libx264', '-profile:v', 'baseline', '-level', '3.1', '-tune', 'zerolatency', '-preset', 'ultrafast', '-g', '30', '-bf', '0', '-pix_fmt', 'yuv420p'],
  },
];

for (const c of INGESTS) test(`${c.name} from FFmpeg over plain RTP is recorded without transcoding (${c.name === 'H264' ? 'Matroska' : 'WebM'}); the room closing ends the recording and its children`, { skip, timeout: 90000 }, async () => {
  const { config } = recordingConfig();
  await withServer(['--config', config], async (server) => {
    const ingest = await connectPeer(server, { auth: 'camera', channelId: c.room });
    const teacher = await connectPeer(server, { auth: 'teacher', channelId: c.room });
    let ff;
    try {
      await ingest.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const t = (await ingest.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      await ingest.expectReply('produce', {
        transportId: t.id, kind: 'video', appData: { source: 'webcam' },
        rtpParameters: {
          codecs: [c.codec],
          encodings: [{ ssrc: 33333333 }],
        },
      }, 'producer-id');
      ff = startFfmpeg(['-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30', '-t', '60',
        ...c.encode,
        '-ssrc', '33333333', '-payload_type', String(c.codec.payloadType), '-f', 'rtp', `rtp://127.0.0.1:${t.port}?rtcpport=${t.port}&pkt_size=1200`]);
      const started = await teacher.expectReply('start-recording', {}, 'start-recording');
      await pollUntil(() => ffmpegChildren(server.pid).length === 1, { timeoutMs: 10000, intervalMs: 100, what: 'the recorder child' });
      // The sender's encoder starts late on a loaded machine, and ffmpeg analyses its input
      // first: the recording runs 3 s (90 frames sent) after its file has begun, so that
      // neither shortens what it holds.
      await filesBegun(config, c.room, `${c.room}_`, 1, 'the recording file begun');
      await record(3000);
      const recDir = JSON.parse(fs.readFileSync(config, 'utf8')).recording.directory;
      // Everyone leaves: the room closes, and with it the recording.
      await ff.stop('SIGKILL');
      ff = null;
      await closeAll(ingest, teacher);
      await pollUntil(() => ffmpegChildren(server.pid).length === 0, { timeoutMs: 10000, intervalMs: 100, what: 'children stopped' });
      // Nothing of the recording outlives the room: its plain transports and consumers
      // (linked to the recorder, which a room's normal end does not take with it).
      await waitForNoPeers(server, { timeoutMs: 5000 });
      const [dirName] = fs.readdirSync(path.join(recDir, c.room));
      assert.ok(dirName.endsWith(started.data.recordingId.slice(0, 8)), dirName);
      const manifestPath = path.join(recDir, c.room, dirName, 'manifest.json');
      await pollUntil(() => JSON.parse(fs.readFileSync(manifestPath, 'utf8')).stoppedAtMs > 0, { timeoutMs: 5000, intervalMs: 100, what: 'the manifest closed' });
      const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
      assert.equal(manifest.tracks.length, 1);
      const [track] = manifest.tracks;
      assert.equal(track.codec, c.codec.mimeType);
      const [seg] = track.segments;
      assert.ok(seg.hasMedia && ['producer-closed', 'room-closed'].includes(seg.ended), JSON.stringify(seg));
      assert.match(seg.file, c.ext);
      const file = path.join(path.dirname(manifestPath), seg.file);
      const info = await probe(file, { countFrames: true });
      assert.equal(info.streams[0].codec_name, c.codecName);
      assert.equal(info.format.format_name, 'matroska,webm');
      assert.ok(Number(info.streams[0].nb_read_frames) > 60, `frames: ${info.streams[0].nb_read_frames}`);
      assert.ok(Math.abs(Number(info.format.duration) * 1000 - seg.durationMs) <= 1000, `${info.format.duration} s vs ${seg.durationMs} ms`);
      assert.equal(await decodeErrors(file), '');
    } finally {
      await ff?.stop('SIGKILL');
      await closeAll(ingest, teacher);
    }
  });
});
