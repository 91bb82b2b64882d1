// Chorus clusters for the tests: several chorus processes on loopback that admit each
// other with one secret. Every node is stopped by its PID; every wait is bounded.

import assert from 'node:assert/strict';
import path from 'node:path';

import { httpGet } from './http.mjs';
import { REPO_ROOT, runProcess, startServer, tempDir } from './server.mjs';
import { pollUntil } from './tcp.mjs';

export const SECRET = 'correct horse battery staple';

export const cluster = async (node) => (await httpGet(`${node.url}/healthz`)).json?.cluster;
export const members = async (node) => ((await cluster(node))?.nodes ?? []).map((n) => n.nodeId).sort();

// The room's home by rendezvous over `nodeIds` (net/cluster.cpp's home_node): the id of the
// highest weight (FNV-1a over node id, a 0x1f separator and room id, then splitmix64's
// finaliser), the smaller id on a tie.
export function homeOf(roomId, nodeIds) {
  const M = (1n << 64n) - 1n;
  const fnv = (h, bytes) => {
    for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & M;
    return h;
  };
  const mix = (z) => {
    z = (z + 0x9e3779b97f4a7c15n) & M;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return z ^ (z >> 31n);
  };
  const weight = (id) => mix(fnv(fnv(fnv(0xcbf29ce484222325n, Buffer.from(id)), [0x1f]), Buffer.from(roomId)));
  let best = null;
  let bestWeight = 0n;
  for (const id of nodeIds) {
    const w = weight(id);
    if (best === null || w > bestWeight || (w === bestWeight && id < best)) {
      best = id;
      bestWeight = w;
    }
  }
  return best;
}

// The first room id `${prefix}-${i}` (i below 1000) that `accept` takes, given home(nodeIds):
// the room's home among those nodes (homeOf). Throws when none does.
export function roomIdWhere(prefix, accept) {
  for (let i = 0; i < 1000; ++i) {
    const room = `${prefix}-${i}`;
    if (accept((nodeIds) => homeOf(room, nodeIds))) return room;
  }
  throw new Error(`no room id of prefix ${prefix} (of 1000) fits`);
}

// A room id of `prefix` that `nodeIds` home on `want`.
export const roomHomedOn = (prefix, want, nodeIds) => roomIdWhere(prefix, (home) => home(nodeIds) === want);

// A CA and a certificate per node (scripts/make-cluster-certs.sh) in a temporary directory;
// tls(node) gives the node's flags.
export async function makeCerts(nodes) {
  const dir = tempDir('chorus-cluster-certs-');
  const r = await runProcess(path.join(REPO_ROOT, 'scripts/make-cluster-certs.sh'), ['--out', dir, ...nodes], { timeoutMs: 20000 });
  assert.equal(r.code, 0, r.stderr);
  const tls = (node) => ['--cluster-cert', path.join(dir, `${node}.pem`), '--cluster-key', path.join(dir, `${node}.key`), '--cluster-ca', path.join(dir, 'ca.pem')];
  return { dir, tls };
}

// Media ports per node, so that nodes never compete for one.
const RTC_PORTS = { 'node-a': '40000-40999', 'node-b': '41000-41999', 'node-c': '42000-42999' };

export function startNode(id, { peers = [], secret = SECRET, extra = [] } = {}) {
  const args = ['--node-id', id, '--cluster-listen', '127.0.0.1:0', '--cluster-secret', secret,
    '--cluster-heartbeat-timeout-ms', '1500', '--log-level', process.env.CHORUS_TEST_LOG ?? 'info', ...extra];
  if (RTC_PORTS[id]) args.push('--rtc-ports', RTC_PORTS[id]);
  if (peers.length) args.push('--cluster-peers', peers.join(','));
  return startServer(args);
}

// Runs `body(nodes)` and stops every node it started (SIGTERM) whatever happens; unless the
// body failed, each must exit with code 0 (those it killed excepted). nodes.start(id, opts)
// starts and tracks one; nodes.kill(node) SIGKILLs one; nodes.mesh(extraFor) starts
// node-a, then node-b and node-c with node-a as their only peer, and waits (bounded) until
// each lists the two others. A failure's message carries every node's stderr tail.
export async function withNodes(body) {
  const started = [];
  const killed = new Set();
  const nodes = {
    async start(id, opts) {
      const n = await startNode(id, opts);
      started.push(n);
      return n;
    },
    async kill(n) {
      killed.add(n);
      await n.stop({ signal: 'SIGKILL' });
    },
    async mesh(extraFor = () => []) {
      const a = await nodes.start('node-a', { extra: extraFor('node-a') });
      const seed = (await cluster(a)).listen;
      const b = await nodes.start('node-b', { peers: [seed], extra: extraFor('node-b') });
      const c = await nodes.start('node-c', { peers: [seed], extra: extraFor('node-c') });
      // b and c only know a: they learn of each other from it.
      for (const [node, others] of [[a, ['node-b', 'node-c']], [b, ['node-a', 'node-c']], [c, ['node-a', 'node-b']]]) {
        await pollUntil(async () => JSON.stringify(await members(node)) === JSON.stringify(others),
          { timeoutMs: 15000, what: `${others} in ${node.url}/healthz` });
      }
      return [a, b, c];
    },
  };
  let failed = false;
  try {
    return await body(nodes);
  } catch (e) {
    failed = true;
    if (e instanceof Error) e.message += started.map((n) => `\n--- ${n.url} stderr ---\n${n.stderr().slice(-3000)}`).join('');
    throw e;
  } finally {
    const results = await Promise.all(started.map((n) => n.stop()));
    if (!failed) {
      started.forEach((n, i) => {
        if (!killed.has(n)) assert.equal(results[i].code, 0, `${n.url}: ${JSON.stringify(results[i])}\n${n.stderr().slice(-4000)}`);
      });
    }
  }
}
