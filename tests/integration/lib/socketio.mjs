// socket.io-client 4.x helpers for the Engine.IO and Socket.IO tests: connecting (at the
// Engine.IO level only, or to the "/" namespace), waiting for an event, waiting for the
// upgrade. Every wait is bounded.

import assert from 'node:assert/strict';
import { io } from 'socket.io-client';

export const EIO_PATH = '/socket.io/';

// Waits (bounded) for `emitter` to emit `event` with arguments that `match`; resolves the
// arguments (an array). Attach it before what triggers the event.
export function nextEvent(emitter, event, { match = () => true, timeoutMs = 3000, what = event } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no '${what}' within ${timeoutMs} ms`));
    }, timeoutMs);
    function on(...args) {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    }
    emitter.on(event, on);
  });
}

// Resolves when the Engine.IO client `engine` has upgraded to `name` (bounded).
export async function upgradedTo(engine, name, timeoutMs = 5000) {
  if (engine.transport.name === name) return;
  const [t] = await nextEvent(engine, 'upgrade', { timeoutMs, what: `upgrade to ${name}` });
  assert.equal(t.name, name);
}

// A socket.io-client Manager connected at the Engine.IO level only (no Socket.IO namespace,
// so no CONNECT packet is sent). Resolves { socket, engine, handshake } once open (at most
// `timeoutMs`, the Manager's own connect timeout); `handshake` is the open packet's data.
export async function openEngine(url, opts = {}, timeoutMs = 5000) {
  const socket = io(url, { path: EIO_PATH, autoConnect: false, reconnection: false, forceNew: true, timeout: timeoutMs, ...opts });
  const opened = new Promise((resolve, reject) => {
    socket.io.open((err) => (err ? reject(err) : resolve()));
  });
  let handshake;
  socket.io.engine.once('handshake', (d) => {
    handshake = d;
  });
  try {
    await opened;
  } catch (e) {
    closeEngine({ socket });
    throw e;
  }
  return { socket, engine: socket.io.engine, handshake };
}

export function closeEngine({ socket }) {
  socket.io.engine?.close();
  socket.close();
}

// A socket.io-client socket connected to the "/" namespace (bounded); resolves the socket.
// `query` goes into the Engine.IO handshake's query string, `auth` into the CONNECT packet;
// `clientOptions` are added to socket.io-client's (e.g. { rejectUnauthorized: false }).
export function connectSio(server, { transports, timeoutMs = 5000, query, auth, clientOptions = {} } = {}) {
  const socket = io(server.url, { path: EIO_PATH, transports, reconnection: false, forceNew: true, timeout: timeoutMs, query, auth, ...clientOptions });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`socket.io: not connected within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('connect_error', (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
  });
}
