// A participant that publishes a microphone (a sine) and a camera (moving I420 frames)
// through real libwebrtc (@roamhq/wrtc under mediasoup-client), in a process of its own
// (see wrtc_speaker.mjs for why): killing the process is the participant leaving.
//
// Run as a script: node wrtc_publisher.mjs WS_URL PEER ROOM [VIDEO_CODEC [room-data]]. It
// joins, produces audio and video (VP8, or the codec named: vp9) and prints {"audio": id,
// "video": id} (or {"error": ...}) as a line on stdout. With room-data it also consumes
// the room's own data channel (label "room": the public chat) over a receive transport
// with SCTP, before it prints that line, and then prints {"data": text} for each message.

import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { paceTenMsFrames } from './audio_clock.mjs';

const SELF = fileURLToPath(import.meta.url);

function microphone(wrtc, frequency) {
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  const sampleRate = 48000;
  const frames = sampleRate / 100;
  let phase = 0;
  paceTenMsFrames(() => {
    const samples = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      samples[i] = Math.round(8000 * Math.sin(phase));
      phase += (2 * Math.PI * frequency) / sampleRate;
    }
    phase %= 2 * Math.PI;
    source.onData({ samples, sampleRate, bitsPerSample: 16, channelCount: 1, numberOfFrames: frames });
  });
  return track;
}

// 320x240 I420 at 30 fps: a bar moving over a gradient, so that every frame differs.
function camera(wrtc) {
  const source = new wrtc.nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const width = 320;
  const height = 240;
  let n = 0;
  setInterval(() => {
    const data = new Uint8ClampedArray((width * height * 3) / 2);
    const bar = (n * 4) % width;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) data[y * width + x] = Math.abs(x - bar) < 12 ? 235 : (x + y + n) & 0xff;
    data.fill(128, width * height);
    source.onFrame({ width, height, data });
    n++;
  }, 33);
  return track;
}

// Consumes the room's own data producer (announced once a transport with SCTP exists) on
// a receive transport.
async function consumeRoomData(c, device) {
  const params = await c.expectReply('create-transport', { direction: 'recv', sctpCapabilities: device.sctpCapabilities }, 'transport-params');
  const announced = await c.nextOfType('new-data-producer', (m) => m.data.label === 'room', 10000);
  const transport = device.createRecvTransport(params.data);
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    c.expectReply('connect-transport', { transportId: transport.id, dtlsParameters }, 'transport-connected', 5000)
      .then(() => callback(), errback);
  });
  const p = (await c.expectReply('consume-data', { dataProducerId: announced.data.dataProducerId, transportId: transport.id }, 'consume-data', 5000)).data;
  const dc = await transport.consumeData({ id: p.id, dataProducerId: p.dataProducerId,
    sctpStreamParameters: p.sctpStreamParameters, label: p.label, protocol: p.protocol });
  dc.on('message', (data) => process.stdout.write(`${JSON.stringify({ data: String(data) })}\n`));
  dc.on('close', () => process.stdout.write(`${JSON.stringify({ dataClosed: p.id })}\n`));
  await new Promise((resolve, reject) => {
    if (dc.readyState === 'open') return resolve();
    dc.on('open', resolve);
    dc.on('error', reject);
    setTimeout(() => reject(new Error('the room\'s data channel did not open within 10 s')), 10000);
  });
}

async function main([wsUrl, peer, room, videoCodec = 'vp8', extra = '']) {
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
  transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
    c.expectReply('produce', { transportId: transport.id, kind, rtpParameters, appData }, 'producer-id', 5000)
      .then((r) => callback({ id: r.data.id }), errback);
  });
  const audio = await transport.produce({ track: microphone(wrtc, 440), appData: { source: 'mic' } });
  const video = await transport.produce({
    track: camera(wrtc),
    appData: { source: 'webcam' },
    codec: device.rtpCapabilities.codecs.find((k) => k.mimeType.toLowerCase() === `video/${videoCodec}`),
  });
  if (extra === 'room-data') await consumeRoomData(c, device);
  process.stdout.write(`${JSON.stringify({ audio: audio.id, video: video.id })}\n`);
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((e) => {
    process.stdout.write(`${JSON.stringify({ error: String(e?.stack ?? e) })}\n`);
    process.exit(1);
  });
}

// Starts a publisher process (video in `videoCodec`: vp8 or vp9; with roomData, a
// consumer of the room's data channel too); resolves { audio, video, kill(), data,
// dataClosed() } once it produces both (bounded), rejects with its error otherwise. `data`
// fills with the data channel's messages as they come.
export function publisherProcess(server, peer, room, timeoutMs = 20000, { videoCodec = 'vp8', roomData = false } = {}) {
  const args = [SELF, server.wsUrl('/socket'), peer, room, videoCodec, ...(roomData ? ['room-data'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const data = []; // with roomData: each message of the room's data channel, in order
  let dataClosed = false;
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${peer}: not producing after ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.data !== undefined) {
        data.push(msg.data);
        return;
      }
      if (msg.dataClosed) {
        dataClosed = true;
        return;
      }
      clearTimeout(timer);
      if (msg.error) {
        kill();
        reject(new Error(`${peer}: ${msg.error}; stderr: ${stderr}`));
        return;
      }
      resolve({ audio: msg.audio, video: msg.video, kill, pid: child.pid, data, dataClosed: () => dataClosed });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${peer}: exited (${code ?? signal}) before producing; stderr: ${stderr}`));
    });
  });
}
