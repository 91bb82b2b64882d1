// The demo app served by chorus at "/" with tokens, driven by
// playwright-core in real Chromium (loopback-only network namespace): the server runs in
// mode jwt; a teacher page and a student page join with tokens signed by lib/tokens.mjs.
// The student's produce is refused (it joins as a receiver) until the teacher allows it;
// the teacher sees the student's video; the teacher's "Mute cam" stops that video's packets
// at the teacher (inbound-rtp packetsReceived stops growing) and the student's page says a
// moderator muted it; the teacher's "Kick" ends the student's connection and its tile.
// Screenshots of both pages before and after the kick are saved as test artifacts
// (CHORUS_ARTIFACT_DIR, default build/test-artifacts/).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT } from './lib/server.mjs';
import { jwtArgs, sign } from './lib/tokens.mjs';

const ARTIFACTS = process.env.CHORUS_ARTIFACT_DIR || path.join(REPO_ROOT, 'build', 'test-artifacts');
const ROOM = 'class-a';

// The packets the page has received so far for `peerId`'s video (inbound-rtp
// packetsReceived of its consumer; -1 while there is none).
const videoPackets = (page, peerId) => page.evaluate(async (id) => {
  for (const { consumer, peerId: owner, kind } of window.chorusDemo.consumers.values()) {
    if (owner !== id || kind !== 'video' || consumer.closed) continue;
    let n = 0;
    (await consumer.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') n = s.packetsReceived || 0;
    });
    return n;
  }
  return -1;
}, peerId);

// The growth of the counter over a window of `ms` (measured, not waited on: the polling loop
// is bounded by the window plus a margin).
async function growth(page, peerId, ms) {
  const first = await videoPackets(page, peerId);
  const t0 = Date.now();
  await until(page, `a ${ms} ms window`, async () => Date.now() - t0, (elapsed) => elapsed >= ms, ms + 5000, 50);
  const last = await videoPackets(page, peerId);
  return { packets: last - first, ms: Date.now() - t0 };
}

const text = (page, selector) => page.evaluate((s) => document.querySelector(s).textContent, selector);

test('demo app with tokens: a teacher allows, mutes and kicks a student', { timeout: 180000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ serverArgs: jwtArgs(['--log-level', 'warn']) }, async ({ server, browser }) => {
    assert.deepEqual((await httpGet(`${server.url}/healthz`)).json.auth, { mode: 'jwt' });
    const tokens = {
      teacher: sign({ sub: 'teacher', name: 'Ms T', room: ROOM, role: 'teacher' }),
      student: sign({ sub: 'student', name: 'Sam', room: ROOM, role: 'student' }),
    };
    const pages = {};
    for (const [who, host] of [['teacher', '127.0.0.1'], ['student', 'localhost']]) {
      const page = await openPage(browser, `http://${host}:${server.port}/`, who);
      // Mode jwt: the form shows the token field, not the role choice.
      await page.waitForFunction(() => document.body.dataset.auth === 'jwt', null, { timeout: 10000 });
      assert.equal(await page.isVisible('#token'), true);
      assert.equal(await page.isVisible('#role'), false);
      pages[who] = page;
    }
    const { teacher, student } = pages;

    // A bad token is refused at connect, and the page says so.
    await student.fill('#token', 'not.a.token');
    await student.fill('#room', ROOM);
    await student.click('#join');
    await student.waitForFunction(() => /Not admitted \(unauthorized\)/.test(document.getElementById('notice').textContent),
      null, { timeout: 10000 });
    assert.equal(await student.evaluate(() => document.body.classList.contains('joined')), false);

    for (const who of ['teacher', 'student']) {
      const page = pages[who];
      await page.fill('#token', tokens[who]);
      assert.equal(await page.inputValue('#room'), ROOM); // filled from the token's room claim
      await page.click('#join');
      await page.waitForFunction(() => document.body.classList.contains('joined'), null, { timeout: 30000 });
    }
    // The own role; the teacher moderates, the student may not publish yet.
    await teacher.waitForFunction(() => /you: teacher/.test(document.getElementById('me').textContent), null, { timeout: 10000 });
    assert.equal(await teacher.evaluate(() => document.body.classList.contains('moderator')), true);
    await student.waitForFunction(() => /you: student/.test(document.getElementById('me').textContent), null, { timeout: 10000 });
    assert.match(await text(student, '#publish'), /publishing not allowed \(audio, video\)/);
    assert.equal(await student.evaluate(() => document.body.classList.contains('moderator')), false);
    assert.equal(await student.evaluate(() => window.chorusDemo.producers.size), 0);
    const studentId = await student.evaluate(() => window.chorusDemo.socket.id);
    const tile = `#remotes .tile[data-peer="${studentId}"]`;
    assert.equal(await student.locator('#remotes .tile .mod button').count(), 0, 'a student has no moderator buttons');

    // The teacher allows the student to publish: the student produces, the teacher sees it.
    await teacher.click(`${tile} button[data-action="allow"]`, { timeout: 10000 });
    await student.waitForFunction(() => window.chorusDemo.producers.has('video') && window.chorusDemo.producers.has('audio'),
      null, { timeout: 20000 });
    assert.equal(await text(student, '#publish'), '');
    await teacher.waitForFunction((sel) => {
      const v = document.querySelector(`${sel} video`);
      return v && v.videoWidth > 0 && !v.paused && v.currentTime > 0;
    }, tile, { timeout: 30000 });
    assert.match(await text(teacher, `${tile} .name`), /^Sam \(student\)/);
    const before = await growth(teacher, studentId, 1500);
    assert.ok(before.packets > 10, `the student's video flows to the teacher: ${JSON.stringify(before)}`);

    // Mute (video) on the student's tile: the student's page says a moderator muted it ...
    await teacher.click(`${tile} button[data-action="mute-video"]`);
    await student.waitForFunction(() => /Muted by a moderator/.test(document.getElementById('notice').textContent)
      && /muted by a moderator \(video\)/.test(document.getElementById('publish').textContent), null, { timeout: 10000 });
    await teacher.waitForFunction((sel) => /muted by a moderator \(video\)/.test(document.querySelector(`${sel} .name`).textContent),
      tile, { timeout: 10000 });
    // ... and, once the packets in flight have arrived (the counter holds still for 500 ms,
    // within 10 s), the teacher receives no more of that video, however long one waits.
    await until(teacher, 'the muted video stops arriving', () => growth(teacher, studentId, 500), (g) => g.packets === 0, 10000, 0);
    const after = await growth(teacher, studentId, 2000);
    process.stderr.write(`student's video at the teacher: ${before.packets} packets in ${before.ms} ms before the mute, ${after.packets} in ${after.ms} ms after\n`);
    assert.equal(after.packets, 0, `after the mute: ${JSON.stringify(after)}; before: ${JSON.stringify(before)}`);
    // The student cannot unmute itself.
    await student.click('#camera');
    await student.waitForFunction(() => /You cannot unmute/.test(document.getElementById('notice').textContent), null, { timeout: 10000 });
    assert.equal((await growth(teacher, studentId, 1000)).packets, 0);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = async (page, name) => {
      const file = path.join(ARTIFACTS, name);
      await page.screenshot({ path: file, fullPage: true });
      process.stderr.write(`screenshot: ${file}\n`);
    };
    await shot(teacher, 'auth-teacher-before-kick.png');
    await shot(student, 'auth-student-before-kick.png');

    // Kick: the student's page says so and its socket is gone; the teacher's page no longer
    // lists the student.
    await teacher.fill('#reason', 'see me after class');
    await teacher.click(`${tile} button[data-action="kick"]`);
    await student.waitForFunction(() => /You were kicked by teacher: see me after class/.test(document.getElementById('notice').textContent)
      && window.chorusDemo.socket === null && !document.body.classList.contains('joined'), null, { timeout: 10000 });
    await teacher.waitForFunction((id) => !document.querySelector(`#remotes .tile[data-peer="${id}"]`)
      && window.chorusDemo.participants.length === 1 && !window.chorusDemo.participants.some((p) => p.id === id),
    studentId, { timeout: 10000 });
    const health = await until(teacher, 'the student gone from the server', async () => (await httpGet(`${server.url}/healthz`)).json,
      (h) => h.peers === 1 && h.sessions === 1, 10000);
    assert.equal(health.peers, 1);
    assert.match(await text(teacher, '#log'), /peer-kicked Sam: see me after class by teacher/);
    await shot(teacher, 'auth-teacher-after-kick.png');
    await shot(student, 'auth-student-after-kick.png');

    await teacher.click('#leave');
    for (const page of [teacher, student]) await page.close();
    await waitForNoPeers(server);
  });
});

test('demo app in mode none: a role chosen in the form; a teacher blocks and unblocks a student', { timeout: 120000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ serverArgs: ['--log-level', 'warn'] }, async ({ server, browser }) => {
    const pages = {};
    for (const [who, host] of [['teacher', '127.0.0.1'], ['student', 'localhost']]) {
      const page = await openPage(browser, `http://${host}:${server.port}/?room=demo-roles&name=${who}-name`, who);
      await page.waitForFunction(() => document.body.dataset.auth === 'none', null, { timeout: 10000 });
      assert.equal(await page.isVisible('#token'), false);
      await page.selectOption('#role', who);
      await page.click('#join');
      await page.waitForFunction((w) => document.body.classList.contains('joined')
        && document.getElementById('me').textContent.startsWith(`you: ${w}`), who, { timeout: 30000 });
      pages[who] = page;
    }
    const { teacher, student } = pages;
    assert.match(await text(student, '#publish'), /publishing not allowed/);
    const studentId = await student.evaluate(() => window.chorusDemo.socket.id);
    const tile = `#remotes .tile[data-peer="${studentId}"]`;
    await teacher.waitForFunction((sel) => /^student-name \(student\)/.test(document.querySelector(`${sel} .name`)?.textContent || ''),
      tile, { timeout: 10000 });
    await teacher.click(`${tile} button[data-action="block"]`);
    await student.waitForFunction(() => /You were blocked by /.test(document.getElementById('notice').textContent)
      && window.chorusDemo.socket === null, null, { timeout: 10000 });
    // The teacher's block list shows the student, with a button to unblock. (In mode none a
    // block holds the peer id; a new Socket.IO connection has a new one, so the rejoin refused
    // is checked with tokens, in auth.test.mjs.)
    await teacher.waitForFunction((id) => document.getElementById('blocked').textContent.includes(`blocked: ${id}`),
      studentId, { timeout: 10000 });
    await teacher.waitForFunction((sel) => !document.querySelector(sel), tile, { timeout: 10000 });
    await teacher.click('#blocked button');
    await teacher.waitForFunction(() => document.getElementById('blocked').textContent === '', null, { timeout: 10000 });
    await student.click('#join');
    await student.waitForFunction(() => document.body.classList.contains('joined'), null, { timeout: 30000 });
    for (const page of [teacher, student]) await page.click('#leave');
    for (const page of [teacher, student]) await page.close();
    await waitForNoPeers(server);
  });
});
