// chorus data-channel bench: one data producer and N data consumers through a running
// Chorus, on real libwebrtc (@roamhq/wrtc under the stock mediasoup-client), at a fixed
// message rate. Reports delivered messages per second, the one-way latency (sender and
// receivers share this process's clock) and, with --server-pid, the server's CPU time per
// delivered message (from /proc). The reference, measured in the same run: the same rate
// over a direct libwebrtc data channel between two peer connections of this process (no
// server), so that the latency through Chorus is also given as a ratio to it.
//
//   node bench/data/data_bench.mjs --url ws://127.0.0.1:8080 [--server-pid PID]
//        [--consumers 10] [--rate 1000] [--size 200] [--seconds 10] [--room bench-data]
//        [--json out.json]
//
// Every wait is bounded; the process exits when done (the caller stops the server).

import fs from 'node:fs';
import WebSocket from 'ws';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const URL_BASE = args.url ?? 'ws://127.0.0.1:8080';
const CONSUMERS = Number(args.consumers ?? 10);
const RATE = Number(args.rate ?? 1000);
const SIZE = Math.max(16, Number(args.size ?? 200));
const SECONDS = Number(args.seconds ?? 10);
const ROOM = args.room ?? 'bench-data';
const SERVER_PID = args['server-pid'] ? Number(args['server-pid']) : null;

const { default: wrtc } = await import('@roamhq/wrtc');
globalThis.RTCPeerConnection = wrtc.RTCPeerConnection;
globalThis.RTCSessionDescription ??= wrtc.RTCSessionDescription;
globalThis.RTCIceCandidate ??= wrtc.RTCIceCandidate;
globalThis.MediaStream ??= wrtc.MediaStream;
const { Device } = await import('mediasoup-client');

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const bounded = (p, ms, what) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
};
const TICK_HZ = 100;
const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// One signaling connection (Chorus's JSON dialect).
async function connect(peer) {
  const ws = new WebSocket(`${URL_BASE}/socket?auth=${peer}&channelId=${ROOM}`);
  await bounded(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 5000, 'connect');
  let next = 1;
  const pending = new Map();
  const events = [];
  const listeners = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.requestId !== undefined && pending.has(m.requestId)) {
      pending.get(m.requestId)(m);
      pending.delete(m.requestId);
    } else {
      events.push(m);
      for (const l of listeners) l(m);
    }
  });
  const request = (type, data) => bounded(new Promise((resolve) => {
    const requestId = next++;
    pending.set(requestId, resolve);
    ws.send(JSON.stringify({ type, data, requestId }));
  }), 10000, type);
  const expect = async (type, data, reply) => {
    const r = await request(type, data);
    if (r.type !== reply) throw new Error(`${type}: ${JSON.stringify(r)}`);
    return r.data;
  };
  const caps = await expect('get-rtp-capabilities', {}, 'rtp-capabilities');
  const device = new Device({ handlerName: 'Chrome111' });
  await device.load({ routerRtpCapabilities: caps });
  await expect('join-mediasoup-room', { rtpCapabilities: device.rtpCapabilities }, 'join-mediasoup-room');
  const transport = async (direction) => {
    const params = await expect('create-transport', { direction, sctpCapabilities: device.sctpCapabilities }, 'transport-params');
    const t = direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
    t.on('connect', ({ dtlsParameters }, cb, eb) => {
      expect('connect-transport', { transportId: t.id, dtlsParameters }, 'transport-connected').then(() => cb(), eb);
    });
    return t;
  };
  return { ws, device, expect, events, listeners, transport, close: () => ws.close() };
}

// Sends RATE messages per second for `seconds` on `send(buffer)`: each message carries its
// sequence number and the send time (us) in its first 12 bytes.
async function drive(send, seconds) {
  const buf = Buffer.alloc(SIZE, 0x5a);
  let seq = 0;
  const start = nowUs();
  const total = Math.round(RATE * seconds);
  while (seq < total) {
    const due = Math.min(total, Math.floor(((nowUs() - start) / 1e6) * RATE) + 1);
    while (seq < due) {
      buf.writeUInt32BE(seq, 0);
      buf.writeBigUInt64BE(BigInt(nowUs()), 4);
      send(buf);
      ++seq;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return seq;
}

function receiver() {
  const r = { count: 0, latencies: [], lastSeq: -1, outOfOrder: 0 };
  r.onMessage = (data) => {
    const b = Buffer.from(data);
    const seq = b.readUInt32BE(0);
    const sent = Number(b.readBigUInt64BE(4));
    r.latencies.push((nowUs() - sent) / 1000);
    if (seq <= r.lastSeq) ++r.outOfOrder;
    r.lastSeq = seq;
    ++r.count;
  };
  return r;
}

// The reference: a direct data channel between two peer connections of this process.
async function direct(seconds) {
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const ch = a.createDataChannel('ref', { ordered: true });
  const rx = receiver();
  const opened = new Promise((resolve) => { b.ondatachannel = (e) => { e.channel.binaryType = 'arraybuffer'; e.channel.onmessage = (m) => rx.onMessage(m.data); resolve(); }; });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await bounded(opened, 10000, 'direct channel');
  await bounded(new Promise((resolve) => (ch.readyState === 'open' ? resolve() : (ch.onopen = resolve))), 10000, 'direct open');
  const sent = await drive((buf) => ch.send(buf), seconds);
  await bounded((async () => { while (rx.count < sent) await new Promise((r) => setTimeout(r, 20)); })(), 10000, 'direct drain').catch(() => {});
  a.close();
  b.close();
  return { sent, received: rx.count, latencyMs: { p50: pct(rx.latencies, 50), p95: pct(rx.latencies, 95), p99: pct(rx.latencies, 99) } };
}

async function main() {
  const reference = await direct(Math.min(SECONDS, 5));

  const consumers = [];
  for (let i = 0; i < CONSUMERS; ++i) {
    const c = await connect(`bench-rx-${i}`);
    c.recv = await c.transport('recv');
    c.rx = receiver();
    consumers.push(c);
  }
  const producer = await connect('bench-tx');
  const send = await producer.transport('send');
  send.on('producedata', ({ sctpStreamParameters, label, protocol }, cb, eb) => {
    producer.expect('produce-data', { transportId: send.id, sctpStreamParameters, label, protocol }, 'produce-data').then(({ id }) => cb({ id }), eb);
  });
  const dp = await send.produceData({ ordered: true, label: 'bench' });
  await bounded(new Promise((resolve) => (dp.readyState === 'open' ? resolve() : dp.on('open', resolve))), 10000, 'data producer open');
  for (const c of consumers) {
    const p = await c.expect('consume-data', { dataProducerId: dp.id, transportId: c.recv.id }, 'consume-data');
    const dc = await c.recv.consumeData({ id: p.id, dataProducerId: p.dataProducerId, sctpStreamParameters: p.sctpStreamParameters, label: p.label, protocol: p.protocol });
    dc.on('message', c.rx.onMessage);
    await bounded(new Promise((resolve) => (dc.readyState === 'open' ? resolve() : dc.on('open', resolve))), 10000, 'data consumer open');
  }

  const cpu0 = SERVER_PID ? cpuTicks(SERVER_PID) : null;
  const t0 = nowUs();
  const sent = await drive((buf) => dp.send(buf), SECONDS);
  const expected = sent * CONSUMERS;
  await bounded((async () => { while (consumers.reduce((s, c) => s + c.rx.count, 0) < expected) await new Promise((r) => setTimeout(r, 20)); })(), 10000, 'drain').catch(() => {});
  const elapsed = (nowUs() - t0) / 1e6;
  const cpu1 = SERVER_PID ? cpuTicks(SERVER_PID) : null;
  const delivered = consumers.reduce((s, c) => s + c.rx.count, 0);
  const all = consumers.flatMap((c) => c.rx.latencies);
  const report = {
    scenario: { consumers: CONSUMERS, rate: RATE, size: SIZE, seconds: SECONDS },
    sent,
    delivered,
    deliveredShare: expected ? delivered / expected : 0,
    outOfOrder: consumers.reduce((s, c) => s + c.rx.outOfOrder, 0),
    deliveredPerSecond: delivered / elapsed,
    latencyMs: { p50: pct(all, 50), p95: pct(all, 95), p99: pct(all, 99), max: all.length ? Math.max(...all) : null },
    serverCpuSeconds: SERVER_PID ? (cpu1 - cpu0) / TICK_HZ : null,
    serverCpuUsPerDelivered: SERVER_PID && delivered ? (((cpu1 - cpu0) / TICK_HZ) * 1e6) / delivered : null,
    reference,
    latencyRatioP50: reference.latencyMs.p50 ? pct(all, 50) / reference.latencyMs.p50 : null,
  };
  for (const c of [...consumers, producer]) c.close();
  const text = JSON.stringify(report, null, 2);
  if (args.json) fs.writeFileSync(args.json, text);
  process.stdout.write(text + '\n');
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`data_bench: ${e.stack || e}\n`);
  process.exit(1);
});
