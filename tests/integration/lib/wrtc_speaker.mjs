// A participant that sends a sine through real libwebrtc (@roamhq/wrtc under
// mediasoup-client), in a process of its own: @roamhq/wrtc's native module crashes
// (SIGSEGV) when a process that made an RTCAudioSource exits, so tests run it here and
// kill it when done (speakerProcess()), and their own process exits cleanly.
//
// Run as a script: node wrtc_speaker.mjs WS_URL PEER ROOM FREQUENCY [dtx]. It joins, produces
// one audio track (with Opus DTX negotiated when `dtx`: silence is then sent as a packet
// every 400 ms) and prints {"producerId": ...} (or {"error": ...}) as a line on stdout;
// each line "amplitude N" on stdin sets the sine's peak amplitude (0 .. 32767; 0 at start),
// and a line "stats" prints {"stats": [...]}, the data of get-producer-stats for its producer.

import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { paceTenMsFrames } from './audio_clock.mjs';

const SELF = fileURLToPath(import.meta.url);

// A microphone: 10 ms frames of 48 kHz mono 16-bit PCM (RTCAudioSource takes exactly 10 ms
// per onData call), paced by the wall clock.
function sineSource(wrtc, frequency) {
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  const sampleRate = 48000;
  const frames = sampleRate / 100;
  const mic = { track, amplitude: 0 };
  let phase = 0;
  paceTenMsFrames(() => {
    const samples = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      samples[i] = Math.round(mic.amplitude * Math.sin(phase));
      phase += (2 * Math.PI * frequency) / sampleRate;
    }
    phase %= 2 * Math.PI;
    source.onData({ samples, sampleRate, bitsPerSample: 16, channelCount: 1, numberOfFrames: frames });
  });
  return mic;
}

async function main([wsUrl, peer, room, frequency, dtx]) {
  const { installWrtc, loadDevice } = await import('./device.mjs');
  const { connect } = await import('./ws_client.mjs');
  const wrtc = await installWrtc();
  const c = await connect(`${wsUrl}?${new URLSearchParams({ auth: peer, channelId: room })}`, { label: peer });
  const caps = await c.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities');
  const device = await loadDevice(caps.data);
  await c.expectReply('join-mediasoup-room', { rtpCapabilities: device.rtpCapabilities }, 'join-mediasoup-room');
  const params = await c.expectReply('create-transport', { direction: 'send' }, 'transport-params');
  const transport = device.createSendTransport(params.data);
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    c.expectReply('connect-transport', { transportId: transport.id, dtlsParameters }, 'transport-connected', 5000)
      .then(() => callback(), errback);
  });
  transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
    c.expectReply('produce', { transportId: transport.id, kind, rtpParameters }, 'producer-id', 5000)
      .then((r) => callback({ id: r.data.id }), errback);
  });
  const mic = sineSource(wrtc, Number(frequency));
  const producer = await transport.produce({ track: mic.track, codecOptions: dtx === 'dtx' ? { opusDtx: true } : undefined });
  const levelExt = producer.rtpParameters.headerExtensions.find((e) => e.uri === 'urn:ietf:params:rtp-hdrext:ssrc-audio-level');
  if (!levelExt) throw new Error(`ssrc-audio-level not negotiated: ${JSON.stringify(producer.rtpParameters.headerExtensions)}`);
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, value] = line.trim().split(/\s+/);
    if (cmd === 'amplitude') mic.amplitude = Number(value);
    if (cmd === 'stats')
      c.expectReply('get-producer-stats', { producerId: producer.id }, 'get-producer-stats', 5000).then(
        (r) => process.stdout.write(`${JSON.stringify({ stats: r.data })}\n`),
        (e) => process.stdout.write(`${JSON.stringify({ error: String(e?.stack ?? e) })}\n`),
      );
  });
  process.stdout.write(`${JSON.stringify({ producerId: producer.id })}\n`);
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((e) => {
    process.stdout.write(`${JSON.stringify({ error: String(e?.stack ?? e) })}\n`);
    process.exit(1);
  });
}

// Starts a speaker process; resolves { producerId, setAmplitude(n), stats(), kill() } once
// it produces (bounded), rejects with its error otherwise. stats() resolves the data of
// get-producer-stats for its producer (bounded). `dtx`: Opus DTX.
export function speakerProcess(server, peer, room, frequency, timeoutMs = 15000, { dtx = false } = {}) {
  const child = spawn(process.execPath, [SELF, server.wsUrl('/socket'), peer, room, String(frequency), ...(dtx ? ['dtx'] : [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${peer}: not producing after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    const lines = readline.createInterface({ input: child.stdout });
    // After the first line, each line answers the oldest stats() still waiting (one that
    // timed out keeps its place, so a late answer still goes to it, not to the next).
    const waiting = [];
    const stats = () =>
      new Promise((resolveStats, rejectStats) => {
        const t = setTimeout(() => rejectStats(new Error(`${peer}: no stats within 8000 ms`)), 8000);
        waiting.push((msg) => {
          clearTimeout(t);
          if (msg.stats) resolveStats(msg.stats);
          else rejectStats(new Error(`${peer}: ${msg.error ?? JSON.stringify(msg)}`));
        });
        child.stdin.write('stats\n');
      });
    lines.once('line', (line) => {
      lines.on('line', (next) => {
        let msg;
        try {
          msg = JSON.parse(next);
        } catch {
          msg = { error: `not JSON: ${next}` };
        }
        waiting.shift()?.(msg);
      });
      clearTimeout(timer);
      const msg = JSON.parse(line);
      if (msg.error) {
        kill();
        reject(new Error(`${peer}: ${msg.error}; stderr: ${stderr}`));
        return;
      }
      resolve({
        producerId: msg.producerId,
        setAmplitude: (n) => child.stdin.write(`amplitude ${n}\n`),
        stats,
        kill,
      });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${peer}: exited (${code ?? signal}) before producing; stderr: ${stderr}`));
    });
  });
}
