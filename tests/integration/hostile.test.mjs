// Hostile clients against the real binary on loopback, while a reference
// peer keeps working: each attack runs for a few seconds, bounded in count and time, and the
// test prints the reference peer's signaling round trip (a WebSocket request/response, p50 and
// p99) and its media latency and loss (RTP with a send timestamp in the payload, from a node
// UDP socket into a plain RTP transport, forwarded by a consumer on a second plain transport
// to another node UDP socket), per attack and for a quiet baseline. The attacks:
//   - HTTP slow-loris: connections whose request header never ends;
//   - WebSocket frames trickled byte by byte after a good upgrade;
//   - thousands of half-open ICE-TCP connections (RFC 6544 / RFC 4571) at a transport's
//     TCP port, while a client of that transport keeps checking on its bound connection and
//     new clients keep connecting;
//   - a DTLS ClientHello flood at the transport's UDP port from an address ICE never
//     validated;
//   - STUN binding requests with wrong credentials at line rate.
// Each must be bounded by a timeout or a limit, and counted (GET /metrics); the short
// timeouts of the server's configuration below keep the file well under a minute.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';

import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { tempConfig, withServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const HANDSHAKE_TIMEOUT_MS = 1000; // signaling.handshakeTimeoutMs: the HTTP request's bound
const MESSAGE_TIMEOUT_MS = 1000; // signaling.messageTimeoutMs: a WebSocket message's bound
const PER_IP = 150; // signaling.maxConnectionsPerIp
const TCP_BIND_TIMEOUT_MS = 1000; // rtc.tcpBindTimeoutMs: an ICE-TCP connection's first check
const STUN_ERROR_RATE = 50; // rtc.stunErrorRate: error answers per transport and second
const ATTACK_MS = 2500; // how long each flood runs

// Loose bounds for the reference peer on a loaded 2-core VM (the attacker, the server and
// the reference share it).
const MAX_LOSS = 0.03;
const MAX_MEDIA_P50_MS = 50;
const MAX_MEDIA_P99_MS = 300;
const MAX_SIGNALING_P50_MS = 150;
const MAX_SIGNALING_P99_MS = 1000;
const MAX_RSS_GROWTH_MB = 64;

const OPUS = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };
const SSRC = 0x4a17e001;

const now = () => performance.now();
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);
const until = (ms) => new Promise((r) => setTimeout(r, ms)); // pacing only, never to wait for the server
const closeSocket = (s) => new Promise((r) => s.close(() => r()));

async function metrics(server) {
  const r = await httpGet(`${server.url}/metrics`);
  assert.equal(r.status, 200);
  return parsePrometheus(r.body);
}
const metric = (m, name, labels = {}) => m.value(name, labels) ?? 0;

// The kernel's count of UDP datagrams dropped for a full receive buffer (they never reach
// the server, so it cannot count them).
function udpReceiveBufferDrops() {
  const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  return Number(lines[1].split(/\s+/)[names.indexOf('RcvbufErrors')]) || 0;
}

// ---- STUN (RFC 5389) for the ICE-TCP client and the wrong-credentials flood ---------------

function stunAttr(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc(pad)]);
}

// A binding request as a controlling browser sends it: USERNAME, PRIORITY, ICE-CONTROLLING,
// MESSAGE-INTEGRITY keyed with `password` (no FINGERPRINT: optional).
function bindingRequest(username, password, { useCandidate = false } = {}) {
  const tid = crypto.randomBytes(12);
  const prio = Buffer.alloc(4);
  prio.writeUInt32BE(0x6effffff);
  const attrs = [stunAttr(0x0006, Buffer.from(username)), stunAttr(0x0024, prio), stunAttr(0x802a, crypto.randomBytes(8))];
  if (useCandidate) attrs.push(stunAttr(0x0025, Buffer.alloc(0)));
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt16BE(body.length + 24, 2); // the length counts MESSAGE-INTEGRITY
  header.writeUInt32BE(0x2112a442, 4);
  tid.copy(header, 8);
  const hmac = crypto.createHmac('sha1', password).update(Buffer.concat([header, body])).digest();
  return { tid, bytes: Buffer.concat([header, body, stunAttr(0x0008, hmac)]) };
}

// { type, tid, code } of a STUN response (code: the ERROR-CODE, 0 for a success).
function parseStun(b) {
  if (b.length < 20 || b.readUInt32BE(4) !== 0x2112a442) return null;
  const type = b.readUInt16BE(0);
  let code = 0;
  for (let i = 20; i + 4 <= b.length;) {
    const t = b.readUInt16BE(i);
    const len = b.readUInt16BE(i + 2);
    if (t === 0x0009 && len >= 4) code = (b[i + 6] & 7) * 100 + b[i + 7];
    i += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type, tid: b.subarray(8, 20), code };
}

const frame = (b) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]); // RFC 4571

// An ICE-TCP client connection: connects, sends checks, reads framed answers.
class IceTcpClient {
  constructor(port) {
    this.port = port;
    this.buf = Buffer.alloc(0);
    this.waiters = new Map(); // tid hex -> resolve
    this.closed = false;
  }
  connect(timeoutMs = 2000) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: this.port });
      this.sock = s;
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error('ICE-TCP connect timed out'));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(this);
      });
      s.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.values()) w(null);
        this.waiters.clear();
      });
      s.on('data', (d) => {
        this.buf = Buffer.concat([this.buf, d]);
        while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
          const n = this.buf.readUInt16BE(0);
          const msg = parseStun(this.buf.subarray(2, 2 + n));
          this.buf = this.buf.subarray(2 + n);
          const w = msg && this.waiters.get(msg.tid.toString('hex'));
          if (w) {
            this.waiters.delete(msg.tid.toString('hex'));
            w(msg);
          }
        }
      });
    });
  }
  // Resolves the answer to one check, or null (closed, or nothing within timeoutMs).
  check(username, password, { timeoutMs = 2000, useCandidate = false } = {}) {
    if (this.closed) return Promise.resolve(null);
    const req = bindingRequest(username, password, { useCandidate });
    const key = req.tid.toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        resolve(null);
      }, timeoutMs);
      this.waiters.set(key, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.sock.write(frame(req.bytes));
    });
  }
  close() {
    this.sock?.destroy();
  }
}

// ---- the reference peer ---------------------------------------------------------------------

// RTP with a 16-byte payload: a sequence number and the send time (performance.now()).
function rtpPacket(seq) {
  const b = Buffer.alloc(12 + 16);
  b[0] = 0x80;
  b[1] = OPUS.payloadType;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 480) >>> 0, 4);
  b.writeUInt32BE(SSRC, 8);
  b.writeUInt32BE(seq, 12);
  b.writeDoubleBE(now(), 16);
  return b;
}

// The payload of an RTP packet (after CSRCs and a header extension), or null for RTCP.
function rtpPayload(b) {
  if (b.length < 12 || b[0] >> 6 !== 2) return null;
  if (b[1] >= 200 && b[1] <= 206) return null; // RTCP (SR, RR, SDES, BYE, APP, RTPFB, PSFB)
  let off = 12 + (b[0] & 0x0f) * 4;
  if (b[0] & 0x10) {
    if (b.length < off + 4) return null;
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  return b.length >= off + 12 ? b.subarray(off) : null;
}

// A publisher and a subscriber over plain RTP, and a signaling round trip, measured in
// windows: window() returns what was measured since the last call.
async function startReference(server) {
  const client = await connectPeer(server, { auth: 'reference', channelId: 'reference' });
  await client.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
  const caps = (await client.expectReply('get-rtp-capabilities', {}, 'rtp-capabilities')).data;
  const pt = (await client.expectReply('create-plain-transport', { comedia: true }, 'create-plain-transport')).data;
  const producer = (await client.expectReply('produce', { transportId: pt.id, kind: 'audio', rtpParameters: { codecs: [OPUS], encodings: [{ ssrc: SSRC }] } }, 'producer-id')).data;
  const ct = (await client.expectReply('create-plain-transport', { comedia: false }, 'create-plain-transport')).data;
  const sender = dgram.createSocket('udp4');
  const receiver = dgram.createSocket('udp4');
  await new Promise((r) => sender.bind(0, '127.0.0.1', r));
  await new Promise((r) => receiver.bind(0, '127.0.0.1', r));
  await client.expectReply('connect-plain-transport', { transportId: ct.id, ip: '127.0.0.1', port: receiver.address().port }, 'connect-plain-transport');
  // Plain Opus to the reference receiver (it reads its own stamps from each payload): the
  // capabilities without audio/red, which would wrap each packet.
  const plainCaps = { ...caps, codecs: caps.codecs.filter((c) => c.mimeType !== 'audio/red') };
  const consumer = (await client.expectReply('consume', { transportId: ct.id, producerId: producer.id, rtpCapabilities: plainCaps, paused: true }, 'consumer-params')).data;
  await client.expectReply('resume-consumer', { consumerId: consumer.id }, 'resume-consumer');

  let seq = 0;
  let windowFirstSeq = 0;
  const received = new Map(); // seq -> latency ms
  receiver.on('message', (b) => {
    const p = rtpPayload(b);
    if (!p) return;
    received.set(p.readUInt32BE(0), now() - p.readDoubleBE(4));
  });
  // 100 packets a second (10 ms apart), as audio. A tick that comes late (this process's
  // event loop busy with a flood of its own making) sends what the slots it missed owed, up
  // to 10 at once, so that a window under a flood still holds its share of packets to judge
  // (each packet carries its own send time: the latency is still the server's).
  const mediaStart = now();
  const mediaTimer = setInterval(() => {
    const owed = Math.min(Math.max(Math.floor((now() - mediaStart) / 10) + 1 - seq, 1), 10);
    for (let i = 0; i < owed; i++) sender.send(rtpPacket(seq++), pt.port, '127.0.0.1');
  }, 10);

  let signalingRtts = [];
  let signalingFailures = 0;
  let running = true;
  const signalingLoop = (async () => {
    while (running) {
      const t0 = now();
      try {
        await client.expectReply('get-transport-stats', { transportId: pt.id }, 'get-transport-stats', 5000);
        signalingRtts.push(now() - t0);
      } catch {
        signalingFailures += 1;
        if (!client.isOpen) return;
      }
      await until(50); // 20 requests a second
    }
  })();

  // Waits (bounded) for the first packets through, then opens the first window; on failure
  // nothing of it is left running (a timer left would keep the test's process alive).
  try {
    await pollUntil(() => received.size >= 10, { timeoutMs: 5000, what: 'reference media through the SFU' });
  } catch (e) {
    running = false;
    clearInterval(mediaTimer);
    await signalingLoop;
    await Promise.all([closeSocket(sender), closeSocket(receiver)]);
    await closeAll(client);
    throw e;
  }

  return {
    client,
    // Since the last call: media sent, lost, latency percentiles; signaling percentiles.
    async window(name) {
      const lastSeq = seq;
      // Packets sent up to now get 300 ms to arrive (bounded; a late one counts as lost).
      await pollUntil(() => {
        for (let s = Math.max(windowFirstSeq, lastSeq - 5); s < lastSeq; s++) if (!received.has(s)) return false;
        return true;
      }, { timeoutMs: 300, intervalMs: 10, what: 'the last packets' }).catch(() => {});
      const lat = [];
      let lost = 0;
      for (let s = windowFirstSeq; s < lastSeq; s++) {
        if (received.has(s)) lat.push(received.get(s));
        else lost += 1;
        received.delete(s);
      }
      lat.sort((a, b) => a - b);
      const rtts = signalingRtts.sort((a, b) => a - b);
      const r = {
        name,
        sent: lastSeq - windowFirstSeq,
        lost,
        loss: (lastSeq - windowFirstSeq) ? lost / (lastSeq - windowFirstSeq) : 0,
        mediaP50: pct(lat, 50),
        mediaP99: pct(lat, 99),
        requests: rtts.length,
        signalingFailures,
        signalingP50: pct(rtts, 50),
        signalingP99: pct(rtts, 99),
      };
      windowFirstSeq = lastSeq;
      signalingRtts = [];
      signalingFailures = 0;
      return r;
    },
    async stop() {
      running = false;
      clearInterval(mediaTimer);
      await signalingLoop;
      await closeSocket(sender);
      await closeSocket(receiver);
      await closeAll(client);
    },
  };
}

const fmt = (v) => (Number.isFinite(v) ? v.toFixed(1) : '-');
function report(w) {
  console.log(`hostile: reference during ${w.name.padEnd(22)} media: ${w.sent} sent, ${w.lost} lost (${(w.loss * 100).toFixed(2)} %), ` +
    `latency p50 ${fmt(w.mediaP50)} ms p99 ${fmt(w.mediaP99)} ms; signaling: ${w.requests} requests, ` +
    `${w.signalingFailures} failed, rtt p50 ${fmt(w.signalingP50)} ms p99 ${fmt(w.signalingP99)} ms; server RSS ${fmt(w.rssMb)} MB`);
}

function assertUnaffected(w) {
  assert.ok(w.sent >= 50, `${w.name}: only ${w.sent} packets sent (the test's own timer starved)`);
  assert.ok(w.loss <= MAX_LOSS, `${w.name}: reference lost ${w.lost} of ${w.sent} packets`);
  assert.ok(w.mediaP50 <= MAX_MEDIA_P50_MS && w.mediaP99 <= MAX_MEDIA_P99_MS, `${w.name}: media latency p50 ${w.mediaP50} p99 ${w.mediaP99} ms`);
  assert.equal(w.signalingFailures, 0, `${w.name}: signaling requests failed`);
  assert.ok(w.requests >= 5, `${w.name}: only ${w.requests} signaling requests answered`);
  assert.ok(w.signalingP50 <= MAX_SIGNALING_P50_MS && w.signalingP99 <= MAX_SIGNALING_P99_MS, `${w.name}: signaling rtt p50 ${w.signalingP50} p99 ${w.signalingP99} ms`);
}

// ---- the attacks ----------------------------------------------------------------------------

// Slow-loris: `count` connections each send a request line and then one header line every
// 200 ms, never the blank line. Resolves how many the server closed, and the longest any of
// them lived (every socket is destroyed at the end).
async function slowLoris(server, count) {
  const sockets = [];
  const openedAt = new Map();
  const lifetimes = [];
  for (let i = 0; i < count; i++) {
    const s = net.connect({ host: '127.0.0.1', port: server.port });
    s.on('error', () => {});
    s.on('connect', () => {
      openedAt.set(s, now());
      s.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    });
    s.on('close', () => {
      if (openedAt.has(s)) lifetimes.push(now() - openedAt.get(s));
    });
    sockets.push(s);
  }
  const end = now() + ATTACK_MS;
  for (let n = 0; now() < end && n < 100; n++) {
    for (const s of sockets) if (!s.destroyed && openedAt.has(s)) s.write(`X-Slow-${n}: ${n}\r\n`);
    await until(200);
  }
  // Every one the server accepted ends by its timeout (or at once, over the limit).
  await pollUntil(() => sockets.every((s) => s.destroyed || s.closed), { timeoutMs: HANDSHAKE_TIMEOUT_MS + 3000, what: 'the server to close every slow-loris connection' }).catch(() => {});
  const closedByServer = lifetimes.length;
  for (const s of sockets) s.destroy();
  return { closedByServer, maxLifetimeMs: Math.max(0, ...lifetimes) };
}

// WebSocket upgrades done by hand, then one masked text frame of 200 bytes trickled one byte
// per 100 ms (it would take 20 s; its 8-byte header takes 0.8 s, then the message is in
// progress). Resolves how many the server closed and when (given at most TRICKLE_MAX_MS).
const TRICKLE_MAX_MS = 6000;
async function wsTrickle(server, count) {
  const results = [];
  const conns = [];
  for (let i = 0; i < count; i++) {
    conns.push(new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: server.port });
      const state = { s, upgradedAt: 0, closedAt: 0, sent: 0 };
      let head = '';
      s.on('error', () => {});
      s.on('connect', () => {
        s.write(`GET /socket?auth=trickle${i}&channelId=hostile HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      s.on('data', (d) => {
        if (state.upgradedAt) return;
        head += d.toString('latin1');
        if (head.includes('\r\n\r\n')) {
          state.upgradedAt = head.startsWith('HTTP/1.1 101') ? now() : -1;
          resolve(state);
        }
      });
      s.on('close', () => {
        state.closedAt = now();
        resolve(state);
      });
    }));
  }
  const states = await Promise.all(conns);
  const payload = Buffer.from(JSON.stringify({ type: 'get-rtp-capabilities', requestId: 1, pad: 'x'.repeat(150) }).padEnd(200, ' '));
  const mask = crypto.randomBytes(4);
  const frameBytes = Buffer.concat([Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]), mask,
    Buffer.from(payload.map((c, i) => c ^ mask[i % 4]))]);
  const end = now() + TRICKLE_MAX_MS;
  for (let k = 0; k < frameBytes.length && now() < end; k++) {
    for (const st of states) if (st.upgradedAt > 0 && !st.closedAt) st.s.write(frameBytes.subarray(k, k + 1));
    await until(100);
    if (states.every((st) => st.closedAt)) break;
  }
  for (const st of states) {
    results.push({ upgraded: st.upgradedAt > 0, closedAfterMs: st.closedAt && st.upgradedAt > 0 ? st.closedAt - st.upgradedAt : null });
    st.s.destroy();
  }
  return results;
}

// At least `total` half-open connections at `port`, at most `concurrent` at a time, none of
// them ever sending a byte, for at least HALF_OPEN_MIN_MS (the reference peer's window is
// the flood's: a fast machine opened 2000 in 216 ms, too short a window to judge its media)
// and at most HALF_OPEN_MAX_MS. Resolves how many the server closed (evicted or timed out).
const HALF_OPEN_MIN_MS = 1000;
const HALF_OPEN_MAX_MS = 10000;
async function halfOpenFlood(port, total, concurrent) {
  let opened = 0;
  let closedByServer = 0;
  let failed = 0;
  const live = new Set();
  const started = now();
  const end = started + HALF_OPEN_MAX_MS;
  const more = () => opened < total || now() - started < HALF_OPEN_MIN_MS;
  while (more() && now() < end) {
    const batch = [];
    while (live.size < concurrent && more()) {
      opened += 1;
      const s = net.connect({ host: '127.0.0.1', port });
      live.add(s);
      batch.push(new Promise((resolve) => {
        s.once('connect', resolve);
        s.once('error', () => {
          failed += 1;
          resolve();
        });
      }));
      s.on('error', () => {});
      s.on('end', () => {
        closedByServer += 1;
      });
      s.on('close', () => live.delete(s));
    }
    await Promise.all(batch);
    await until(5);
  }
  const stillOpen = [...live];
  for (const s of stillOpen) s.destroy();
  return { opened, closedByServer, failed, heldAtEnd: stillOpen.length, ms: now() - started };
}

// A DTLS 1.2 ClientHello record (RFC 6347 §4.2.2), as the first flight of a handshake.
function clientHello() {
  const body = Buffer.concat([
    Buffer.from([0xfe, 0xfd]), crypto.randomBytes(32), // client_version, random
    Buffer.from([0]), Buffer.from([0]), // session id, cookie: empty
    Buffer.from([0, 4, 0xc0, 0x2b, 0xc0, 0x2f]), // two cipher suites
    Buffer.from([1, 0]), // compression: null
    Buffer.from([0, 0]), // no extensions
  ]);
  const hs = Buffer.alloc(12);
  hs[0] = 1; // client_hello
  hs.writeUIntBE(body.length, 1, 3);
  hs.writeUInt16BE(0, 4);
  hs.writeUIntBE(0, 6, 3);
  hs.writeUIntBE(body.length, 9, 3);
  const rec = Buffer.alloc(13);
  rec[0] = 22; // handshake
  rec.writeUInt16BE(0xfefd, 1);
  rec.writeUInt16BE(0, 3); // epoch
  rec.writeUIntBE(0, 5, 6); // sequence number
  rec.writeUInt16BE(hs.length + body.length, 11);
  return Buffer.concat([rec, hs, body]);
}

// Sends `make()` to 127.0.0.1:port as fast as the socket takes it, for ATTACK_MS, bounded in
// count. Counts the answers that come back.
async function udpFlood(port, make, { maxPackets = 400000 } = {}) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const answers = [];
  s.on('message', (b) => answers.push(b));
  let sent = 0;
  const end = now() + ATTACK_MS;
  while (now() < end && sent < maxPackets) {
    // A burst per turn of the event loop (the reference's timers run between bursts).
    const burst = [];
    for (let i = 0; i < 200; i++) burst.push(new Promise((r) => s.send(make(), port, '127.0.0.1', () => r())));
    await Promise.all(burst);
    sent += 200;
    await new Promise((r) => setImmediate(r));
  }
  // Answers already on their way get a moment (bounded) before the socket closes.
  const before = answers.length;
  await pollUntil(() => answers.length > before, { timeoutMs: 200, what: 'late answers' }).catch(() => {});
  await closeSocket(s);
  return { sent, answers };
}

// ---- the test -----------------------------------------------------------------------------

const CONFIG = {
  signaling: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, messageTimeoutMs: MESSAGE_TIMEOUT_MS, maxConnectionsPerIp: PER_IP },
  rtc: { tcpBindTimeoutMs: TCP_BIND_TIMEOUT_MS, stunErrorRate: STUN_ERROR_RATE },
};

test('hostile clients are bounded, counted, and the reference peer is unaffected', { timeout: 90000 }, async () => {
  await withServer(['--config', tempConfig(CONFIG)], async (server) => {
    const ref = await startReference(server);
    // The attacked WebRTC transport: another participant's, with one good ICE-TCP client.
    const victim = await connectPeer(server, { auth: 'victim', channelId: 'hostile' });
    const windows = [];
    // Each window with the server's resident memory at its end.
    const take = async (w) => {
      w.rssMb = metric(await metrics(server), 'process_resident_memory_bytes') / 1048576;
      windows.push(w);
      report(w);
    };
    const good = [];
    try {
      await victim.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const t = (await victim.expectReply('create-webrtc-transport', { direction: 'send' }, 'create-webrtc-transport')).data.params;
      const tcpPort = t.iceCandidates.find((c) => c.protocol === 'tcp').port;
      const udpPort = t.iceCandidates.find((c) => c.protocol === 'udp').port;
      const ufrag = t.iceParameters.usernameFragment;
      const pwd = t.iceParameters.password;
      const user = `${ufrag}:goodclient`;
      // The good client binds as an ICE agent does: a check and a wait for its answer (over
      // TCP a check is not retransmitted; RFC 5389 gives it 39.5 s), and a new connection
      // when that one closed unbound (rtc.tcpBindTimeoutMs is 1 s here, and a loaded
      // machine can delay the first check's turn past it).
      let bound = null;
      const bindAttempts = [];
      for (let attempt = 0; attempt < 3 && !bound; attempt++) {
        const c = await new IceTcpClient(tcpPort).connect();
        good.push(c);
        const answer = await c.check(user, pwd, { useCandidate: true, timeoutMs: 10000 });
        bindAttempts.push(answer ? `0x${answer.type.toString(16)}` : (c.closed ? 'closed' : 'no answer'));
        if (answer?.type === 0x0101) bound = c;
      }
      assert.ok(bound, `a valid ICE-TCP check is answered with success (attempts: ${bindAttempts.join(', ')})`);
      if (bindAttempts.length > 1) console.log(`hostile: the good client bound at attempt ${bindAttempts.length}: ${bindAttempts.join(', ')}`);

      // Quiet baseline.
      await until(1500);
      await take(await ref.window('baseline'));

      // 1. HTTP slow-loris, more connections than one address may hold.
      let m0 = await metrics(server);
      const edgeBefore = metric(m0, 'chorus_edge_connections'); // the WebSockets, and that GET
      const loris = await slowLoris(server, PER_IP + 50);
      await take(await ref.window('HTTP slow-loris'));
      let m1 = await pollUntil(async () => {
        const m = await metrics(server);
        return metric(m, 'chorus_edge_connections') <= edgeBefore ? m : null;
      }, { timeoutMs: 5000, what: 'slow-loris connections gone' });
      const lorisTimeouts = metric(m1, 'chorus_edge_timeouts_total', { phase: 'http_request' }) - metric(m0, 'chorus_edge_timeouts_total', { phase: 'http_request' });
      const lorisRefused = metric(m1, 'chorus_edge_refused_total', { reason: 'per_ip' }) - metric(m0, 'chorus_edge_refused_total', { reason: 'per_ip' });
      console.log(`hostile: slow-loris: ${PER_IP + 50} connections, ${loris.closedByServer} closed by the server, longest lived ${fmt(loris.maxLifetimeMs)} ms; ` +
        `metrics: ${lorisTimeouts} request timeouts, ${lorisRefused} refused over the per-address limit`);
      assert.equal(loris.closedByServer, PER_IP + 50, 'every slow-loris connection is closed by the server');
      assert.ok(loris.maxLifetimeMs < HANDSHAKE_TIMEOUT_MS + 1500, `a slow-loris connection lived ${loris.maxLifetimeMs} ms`);
      assert.ok(lorisTimeouts >= PER_IP - 10, `request timeouts counted: ${lorisTimeouts}`);
      assert.ok(lorisRefused >= 40, `refused over the per-address limit: ${lorisRefused}`);

      // 2. WebSocket frames trickled byte by byte.
      m0 = m1;
      const TRICKLERS = 20;
      const trickle = await wsTrickle(server, TRICKLERS);
      await take(await ref.window('WebSocket trickle'));
      m1 = await metrics(server);
      const wsTimeouts = metric(m1, 'chorus_edge_timeouts_total', { phase: 'ws_message' }) - metric(m0, 'chorus_edge_timeouts_total', { phase: 'ws_message' });
      const closedAfter = trickle.map((r) => r.closedAfterMs).filter((v) => v !== null);
      console.log(`hostile: WebSocket trickle: ${TRICKLERS} upgraded, one byte per 100 ms each; ${closedAfter.length} closed by the server after ` +
        `${fmt(Math.min(...closedAfter))}..${fmt(Math.max(...closedAfter))} ms; metrics: ${wsTimeouts} message timeouts`);
      assert.equal(trickle.filter((r) => r.upgraded).length, TRICKLERS);
      assert.equal(closedAfter.length, TRICKLERS, 'every trickling WebSocket is closed');
      // The header's 8 bytes (0.8 s), then at most 1.5 timeouts, and some slack.
      assert.ok(Math.max(...closedAfter) < 800 + 1.5 * MESSAGE_TIMEOUT_MS + 1000, `closed after ${Math.max(...closedAfter)} ms`);
      assert.equal(wsTimeouts, TRICKLERS);

      // 3. Half-open ICE-TCP connections at the transport's TCP port; the good client keeps
      //    checking on its bound connection, and new good clients keep connecting.
      m0 = m1;
      const healthBefore = (await httpGet(`${server.url}/healthz`)).json.media;
      let checks = 0;
      let checksOk = 0;
      let fresh = 0;
      let freshOk = 0;
      let flooding = true;
      const goodLoop = (async () => {
        while (flooding) {
          checks += 1;
          if ((await bound.check(user, pwd))?.type === 0x0101) checksOk += 1;
          fresh += 1;
          try {
            const c = await new IceTcpClient(tcpPort).connect();
            good.push(c);
            if ((await c.check(user, pwd))?.type === 0x0101) freshOk += 1;
            c.close();
          } catch {
            // refused: counted as not ok
          }
          await until(100);
        }
      })();
      const flood = await halfOpenFlood(tcpPort, 2000, 200);
      flooding = false;
      await goodLoop;
      await take(await ref.window('half-open ICE-TCP'));
      const health = await pollUntil(async () => {
        const h = (await httpGet(`${server.url}/healthz`)).json.media;
        return h.tcpConnectionsAccepted - h.tcpConnectionsClosed <= 1 ? h : null; // the bound one
      }, { timeoutMs: TCP_BIND_TIMEOUT_MS + 3000, what: 'half-open media connections closed' });
      m1 = await metrics(server);
      const d = (k) => health[k] - healthBefore[k];
      console.log(`hostile: half-open ICE-TCP: ${flood.opened} connections in ${fmt(flood.ms)} ms (200 at a time), ${flood.closedByServer} closed by the server meanwhile, ` +
        `${flood.heldAtEnd} held at the end; server: ${d('tcpConnectionsAccepted')} accepted, ${d('tcpConnectionsEvicted')} evicted, ` +
        `${d('tcpBindTimeouts')} timed out, ${d('tcpConnectionsRefused')} refused; the bound client: ${checksOk}/${checks} checks answered; ` +
        `new clients: ${freshOk}/${fresh} answered`);
      assert.ok(flood.opened >= 1000, `only ${flood.opened} connections opened`);
      assert.equal(checksOk, checks, 'the bound ICE-TCP connection keeps being answered');
      assert.ok(freshOk >= 1, 'new ICE-TCP clients still get in during the flood');
      assert.ok(d('tcpConnectionsEvicted') + d('tcpBindTimeouts') >= flood.opened - flood.heldAtEnd - flood.failed - 20,
        `evicted ${d('tcpConnectionsEvicted')} + timed out ${d('tcpBindTimeouts')} of ${flood.opened}`);
      assert.equal(metric(m1, 'chorus_ice_tcp_connections_total', { event: 'evicted' }), health.tcpConnectionsEvicted);
      assert.equal((await bound.check(user, pwd))?.type, 0x0101, 'still answered after the flood');

      // 4. A DTLS ClientHello flood at the transport's UDP port (ICE never validated the
      //    sender: dropped before any DTLS work, counted).
      m0 = m1;
      let kernel0 = udpReceiveBufferDrops();
      const dtls = await udpFlood(udpPort, clientHello);
      await take(await ref.window('DTLS ClientHello flood'));
      let kernel = udpReceiveBufferDrops() - kernel0;
      const notSelected = () => metric(m1, 'chorus_rtp_dropped_total', { reason: 'ice_not_selected' }) - metric(m0, 'chorus_rtp_dropped_total', { reason: 'ice_not_selected' });
      // The transports publish their counts once a second: wait for them (bounded).
      await pollUntil(async () => {
        m1 = await metrics(server);
        return notSelected() + kernel >= dtls.sent * 0.99;
      }, { timeoutMs: 4000, intervalMs: 200, what: 'the ClientHellos counted' }).catch(() => {});
      console.log(`hostile: DTLS ClientHello flood: ${dtls.sent} datagrams in ${ATTACK_MS} ms (${Math.round(dtls.sent / (ATTACK_MS / 1000))}/s), ` +
        `${dtls.answers.length} answered; metrics: ${notSelected()} dropped (ice_not_selected), ${kernel} dropped by the kernel (buffer full), ` +
        `${metric(m1, 'chorus_dtls_failures_total', { reason: 'handshake' })} DTLS handshakes failed`);
      assert.equal(dtls.answers.length, 0, 'no DTLS answer to an address ICE has not validated');
      assert.ok(notSelected() + kernel >= dtls.sent * 0.99, `counted ${notSelected()} + kernel ${kernel} of ${dtls.sent}`);
      assert.equal(metric(m1, 'chorus_dtls_failures_total', { reason: 'handshake' }), 0);

      // 5. STUN binding requests with wrong credentials at line rate.
      m0 = m1;
      kernel0 = udpReceiveBufferDrops();
      // The right username with a wrong password: the server computes the HMAC of each one.
      const stun = await udpFlood(udpPort, () => bindingRequest(user, 'not-the-password').bytes);
      await take(await ref.window('STUN wrong credentials'));
      kernel = udpReceiveBufferDrops() - kernel0;
      const failures = () => metric(m1, 'chorus_stun_failures_total') - metric(m0, 'chorus_stun_failures_total');
      const unanswered = () => metric(m1, 'chorus_stun_errors_unanswered_total') - metric(m0, 'chorus_stun_errors_unanswered_total');
      await pollUntil(async () => {
        m1 = await metrics(server);
        return failures() + kernel >= stun.sent * 0.99;
      }, { timeoutMs: 4000, intervalMs: 200, what: 'the bad checks counted' }).catch(() => {});
      const codes = stun.answers.map((b) => parseStun(b)?.code);
      console.log(`hostile: STUN wrong credentials: ${stun.sent} requests in ${ATTACK_MS} ms (${Math.round(stun.sent / (ATTACK_MS / 1000))}/s), ` +
        `${stun.answers.length} answered (${codes.filter((c) => c === 401).length} with 401); metrics: ${failures()} failures, ` +
        `${unanswered()} left unanswered, ${kernel} dropped by the kernel`);
      assert.ok(stun.answers.length >= 1 && codes.every((c) => c === 401), 'the answers are 401');
      assert.ok(stun.answers.length <= STUN_ERROR_RATE * (ATTACK_MS / 1000 + 1) + STUN_ERROR_RATE,
        `${stun.answers.length} answers: more than ${STUN_ERROR_RATE}/s`);
      assert.ok(failures() + kernel >= stun.sent * 0.99, `counted ${failures()} + kernel ${kernel} of ${stun.sent}`);
      assert.ok(unanswered() >= failures() - stun.answers.length - STUN_ERROR_RATE, `unanswered ${unanswered()}`);
      assert.equal((await bound.check(user, pwd))?.type, 0x0101, 'the good client is still answered after the flood');

      // The reference, per window (printed as they were taken).
      for (const w of windows) assertUnaffected(w);
      // Memory stays bounded: no attack left the server much bigger than the baseline.
      const rssGrowth = Math.max(...windows.map((w) => w.rssMb)) - windows[0].rssMb;
      assert.ok(rssGrowth < MAX_RSS_GROWTH_MB, `server RSS grew by ${rssGrowth.toFixed(1)} MB`);
    } finally {
      for (const c of good) c.close();
      await ref.stop();
      await closeAll(victim);
    }
  });
});
