// A student behind a school firewall that lets out TCP to 443 and nothing else: real
// browsers (Chromium, and Firefox: a second engine with its own ICE and TURN client) with the
// stock mediasoup-client, each run as its own user (nobody) and filtered by nftables rules
// on that user alone (`meta skuid`, the output hook of the test's own namespace), while the
// server (root) listens with TLS on 443 for the name chorus.test. The page comes from the
// test itself (Playwright's routing, puppeteer's request interception: no port of its own),
// the signaling goes to wss://chorus.test/ on 443, and the media finds the one way left:
//   - TLS only (ICE-TCP on 443 off, as behind a proxy that passes TLS alone): TURN inside
//     the signaling port's TLS (turns:chorus.test:443);
//   - TCP to the signaling port without TLS inside it: ICE-TCP straight to the transport on
//     that port;
//   - UDP to the TURN port as well: TURN over UDP.
// In each case one way alone is left open (what the firewall passes, what the server offers
// on its signaling port), so that the way ICE settles on is the one under test. Each case
// runs once per browser.
// Two pages of one browser publish the fake camera and microphone and decode each other;
// each transport's selected candidate pair (getStats) shows the way taken, and the
// firewall's counters show that the closed ways were tried and dropped. Run inside a
// loopback-only namespace (scripts/netns-run.sh); Firefox's cases add a veth address there
// (lib/veth.mjs: Firefox gathers no candidate on loopback).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, bundleMediasoupClient, chromiumAvailable, until } from './lib/browser.mjs';
import { firefoxAvailable, launchFirefox } from './lib/firefox.mjs';
import { firewallCounters, installFirewall, removeFirewall } from './lib/firewall.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { REPO_ROOT, withServer } from './lib/server.mjs';
import { MEDIA_IP, addMediaNetwork, inOwnNetns, removeMediaNetwork } from './lib/veth.mjs';

const NAME = 'chorus.test';
const NOBODY = 65534;
const TURN_PORT = 3478;
const MEDIA_PORTS = '21000-21999';
const asRoot = process.getuid?.() === 0;
const SKIP = {
  chromium: (!chromiumAvailable() && 'no /usr/bin/chromium') || (!asRoot && 'needs root (setpriv, nftables)'),
  firefox: (!firefoxAvailable() && 'no /usr/bin/firefox-esr (Debian package firefox-esr)') || (!asRoot && 'needs root (setpriv, nftables)') ||
    (!inOwnNetns() && 'needs a network namespace of its own: run under scripts/netns-run.sh'),
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

// The page (MEDIA_PAGE at /page/) and the bundle it loads, answered by the test at
// chorus.test.
const pageFiles = (bundle) => ({
  '/page/': { contentType: 'text/html', body: MEDIA_PAGE },
  '/mediasoup-client.js': { contentType: 'text/javascript', body: bundle },
});

// What Firefox's cases share: one browser, and the veth pair (lib/veth.mjs) it needs.
const shared = { firefox: null, veth: false };
after(async () => {
  await shared.firefox?.close();
  shared.firefox = null;
  if (shared.veth) removeMediaNetwork();
});

// Each browser as nobody: `open(dir, bundle)` resolves { pages: two pages at
// https://chorus.test/page/, close() }; `server` is where the server listens and what it
// announces; `rules` come before nobodyRules' own; `prepare()`, if any, runs before the
// server starts.
const BROWSERS = {
  chromium: {
    server: (port) => ['--listen', `127.0.0.1:${port}`],
    rules: [],
    async open(dir, bundle) {
      const context = await launchAsNobody(dir);
      try {
        // The page and the bundle from the test, at the server's own origin; the rest
        // (the WebSocket) goes to the server.
        const files = pageFiles(bundle);
        for (const pattern of [`https://${NAME}/page/**`, `https://${NAME}/mediasoup-client.js`]) {
          await context.route(pattern, (route) => {
            const f = files[new URL(route.request().url()).pathname];
            return route.fulfill(f ? { status: 200, ...f } : { status: 404, body: '' });
          });
        }
        const pages = [];
        for (const peer of ['teacher', 'student']) {
          const page = await context.newPage();
          page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`[chromium ${peer}] ${m.text()}\n`); });
          await page.goto(`https://${NAME}/page/`);
          pages.push(page);
        }
        return { pages, close: () => context.close().catch(() => {}) };
      } catch (e) {
        await context.close().catch(() => {});
        throw e;
      }
    },
  },
  firefox: {
    // Firefox gathers no candidate on loopback: the server's media address is the veth's
    // MEDIA_IP (TURN's relayed addresses and the ICE candidates name it). chorus.test is
    // 127.0.0.1 for Firefox as for Chromium (network.dns.localDomains: that one name, to
    // loopback; the namespace has no DNS, and Firefox refuses TURN over TLS to an address,
    // "TLS requires FQDN"). The signaling port listens on both addresses (0.0.0.0): the
    // page, its WebSocket and TURN inside TLS come to 127.0.0.1, while the passive ICE-TCP
    // candidate on the signaling port names MEDIA_IP.
    server: (port) => ['--listen', `0.0.0.0:${port}`, '--rtc-ip', MEDIA_IP],
    rules: [
      // Puppeteer talks to Firefox on a BiDi WebSocket that node opened to Firefox on
      // 127.0.0.1 (without this rule the launch times out connecting to it): nobody's
      // replies on loopback connections someone else opened pass. (No other connection is
      // opened to Firefox: the server, ICE-lite, never opens one.)
      `meta skuid ${NOBODY} ip daddr 127.0.0.1 meta l4proto tcp ct direction reply accept`,
      // Firefox's own look-ups of other names (its background services; chorus.test needs
      // none): dropped as the rest, uncounted, so that the counters show the media's tries.
      `meta skuid ${NOBODY} udp dport 53 drop`,
    ],
    // The veth pair, before the server (it binds MEDIA_IP); removed after the last case.
    prepare() {
      shared.veth = true;
      addMediaNetwork();
    },
    // One Firefox serves its three cases (a launch costs about 5 s): launched by the first,
    // closed after the last (after(), above); each case opens and closes its own two pages,
    // its firewall installed before they exist.
    async open(dir, bundle) {
      // The test's self-signed certificate: acceptInsecureCerts (WebDriver's capability)
      // covers the page's WebSocket and TURN over TLS alike (measured: no certificate
      // import into the profile needed).
      shared.firefox ??= await launchFirefox({ asUser: NOBODY, acceptInsecureCerts: true, prefs: { 'network.dns.localDomains': NAME } });
      const files = pageFiles(bundle);
      const pages = [];
      const close = async () => {
        for (const page of pages) await page.close().catch(() => {});
      };
      try {
        for (const peer of ['teacher', 'student']) {
          const page = await shared.firefox.context.newPage();
          pages.push(page);
          page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`[firefox ${peer}] ${m.text()}\n`); });
          // Puppeteer's request interception (BiDi network.addIntercept): the page and the
          // bundle answered here; the rest goes on to the server (the WebSocket's handshake is
          // intercepted too).
          await page.setRequestInterception(true);
          page.on('request', (r) => {
            const f = files[new URL(r.url()).pathname];
            (f ? r.respond({ status: 200, ...f }) : r.continue()).catch(() => {});
          });
          await page.goto(`https://${NAME}/page/`);
        }
        return { pages, close };
      } catch (e) {
        await close();
        throw e;
      }
    },
  },
};

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
    rules: (port) => nobodyRules(port),
    expect: (p) => p.local.type === 'relay' && p.local.relayProtocol === 'tls',
  },
  {
    // Chromium makes no ICE-TCP connection to 443 (156: none, even as the only candidate;
    // the same page connects to 8443): its run puts the signaling port on 8443. (Its local side is peer-reflexive: the server's answer names the
    // connection's source port.) Firefox (153 ESR) connects to the passive candidate on 443
    // (measured: its host TCP candidate, tcptype active, to 192.0.2.1:443): its run stays
    // on 443.
    name: 'TCP to the signaling port only, TLS unused: ICE-TCP on it',
    port: { chromium: 8443, firefox: 443 },
    serverArgs: ['--turn-tls-on-signaling-port', 'off'],
    rules: (port) => nobodyRules(port),
    expect: (p, port) => p.local.protocol === 'tcp' && p.remote.type === 'host' && p.remote.protocol === 'tcp' && p.remote.port === port,
  },
  {
    // The defaults, every way offered on 443: Chromium, which makes no ICE-TCP connection
    // there, still gets its media, inside TLS.
    name: 'TCP to 443 only, the defaults: TURN inside TLS',
    only: 'chromium',
    serverArgs: [],
    rules: (port) => nobodyRules(port),
    expect: (p) => p.local.type === 'relay' && p.local.relayProtocol === 'tls',
  },
  {
    name: 'UDP to the TURN port as well, TCP to 443 for signaling only: TURN over UDP',
    serverArgs: ['--rtc-tcp-on-signaling-port', 'off', '--turn-tls-on-signaling-port', 'off'],
    rules: (port) => nobodyRules(port, [`udp dport ${TURN_PORT}`]),
    expect: (p) => p.local.type === 'relay' && p.local.relayProtocol === 'udp',
  },
];

for (const [engine, b] of Object.entries(BROWSERS)) {
  for (const c of CASES.filter((x) => !x.only || x.only === engine)) {
    const port = c.port?.[engine] ?? 443;
    const label = `${engine}: ${c.name}${port === 443 ? '' : ` (port ${port})`}`;
    test(`behind a firewall (${label})`, { timeout: 150000, skip: SKIP[engine] }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-firewall-'));
      const certs = path.join(dir, 'tls');
      execFileSync(path.join(REPO_ROOT, 'scripts/make-self-signed.sh'), ['--out', certs, NAME], { stdio: 'pipe' });
      const bundle = await bundleMediasoupClient();
      const serverArgs = [...b.server(port), '--tls-cert', path.join(certs, 'chorus-cert.pem'), '--tls-key', path.join(certs, 'chorus-key.pem'),
        '--allowed-origins', `https://${NAME}`, '--log-level', process.env.CHORUS_LOG_LEVEL || 'warn', '--rtc-ports', MEDIA_PORTS,
        '--turn', '--turn-udp-port', String(TURN_PORT), ...c.serverArgs];
      try {
        b.prepare?.();
        await withServer(serverArgs, async (server) => {
          installFirewall([...b.rules, ...c.rules(port)]);
          let opened = null;
          try {
            opened = await b.open(dir, bundle);
            const { pages } = opened;
            for (const [i, page] of pages.entries())
              await page.evaluate((u) => window.chorusJoin(u), `wss://${NAME}:${port}/socket?auth=${i ? 'student' : 'teacher'}&channelId=firewalled`);
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
                    () => page.evaluate((w) => window.selectedPair(w), which), (p) => p && c.expect(p, port), 20000, 250);
                } catch (e) {
                  const m = (await httpGet(`${server.url}/metrics`)).body.split('\n').filter((l) => /^chorus_(turn_allocations|edge_handed|ice_tcp)/.test(l));
                  e.message += `\nfirewall drops per rule: ${JSON.stringify(firewallCounters())}\n${m.join('\n')}`;
                  throw e;
                }
                console.log(`browser-firewall (${label}): ${which} ${JSON.stringify(pair)}`);
              }
            }
            const dropped = firewallCounters();
            console.log(`browser-firewall (${label}): packets dropped per rule ${JSON.stringify(dropped)}`);
            assert.ok(dropped.reduce((a, b) => a + b, 0) > 0, 'the closed ways were tried and dropped');
            for (const page of pages) await page.close();
            await waitForNoPeers(server);
          } finally {
            await opened?.close();
            removeFirewall();
          }
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
