// The demo app served by chorus itself at "/", driven by playwright-core in real Chromium
// (loopback-only network namespace): two pages join one room over Socket.IO and each shows
// the other's video playing. A screenshot is saved as a test artifact
// (CHORUS_ARTIFACT_DIR, default build/test-artifacts/).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT } from './lib/server.mjs';

const ARTIFACTS = process.env.CHORUS_ARTIFACT_DIR || path.join(REPO_ROOT, 'build', 'test-artifacts');

test('demo app: two pages in one room see each other', { timeout: 120000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ serverArgs: ['--log-level', 'warn'] }, async ({ server, browser }) => {
    const app = await fetch(`${server.url}/app.js`, { signal: AbortSignal.timeout(5000) });
    assert.equal(app.status, 200);
    assert.ok((await app.text()).length > 10000, 'the demo bundle is built into the binary');
    const pages = [];
    for (const [host, name] of [['127.0.0.1', 'alice'], ['localhost', 'bob']]) {
      const page = await openPage(browser, `http://${host}:${server.port}/`, name);
      await page.fill('#room', 'demo-room');
      await page.fill('#name', name);
      await page.click('#join');
      pages.push(page);
    }
    for (const [i, page] of pages.entries()) {
      const other = i === 0 ? 'bob' : 'alice';
      // The remote tile shows the other's name and its video plays.
      await page.waitForFunction((n) => {
        const tile = [...document.querySelectorAll('#remotes .tile')].find((t) => t.querySelector('.name').textContent.startsWith(n));
        const v = tile && tile.querySelector('video');
        return v && v.videoWidth > 0 && !v.paused && v.currentTime > 0;
      }, other, { timeout: 30000 });
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await pages[0].screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true });
    process.stderr.write(`screenshot: ${path.join(ARTIFACTS, 'demo.png')}\n`);
    // Camera off on alice's side shows on bob's tile; leaving removes the tile.
    await pages[0].click('#camera');
    await pages[1].waitForFunction(() => [...document.querySelectorAll('#remotes .tile')].some((t) => t.classList.contains('video-off')), null, { timeout: 10000 });
    await pages[0].click('#leave');
    await pages[1].waitForFunction(() => document.querySelectorAll('#remotes .tile').length === 0, null, { timeout: 10000 });
    for (const p of pages) await p.close();
    await waitForNoPeers(server);
  });
});
