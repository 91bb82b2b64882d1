// Runs chorus-bench (bench/bench_main.cpp) against a real server for the integration tests,
// and checks the shape of its reports: every figure present and of the right type (values
// are not judged here). Used by bench_smoke.test.mjs and bench_fanout.test.mjs.
//
// The bench binary: $CHORUS_BENCH, else chorus-bench next to $CHORUS_BIN, else
// build/chorus-bench. Every process is stopped by its PID; every wait is bounded.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { httpGet, waitForNoPeers } from './http.mjs';
import { BENCH_BIN, runProcess } from './server.mjs';

export const BENCH = BENCH_BIN;
// Below the shortest test timeout that runs a full scenario or floor (60 s), so a hung
// child is killed by PID before node:test gives up on the test.
const KILL_AFTER_MS = 45000;

// Runs chorus-bench to completion (killed by its PID after KILL_AFTER_MS); resolves
// { code, signal, stdout, stderr, timedOut }.
export const runBench = (args) => runProcess(BENCH, args, { timeoutMs: KILL_AFTER_MS, outputBytes: 1 << 20 });

export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

// Every figure of the report is present and of the right type (values are not judged).
export function checkFigures(r, { consumers }) {
  assert.equal(r.ok, true, 'the bench judged its run not ok');
  assert.equal(r.setup.failed, 0, `setup errors: ${JSON.stringify(r.setup.errors)}`);
  assert.equal(r.setup.timedOut, false);
  assert.equal(r.setup.consumers, consumers);
  assert.equal(r.setup.expectedConsumers, consumers);
  assert.ok(r.windowS > 0);
  assert.ok(r.sent.packets > 0, 'the publishers sent nothing');
  assert.ok(r.sent.audioPackets > 0 && r.sent.videoPackets > 0);
  assert.ok(r.delivered.packets > 0, 'nothing was delivered');
  assert.ok(r.delivered.audioPackets > 0 && r.delivered.videoPackets > 0);
  for (const k of ['packetsPerSec', 'bitrateMbps', 'bytes']) assert.ok(isNum(r.delivered[k]), `delivered.${k}`);
  for (const k of ['packetsPerSec', 'bitrateKbps']) assert.ok(isNum(r.sent[k]), `sent.${k}`);
  for (const k of ['expected', 'received', 'lost', 'percent']) assert.ok(isNum(r.loss[k]), `loss.${k}`);
  assert.ok(r.loss.expected > 0);
  assert.ok(r.latencyMs.samples > 0, 'no latency samples');
  for (const k of ['p50', 'p99', 'max', 'mean']) assert.ok(isNum(r.latencyMs[k]), `latencyMs.${k}`);
  assert.ok(r.latencyMs.p50 <= r.latencyMs.p99 && r.latencyMs.p99 <= r.latencyMs.max + 0.1);
  assert.equal(r.latencyMs.badStamps, 0, 'packets without a plausible send stamp');
  // Video keyframes' packets alone (a subset of the samples; none when no keyframe fell in
  // the window).
  for (const k of ['samples', 'p50', 'p99', 'max']) assert.ok(isNum(r.latencyMs.keyframes?.[k]), `latencyMs.keyframes.${k}`);
  assert.ok(r.latencyMs.keyframes.samples < r.latencyMs.samples);
  for (const k of ['nackPackets', 'plis', 'receiverReports']) assert.ok(isNum(r.feedback[k]), `feedback.${k}`);
  assert.ok(r.feedback.receiverReports > 0, 'no receiver reports sent');
  for (const k of ['cpuSeconds', 'cpuPercent', 'cpuUsPerPacket', 'rssKiB', 'rssDeltaKiB', 'memoryPerConsumerKiB']) {
    assert.ok(isNum(r.server[k]), `server.${k} is ${r.server[k]}`);
  }
  assert.equal(r.server.alive, true);
  // The window's CPU comes from the server's CPU clock (ns), not /proc's 10 ms ticks.
  assert.equal(r.server.windowStart.cpuClock, true, 'server CPU not read from its CPU clock');
  assert.ok(r.server.windowEnd.cpuSeconds > r.server.windowStart.cpuSeconds);
  assert.ok(isNum(r.client.cpuPercent));
}

// The floor's report (chorus-bench floor --json, or the measurement inside a scenario's).
export function checkFloor(f, fanouts, kinds = ['video', 'audio']) {
  assert.equal(f.ok, true, `floor error: ${f.error}`);
  assert.ok(typeof f.machine.cpuModel === 'string' && f.machine.onlineCpus >= 1);
  for (const fanout of fanouts) {
    for (const kind of kinds) {
      const c = f.cases.find((x) => x.kind === kind && x.fanout === fanout && x.send === 'batched');
      assert.ok(c, `no ${kind} case at fan-out ${fanout}`);
      // every copy was sent or counted as a send failure (the kernel may refuse one under load)
      assert.ok(c.packetsIn > 0 && c.packetsOut > 0 && c.packetsOut + c.sendFailures === c.packetsIn * fanout, `${kind}/${fanout}: ${JSON.stringify(c)}`);
      assert.equal(c.srtpFailures, 0);
      assert.ok(isNum(c.usPerForwardedPacket) && c.usPerForwardedPacket > 0);
    }
  }
}

export async function benchRun(server, dir, name, args, expect) {
  const json = path.join(dir, `${name}.json`);
  const res = await runBench([
    '--url', `ws://127.0.0.1:${server.port}`, '--server-pid', String(server.pid),
    '--duration-s', '3', '--warmup-s', '1', '--setup-timeout-s', '30', '--json', json, ...args,
  ]);
  // The readable table, for people reading the test log.
  process.stdout.write(`\n${res.stdout}\n`);
  assert.equal(res.code, 0, `chorus-bench exited with ${res.code} (${res.signal}${res.timedOut ? ', timed out' : ''})\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /delivered to receivers/);
  assert.match(res.stdout, /server CPU per delivered packet/);
  const report = JSON.parse(fs.readFileSync(json, 'utf8'));
  checkFigures(report, expect);
  assert.ok(server.isRunning(), 'the server exited during the bench');
  const health = await httpGet(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.json?.status, 'ok');
  await waitForNoPeers(server, { timeoutMs: 5000 });
  return report;
}
