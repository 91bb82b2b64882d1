// The admin API in a cluster (the operator sees the whole cluster from any node): one
// node's admin API lists the rooms homed on every node, shows a room homed on another node
// with its participants, and kicks a participant there (who is told).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withNodes } from './lib/cluster.mjs';
import { tempConfig } from './lib/server.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';

const TOKEN = 'cluster-admin-token-0123456789';

async function admin(node, method, path, body) {
  const url = /^chorus admin API on (http:\/\/\S+)$/m.exec(node.stdout())?.[1];
  assert.ok(url, 'no admin API line');
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(8000),
  });
  return { status: res.status, json: await res.json() };
}

test('cluster: one node\'s admin API sees and acts on rooms homed on every node', { timeout: 120000 }, async () => {
  const tokenFile = tempConfig(`${TOKEN}\n`, 'admin-token');
  await withNodes(async (nodes) => {
    const [a] = await nodes.mesh((id) => (id === 'node-a' ? ['--admin-listen', '127.0.0.1:0', '--admin-token-file', tokenFile] : []));
    // Six rooms, joined through node-a: their homes spread over the three nodes.
    const clients = [];
    try {
      for (let i = 1; i <= 6; i++) {
        const c = await connectPeer(a, { auth: `p${i}`, channelId: `room-${i}` });
        await c.request('get-rtp-capabilities', {});
        clients.push(c);
      }
      const list = await admin(a, 'GET', '/rooms');
      assert.equal(list.status, 200);
      const rooms = list.json.rooms;
      assert.deepEqual(rooms.map((r) => r.id).sort(), ['room-1', 'room-2', 'room-3', 'room-4', 'room-5', 'room-6']);
      for (const r of rooms) assert.equal(r.participants, 1);
      const elsewhere = rooms.find((r) => r.node !== 'node-a');
      assert.ok(elsewhere, `every room homed on node-a: ${JSON.stringify(rooms)}`);
      assert.ok(['node-b', 'node-c'].includes(elsewhere.node));
      const detail = await admin(a, 'GET', `/rooms/${elsewhere.id}`);
      assert.equal(detail.status, 200);
      assert.equal(detail.json.node, elsewhere.node);
      const peerId = detail.json.participants[0].peerId;
      const client = clients[Number(elsewhere.id.slice(5)) - 1];
      const kick = await admin(a, 'POST', `/rooms/${elsewhere.id}/peers/${peerId}/kick`, { reason: 'cluster test' });
      assert.equal(kick.status, 200, JSON.stringify(kick.json));
      const told = await client.nextOfType('kicked', () => true, 5000);
      assert.equal(told.data.by, 'admin');
      assert.equal((await client.closedWithin(5000)).code, 4005);
    } finally {
      await closeAll(clients);
    }
  });
});
