// SRTP and SRTCP senders for the tests, written from RFC 3711 (AES_CM_128_HMAC_SHA1_80 only)
// on node's crypto: the session keys derived from a master key and salt (§4.3.1, key
// derivation rate 0), the payload encrypted in AES counter mode (§4.1.1) and the packet
// authenticated with HMAC-SHA1 over it and the rollover counter (SRTCP: the E flag and
// index, §3.4), 80 bits kept (§4.2). A
// second implementation beside the server's libsrtp: it is checked against the RFC's own
// key-derivation vectors (Appendix B.3) and, in the tests, by the server accepting it.

import crypto from 'node:crypto';

// The AES-CM pseudo-random function of §4.3.3: `length` bytes of keystream under the master
// key, the counter block being (label at byte 7 of the 112-bit key_id) XOR salt, times 2^16.
function derive(masterKey, masterSalt, label, length) {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] ^= label;
  return crypto.createCipheriv('aes-128-ctr', masterKey, iv).update(Buffer.alloc(length));
}

// Session keys of one master key (16 bytes) and salt (14): the encryption key (label 0;
// SRTCP's 3), the authentication key (1; 4) and the session salt (2; 5).
export function srtpSessionKeys(masterKey, masterSalt, rtcp = false) {
  const base = rtcp ? 3 : 0;
  return {
    cipherKey: derive(masterKey, masterSalt, base, 16),
    authKey: derive(masterKey, masterSalt, base + 1, 20),
    salt: derive(masterKey, masterSalt, base + 2, 14),
  };
}

// The counter block (§4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16), the SSRC
// as the packet carries it at `ssrcAt`.
function counterBlock(salt, packet, ssrcAt, index) {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0);
  for (let i = 0; i < 4; ++i)
    iv[4 + i] ^= packet[ssrcAt + i];
  for (let i = 0; i < 6; ++i)
    iv[8 + i] ^= Number((BigInt(index) >> BigInt(8 * (5 - i))) & 0xffn);
  return iv;
}

const tag80 = (authKey, ...parts) => {
  const h = crypto.createHmac('sha1', authKey);
  for (const p of parts)
    h.update(p);
  return h.digest().subarray(0, 10);
};

// A compound RTCP datagram from `ssrc` (RFC 3550 §6.4.2, §6.5): a receiver report without
// report blocks and an SDES chunk with a CNAME.
export function receiverReport(ssrc, cname = 'test') {
  const rr = Buffer.alloc(8);
  rr[0] = 0x80;
  rr[1] = 201;
  rr.writeUInt16BE(1, 2);
  rr.writeUInt32BE(ssrc >>> 0, 4);
  const item = Buffer.concat([Buffer.from([1, cname.length]), Buffer.from(cname), Buffer.from([0])]);
  const chunk = Buffer.concat([Buffer.alloc(4), item, Buffer.alloc((4 - ((4 + item.length) % 4)) % 4)]);
  chunk.writeUInt32BE(ssrc >>> 0, 0);
  const sdes = Buffer.concat([Buffer.from([0x81, 202, 0, 0]), chunk]);
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  return Buffer.concat([rr, sdes]);
}

// An RTP packet: version 2, no padding, extension or CSRCs.
export function rtpPacket({ payloadType, seq, timestamp, ssrc, payload, marker = false }) {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(timestamp >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  return Buffer.concat([header, payload]);
}

// Protects RTP packets (as built by rtpPacket: no header extension) of any number of SSRCs
// with one master key (30 bytes: key then salt, as in srtpParameters.keyBase64). The
// rollover counter of each SSRC is carried from packet to packet: a sequence number that
// comes back below the last one by more than half the space counts as wrapped (packets
// reordered across the wrap are not supported).
export class SrtpSender {
  constructor(keyAndSalt) {
    if (keyAndSalt.length !== 30)
      throw new Error(`AES_CM_128_HMAC_SHA1_80 needs 30 bytes of key and salt, not ${keyAndSalt.length}`);
    this.keys = srtpSessionKeys(keyAndSalt.subarray(0, 16), keyAndSalt.subarray(16));
    this.rtcpKeys = srtpSessionKeys(keyAndSalt.subarray(0, 16), keyAndSalt.subarray(16), true);
    this.streams = new Map(); // ssrc -> { roc, lastSeq }
    this.rtcpIndex = new Map(); // sender ssrc -> the last SRTCP index used
  }

  protect(packet) {
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let s = this.streams.get(ssrc);
    if (!s) {
      s = { roc: 0, lastSeq: seq };
      this.streams.set(ssrc, s);
    } else if (seq < s.lastSeq && s.lastSeq - seq > 0x8000) {
      s.roc = (s.roc + 1) >>> 0;
    }
    s.lastSeq = seq;
    const iv = counterBlock(this.keys.salt, packet, 8, BigInt(s.roc) * 65536n + BigInt(seq));
    if (packet[0] & 0x10)
      throw new Error('SrtpSender: RTP header extensions are not supported');
    const headerLength = 12 + 4 * (packet[0] & 0x0f);
    const cipher = crypto.createCipheriv('aes-128-ctr', this.keys.cipherKey, iv);
    const encrypted = Buffer.concat([packet.subarray(0, headerLength), cipher.update(packet.subarray(headerLength))]);
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(s.roc);
    return Buffer.concat([encrypted, tag80(this.keys.authKey, encrypted, roc)]);
  }

  // A compound RTCP datagram: everything after the first 8 bytes (header and sender SSRC)
  // encrypted, then the E flag and the sender's next SRTCP index, then the tag (§3.4).
  protectRtcp(datagram) {
    const ssrc = datagram.readUInt32BE(4);
    const index = (this.rtcpIndex.get(ssrc) ?? -1) + 1;
    if (index > 0x7fffffff)
      throw new Error('SrtpSender: the SRTCP index is exhausted (rekey)');
    this.rtcpIndex.set(ssrc, index);
    const iv = counterBlock(this.rtcpKeys.salt, datagram, 4, index);
    const cipher = crypto.createCipheriv('aes-128-ctr', this.rtcpKeys.cipherKey, iv);
    const encrypted = Buffer.concat([datagram.subarray(0, 8), cipher.update(datagram.subarray(8))]);
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32BE((0x80000000 | index) >>> 0);
    return Buffer.concat([encrypted, trailer, tag80(this.rtcpKeys.authKey, encrypted, trailer)]);
  }
}
