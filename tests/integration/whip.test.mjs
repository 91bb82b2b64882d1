// WHIP's HTTP side against the real server, without a browser: the tokens (auth.mode jwt),
// every kind of bad request with its status and reason, a publisher the room refuses, the
// bounds per token and per address, PATCH's preconditions, and that none of it leaves a participant
// behind. The offers are real Chromium and Firefox ones (tests/fixtures/sdp/); no ICE
// follows them here (tests/integration/browser_whip.test.mjs has the media).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { tempConfig, withServer } from './lib/server.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => fs.readFileSync(path.join(here, '..', 'fixtures', 'sdp', name), 'utf8');
const CHROMIUM = fixture('chromium-156-sendonly-simulcast.sdp');
const FIREFOX = fixture('firefox-153esr-sendonly-simulcast.sdp');
const OBS = fixture('obs-30-form-sendonly.sdp');
const CHROMIUM_PLAYER = fixture('chromium-156-recvonly.sdp');
const FIREFOX_PLAYER = fixture('firefox-153esr-recvonly.sdp');
const ROOM = 'whip-room';

async function whip(server, { method = 'POST', target = `/whip/${ROOM}`, token, type = 'application/sdp', body = CHROMIUM, headers = {} } = {}) {
  const h = { ...headers };
  if (type) h['content-type'] = type;
  if (token) h.authorization = `Bearer ${token}`;
  const r = await fetch(`${server.url}${target}`, { method, headers: h, body: method === 'GET' || method === 'OPTIONS' ? undefined : body });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* an SDP, or empty */ }
  return { status: r.status, text, json, headers: r.headers };
}

test('WHIP with tokens: 401 without or with a bad one, 403 for another room or a role that may not publish, 201 for a teacher, DELETE', { timeout: 60000 }, async () => {
  await withServer(jwtArgs(['--log-level', 'warn']), async (server) => {
    const teacher = sign({ sub: 'teacher-obs', name: 'Ms T', room: ROOM, role: 'teacher' });
    const student = sign({ sub: 'student-1', name: 'S', room: ROOM, role: 'student' });
    const elsewhere = sign({ sub: 'teacher-2', room: 'another-room', role: 'teacher' });

    let r = await whip(server, {});
    assert.equal(r.status, 401, r.text);
    r = await whip(server, { token: 'not.a.token' });
    assert.equal(r.status, 401, r.text);
    r = await whip(server, { headers: { authorization: 'Basic abc' } });
    assert.equal(r.status, 401, r.text);
    assert.match(r.json.message, /Bearer/);
    r = await whip(server, { token: elsewhere });
    assert.equal(r.status, 403, r.text);
    assert.match(r.json.message, /does not cover room 'whip-room'/);
    // A student may not publish (auth.roles): the room refuses the produce, the resource ends.
    r = await whip(server, { token: student });
    assert.equal(r.status, 403, r.text);
    assert.match(r.json.message, /^produce/);
    await waitForNoPeers(server);

    r = await whip(server, { token: teacher, body: FIREFOX });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('content-type'), 'application/sdp');
    const location = r.headers.get('location');
    assert.match(location, /^\/whip\/whip-room\/[0-9a-f-]{36}$/);
    assert.match(r.headers.get('etag'), /^"[^"]+"$/);
    assert.match(r.text, /^v=0\r\n/);
    assert.match(r.text, /a=setup:passive\r\n/);
    assert.match(r.text, /a=rtpmap:109 opus\/48000\/2\r\n/);
    assert.match(r.text, /a=rtpmap:120 VP8\/90000\r\n/);

    // The resource's URL names its room.
    r = await whip(server, { method: 'DELETE', target: location.replace('/whip-room/', '/other-room/') });
    assert.equal(r.status, 404, r.text);
    r = await whip(server, { method: 'DELETE', target: location });
    assert.equal(r.status, 200, r.text);
    r = await whip(server, { method: 'DELETE', target: location });
    assert.equal(r.status, 404, r.text);
    await waitForNoPeers(server);
  });
});

// The bound per token. A token with a subject publishes as that participant, and a second
// resource of it replaces the first in the room; a key without one (auth.mode none: any
// key) makes a participant per resource, and holds at most four of them.
test('WHIP: at most four live resources per token, the fifth refused naming why; another key is not held back', { timeout: 60000 }, async () => {
  await withServer(['--log-level', 'warn'], async (server) => {
    const mine = [];
    for (let i = 0; i < 4; i++) {
      const r = await whip(server, { token: 'encoder-key-a', body: FIREFOX });
      assert.equal(r.status, 201, r.text);
      mine.push(r.headers.get('location'));
    }
    let r = await whip(server, { token: 'encoder-key-a', body: FIREFOX });
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.message, /this token holds 4 WHIP resources/);
    r = await whip(server, { token: 'encoder-key-b', body: FIREFOX });
    assert.equal(r.status, 201, r.text);
    mine.push(r.headers.get('location'));
    const m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
    assert.equal(m.value('chorus_whip_resources'), 5);
    for (const l of mine) assert.equal((await whip(server, { method: 'DELETE', target: l })).status, 200);
    await waitForNoPeers(server);
    r = await whip(server, { token: 'encoder-key-a', body: FIREFOX });
    assert.equal(r.status, 201, 'the bound counts live resources only');
    assert.equal((await whip(server, { method: 'DELETE', target: r.headers.get('location') })).status, 200);
    await waitForNoPeers(server);
  });
});

test('WHIP: bad requests get their status and reason and leave nothing behind; the bound per address; PATCH', { timeout: 60000 }, async () => {
  await withServer(['--log-level', 'warn'], async (server) => {
    const cases = [
      ['a GET', { method: 'GET' }, 405, /POST an SDP offer/],
      ['no content type', { type: null }, 415, /application\/sdp/],
      ['JSON', { type: 'application/json', body: '{}' }, 415, /application\/sdp/],
      ['not SDP', { body: 'hello' }, 400, /SDP line 1: not a type=value line/],
      ['an offer over 128 KiB', { body: 'v=0\r\n' + 'a=x:y\r\n'.repeat(20000) }, 413, /over 131072 bytes/],
      ['nothing to send', { body: CHROMIUM.replaceAll('a=sendonly', 'a=recvonly') }, 400, /no audio or video to send/],
      ['no fingerprint', { body: CHROMIUM.replace(/a=fingerprint:.*\r\n/g, '') }, 400, /no DTLS fingerprint/],
      ['a bad room name', { target: '/whip/%ZZ' }, 400, /room must be/],
      ['an unknown resource', { method: 'DELETE', target: `/whip/${ROOM}/no-such-id` }, 404, /no such WHIP resource/],
    ];
    for (const [name, req, status, reason] of cases) {
      const r = await whip(server, req);
      assert.equal(r.status, status, `${name}: ${r.text}`);
      assert.match(r.json?.message ?? '', reason, name);
    }
    await waitForNoPeers(server);

    // The CORS preflight, and what the endpoint accepts.
    let r = await whip(server, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:9', 'access-control-request-method': 'POST' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('accept-post'), 'application/sdp');
    assert.match(r.headers.get('access-control-allow-methods'), /POST/);

    // Eight resources from one address, not a ninth (whip_resources::bounds).
    const made = [];
    for (let i = 0; i < 8; ++i) {
      r = await whip(server, {});
      assert.equal(r.status, 201, r.text);
      made.push({ location: r.headers.get('location'), etag: r.headers.get('etag') });
    }
    r = await whip(server, {});
    assert.equal(r.status, 503, r.text);
    assert.match(r.json.message, /this address holds 8 WHIP resources/);
    let m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
    assert.equal(m.value('chorus_whip_resources'), 8);
    assert.equal(m.value('chorus_whip_refused_total'), cases.filter((c) => (c[1].method ?? 'POST') === 'POST').length + 1);

    // PATCH: its media type, If-Match, and candidates alone (taken as read).
    const { location, etag } = made[0];
    r = await whip(server, { method: 'PATCH', target: location, type: 'application/sdp', body: 'a=ice-ufrag:x\r\n' });
    assert.equal(r.status, 415, r.text);
    r = await whip(server, { method: 'PATCH', target: location, type: 'application/trickle-ice-sdpfrag', body: 'a=ice-ufrag:x\r\na=ice-pwd:y\r\n', headers: { 'if-match': '"stale"' } });
    assert.equal(r.status, 412, r.text);
    r = await whip(server, { method: 'PATCH', target: location, type: 'application/trickle-ice-sdpfrag', body: 'a=ice-ufrag:only\r\n', headers: { 'if-match': etag } });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.message, /needs a=ice-pwd/);
    r = await whip(server, { method: 'PATCH', target: location, type: 'application/trickle-ice-sdpfrag', body: 'not sdp\r\n', headers: { 'if-match': etag } });
    assert.equal(r.status, 400, r.text);
    const ufrag = /a=ice-ufrag:(.*)\r\n/.exec(CHROMIUM)[1];
    r = await whip(server, { method: 'PATCH', target: location, type: 'application/trickle-ice-sdpfrag',
      body: `a=ice-ufrag:${ufrag}\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n`, headers: { 'if-match': etag } });
    assert.equal(r.status, 204, r.text);
    // New credentials: an ICE restart, the server's new ones back with a new ETag.
    r = await whip(server, { method: 'PATCH', target: location, type: 'application/trickle-ice-sdpfrag',
      body: 'a=ice-ufrag:fresh\r\na=ice-pwd:freshpasswordfreshpassword\r\n', headers: { 'if-match': etag } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'application/trickle-ice-sdpfrag');
    const theirs = /a=ice-ufrag:(.*)\r\n/.exec(r.text)[1];
    assert.equal(r.headers.get('etag'), `"${theirs}"`);
    assert.notEqual(r.headers.get('etag'), etag);

    for (const x of made) assert.equal((await whip(server, { method: 'DELETE', target: x.location })).status, 200);
    await waitForNoPeers(server);
    m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
    assert.equal(m.value('chorus_whip_resources'), 0);
    r = await whip(server, {});
    assert.equal(r.status, 201, 'the bound counts live resources only');
    assert.equal((await whip(server, { method: 'DELETE', target: r.headers.get('location') })).status, 200);
    await waitForNoPeers(server);

    // An offer in OBS 30's form: its session-level ICE and fingerprint, H264 without rtx.
    r = await whip(server, { body: OBS });
    assert.equal(r.status, 201, r.text);
    assert.match(r.text, /a=rtpmap:96 H264\/90000\r\n/);
    assert.match(r.text, /a=rtpmap:111 opus\/48000\/2\r\n/);
    assert.equal((await whip(server, { method: 'DELETE', target: r.headers.get('location') })).status, 200);
    await waitForNoPeers(server);
  });
});

test('WHEP: a player of the WHIP publisher in its own numbers, the participant or producer it names, bad requests with their status and reason, nothing left behind', { timeout: 60000 }, async () => {
  await withServer(jwtArgs(['--log-level', 'warn']), async (server) => {
    const teacher = sign({ sub: 'teacher-obs', name: 'Ms T', room: ROOM, role: 'teacher' });
    const viewer = sign({ sub: 'viewer-1', room: ROOM, role: 'viewer' });
    const play = (query = '', req = {}) => whip(server, { target: `/whep/${ROOM}${query}`, token: viewer, body: CHROMIUM_PLAYER, ...req });

    // Nobody publishes yet: nothing to play.
    let r = await play();
    assert.equal(r.status, 404, r.text);
    assert.match(r.json.message, /nothing to play in room 'whip-room'/);
    await waitForNoPeers(server);

    r = await whip(server, { token: teacher });
    assert.equal(r.status, 201, r.text);
    const publisher = r.headers.get('location');
    // A WHIP resource is not a WHEP one.
    assert.equal((await whip(server, { method: 'DELETE', target: publisher.replace('/whip/', '/whep/') })).status, 404);

    const cases = [
      ['no token', { token: null }, 401, /token/],
      ['nothing to receive', { body: CHROMIUM_PLAYER.replaceAll('a=recvonly', 'a=sendonly') }, 400, /no audio or video m-line to receive/],
      ['not SDP', { body: 'hello' }, 400, /SDP line 1/],
      ['a layer that is not a number', { query: '?spatialLayer=top' }, 400, /layer numbers/],
      ['an unknown participant', { query: '?participant=nobody' }, 404, /participant 'nobody' of room 'whip-room' has no producer/],
      ['an unknown producer', { query: '?producer=no-such-producer' }, 404, /no producer with id 'no-such-producer'/],
    ];
    for (const [name, { query = '', ...req }, status, reason] of cases) {
      r = await play(query, req);
      assert.equal(r.status, status, `${name}: ${r.text}`);
      assert.match(r.json?.message ?? '', reason, name);
    }

    // The publisher's producers, named by its participant, in each player's own numbers:
    // Firefox calls VP8 120 and Opus 109 as the publisher's offer does, Chromium 96 and 111.
    for (const [name, body, opus, vp8] of [['Chromium', CHROMIUM_PLAYER, 111, 96], ['Firefox', FIREFOX_PLAYER, 109, 120]]) {
      r = await play('?participant=teacher-obs&spatialLayer=1', { body });
      assert.equal(r.status, 201, `${name}: ${r.text}`);
      assert.match(r.headers.get('location'), /^\/whep\/whip-room\/[0-9a-f-]{36}$/);
      assert.equal(r.text.match(/a=sendonly\r\n/g)?.length, 2, r.text);
      assert.match(r.text, new RegExp(`a=rtpmap:${opus} opus/48000/2\r\n`), `${name}: ${r.text}`);
      assert.match(r.text, new RegExp(`a=rtpmap:${vp8} VP8/90000\r\n`), `${name}: ${r.text}`);
      assert.match(r.text, /a=msid:teacher-obs /);
      assert.equal((await whip(server, { method: 'DELETE', target: r.headers.get('location') })).status, 200);
    }
    const m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
    assert.equal(m.value('chorus_whep_resources'), 0);
    assert.equal(m.value('chorus_whep_refused_total'), cases.length + 1);
    assert.equal((await whip(server, { method: 'DELETE', target: publisher })).status, 200);
    await waitForNoPeers(server);
  });
});

test('WHIP into a full room: 503 naming why, and nothing left behind', { timeout: 30000 }, async () => {
  const config = tempConfig({ limits: { maxPeersPerRoom: 1 } });
  await withServer(['--log-level', 'warn', '--config', config], async (server) => {
    const first = await connectPeer(server, { auth: 'first', channelId: ROOM });
    try {
      await first.expectReply('join-mediasoup-room', {}, 'join-mediasoup-room');
      const r = await whip(server, {});
      assert.equal(r.status, 503, r.text);
      assert.match(r.json.message, /4003/);
    } finally {
      await closeAll(first);
    }
    await waitForNoPeers(server);
  });
});

test('WHIP with the TURN server on: the answer names it in Link headers (RFC 9725 §4.6) with short-lived credentials', { timeout: 30000 }, async () => {
  await withServer(['--log-level', 'warn', '--turn', '--turn-udp-port', '0'], async (server) => {
    const r = await whip(server, {});
    assert.equal(r.status, 201, r.text);
    const links = (r.headers.get('link') ?? '').split(/,\s*(?=<)/).filter(Boolean);
    assert.ok(links.length >= 1, r.headers.get('link'));
    for (const l of links) {
      assert.match(l, /^<turns?:[^>]+>; rel="ice-server"; username="\d+:[^"]+"; credential="[^"]+"; credential-type="password"$/, l);
    }
    assert.equal((await whip(server, { method: 'DELETE', target: r.headers.get('location') })).status, 200);
    await waitForNoPeers(server);
  });
});
