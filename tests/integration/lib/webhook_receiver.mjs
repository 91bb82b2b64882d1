// A webhook receiver for the tests: an HTTP server on loopback that keeps every POST
// (method, url, headers, body) and answers 200; until(predicate) waits (bounded) for what
// it got to satisfy the predicate.

import http from 'node:http';
import { once } from 'node:events';

export async function receiver() {
  const got = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end('ok');
      for (const w of waiters.splice(0)) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks/chorus`,
    got,
    // Resolves when `predicate(got)` holds (bounded).
    async until(predicate, timeoutMs = 8000) {
      const deadline = performance.now() + timeoutMs;
      while (!predicate(got)) {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`webhooks: not within ${timeoutMs} ms; got ${got.map((g) => g.headers['x-chorus-event']).join(', ')}`);
        await new Promise((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
