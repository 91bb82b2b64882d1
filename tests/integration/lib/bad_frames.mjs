// The bad frames of bad_input.test.mjs: a table of named cases, each breaking one thing
// of an otherwise valid message (docs/protocol.md), with the outcomes it accepts.
//
// A case: { name, build(requestId) -> { text, binary? }, rid, expect, request }
//   rid      true when the server can read the requestId back (the reply is matched by it);
//            otherwise the reply carries no requestId and is matched by order.
//   expect   accepted outcomes: an error code, or 'reply:<type>' for a successful reply.
//   request  the expected error data.request (undefined: not checked).

// ---- valid fragments, so that each case breaks exactly one thing -----------------------

export const DTLS_OK = {
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
export const RTP_PARAMS_OK = {
  mid: '0',
  codecs: [OPUS],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 9, encrypt: false, parameters: {} }],
  encodings: [{ ssrc: 11111111, dtx: false }],
  rtcp: { cname: 'mallory-cname', reducedSize: true },
};
export const RTP_CAPS_OK = {
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
const UNKNOWN_TRANSPORT = 'unknown-transport';
const UNKNOWN_PRODUCER = 'unknown-producer';
const UNKNOWN_CONSUMER = 'unknown-consumer';

// ---- the cases --------------------------------------------------------------------------
// Each case builds its frame from a requestId. `rid: true` when the server can read the
// requestId back (replies are matched by it); otherwise replies carry no requestId and are
// matched in order. `request` (when not undefined) is the expected error data.request.

export const cases = [];

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
obj(
  'connect-transport: fingerprint value not hex',
  { type: 'connect-transport', data: { dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'zz' }] } } },
  'invalid-field',
);
obj('connect-transport: role unknown', { type: 'connect-transport', data: { dtlsParameters: { ...DTLS_OK, role: 'master' } } }, 'invalid-field');
obj('connect-transport: transportId is a number', { type: 'connect-transport', data: { transportId: 5, dtlsParameters: DTLS_OK } }, 'invalid-field');
obj('connect-transport: unknown transportId', { type: 'connect-transport', data: { transportId: 'nope', dtlsParameters: DTLS_OK } }, UNKNOWN_TRANSPORT);
obj('connect-transport: no transport yet', { type: 'connect-transport', data: { dtlsParameters: DTLS_OK } }, UNKNOWN_TRANSPORT);

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
obj('produce: no send transport yet', { type: 'produce', data: { kind: 'audio', rtpParameters: RTP_PARAMS_OK } }, UNKNOWN_TRANSPORT);

// -- consume
obj('consume: no data', { type: 'consume' }, 'missing-field');
obj('consume: no rtpCapabilities', { type: 'consume', data: {} }, 'missing-field');
obj('consume: only producerId', { type: 'consume', data: { producerId: 'p1' } }, 'missing-field');
obj('consume: rtpCapabilities is a string', { type: 'consume', data: { rtpCapabilities: 'x' } }, 'invalid-field');
obj('consume: codecs is a number', { type: 'consume', data: { rtpCapabilities: { codecs: 5 } } }, 'invalid-field');
obj(
  'consume: codec mimeType text/plain',
  { type: 'consume', data: { rtpCapabilities: { codecs: [{ ...RTP_CAPS_OK.codecs[0], kind: 'audio', mimeType: 'text/plain' }] } } },
  'invalid-field',
);
obj(
  'consume: codec without clockRate',
  { type: 'consume', data: { rtpCapabilities: { codecs: [without(RTP_CAPS_OK.codecs[0], 'clockRate')] } } },
  ['missing-field', 'invalid-field'],
);
obj('consume: producerId is a number', { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, producerId: 5 } }, 'invalid-field');
obj('consume: paused is a string', { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, paused: 'no' } }, 'invalid-field');
// This peer has no transport: the receive transport is checked before the producer.
obj('consume: unknown producerId, no receive transport', { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, producerId: 'nope' } }, UNKNOWN_TRANSPORT);
obj(
  'consume: unknown producer and transport',
  { type: 'consume', data: { rtpCapabilities: RTP_CAPS_OK, producerId: 'nope', transportId: 'nope' } },
  UNKNOWN_TRANSPORT,
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
