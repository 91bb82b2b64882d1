// The seed 004 frontend's meetings API: POST /api/meetings registers a
// meeting (201, 409 when it exists, 400 for a bad body), GET /api/meetings/ID reads it (404
// when unknown), CORS preflights for allowed pages and 403 for foreign ones; the meeting's
// creator is the host of the room of its id, whoever says isCreator.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import path from 'node:path';

import { tempDir, withServer } from './lib/server.mjs';
import { connectSio } from './lib/socketio.mjs';

const T = { timeout: 30000 };
const ack = (s, e, d) => s.timeout(3000).emitWithAck(e, d);

async function call(server, method, path, { body, headers = {} } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { text }; // the edge's own answers (405 for methods it never serves) are text
  }
  return { status: res.status, headers: res.headers, json };
}

test('meetings: register, read, conflicts, bad bodies, CORS', T, async () => {
  await withServer([], async (server) => {
    const created = await call(server, 'POST', '/api/meetings', { body: { id: 'math-101', userId: 'user_t', description: 'Algebra', startsAt: 1790000000000 } });
    assert.equal(created.status, 201);
    assert.equal(created.json.success, true);
    assert.deepEqual({ ...created.json.meeting, createdAt: 0 }, { id: 'math-101', creatorId: 'user_t', description: 'Algebra', startsAt: 1790000000000, createdAt: 0 });
    assert.ok(created.json.meeting.createdAt > 0);
    const again = await call(server, 'POST', '/api/meetings', { body: { id: 'math-101', userId: 'user_x' } });
    assert.equal(again.status, 409);
    assert.equal(again.json.success, false);
    const read = await call(server, 'GET', '/api/meetings/math-101');
    assert.equal(read.status, 200);
    assert.equal(read.json.meeting.creatorId, 'user_t');
    assert.equal((await call(server, 'GET', '/api/meetings/nope')).status, 404);
    for (const body of ['not json', '[]', { userId: 'u' }, { id: 'x' }, { id: 42, userId: 'u' }, { id: 'a\u0001b', userId: 'u' }]) {
      const r = await call(server, 'POST', '/api/meetings', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.json.error);
    }
    assert.equal((await call(server, 'DELETE', '/api/meetings/math-101')).status, 405);
    // A page on localhost:3000 (the frontend's dev server) may call it; a foreign one may not.
    const pre = await call(server, 'OPTIONS', '/api/meetings', { headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
    const fromPage = await call(server, 'GET', '/api/meetings/math-101', { headers: { origin: 'http://localhost:3000' } });
    assert.equal(fromPage.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.equal((await call(server, 'GET', '/api/meetings/math-101', { headers: { origin: 'http://evil.example' } })).status, 403);
  });
});

test('meetings: the creator is the room\'s host, not the first to say isCreator', T, async () => {
  await withServer([], async (server) => {
    assert.equal((await call(server, 'POST', '/api/meetings', { body: { id: 'standup', userId: 'user_owner' } })).status, 201);
    const early = await connectSio(server, { transports: ['websocket'] });
    await ack(early, 'set-user-id', 'user_early');
    const e = await ack(early, 'join-mediasoup-room', { roomId: 'standup', userId: 'user_early', isCreator: true });
    assert.equal(e.isHost, false, 'a participant who only claims isCreator is not the meeting\'s host');
    const owner = await connectSio(server, { transports: ['websocket'] });
    await ack(owner, 'set-user-id', 'user_owner');
    const o = await ack(owner, 'join-mediasoup-room', { roomId: 'standup', userId: 'user_owner' });
    assert.equal(o.isHost, true);
    early.close();
    owner.close();
  });
});

test('meetings are kept in the class record and served again after a restart', T, async () => {
  const db = path.join(tempDir('chorus-meetings-'), 'record.db');
  await withServer(['--storage-path', db], async (server) => {
    assert.equal((await call(server, 'POST', '/api/meetings', { body: { id: 'kept', userId: 'user_k', description: 'd' } })).status, 201);
    // The write is batched; SIGTERM (the end of withServer) writes what waits.
  });
  await withServer(['--storage-path', db], async (server) => {
    const r = await call(server, 'GET', '/api/meetings/kept');
    assert.equal(r.status, 200);
    assert.equal(r.json.meeting.creatorId, 'user_k');
    assert.equal((await call(server, 'POST', '/api/meetings', { body: { id: 'kept', userId: 'user_x' } })).status, 409);
  });
});
