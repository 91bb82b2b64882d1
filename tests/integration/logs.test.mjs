// --log-format json: every line the server writes during a class with
// media parses as JSON and carries the ids as fields; joins, leaves, transports, producers,
// consumers and error replies each have their info line.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startServer } from './lib/server.mjs';
import { closeAll, connectPeer } from './lib/ws_client.mjs';
import { speakerProcess } from './lib/wrtc_speaker.mjs';

test('json logs: every line is JSON with ts, level, component, msg and the ids', { timeout: 90000 }, async () => {
  const server = await startServer(['--log-format', 'json', '--log-level', 'debug']);
  let speaker;
  let viewer;
  let stopped;
  try {
    speaker = await speakerProcess(server, 'teacher', 'logged', 440);
    viewer = await connectPeer(server, { auth: 'viewer', channelId: 'logged' });
    const caps = await viewer.request('get-rtp-capabilities', {});
    await viewer.request('join-mediasoup-room', { rtpCapabilities: caps.data });
    const t = await viewer.request('create-transport', { direction: 'recv' });
    assert.equal(t.type, 'transport-params', JSON.stringify(t));
    const c = await viewer.request('consume', { transportId: t.data.id, producerId: speaker.producerId, rtpCapabilities: caps.data });
    assert.equal((await viewer.request('fly-to-the-moon', {})).data?.code, 'unknown-type');
    speaker.kill();
    await viewer.nextOfType('participant-left', () => true, 5000);
    await closeAll(viewer);
    stopped = await server.stop();
    assert.equal(stopped.code, 0);
    const lines = server.stderr().split('\n').filter((l) => l.length > 0);
    assert.ok(lines.length > 10, `only ${lines.length} lines`);
    const entries = lines.map((line) => {
      let e;
      assert.doesNotThrow(() => {
        e = JSON.parse(line);
      }, `not JSON: ${line}`);
      assert.equal(typeof e.ts, 'string', line);
      assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['trace', 'debug', 'info', 'warn', 'error'].includes(e.level), line);
      assert.equal(typeof e.component, 'string', line);
      assert.equal(typeof e.msg, 'string', line);
      return e;
    });
    const find = (pred, what) => {
      const e = entries.find(pred);
      assert.ok(e, `no line ${what}:\n${lines.join('\n')}`);
      return e;
    };
    find((e) => e.level === 'info' && e.room === 'logged' && e.peer === 'teacher' && /joined/.test(e.msg), 'for the teacher\'s join');
    find((e) => e.level === 'info' && e.room === 'logged' && e.peer === 'teacher' && /left/.test(e.msg), 'for the teacher\'s leave');
    find((e) => e.level === 'info' && e.transport === t.data.id && e.peer === 'viewer' && /transport created/.test(e.msg), 'for the transport');
    find((e) => e.level === 'info' && e.transport && /^ice /.test(e.msg), 'for an ICE state change');
    find((e) => e.level === 'info' && e.producer === speaker.producerId && /producer created/.test(e.msg), 'for the producer');
    find((e) => e.level === 'info' && e.producer === speaker.producerId && /producer closed/.test(e.msg), 'for the producer\'s close');
    assert.ok(c.data?.id, `consume: ${JSON.stringify(c)}`);
    find((e) => e.level === 'info' && e.consumer === c.data.id && /consumer created/.test(e.msg), 'for the consumer');
    find((e) => e.level === 'info' && e.consumer === c.data.id && /consumer closed/.test(e.msg), 'for the consumer\'s close');
    find((e) => e.level === 'info' && e.peer === 'viewer' && /unknown-type/.test(e.msg), 'for the error reply');
  } finally {
    speaker?.kill();
    if (!stopped) await server.stop();
  }
});

test('text logs carry the ids as key=value', { timeout: 30000 }, async () => {
  const server = await startServer([]);
  try {
    const a = await connectPeer(server, { auth: 'alice', channelId: 'texty' });
    await a.request('get-rtp-capabilities', {});
    await a.close();
  } finally {
    await server.stop();
  }
  assert.match(server.stderr(), /^\d\d:\d\d:\d\d\.\d{3} INFO  \[room\] .*joined.* room=texty peer=alice$/m);
});
