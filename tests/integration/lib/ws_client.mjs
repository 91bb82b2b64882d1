// A signaling client for tests: a `ws` WebSocket whose incoming messages are queued, so
// that a test can wait for the message it expects (bounded) without losing the others.

import WebSocket from 'ws';

// Server-pushed events of docs/protocol.md: they carry no requestId.
export const EVENT_TYPES = new Set([
  'participant-list-update',
  'participant-left',
  'new-producer',
  'producer-closed',
  'consumer-closed',
  'producer-paused',
  'producer-resumed',
  'participant-state-changed',
  'peer-muted',
  'publish-allowed',
  'publish-disallowed',
  'peer-kicked',
  'peer-blocked',
  'peer-unblocked',
  'room-locked',
  'room-unlocked',
  'room-ended',
  'kicked',
  'active-speaker',
  'audio-levels',
  'new-data-producer',
  'data-producer-closed',
  'data-consumer-closed',
  'recording-started',
  'recording-stopped',
  'recording-error',
  'live-stream-started',
  'live-stream-stopped',
  'live-stream-error',
]);

export const isEvent = (m) => EVENT_TYPES.has(m?.type);
// How long a wait for a message or reply takes by default: a loaded 2-core CI machine
// running browser tests alongside has been seen to take over 2 s, and the sanitizer stage
// runs the same tests 2-3 times slower.
export const DEFAULT_WAIT_MS = 5000;
export const isReply = (m) => !isEvent(m);

function describe(m) {
  if (m === null || typeof m !== 'object') return JSON.stringify(m);
  const s = JSON.stringify(m);
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

export class SignalingClient {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.queue = []; // parsed messages not consumed yet
    this.received = 0; // messages received in total
    this.binaryFrames = 0;
    this.pings = 0;
    this.nextRequestId = 1;
    this.waiters = []; // { predicate, resolve, reject, timer, what }
    this.closeInfo = null; // { code, reason } once closed
    this.errors = [];
    this._closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`${this.label}: connection closed (code ${code}) while waiting for ${w.what}; queued: ${this.queue.map(describe).join(', ') || 'none'}`));
        }
      });
    });
    ws.on('error', (e) => this.errors.push(e));
    ws.on('ping', () => {
      this.pings += 1;
    });
    ws.on('message', (data, isBinary) => {
      this.received += 1;
      if (isBinary) {
        this.binaryFrames += 1;
        return;
      }
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        msg = { type: '<not json>', raw: data.toString('utf8') };
      }
      for (let i = 0; i < this.waiters.length; i++) {
        const w = this.waiters[i];
        if (w.predicate(msg)) {
          this.waiters.splice(i, 1);
          clearTimeout(w.timer);
          w.resolve(msg);
          return;
        }
      }
      this.queue.push(msg);
    });
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  // Resolves the first message (queued or future) for which `predicate` is true, removing it
  // from the queue. Rejects after `timeoutMs` (DEFAULT_WAIT_MS by default), or when the
  // connection closes first.
  next(predicate = () => true, timeoutMs = DEFAULT_WAIT_MS, what = 'a matching message') {
    const i = this.queue.findIndex(predicate);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]);
    if (this.closeInfo) {
      return Promise.reject(new Error(`${this.label}: connection closed (code ${this.closeInfo.code}) before ${what}`));
    }
    return new Promise((resolve, reject) => {
      const w = { predicate, resolve, reject, what };
      w.timer = setTimeout(() => {
        const k = this.waiters.indexOf(w);
        if (k >= 0) this.waiters.splice(k, 1);
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms; queued: ${this.queue.map(describe).join(', ') || 'none'}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  // Waits for the next message of `type` (optionally also matching `predicate`).
  nextOfType(type, predicate = () => true, timeoutMs = DEFAULT_WAIT_MS) {
    return this.next((m) => m?.type === type && predicate(m), timeoutMs, `'${type}' message`);
  }

  // Removes and returns every queued message matching `predicate` (no waiting).
  take(predicate = () => true) {
    const taken = [];
    this.queue = this.queue.filter((m) => {
      if (predicate(m)) {
        taken.push(m);
        return false;
      }
      return true;
    });
    return taken;
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  // Sends a frame as is: a string as a text frame, or `binary: true` for a binary frame.
  sendRaw(payload, { binary = false } = {}) {
    this.ws.send(payload, { binary });
  }

  // Sends { type, data?, requestId } with a fresh requestId and resolves the reply (or the
  // error) carrying that requestId.
  request(type, data, timeoutMs = DEFAULT_WAIT_MS, { requestId } = {}) {
    const id = requestId ?? this.nextRequestId++;
    const msg = { type, requestId: id };
    if (data !== undefined) msg.data = data;
    this.send(msg);
    return this.next((m) => isReply(m) && m.requestId === id, timeoutMs, `reply to '${type}' (requestId ${JSON.stringify(id)})`);
  }

  // Like request(), but fails unless the reply has type `replyType`; resolves the reply.
  async expectReply(type, data, replyType, timeoutMs = DEFAULT_WAIT_MS) {
    const reply = await this.request(type, data, timeoutMs);
    if (reply.type !== replyType) {
      throw new Error(`${this.label}: '${type}' answered ${describe(reply)}, expected type '${replyType}'`);
    }
    return reply;
  }

  // Like request(), but fails unless the reply is an error with data.code `code`.
  async expectError(type, data, code, timeoutMs = DEFAULT_WAIT_MS) {
    const reply = await this.request(type, data, timeoutMs);
    if (reply.type !== 'error' || reply.data?.code !== code) {
      throw new Error(`${this.label}: '${type}' answered ${describe(reply)}, expected error '${code}'`);
    }
    return reply;
  }

  // Resolves { code, reason } when the connection has closed.
  closed() {
    return this._closed;
  }

  // Like closed(), but rejects if the connection is still open after `timeoutMs`.
  closedWithin(timeoutMs) {
    let timer;
    return Promise.race([
      this._closed,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${this.label}: still open after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  // Closes (code 1000) and waits (bounded) for the close to complete; a connection that does
  // not finish the closing handshake in time is terminated.
  async close(code = 1000, timeoutMs = 2000) {
    if (this.closeInfo) return this.closeInfo;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
    } else {
      this.ws.close(code);
    }
    try {
      return await this.closedWithin(timeoutMs);
    } catch {
      this.ws.terminate();
      return this.closed();
    }
  }

  terminate() {
    this.ws.terminate();
    return this.closed();
  }
}

// Opens a WebSocket to `url` and resolves a SignalingClient once open (bounded).
// `wsOptions` go to the `ws` constructor (e.g. { autoPong: false }).
export function connect(url, { timeoutMs = 3000, label, wsOptions = {} } = {}) {
  const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, ...wsOptions });
  // Attach the queue at once: the server may send events right after the handshake.
  const client = new SignalingClient(ws, label ?? new URL(url).search);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${client.label}: not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(client);
    });
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(timer);
      reject(new Error(`${client.label}: upgrade refused with HTTP ${res.statusCode}`));
      req.destroy();
    });
    ws.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${client.label}: closed (code ${code}) before it was open`));
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${client.label}: ${e.message}`));
    });
  });
}

// Connects to /socket with the given query parameters, e.g. { auth: 'alice', channelId: 'room1' }.
export function connectPeer(server, query = {}, options = {}) {
  const qs = new URLSearchParams(query).toString();
  return connect(server.wsUrl(`/socket${qs ? `?${qs}` : ''}`), { label: query.auth ?? 'anonymous', ...options });
}

// Closes every client given (bounded each); ignores those already closed.
export async function closeAll(...clients) {
  await Promise.all(clients.flat().filter(Boolean).map((c) => c.close()));
}

// The ids of a participant-list-update, sorted.
export const participantIds = (m) => (Array.isArray(m?.data) ? m.data.map((p) => p.id).sort() : []);

// Waits for a participant-list-update whose ids are exactly `ids` (any order).
export function nextParticipantList(client, ids, timeoutMs = DEFAULT_WAIT_MS) {
  const want = [...ids].sort();
  return client.next(
    (m) => m?.type === 'participant-list-update' && JSON.stringify(participantIds(m)) === JSON.stringify(want),
    timeoutMs,
    `participant-list-update with exactly [${want.join(', ')}]`,
  );
}
