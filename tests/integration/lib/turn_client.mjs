// A TURN client (RFC 8656 over UDP, TCP or TLS) for the integration tests, written from the RFCs: STUN
// messages with long-term credentials (RFC 8489 section 9.2: MESSAGE-INTEGRITY keyed with
// MD5(username:realm:password)), Allocate, CreatePermission, ChannelBind, Send indications
// and ChannelData, and the ICE connectivity check a browser sends through them. Every wait
// is bounded.

import crypto from 'node:crypto';
import dgram from 'node:dgram';

const COOKIE = 0x2112a442;
export const METHOD = { binding: 0x001, allocate: 0x003, refresh: 0x004, send: 0x006, data: 0x007, createPermission: 0x008, channelBind: 0x009 };
export const ATTR = {
  username: 0x0006, messageIntegrity: 0x0008, errorCode: 0x0009, realm: 0x0014, nonce: 0x0015,
  xorMappedAddress: 0x0020, priority: 0x0024, useCandidate: 0x0025, fingerprint: 0x8028, iceControlling: 0x802a,
  channelNumber: 0x000c, lifetime: 0x000d, xorPeerAddress: 0x0012, data: 0x0013, xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
};
const CLASS = { request: 0, indication: 1, success: 2, error: 3 };

const messageType = (cls, method) => (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

export function xorAddress(address, port, tid) {
  const b = Buffer.alloc(8);
  b[1] = 0x01;
  b.writeUInt16BE(port ^ (COOKIE >>> 16), 2);
  const ip = address.split('.').map(Number);
  for (let i = 0; i < 4; i++) b[4 + i] = ip[i] ^ ((COOKIE >>> (24 - 8 * i)) & 0xff);
  return b;
}

function readXorAddress(v) {
  if (v[1] !== 0x01) return null; // IPv4 only here
  const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
  const ip = [];
  for (let i = 0; i < 4; i++) ip.push(v[4 + i] ^ ((COOKIE >>> (24 - 8 * i)) & 0xff));
  return { address: ip.join('.'), port };
}

// Builds a message; attrs: [[type, Buffer]]; key (Buffer or string): MESSAGE-INTEGRITY.
export function buildMessage(cls, method, attrs, { tid = crypto.randomBytes(12), key = null, fingerprint = true } = {}) {
  const parts = [];
  for (const [type, value] of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE(value.length, 2);
    parts.push(h, value, Buffer.alloc((4 - (value.length % 4)) % 4));
  }
  let body = Buffer.concat(parts);
  const header = (length) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(messageType(cls, method), 0);
    h.writeUInt16BE(length, 2);
    h.writeUInt32BE(COOKIE, 4);
    tid.copy(h, 8);
    return h;
  };
  if (key) {
    const mac = crypto.createHmac('sha1', key).update(Buffer.concat([header(body.length + 24), body])).digest();
    const h = Buffer.alloc(4);
    h.writeUInt16BE(ATTR.messageIntegrity, 0);
    h.writeUInt16BE(20, 2);
    body = Buffer.concat([body, h, mac]);
  }
  if (fingerprint) {
    const crc = crc32(Buffer.concat([header(body.length + 8), body])) ^ 0x5354554e;
    const f = Buffer.alloc(8);
    f.writeUInt16BE(ATTR.fingerprint, 0);
    f.writeUInt16BE(4, 2);
    f.writeUInt32BE(crc >>> 0, 4);
    body = Buffer.concat([body, f]);
  }
  return Buffer.concat([header(body.length), body]);
}

// Parses a STUN message: { cls, method, tid, attrs: Map(type -> [Buffer]) } or null.
export function parseMessage(buf) {
  if (buf.length < 20 || buf[0] > 3 || buf.readUInt32BE(4) !== COOKIE) return null;
  const type = buf.readUInt16BE(0);
  const cls = ((type >> 4) & 1) | ((type >> 7) & 2);
  const method = (type & 0x000f) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0f80);
  const attrs = new Map();
  let off = 20;
  while (off + 4 <= buf.length) {
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    const v = buf.subarray(off + 4, off + 4 + len);
    if (!attrs.has(t)) attrs.set(t, []);
    attrs.get(t).push(v);
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  const first = (t) => attrs.get(t)?.[0];
  const ec = first(ATTR.errorCode);
  return {
    cls, method, tid: buf.subarray(8, 20), attrs, first,
    errorCode: ec ? (ec[2] & 7) * 100 + ec[3] : 0,
    relayed: first(ATTR.xorRelayedAddress) ? readXorAddress(first(ATTR.xorRelayedAddress)) : null,
    peer: first(ATTR.xorPeerAddress) ? readXorAddress(first(ATTR.xorPeerAddress)) : null,
    data: first(ATTR.data) ?? null,
    nonce: first(ATTR.nonce)?.toString() ?? null,
    realm: first(ATTR.realm)?.toString() ?? null,
  };
}

export const longTermKey = (username, realm, password) => crypto.createHash('md5').update(`${username}:${realm}:${password}`).digest();
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };

// An ICE connectivity check as a browser (controlling) sends it to an ICE-lite server.
export function iceCheck(serverUfrag, serverPwd, clientUfrag = 'turnclient') {
  const tie = crypto.randomBytes(8);
  return buildMessage(CLASS.request, METHOD.binding, [
    [ATTR.username, Buffer.from(`${serverUfrag}:${clientUfrag}`)],
    [ATTR.priority, u32(0x0100ffff)],
    [ATTR.iceControlling, tie],
    [ATTR.useCandidate, Buffer.alloc(0)],
  ], { key: serverPwd });
}

// The length of the STUN message or ChannelData frame at the head of a TCP/TLS stream
// (RFC 8656 section 12.5: ChannelData padded to 4 there), 0 when more bytes are needed.
function frameLength(buf) {
  if (buf.length < 4) return 0;
  const n = buf[0] >= 0x40 ? 4 + ((buf.readUInt16BE(2) + 3) & ~3) : 20 + buf.readUInt16BE(2);
  return buf.length >= n ? n : 0;
}

export class TurnClient {
  // server: { address, port }; credential: { username, credential }. Over UDP (open()), or
  // over a connected TCP or TLS socket (`stream`), its frames cut by their lengths.
  constructor(server, credential, stream = null) {
    this.server = server;
    this.credential = credential;
    this.realm = null;
    this.nonce = null;
    this.inbox = [];
    this.waiters = [];
    const deliver = (msg) => {
      const w = this.waiters.findIndex((x) => x.match(msg));
      if (w >= 0) this.waiters.splice(w, 1)[0].resolve(msg);
      else this.inbox.push(msg);
    };
    this.stream = stream;
    if (stream) {
      let pending = Buffer.alloc(0);
      this.closed = new Promise((r) => stream.once('close', r));
      stream.on('error', () => {});
      stream.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        for (let n = frameLength(pending); n > 0; n = frameLength(pending)) {
          deliver(pending.subarray(0, n));
          pending = pending.subarray(n);
        }
      });
    } else {
      this.socket = dgram.createSocket('udp4');
      this.socket.on('message', deliver);
    }
  }

  async open() {
    await new Promise((r) => this.socket.bind(0, '127.0.0.1', r));
    return this;
  }

  close() {
    if (this.stream) {
      this.stream.destroy();
      return Promise.resolve();
    }
    return new Promise((r) => this.socket.close(() => r()));
  }

  send(buf) {
    if (this.stream) return new Promise((resolve, reject) => this.stream.write(buf, (e) => (e ? reject(e) : resolve())));
    return new Promise((resolve, reject) => this.socket.send(buf, this.server.port, this.server.address, (e) => (e ? reject(e) : resolve())));
  }

  // The next datagram that `match` accepts, or null after timeoutMs.
  next(match, timeoutMs = 3000) {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve) => {
      const w = { match, resolve: (m) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  // A request with the credentials once a nonce is known; answers a 401/438 by learning
  // the nonce and (once) trying again. Returns the parsed answer.
  async request(method, attrs, { retry = true } = {}) {
    const tid = crypto.randomBytes(12);
    const all = [...attrs];
    let key = null;
    if (this.nonce) {
      all.push([ATTR.username, Buffer.from(this.credential.username)], [ATTR.realm, Buffer.from(this.realm)], [ATTR.nonce, Buffer.from(this.nonce)]);
      key = longTermKey(this.credential.username, this.realm, this.credential.credential);
    }
    await this.send(buildMessage(CLASS.request, method, all, { tid, key }));
    const raw = await this.next((m) => m.length >= 20 && m.subarray(8, 20).equals(tid));
    if (!raw) throw new Error(`no answer to TURN method ${method}`);
    const m = parseMessage(raw);
    if ((m.errorCode === 401 || m.errorCode === 438) && m.nonce) {
      const first = !this.nonce;
      this.nonce = m.nonce;
      this.realm = m.realm;
      if (retry && (first || m.errorCode === 438)) return this.request(method, attrs, { retry: false });
    }
    return m;
  }

  // Over TCP/TLS a ChannelData frame is padded to a multiple of 4.
  channelData(channel, data) {
    const pad = this.stream ? (4 - (data.length % 4)) % 4 : 0;
    const framed = Buffer.alloc(4 + data.length + pad);
    framed.writeUInt16BE(channel, 0);
    framed.writeUInt16BE(data.length, 2);
    data.copy(framed, 4);
    return this.send(framed);
  }

  async allocate() {
    const m = await this.request(METHOD.allocate, [[ATTR.requestedTransport, Buffer.from([17, 0, 0, 0])]]);
    if (m.cls === CLASS.success) this.relayed = m.relayed;
    return m;
  }

  permit(address, port) {
    return this.request(METHOD.createPermission, [[ATTR.xorPeerAddress, xorAddress(address, port)]]);
  }

  bindChannel(channel, address, port) {
    const ch = Buffer.alloc(4);
    ch.writeUInt16BE(channel, 0);
    return this.request(METHOD.channelBind, [[ATTR.channelNumber, ch], [ATTR.xorPeerAddress, xorAddress(address, port)]]);
  }

  sendIndication(address, port, data) {
    return this.send(buildMessage(CLASS.indication, METHOD.send, [[ATTR.xorPeerAddress, xorAddress(address, port)], [ATTR.data, data]], { fingerprint: false }));
  }

  // The next Data indication (parsed), or null.
  async nextData(timeoutMs = 3000) {
    const raw = await this.next((m) => {
      const p = parseMessage(m);
      return p && p.cls === CLASS.indication && p.method === METHOD.data;
    }, timeoutMs);
    return raw ? parseMessage(raw) : null;
  }
}

export { CLASS };
