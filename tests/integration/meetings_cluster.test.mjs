// Meetings in a cluster: a meeting registered through one node (POST /api/meetings) is
// known to every node, also to one that joins the cluster later, and its creator is the
// host of its room wherever the room is homed and whichever node the creator joins through,
// also after the room's home is SIGKILLed.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cluster, members, roomHomedOn, withNodes } from './lib/cluster.mjs';
import { connectSio } from './lib/socketio.mjs';
import { pollUntil } from './lib/tcp.mjs';

const ack = (s, e, d) => s.timeout(3000).emitWithAck(e, d);

async function call(node, method, path, body) {
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(3000),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

// Polls (bounded) until `node` serves the meeting `id`; resolves its creator.
async function known(node, id) {
  let creator;
  await pollUntil(async () => {
    const r = await call(node, 'GET', `/api/meetings/${id}`);
    creator = r.json?.meeting?.creatorId;
    return r.status === 200;
  }, { timeoutMs: 5000, intervalMs: 50, what: `meeting '${id}' on ${node.url}` });
  return creator;
}

test('a meeting registered on one node is known on every node, also on one that joins later; its creator hosts its room anywhere, also after its home is killed', { timeout: 90000 }, async () => {
  await withNodes(async (nodes) => {
    const a = await nodes.start('node-a');
    const seed = (await cluster(a)).listen;
    const b = await nodes.start('node-b', { peers: [seed] });
    await pollUntil(async () => JSON.stringify(await members(a)) === '["node-b"]', { timeoutMs: 15000, what: 'b in a\'s view' });

    // A meeting whose room node-a does not home, registered through node-a.
    const id = roomHomedOn('standup', 'node-b', ['node-a', 'node-b']);
    assert.equal((await call(a, 'POST', '/api/meetings', { id, userId: 'user_owner' })).status, 201);
    assert.equal(await known(b, id), 'user_owner');
    // The same id through the other node: it exists.
    assert.equal((await call(b, 'POST', '/api/meetings', { id, userId: 'user_other' })).status, 409);

    // A node that joins later learns the meetings registered before it came, and the others
    // learn of its own.
    const c = await nodes.start('node-c', { peers: [seed] });
    await pollUntil(async () => JSON.stringify(await members(c)) === '["node-a","node-b"]', { timeoutMs: 15000, what: 'a and b in c\'s view' });
    assert.equal(await known(c, id), 'user_owner');
    assert.equal((await call(c, 'POST', '/api/meetings', { id: 'late-meeting', userId: 'user_late' })).status, 201);
    assert.equal(await known(a, 'late-meeting'), 'user_late');
    assert.equal(await known(b, 'late-meeting'), 'user_late');

    // The creator is the host of the room (homed on node-b) joining through node-a; someone
    // who only says isCreator is not.
    const early = await connectSio(a, { transports: ['websocket'] });
    await ack(early, 'set-user-id', 'user_early');
    const e = await ack(early, 'join-mediasoup-room', { roomId: id, userId: 'user_early', isCreator: true });
    assert.equal(e.isHost, false, JSON.stringify(e));
    const owner = await connectSio(a, { transports: ['websocket'] });
    await ack(owner, 'set-user-id', 'user_owner');
    const o = await ack(owner, 'join-mediasoup-room', { roomId: id, userId: 'user_owner' });
    assert.equal(o.isHost, true, JSON.stringify(o));
    early.close();

    // The room's home dies with the class in it (SIGKILL of node-b): the meeting is still
    // known on the survivors, and its creator still hosts the room, now homed on one of them.
    // The creator comes back on another connection (through node-c); its first one, which
    // follows the room to its new home by itself, is closed, and until the room has seen it
    // go the new one is refused as a second connection of the same user (id-taken).
    await nodes.kill(b);
    for (const n of [a, c]) assert.equal(await known(n, id), 'user_owner');
    owner.close();
    const again = await connectSio(c, { transports: ['websocket'] });
    await ack(again, 'set-user-id', 'user_owner');
    let rejoined;
    await pollUntil(async () => {
      rejoined = await ack(again, 'join-mediasoup-room', { roomId: id, userId: 'user_owner' });
      return rejoined.code !== 'id-taken';
    }, { timeoutMs: 10000, intervalMs: 100, what: 'the creator\'s first connection gone from the room' });
    assert.equal(rejoined.isHost, true, JSON.stringify(rejoined));
    const other = await connectSio(c, { transports: ['websocket'] });
    await ack(other, 'set-user-id', 'user_other');
    const joinedOther = await ack(other, 'join-mediasoup-room', { roomId: id, userId: 'user_other', isCreator: true });
    assert.equal(joinedOther.isHost, false, JSON.stringify(joinedOther));
    for (const s of [again, other]) s.close();
  });
});
