// Real Firefox (Debian's firefox-esr) driven by puppeteer-core over WebDriver BiDi, a second
// browser engine beside Chromium (lib/browser.mjs). launchFirefox() returns the shape
// lib/browser.mjs's helpers take ({ context: { newPage() }, close() }), so that openPage()
// and until() serve pages of either browser on the same site. Constraints:
// shared/guide/testing.md, "Firefox"; Firefox needs a routable address (lib/veth.mjs).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';

// Fake camera and microphone, no permission prompt, audible autoplay (remote audio is
// played out, as a participant's would be).
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
};

const CLOSE_TIMEOUT_MS = 10000;

// Firefox processes still running, killed by their PID if the test process exits first.
const live = new Set();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function firefoxAvailable() {
  return fs.existsSync(FIREFOX);
}

// A puppeteer page with the one method of a Playwright page that until() calls:
// waitForTimeout(ms), the interval of a bounded polling loop.
function withPollInterval(page) {
  if (typeof page.waitForTimeout !== 'function') {
    page.waitForTimeout = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  }
  return page;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Launches headless Firefox with a fresh profile (`prefs` over FIREFOX_PREFS); close() ends
// it (by its PID with SIGKILL if it outlives CLOSE_TIMEOUT_MS) and removes the profile.
// `asUser` (a uid, e.g. 65534 for nobody; root required): Firefox runs as that user, by a
// wrapper that drops to it (setpriv, the same PID: close() still ends it), with a profile,
// HOME and TMPDIR that user owns, so that nftables rules on `meta skuid` filter Firefox
// alone. Puppeteer reaches it on a BiDi WebSocket on 127.0.0.1 that Firefox listens on:
// such a filter must let that user's replies out. `acceptInsecureCerts`: the WebDriver
// session's capability (every TLS connection of Firefox, TURN over TLS included, takes a
// certificate it cannot verify).
export async function launchFirefox({ prefs = {}, asUser = null, acceptInsecureCerts = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-firefox-'));
  let userDataDir = dir;
  let executablePath = FIREFOX;
  let browser;
  try {
    if (asUser !== null) {
      fs.chmodSync(dir, 0o755);
      userDataDir = path.join(dir, 'profile');
      const home = path.join(dir, 'home');
      const tmp = path.join(dir, 'tmp');
      for (const d of [userDataDir, home, tmp]) fs.mkdirSync(d);
      execFileSync('chown', ['-R', `${asUser}:${asUser}`, userDataDir, home, tmp], { timeout: 5000 });
      executablePath = path.join(dir, 'firefox-as-user');
      fs.writeFileSync(executablePath,
        `#!/bin/sh\nexec setpriv --reuid ${asUser} --regid ${asUser} --clear-groups env HOME=${home} TMPDIR=${tmp} ${FIREFOX} "$@"\n`, { mode: 0o755 });
    }
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath,
      headless: true,
      userDataDir,
      extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
      acceptInsecureCerts,
      timeout: 30000,
      protocolTimeout: 60000,
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pid = browser.process()?.pid;
  if (pid) live.add(pid);
  return {
    browser,
    pid,
    version: await browser.version(),
    context: { newPage: async () => withPollInterval(await browser.newPage()) },
    async close() {
      let timer;
      await Promise.race([
        browser.close().catch(() => {}),
        new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_TIMEOUT_MS); }),
      ]);
      clearTimeout(timer);
      if (pid && alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      if (pid) live.delete(pid);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
