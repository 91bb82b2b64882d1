// Real Chromium (Debian's) driven by playwright-core, with mediasoup-client bundled by
// esbuild, for end-to-end tests. Flags and constraints: shared/guide/testing.md. The
// page is served by a static HTTP server on 127.0.0.1 owned by the test.

import assert from 'node:assert/strict';
import { build } from 'esbuild';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { REPO_ROOT, withServer } from './server.mjs';
import { writeSpeechWav } from './speech_wav.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// A page script (to put inside a page's <script>) defining window.received(): for each
// mediasoup-client Consumer in the array window.consumers, { kind, producerId,
// framesDecoded, packetsReceived, totalSamplesReceived } from its inbound-rtp stats.
export const RECEIVED_SCRIPT = `
window.received = async () => {
  const out = [];
  for (const c of window.consumers) {
    const row = { kind: c.kind, producerId: c.producerId, framesDecoded: 0, packetsReceived: 0, totalSamplesReceived: 0 };
    (await c.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      row.framesDecoded = s.framesDecoded || 0;
      row.packetsReceived = s.packetsReceived || 0;
      row.totalSamplesReceived = s.totalSamplesReceived || 0;
    });
    out.push(row);
  }
  return out;
};
`;

// For rows of window.received() (one per consumer, with consumerId): true when every
// consumer's counters in `now` grew over `before` (frames decoded; audio packets and samples).
export const grewFrom = (before) => (now) =>
  now.length === before.length &&
  now.every((r) => {
    const b = before.find((x) => x.consumerId === r.consumerId);
    return b && (r.kind === 'video' ? r.framesDecoded > b.framesDecoded
      : r.packetsReceived > b.packetsReceived && r.totalSamplesReceived > b.totalSamplesReceived);
  });

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

// Bundles mediasoup-client into one IIFE script exposing window.mediasoupClient (and,
// with socketio, socket.io-client's io as window.io).
export async function bundleMediasoupClient({ socketio = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-bundle-'));
  const entry = path.join(dir, 'entry.js');
  fs.writeFileSync(entry, "window.mediasoupClient = require('mediasoup-client');\n" +
    (socketio ? "window.io = require('socket.io-client').io;\n" : ''));
  const out = path.join(dir, 'mediasoup-client.js');
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome111',
    outfile: out,
    nodePaths: [path.join(REPO_ROOT, 'node_modules')],
    logLevel: 'error',
  });
  const code = fs.readFileSync(out, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return code;
}

// Serves `files` ({ '/path': { type, body } }) on 127.0.0.1:0. Returns { url, close }.
export async function serveStatic(files) {
  const server = http.createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' }).end(f.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// Launches Chromium with a fresh profile; close() ends it. With `speech`, the fake
// microphone talks (lib/speech_wav.mjs) instead of beeping.
export async function launchChromium({ speech = false } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-chromium-'));
  const wav = speech ? writeSpeechWav() : null;
  const args = wav ? [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${wav}`] : CHROMIUM_ARGS;
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    timeout: 30000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
      if (wav) fs.rmSync(path.dirname(wav), { recursive: true, force: true });
    },
  };
}

export function chromiumAvailable() {
  return fs.existsSync(CHROMIUM);
}

// Opens a new page of `browser` at `url`; the page's console errors (every console message
// with allConsole) go to stderr prefixed with [label].
export async function openPage(browser, url, label, { allConsole = false } = {}) {
  const page = await browser.context.newPage();
  page.on('console', (m) => {
    if (allConsole || m.type() === 'error') process.stderr.write(`[${label}] ${m.text()}\n`);
  });
  await page.goto(url);
  return page;
}

// Polls `sample()` until `done(value)` holds and resolves that value; fails after `timeoutMs`
// with the last value. The pause (page.waitForTimeout(intervalMs)) is the polling interval of
// a bounded loop, not synchronisation.
export async function until(page, what, sample, done, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await sample();
    if (done(value)) return value;
    assert.ok(Date.now() < deadline, `${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await page.waitForTimeout(intervalMs);
  }
}

// Asserts that a consumer's audio is decoded sound, not the decoder filling in for missing
// packets: over the two seconds after `rows` (the media page's received()), under a fifth
// concealed. `rx` samples received() again.
export async function assertAudioIsSound(page, rx, rows) {
  const audioOf = (r) => r.find((x) => x.kind === 'audio');
  const a0 = audioOf(rows);
  const a1 = audioOf(await until(page, 'two more seconds of audio', rx,
    (r) => audioOf(r).totalSamplesReceived >= a0.totalSamplesReceived + 96000, 20000));
  const concealed = a1.concealedSamples - a0.concealedSamples;
  const samples = a1.totalSamplesReceived - a0.totalSamplesReceived;
  assert.ok(a1.packetsReceived - a0.packetsReceived > 50, JSON.stringify([a0, a1]));
  assert.ok(concealed < 0.2 * samples, `concealed ${concealed} of ${samples} samples (${JSON.stringify([a0, a1])})`);
}

// Runs body({ server, browser, site }) with Chromium and a fresh chorus (withServer, started
// with `serverArgs`). With `html`, a static site serves it at "/" and the mediasoup-client
// bundle (with socket.io-client too when `socketio`) at `script`; without, `site` is null.
// `speech`: see launchChromium. Chromium and the site are closed afterwards, whatever happens.
export async function withBrowser({ html, script = '/mediasoup-client.js', socketio = false, serverArgs = [], speech = false }, body) {
  let site = null;
  if (html !== undefined) {
    const bundle = await bundleMediasoupClient({ socketio });
    site = await serveStatic({
      '/': { type: 'text/html', body: html },
      [script]: { type: 'text/javascript', body: bundle },
    });
  }
  try {
    const browser = await launchChromium({ speech });
    try {
      return await withServer(serverArgs, (server) => body({ server, browser, site }));
    } finally {
      await browser.close();
    }
  } finally {
    await site?.close();
  }
}
