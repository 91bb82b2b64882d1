// End to end through the TURN server inside Chorus: real Chromium with the stock
// mediasoup-client, the server handing out its TURN URLs (UDP and TCP), a per-peer
// credential and iceTransportPolicy "relay" in every transport reply
// (turn.iceTransportPolicy), so that the browsers may use nothing but relayed candidates;
// once as handed out (the browsers relay over UDP), once with the pages keeping only the
// URL over TCP. And behind a firewall made in the namespace, with no hint at all. A teacher and a student each publish the
// fake camera and microphone and decode the other's; each transport's selected candidate
// pair (getStats) has a relay candidate on the browser's side, and the server counts the
// allocations and the packets relayed. Run inside a loopback-only network namespace (see
// CMakeLists.txt).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chromiumAvailable, openPage, until, withBrowser } from './lib/browser.mjs';
import { firewallCounters, installFirewall, removeFirewall } from './lib/firewall.mjs';
import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { MEDIA_PAGE } from './lib/media_page.mjs';
import { parsePrometheus } from './lib/prometheus.mjs';
import { pollUntil } from './lib/tcp.mjs';

const skip = !chromiumAvailable() && 'no /usr/bin/chromium';

// relayProtocol: 'udp', or 'tcp' with the pages keeping only the TURN URL over TCP.
for (const relayProtocol of ['udp', 'tcp']) {
  test(`through TURN only (${relayProtocol}): teacher and student see and hear each other over relayed candidates`, { timeout: 120000, skip }, async () => {
    const serverArgs = ['--log-level', 'warn', '--turn', '--turn-udp-port', '0', '--turn-ice-transport-policy', 'relay'];
    await withBrowser({ html: MEDIA_PAGE, serverArgs }, async ({ server, browser, site }) => {
      const teacher = await openPage(browser, `${site.url}/`, 'teacher');
      const student = await openPage(browser, `${site.url}/`, 'student');
      for (const page of [teacher, student])
        await page.evaluate((protocol) => {
          window.adaptTransportParams = (p) => {
            if (!p.iceServers || p.iceTransportPolicy !== 'relay') throw new Error('no TURN in ' + JSON.stringify(p));
            const urls = p.iceServers[0].urls.filter((u) => u.endsWith('?transport=' + protocol));
            if (urls.length !== 1) throw new Error('no ' + protocol + ' URL in ' + JSON.stringify(p.iceServers));
            return { ...p, iceServers: [{ ...p.iceServers[0], urls }] };
          };
        }, relayProtocol);
      const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=turn-class`;
      await teacher.evaluate((u) => window.chorusJoin(u), wsUrl('teacher'));
      await student.evaluate((u) => window.chorusJoin(u), wsUrl('student'));

      for (const page of [teacher, student]) {
        const rows = await until(page, 'decoding through TURN', () => page.evaluate(() => window.received()),
          (r) => r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 0 : x.totalSamplesReceived > 0)), 30000);
        assert.equal(rows.length, 2);
        for (const which of ['sendTransport', 'recvTransport']) {
          const pair = await page.evaluate((w) => window.selectedPair(w), which);
          assert.ok(pair, `${which}: a selected candidate pair`);
          assert.equal(pair.local.type, 'relay', `${which}: the browser's side is a relayed candidate (${JSON.stringify(pair)})`);
          assert.equal(pair.local.relayProtocol, relayProtocol);
          assert.equal(pair.remote.type, 'host');
          console.log(`browser-turn (${relayProtocol}): ${which} selected pair ${JSON.stringify(pair)}`);
        }
      }

      // The media keeps flowing through the relay: a few seconds' worth both ways.
      const m = await pollUntil(async () => {
        const p = parsePrometheus((await httpGet(`${server.url}/metrics`)).body);
        const n = (direction) => p.value('chorus_turn_relayed_packets_total', { direction }) ?? 0;
        return n('to_transport') > 100 && n('to_client') > 100 ? p : null;
      }, { timeoutMs: 15000, intervalMs: 250, what: 'over 100 packets relayed each way' });
      const v = (name, labels = {}) => m.value(name, labels) ?? 0;
      assert.equal(v('chorus_turn_allocations'), 4, 'one allocation per transport, two transports per browser');
      assert.equal(v('chorus_turn_refusals_total', { reason: 'peer' }), 0);
      console.log(`browser-turn (${relayProtocol}): relayed ${v('chorus_turn_relayed_packets_total', { direction: 'to_transport' })} packets in, ${v('chorus_turn_relayed_packets_total', { direction: 'to_client' })} out`);

      await teacher.close();
      await student.close();
      await waitForNoPeers(server);
    });
  });
}

// Behind a school firewall (nftables in the test's namespace): the transports' ports are
// closed to the browsers both ways, UDP and TCP; TURN's port stays open, over UDP or only
// over TCP. Nothing tells the browsers to relay (no iceTransportPolicy): ICE finds that the
// relayed candidates are the ones that work.
// Below the ephemeral range, so that no browser-side port of a connection falls in it.
const MEDIA_PORTS = '21000-21999';
const TURN_PORT = 3478;
const FIREWALLS = {
  'UDP only to the TURN port': {
    relayProtocol: 'udp',
    rules: [`udp dport ${TURN_PORT} accept`, `udp sport ${TURN_PORT} accept`, 'meta l4proto udp counter drop',
      `tcp dport ${MEDIA_PORTS} counter drop`, `tcp dport ${TURN_PORT} counter drop`],
  },
  'no UDP at all, TCP to the TURN port': {
    relayProtocol: 'tcp',
    rules: ['meta l4proto udp counter drop', `tcp dport ${MEDIA_PORTS} counter drop`],
  },
};
for (const [name, { relayProtocol, rules }] of Object.entries(FIREWALLS)) {
  test(`behind a firewall (${name}): media through TURN over ${relayProtocol}`, { timeout: 120000, skip }, async () => {
    // The signaling port stays open here (the page signals through it): without its ICE-TCP
    // candidate, so that TURN's own port is the way left (browser_firewall covers that one).
    const serverArgs = ['--log-level', 'warn', '--rtc-ports', MEDIA_PORTS, '--turn', '--turn-udp-port', String(TURN_PORT),
      '--rtc-tcp-on-signaling-port', 'off'];
    await withBrowser({ html: MEDIA_PAGE, serverArgs }, async ({ server, browser, site }) => {
      installFirewall(rules);
      try {
        const teacher = await openPage(browser, `${site.url}/`, 'teacher');
        const student = await openPage(browser, `${site.url}/`, 'student');
        const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=firewalled`;
        await teacher.evaluate((u) => window.chorusJoin(u), wsUrl('teacher'));
        await student.evaluate((u) => window.chorusJoin(u), wsUrl('student'));
        for (const page of [teacher, student]) {
          try {
            await until(page, 'decoding behind the firewall', () => page.evaluate(() => window.received()),
              (r) => r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 0 : x.totalSamplesReceived > 0)), 45000);
          } catch (e) {
            const turn = (await httpGet(`${server.url}/metrics`)).body.split('\n').filter((l) => l.startsWith('chorus_turn_'));
            e.message += `\nfirewall drops per rule: ${JSON.stringify(firewallCounters())}\n${turn.join('\n')}`;
            throw e;
          }
          for (const which of ['sendTransport', 'recvTransport']) {
            const pair = await page.evaluate((w) => window.selectedPair(w), which);
            assert.equal(pair?.local.type, 'relay', `${which}: ${JSON.stringify(pair)}`);
            assert.equal(pair.local.relayProtocol, relayProtocol);
          }
        }
        const dropped = firewallCounters();
        console.log(`browser-turn firewall (${name}): packets dropped per rule ${JSON.stringify(dropped)}`);
        assert.ok(dropped.reduce((a, b) => a + b, 0) > 0, 'the browsers tried the closed ways and the firewall dropped them');
        await teacher.close();
        await student.close();
        await waitForNoPeers(server);
      } finally {
        removeFirewall();
      }
    });
  });
}
