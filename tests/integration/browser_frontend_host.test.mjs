// The seed 004 frontend's host controls and chat in real Chromium
// with the stock socket.io-client and mediasoup-client (loopback-only network namespace),
// on the page of browser_frontend.test.mjs: three participants; the host (the creator) mutes
// one (force-mute, locked: the page closes its microphone as the frontend does, a new one is
// refused with audio-locked; unmute: allow-unmute, the new microphone is heard elsewhere),
// makes another a co-host, the three chat, the host removes the co-host (kicked-from-room,
// its streams and entry gone on the others), and a late joiner that asks for the chat
// history before joining gets it then and again at the join. Screenshots go to
// CHORUS_ARTIFACT_DIR (default build/test-artifacts/).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { PAGE } from './lib/frontend_page.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT } from './lib/server.mjs';

const ARTIFACTS = process.env.CHORUS_ARTIFACT_DIR || path.join(REPO_ROOT, 'build', 'test-artifacts');

// What the frontend does beyond the join: logs every event (window.log, in order, with the
// join marked), closes its microphone on force-mute, chats, asks for the history early, and
// renders the list and the chat for the screenshots.
const HOST_SCRIPT = `<script>
window.log = [];
window.historyFirst = false;
let me = null;
const render = window.render = () => {
  let el = document.getElementById('state');
  if (!el) { el = document.createElement('pre'); el.id = 'state'; el.style.font = '14px monospace'; document.body.prepend(el); }
  const chat = window.log.filter((e) => e.name === 'receive-message').map((e) => e.data.message.sender.name + ': ' + e.data.message.text);
  const notes = window.log.filter((e) => /force-mute|allow-unmute|audio-locked|cohost-granted|kicked-from-room|disconnect/.test(e.name)).map((e) => e.name);
  el.textContent = (me ? me.name + ' (' + me.userId + ')' : '') + '\\n'
    + (window.list || []).map((p) => p.name + (p.isHost ? ' [host]' : '') + (p.isCoHost ? ' [co-host]' : '') + (p.audioLocked ? ' [mic locked]' : '')).join('\\n')
    + '\\n-- chat --\\n' + chat.join('\\n') + '\\n-- events --\\n' + notes.join(', ') + '\\nstreams: ' + Object.keys(window.streams).join(', ');
};
window.beforeJoin = async (socket, roomId, userId, name) => {
  me = { socket, roomId, userId, name };
  socket.onAny((n, data) => { window.log.push({ name: n, data }); render(); });
  socket.on('disconnect', (reason) => { window.log.push({ name: 'disconnect', data: reason }); render(); });
  socket.on('force-mute', ({ audio }) => {
    if (!audio || !window.mic || window.mic.closed) return;
    const producerId = window.mic.id;
    window.mic.close();
    window.mic.track && window.mic.track.stop();
    socket.emit('close-producer', { roomId, producerId });
  });
  if (window.historyFirst) {
    // The chat panel mounts before the join: request-chat-history first, answered early.
    const early = new Promise((resolve) => socket.once('chat-history', resolve));
    socket.emit('request-chat-history', { roomId });
    await Promise.race([early, new Promise((_, reject) => setTimeout(() => reject(new Error('no early chat-history')), 10000))]);
  }
};
window.afterJoin = () => { window.log.push({ name: 'joined' }); render(); };
// A new microphone as the frontend produces it after allow-unmute: { id } or { error }.
window.produceMic = async () => {
  const media = await navigator.mediaDevices.getUserMedia({ audio: true });
  try {
    window.mic = await window.sendTransport.produce({ track: media.getAudioTracks()[0], appData: {} });
    return { id: window.mic.id };
  } catch (e) {
    media.getTracks().forEach((t) => t.stop());
    return { error: String(e) };
  }
};
window.host = (event, data) => me.socket.emit(event, { roomId: me.roomId, userId: me.userId, ...data });
window.say = (id, text) => me.socket.emit('send-message', { roomId: me.roomId, message: { id, text, createdAt: Date.now(),
  sender: { id: me.userId, name: me.name, avatarUrl: 'https://img.example/' + me.name.toLowerCase() + '.png' } } });
</script>`;

const ROOM = 'frontend-host-e2e';
const uid = (name) => `user_${name.toLowerCase()}`;
const img = (name) => `https://img.example/${name.toLowerCase()}.png`;
const stats = (page) => page.evaluate(() => window.streamStats());
const log = (page) => page.evaluate(() => window.log);
const named = (entries, name) => entries.filter((e) => e.name === name);
const listOf = (page) => page.evaluate(() => window.list);
const entryOf = (l, name) => (Array.isArray(l) ? l.find((p) => p.id === uid(name)) : undefined);

// Waits (bounded) until `page`'s consumer of `producerId` has received packets, then until
// its packetsReceived grows past that sample.
async function hears(page, label, producerId) {
  const row = (s) => Object.values(s).flat().find((r) => r.producerId === producerId);
  const first = await until(page, `${label}: consuming ${producerId}`, () => stats(page), (s) => row(s)?.packetsReceived > 20, 30000, 200);
  const was = row(first).packetsReceived;
  await until(page, `${label}: packets growing`, () => stats(page), (s) => row(s)?.packetsReceived > was, 15000, 200);
}

test('seed 004 frontend in Chromium: host mutes, co-host, removal, chat and its history', { timeout: 200000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  const html = PAGE + HOST_SCRIPT;
  await withBrowser({ html, script: '/libs.js', socketio: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser, site }) => {
    const names = ['Ada', 'Bo', 'Cy'];
    const pages = {};
    const me = {};
    for (const name of names) pages[name] = await openPage(browser, `${site.url}/`, name);
    for (const name of names) {
      me[name] = await pages[name].evaluate(([u, r, n, c]) => window.join(u, r, n, c, false), [server.url, ROOM, name, name === 'Ada']);
    }
    assert.equal(me.Ada.joined.isHost, true);
    for (const name of names) {
      await until(pages[name], `${name}: list of three, Ada host`, () => listOf(pages[name]),
        (l) => Array.isArray(l) && l.length === 3 && names.every((n) => entryOf(l, n)?.isHost === (n === 'Ada')), 15000);
    }
    const oldMic = me.Bo.producers.audio;
    for (const name of ['Ada', 'Cy']) await hears(pages[name], `${name} hears Bo`, oldMic);

    // 1. Ada mutes Bo: force-mute (locked) on Bo's page, which closes its microphone; the
    // others see producer-closed for it and audioLocked in their lists.
    await pages.Ada.evaluate(() => window.host('toggle-remote-audio', { targetUserId: 'user_bo', force: 'mute' }));
    const forced = await until(pages.Bo, 'Bo: force-mute', () => log(pages.Bo), (l) => named(l, 'force-mute').length === 1, 15000);
    assert.deepEqual(named(forced, 'force-mute')[0].data, { audio: true, by: 'user_ada', locked: true });
    for (const name of ['Ada', 'Cy']) {
      await until(pages[name], `${name}: Bo's microphone closed`, () => log(pages[name]),
        (l) => named(l, 'producer-closed').some((e) => e.data.producerId === oldMic), 15000);
      await until(pages[name], `${name}: Bo audioLocked`, () => listOf(pages[name]), (l) => entryOf(l, 'Bo')?.audioLocked === true, 15000);
      assert.deepEqual(Object.values(await stats(pages[name])).flat().filter((r) => r.producerId === oldMic), []);
    }
    await until(pages.Bo, 'Bo: own entry audioLocked', () => listOf(pages.Bo), (l) => entryOf(l, 'Bo')?.audioLocked === true, 15000);
    assert.equal(await pages.Bo.evaluate(() => window.mic.closed), true);
    // Bo's new microphone is refused (the produce ack is an error) and audio-locked arrives.
    const refused = await pages.Bo.evaluate(() => window.produceMic());
    assert.match(refused.error ?? '', /produce -> .*forbidden/, JSON.stringify(refused));
    const lockedLog = await until(pages.Bo, 'Bo: audio-locked', () => log(pages.Bo), (l) => named(l, 'audio-locked').length === 1, 15000);
    assert.equal(typeof named(lockedLog, 'audio-locked')[0].data.reason, 'string');

    // 2. Ada unmutes Bo: allow-unmute; Bo's new microphone is taken and heard by Ada and Cy.
    await pages.Ada.evaluate(() => window.host('toggle-remote-audio', { targetUserId: 'user_bo', force: 'unmute' }));
    const allowed = await until(pages.Bo, 'Bo: allow-unmute', () => log(pages.Bo), (l) => named(l, 'allow-unmute').length === 1, 15000);
    assert.deepEqual(named(allowed, 'allow-unmute')[0].data, { by: 'user_ada', locked: false });
    const newMic = await pages.Bo.evaluate(() => window.produceMic());
    assert.ok(newMic.id && newMic.id !== oldMic, JSON.stringify(newMic));
    for (const name of ['Ada', 'Cy']) {
      await until(pages[name], `${name}: Bo unlocked`, () => listOf(pages[name]), (l) => entryOf(l, 'Bo')?.audioLocked === false, 15000);
      await hears(pages[name], `${name} hears Bo's new microphone`, newMic.id);
      const fresh = Object.values(await stats(pages[name])).flat().find((r) => r.producerId === newMic.id);
      assert.deepEqual([fresh.kind, fresh.userId, fresh.isScreenShare], ['audio', 'user_bo', false]);
    }

    // 3. Ada makes Cy a co-host: cohost-granted to Cy, participant-updated and isCoHost everywhere.
    await pages.Ada.evaluate(() => window.host('make-cohost', { participantId: 'user_cy' }));
    const granted = await until(pages.Cy, 'Cy: cohost-granted', () => log(pages.Cy), (l) => named(l, 'cohost-granted').length === 1, 15000);
    assert.deepEqual(named(granted, 'cohost-granted')[0].data, { by: 'user_ada' });
    for (const name of names) {
      const l = await until(pages[name], `${name}: participant-updated`, () => log(pages[name]), (x) => named(x, 'participant-updated').length === 1, 15000);
      assert.deepEqual(named(l, 'participant-updated')[0].data, { participantId: 'user_cy', updates: { isCoHost: true } });
      await until(pages[name], `${name}: Cy co-host in the list`, () => listOf(pages[name]),
        (x) => entryOf(x, 'Cy')?.isCoHost === true && entryOf(x, 'Bo')?.isCoHost === false && entryOf(x, 'Ada')?.isHost === true, 15000);
    }

    // 4. Chat: each sends one message (in turn); every page receives all three, in order.
    const said = [['Ada', 'm-ada-1', 'Hello all'], ['Bo', 'm-bo-1', 'Hi Ada'], ['Cy', 'm-cy-1', 'Hey, I can hear Bo again']];
    for (const [name, id, text] of said) {
      await pages[name].evaluate(([i, t]) => window.say(i, t), [id, text]);
      await until(pages[name], `${name}: own message back`, () => log(pages[name]),
        (l) => named(l, 'receive-message').some((e) => e.data.message.id === id), 15000);
    }
    for (const name of names) {
      const l = await until(pages[name], `${name}: three messages`, () => log(pages[name]), (x) => named(x, 'receive-message').length === 3, 15000);
      const got = named(l, 'receive-message').map((e) => e.data);
      assert.deepEqual(got.map((d) => [d.socketId, d.message.id, d.message.text, d.message.sender]),
        said.map(([n, id, text]) => [me[n].socketId, id, text, { id: uid(n), name: n, avatarUrl: img(n) }]));
      for (const d of got) assert.equal(typeof d.message.createdAt, 'number');
    }

    // 5. Ada removes Cy: kicked-from-room, then Cy is disconnected; Ada and Bo see Cy's
    // producers closed, then participant-left, and Cy's streams and entry go.
    await pages.Ada.evaluate(() => window.host('remove-participant', { targetUserId: 'user_cy' }));
    const kickedLog = await until(pages.Cy, 'Cy: kicked and disconnected', () => log(pages.Cy), (l) => named(l, 'disconnect').length === 1, 15000);
    const kicked = named(kickedLog, 'kicked-from-room');
    assert.equal(kicked.length, 1);
    assert.equal(kicked[0].data.by, 'user_ada');
    assert.ok(kickedLog.indexOf(kicked[0]) < kickedLog.findIndex((e) => e.name === 'disconnect'));
    assert.equal(await pages.Cy.evaluate(() => window.socket.connected), false);
    for (const name of ['Ada', 'Bo']) {
      const page = pages[name];
      const l = await until(page, `${name}: Cy left`, () => log(page), (x) => named(x, 'participant-left').some((e) => e.data.userId === 'user_cy'), 15000);
      const aboutCy = l.filter((e) => ['producer-closed', 'participant-left'].includes(e.name) && e.data.userId === 'user_cy');
      assert.deepEqual(aboutCy.map((e) => e.name), ['producer-closed', 'producer-closed', 'participant-left'], JSON.stringify(aboutCy));
      assert.deepEqual(aboutCy.slice(0, 2).map((e) => e.data.producerId).sort(), [me.Cy.producers.audio, me.Cy.producers.video].sort());
      assert.deepEqual(aboutCy[2].data, { peerId: me.Cy.socketId, userId: 'user_cy' });
      await until(page, `${name}: Cy's streams gone`, () => stats(page), (s) => !('user_cy' in s) && Object.keys(s).length === 1, 15000);
      assert.equal(await page.evaluate(() => document.querySelectorAll('video').length), 1, `${name}: Cy's tile gone`);
      await until(page, `${name}: list without Cy`, () => listOf(page), (x) => x.length === 2 && !entryOf(x, 'Cy'), 15000);
    }

    // 6. Di joins late, asking for the history before the join: chat-history then (before
    // the join) and again at the join, the three messages oldest first.
    pages.Di = await openPage(browser, `${site.url}/`, 'Di');
    await pages.Di.evaluate(() => { window.historyFirst = true; });
    me.Di = await pages.Di.evaluate(([u, r]) => window.join(u, r, 'Di', false, false), [server.url, ROOM]);
    const diLog = await until(pages.Di, 'Di: history twice', () => log(pages.Di), (l) => named(l, 'chat-history').length === 2, 15000);
    const histories = named(diLog, 'chat-history');
    assert.ok(diLog.indexOf(histories[0]) < diLog.findIndex((e) => e.name === 'joined'), 'the early history comes before the join');
    for (const h of histories) {
      assert.deepEqual(h.data.map((x) => [x.socketId, x.message.id, x.message.text, x.message.sender.id]),
        said.map(([n, id, text]) => ['system', id, text, uid(n)]));
    }
    for (const name of ['Ada', 'Bo', 'Di']) {
      await until(pages[name], `${name}: list Ada, Bo, Di`, () => listOf(pages[name]),
        (x) => Array.isArray(x) && x.length === 3 && ['Ada', 'Bo', 'Di'].every((n) => entryOf(x, n)), 15000);
    }
    await hears(pages.Di, 'Di hears Bo', newMic.id);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const name of ['Ada', 'Bo', 'Cy', 'Di']) {
      const file = path.join(ARTIFACTS, `frontend-host-${name.toLowerCase()}.png`);
      await pages[name].evaluate(() => window.render());
      await pages[name].screenshot({ path: file, fullPage: true });
      process.stderr.write(`screenshot: ${file}\n`);
    }
    for (const name of Object.keys(pages)) await pages[name].close();
    await waitForNoPeers(server);
  });
});
