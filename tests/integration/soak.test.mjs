// The churn soak, two minutes of it: chorus-bench soak against the real
// server (bench/load/soak.hpp). Participants (the bench's WebRTC clients with synthetic
// audio and video) join three rooms, publish, subscribe, and leave, are cut off (no close
// frame, no close_notify), switch rooms or reconnect, twelve at a time; after a warm-up
// churn the idle reference is read; after the measured churn every /healthz count (rooms,
// peers, sessions, transports, producers, consumers, data producers and consumers, running
// actors) and the server's open descriptors must return to the idle values exactly, and its
// RSS to within 4 MiB of idle. SOAK_SECONDS changes the length (docs/reliability.md has an
// hour of it).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { BENCH_BIN, runProcess, tempDir, withServer } from './lib/server.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS || 120);

test(`soak: ${SECONDS} s of churn, then every count back to idle exactly and RSS within 4 MiB`, { timeout: (SECONDS + 200) * 1000 }, async () => {
  assert.ok(fs.existsSync(BENCH_BIN), `no chorus-bench binary at ${BENCH_BIN}`);
  const json = path.join(tempDir('chorus-soak-'), 'soak.json');
  await withServer(['--log-level', 'warn'], async (server) => {
    const res = await runProcess(BENCH_BIN, [
      'soak', '--url', `ws://127.0.0.1:${server.port}`, '--server-pid', String(server.pid),
      '--duration-s', String(SECONDS), '--warmup-s', '20', '--report-every-s', String(Math.min(60, SECONDS / 2)),
      '--settle-s', '30', '--rss-slack-mib', '4', '--json', json,
    ], { timeoutMs: (SECONDS + 150) * 1000, outputBytes: 1 << 20 });
    process.stdout.write(`\n${res.stdout}\n`);
    assert.equal(res.code, 0, `chorus-bench soak exited with ${res.code} (${res.signal}${res.timedOut ? ', timed out' : ''})\n${res.stdout}\n${res.stderr}`);
    const r = JSON.parse(fs.readFileSync(json, 'utf8'));
    assert.equal(r.ok, true, JSON.stringify(r.differences));
    // The churn was real: media flowed and every way of ending happened.
    assert.ok(r.end.joins >= 30 && r.end.leaves > 0 && r.end.cuts > 0 && r.end.switches > 0 && r.end.replaces > 0, JSON.stringify(r.end));
    assert.ok(r.end.rxPackets > 1000 && r.end.txPackets > 1000, JSON.stringify(r.end));
    assert.ok(r.end.failures <= r.end.joins / 20, `setups failed: ${r.end.failures} of ${r.end.joins}`);
    for (const k of ['sessions', 'transports', 'producers', 'consumers', 'actors', 'fds'])
      assert.equal(r.after[k], r.idle[k], k);
    assert.ok(server.isRunning(), 'the server exited during the soak');
  });
});
