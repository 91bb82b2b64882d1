// SRTP senders for the tests, written from RFC 3711 (AES_CM_128_HMAC_SHA1_80 only) on
// node's crypto: the session keys derived from a master key and salt (§4.3.1, key
// derivation rate 0), the payload encrypted in AES counter mode (§4.1.1) and the packet
// authenticated with HMAC-SHA1 over it and the rollover counter, 80 bits kept (§4.2). A
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

// Session keys of one master key (16 bytes) and salt (14): the encryption key (label 0),
// the authentication key (label 1) and the session salt (label 2).
export function srtpSessionKeys(masterKey, masterSalt) {
  return {
    cipherKey: derive(masterKey, masterSalt, 0, 16),
    authKey: derive(masterKey, masterSalt, 1, 20),
    salt: derive(masterKey, masterSalt, 2, 14),
  };
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

// Protects RTP packets (as built by rtpPacket) of any number of SSRCs with one master key
// (30 bytes: key then salt, as in srtpParameters.keyBase64). The rollover counter of each
// SSRC is carried from packet to packet: a sequence number that comes back below the last
// one by more than half the space counts as wrapped.
export class SrtpSender {
  constructor(keyAndSalt) {
    if (keyAndSalt.length !== 30)
      throw new Error(`AES_CM_128_HMAC_SHA1_80 needs 30 bytes of key and salt, not ${keyAndSalt.length}`);
    this.keys = srtpSessionKeys(keyAndSalt.subarray(0, 16), keyAndSalt.subarray(16));
    this.streams = new Map(); // ssrc -> { roc, lastSeq }
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
    const index = BigInt(s.roc) * 65536n + BigInt(seq);
    // IV (§4.1.1): (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
    const iv = Buffer.alloc(16);
    this.keys.salt.copy(iv, 0);
    for (let i = 0; i < 4; ++i)
      iv[4 + i] ^= packet[8 + i];
    for (let i = 0; i < 6; ++i)
      iv[8 + i] ^= Number((index >> BigInt(8 * (5 - i))) & 0xffn);
    const headerLength = 12 + 4 * (packet[0] & 0x0f);
    const cipher = crypto.createCipheriv('aes-128-ctr', this.keys.cipherKey, iv);
    const encrypted = Buffer.concat([packet.subarray(0, headerLength), cipher.update(packet.subarray(headerLength))]);
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(s.roc);
    const tag = crypto.createHmac('sha1', this.keys.authKey).update(encrypted).update(roc).digest().subarray(0, 10);
    return Buffer.concat([encrypted, tag]);
  }
}
