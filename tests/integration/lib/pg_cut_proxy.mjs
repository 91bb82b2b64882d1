// A TCP proxy on loopback in front of a PostgreSQL server that can lose the answer to a
// COMMIT: armed, it forwards the next simple-query COMMIT ('Q' message, as libpq's
// PQexec("COMMIT") sends it) to the server, waits for the server's first bytes after it
// (the answer: the transaction is committed by then) and cuts both connections instead of
// passing them on. The client is left not knowing whether its batch was written, exactly
// as when a network cut falls between the server's COMMIT and its answer.

import net from 'node:net';

// The bytes of a simple query "COMMIT": 'Q', int32 length, "COMMIT\0".
const COMMIT = (() => {
  const text = Buffer.from('COMMIT\0');
  const head = Buffer.alloc(5);
  head.write('Q', 0);
  head.writeInt32BE(text.length + 4, 1);
  return Buffer.concat([head, text]);
})();

// Resolves { port, cutNextCommit(): Promise<void> (resolves once a COMMIT's answer was
// cut), close() }. `target`: the server's port on 127.0.0.1.
export async function pgCutProxy(target) {
  const sockets = new Set();
  let armed = null; // { resolve } while a cut is awaited
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: target });
    sockets.add(client);
    sockets.add(upstream);
    let cutting = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.on('data', (d) => {
      if (armed && !armed.taken && d.includes(COMMIT)) armed.taken = cutting = true;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (cutting) {
        // The server answered the COMMIT: it is written. The client never hears it.
        const waiter = armed;
        armed = null;
        end();
        waiter.resolve();
        return;
      }
      client.write(d);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: server.address().port,
    // Resolves once the next COMMIT was cut; rejects when none came within `timeoutMs`.
    cutNextCommit(timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const waiter = { resolve: (v) => { clearTimeout(timer); resolve(v); } };
        const timer = setTimeout(() => {
          if (armed !== waiter || waiter.taken) return;
          armed = null;
          reject(new Error(`no COMMIT seen within ${timeoutMs} ms`));
        }, timeoutMs);
        armed = waiter;
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
