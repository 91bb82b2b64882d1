// The demo app's live class, driven by playwright-core in real Chromium
// (loopback-only network namespace): a teacher and two students join one room in mode none
// with roles chosen in the form. A student raises a hand and the teacher lowers it; chat
// goes both ways (and privately to the teacher; the teacher deletes a message and turns the
// chat off and on); the teacher starts a poll, both students vote, every page shows the
// results, the teacher closes it; the teacher allows a student to share the screen, the
// student shares it (getDisplayMedia: headless Chromium with --use-fake-ui-for-media-stream
// and --use-fake-device-for-media-stream hands out a fake screen), the others see it playing
// big, then it stops and is gone. When the server sends active-speaker, the speaker's tile
// is highlighted. A late joiner gets the chat history, the poll and the running share.
// Screenshots of the teacher and a student are saved as test artifacts
// (CHORUS_ARTIFACT_DIR, default build/test-artifacts/).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { chromiumAvailable, openPage, withBrowser } from './lib/browser.mjs';
import { waitForNoPeers } from './lib/http.mjs';
import { REPO_ROOT } from './lib/server.mjs';

const ARTIFACTS = process.env.CHORUS_ARTIFACT_DIR || path.join(REPO_ROOT, 'build', 'test-artifacts');
const ROOM = 'live-class';
const WAIT = { timeout: 15000 };

// The chat texts a page shows, in order.
const chatTexts = (page) => page.evaluate(() => [...document.querySelectorAll('#chat-list .msg .text')].map((t) => t.textContent));
const waitChat = (page, text) => page.waitForFunction((t) =>
  [...document.querySelectorAll('#chat-list .msg .text')].some((e) => e.textContent === t), text, WAIT);

// The poll a page shows: { question, counts, voters, closed, disabled } (null without one).
const shownPoll = (page) => page.evaluate(() => {
  const box = document.getElementById('poll');
  if (!box.dataset.poll) return null;
  const rows = [...box.querySelectorAll('.option')];
  return {
    question: box.querySelector('.question').textContent,
    options: rows.map((r) => r.querySelector('button').textContent),
    counts: rows.map((r) => Number(r.dataset.count)),
    voters: box.querySelector('.voters').textContent,
    closed: box.dataset.closed === 'true',
    disabled: rows.every((r) => r.querySelector('button').disabled),
  };
});

// A <video> inside `selector` is playing.
const playing = (page, selector, timeout = 30000) => page.waitForFunction((sel) => {
  const v = document.querySelector(sel);
  return !!v && v.videoWidth > 0 && !v.paused && v.currentTime > 0;
}, selector, { timeout });

test('demo app, the live class: hands, chat, a poll and a screen share between a teacher and two students', { timeout: 240000, skip: !chromiumAvailable() && 'no /usr/bin/chromium' }, async () => {
  await withBrowser({ speech: true, serverArgs: ['--log-level', 'warn'] }, async ({ server, browser }) => {
    const pages = {};
    const ids = {};
    for (const [who, role, host, name] of [['teacher', 'teacher', '127.0.0.1', 'Ms Rivera'],
      ['ann', 'student', 'localhost', 'Ann'], ['ben', 'student', '127.0.0.1', 'Ben']]) {
      const page = await openPage(browser, `http://${host}:${server.port}/?room=${ROOM}&name=${encodeURIComponent(name)}`, who);
      await page.setViewportSize({ width: 1360, height: 860 });
      await page.waitForFunction(() => document.body.dataset.auth === 'none', null, WAIT);
      await page.selectOption('#role', role);
      await page.click('#join');
      await page.waitForFunction((r) => document.body.classList.contains('joined')
        && document.getElementById('me').textContent === `you: ${r}`, role, { timeout: 30000 });
      pages[who] = page;
      ids[who] = await page.evaluate(() => window.chorusDemo.socket.id);
    }
    const { teacher, ann, ben } = pages;
    const students = [ann, ben];
    const all = [teacher, ann, ben];

    // The teacher view has the hands queue and the poll form; the students' views have not.
    assert.equal(await teacher.isVisible('#hands-panel'), true);
    assert.equal(await teacher.isVisible('#poll-form'), true);
    for (const page of students) {
      assert.equal(await page.isVisible('#hands-panel'), false);
      assert.equal(await page.isVisible('#poll-form'), false);
      assert.equal(await page.isVisible('#chat-toggle'), false);
      // The teacher's camera plays on the students' pages (students join as receivers).
      await playing(page, `#remotes .tile[data-peer="${ids.teacher}"] video`);
    }
    await teacher.waitForFunction((n) => document.querySelectorAll('#remotes .tile').length === n, 2, WAIT);
    // The log is folded away.
    assert.equal(await teacher.isVisible('#log'), false);

    // Hands: Ann raises hers; the teacher's queue shows it, Ben sees the badge on her tile;
    // the teacher lowers it.
    await ann.click('#hand');
    await ann.waitForFunction(() => document.getElementById('hand').textContent === 'Lower hand', null, WAIT);
    const annInQueue = `#hands-list li[data-peer="${ids.ann}"]`;
    await teacher.waitForSelector(annInQueue, WAIT);
    assert.match(await teacher.textContent(annInQueue), /^Ann/);
    await ben.waitForFunction((id) => document.querySelector(`#remotes .tile[data-peer="${id}"]`)?.classList.contains('hand-up'), ids.ann, WAIT);
    await teacher.click(`${annInQueue} button[data-action="lower-hand"]`);
    await ann.waitForFunction(() => document.getElementById('hand').textContent === 'Raise hand', null, WAIT);
    await teacher.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 0, null, WAIT);
    await ben.waitForFunction((id) => !document.querySelector(`#remotes .tile[data-peer="${id}"]`).classList.contains('hand-up'), ids.ann, WAIT);

    // Chat both ways: the teacher to the room, a student to the room; every page shows both.
    await teacher.fill('#chat-text', 'Good morning, class!');
    await teacher.press('#chat-text', 'Enter');
    await ann.fill('#chat-text', 'Good morning, Ms Rivera!');
    await ann.click('#chat-send');
    for (const page of all) {
      await waitChat(page, 'Good morning, class!');
      await waitChat(page, 'Good morning, Ms Rivera!');
    }
    assert.deepEqual(await chatTexts(ben), ['Good morning, class!', 'Good morning, Ms Rivera!']);
    assert.equal(await teacher.inputValue('#chat-text'), '');
    // A private question to the teacher: the teacher and Ben see it, Ann does not (she sees the
    // teacher's next public message, sent after it).
    await ben.selectOption('#chat-to', ids.teacher);
    await ben.fill('#chat-text', 'May I ask a question?');
    await ben.click('#chat-send');
    await waitChat(teacher, 'May I ask a question?');
    assert.match(await teacher.textContent('#chat-list .msg.private .meta'), /Ben.*privately to you/);
    await waitChat(ben, 'May I ask a question?');
    await teacher.fill('#chat-text', 'Questions after the poll, please.');
    await teacher.press('#chat-text', 'Enter');
    await waitChat(ann, 'Questions after the poll, please.');
    assert.ok(!(await chatTexts(ann)).includes('May I ask a question?'), 'a private message reached a third page');
    // Moderation: students cannot delete; the teacher deletes Ann's message on every page.
    assert.equal(await ben.isVisible('#chat-list .msg button[data-action="delete-chat"]'), false);
    await teacher.click(`#chat-list .msg[data-from="${ids.ann}"] button[data-action="delete-chat"]`);
    for (const page of all) {
      await page.waitForFunction(() => ![...document.querySelectorAll('#chat-list .msg .text')]
        .some((e) => e.textContent === 'Good morning, Ms Rivera!'), null, WAIT);
    }
    // The teacher turns the chat off: the students' input is disabled and says why; then on.
    await teacher.click('#chat-toggle');
    for (const page of students) {
      await page.waitForFunction(() => document.getElementById('chat-text').disabled
        && /turned the chat off/.test(document.getElementById('chat-state').textContent), null, WAIT);
    }
    await teacher.waitForFunction(() => document.getElementById('chat-toggle').textContent === 'Turn chat on', null, WAIT);
    assert.equal(await teacher.isDisabled('#chat-text'), false, 'the teacher may still write');
    await teacher.click('#chat-toggle');
    for (const page of students) {
      await page.waitForFunction(() => !document.getElementById('chat-text').disabled
        && document.getElementById('chat-state').textContent === '', null, WAIT);
    }

    // A poll: the teacher starts it, both students vote (Ben changes his mind), every page
    // shows the live results; the teacher closes it and every page shows the final ones.
    await teacher.fill('#poll-question', 'Which planet is the largest?');
    await teacher.fill('#poll-options', 'Mars\nJupiter\nVenus');
    await teacher.click('#poll-start');
    for (const page of all) {
      await page.waitForFunction(() => document.querySelectorAll('#poll .option').length === 3, null, WAIT);
    }
    assert.equal(await teacher.isVisible('#poll-form'), false, 'one poll at a time');
    await ann.click('#poll .option[data-index="1"] button');
    await ben.click('#poll .option[data-index="0"] button');
    await ben.click('#poll .option[data-index="1"] button');
    for (const page of all) {
      await page.waitForFunction(() => {
        const counts = [...document.querySelectorAll('#poll .option')].map((r) => r.dataset.count);
        return counts.join() === '0,2,0' && document.querySelector('#poll .voters').textContent.startsWith('2 votes');
      }, null, WAIT);
    }
    assert.equal(await ann.evaluate(() => document.querySelector('#poll .option[data-index="1"]').classList.contains('chosen')), true);
    await teacher.click('#poll-close');
    for (const page of all) {
      await page.waitForFunction(() => document.getElementById('poll').dataset.closed === 'true', null, WAIT);
      assert.deepEqual(await shownPoll(page), {
        question: 'Which planet is the largest?', options: ['Mars', 'Jupiter', 'Venus'], counts: [0, 2, 0],
        voters: '2 votes', closed: true, disabled: true,
      });
    }
    await teacher.waitForSelector('#poll-form', { state: 'visible', ...WAIT });

    // A screen share: Ann may not share until the teacher allows it; she shares, the teacher
    // and Ben see it playing big; she stops and it is gone.
    assert.equal(await ann.evaluate(() => window.chorusDemo.info.permissions.includes('publish-screen')), false);
    await teacher.click(`#remotes .tile[data-peer="${ids.ann}"] button[data-action="allow-screen"]`);
    await ann.waitForFunction(() => window.chorusDemo.info?.permissions.includes('publish-screen'), null, WAIT);
    await ann.click('#share');
    await ann.waitForFunction(() => document.getElementById('share').textContent === 'Stop sharing', null, WAIT);
    const annScreen = `#screens .screen-tile[data-peer="${ids.ann}"]`;
    for (const page of [teacher, ben]) {
      await playing(page, `${annScreen} video`);
      assert.equal(await page.evaluate(() => document.body.classList.contains('has-screen')), true);
      assert.equal(await page.textContent(`${annScreen} .name`), 'Ann is presenting');
      // Big: wider than a camera tile.
      const [screenWidth, tileWidth] = await page.evaluate((sel) => [document.querySelector(sel).clientWidth,
        document.querySelector('#stage .tile').clientWidth], annScreen);
      assert.ok(screenWidth > 2 * tileWidth, `the share is laid out big: ${screenWidth} vs ${tileWidth}`);
    }
    // Ben raises his hand for the screenshots (the teacher's queue shows it).
    await ben.click('#hand');
    await teacher.waitForSelector(`#hands-list li[data-peer="${ids.ben}"]`, WAIT);

    // The speaker highlight: only the teacher sends audio (a fake microphone that talks all
    // along, lib/speech_wav.mjs), so active-speaker names the teacher and its tile is
    // highlighted on the students' pages.
    await ben.waitForFunction((id) => window.chorusDemo.speaker === id &&
      document.querySelector(`#remotes .tile[data-peer="${id}"]`)?.classList.contains('speaking'), ids.teacher, WAIT);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    for (const [page, name] of [[teacher, 'classroom-teacher.png'], [ben, 'classroom-student.png'], [ann, 'classroom-student-sharing.png']]) {
      const file = path.join(ARTIFACTS, name);
      await page.screenshot({ path: file, fullPage: true });
      process.stderr.write(`screenshot: ${file}\n`);
    }

    // A late joiner gets the chat history, the closed poll and the running share (from the
    // producers handed over at the join and the list's isScreenSharing).
    const late = await openPage(browser, `http://localhost:${server.port}/?room=${ROOM}&name=Cleo`, 'late');
    await late.waitForFunction(() => document.body.dataset.auth === 'none', null, WAIT);
    await late.selectOption('#role', 'student');
    await late.click('#join');
    await late.waitForFunction(() => document.body.classList.contains('joined'), null, { timeout: 30000 });
    await playing(late, `${annScreen} video`);
    assert.deepEqual(await chatTexts(late), ['Good morning, class!', 'Questions after the poll, please.']);
    assert.deepEqual((await shownPoll(late)).counts, [0, 2, 0]);
    await late.click('#leave');
    await late.close();

    await ann.click('#share');
    await ann.waitForFunction(() => document.getElementById('share').textContent === 'Share screen'
      && !document.querySelector('#screens .screen-tile'), null, WAIT);
    for (const page of [teacher, ben]) {
      await page.waitForFunction((sel) => !document.querySelector(sel) && !document.body.classList.contains('has-screen'), annScreen, WAIT);
      await page.waitForFunction((id) => ![...window.chorusDemo.consumers.values()].some((c) => c.peerId === id && c.source === 'screen'), ids.ann, WAIT);
    }

    for (const page of all) await page.click('#leave');
    for (const page of all) await page.close();
    await waitForNoPeers(server);
  });
});
