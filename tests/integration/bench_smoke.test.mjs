// A short run of the load generator (chorus-bench, bench/bench_main.cpp) against the real
// binary: the class scenario with 5 subscribers and the meeting scenario with 3 participants,
// a few seconds each (and a class of 4 with --simulcast, a class of 6 with --decrypt-sample),
// with --server-pid so that the server-side figures are read from /proc.
// The test checks that the generator set everything up, that media was delivered, that every
// figure is in the JSON report, and that the server stays healthy and ends with nothing left.
// Nothing is asserted on speed: the figures are printed for people (docs/performance.md).
// The class run also measures the floor first (--floor, a fraction of a second), and a short
// `chorus-bench floor` run checks the floor's own report. The classes of 300, which load
// both cores, are in bench_fanout.test.mjs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { BENCH, benchRun, checkFloor, isNum, runBench } from './lib/bench_run.mjs';
import { httpGet } from './lib/http.mjs';
import { tempDir, withServer, withSinglePortServer } from './lib/server.mjs';

test('chorus-bench: class 5 and meeting 3 against the real server, figures reported', { timeout: 120000 }, async () => {
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-');
  await withServer(['--log-level', 'warn'], async (server) => {
    const cls = await benchRun(server, dir, 'class', [
      '--scenario', 'class', '--subscribers', '5', '--floor', '--floor-duration-s', '0.2',
    ], { consumers: 10 });
    assert.equal(cls.setup.subscribers, 5);
    assert.equal(cls.floor.source, 'measured');
    assert.equal(cls.floor.fanout, 5);
    checkFloor(cls.floor.measurement, [5]);
    assert.ok(isNum(cls.floor.usPerForwardedPacket) && cls.floor.usPerForwardedPacket > 0);
    assert.ok(isNum(cls.server.cpuPerPacketRatioToFloor), 'no ratio to the floor');
    assert.ok(cls.feedback.senderReportsReceived >= 2 * 10, `${cls.feedback.senderReportsReceived} sender reports`);
    const meeting = await benchRun(server, dir, 'meeting', ['--scenario', 'meeting', '--participants', '3'], { consumers: 12 });
    assert.equal(meeting.setup.publishers, 3);
  });
});

test('chorus-bench: class 4 with the timers on the media I/O thread, and on CAF\'s clock: media and sender reports delivered', { timeout: 120000 }, async () => {
  // --scheduler-timers io: the actors' timers (the ticker behind every consumer's sender
  // report, the producers' and transports' timers) run between the I/O thread's waits;
  // caf: on CAF's own clock. The default (thread) is the other tests'.
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-timers-');
  for (const mode of ['io', 'caf']) {
    await withServer(['--log-level', 'warn', '--scheduler-timers', mode], async (server) => {
      const r = await benchRun(server, dir, `class-${mode}`, ['--scenario', 'class', '--subscribers', '4'], { consumers: 8 });
      assert.equal(r.loss.lost, 0, `${mode}: ${JSON.stringify(r.loss)}`);
      // A sender report per consumer and second (the ticker), over a 3 s window.
      assert.ok(r.feedback.senderReportsReceived >= 2 * 8, `${mode}: ${r.feedback.senderReportsReceived} sender reports`);
    });
  }
});

test('chorus-bench: SRTP\'s AES-GCM on the CPU\'s instructions at one end and OpenSSL at the other, both ways: media and sender reports delivered', { timeout: 120000 }, async () => {
  // --gcm: the server's and the generator's implementation of AES-GCM (rtp/aes_gcm.hpp, or
  // OpenSSL's EVP). Crossed, every packet each way (media, sender and receiver reports) is
  // sealed by one and opened by the other.
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-gcm-');
  for (const [serverGcm, benchGcm] of [['openssl', 'native'], ['native', 'openssl']]) {
    await withServer(['--log-level', 'warn', '--gcm', serverGcm], async (server) => {
      const r = await benchRun(server, dir, `class-gcm-${serverGcm}`,
        ['--gcm', benchGcm, '--scenario', 'class', '--subscribers', '4'], { consumers: 8 });
      assert.equal(r.loss.lost, 0, `server ${serverGcm}: ${JSON.stringify(r.loss)}`);
      assert.ok(r.feedback.senderReportsReceived >= 2 * 8, `server ${serverGcm}: ${r.feedback.senderReportsReceived} sender reports`);
    });
  }
});

test('chorus-bench --simulcast: class 4, three encodings sent, each receiver gets the one it asked for, nothing lost', { timeout: 60000 }, async () => {
  // The publisher sends three VP8 encodings by SSRC (L1T3); two subscribers keep the top one
  // (the server's default), two ask for spatial layer 0 (--simulcast-low 50). The bench
  // receivers send no transport-cc feedback, so the server has no estimate for them and caps
  // nothing: each gets its preference. The tag in every payload says which encoding arrived.
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-simulcast-');
  await withServer(['--log-level', 'warn'], async (server) => {
    const r = await benchRun(server, dir, 'class-simulcast', [
      '--scenario', 'class', '--subscribers', '4', '--simulcast', '--simulcast-low', '50', '--duration-s', '2',
    ], { consumers: 8 });
    assert.equal(r.params.simulcast, true);
    const s = r.simulcast;
    assert.ok(s, 'no simulcast figures');
    assert.equal(s.encodings, 3);
    assert.equal(s.lowLayerReceivers, 2);
    assert.deepEqual(s.kbps, [125, 333, 1000]);
    assert.ok(s.sentPackets.every((n) => n > 0), `sent per encoding: ${s.sentPackets}`);
    assert.ok(s.deliveredPackets[0] > 0 && s.deliveredPackets[2] > 0, `delivered per encoding: ${s.deliveredPackets}`);
    assert.equal(s.deliveredPackets[1], 0, `delivered per encoding: ${s.deliveredPackets}`);
    assert.equal(s.offTarget, 0, 'packets of an encoding the receiver did not ask for');
    // The forwarded stream is one SSRC with continuous sequence numbers: nothing lost (at
    // most 1 %, as the other cases allow a loaded CI machine's loopback).
    assert.ok(r.loss.lost <= Math.max(1, 0.01 * r.delivered.videoPackets), `loss: ${JSON.stringify(r.loss)}`);
    assert.equal(r.delivered.videoPackets, s.deliveredPackets[0] + s.deliveredPackets[2] + r.delivered.rtxPackets);
  });
});

test('chorus-bench: class 8 on one shared port, datagrams batched across consumers and segmented per receiver: media delivered', { timeout: 120000 }, async () => {
  // Single-port mode sends the consumers' datagrams together from each scheduler worker's
  // outbox (rtc.batchSends, on by default); the receivers busy-poll (--busy-poll).
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-single-');
  await withSinglePortServer(['--log-level', 'warn'], async (server) => {
    const cls = await benchRun(server, dir, 'class-single', ['--scenario', 'class', '--subscribers', '8', '--busy-poll'], { consumers: 16 });
    assert.equal(cls.params.busyPoll, true);
    // (bounded, not exact: a loaded CI machine may drop a datagram on loopback)
    assert.ok(cls.loss.percent < 1, `loss: ${JSON.stringify(cls.loss)}`);
    // The outboxes carried the media, several datagrams per sendmmsg.
    const metrics = await httpGet(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    const value = (name) => Number((metrics.body.match(new RegExp(`^${name} (\\S+)$`, 'm')) ?? [])[1]);
    const datagrams = value('chorus_media_batched_datagrams_total');
    const calls = value('chorus_media_batched_send_calls_total');
    assert.ok(datagrams >= cls.delivered.packets, `batched datagrams ${datagrams}, delivered ${cls.delivered.packets}`);
    assert.ok(calls > 0 && datagrams > calls, `batched datagrams ${datagrams} in ${calls} calls`);
    // The bench's frames leave at once in packets of one size (the last shorter): a
    // consumer's run of them to its receiver left as one segmented message (UDP GSO), and
    // the receivers still counted every datagram (the loss bound above).
    const segMessages = value('chorus_media_segmented_messages_total');
    const segDatagrams = value('chorus_media_segmented_datagrams_total');
    assert.ok(segMessages > 0 && segDatagrams >= 2 * segMessages, `segmented: ${segDatagrams} datagrams in ${segMessages} messages`);
    assert.ok(segDatagrams <= datagrams, `segmented ${segDatagrams} of ${datagrams}`);
    assert.equal(value('chorus_media_segment_fallbacks_total'), 0);
    // Receivers that take a segmented message whole (--receiver-gro, UDP_GRO) cut it into
    // its datagrams themselves: every copy is still counted, and nothing is lost.
    const gro = await benchRun(server, dir, 'class-single-gro', ['--scenario', 'class', '--subscribers', '8', '--busy-poll', '--receiver-gro'], { consumers: 16 });
    assert.equal(gro.params.receiverGro, true);
    assert.ok(gro.loss.percent < 1, `loss: ${JSON.stringify(gro.loss)}`);
    const copies = gro.delivered.packets / gro.sent.packets;
    assert.ok(copies > 7 && copies < 9, `delivered ${gro.delivered.packets} of ${gro.sent.packets} sent x 8`);
    assert.ok(gro.latencyMs.samples > 0.9 * gro.delivered.packets, `latency samples ${gro.latencyMs.samples} of ${gro.delivered.packets}`);
  });
});

test('chorus-bench --decrypt-sample 3: class 6, two receivers decrypt and time; every receiver counts its loss', { timeout: 120000 }, async () => {
  // A generator that carries 1000 subscribers decrypts and times only a
  // sample of them; the others account delivery and loss from the clear RTP headers.
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-sample-');
  await withServer(['--log-level', 'warn'], async (server) => {
    const r = await benchRun(server, dir, 'class-sampled', [
      '--scenario', 'class', '--subscribers', '6', '--decrypt-sample', '3',
    ], { consumers: 12 });
    assert.equal(r.params.decryptSample, 3);
    assert.equal(r.setup.sampled, 2); // receivers 0 and 3
    // Every receiver, decrypting or not, counted what it got: about six copies of what was
    // sent, and the loss of all six.
    const copies = r.delivered.packets / r.sent.packets;
    assert.ok(copies > 5 && copies < 7, `delivered ${r.delivered.packets} of ${r.sent.packets} sent x 6`);
    assert.ok(r.loss.expected > 5 * r.sent.packets, `loss: ${JSON.stringify(r.loss)}`);
    assert.ok(r.loss.percent < 1, `loss: ${JSON.stringify(r.loss)}`);
    // Only the two sampled receivers timed their packets.
    const timed = r.latencyMs.samples / r.delivered.packets;
    assert.ok(timed > 0.2 && timed < 0.45, `latency samples ${r.latencyMs.samples} of ${r.delivered.packets} delivered`);
  });
});

test('chorus-bench storm: 12 subscribers join at once while the publisher sends; every one gets audio and video', { timeout: 120000 }, async () => {
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const dir = tempDir('chorus-bench-storm-');
  await withServer(['--log-level', 'warn'], async (server) => {
    const r = await benchRun(server, dir, 'storm', ['--scenario', 'storm', '--subscribers', '12'], { consumers: 24 });
    assert.equal(r.scenario, 'storm');
    const s = r.storm;
    assert.ok(s, 'no storm figures');
    assert.equal(s.subscribers, 12);
    assert.equal(s.concurrency, 12); // one client thread per subscriber
    assert.equal(s.withMedia, 12, `subscribers with audio and video: ${JSON.stringify(s)}`);
    // Every stage reached by all, in order (quantiles over the same subscribers).
    const stages = ['joined', 'transportConnected', 'consuming', 'firstMedia'];
    for (const k of [...stages, 'firstAudio', 'firstVideo']) {
      assert.equal(s[k].count, 12, `${k}: ${JSON.stringify(s[k])}`);
      for (const q of ['p50Ms', 'p90Ms', 'p99Ms', 'maxMs']) assert.ok(isNum(s[k][q]) && s[k][q] >= 0, `${k}.${q}`);
      assert.ok(s[k].p50Ms <= s[k].p99Ms && s[k].p99Ms <= s[k].maxMs);
    }
    // In order up to consuming; the media needs the transport, but may overtake the reply
    // to the last resume, after which a subscriber counts itself consuming.
    for (let i = 1; i < 3; ++i) assert.ok(s[stages[i - 1]].p50Ms <= s[stages[i]].p50Ms, `${stages[i - 1]} before ${stages[i]}`);
    assert.ok(s.transportConnected.p50Ms <= s.firstMedia.p50Ms, `transportConnected before firstMedia: ${JSON.stringify(s)}`);
    assert.ok(s.firstMedia.maxMs >= Math.max(s.firstAudio.maxMs, s.firstVideo.maxMs) - 0.001);
    assert.ok(isNum(s.seconds) && s.seconds > 0 && isNum(s.joinsPerSec) && s.joinsPerSec > 0);
    for (const k of ['serverCpuSeconds', 'serverCpuMsPerJoin', 'clientCpuPercent']) assert.ok(isNum(s[k]), `storm.${k} is ${s[k]}`);
  });
});

test('chorus-bench floor: a short run, figures reported', { timeout: 60000 }, async () => {
  assert.ok(fs.existsSync(BENCH), `no chorus-bench binary at ${BENCH}`);
  const json = path.join(tempDir('chorus-bench-floor-'), 'floor.json');
  const res = await runBench(['floor', '--duration-s', '0.2', '--fanout', '1,4', '--json', json]);
  process.stdout.write(`\n${res.stdout}\n`);
  assert.equal(res.code, 0, `chorus-bench floor exited with ${res.code} (${res.signal}${res.timedOut ? ', timed out' : ''})\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /us\/fwd packet/);
  const f = JSON.parse(fs.readFileSync(json, 'utf8'));
  checkFloor(f, [1, 4]);
  assert.equal(f.profile, 'SRTP_AEAD_AES_256_GCM');
  assert.ok(f.srtp.length === 2 && f.srtp.every((s) => s.protectUs > 0 && s.unprotectUs > 0));
  assert.ok(f.cases.some((c) => c.send === 'per-socket' && c.fanout === 4));
});

test('chorus-bench floor --rate: packets arrive at the rate, each alone', { timeout: 60000 }, async () => {
  const json = path.join(tempDir('chorus-bench-floor-rate-'), 'floor.json');
  const res = await runBench(['floor', '--duration-s', '1', '--fanout', '2', '--no-per-socket',
    '--rate', '50', '--json', json]);
  assert.equal(res.code, 0, `chorus-bench floor exited with ${res.code}\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /50 datagrams\/s/);
  const f = JSON.parse(fs.readFileSync(json, 'utf8'));
  checkFloor(f, [2]);
  assert.equal(f.rate, 50);
  for (const c of f.cases) {
    // 1 s at 50/s is 50; the lock step would have sent thousands
    assert.ok(c.packetsIn >= 20 && c.packetsIn <= 58, `${c.kind}: ${c.packetsIn} packets in 1 s at 50/s`);
    // Mostly one wake-up per packet (a burst would give a handful). Not all: a wake-up
    // delayed past the next arrival on a busy two-core machine takes two. At 200/s (5 ms
    // apart) CI runs saw 89 and 59 wake-ups for 100 packets; 20 ms apart, a packet shares
    // a wake-up only behind a delay four times as long.
    assert.ok(c.wakeups >= c.packetsIn * 0.5, `${c.kind}: ${c.wakeups} wake-ups for ${c.packetsIn} packets`);
  }
});

test('chorus-bench floor --burst: frames at once, segmented rows, latency per forwarded datagram', { timeout: 60000 }, async () => {
  const json = path.join(tempDir('chorus-bench-floor-burst-'), 'floor.json');
  const res = await runBench(['floor', '--duration-s', '0.3', '--fanout', '3', '--no-per-socket',
    '--kind', 'video', '--burst', '6', '--json', json]);
  assert.equal(res.code, 0, `chorus-bench floor exited with ${res.code}\n${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /6 datagrams at once/);
  const f = JSON.parse(fs.readFileSync(json, 'utf8'));
  checkFloor(f, [3], ['video']);
  assert.equal(f.burst, 6);
  assert.deepEqual(f.cases.map((c) => c.send), ['batched', 'segmented']);
  const [batched, segmented] = f.cases;
  // every copy sent or counted, as in the batched case
  assert.ok(segmented.packetsIn > 0 && segmented.packetsOut + segmented.sendFailures === segmented.packetsIn * 3, JSON.stringify(segmented));
  assert.equal(segmented.srtpFailures, 0);
  // a receive call that brought two or more of a burst's packets left as one message per destination
  assert.ok(segmented.segmentedMessages > 0, JSON.stringify(segmented));
  assert.equal(batched.segmentedMessages, 0);
  for (const c of f.cases) {
    const l = c.latencyMs;
    assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.max, `${c.send}: ${JSON.stringify(l)}`);
  }
  // Sinks that take a segmented message whole (--sink-gro) count its datagrams: as many
  // drained as sent (the drain spans the warm-up too, so at least the window's).
  const groJson = path.join(tempDir('chorus-bench-floor-gro-'), 'floor.json');
  const gro = await runBench(['floor', '--duration-s', '0.3', '--fanout', '3', '--no-per-socket',
    '--kind', 'video', '--burst', '6', '--sink-gro', '--json', groJson]);
  assert.equal(gro.code, 0, `chorus-bench floor --sink-gro exited with ${gro.code}\n${gro.stdout}\n${gro.stderr}`);
  assert.match(gro.stdout, /sinks take segmented messages whole/);
  const g = JSON.parse(fs.readFileSync(groJson, 'utf8'));
  assert.equal(g.sinkGro, true);
  const gs = g.cases.find((c) => c.send === 'segmented');
  assert.ok(gs && gs.segmentedMessages > 0, JSON.stringify(g.cases));
  assert.ok(gs.drained >= 0.9 * gs.packetsOut, `drained ${gs.drained} of ${gs.packetsOut} sent`);
  assert.equal(f.sinkGro, false);
  const bad = await runBench(['floor', '--burst', '4', '--in-flight', '2']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--burst and --in-flight/);
});

test('chorus-bench floor --kind video: the video case only, SRTP and forwarding', { timeout: 60000 }, async () => {
  const json = path.join(tempDir('chorus-bench-floor-kind-'), 'floor.json');
  const res = await runBench(['floor', '--duration-s', '0.3', '--fanout', '2,3', '--no-per-socket',
    '--kind', 'video', '--json', json]);
  assert.equal(res.code, 0, `chorus-bench floor exited with ${res.code}\n${res.stdout}\n${res.stderr}`);
  const f = JSON.parse(fs.readFileSync(json, 'utf8'));
  checkFloor(f, [2, 3], ['video']);
  assert.equal(f.kind, 'video');
  assert.deepEqual(f.srtp.map((s) => s.kind), ['video']);
  assert.deepEqual(f.cases.map((c) => `${c.kind}/${c.fanout}`), ['video/2', 'video/3']);
  assert.doesNotMatch(res.stdout, /\baudio\b/);
});

test('chorus-bench: bad usage exits with 2', { timeout: 10000 }, async () => {
  const res = await runBench(['--scenario', 'lecture', '--url', 'ws://127.0.0.1:1']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /invalid value for --scenario/);
  const low = await runBench(['--simulcast-low', '10', '--url', 'ws://127.0.0.1:1']);
  assert.equal(low.code, 2);
  assert.match(low.stderr, /--simulcast-low goes with --simulcast/);
  const ramp = await runBench(['--scenario', 'meeting', '--ramp-step', '2', '--ramp-max', '4', '--url', 'ws://127.0.0.1:1']);
  assert.equal(ramp.code, 2);
  assert.match(ramp.stderr, /ramp is for the class scenario/);
  const floor = await runBench(['floor', '--profile', 'rot13']);
  assert.equal(floor.code, 2);
  assert.match(floor.stderr, /invalid value for --profile/);
  const rate = await runBench(['floor', '--rate', '0']);
  assert.equal(rate.code, 2);
  assert.match(rate.stderr, /invalid value for --rate/);
  const kind = await runBench(['floor', '--kind', 'both']);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /invalid value for --kind/);
});
