// The demo app served by chorus itself at "/", driven by playwright-core in real Chromium
// (loopback-only network namespace): two pages join one room over Socket.IO and each shows
// the other's video playing. A screenshot is saved as a test artifact
// (CHORUS_ARTIFACT_DIR, default build/test-artifacts/). A lecture: a moderator's page sees
// the audience as a count, finds a viewer in its list and brings it on stage.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT } from './lib/server.mjs';
import { connectSio } from './lib/socketio.mjs';

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

test('demo app: a lecture: the audience counted, searched and brought on stage by a moderator', { timeout: 120000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  // rooms.rosterLimit 2: three viewers are an audience (counted, not listed).
  await withBrowser({ serverArgs: ['--log-level', 'warn', '--roster-limit', '2'] }, async ({ server, browser }) => {
    const page = await openPage(browser, `http://127.0.0.1:${server.port}/`, 'moderator');
    await page.fill('#room', 'lecture-room');
    await page.fill('#name', 'Mo');
    await page.selectOption('#role', 'moderator');
    await page.click('#join');
    const viewers = [];
    try {
      for (const name of ['Ann', 'Ben', 'Cid']) {
        const socket = await connectSio(server, { transports: ['websocket'], query: { role: 'viewer' } });
        viewers.push(socket);
        const r = await socket.timeout(10000).emitWithAck('join-mediasoup-room', { roomId: 'lecture-room', userId: `user_${name}`, userName: name });
        assert.ok(Array.isArray(r.existingProducers), JSON.stringify(r));
      }
      // The count says three watching and the moderator's panel lists them; no tiles.
      await page.waitForFunction(() => document.querySelector('#count').textContent.includes('3 watching') &&
        document.querySelectorAll('#audience-list li').length === 3, null, { timeout: 10000 });
      assert.equal(await page.locator('#remotes .tile').count(), 0);
      // The search finds one; "On stage" lists it as a participant (a tile), two still watch.
      await page.fill('#audience-filter', 'Ben');
      await page.waitForFunction(() => {
        const items = [...document.querySelectorAll('#audience-list li')];
        return items.length === 1 && items[0].textContent.startsWith('Ben');
      }, null, { timeout: 10000 });
      await page.click('#audience-list li button[data-action="on-stage"]');
      await page.waitForFunction(() => [...document.querySelectorAll('#remotes .tile .name')].some((n) => n.textContent.startsWith('Ben')) &&
        document.querySelector('#count').textContent.includes('2 watching'), null, { timeout: 10000 });
    } finally {
      for (const socket of viewers) socket.close();
      await page.close();
    }
    await waitForNoPeers(server);
  });
});
