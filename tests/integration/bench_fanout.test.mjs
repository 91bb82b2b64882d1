// chorus-bench's classes of 300 against the real binary: the fan-out of one producer to 300
// consumers spread over four media I/O threads (in both socket modes) or kept on one, and
// on a server limited to one CPU. They load both cores, so they run alone (CMakeLists.txt,
// RUN_SERIAL).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { test } from 'node:test';

import { BENCH, benchRun } from './lib/bench_run.mjs';
import { httpGet } from './lib/http.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { tempDir, withServer, withSinglePortServer } from './lib/server.mjs';

test('chorus-bench: class 300 over 4 media I/O threads, in both socket modes: spread over every thread, the fan-out goes to the consumers\' threads; kept on one thread, entered there; every packet arrives once and in order', { timeout: 200000 }, async () => {
  // A room's transports share one I/O thread until it has --room-transports-per-thread of
  // them there (net/thread_placement.hpp). At 40, the class of 301 transports fills every
  // thread: the publisher's producer fans out to consumers on every thread, too many for
  // one thread's lanes, so on several CPUs each batch is handed to the consumers' threads,
  // one task per thread, and their lanes are entered there (actors/thread_fanout.hpp);
  // where the process may use one CPU only, its own lanes take every batch. At the default
  // (500) the class lives on one thread and its batches stay there; on the shared port
  // the kernel still steers the receivers' addresses over all four sockets, and what
  // reaches another thread is handed to the room's.
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const cpus = os.availableParallelism();
  const dir = tempDir('chorus-bench-threads-');
  const spread = ['--room-transports-per-thread', '40'];
  const rows = [
    ['range', withServer, spread, true],
    ['single', withSinglePortServer, spread, true],
    ['single, one thread for the room', withSinglePortServer, [], false],
  ];
  for (const [name, start, args, spreads] of rows) {
    await start(['--log-level', 'warn', '--io-threads', '4', ...args], async (server) => {
      const r = await benchRun(server, dir, `class-threads-${name.replace(/\W+/g, '-')}`, ['--scenario', 'class', '--subscribers', '300', '--decrypt-sample', '30', '--busy-poll'], { consumers: 600 });
      assert.ok(r.loss.percent < 1, `${name}: loss: ${JSON.stringify(r.loss)}`);
      assert.equal(r.delivered.duplicates, 0, `${name}: duplicates: ${JSON.stringify(r.delivered)}`);
      assert.equal(r.delivered.late, 0, `${name}: out of order: ${JSON.stringify(r.delivered)}`);
      // Copies per packet sent in the window: about 300. The window counts what left the
      // publisher in it and what reached the receivers in it, so a keyframe sent just before it
      // (five packets, fanned out over a few milliseconds) can add its copies: the bound
      // allows that; a packet twice is caught by `duplicates` above.
      const copies = r.delivered.packets / r.sent.packets;
      assert.ok(copies > 297 && copies < 303, `${name}: delivered ${r.delivered.packets} of ${r.sent.packets} sent x 300`);
      const m = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
      for (let t = 0; t < 4; t++) {
        const read = m.value('chorus_media_io_packets_total', { thread: String(t) });
        assert.ok(read > 0, `${name}: I/O thread ${t} read ${read} packets`);
        assert.equal(m.value('chorus_media_io_transports', { thread: String(t) }), 0, `${name}: thread ${t} still has transports`);
      }
      const handoffs = m.value('chorus_fanout_handoffs_total');
      const lane = m.value('chorus_fanout_batches_total', { path: 'lane' });
      const message = m.value('chorus_fanout_batches_total', { path: 'message' });
      if (!spreads) {
        // The producer enters its consumers' lanes on its own thread; only a batch it took on
        // a worker (its mail busy) is posted to that thread.
        assert.ok(handoffs < r.sent.packets / 20, `${name}: ${handoffs} hand-offs for ${r.sent.packets} packets sent, every consumer on the producer's thread`);
        assert.ok(lane > message, `${name}: lane ${lane}, message ${message}`);
        assert.ok(m.value('chorus_media_handed_over_total') > 0, `${name}: no datagram handed to the room's thread`);
      } else if (cpus > 1) {
        // Up to four tasks per received batch (a thread with none of the consumers gets none).
        assert.ok(handoffs > 0 && handoffs <= 4 * r.sent.packets, `${name}: ${handoffs} hand-offs for ${r.sent.packets} packets sent`);
        assert.ok(lane > message, `${name}: lane ${lane}, message ${message}: the consumers' threads did not enter their lanes`);
      } else {
        assert.equal(handoffs, 0, `${name}: handed off on one CPU`);
      }
    });
  }
});

test('chorus-bench: class 300 with the server on one CPU, the fan-out through the consumers\' lanes above 256', { timeout: 120000 }, async () => {
  // Where the process may run on one CPU only (its affinity mask), the producer hands a
  // batch to its idle consumers through their direct lanes at any fan-out size; on several
  // CPUs only up to 256 consumers (actors/process_load, fan_out_through_lanes). Here 300
  // consumers of one producer: without the one-CPU rule every batch would be a message.
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const allowed = /^Cpus_allowed_list:\s*(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  assert.ok(allowed, 'no Cpus_allowed_list in /proc/self/status');
  const dir = tempDir('chorus-bench-one-cpu-');
  await withSinglePortServer(['--log-level', 'warn'], async (server) => {
    const r = await benchRun(server, dir, 'class-one-cpu', [
      '--scenario', 'class', '--subscribers', '300', '--decrypt-sample', '30', '--threads', '2',
    ], { consumers: 600 });
    assert.ok(r.loss.percent < 1, `loss: ${JSON.stringify(r.loss)}`);
    // The totals are added on the producers' ticks and when they close: all in once the
    // peers are gone (benchRun waited for that).
    const metrics = await httpGet(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    const m = parsePrometheus(metrics.body);
    const lane = m.value('chorus_fanout_batches_total', { path: 'lane' });
    const message = m.value('chorus_fanout_batches_total', { path: 'message' });
    assert.ok(Number.isFinite(lane) && Number.isFinite(message), 'no chorus_fanout_batches_total');
    // Each of the 600 consumers takes every batch of its producer: far more batches than
    // packets were sent.
    assert.ok(lane + message >= r.sent.packets, `lane ${lane}, message ${message}, sent ${r.sent.packets}`);
    assert.ok(lane > message, `lane ${lane}, message ${message}: the fan-out of 300 went by messages`);
    // Batches a producer behind its mail joined (actors/batch_join.hpp): how many depends on
    // the machine's timing (none where every fan-out ends before the next packet), so only
    // counted here; tests/unit/actors_batch_join.cpp checks the joining itself.
    const joined = m.value('chorus_fanout_joined_batches_total');
    assert.ok(Number.isFinite(joined) && joined >= 0, 'no chorus_fanout_joined_batches_total');
  }, { cpus: allowed[1] });
});
