// Cluster membership (issue 13, item 1): several chorus processes on loopback join through
// CAF's middleman, admit only nodes that prove the shared secret, exchange heartbeats with
// their load, and report a node lost when its process dies (down message) or hangs (missed
// heartbeats). A single node starts nothing of it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { httpGet } from './lib/http.mjs';
import { runChorus, startServer } from './lib/server.mjs';
import { pollUntil } from './lib/tcp.mjs';

const SECRET = 'correct horse battery staple';
const T = { timeout: 90000 };

const cluster = async (node) => (await httpGet(`${node.url}/healthz`)).json?.cluster;
const members = async (node) => ((await cluster(node))?.nodes ?? []).map((n) => n.nodeId).sort();

function startNode(id, { peers = [], secret = SECRET, extra = [] } = {}) {
  const args = ['--node-id', id, '--cluster-listen', '127.0.0.1:0', '--cluster-secret', secret,
    '--cluster-heartbeat-timeout-ms', '1500', '--log-level', 'info', ...extra];
  if (peers.length) args.push('--cluster-peers', peers.join(','));
  return startServer(args);
}

// Stops every node (SIGTERM); unless the test failed already, each must exit with code 0
// (the killed ones excepted).
async function stopAll(nodes, { failed, killed }) {
  const results = await Promise.all(nodes.map((n) => n.stop()));
  if (failed) return;
  nodes.forEach((n, i) => {
    if (!killed.has(n)) assert.equal(results[i].code, 0, `${n.url}: ${JSON.stringify(results[i])}\n${n.stderr().slice(-4000)}`);
  });
}

test('three nodes from one seed form a full mesh; a wrong secret is never admitted; a dead or hung node is lost', T, async () => {
  const started = [];
  const killed = new Set();
  let failed = false;
  try {
    const a = await startNode('node-a');
    started.push(a);
    const seed = (await cluster(a)).listen;
    assert.match(seed, /^127\.0\.0\.1:\d+$/);
    const b = await startNode('node-b', { peers: [seed] });
    const c = await startNode('node-c', { peers: [seed] });
    started.push(b, c);
    // b and c only know a: they learn of each other from it.
    for (const [node, others] of [[a, ['node-b', 'node-c']], [b, ['node-a', 'node-c']], [c, ['node-a', 'node-b']]]) {
      await pollUntil(async () => JSON.stringify(await members(node)) === JSON.stringify(others),
        { timeoutMs: 15000, what: `${others} in ${node.url}/healthz` });
    }
    // Each entry says where clients reach that node, and its load.
    const viewOfA = await cluster(a);
    const bEntry = viewOfA.nodes.find((n) => n.nodeId === 'node-b');
    assert.equal(bEntry.clientUrl, b.url);
    assert.match(bEntry.clusterAddress, /^127\.0\.0\.1:\d+$/);
    for (const k of ['rooms', 'peers', 'consumers', 'cpuMs', 'lastHeardMs']) assert.equal(typeof bEntry[k], 'number', k);

    // A node with another secret: refused by every node it reaches, never listed.
    const evil = await startNode('node-evil', { peers: [seed], secret: 'not the cluster secret at all' });
    started.push(evil);
    await pollUntil(async () => (await cluster(evil)).refused >= 1, { timeoutMs: 10000, what: 'evil refused' });
    assert.deepEqual(await members(evil), []);
    for (const n of [a, b, c]) assert.ok(!(await members(n)).includes('node-evil'));

    // SIGKILL: the others learn at once from CAF (the connection drops).
    killed.add(c);
    await c.stop({ signal: 'SIGKILL' });
    for (const n of [a, b]) {
      await pollUntil(async () => !(await members(n)).includes('node-c'), { timeoutMs: 3000, what: `node-c gone from ${n.url}` });
      assert.ok((await cluster(n)).lost >= 1);
    }

    // SIGSTOP: the connection stays, the heartbeats stop: lost after the timeout (1.5 s).
    process.kill(b.pid, 'SIGSTOP');
    const t0 = performance.now();
    try {
      await pollUntil(async () => !(await members(a)).includes('node-b'), { timeoutMs: 6000, what: 'hung node-b lost' });
      const elapsed = performance.now() - t0;
      assert.ok(elapsed >= 1000, `lost after ${elapsed} ms, before the heartbeat timeout`);
    } finally {
      process.kill(b.pid, 'SIGCONT');
    }
    // Back: it is admitted again (a dials it again with backoff).
    await pollUntil(async () => (await members(a)).includes('node-b') && (await members(b)).includes('node-a'),
      { timeoutMs: 20000, what: 'node-b back' });
  } catch (e) {
    failed = true;
    if (e instanceof Error) e.message += started.map((n) => `\n--- ${n.url} stderr ---\n${n.stderr().slice(-3000)}`).join('');
    throw e;
  } finally {
    await stopAll(started, { failed, killed });
  }
});

test('a single node starts nothing of the cluster; a cluster without a valid secret does not start', T, async () => {
  const single = await startServer(['--log-level', 'warn']);
  try {
    const health = (await httpGet(`${single.url}/healthz`)).json;
    assert.equal(health.cluster, undefined);
  } finally {
    assert.equal((await single.stop()).code, 0);
  }
  for (const [args, message] of [
    [['--cluster-listen', '127.0.0.1:0'], /cluster needs a shared secret/],
    [['--cluster-peers', '127.0.0.1:1', '--cluster-secret', 'short'], /at least 16 bytes/],
    [['--cluster-listen', 'nowhere:1', '--cluster-secret', SECRET], /--cluster-listen/],
    [['--cluster-listen', '127.0.0.1:0', '--cluster-secret-file', '/nonexistent/secret'], /cannot read the file/],
  ]) {
    const r = await runChorus(['--listen', '127.0.0.1:0', ...args], { timeoutMs: 5000 });
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
});
