// Hostile and broken clients against the real binary: every bad frame gets exactly one
// typed error and the connection stays usable; a peer in the same room keeps being served
// meanwhile; frames over the size limit, slow readers, silent peers, bad query strings and
// full rooms are cut off with the documented close codes; the server stays healthy.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { httpGet } from './lib/http.mjs';
import { tempConfig, withServer } from './lib/server.mjs';
import { pollUntil, serverSideEstablished, tcpBufferMax } from './lib/tcp.mjs';
import { closeAll, connectPeer, isReply, nextParticipantList } from './lib/ws_client.mjs';
import WebSocket from 'ws';

const T = { timeout: 120000 };

const MAX_MESSAGE_BYTES = 65536; // signaling.maxMessageBytes default
const BOB_DEADLINE_MS = 2000; // bob's requests are answered within this, whatever mallory does
const BATCH = 8; // frames mallory pipelines before awaiting their replies (< maxRequestsInFlight)
const BOB_EVERY_BATCHES = 3; // bob asks something every BATCH * BOB_EVERY_BATCHES frames
const ROUNDS = 3; // how many times each case is sent (with different requestIds, shuffled)

// ---- valid fragments, so that each case breaks exactly one thing -----------------------

const DTLS_OK = {
  role: 'client',
  fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, () => 'AB').join(':') }],
};
const OPUS = {
  mimeType: 'audio/opus',
  payloadType: 111,
  clockRate: 48000,
  channels: 2,
  parameters: { minptime: 10, useinbandfec: 1 },
  rtcpFeedback: [{ type: 'transport-cc', parameter: '' }],
};
const RTP_PARAMS_OK = {
  mid: '0',
  codecs: [OPUS],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 9, encrypt: false, parameters: {} }],
  encodings: [{ ssrc: 11111111, dtx: false }],
  rtcp: { cname: 'mallory-cname', reducedSize: true },
};
const RTP_CAPS_OK = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] },
  ],
  headerExtensions: [],
};
const rtp = (patch) => ({ ...RTP_PARAMS_OK, ...patch });
const opus = (patch) => ({ ...rtp(), codecs: [{ ...OPUS, ...patch }] });
const without = (obj, key) => {
  const copy = { ...obj };
  delete copy[key];
  return copy;
};

// Outcomes a case accepts: an error code, or 'reply:<type>' for a successful reply.
// Until the transport machinery lands, valid transport/produce/consume requests answer
// `unsupported` (docs/protocol.md); the lists below accept both the final and that answer.
const UNKNOWN_TRANSPORT = ['unknown-transport', 'unsupported'];
const UNKNOWN_PRODUCER = ['unknown-producer', 'unsupported'];
const UNKNOWN_CONSUMER = ['unknown-consumer', 'unsupported'];

// ---- the cases --------------------------------------------------------------------------
// Each case builds its frame from a requestId. `rid: true` when the server can read the
// requestId back (replies are matched by it); otherwise replies carry no requestId and are
// matched in order. `request` (when not undefined) is the expected error data.request.

const cases = [];

// A JSON object frame with a readable requestId.
function obj(name, msg, expect, extra = {}) {
  cases.push({
    name,
    build: (rid) => ({ text: JSON.stringify({ ...msg, requestId: rid }), rid }),
    rid: true,
    expect: [expect].flat(),
    request: typeof msg.type === 'string' ? msg.type : null,
    ...extra,
  });
}

// A frame sent as is (text, or binary): no requestId can be read from it.
function raw(name, payload, expect, { binary = false, request = null } = {}) {
  cases.push({ name, build: () => ({ text: payload, binary }), rid: false, expect: [expect].flat(), request });
}

// A JSON object frame whose requestId is not a string or number.
function badRid(name, msg, requestId, expect = 'invalid-message') {
  cases.push({
    name,
    build: () => ({ text: JSON.stringify({ ...msg, requestId }) }),
    rid: false,
    expect: [expect].flat(),
    request: msg.type,
  });
}

// -- not JSON, or not a JSON object: malformed-json
for (const [name, text] of [
  ['empty frame', ''],
  ['only whitespace', ' \n\t '],
  ['lone open brace', '{'],
  ['lone close brace', '}'],
  ['truncated after key', '{"type":'],
  ['truncated object', '{"type":"get-rtp-capabilities"'],
  ['truncated with requestId', '{"type":"get-rtp-capabilities","requestId":1'],
  ['truncated string', '{"type":"get-rtp-capa'],
  ['truncated literal null', 'nul'],
  ['truncated literal true', 'tru'],
  ['missing value', '{"a":}'],
  ['single quotes', "{'type':'get-rtp-capabilities'}"],
  ['unquoted key', '{type:"get-rtp-capabilities"}'],
  ['trailing comma', '{"type":"get-rtp-capabilities",}'],
  ['trailing garbage', '{"type":"get-rtp-capabilities"} garbage'],
  ['two objects', '{"type":"get-rtp-capabilities"}{"type":"get-rtp-capabilities"}'],
  ['comment', '/* hi */{"type":"get-rtp-capabilities"}'],
  ['NaN', '{"type":"get-rtp-capabilities","requestId":NaN}'],
  ['Infinity', '{"type":"get-rtp-capabilities","requestId":Infinity}'],
  ['leading zero', '{"type":"get-rtp-capabilities","requestId":01}'],
  ['bare minus', '{"type":"get-rtp-capabilities","requestId":-}'],
  ['dot without digits', '{"type":"get-rtp-capabilities","requestId":1.}'],
  ['bad escape', '{"type":"get\\x41"}'],
  ['short unicode escape', '{"type":"\\u12"}'],
  ['raw control character', '{"type":"get-rtp-\u0001capabilities"}'],
  ['raw newline in string', '{"type":"get-rtp-\ncapabilities"}'],
  ['unterminated string', '{"type":"get-rtp-capabilities'],
  ['10000 open brackets', '['.repeat(10000)],
  ['5000 open objects', '{"a":'.repeat(5000)],
  ['array root', '[]'],
  ['array of a request', '[{"type":"get-rtp-capabilities","requestId":5}]'],
  ['number root', '42'],
  ['negative zero root', '-0'],
  ['string root', '"x"'],
  ['null root', 'null'],
  ['true root', 'true'],
  ['false root', 'false'],
]) {
  raw(name, text, 'malformed-json');
}
// JSON allows a lone surrogate escape; a strict parser refuses it. Either is acceptable.
raw('lone surrogate escape', '{"type":"\\ud800"}', ['malformed-json', 'unknown-type'], { request: undefined });
// A number out of double range.
raw('number root out of range', '1e999', 'malformed-json');

// -- binary frames: invalid-message
raw('binary request', Buffer.from('{"type":"get-rtp-capabilities","requestId":99}'), 'invalid-message', { binary: true });
raw('binary empty', Buffer.alloc(0), 'invalid-message', { binary: true });
raw('binary bytes', Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]), 'invalid-message', { binary: true });
raw('binary 4 KiB', Buffer.alloc(4096, 0xa5), 'invalid-message', { binary: true });

// -- `type` missing or not a string: invalid-message
obj('no type', {}, 'invalid-message');
obj('no type, with data', { data: {} }, 'invalid-message');
obj('type with wrong case key', { Type: 'get-rtp-capabilities' }, 'invalid-message');
for (const [name, type] of [
  ['number', 1],
  ['float', 1.5],
  ['null', null],
  ['true', true],
  ['object', {}],
  ['array', []],
  ['array of the name', ['get-rtp-capabilities']],
]) {
  obj(`type is ${name}`, { type }, 'invalid-message', { request: null });
}
obj('type is empty', { type: '' }, ['unknown-type', 'invalid-message'], { request: undefined });

// -- unknown request names: unknown-type
for (const type of [
  'nope',
  'GET-RTP-CAPABILITIES',
  'get-rtp-capabilities ',
  ' get-rtp-capabilities',
  'get-rtp-capabilities\u0000',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'rtp-capabilities', // a reply name
  'transport-params', // a reply name
  'error',
  'participant-list-update', // an event name
  'ü-ñ-😀',
  'x'.repeat(1000),
]) {
  obj(`unknown type ${JSON.stringify(type.slice(0, 30))}`, { type }, 'unknown-type');
}
obj('unknown type of 60000 bytes', { type: 'y'.repeat(60000) }, 'unknown-type');

// -- `data` not an object: invalid-message
for (const [name, data] of [
  ['array', []],
  ['number', 1],
  ['zero', 0],
  ['string', 'x'],
  ['true', true],
  ['false', false],
]) {
  obj(`data is ${name}`, { type: 'get-rtp-capabilities', data }, 'invalid-message');
}
obj('create-transport data is a string', { type: 'create-transport', data: 'send' }, 'invalid-message');
obj('produce data is an array', { type: 'produce', data: [] }, 'invalid-message');
// null may count as "absent" (data is optional here).
obj('data is null', { type: 'get-rtp-capabilities', data: null }, ['invalid-message', 'reply:rtp-capabilities']);

// -- `requestId` not a string or number: invalid-message, and the reply carries none
for (const [name, requestId] of [
  ['object', {}],
  ['object with id', { id: 1 }],
  ['array', []],
  ['array of one', [1]],
  ['true', true],
  ['false', false],
]) {
  badRid(`requestId is ${name}`, { type: 'get-rtp-capabilities' }, requestId);
}
badRid('requestId is null', { type: 'get-rtp-capabilities' }, null, ['invalid-message', 'reply:rtp-capabilities']);

// -- roomId of another room: wrong-room (mallory is in room1)
obj('get-rtp-capabilities of another room', { type: 'get-rtp-capabilities', data: { roomId: 'room9' } }, 'wrong-room');
obj('roomId differs in case', { type: 'get-rtp-capabilities', data: { roomId: 'ROOM1' } }, 'wrong-room');
obj('create-transport in another room', { type: 'create-transport', data: { roomId: 'room9', direction: 'send' } }, 'wrong-room');
obj(
  'create-webrtc-transport in another room',
  { type: 'create-webrtc-transport', data: { roomId: 'room9', direction: 'send' } },
  'wrong-room',
);
obj('connect-transport in another room', { type: 'connect-transport', data: { roomId: 'room9', dtlsParameters: DTLS_OK } }, 'wrong-room');
obj('produce in another room', { type: 'produce', data: { roomId: 'room9', kind: 'audio', rtpParameters: RTP_PARAMS_OK } }, 'wrong-room');
obj('consume in another room', { type: 'consume', data: { roomId: 'room9', rtpCapabilities: RTP_CAPS_OK } }, 'wrong-room');
obj('resume-consumer in another room', { type: 'resume-consumer', data: { roomId: 'room9', consumerId: 'c1' } }, 'wrong-room');
obj('roomId of 50000 bytes', { type: 'get-rtp-capabilities', data: { roomId: 'r'.repeat(50000) } }, ['invalid-field', 'wrong-room']);
obj('roomId is a number', { type: 'get-rtp-capabilities', data: { roomId: 5 } }, 'invalid-field');
obj('roomId is an object', { type: 'get-rtp-capabilities', data: { roomId: {} } }, 'invalid-field');

// -- join-mediasoup-room
obj('join another room', { type: 'join-mediasoup-room', data: { roomId: 'room9' } }, 'already-joined');
obj('join: roomId is a number', { type: 'join-mediasoup-room', data: { roomId: 7 } }, 'invalid-field');
obj('join: name is a number', { type: 'join-mediasoup-room', data: { name: 5 } }, 'invalid-field');
obj('join: rtpCapabilities is a string', { type: 'join-mediasoup-room', data: { rtpCapabilities: 'x' } }, 'invalid-field');
obj('join: rtpCapabilities.codecs is a string', { type: 'join-mediasoup-room', data: { rtpCapabilities: { codecs: 'x' } } }, 'invalid-field');

// -- create-transport / create-webrtc-transport
obj('create-transport: direction unknown', { type: 'create-transport', data: { direction: 'sideways' } }, 'invalid-field');
obj('create-transport: direction upper case', { type: 'create-transport', data: { direction: 'SEND' } }, 'invalid-field');
obj('create-transport: direction is a number', { type: 'create-transport', data: { direction: 1 } }, 'invalid-field');
obj('create-webrtc-transport: no data', { type: 'create-webrtc-transport' }, 'missing-field');
obj('create-webrtc-transport: no direction', { type: 'create-webrtc-transport', data: {} }, 'missing-field');
obj('create-webrtc-transport: direction both', { type: 'create-webrtc-transport', data: { direction: 'both' } }, 'invalid-field');

// -- connect-transport
obj('connect-transport: no data', { type: 'connect-transport' }, 'missing-field');
obj('connect-transport: no dtlsParameters', { type: 'connect-transport', data: {} }, 'missing-field');
obj('connect-transport: dtlsParameters is a string', { type: 'connect-transport', data: { dtlsParameters: 'x' } }, 'invalid-field');
obj('connect-transport: dtlsParameters is an array', { type: 'connect-transport', data: { dtlsParameters: [] } }, 'invalid-field');
obj('connect-transport: dtlsParameters is null', { type: 'connect-transport', data: { dtlsParameters: null } }, ['invalid-field', 'missing-field']);
obj('connect-transport: dtlsParameters empty', { type: 'connect-transport', data: { dtlsParameters: {} } }, ['missing-field', 'invalid-field']);
obj(
  'connect-transport: fingerprints is a string',
  { type: 'connect-transport', data: { dtlsParameters: { fingerprints: 'x' } } },
  'invalid-field',
);
obj(
  'connect-transport: fingerprints empty',
  { type: 'connect-transport', data: { dtlsParameters: { fingerprints: [] } } },
  ['invalid-field', 'missing-field'],
);
obj(
  'connect-transport: fingerprint without value',
  { type: 'connect-transport', data: { dtlsParameters: { fingerprints: [{ algorithm: 'sha-256' }] } } },
  ['missing-field', 'invalid-field'],
);
obj(
  'connect-transport: fingerprint value is a number',
  { type: 'connect-transport', data: { dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 5 }] } } },
  'invalid-field',
);
obj(
  'connect-transport: unknown fingerprint algorithm',
  { type: 'connect-transport', data: { dtlsParameters: { fingerprints: [{ ...DTLS_OK.fingerprints[0], algorithm: 'md5000' }] } } },
  'invalid-field',
);
obj('connect-transport: role unknown', { type: 'connect-transport', data: { dtlsParameters: { ...DTLS_OK, role: 'master' } } }, 'invalid-field');
obj('connect-transport: transportId is a number', { type: 'connect-transport', data: { transportId: 5, dtlsParameters: DTLS_OK } }, 'invalid-field');
obj('connect-transport: unknown transportId', { type: 'connect-transport', data: { transportId: 'nope', dtlsParameters: DTLS_OK } }, UNKNOWN_TRANSPORT);
obj('connect-transport: no transport yet', { type: 'connect-transport', data: { dtlsParameters: DTLS_OK } }, [...UNKNOWN_TRANSPORT, 'invalid-state']);

// -- produce
obj('produce: no data', { type: 'produce' }, 'missing-field');
obj('produce: empty data', { type: 'produce', data: {} }, 'missing-field');
obj('produce: no rtpParameters', { type: 'produce', data: { kind: 'audio' } }, 'missing-field');
obj('produce: no kind', { type: 'produce', data: { rtpParameters: RTP_PARAMS_OK } }, 'missing-field');
obj('produce: kind data', { type: 'produce', data: { kind: 'data', rtpParameters: RTP_PARAMS_OK } }, 'invalid-field');
obj('produce: kind is a number', { type: 'produce', data: { kind: 5, rtpParameters: RTP_PARAMS_OK } }, 'invalid-field');
obj('produce: rtpParameters is a string', { type: 'produce', data: { kind: 'audio', rtpParameters: 'x' } }, 'invalid-field');
obj('produce: rtpParameters is an array', { type: 'produce', data: { kind: 'audio', rtpParameters: [] } }, 'invalid-field');
obj('produce: codecs is a string', { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ codecs: 'x' }) } }, 'invalid-field');
obj('produce: no codecs', { type: 'produce', data: { kind: 'audio', rtpParameters: without(RTP_PARAMS_OK, 'codecs') } }, [
  'missing-field',
  'invalid-field',
]);
obj('produce: payloadType 300', { type: 'produce', data: { kind: 'audio', rtpParameters: opus({ payloadType: 300 }) } }, 'invalid-field');
obj('produce: payloadType -1', { type: 'produce', data: { kind: 'audio', rtpParameters: opus({ payloadType: -1 }) } }, 'invalid-field');
obj('produce: payloadType 1.5', { type: 'produce', data: { kind: 'audio', rtpParameters: opus({ payloadType: 1.5 }) } }, 'invalid-field');
obj('produce: mimeType is a number', { type: 'produce', data: { kind: 'audio', rtpParameters: opus({ mimeType: 5 }) } }, 'invalid-field');
obj('produce: clockRate is a string', { type: 'produce', data: { kind: 'audio', rtpParameters: opus({ clockRate: '48000' }) } }, 'invalid-field');
obj(
  'produce: codec without mimeType',
  { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ codecs: [without(OPUS, 'mimeType')] }) } },
  ['missing-field', 'invalid-field'],
);
obj('produce: encodings is a string', { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ encodings: 'x' }) } }, 'invalid-field');
obj('produce: ssrc negative', { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ encodings: [{ ssrc: -5 }] }) } }, 'invalid-field');
obj('produce: ssrc 2^32', { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ encodings: [{ ssrc: 2 ** 32 }] }) } }, 'invalid-field');
obj(
  'produce: header extension id 300',
  { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ headerExtensions: [{ uri: 'urn:x', id: 300 }] }) } },
  'invalid-field',
);
obj('produce: rtcp is a string', { type: 'produce', data: { kind: 'audio', rtpParameters: rtp({ rtcp: 'x' }) } }, 'invalid-field');
obj('produce: paused is a string', { type: 'produce', data: { kind: 'audio', rtpParameters: RTP_PARAMS_OK, paused: 'yes' } }, 'invalid-field');
obj('produce: appData is a number', { type: 'produce', data: { kind: 'audio', rtpParameters: RTP_PARAMS_OK, appData: 5 } }, 'invalid-field');
obj('produce: transportId is a number', { type: 'produce', data: { transportId: 5, kind: 'audio', rtpParameters: RTP_PARAMS_OK } }, 'invalid-field');
obj(
  'produce: unknown transportId',
  { type: 'produce', data: { transportId: 'nope', kind: 'audio', rtpParameters: RTP_PARAMS_OK } },
  UNKNOWN_TRANSPORT,
);
obj('produce: no send transport yet', { type: 'produce', data: { kind: 'audio', rtpParameters: RTP_PARAMS_OK } }, [
  ...UNKNOWN_TRANSPORT,
  'invalid-state',
]);

// -- consume
obj('consume: no data', { type: 'consume' }, 'missing-field');
obj('consume: no rtpCapabilities', { type: 'consume', data: {} }, 'missing-field');
obj('consume: only producerId', { type: 'consume', data: { producerId: 'p1' } }, 'missing-field');
obj('consume: rtpCapabilities is a string', { type: 'consume', data: { rtpCapabilities: 'x' } }, 'invalid-field');
obj('consume: codecs is a number', { type: 'consume', data: { rtpCapabilities: { codecs: 5 } } }, 'invalid-field');
obj(
  'consume: codec kind text',
  { type: 'consume', data: { rtpCapabilities: { codecs: [{ ...RTP_CAPS_OK.codecs[0], kind: 'text' }] } } },
  'invalid-field',
);
obj('consume: producerId is a number', { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, producerId: 5 } }, 'invalid-field');
obj('consume: paused is a string', { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, paused: 'no' } }, 'invalid-field');
obj('consume: unknown producerId', { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, producerId: 'nope' } }, UNKNOWN_PRODUCER);
obj(
  'consume: unknown producer and transport',
  { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, producerId: 'nope', transportId: 'nope' } },
  [...UNKNOWN_PRODUCER, 'unknown-transport'],
);

// -- consumer and producer operations, ICE restart, stats
for (const type of ['resume-consumer', 'pause-consumer', 'get-consumer-stats']) {
  obj(`${type}: no data`, { type }, 'missing-field');
  obj(`${type}: no consumerId`, { type, data: {} }, 'missing-field');
  obj(`${type}: consumerId is a number`, { type, data: { consumerId: 5 } }, 'invalid-field');
  obj(`${type}: unknown consumerId`, { type, data: { consumerId: 'nope' } }, UNKNOWN_CONSUMER);
}
for (const type of ['pause-producer', 'resume-producer', 'close-producer', 'get-producer-stats']) {
  obj(`${type}: no producerId`, { type, data: {} }, 'missing-field');
  obj(`${type}: producerId is an object`, { type, data: { producerId: {} } }, 'invalid-field');
  obj(`${type}: unknown producerId`, { type, data: { producerId: 'nope' } }, UNKNOWN_PRODUCER);
}
for (const type of ['restart-ice', 'get-transport-stats']) {
  obj(`${type}: no transportId`, { type, data: {} }, 'missing-field');
  obj(`${type}: transportId is true`, { type, data: { transportId: true } }, 'invalid-field');
  obj(`${type}: unknown transportId`, { type, data: { transportId: 'nope' } }, UNKNOWN_TRANSPORT);
}

// -- deep nesting and big values inside the size limit
raw(
  'data nested 10000 deep',
  `{"type":"get-rtp-capabilities","data":${'['.repeat(10000)}${']'.repeat(10000)}}`,
  ['malformed-json', 'invalid-message'],
  { request: undefined },
);
raw(
  'unknown field nested 32000 deep',
  `{"type":"get-rtp-capabilities","x":${'['.repeat(32000)}${']'.repeat(32000)}}`,
  ['malformed-json', 'reply:rtp-capabilities'],
  { request: undefined },
);
raw(
  'unknown field of 10000 nested objects',
  `{"type":"get-rtp-capabilities","x":${'{"a":'.repeat(10000)}1${'}'.repeat(10000)}}`,
  ['malformed-json', 'reply:rtp-capabilities'],
  { request: undefined },
);
obj('unknown field of 60000 bytes', { type: 'get-rtp-capabilities', data: { junk: 'j'.repeat(60000) } }, 'reply:rtp-capabilities');
obj('unknown field of 30000 two-byte characters', { type: 'get-rtp-capabilities', data: { junk: 'ü'.repeat(30000) } }, 'reply:rtp-capabilities');
obj('5000 unknown fields', { type: 'get-rtp-capabilities', data: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) }, 'reply:rtp-capabilities');
obj('array of 20000 numbers', { type: 'get-rtp-capabilities', data: { junk: new Array(20000).fill(0) } }, 'reply:rtp-capabilities');
obj('join: name of 50000 bytes', { type: 'join-mediasoup-room', data: { name: 'n'.repeat(50000) } }, ['invalid-field', 'reply:join-mediasoup-room']);

// -- controls: valid requests between the bad ones
obj('valid get-rtp-capabilities', { type: 'get-rtp-capabilities' }, 'reply:rtp-capabilities');
obj('valid get-rtp-capabilities of own room', { type: 'get-rtp-capabilities', data: { roomId: 'room1' } }, 'reply:rtp-capabilities');

// ---- running them ------------------------------------------------------------------------

// A deterministic shuffle (mulberry32), so that a failure can be replayed.
function shuffled(list, seed) {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const outcome = (m) => (m.type === 'error' ? m.data?.code : `reply:${m.type}`);

function checkReply(c, reply) {
  const got = outcome(reply);
  const shown = JSON.stringify(reply).slice(0, 400);
  assert.ok(c.expect.includes(got), `case '${c.name}': expected ${c.expect.join(' or ')}, got ${shown}`);
  if (reply.type === 'error') {
    assert.equal(typeof reply.data?.message, 'string', `case '${c.name}': error without data.message: ${shown}`);
    assert.ok(reply.data.message.length > 0, `case '${c.name}': empty data.message`);
    if (c.request !== undefined) {
      assert.ok(
        reply.data.request === c.request,
        `case '${c.name}': data.request should be ${JSON.stringify(c.request)}, got ${JSON.stringify(reply.data.request)?.slice(0, 80)}`,
      );
    }
  }
}

async function bobIsServed(bob, label) {
  const t0 = performance.now();
  const reply = await bob.request('get-rtp-capabilities', undefined, BOB_DEADLINE_MS);
  assert.equal(reply.type, 'rtp-capabilities', `bob ${label}: ${JSON.stringify(reply).slice(0, 200)}`);
  return performance.now() - t0;
}

test('bad frames each get exactly one typed error; other peers keep being served; oversized frames close 1009', T, async () => {
  await withServer([], async (server) => {
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    const mallory = await connectPeer(server, { auth: 'mallory', channelId: 'room1' });
    await nextParticipantList(bob, ['bob', 'mallory']);

    let ridCounter = 0;
    const frames = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of shuffled(cases, 1234 + round)) frames.push(c);
    }
    assert.ok(frames.length >= 300, `only ${frames.length} frames`);

    // Batches of up to BATCH frames, at most one of them without a readable requestId (its
    // reply is recognised by having none, so it must be the only such reply outstanding).
    const batches = [];
    for (const c of frames) {
      let last = batches.at(-1);
      if (!last || last.length >= BATCH || (!c.rid && last.some((x) => !x.rid))) batches.push((last = []));
      last.push(c);
    }

    let bobWorst = 0;
    let sent = 0;
    for (const [n, group] of batches.entries()) {
      const batch = group.map((c) => {
        ridCounter += 1;
        const rid = ridCounter % 2 ? ridCounter : `m-${ridCounter}`;
        const f = c.build(rid);
        mallory.sendRaw(f.text, { binary: !!f.binary });
        return { c, rid: c.rid ? rid : undefined };
      });
      sent += batch.length;
      for (const { c, rid } of batch) {
        const reply =
          rid !== undefined
            ? await mallory.next((m) => isReply(m) && m.requestId === rid, 5000, `reply to case '${c.name}' (requestId ${rid})`)
            : await mallory.next((m) => isReply(m) && !('requestId' in m), 5000, `reply without requestId to case '${c.name}'`);
        checkReply(c, reply);
      }
      // Exactly one reply per frame: none left over once the batch's replies are in.
      const extra = mallory.take(isReply);
      assert.deepEqual(
        extra.map((m) => JSON.stringify(m).slice(0, 200)),
        [],
        `replies nobody asked for, after the batch [${group.map((c) => c.name).join('; ')}]`,
      );
      if ((n + 1) % BOB_EVERY_BATCHES === 0) {
        bobWorst = Math.max(bobWorst, await bobIsServed(bob, `after ${sent} bad frames`));
      }
    }
    // Exactly one reply each: after one more round trip nothing else is waiting.
    await mallory.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    const extra = mallory.take(isReply);
    assert.deepEqual(extra.map((m) => JSON.stringify(m).slice(0, 200)), [], 'replies nobody asked for');
    assert.ok(bobWorst < BOB_DEADLINE_MS);

    // Exactly at the size limit: served.
    const prefix = '{"type":"get-rtp-capabilities","requestId":"at-limit","pad":"';
    const suffix = '"}';
    const atLimit = prefix + 'p'.repeat(MAX_MESSAGE_BYTES - prefix.length - suffix.length) + suffix;
    assert.equal(Buffer.byteLength(atLimit), MAX_MESSAGE_BYTES);
    mallory.sendRaw(atLimit);
    const limitReply = await mallory.next((m) => m.requestId === 'at-limit', 5000, 'reply to a frame of exactly maxMessageBytes');
    assert.equal(limitReply.type, 'rtp-capabilities', JSON.stringify(limitReply).slice(0, 200));

    // One byte over: the connection is closed with 1009.
    const overLimit = prefix + 'p'.repeat(MAX_MESSAGE_BYTES + 1 - prefix.length - suffix.length) + suffix;
    assert.equal(Buffer.byteLength(overLimit), MAX_MESSAGE_BYTES + 1);
    mallory.sendRaw(overLimit);
    const { code } = await mallory.closedWithin(5000);
    assert.equal(code, 1009, 'close code for a frame over maxMessageBytes');

    const left = await bob.nextOfType('participant-left', undefined, 5000);
    assert.deepEqual(left.data, { peerId: 'mallory' });
    await nextParticipantList(bob, ['bob']);
    await bobIsServed(bob, 'after mallory was cut off');
    const health = await httpGet(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await bob.close();
  });
});

test('a slow reader is disconnected, the server stays healthy', T, async () => {
  // maxRequestsInFlight is raised so that every pipelined request gets a full reply.
  const config = tempConfig({ signaling: { maxQueuedBytes: 65536, maxRequestsInFlight: 4096 } });
  await withServer(['--config', config], async (server) => {
    const bob = await connectPeer(server, { auth: 'bob', channelId: 'room1' });
    const slow = await connectPeer(server, { auth: 'slow', channelId: 'room1' });
    await nextParticipantList(bob, ['bob', 'slow']);
    const capsBytes = JSON.stringify((await bob.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities')).data).length;

    // Enough replies to fill the kernel's buffers and the server's queue with room to spare.
    const [sndMax] = tcpBufferMax();
    const count = Math.min(20000, Math.max(3000, Math.ceil((1.5 * (sndMax + (1 << 20) + 65536)) / capsBytes)));

    const socket = slow.ws._socket;
    const serverPort = server.port;
    const clientPort = socket.localPort;
    assert.equal(serverSideEstablished(serverPort, clientPort), true, 'the connection is visible in /proc/net/tcp');
    socket.pause();
    for (let i = 0; i < count; i++) slow.send({ type: 'get-rtp-capabilities', requestId: i });

    // The server's end of the connection leaves ESTABLISHED when it gives up on the client.
    await pollUntil(() => !serverSideEstablished(serverPort, clientPort), {
      timeoutMs: 20000,
      what: `server drops a client that does not read ${count} replies of ${capsBytes} bytes`,
    });
    socket.resume();
    const { code } = await slow.closedWithin(10000);
    assert.ok([1008, 1006].includes(code), `slow reader close code ${code} (1008, or 1006 without a close frame)`);
    assert.ok(slow.received < count, `slow reader got all ${count} replies`);

    const left = await bob.nextOfType('participant-left', undefined, 5000);
    assert.deepEqual(left.data, { peerId: 'slow' });
    await bobIsServed(bob, 'after the slow reader was dropped');
    const health = await httpGet(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    await bob.close();
  });
});

test('a peer that does not answer pings is closed after idleTimeoutMs; one that does stays', T, async () => {
  const config = tempConfig({ signaling: { idleTimeoutMs: 1000 } });
  await withServer(['--config', config], async (server) => {
    const t0 = performance.now();
    const [silent, normal] = await Promise.all([
      connectPeer(server, { auth: 'silent', channelId: 'room1' }, { wsOptions: { autoPong: false } }),
      connectPeer(server, { auth: 'normal', channelId: 'room1' }),
    ]);
    await silent.closedWithin(3500);
    const closedAfter = performance.now() - t0;
    assert.ok(closedAfter >= 500, `closed after ${Math.round(closedAfter)} ms, before the idle timeout`);
    assert.equal(normal.isOpen, true, 'the answering peer was closed too');

    // The answering peer outlives several ping periods (pings come every ~idleTimeoutMs/2).
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`normal peer got ${normal.pings} pings in 5000 ms`)), 5000);
      const check = () => {
        if (normal.pings >= 4) {
          clearTimeout(timer);
          normal.ws.off('ping', check);
          resolve();
        }
      };
      normal.ws.on('ping', check);
      check();
    });
    assert.equal(normal.isOpen, true);
    assert.ok(performance.now() - t0 > 1500, 'the answering peer outlived the idle timeout');
    await normal.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    const left = await normal.nextOfType('participant-left');
    assert.deepEqual(left.data, { peerId: 'silent' });
    await normal.close();
  });
});

test('invalid query strings are closed with 4002; limits are enforced', T, async () => {
  await withServer([], async (server) => {
    const rejected = async (query) => {
      const ws = new WebSocket(server.wsUrl(`/socket?${query}`), { handshakeTimeout: 3000 });
      ws.on('error', () => {});
      const code = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          ws.terminate();
          reject(new Error(`?${query.slice(0, 60)}: still open after 3000 ms`));
        }, 3000);
        ws.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
        ws.on('unexpected-response', (req, res) => {
          clearTimeout(timer);
          req.destroy();
          reject(new Error(`?${query.slice(0, 60)}: upgrade refused with HTTP ${res.statusCode}, expected close code 4002`));
        });
      });
      assert.equal(code, 4002, `close code for ?${query.slice(0, 60)}`);
    };
    await rejected(`auth=${'a'.repeat(129)}&channelId=room1`);
    await rejected('auth=%00bad&channelId=room1');
    await rejected('auth=bad%0Aline&channelId=room1');
    await rejected('auth=%zz&channelId=room1');
    await rejected(`auth=ok&channelId=${'c'.repeat(129)}`);
    await rejected('auth=ok&channelId=room%01');

    // 128 bytes is still fine.
    const longId = 'a'.repeat(128);
    const edge = await connectPeer(server, { auth: longId, channelId: 'room1' });
    await nextParticipantList(edge, [longId]);
    await edge.close();
    const health = await httpGet(`${server.url}/healthz`);
    assert.equal(health.status, 200);
  });

  const config = tempConfig({ limits: { maxPeersPerRoom: 2, maxRooms: 2 } });
  await withServer(['--config', config], async (server) => {
    const a = await connectPeer(server, { auth: 'a', channelId: 'room1' });
    const b = await connectPeer(server, { auth: 'b', channelId: 'room1' });
    await nextParticipantList(a, ['a', 'b']);
    // Room full: with channelId the connection is closed with 4003 ...
    const c = await connectPeer(server, { auth: 'c', channelId: 'room1' });
    assert.equal((await c.closedWithin(3000)).code, 4003);
    // ... with join-mediasoup-room the request fails and the connection stays.
    const d = await connectPeer(server, { auth: 'd' });
    await d.expectError('join-mediasoup-room', { roomId: 'room1' }, 'limit-exceeded');
    // Too many rooms.
    const e = await connectPeer(server, { auth: 'e', channelId: 'room2' });
    await nextParticipantList(e, ['e']);
    await d.expectError('join-mediasoup-room', { roomId: 'room3' }, 'limit-exceeded');
    const f = await connectPeer(server, { auth: 'f', channelId: 'room3' });
    assert.equal((await f.closedWithin(3000)).code, 4003);
    // The rejected ones did not disturb the room.
    await assertNoLeftFor(a, ['c']);
    await closeAll(a, b, d, e);
  });
});

// No participant-left may be queued for peers that never got in.
async function assertNoLeftFor(client, ids) {
  await client.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
  const bad = client.take((m) => m.type === 'participant-left' && ids.includes(m.data?.peerId));
  assert.deepEqual(bad, []);
}

test('requests that need a room are refused before joining', T, async () => {
  await withServer([], async (server) => {
    const loner = await connectPeer(server, { auth: 'loner' });
    const needRoom = ['not-joined', 'unsupported'];
    for (const [type, data] of [
      ['create-transport', { direction: 'send' }],
      ['create-webrtc-transport', { direction: 'recv' }],
      ['produce', { kind: 'audio', rtpParameters: RTP_PARAMS_OK }],
      ['consume', { rtpCapabilities: RTP_CAPS_OK }],
    ]) {
      const reply = await loner.request(type, data);
      assert.ok(reply.type === 'error' && needRoom.includes(reply.data?.code), `${type} before joining: ${JSON.stringify(reply)}`);
    }
    // Capabilities need no room.
    await loner.expectReply('get-rtp-capabilities', undefined, 'rtp-capabilities');
    await loner.close();
  });
});
