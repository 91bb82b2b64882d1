// RTMP ingest helpers: the server's RTMP port (from its ready output) and an FFmpeg that
// publishes to it, as an encoder does.

import { startFfmpeg } from './ffmpeg.mjs';

// The port of a server started with --rtmp-listen HOST:0 ("chorus RTMP ingest on rtmp://...").
export function rtmpPort(server) {
  const m = /chorus RTMP ingest on rtmp:\/\/[^\s]+:(\d+)/.exec(server.stdout());
  if (!m) throw new Error(`no RTMP ingest line in the server's output: ${server.stdout()}`);
  return Number(m[1]);
}

// FFmpeg's test pattern and a sine tone, encoded as an encoder would (H.264 in x264's
// default High profile, 4:2:0, a keyframe a second, AAC), published to `url` for `seconds`.
// pixFmt yuv444p makes x264 choose High 4:4:4 Predictive, which browsers do not decode.
export function publishTestPattern(url, { seconds = 30, profile, pixFmt = 'yuv420p' } = {}) {
  return startFfmpeg([
    '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=15',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds),
    '-map', '0:v', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '15',
    '-pix_fmt', pixFmt, ...(profile ? ['-profile:v', profile] : []),
    '-map', '1:a', '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', url,
  ]);
}
