// A data producer that sends as fast as it can (a flood) must not delay another room's
// data or media, and the server's memory must stay bounded. Real Chromium pages in a
// loopback-only network namespace: room "flood" (A floods 1 KB messages, B consumes),
// room "calm" (C sends a timestamped ping every 50 ms and its camera, D consumes both; in
// a second Chromium), and a third room where chorus-bench's class (a publisher and four
// subscribers, real ICE/DTLS/SRTP) measures media latency from send stamps to kernel
// receive stamps, once before and once during the flood.
// On two or more CPUs the server runs on CPU 0 and everything else (the browsers, the
// generator, this process) on CPU 1, so that what is measured inside the server is the
// server's own sharing of its core between rooms, not the flooding browser taking it.
// The calm room's ping latency inside the server (transport in -> data consumer out) is
// bounded; end to end it is reported (the browsers share a core with the flood); the
// media room's p99 one-way latency during the flood is bounded against its quiet one; every
// ping must arrive in order, D's video must keep decoding, every flood message is
// accounted for (sent or dropped and counted), and the server's resident memory must not
// grow past a bound during the flood.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, launchChromium, openPage, until, withBrowser } from './lib/browser.mjs';
import { DATA_PAGE } from './lib/data_page.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { BENCH_BIN, runProcess, tempDir } from './lib/server.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
// Every thread of `pid` onto `cpus` (a taskset list); threads and children made later
// inherit it.
const pin = (cpus, pid) => execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'pipe' });
const CPUS = os.availableParallelism();
const PINNED = CPUS >= 2;

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

test('a flooding data producer does not stall another room; server memory stays bounded', { timeout: 240000, skip }, async () => {
  // This process and what it starts from now on (Chromium, chorus-bench) on CPU 1; the
  // server, once started, on CPU 0.
  if (PINNED) pin('1', process.pid);
  try {
  await withBrowser({ html: DATA_PAGE, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    if (PINNED) pin('0', server.pid);
    // Media latency in a third room: chorus-bench's class, its window inside the flood.
    const benchDir = tempDir('chorus-flood-bench-');
    const mediaRun = async (name, durationS) => {
      const json = path.join(benchDir, `${name}.json`);
      const res = await runProcess(BENCH_BIN, ['--url', `ws://127.0.0.1:${server.port}`, '--scenario', 'class',
        '--subscribers', '4', '--duration-s', String(durationS), '--warmup-s', '1', '--setup-timeout-s', '20',
        '--run-id', name, '--json', json], { timeoutMs: 40000, outputBytes: 1 << 20 });
      assert.equal(res.code, 0, `chorus-bench (${name}) exited with ${res.code}\n${res.stdout}\n${res.stderr}`);
      return JSON.parse(fs.readFileSync(json, 'utf8'));
    };
    // The calm room's pages run in a browser of their own: pages of one browser share its
    // WebRTC threads, and the flood would then be measured inside Chromium, not the server.
    const calmBrowser = await launchChromium();
    try {
    const pages = [];
    for (const name of ['A', 'B']) pages.push(await openPage(browser, `${site.url}/`, name));
    for (const name of ['C', 'D']) pages.push(await openPage(calmBrowser, `${site.url}/`, name));
    const [pa, pb, pc, pd] = pages;
    const url = (peer, room) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=${room}`;
    await pb.evaluate((u) => window.dataJoin(u), url('b', 'flood'));
    await pd.evaluate((u) => window.dataJoin(u), url('d', 'calm'));
    const flooder = await pa.evaluate((u) => window.dataJoin(u, { produce: true, consume: false }), url('a', 'flood'));
    const pinger = await pc.evaluate((u) => window.dataJoin(u, { produce: true, consume: false, media: true }), url('c', 'calm'));
    const open = (p) => p.evaluate(() => [...window.dataConsumers.values()].filter((x) => x.readyState === 'open').length);
    await until(pb, 'B consumes', () => open(pb), (n) => n === 2, 15000);
    await until(pd, 'D consumes', () => open(pd), (n) => n === 2, 15000);
    // D consumes C's video too.
    await pd.evaluate((id) => window.consumeMedia(id), await pc.evaluate(() => window.videoProducer.id));
    const frames = () => pd.evaluate(() => window.framesDecoded());
    await until(pd, 'D decodes C\'s video', frames, (n) => n > 10, 20000);

    // The server's own part of the calm room's delay: D's data consumer of C's pings.
    const serverDelay = async () => {
      for (const id of await pd.evaluate(() => [...window.dataConsumers.keys()])) {
        const r = await pd.evaluate((id) => window.chorusRequest('get-data-consumer-stats', { dataConsumerId: id }), id);
        if (r.data?.[0]?.dataProducerId === pinger.dataProducerId) return r.data[0];
      }
      return null;
    };
    const pingLatencies = async (count) => {
      const before = await pd.evaluate((id) => window.got.filter((g) => g.dataProducerId === id).length, pinger.dataProducerId);
      await pc.evaluate((n) => window.pings(n, 50), count);
      const rows = await until(pd, 'pings', () => pd.evaluate((id) => window.got.filter((g) => g.dataProducerId === id), pinger.dataProducerId),
        (g) => g.length >= before + count, 30000);
      const mine = rows.slice(before);
      assert.equal(mine.length, count);
      mine.forEach((r, i) => assert.equal(JSON.parse(r.text).i, i, 'pings in order'));
      return mine.map((r) => r.wall - JSON.parse(r.text).t);
    };

    const quiet = await pingLatencies(40);
    const quietDelay = await serverDelay();
    const quietMedia = await mediaRun('quiet', 4);
    const rss0 = rssKb(server.pid);
    let rssMax = rss0;
    const sampler = setInterval(() => { try { rssMax = Math.max(rssMax, rssKb(server.pid)); } catch {} }, 200);
    sampler.unref(); // a failure before clearInterval must not keep the test process alive
    const framesBefore = await frames();
    const cpu0 = cpuSeconds(server.pid);
    const floodDone = pa.evaluate(() => window.flood(8000, 1024));
    // (set up in about half a second, then 1 s of warm-up and 5 s measured: inside the 8 s)
    const loadedMediaRun = mediaRun('flood', 5);
    const loaded = await pingLatencies(100);
    const loadedMedia = await loadedMediaRun;
    const framesDuring = (await frames()) - framesBefore;
    const flood = await floodDone;
    const cpu = cpuSeconds(server.pid) - cpu0;
    clearInterval(sampler);

    // B received (part of) the flood; the server's counters say what was dropped. B's
    // channels are reliable and ordered: it ends up with every message its transport sent
    // (flood and room data alike), waited for on that condition (bounded).
    const bCount = () => pb.evaluate((id) => window.got.filter((g) => g.dataProducerId === id).length, flooder.dataProducerId);
    const transportSctp = async () => {
      const bt = await pb.evaluate(() => window.chorusRequest('get-transport-stats', { transportId: window.recvTransport.id }));
      return (Array.isArray(bt.data) ? bt.data[0] : bt.data).sctp;
    };
    const settled = await until(pb, 'B has every message its transport sent', async () => ({
      got: await pb.evaluate(() => window.got.length), sctp: await transportSctp(),
    }), (x) => x.got >= x.sctp.messagesSent, 15000, 250);
    const bsctp = settled.sctp;
    const bGot = await bCount();
    const ps = await pa.evaluate((id) => window.chorusRequest('get-data-producer-stats', { dataProducerId: id }), flooder.dataProducerId);
    const bcons = await pb.evaluate(() => [...window.dataConsumers.keys()]);
    let cstats = null;
    for (const id of bcons) {
      const r = await pb.evaluate((id) => window.chorusRequest('get-data-consumer-stats', { dataConsumerId: id }), id);
      if (r.data?.[0]?.dataProducerId === flooder.dataProducerId) cstats = r.data[0];
    }
    const fmt = (xs) => `p50 ${percentile(xs, 50)} ms, p95 ${percentile(xs, 95)} ms, max ${Math.max(...xs)} ms`;
    process.stderr.write(`flood: A sent ${flood.messages} x 1 KB in 8 s (${Math.round(flood.messages / 8)}/s); server got ${ps.data[0].messagesReceived}, ` +
      `B received ${bGot}; dropped for B: ${cstats?.messagesDropped} at its data consumer (queue to the transport full), ` +
      `${bsctp.droppedBufferFull} at its transport (usrsctp send buffer full); server CPU ${cpu.toFixed(2)} s over the flood's 8 s\n`);
    process.stderr.write(`calm room ping latency: quiet ${fmt(quiet)}; during the flood ${fmt(loaded)}\n`);
    const loadedDelay = await serverDelay();
    process.stderr.write(`calm room, inside the server (transport in -> data consumer out): max ${quietDelay.serverDelayMaxUs} us before the flood, ` +
      `max ${loadedDelay.serverDelayMaxUs} us, average ${loadedDelay.serverDelayAvgUs} us over all pings by the end\n`);
    process.stderr.write(`calm room video: ${framesDuring} frames decoded by D during the flood's first 5 s\n`);
    const mediaLine = (r) => `p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(2)} ms, ` +
      `loss ${r.loss.percent.toFixed(3)} % (${r.latencyMs.samples} packets)`;
    process.stderr.write(`media room (chorus-bench class 4; server ${PINNED ? 'alone on CPU 0' : 'sharing the CPUs'}): ` +
      `quiet ${mediaLine(quietMedia)}; during the flood ${mediaLine(loadedMedia)}\n`);
    process.stderr.write(`server RSS: ${Math.round(rss0 / 1024)} MB before, at most ${Math.round(rssMax / 1024)} MB during the flood (shared machine)\n`);
    assert.ok(ps.data[0].messagesReceived > 1000, 'the flood reached the server');
    // Every flood message the server took is accounted for at B's data consumer: handed on
    // to B's transport or dropped there (the queue toward the transport is bounded: a slow
    // receiver drops, it never grows memory); what B's transport could not send is counted
    // there; B got no more than its transport sent.
    assert.ok(cstats, 'B has a data consumer of the flood');
    assert.equal(cstats.messagesSent + cstats.messagesDropped, ps.data[0].messagesReceived,
      `data consumer: ${JSON.stringify(cstats)}, producer: ${JSON.stringify(ps.data[0])}`);
    assert.ok(cstats.bufferedAmount >= 0 && cstats.bufferedAmount <= 1 << 20, `bufferedAmount ${cstats.bufferedAmount}`);
    assert.ok(bGot <= bsctp.messagesSent, `B got ${bGot}, its transport sent ${bsctp.messagesSent}`);
    assert.ok(cstats.messagesSent <= bsctp.messagesSent + bsctp.droppedBufferFull + bsctp.droppedOther,
      `consumer handed on ${cstats.messagesSent}; transport ${JSON.stringify(bsctp)}`);
    // The calm room is not held up inside the server: its pings' time from C's transport to
    // D's data consumer stays far below the flood's own queueing (8 s of messages). What
    // the browsers add on the core they share with the flood is reported above, not judged.
    // Measured with the server alone on its core: 0.1-0.6 ms at worst (7-49 ms when it
    // shared the cores with the flooding browser).
    const delayBoundUs = PINNED ? 50_000 : 150_000;
    assert.ok(loadedDelay.serverDelayMaxUs < delayBoundUs, `calm pings waited up to ${loadedDelay.serverDelayMaxUs} us in the server`);
    // End to end (C's page to D's), with the browsers on the flood's core: measured p95
    // 4-7 ms during the flood, 2-3 ms quiet. Judged only when the server has its own core.
    if (PINNED) assert.ok(percentile(loaded, 95) < 100, `calm pings end to end during the flood: ${fmt(loaded)}`);
    // The media room during the flood: no loss to speak of, and a p99 one-way latency
    // within 20 ms of the quiet one (measured quiet: about 1 ms).
    assert.ok(loadedMedia.ok && quietMedia.ok, 'the media room was set up and delivered media both times');
    assert.ok(loadedMedia.loss.percent < 1, `media loss during the flood: ${JSON.stringify(loadedMedia.loss)}`);
    assert.ok(loadedMedia.latencyMs.p99 < quietMedia.latencyMs.p99 + 20,
      `media p99 ${loadedMedia.latencyMs.p99} ms during the flood, ${quietMedia.latencyMs.p99} ms quiet`);
    assert.ok(framesDuring > 0, 'the calm room\'s video kept being decoded during the flood');
    // Bounded: the flood may cost buffers (usrsctp's, bounded per transport), not memory
    // proportional to what was sent (8 s of it is several hundred MB when unbounded).
    assert.ok(rssMax - rss0 < 150 * 1024, `RSS grew by ${Math.round((rssMax - rss0) / 1024)} MB`);
    for (const p of pages) assert.deepEqual(await p.evaluate(() => window.events.filter((e) => e.type === 'page-error')), []);
    for (const p of pages) await p.close();
    await waitForNoPeers(server);
    } finally {
      await calmBrowser.close();
    }
  });
  } finally {
    if (PINNED) pin(`0-${CPUS - 1}`, process.pid);
  }
});
