// FFmpeg and ffprobe (Debian's packages) for the plain RTP and recording tests: started by
// PID through spawnTracked, every wait bounded.

import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';

import { runProcess, spawnTracked } from './server.mjs';

export const FFMPEG = process.env.FFMPEG_BIN || '/usr/bin/ffmpeg';
export const FFPROBE = process.env.FFPROBE_BIN || '/usr/bin/ffprobe';

export const ffmpegAvailable = () => fs.existsSync(FFMPEG) && fs.existsSync(FFPROBE);

// The ffmpeg children of a server (its recorders): [{ pid, args }].
export function ffmpegChildren(serverPid) {
  let out = '';
  try {
    out = execFileSync('ps', ['--ppid', String(serverPid), '-o', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there is none
  }
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('ffmpeg'))
    .map((l) => ({ pid: Number(l.split(/\s+/)[0]), args: l }));
}

function bindUdp(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(null));
    s.bind(port, '0.0.0.0', () => resolve(s));
  });
}

// A UDP port p with p + 1 free as well (ffmpeg's RTP demuxer binds both), on 0.0.0.0.
export async function freePortPair() {
  for (let i = 0; i < 50; i++) {
    const a = await bindUdp(0);
    if (!a) continue;
    const p = a.address().port;
    const b = p < 65535 ? await bindUdp(p + 1) : null;
    await new Promise((r) => a.close(r));
    if (b) {
      await new Promise((r) => b.close(r));
      return p;
    }
  }
  throw new Error('no free UDP port pair');
}

// Starts ffmpeg with `args` (after -hide_banner -nostdin -loglevel warning); returns
// { child, exited, stderr(), stop(signal = 'SIGINT', timeoutMs = 5000) }.
export function startFfmpeg(args) {
  const { child, exited } = spawnTracked(FFMPEG, ['-hide_banner', '-nostdin', '-loglevel', 'warning', ...args]);
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (err.length > 65536) err = err.slice(-65536);
  });
  child.stdout.on('data', () => {});
  const stop = async (signal = 'SIGINT', timeoutMs = 5000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer;
    const result = await Promise.race([
      exited,
      new Promise((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(exited);
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return result;
  };
  return { child, exited, stderr: () => err, stop };
}

// ffprobe's view of a file: { streams: [...], format: {...} } (frames counted when asked).
export async function probe(file, { countFrames = false } = {}) {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
  if (countFrames) args.push('-count_frames');
  const r = await runProcess(FFPROBE, [...args, file], { timeoutMs: 60000 });
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// The flags of the first video packet of `file` ("K__": a keyframe), from ffprobe.
export async function firstVideoPacketFlags(file) {
  const r = await runProcess(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=flags',
    '-read_intervals', '%+#1', '-of', 'csv=p=0', file], { timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.code} ${r.stderr}`);
  return r.stdout.trim().split('\n')[0] ?? '';
}

// Every video packet of `file` as ffprobe lists it ("pts_time,size,flags" lines): what a
// failed decode is explained with.
export async function videoPackets(file) {
  const r = await runProcess(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,size,flags',
    '-of', 'csv=p=0', file], { timeoutMs: 30000 });
  if (r.code !== 0) throw new Error(`ffprobe ${file}: ${r.code} ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

// Decodes the whole file; resolves ffmpeg's error output ('' when it decoded cleanly). The
// frames keep the file's timestamps (passthrough, the input's time base), so two frames
// closer than 1/fps are not reported as a muxing error of the null output.
export async function decodeErrors(file) {
  const r = await runProcess(FFMPEG, ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-enc_time_base:v', '-1', '-f', 'null', '-'], {
    timeoutMs: 120000,
  });
  if (r.code !== 0) return `exit ${r.code}: ${r.stderr}`;
  return r.stderr.trim();
}

// An SDP for ffmpeg to receive one stream of a consumer's rtpParameters on 127.0.0.1:port.
export function consumerSdp(kind, rtpParameters, port) {
  const codec = rtpParameters.codecs[0];
  const name = codec.mimeType.split('/')[1];
  const lines = [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=test',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=${kind} ${port} RTP/AVP ${codec.payloadType}`,
    `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${kind === 'audio' && codec.channels > 1 ? `/${codec.channels}` : ''}`,
  ];
  const fmtp = Object.entries(codec.parameters ?? {}).map(([k, v]) => `${k}=${v}`);
  if (fmtp.length) lines.push(`a=fmtp:${codec.payloadType} ${fmtp.join(';')}`);
  lines.push('a=recvonly', '');
  return lines.join('\r\n');
}
