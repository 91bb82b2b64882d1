// The CPU cost of recording a room of N publishers (docs/performance.md,
// "Recording"). Usage (from the repo root, after building chorus):
//
//   node bench/recording_cost.mjs [--publishers 6] [--window-s 20] [--server-cpu 0] [--sender-cpu 1]
//
// N publishers send real VP8 (640x360, 1 Mbit/s, a keyframe every 2 s) and Opus through
// plain RTP transports: one FFmpeg per publisher streams a file encoded once beforehand
// (-c copy, -re, looped), so the senders cost almost nothing and the bitstream is what a
// browser's encoder makes of a moving picture. The server (and so its ffmpeg children) is
// pinned to --server-cpu, the senders to --sender-cpu. In one run, on one server:
//   1. the room without recording: the server's CPU over the window (the reference);
//   2. the same room recorded (start-recording): the server's own CPU over the window and
//      the CPU of its ffmpeg children over the same window;
// and the manifest is checked (2N tracks, each with media). Printed as % of one core and
// as ratios to the reference; --json FILE writes them.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { FFMPEG, startFfmpeg } from '../tests/integration/lib/ffmpeg.mjs';
import { CHORUS_BIN, runProcess, spawnTracked } from '../tests/integration/lib/server.mjs';
import { pollUntil } from '../tests/integration/lib/tcp.mjs';
import { closeAll, connect } from '../tests/integration/lib/ws_client.mjs';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const N = Number(args.publishers ?? 6);
const WINDOW_S = Number(args['window-s'] ?? 20);
const SERVER_CPU = String(args['server-cpu'] ?? 0);
const SENDER_CPU = String(args['sender-cpu'] ?? 1);
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-recbench-'));
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
};
const children = (pid) => {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid=,comm='], { encoding: 'utf8' })
      .split('\n').map((l) => l.trim().split(/\s+/)).filter(([, c]) => c === 'ffmpeg').map(([p]) => Number(p));
  } catch {
    return [];
  }
};
const childrenTicks = (pids) => {
  let sum = 0;
  for (const p of pids) {
    try {
      sum += cpuTicks(p);
    } catch {
      // exited meanwhile
    }
  }
  return sum;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms)); // measurement windows, not synchronisation

async function main() {
  // The source: 12 s of a moving test picture and a tone, encoded once.
  const source = path.join(dir, 'source.webm');
  const enc = await runProcess(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000', '-t', '12', '-c:v', 'libvpx', '-b:v', '1M', '-g', '60',
    '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus', '-ac', '2', '-b:a', '48k', '-y', source], { timeoutMs: 120000 });
  if (enc.code !== 0) throw new Error(`encoding the source: ${enc.stderr}`);

  const config = path.join(dir, 'chorus.json');
  fs.writeFileSync(config, JSON.stringify({ recording: { directory: path.join(dir, 'rec') } }));
  const port = 20000 + Math.floor(Math.random() * 5000);
  const server = spawnTracked('taskset', ['-c', SERVER_CPU, CHORUS_BIN, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', '--config', config]);
  const pid = server.child.pid;
  let stderr = '';
  server.child.stderr.on('data', (d) => { stderr += d; });
  server.child.stdout.on('data', () => {});
  const clients = [];
  const senders = [];
  try {
    const url = (peer) => `ws://127.0.0.1:${port}/socket?auth=${peer}&channelId=recbench`;
    await pollUntil(async () => {
      try {
        clients.push(await connect(url('teacher'), { label: 'teacher' }));
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 10000, intervalMs: 100, what: 'the server' });
    const [teacher] = clients;
    await teacher.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
    for (let i = 0; i < N; i++) {
      const c = await connect(url(`p${i}`), { label: `p${i}` });
      clients.push(c);
      await c.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const vt = (await c.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const at = (await c.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
      const vs = 1000 + i * 2;
      const as = 1001 + i * 2;
      await c.expectReply('produce', { transportId: vt.id, kind: 'video', appData: { source: 'webcam' }, rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: vs }] } }, 'producer-id');
      await c.expectReply('produce', { transportId: at.id, kind: 'audio', appData: { source: 'mic' }, rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: as }] } }, 'producer-id');
      senders.push(startFfmpeg(['-re', '-stream_loop', '-1', '-i', source,
        '-map', '0:v', '-c', 'copy', '-ssrc', String(vs), '-payload_type', '101', '-f', 'rtp', `rtp://127.0.0.1:${vt.port}?rtcpport=${vt.port}&pkt_size=1200`,
        '-map', '0:a', '-c', 'copy', '-ssrc', String(as), '-payload_type', '100', '-f', 'rtp', `rtp://127.0.0.1:${at.port}?rtcpport=${at.port}&pkt_size=1200`]));
    }
    for (const s of senders) execFileSync('taskset', ['-p', '-c', SENDER_CPU, String(s.child.pid)], { stdio: 'ignore' });
    await sleep(3000);

    // 1. The reference: the room, not recorded.
    let t0 = cpuTicks(pid);
    let w0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const offPct = ((cpuTicks(pid) - t0) / TICK) / ((performance.now() - w0) / 1000) * 100;

    // 2. Recorded.
    await teacher.expectReply('start-recording', {}, 'start-recording');
    await pollUntil(() => children(pid).length === 2 * N, { timeoutMs: 20000, intervalMs: 100, what: `${2 * N} ffmpeg children` });
    await sleep(3000);
    const kids = children(pid);
    t0 = cpuTicks(pid);
    const k0 = childrenTicks(kids);
    w0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const elapsed = (performance.now() - w0) / 1000;
    const onPct = ((cpuTicks(pid) - t0) / TICK) / elapsed * 100;
    const kidsPct = ((childrenTicks(kids) - k0) / TICK) / elapsed * 100;
    const stopped = await teacher.expectReply('stop-recording', {}, 'stop-recording', 30000);
    const manifest = JSON.parse(fs.readFileSync(stopped.data.manifest, 'utf8'));
    const withMedia = manifest.tracks.filter((t) => t.segments.length === 1 && t.segments[0].hasMedia).length;
    const bytes = manifest.tracks.reduce((s, t) => s + t.segments.reduce((x, g) => x + fs.statSync(path.join(path.dirname(stopped.data.manifest), g.file)).size, 0), 0);
    const result = {
      publishers: N,
      windowS: WINDOW_S,
      serverCpuNotRecordedPct: +offPct.toFixed(2),
      serverCpuRecordedPct: +onPct.toFixed(2),
      ffmpegChildrenCpuPct: +kidsPct.toFixed(2),
      recordingTotalPct: +(onPct - offPct + kidsPct).toFixed(2),
      ratioServerRecordedToReference: +(onPct / offPct).toFixed(2),
      ratioTotalToReference: +((onPct + kidsPct) / offPct).toFixed(2),
      tracks: manifest.tracks.length,
      tracksWithMedia: withMedia,
      recordedMiB: +(bytes / 1048576).toFixed(1),
    };
    console.log(`recording a room of ${N} publishers (VP8 1 Mbit/s + Opus each, plain RTP in), ${WINDOW_S} s windows`);
    console.log(`  server CPU, not recorded (reference) ${result.serverCpuNotRecordedPct} % of one core`);
    console.log(`  server CPU, recorded                 ${result.serverCpuRecordedPct} % (x${result.ratioServerRecordedToReference})`);
    console.log(`  its ${2 * N} ffmpeg children              ${result.ffmpegChildrenCpuPct} % of one core in all`);
    console.log(`  recording's cost                     ${result.recordingTotalPct} % of one core (total x${result.ratioTotalToReference} the reference)`);
    console.log(`  manifest: ${result.tracks} tracks, ${result.tracksWithMedia} with media, ${result.recordedMiB} MiB written`);
    if (args.json) fs.writeFileSync(args.json, JSON.stringify(result, null, 2));
    if (withMedia !== 2 * N) throw new Error(`only ${withMedia} of ${2 * N} tracks recorded: ${JSON.stringify(manifest)}`);
  } finally {
    for (const s of senders) await s.stop('SIGKILL');
    await closeAll(...clients);
    server.child.kill('SIGTERM');
    await server.exited;
    fs.rmSync(dir, { recursive: true, force: true });
    if (process.exitCode) console.error(stderr.slice(-4000));
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
