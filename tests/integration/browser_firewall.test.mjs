// A student behind a school firewall that lets out TCP to 443 and nothing else: real
// Chromium with the stock mediasoup-client, run as its own user (nobody) and filtered by
// nftables rules on that user alone (`meta skuid`, the output hook of the test's own
// namespace), while the server (root) listens with TLS on 443 for the name chorus.test.
// The page comes from the test itself (Playwright's routing: no port of its own), the
// signaling goes to wss://chorus.test/ on 443, and the media finds the one way left:
//   - TLS only (ICE-TCP on 443 off, as behind a proxy that passes TLS alone): TURN inside
//     the signaling port's TLS (turns:chorus.test:443);
//   - TCP to the signaling port without TLS inside it: ICE-TCP straight to the transport on
//     that port;
//   - UDP to the TURN port as well: TURN over UDP.
// In each case one way alone is left open (what the firewall passes, what the server offers
// on its signaling port), so that the way ICE settles on is the one under test.
// Two pages publish the fake camera and microphone and decode each other; each transport's
// selected candidate pair (getStats) shows the way taken, and the firewall's counters show
// that the closed ways were tried and dropped. Run inside a loopback-only namespace.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, bundleMediasoupClient, chromiumAvailable, until } from './lib/browser.mjs';
import { firewallCounters, installFirewall, removeFirewall } from './lib/firewall.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { REPO_ROOT, withServer } from './lib/server.mjs';

const NAME = 'chorus.test';
const NOBODY = 65534;
const TURN_PORT = 3478;
const MEDIA_PORTS = '21000-21999';
const skip = (!chromiumAvailable() && 'no /usr/bin/chromium') || (process.getuid?.() !== 0 && 'needs root (setpriv, nftables)');

// The selected candidate pair of a mediasoup-client transport, both candidates described.
const SELECTED_PAIR = async (which) => {
  const stats = await window[which].getStats();
  let pair = null;
  const byId = new Map();
  stats.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = s.selectedCandidatePairId;
  });
  const p = byId.get(pair);
  if (!p) return null;
  const l = byId.get(p.localCandidateId);
  const r = byId.get(p.remoteCandidateId);
  return { local: l?.candidateType, localProtocol: l?.protocol, relayProtocol: l?.relayProtocol, remote: r?.candidateType, remoteProtocol: r?.protocol, remotePort: r?.port, bytesReceived: p.bytesReceived };
};

// Chromium as nobody: a wrapper that drops to that user, a profile and HOME it owns.
function launchAsNobody(dir) {
  const home = path.join(dir, 'home');
  const profile = path.join(dir, 'profile');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(profile, { recursive: true });
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, home, profile]);
  fs.chmodSync(dir, 0o755);
  const wrapper = path.join(dir, 'chromium-as-nobody');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec setpriv --reuid ${NOBODY} --regid ${NOBODY} --clear-groups env HOME=${home} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  return chromium.launchPersistentContext(profile, {
    executablePath: wrapper,
    headless: true,
    timeout: 30000,
    ignoreHTTPSErrors: true,
    // chorus.test maps to 127.0.0.1: a page of a "public" name talking to loopback, which
    // Chromium's local network access checks would block.
    args: [...CHROMIUM_ARGS.map((a) => (a.startsWith('--disable-features=') ? `${a},LocalNetworkAccessChecks` : a)),
      `--host-resolver-rules=MAP ${NAME} 127.0.0.1`, '--ignore-certificate-errors'],
  });
}

// Rules on nobody's packets only: TCP to `port` (the signaling port) stays open, and what
// `open` lists.
function nobodyRules(port, open = []) {
  return [
    `meta skuid ${NOBODY} tcp dport ${port} accept`,
    ...open.map((r) => `meta skuid ${NOBODY} ${r} accept`),
    `meta skuid ${NOBODY} meta l4proto udp counter drop`,
    `meta skuid ${NOBODY} meta l4proto tcp counter drop`,
  ];
}

const CASES = [
  {
    name: 'TCP to 443 only, TLS only: TURN inside the signaling port\'s TLS',
    serverArgs: ['--rtc-tcp-on-signaling-port', 'off'],
    rules: nobodyRules(443),
    expect: (p) => p.local === 'relay' && p.relayProtocol === 'tls',
  },
  {
    // Chromium makes no ICE-TCP connection to a port below 1024 (156: none to 443, even as
    // the only candidate; the same page connects to 8443): this case runs the signaling
    // port on 8443. (Its local side is peer-reflexive: the server's answer names the
    // connection's source port.)
    name: 'TCP to the signaling port only (8443), TLS unused: ICE-TCP on it',
    port: 8443,
    serverArgs: ['--turn-tls-on-signaling-port', 'off'],
    rules: nobodyRules(8443),
    expect: (p) => p.localProtocol === 'tcp' && p.remote === 'host' && p.remoteProtocol === 'tcp' && p.remotePort === 8443,
  },
  {
    name: 'UDP to the TURN port as well, TCP to 443 for signaling only: TURN over UDP',
    serverArgs: ['--rtc-tcp-on-signaling-port', 'off', '--turn-tls-on-signaling-port', 'off'],
    rules: nobodyRules(443, [`udp dport ${TURN_PORT}`]),
    expect: (p) => p.local === 'relay' && p.relayProtocol === 'udp',
  },
];

for (const c of CASES) {
  test(`behind a firewall (${c.name})`, { timeout: 150000, skip }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-firewall-'));
    const certs = path.join(dir, 'tls');
    execFileSync(path.join(REPO_ROOT, 'scripts/make-self-signed.sh'), ['--out', certs, NAME], { stdio: 'pipe' });
    const bundle = await bundleMediasoupClient();
    const serverArgs = ['--listen', `127.0.0.1:${c.port ?? 443}`, '--tls-cert', path.join(certs, 'chorus-cert.pem'), '--tls-key', path.join(certs, 'chorus-key.pem'),
      '--allowed-origins', `https://${NAME}`, '--log-level', 'warn', '--rtc-ports', MEDIA_PORTS, '--turn', '--turn-udp-port', String(TURN_PORT), ...c.serverArgs];
    try {
      await withServer(serverArgs, async (server) => {
        installFirewall(c.rules);
        const context = await launchAsNobody(dir);
        try {
          // The page and the bundle from the test, at the server's own origin.
          await context.route(`https://${NAME}/page/**`, (route) => {
            const url = new URL(route.request().url());
            if (url.pathname === '/page/') return route.fulfill({ status: 200, contentType: 'text/html', body: MEDIA_PAGE });
            if (url.pathname === '/mediasoup-client.js' || url.pathname === '/page/mediasoup-client.js') return route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle });
            return route.fulfill({ status: 404, body: '' });
          });
          await context.route(`https://${NAME}/mediasoup-client.js`, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: bundle }));
          const pages = [];
          for (const peer of ['teacher', 'student']) {
            const page = await context.newPage();
            page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`[${peer}] ${m.text()}\n`); });
            await page.goto(`https://${NAME}/page/`);
            pages.push(page);
          }
          for (const [i, page] of pages.entries())
            await page.evaluate((u) => window.chorusJoin(u), `wss://${NAME}:${c.port ?? 443}/socket?auth=${i ? 'student' : 'teacher'}&channelId=firewalled`);
          for (const page of pages) {
            try {
              await until(page, 'decoding behind the firewall', () => page.evaluate(() => window.received()),
                (r) => r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 0 : x.totalSamplesReceived > 0)), 45000);
            } catch (e) {
              const turn = (await httpGet(`${server.url}/metrics`)).body.split('\n').filter((l) => /^chorus_(turn|edge_handed)/.test(l));
              e.message += `\nfirewall drops per rule: ${JSON.stringify(firewallCounters())}\n${turn.join('\n')}`;
              throw e;
            }
            // The pair ICE settles on (a better one may replace the first that worked).
            for (const which of ['sendTransport', 'recvTransport']) {
              let pair;
              try {
                pair = await until(page, `${which}: the expected candidate pair`,
                  () => page.evaluate(`(${SELECTED_PAIR.toString()})(${JSON.stringify(which)})`), (p) => p && c.expect(p), 20000, 250);
              } catch (e) {
                const m = (await httpGet(`${server.url}/metrics`)).body.split('\n').filter((l) => /^chorus_(turn_allocations|edge_handed|ice_tcp)/.test(l));
                e.message += `\nfirewall drops per rule: ${JSON.stringify(firewallCounters())}\n${m.join('\n')}`;
                throw e;
              }
              console.log(`browser-firewall (${c.name}): ${which} ${JSON.stringify(pair)}`);
            }
          }
          const dropped = firewallCounters();
          console.log(`browser-firewall (${c.name}): packets dropped per rule ${JSON.stringify(dropped)}`);
          assert.ok(dropped.reduce((a, b) => a + b, 0) > 0, 'the closed ways were tried and dropped');
          for (const page of pages) await page.close();
          await waitForNoPeers(server);
        } finally {
          await context.close().catch(() => {});
          removeFirewall();
        }
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
