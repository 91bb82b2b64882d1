// WebRTC transports against the real binary, with the project's own client (chorus-probe,
// bench/probe_main.cpp: ICE controlling, DTLS client, SRTP, as a browser does it), on
// loopback, in the four socket modes: UDP and TCP, a port per transport (--rtc-ports) and one
// shared port (--rtc-single-port), and three of them again with 4 media I/O threads. Each probe run connects a transport, sends SRTP packets
// and reads the server's get-transport-stats; the tests check the stats, that abuse (garbage
// datagrams, wrong STUN credentials) is counted and does not stop a transport from
// connecting, that an ICE restart (restart-ice, also from a new client socket) keeps the
// transport and refuses the old credentials, and that nothing is left in the server
// afterwards (/healthz: no peers, sessions or transports).
//
// The probe binary: $CHORUS_PROBE, else chorus-probe next to $CHORUS_BIN, else
// build/chorus-probe. Every process is stopped by its PID; every wait is bounded.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { httpGet, waitForNoPeers } from './lib/http.mjs';
import { CHORUS_BIN, REPO_ROOT, runProcess, spawnTracked, tempConfig, withServer, withSinglePortServer } from './lib/server.mjs';

function probePath() {
  if (process.env.CHORUS_PROBE) return path.resolve(REPO_ROOT, process.env.CHORUS_PROBE);
  const beside = path.join(path.dirname(CHORUS_BIN), 'chorus-probe');
  if (fs.existsSync(beside)) return beside;
  return path.join(REPO_ROOT, 'build', 'chorus-probe');
}
const PROBE = probePath();

const T = { timeout: 60000 };
const PACKETS = 50;
const PROBE_TIMEOUT_MS = 10000; // the probe's own bound (--timeout-ms)
const PROBE_KILL_MS = PROBE_TIMEOUT_MS + 5000; // ours, in case the probe hangs

// Runs chorus-probe against `server` (killed by its PID after PROBE_KILL_MS); resolves
// { code, signal, timedOut, report, stdout, stderr, args }. `report` is the parsed JSON
// line (undefined if the probe printed none).
async function runProbe(server, args) {
  const fullArgs = ['--url', `ws://127.0.0.1:${server.port}`, '--timeout-ms', String(PROBE_TIMEOUT_MS), ...args];
  const r = await runProcess(PROBE, fullArgs, { timeoutMs: PROBE_KILL_MS, outputBytes: 1 << 20 });
  let report;
  try {
    report = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    report = undefined;
  }
  return { ...r, report, args: fullArgs };
}

function describeRun(r) {
  return `chorus-probe ${r.args.join(' ')}\nexit ${r.code} ${r.signal ?? ''}${r.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

const MODES = [
  { name: 'UDP, port per transport', protocol: 'udp', singlePort: false },
  { name: 'TCP, port per transport', protocol: 'tcp', singlePort: false },
  { name: 'UDP, single port', protocol: 'udp', singlePort: true },
  { name: 'TCP, single port', protocol: 'tcp', singlePort: true },
  // Several media I/O threads: the shared port's sockets in a SO_REUSEPORT group (a new
  // client socket after restart-ice may land on another thread: handed to the transport's),
  // TCP connections accepted by one thread and moved to the transport's, transports of a
  // port range spread over the threads.
  { name: 'UDP, single port, 4 I/O threads', protocol: 'udp', singlePort: true, args: ['--io-threads', '4'] },
  { name: 'TCP, single port, 4 I/O threads', protocol: 'tcp', singlePort: true, args: ['--io-threads', '4'] },
  { name: 'UDP, port per transport, 4 I/O threads', protocol: 'udp', singlePort: false, args: ['--io-threads', '4'] },
];

// Runs `body(server)` against a server in `mode`'s socket mode.
function withModeServer(mode, body) {
  const args = mode.args ?? [];
  return mode.singlePort ? withSinglePortServer(args, body) : withServer(args, body);
}

// Nothing of the test is left in the server (bounded waits): no peers, sessions or
// transports, no media endpoints, every accepted TCP media connection closed.
async function assertNothingLeaked(server, timeoutMs = 3000) {
  await waitForNoPeers(server, { timeoutMs });
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const media = (await httpGet(`${server.url}/healthz`)).json?.media;
    assert.ok(media, '/healthz has media counters');
    const open = media.endpointsOpen;
    const tcpOpen = media.tcpConnectionsAccepted - media.tcpConnectionsClosed;
    if (open === 0 && tcpOpen === 0) return;
    if (performance.now() > deadline) {
      throw new Error(`after ${timeoutMs} ms: ${open} media endpoints open, ${tcpOpen} TCP media connections open: ${JSON.stringify(media)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Total of the server's `dropped` counters.
// The kernel's count of UDP datagrams dropped because a receive buffer was full, in this
// network namespace (the test, its server and its probe share one: scripts/netns-run.sh).
// A burst of garbage can overflow the server's socket buffer before the server reads it;
// those datagrams never reach Chorus, so they cannot be counted by it.
function udpReceiveBufferDrops() {
  const lines = fs.readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]) || 0;
}

function droppedTotal(stats) {
  return Object.values(stats?.dropped ?? {}).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
}

// What every successful probe run must show.
function assertConnected(run, protocol, packets = PACKETS) {
  const r = run.report;
  assert.ok(r, `no JSON report\n${describeRun(run)}`);
  assert.equal(r.ok, true, `probe failed: ${r.stage}: ${r.reason}\n${describeRun(run)}`);
  assert.equal(run.code, 0, describeRun(run));
  const s = r.stats;
  assert.ok(s && typeof s === 'object', `no stats\n${describeRun(run)}`);
  assert.ok(['connected', 'completed'].includes(s.iceState), `iceState ${s.iceState}`);
  assert.equal(s.dtlsState, 'connected');
  assert.equal(s.srtpProfile, 'SRTP_AEAD_AES_256_GCM');
  assert.equal(s.iceSelectedTuple?.protocol, protocol, JSON.stringify(s.iceSelectedTuple));
  assert.ok(s.rtp.received >= packets, `rtp.received ${s.rtp.received} < ${packets}`);
  assert.ok(s.rtp.bytesReceived > 0, 'rtp.bytesReceived');
  // Our packets are authentic and not replayed.
  assert.equal(s.dropped.srtpAuth, 0, `dropped.srtpAuth: ${JSON.stringify(s.dropped)}`);
  assert.equal(s.dropped.srtpReplay, 0, `dropped.srtpReplay: ${JSON.stringify(s.dropped)}`);
  assert.ok(s.stun.valid >= 1, `stun.valid ${s.stun.valid}`);
  assert.equal(r.client.srtpProfile, 'SRTP_AEAD_AES_256_GCM');
  assert.equal(r.selectedProtocol, protocol);
  return r;
}

for (const mode of MODES) {
  test(`${mode.name}: ICE and DTLS connect, the server decrypts our SRTP`, T, async () => {
    await withModeServer(mode, async (server) => {
      const run = await runProbe(server, ['--room', 'transport', '--peer', 'alice', '--protocol', mode.protocol, '--packets', String(PACKETS)]);
      const r = assertConnected(run, mode.protocol);
      assert.equal(r.packetsSent, PACKETS);
      await assertNothingLeaked(server);
    });
  });

  // The probe's stream is routed to no producer; its sequence number starts 30 below the
  // wrap, so 20 packets carry a rollover counter of 1. The server must keep that stream's
  // SRTP state between packets (forgetting it after each one judged every packet after the
  // wrap by a rollover counter of 0: an authentication failure each, seen in CI once when a
  // random first sequence number fell within 50 of the wrap).
  test(`${mode.name}: an unrouted stream wrapping its sequence number still decrypts`, T, async () => {
    await withModeServer(mode, async (server) => {
      const run = await runProbe(server, ['--room', 'wrap', '--peer', 'ivan', '--protocol', mode.protocol,
        '--packets', String(PACKETS), '--first-seq', '65506']);
      const r = assertConnected(run, mode.protocol);
      assert.equal(r.packetsSent, PACKETS);
      assert.equal(r.stats.rtp.received, PACKETS, JSON.stringify(r.stats));
      await assertNothingLeaked(server);
    });
  });

  test(`${mode.name}: garbage before and during ICE is dropped and counted, the transport still connects`, T, async () => {
    const GARBAGE = 200;
    await withModeServer(mode, async (server) => {
      const kernelBefore = udpReceiveBufferDrops();
      const run = await runProbe(server, ['--room', 'garbage', '--peer', 'mallory', '--protocol', mode.protocol, '--garbage', String(GARBAGE)]);
      const r = assertConnected(run, mode.protocol);
      const s = r.stats;
      const kernelDropped = mode.protocol === 'udp' ? udpReceiveBufferDrops() - kernelBefore : 0;
      const counted = droppedTotal(s) + kernelDropped;
      const media = (await httpGet(`${server.url}/healthz`)).json?.media ?? {};
      // DTLS-looking garbage that arrives after ICE but before connect-transport is kept (at
      // most 8 datagrams) and then refused by the DTLS engine, not counted as dropped.
      const EARLY_DTLS = 8;
      if (!mode.singlePort && mode.protocol === 'udp') {
        // Every datagram reached this transport's own port: each is dropped and counted by
        // reason.
        assert.equal(r.garbageSent, GARBAGE, describeRun(run));
        assert.ok(counted >= GARBAGE - EARLY_DTLS, `dropped ${counted} of ${GARBAGE} (kernel, buffer full: ${kernelDropped}): ${JSON.stringify(s.dropped)}`);
      } else if (mode.protocol === 'udp') {
        // One shared port: the half sent before ICE comes from an address no binding request
        // has bound yet, so the socket layer drops it (media.unknownSourceDropped); the half
        // sent after the first check (same socket) reaches the transport.
        assert.equal(r.garbageSent, GARBAGE, describeRun(run));
        assert.ok(counted >= 1, `nothing counted by the transport: ${JSON.stringify(s.dropped)}`);
        assert.ok(media.unknownSourceDropped >= GARBAGE / 2, `media ${JSON.stringify(media)}`);
        assert.ok(counted + media.unknownSourceDropped >= GARBAGE - EARLY_DTLS,
          `transport ${counted} + socket layer ${media.unknownSourceDropped} of ${GARBAGE}: ${JSON.stringify(s.dropped)}`);
      } else {
        // TCP (a port per transport or one shared port): a connection whose first frame is not
        // a binding request naming the transport's ufrag is refused and closed
        // (media.tcpBindFailures); the probe sees it close.
        assert.ok(r.garbageSent >= 1, describeRun(run));
        assert.ok(media.tcpBindFailures >= 1, `media ${JSON.stringify(media)}`);
        assert.ok(r.garbageSent === GARBAGE || r.garbageConnectionClosed, describeRun(run));
      }
      await assertNothingLeaked(server);
    });
  });

  test(`${mode.name}: wrong STUN credentials are answered 401 and counted, the transport still connects`, T, async () => {
    const BAD = 5;
    await withModeServer(mode, async (server) => {
      const run = await runProbe(server, ['--room', 'creds', '--peer', 'eve', '--protocol', mode.protocol, '--bad-credentials', String(BAD)]);
      const r = assertConnected(run, mode.protocol);
      assert.equal(r.badCredentials.sent, BAD);
      assert.equal(r.badCredentials.responses['401'], BAD, `responses ${JSON.stringify(r.badCredentials.responses)}`);
      assert.equal(r.badCredentials.responses['0'], undefined, 'a wrong password was answered with success');
      const s = r.stats;
      assert.ok(s.stun.errors401 >= BAD, `stun.errors401 ${s.stun.errors401}: ${JSON.stringify(s.stun)}`);
      assert.ok(s.stun.rejected >= BAD, `stun.rejected ${s.stun.rejected}: ${JSON.stringify(s.stun)}`);
      await assertNothingLeaked(server);
    });
  });
}

for (const mode of MODES.filter((m) => m.protocol === 'udp' || m.singlePort)) {
  test(`${mode.name}: two probes in parallel in one room both connect, on different transports`, T, async () => {
    await withModeServer(mode, async (server) => {
      // --hold-ms keeps both transports up together for a while.
      const common = ['--room', 'pair', '--protocol', mode.protocol, '--hold-ms', '300'];
      const [a, b] = await Promise.all([
        runProbe(server, [...common, '--peer', 'alice']),
        runProbe(server, [...common, '--peer', 'bob']),
      ]);
      const ra = assertConnected(a, mode.protocol);
      const rb = assertConnected(b, mode.protocol);
      assert.notEqual(ra.transportId, rb.transportId);
      // Each transport counted its own client's packets only.
      assert.equal(ra.stats.rtp.received, PACKETS, JSON.stringify(ra.stats.rtp));
      assert.equal(rb.stats.rtp.received, PACKETS, JSON.stringify(rb.stats.rtp));
      if (mode.singlePort) {
        const portA = ra.stats.iceSelectedTuple.localPort;
        const portB = rb.stats.iceSelectedTuple.localPort;
        assert.equal(portA, portB, 'single-port mode: both transports on the one port');
      }
      await assertNothingLeaked(server);
    });
  });
}

// ICE restart (restart-ice): after half of the packets the probe asks for new server
// credentials, takes new ones of its own and checks again (USE-CANDIDATE) until its ICE is
// connected with them; a check with the OLD credentials on the same socket must get 401; then
// the other half. DTLS and SRTP are kept: the server decrypts every packet, before and after.
// In single-port mode the socket layer must route the new credentials to the transport.
function assertRestarted(run, mode, { newSocket }) {
  const r = assertConnected(run, mode.protocol);
  const x = r.restart;
  assert.ok(x, `no restart outcome\n${describeRun(run)}`);
  assert.equal(x.newSocket, newSocket);
  assert.equal(x.reconnected, true, describeRun(run));
  assert.ok(x.oldUfrag && x.newUfrag && x.oldUfrag !== x.newUfrag, `server ufrag ${x.oldUfrag} -> ${x.newUfrag}`);
  assert.ok(x.oldLocalUfrag && x.newLocalUfrag && x.oldLocalUfrag !== x.newLocalUfrag,
    `client ufrag ${x.oldLocalUfrag} -> ${x.newLocalUfrag}`);
  // The check with the old credentials was refused.
  assert.equal(x.oldCredentialsResponse, 401, describeRun(run));
  assert.equal(x.oldCredentials401, true);
  assert.ok(x.errors401After > x.errors401Before, `errors401 ${x.errors401Before} -> ${x.errors401After}`);
  assert.ok(r.stats.stun.errors401 >= 1, `stun ${JSON.stringify(r.stats.stun)}`);
  // The checks with the new credentials were accepted.
  assert.ok(x.stunValidAfter > x.stunValidBefore, `stun.valid ${x.stunValidBefore} -> ${x.stunValidAfter}`);
  assert.ok(r.stats.stun.valid >= 2, `stun ${JSON.stringify(r.stats.stun)}`);
  // Every packet decrypted: the first half before the restart, all of them at the end.
  assert.equal(x.packetsBefore, PACKETS / 2);
  assert.equal(x.packetsAfter, PACKETS / 2);
  assert.ok(x.rtpReceivedBefore >= PACKETS / 2, `before the restart: ${x.rtpReceivedBefore}`);
  assert.equal(r.packetsSent, PACKETS);
  assert.equal(r.stats.rtp.received, PACKETS, JSON.stringify(r.stats.rtp));
  assert.equal(r.client.state, 'connected');
  assert.equal(r.client.iceState, 'connected');
  // The tuple the server uses after the restart is the client's socket of then.
  assert.equal(x.selectedTupleAfter?.protocol, mode.protocol, JSON.stringify(x.selectedTupleAfter));
  assert.equal(x.selectedTupleAfter?.remotePort, x.newLocalPort, JSON.stringify(x));
  assert.equal(r.stats.iceSelectedTuple.remotePort, x.newLocalPort, JSON.stringify(r.stats.iceSelectedTuple));
  if (newSocket) assert.notEqual(x.newLocalPort, x.oldLocalPort, 'the new socket has a new local port');
  else assert.equal(x.newLocalPort, x.oldLocalPort);
  return r;
}

for (const mode of MODES) {
  test(`${mode.name}: restart-ice keeps the transport, the old credentials get 401`, T, async () => {
    await withModeServer(mode, async (server) => {
      const run = await runProbe(server, ['--room', 'restart', '--peer', 'grace', '--protocol', mode.protocol,
        '--packets', String(PACKETS), '--restart-ice']);
      assertRestarted(run, mode, { newSocket: false });
      await assertNothingLeaked(server);
    });
  });

  // A network change: after restart-ice the client checks from a NEW socket (UDP: a new local
  // port; TCP: a new connection, the old one closed). The server learns the new tuple through
  // the new credentials (single port: the socket layer finds the transport by the new ufrag)
  // and selects it; the SRTP that follows on it is decrypted.
  test(`${mode.name}: restart-ice from a new socket moves the transport to the new tuple`, T, async () => {
    await withModeServer(mode, async (server) => {
      const run = await runProbe(server, ['--room', 'restart', '--peer', 'heidi', '--protocol', mode.protocol,
        '--packets', String(PACKETS), '--restart-new-socket']);
      assertRestarted(run, mode, { newSocket: true });
      await assertNothingLeaked(server);
    });
  });
}

// A transport ends on its own (the client's DTLS close_notify, or ICE consent expiry): the
// transport is gone, its peer and signaling connection are not (actors/peer.cpp: "one that
// fails is forgotten (the peer survives)").
test('a transport closed by the client (DTLS close_notify) ends alone: the peer and its WebSocket stay', T, async () => {
  await withServer([], async (server) => {
    const run = await runProbe(server, ['--room', 'close', '--peer', 'carol', '--after-close-ms', '300']);
    const r = assertConnected(run, 'udp');
    assert.equal(r.signalingClosed, undefined, `the server closed the WebSocket: ${r.signalingClosed}\n${describeRun(run)}`);
    assert.equal(r.afterClose?.stats, 'error:unknown-transport', describeRun(run));
    assert.equal(r.afterClose?.capabilities, 'rtp-capabilities', describeRun(run));
    await assertNothingLeaked(server);
  });
});

const CONSENT_CONFIG = { rtc: { iceConsentTimeoutMs: 1000, iceDisconnectedTimeoutMs: 500 } };

test('ICE consent: a client checking every 300 ms outlives a 1 s consent timeout', T, async () => {
  await withServer(['--config', tempConfig(CONSENT_CONFIG)], async (server) => {
    const run = await runProbe(server, ['--room', 'consent', '--peer', 'dave', '--consent-interval-ms', '300', '--hold-ms', '2500']);
    const r = assertConnected(run, 'udp');
    // The first check and the consent checks of the hold, all answered.
    assert.ok(r.stats.stun.valid >= 5, `stun ${JSON.stringify(r.stats.stun)}`);
    assert.ok(r.client.successes >= 5, `client ${JSON.stringify(r.client)}`);
    await assertNothingLeaked(server);
  });
});

test('ICE consent: without consent checks the server closes the transport, and only the transport', T, async () => {
  await withServer(['--config', tempConfig(CONSENT_CONFIG)], async (server) => {
    // No consent check during the hold: after 1 s the server's ICE is disconnected, 0.5 s
    // later the transport is closed; get-transport-stats then knows no such transport.
    const run = await runProbe(server, ['--room', 'consent', '--peer', 'erin', '--consent-interval-ms', '60000', '--hold-ms', '2500']);
    const r = run.report;
    assert.ok(r, describeRun(run));
    assert.equal(r.ok, false, describeRun(run));
    assert.equal(r.stage, 'hold', describeRun(run));
    assert.match(r.reason, /unknown-transport/, describeRun(run));
    assert.equal(r.signalingClosed, undefined, `the server closed the WebSocket: ${r.signalingClosed}`);
    await assertNothingLeaked(server);
  });
});

// A client that disappears without a word (SIGKILL): its WebSocket and media sockets close
// with the process, and the server cleans everything up.
for (const mode of [MODES[0], MODES[3]]) {
  test(`${mode.name}: a probe killed while connected leaves nothing behind`, T, async () => {
    await withModeServer(mode, async (server) => {
      const args = ['--url', `ws://127.0.0.1:${server.port}`, '--room', 'vanish', '--peer', 'frank',
        '--protocol', mode.protocol, '--hold-ms', '20000', '--timeout-ms', '30000', '--verbose'];
      const { child, exited } = spawnTracked(PROBE, args);
      child.stdout.resume(); // only stderr is read
      let stderr = '';
      let connected;
      let health;
      try {
        connected = await new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), PROBE_KILL_MS);
          child.stderr.on('data', (d) => {
            stderr += d;
            if (/sent \d+ RTP packets/.test(stderr)) {
              clearTimeout(timer);
              resolve(true);
            }
          });
          exited.then(() => {
            clearTimeout(timer);
            resolve(false);
          });
        });
        health = (await httpGet(`${server.url}/healthz`)).json;
      } finally {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone
        }
        await exited;
      }
      assert.ok(connected, `the probe did not connect:\n${stderr}`);
      assert.equal(health.transports, 1, `while connected: ${JSON.stringify(health)}`);
      await assertNothingLeaked(server);
    });
  });
}
