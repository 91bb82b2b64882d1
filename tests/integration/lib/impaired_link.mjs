// An impaired network link in userspace, between WebRTC clients and the server's single
// media port: it drops (at random, or in bursts), delays with jitter (which reorders), and
// caps the rate behind a bounded queue, each by a seeded schedule, in each direction on its
// own. Userspace so that the same cases run on any kernel (this one has no sch_netem).
//
// The server listens on 127.0.0.1:PORT (--rtc-ip 127.0.0.1 --rtc-single-port PORT) and
// announces the link's address (--announced-ip 127.0.0.2): a client sends to
// 127.0.0.2:PORT, the link forwards each client's datagrams from a socket of that client's
// own on 127.0.0.1 (so the server sees one address per client, as behind a NAT), and
// the server's answers go back to the client from 127.0.0.2:PORT, where the client sent
// them. TCP candidates point at the link too, where nothing listens: ICE uses UDP.
// `serverIp` is where the link forwards to, `bindIp` (default: serverIp) the address of its
// sockets towards the server, `linkIp` where clients reach it.
//
//   const link = await startImpairedLink({ port, seed: 7, up: { loss: 0.05 } });
//   link.set('down', { delayMs: 100, jitterMs: 30, loss: 0.02 }); // mid-call
//   link.stats() -> { up: { received, dropped, delivered, queueDrops }, down: {...} }
//   await link.close();
//
// `up` is client -> server (what a publisher sends), `down` server -> client. An impairment:
//   loss         probability that a datagram is dropped (0..1), independent per datagram
//   burst        { enter, leave }: a Gilbert model, from "good" to "bad" with probability
//                `enter` per datagram and back with `leave`; everything is dropped while bad
//   delayMs      added to every datagram; jitterMs: plus up to -jitter..+jitter, as a queue
//                on one path varies it: a random walk over the range, datagrams in order
//   reorder      with jitter: each datagram's jitter drawn on its own (uniform), so that
//                datagrams overtake each other, as over paths of different lengths
//   rateKbps     the link's capacity; datagrams wait their turn in a queue of at most
//                queueMs of sending time, beyond which they are dropped (tail drop)

import dgram from 'node:dgram';

import { openPage, until } from './browser.mjs';

import { seededRandom } from './seeded_random.mjs';

export const LINK_IP = '127.0.0.2';

// The cases every impaired-link comparison runs (browser_impaired judges Chorus on them;
// bench/janus/impaired.mjs puts Janus through the same): the impairment, both directions
// alike, and the window in seconds.
export const IMPAIRMENTS = [
  { name: '5 % random loss', impairment: { loss: 0.05 }, seconds: 20 },
  { name: '100 ms +- 30 ms delay with 2 % loss', impairment: { delayMs: 100, jitterMs: 30, loss: 0.02 }, seconds: 20 },
  {
    name: '100 ms +- 30 ms delay, each datagram on its own (reordering), with 2 % loss',
    impairment: { delayMs: 100, jitterMs: 30, reorder: true, loss: 0.02 },
    seconds: 20,
  },
];

// Cases measured and reported, not judged in the suite (bench/janus/impaired.mjs --all runs
// them after IMPAIRMENTS): lighter and heavier random loss, and loss in bursts (a Gilbert
// model: into a bad spell with 1 %, out with 25 % per datagram: spells of 4 datagrams on
// average, about 4 % lost in all).
export const MORE_IMPAIRMENTS = [
  { name: '2 % random loss', impairment: { loss: 0.02 }, seconds: 20 },
  { name: '10 % random loss', impairment: { loss: 0.1 }, seconds: 20 },
  { name: 'loss in bursts (about 4 %, 4 datagrams a burst)', impairment: { burst: { enter: 0.01, leave: 0.25 } }, seconds: 20 },
];

// The server's arguments for a link in front of its single media port.
export const linkServerArgs = (port) => ['--log-level', 'warn', '--rtc-single-port', String(port), '--rtc-ip', '127.0.0.1'];

// Points a media page's transports (lib/media_page.mjs) at the link instead of the
// server's port; before the page joins.
export const pointAtLink = (page, ip = LINK_IP) => page.evaluate((linkIp) => {
  window.adaptTransportParams = (p) => ({ ...p, iceCandidates: p.iceCandidates.map((c) => ({ ...c, ip: linkIp, address: linkIp })) });
}, ip);

// What a receiving page's window.received() shows once it decodes the camera and plays the
// microphone.
export const seesAndHears = (r) => r.length === 2 && r.every((x) => (x.kind === 'video' ? x.framesDecoded > 30 : x.totalSamplesReceived > 48000));

// A teacher's page (lib/media_page.mjs at `siteUrl`) sending directly and a student's page
// receiving through the link, both in `room` of `server`; returns once the student decodes
// the camera and plays the microphone (bounded, 30 s). The student may be another browser's
// page (Firefox: `linkIp` then an address it takes, not loopback). `send`: the teacher's
// chorusJoin options (its camera's size, simulcast encodings).
export async function joinThroughLink({ teacherBrowser, studentBrowser = teacherBrowser, siteUrl, server, room, linkIp = LINK_IP, send = {} }) {
  const wsUrl = (peer) => `ws://127.0.0.1:${server.port}/socket?auth=${peer}&channelId=${room}`;
  const teacher = await openPage(teacherBrowser, `${siteUrl}/`, 'teacher');
  const student = await openPage(studentBrowser, `${siteUrl}/`, 'student');
  await teacher.evaluate(([u, options]) => window.chorusJoin(u, options), [wsUrl('teacher'), send]);
  await pointAtLink(student, linkIp);
  await student.evaluate((u) => window.chorusJoin(u, { produce: false }), wsUrl('student'));
  await until(student, 'the teacher seen and heard through the link', () => student.evaluate(() => window.received()), seesAndHears, 30000, 250);
  return { teacher, student };
}

// One direction of the link: decides each datagram's fate and when it leaves.
class Direction {
  constructor(random, impairment) {
    this.random = random;
    this.counts = { received: 0, dropped: 0, delivered: 0, queueDrops: 0 };
    this.bad = false;
    this.busyUntil = 0; // when the rate-capped link has sent what is queued (ms, monotonic)
    this.walk = 0;      // the jitter now, without reorder (ms)
    this.lastOut = 0;   // when the last datagram leaves, without reorder (ms, monotonic)
    this.set(impairment);
  }

  set(impairment = {}) {
    this.imp = { loss: 0, burst: null, delayMs: 0, jitterMs: 0, reorder: false, rateKbps: 0, queueMs: 200, ...impairment };
  }

  // The delay before `bytes` leave (ms from now), or -1 when the datagram is dropped.
  schedule(bytes, now) {
    const { loss, burst, delayMs, jitterMs, reorder, rateKbps, queueMs } = this.imp;
    this.counts.received++;
    if (burst) this.bad = this.bad ? this.random() >= burst.leave : this.random() < burst.enter;
    if (this.bad || (loss > 0 && this.random() < loss)) {
      this.counts.dropped++;
      return -1;
    }
    let wait = 0;
    if (rateKbps > 0) {
      const start = Math.max(now, this.busyUntil);
      if (start - now > queueMs) {
        this.counts.queueDrops++;
        return -1;
      }
      this.busyUntil = start + (bytes * 8) / rateKbps; // kbit/s = bit/ms
      wait = this.busyUntil - now;
    }
    this.counts.delivered++;
    if (jitterMs > 0 && reorder) return Math.max(0, wait + delayMs + (this.random() * 2 - 1) * jitterMs);
    if (jitterMs > 0) { // a tenth of the range per datagram, folded back at its ends
      this.walk += (this.random() * 2 - 1) * jitterMs * 0.1;
      if (this.walk > jitterMs) this.walk = 2 * jitterMs - this.walk;
      if (this.walk < -jitterMs) this.walk = -2 * jitterMs - this.walk;
    }
    const leave = Math.max(this.lastOut, now + wait + delayMs + (jitterMs > 0 ? this.walk : 0));
    this.lastOut = leave;
    return Math.max(0, leave - now);
  }
}

export async function startImpairedLink({ port, serverIp = '127.0.0.1', bindIp = serverIp, linkIp = LINK_IP, seed = 1, up = {}, down = {} }) {
  const dirs = { up: new Direction(seededRandom(seed), up), down: new Direction(seededRandom(seed ^ 0x5bd1e995), down) };
  const front = dgram.createSocket('udp4');
  const clients = new Map(); // "ip:port" of a client -> its socket towards the server
  const timers = new Set();
  let closed = false;

  const later = (ms, fn) => {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, ms);
    timers.add(t);
  };
  const pass = (dir, msg, send) => {
    const wait = dirs[dir].schedule(msg.length, performance.now());
    if (wait >= 0) later(wait, send);
  };

  async function towardsServer(rinfo) {
    const key = `${rinfo.address}:${rinfo.port}`;
    let entry = clients.get(key);
    if (entry) return entry;
    const socket = dgram.createSocket('udp4');
    entry = { socket, ready: new Promise((resolve) => socket.bind(0, bindIp, resolve)) };
    clients.set(key, entry);
    socket.on('message', (msg) => pass('down', msg, () => front.send(msg, rinfo.port, rinfo.address)));
    socket.on('error', () => {}); // the server gone: the test sees it elsewhere
    await entry.ready;
    return entry;
  }

  front.on('message', (msg, rinfo) => {
    towardsServer(rinfo).then(async (entry) => {
      await entry.ready;
      pass('up', msg, () => entry.socket.send(msg, port, serverIp));
    });
  });
  front.on('error', () => {});
  await new Promise((resolve, reject) => {
    front.once('error', reject);
    front.bind(port, linkIp, resolve);
  });

  return {
    ip: linkIp,
    port,
    set(dir, impairment) {
      dirs[dir].set(impairment);
    },
    stats: () => ({ up: { ...dirs.up.counts }, down: { ...dirs.down.counts } }),
    clients: () => clients.size, // client addresses seen (a client may send from several)
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const sockets = [front, ...[...clients.values()].map((e) => e.socket)];
      await Promise.all(sockets.map((s) => new Promise((resolve) => {
        try {
          s.close(resolve);
        } catch {
          resolve();
        }
      })));
    },
  };
}
