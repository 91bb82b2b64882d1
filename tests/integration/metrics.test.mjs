// GET /metrics: the Prometheus text exposition of the node's
// gauges and counters, which follow what happens (a join, a refused origin).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withServer } from './lib/server.mjs';
import { closeAll, connectPeer, nextParticipantList } from './lib/ws_client.mjs';

async function scrape(server) {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(3000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const values = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = /^# TYPE (\S+) (gauge|counter|histogram)$/.exec(line);
    if (t) {
      assert.ok(!types.has(t[1]), `TYPE of ${t[1]} twice`);
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    assert.ok(types.has(m[1]) || types.has(m[1].replace(/_(bucket|sum|count)$/, '')), `${m[1]} without TYPE`);
    values.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return values;
}

test('metrics: gauges follow a join, counters count a refused origin, process figures', { timeout: 30000 }, async () => {
  await withServer([], async (server) => {
    const before = await scrape(server);
    for (const name of ['chorus_rooms', 'chorus_peers', 'chorus_sessions', 'chorus_producers', 'chorus_consumers',
      'chorus_signaling_requests_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_open_fds'])
      assert.ok(before.has(name), `${name} missing`);
    assert.equal(before.get('chorus_rooms'), 0);
    assert.ok(before.get('process_resident_memory_bytes') > 1e6);
    const a = await connectPeer(server, { auth: 'a', channelId: 'm-room' });
    const b = await connectPeer(server, { auth: 'b', channelId: 'm-room' });
    // b's join is the room's (a's requests below are answered by a's own session): wait
    // until a is told of it, so that the room counts both.
    await nextParticipantList(a, ['a', 'b']);
    await a.request('get-rtp-capabilities', {});
    assert.equal((await a.request('fly-to-the-moon', {})).data?.code, 'unknown-type');
    assert.equal((await a.request('join-mediasoup-room', { roomId: 'elsewhere' })).data?.code, 'already-joined');
    const refused = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://evil.example' }, signal: AbortSignal.timeout(3000) });
    assert.equal(refused.status, 403);
    const after = await scrape(server);
    assert.equal(after.get('chorus_rooms'), 1);
    assert.equal(after.get('chorus_peers'), 2);
    assert.equal(after.get('chorus_sessions'), 2);
    assert.ok(after.get('chorus_signaling_requests_total') >= 1);
    assert.equal(after.get('chorus_edge_refused_total{reason="origin"}'), 1);
    assert.equal(after.get('chorus_signaling_errors_by_code_total{code="unknown-type"}'), 1);
    assert.equal(after.get('chorus_signaling_errors_by_code_total{code="already-joined"}'), 1);
    assert.equal(after.get('chorus_signaling_errors_by_code_total{code="forbidden"}'), 0);
    assert.ok(after.get('chorus_edge_connections_accepted_total') > before.get('chorus_edge_connections_accepted_total'));
    await closeAll(a, b);
  });
});
