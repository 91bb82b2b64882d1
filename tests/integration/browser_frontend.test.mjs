// The seed 004 frontend's flow (shared/guide/seed004-frontend.md) in real Chromium with the
// stock socket.io-client and mediasoup-client (loopback-only network namespace): three
// participants with user ids, names and pictures, the creator as host, camera + microphone
// keyed by user id, a canvas screen share keyed `${userId}-screen`, stopping the share, and
// a participant leaving (producer-closed for each of its producers, then participant-left).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { PAGE } from './lib/frontend_page.mjs';
import { waitForNoPeers } from './lib/http.mjs';

const ROOM = 'frontend-e2e';
const uid = (name) => `user_${name.toLowerCase()}`;
const entry = (name) => ({ id: uid(name), name, imageUrl: `https://img.example/${name.toLowerCase()}.png`, isHost: name === 'Ada',
  isCoHost: false, isAudioMuted: false, isVideoPaused: false, audioLocked: false, screenShareLocked: false });
const byId = (a, b) => (a.id < b.id ? -1 : 1);
const stats = (page) => page.evaluate(() => window.streamStats());
const events = (page) => page.evaluate(() => window.events);

// Waits (bounded) until `page` holds exactly the streams of `spec` ({ key: [kinds] }), all
// decoding (video framesDecoded > 5, audio packetsReceived > 20), then until every counter
// has grown past that sample. Resolves the first sample.
async function flowing(page, label, spec) {
  const kinds = (rows) => rows.map((r) => r.kind).sort().join();
  const first = await until(page, `${label}: streams decoding`, () => stats(page),
    (s) => Object.keys(s).sort().join() === Object.keys(spec).sort().join()
      && Object.entries(spec).every(([k, want]) => kinds(s[k]) === [...want].sort().join()
        && s[k].every((r) => (r.kind === 'video' ? r.framesDecoded > 5 : r.packetsReceived > 20))),
    30000, 200);
  const counter = (r) => (r.kind === 'video' ? r.framesDecoded : r.packetsReceived);
  const was = new Map(Object.values(first).flat().map((r) => [r.consumerId, counter(r)]));
  await until(page, `${label}: counters growing`, () => stats(page),
    (s) => Object.values(s).flat().every((r) => counter(r) > was.get(r.consumerId)), 15000, 200);
  assert.deepEqual(await page.evaluate(() => window.errors), [], label);
  return first;
}

test('seed 004 frontend in Chromium: identity, host, streams by user id, screen share, leaving', { timeout: 150000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ html: PAGE, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const names = ['Ada', 'Bo', 'Cy'];
    const pages = {};
    const me = {};
    for (const name of names) pages[name] = await openPage(browser, `${site.url}/`, name);
    // Ada creates (and shares her screen), then Bo joins, then Cy (also claiming creator).
    for (const name of names) {
      me[name] = await pages[name].evaluate(([u, r, n, c, s]) => window.join(u, r, n, c, s), [server.url, ROOM, name, name !== 'Bo', name === 'Ada']);
    }
    const { Ada: ada, Bo: bo, Cy: cy } = me;
    assert.equal(new Set(names.map((n) => me[n].socketId)).size, 3);
    for (const name of names) assert.deepEqual(me[name].setUserId, {});
    const adaIds = Object.values(ada.producers);
    const boIds = Object.values(bo.producers);
    assert.equal(adaIds.length, 3);
    const joinAck = (j) => ({ ...j, existingProducers: [...j.existingProducers].sort() });
    assert.deepEqual(joinAck(ada.joined), { success: true, existingProducers: [], isHost: true, isCoHost: false });
    assert.deepEqual(joinAck(bo.joined), { success: true, existingProducers: [...adaIds].sort(), isHost: false, isCoHost: false });
    assert.deepEqual(joinAck(cy.joined), { success: true, existingProducers: [...adaIds, ...boIds].sort(), isHost: false, isCoHost: false });

    // 1. Every page's latest list: the three users, Ada alone host.
    const full = names.map(entry);
    for (const name of names) {
      await until(pages[name], `${name}: list`, () => pages[name].evaluate(() => window.list),
        (l) => Array.isArray(l) && JSON.stringify([...l].sort(byId)) === JSON.stringify(full), 15000);
    }

    // 2. Streams keyed as the frontend keys them, all decoding; the share apart from the camera.
    const av = ['audio', 'video'];
    await flowing(pages.Ada, 'Ada', { user_bo: av, user_cy: av });
    for (const [name, other] of [['Bo', 'Cy'], ['Cy', 'Bo']]) {
      const s = await flowing(pages[name], name, { user_ada: av, 'user_ada-screen': ['video'], [uid(other)]: av });
      const [screen] = s['user_ada-screen'];
      const camera = s.user_ada.find((r) => r.kind === 'video');
      assert.notEqual(screen.consumerId, camera.consumerId);
      assert.deepEqual([screen.producerId, screen.isScreenShare, screen.appData, screen.userId, screen.userName, screen.producerSocketId],
        [ada.producers.share, true, { share: true }, 'user_ada', 'Ada', ada.socketId]);
      for (const r of s.user_ada) {
        assert.deepEqual([r.producerId, r.isScreenShare, r.appData, r.userId, r.userName, r.producerSocketId],
          [ada.producers[r.kind], false, {}, 'user_ada', 'Ada', ada.socketId]);
      }
      for (const r of s[uid(other)]) assert.deepEqual([r.producerId, r.userId, r.producerSocketId], [me[other].producers[r.kind], uid(other), me[other].socketId]);
    }

    // 3. get-socket-id-for-user
    assert.deepEqual(await pages.Ada.evaluate(() => window.socketIdFor('user_bo')), { socketId: bo.socketId });

    // 4. Ada stops sharing: the share goes away on Bo and Cy, her camera keeps decoding.
    assert.deepEqual(await pages.Ada.evaluate(() => window.stopShare()), {});
    for (const [name, other] of [['Bo', 'Cy'], ['Cy', 'Bo']]) {
      await flowing(pages[name], `${name} after the share`, { user_ada: av, [uid(other)]: av });
      const closedShare = (await events(pages[name])).filter((e) => e.name === 'producer-closed' && e.data.producerId === ada.producers.share);
      assert.deepEqual(closedShare.map((e) => e.data), [{ producerId: ada.producers.share, peerId: ada.socketId, userId: 'user_ada', kind: 'video', isScreenShare: true }]);
    }

    // 5. Cy leaves: producer-closed for both of Cy's producers, then participant-left; lists and streams drop Cy.
    await pages.Cy.evaluate(() => window.socket.disconnect());
    for (const name of ['Ada', 'Bo']) {
      const page = pages[name];
      const ev = await until(page, `${name}: Cy left`, () => events(page), (e) => e.some((x) => x.name === 'participant-left'), 15000);
      const aboutCy = ev.filter((e) => e.data.userId === 'user_cy' && e.name !== 'new-producer');
      assert.deepEqual(aboutCy.map((e) => e.name), ['producer-closed', 'producer-closed', 'participant-left'], JSON.stringify(aboutCy));
      assert.deepEqual(aboutCy.slice(0, 2).map((e) => e.data).sort((a, b) => (a.kind < b.kind ? -1 : 1)),
        ['audio', 'video'].map((kind) => ({ producerId: cy.producers[kind], peerId: cy.socketId, userId: 'user_cy', kind, isScreenShare: false })));
      assert.deepEqual(aboutCy[2].data, { peerId: cy.socketId, userId: 'user_cy' });
      await until(page, `${name}: list without Cy`, () => page.evaluate(() => window.list),
        (l) => JSON.stringify([...l].sort(byId)) === JSON.stringify([entry('Ada'), entry('Bo')]), 15000);
      await flowing(page, `${name} after Cy left`, name === 'Ada' ? { user_bo: av } : { user_ada: av });
    }

    for (const name of names) await pages[name].close();
    await waitForNoPeers(server);
  });
});
