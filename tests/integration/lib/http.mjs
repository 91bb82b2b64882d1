// A bounded HTTP GET over a fresh connection (no keep-alive, so that nothing of the test
// client lingers on the server). An https:// URL is fetched without verifying the
// certificate: the tests' servers use the tests' own self-signed pairs.

import http from 'node:http';
import https from 'node:https';

// Resolves { status, headers, body, json } (json: the parsed body, or undefined).
export function httpGet(url, { timeoutMs = 5000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const tls = url.startsWith('https:');
    const options = { agent: false, headers: { connection: 'close', ...headers }, ...(tls ? { rejectUnauthorized: false } : {}) };
    const req = (tls ? https : http).get(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => {
        clearTimeout(timer);
        let json;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`GET ${url}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// Waits (bounded) until /healthz reports no peers and no sessions, i.e. nothing of the
// test's connections is left in the server. Counters /healthz does not report are not
// checked. Resolves the last /healthz body.
export async function waitForNoPeers(server, { timeoutMs = 3000, intervalMs = 20 } = {}) {
  const deadline = performance.now() + timeoutMs;
  let last;
  for (;;) {
    const res = await httpGet(`${server.url}/healthz`);
    last = res.json ?? {};
    const busy = ['peers', 'sessions', 'transports', 'producers', 'consumers'].filter((k) => typeof last[k] === 'number' && last[k] !== 0);
    if (last.media && last.media.endpointsOpen !== 0) busy.push('media.endpointsOpen');
    if (res.status === 200 && busy.length === 0) return last;
    if (performance.now() > deadline) {
      throw new Error(`/healthz still reports ${busy.map((k) => `${k}=${last[k]}`).join(', ') || `HTTP ${res.status}`} after ${timeoutMs} ms: ${res.body}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
