// Linux TCP state of loopback connections, read from /proc/net/tcp{,6}. Lets a test observe
// what the server did to a connection without reading from it (e.g. a paused slow reader).

import fs from 'node:fs';

export const TCP_STATES = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

function portOf(hexAddr) {
  return parseInt(hexAddr.slice(hexAddr.lastIndexOf(':') + 1), 16);
}

// Every socket whose local port is `localPort` and remote port is `remotePort`:
// [{ state, txQueue, rxQueue }], state a name of TCP_STATES.
export function tcpSockets(localPort, remotePort) {
  const found = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5) continue;
      if (portOf(f[1]) !== localPort || portOf(f[2]) !== remotePort) continue;
      const [tx, rx] = f[4].split(':').map((h) => parseInt(h, 16));
      found.push({ state: TCP_STATES[f[3].toUpperCase()] ?? f[3], txQueue: tx, rxQueue: rx });
    }
  }
  return found;
}

// True while the server's end of the client connection (server port -> client port) is
// ESTABLISHED.
export function serverSideEstablished(serverPort, clientPort) {
  return tcpSockets(serverPort, clientPort).some((s) => s.state === 'ESTABLISHED');
}

// Polls `condition` every `intervalMs` until it is true; rejects after `timeoutMs`.
// For conditions no event reports (kernel state); bounded in time and count. A condition
// that throws (a /healthz answer slow on a loaded machine, a field not there yet) counts as
// not yet true; the last error is reported at the deadline.
export async function pollUntil(condition, { timeoutMs = 10000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = performance.now() + timeoutMs;
  let last;
  for (;;) {
    let v;
    try {
      v = await condition(); // a condition may be async
    } catch (e) {
      last = e;
      v = undefined;
    }
    if (v) return v; // the truthy value, for conditions that fetch what they test
    if (performance.now() > deadline) {
      throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// The largest buffers the kernel may give a TCP socket (bytes), for sizing a flood that must
// exceed them: [send max, receive max].
export function tcpBufferMax() {
  const third = (file, fallback) => {
    try {
      return Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/)[2]) || fallback;
    } catch {
      return fallback;
    }
  };
  return [third('/proc/sys/net/ipv4/tcp_wmem', 4 << 20), third('/proc/sys/net/ipv4/tcp_rmem', 6 << 20)];
}
