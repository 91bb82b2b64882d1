// Starts and stops the real chorus binary for integration tests.
//
// Every process started here is stopped by its PID: by the test (stop()), or, as a last
// resort, with SIGKILL when the test process exits. Every wait is bounded.

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// The binary under test: $CHORUS_BIN (CTest sets it), else build/chorus in the repo.
export const CHORUS_BIN = process.env.CHORUS_BIN
  ? path.resolve(REPO_ROOT, process.env.CHORUS_BIN)
  : path.join(REPO_ROOT, 'build', 'chorus');

// The load generator: $CHORUS_BENCH, else chorus-bench next to $CHORUS_BIN, else
// build/chorus-bench.
export const BENCH_BIN = (() => {
  if (process.env.CHORUS_BENCH) return path.resolve(REPO_ROOT, process.env.CHORUS_BENCH);
  const beside = path.join(path.dirname(CHORUS_BIN), 'chorus-bench');
  if (fs.existsSync(beside)) return beside;
  return path.join(REPO_ROOT, 'build', 'chorus-bench');
})();

const READY_RE = /^chorus listening on ((https?):\/\/(\[[^\]]+\]|[^:\s]+):(\d+))\s*$/;
const TAIL_BYTES = 64 * 1024;

// Processes still running, killed synchronously if the test process exits first.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

// Keeps the last `limit` characters written to it.
class Tail {
  constructor(limit = TAIL_BYTES) {
    this.limit = limit;
    this.text = '';
  }
  push(chunk) {
    this.text += chunk;
    if (this.text.length > this.limit) this.text = this.text.slice(this.text.length - this.limit);
  }
  toString() {
    return this.text;
  }
}

function withTimeout(promise, ms, onTimeout) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e);
      }
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// setpriv (util-linux) execs its command with a parent-death signal: the PID stays the
// command's, and the kernel kills it if the test process dies without running its exit
// handlers (SIGTERM or SIGKILL from a runner's timeout).
const SETPRIV = fs.existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

// Starts `bin` in the repo root with stdout and stderr piped (utf8). Returns { child, exited };
// `exited` resolves { code, signal[, error] }. The process is SIGKILLed by its PID if the test
// process exits first, and by the kernel if the test process is killed; stopping it earlier
// is the caller's job.
export function spawnTracked(bin, args, env = {}) {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(cmd, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(child);
      resolve({ code: null, signal: null, error: err });
    });
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  return { child, exited };
}

// Runs `bin` (in the repo root) to completion. Returns { code, signal, stdout, stderr,
// elapsedMs, timedOut }; a run longer than `timeoutMs` is killed by its PID with SIGKILL and
// reported with timedOut: true. The output kept is the last `outputBytes` of each stream.
export async function runProcess(bin, args, { timeoutMs, env = {}, outputBytes = TAIL_BYTES } = {}) {
  const started = performance.now();
  const { child, exited } = spawnTracked(bin, args, env);
  const stdout = new Tail(outputBytes);
  const stderr = new Tail(outputBytes);
  child.stdout.on('data', (d) => stdout.push(d));
  child.stderr.on('data', (d) => stderr.push(d));
  const drained = Promise.all([once(child.stdout, 'close'), once(child.stderr, 'close')]);
  let timedOut = false;
  const result = await withTimeout(exited, timeoutMs, () => {
    timedOut = true;
    child.kill('SIGKILL');
    return exited;
  });
  // Let the pipes deliver what was written before exit (bounded: they close with the process).
  await withTimeout(drained, 1000, () => undefined);
  if (result.error) throw new Error(`cannot run ${bin}: ${result.error.message}`);
  return {
    code: result.code,
    signal: result.signal,
    stdout: stdout.toString(),
    stderr: stderr.toString(),
    elapsedMs: Math.round(performance.now() - started),
    timedOut,
  };
}

// Runs chorus to completion (for --help and invalid configurations); see runProcess.
export function runChorus(args, { timeoutMs = 2000, env = {} } = {}) {
  return runProcess(CHORUS_BIN, args, { timeoutMs, env });
}

// Starts chorus and waits (at most `readyTimeoutMs`) for its ready line on stdout (http://,
// or https:// when it serves TLS).
//
// `args` are passed as given, preceded by `--listen 127.0.0.1:0` unless they contain
// --listen or `listen: false` is passed. Returns a handle:
//   { port, host, url, tls, wsUrl(pathAndQuery), proc, pid, stderr(), stdout(), exited, stop() }
// stop({ signal = 'SIGTERM', timeoutMs = 5000 }) signals the PID and waits for the exit;
// it resolves { code, signal, elapsedMs, timedOut } (a process that outlives the bound is
// killed with SIGKILL and reported with timedOut: true).
// `cpus` (a CPU list such as '0' or '0-1') starts it under `taskset -c cpus`, which execs the
// server in the same process: its affinity mask holds those CPUs from the start.
export async function startServer(args = [], { listen = true, readyTimeoutMs = 10000, env = {}, cpus = null } = {}) {
  const fullArgs = listen && !args.includes('--listen') ? ['--listen', '127.0.0.1:0', ...args] : [...args];
  const { child, exited } = cpus === null
    ? spawnTracked(CHORUS_BIN, fullArgs, env)
    : spawnTracked('taskset', ['-c', String(cpus), CHORUS_BIN, ...fullArgs], env);
  const stdout = new Tail();
  const stderr = new Tail();
  child.stderr.on('data', (d) => stderr.push(d));
  // The exit may come before the last output is read: stop() waits (bounded) for both pipes
  // to close, so that a test reading stderr after it sees the shutdown's lines.
  const streamClosed = (s) => new Promise((resolve) => (s.closed ? resolve() : s.once('close', resolve)));
  const drained = Promise.all([streamClosed(child.stdout), streamClosed(child.stderr)]);

  let exitResult = null;
  exited.then((r) => {
    exitResult = r;
  });

  const ready = new Promise((resolve, reject) => {
    let pending = '';
    child.stdout.on('data', (d) => {
      stdout.push(d);
      pending += d;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        const m = READY_RE.exec(line);
        if (m) resolve({ url: m[1], tls: m[2] === 'https', host: m[3].replace(/^\[|\]$/g, ''), port: Number(m[4]) });
      }
    });
    exited.then((r) => {
      const why = r.error ? `could not start: ${r.error.message}` : `exited with code ${r.code} signal ${r.signal}`;
      reject(new Error(`chorus ${fullArgs.join(' ')} ${why} before it was ready\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`));
    });
  });

  let info;
  try {
    info = await withTimeout(ready, readyTimeoutMs, () => {
      throw new Error(`chorus ${fullArgs.join(' ')} not ready within ${readyTimeoutMs} ms\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`);
    });
  } catch (e) {
    if (exitResult === null) {
      child.kill('SIGKILL');
      await withTimeout(exited, 2000, () => undefined);
    }
    throw e;
  }

  let stopping = null;
  const handle = {
    ...info,
    proc: child,
    pid: child.pid,
    args: fullArgs,
    exited,
    stderr: () => stderr.toString(),
    stdout: () => stdout.toString(),
    wsUrl: (pathAndQuery = '/socket') => `${info.tls ? 'wss' : 'ws'}://${info.host.includes(':') ? `[${info.host}]` : info.host}:${info.port}${pathAndQuery}`,
    isRunning: () => exitResult === null,
    stop({ signal = 'SIGTERM', timeoutMs = 5000 } = {}) {
      if (stopping) return stopping;
      stopping = (async () => {
        const t0 = performance.now();
        if (exitResult !== null) return { ...exitResult, elapsedMs: 0, timedOut: false, alreadyExited: true };
        try {
          process.kill(child.pid, signal);
        } catch {
          // exited meanwhile; `exited` resolves
        }
        let timedOut = false;
        const r = await withTimeout(exited, timeoutMs, () => {
          timedOut = true;
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // gone
          }
          return withTimeout(exited, 2000, () => ({ code: null, signal: 'unknown' }));
        });
        await withTimeout(drained, 1000, () => undefined);
        return { code: r.code, signal: r.signal, elapsedMs: Math.round(performance.now() - t0), timedOut };
      })();
      return stopping;
    },
  };
  return handle;
}

// Runs `body(server)` against a fresh server, then stops it with SIGTERM and checks that it
// exited on its own with code 0 (a crash or hang during the test shows up here).
export async function withServer(args, body, options = {}) {
  const server = await startServer(args, options);
  let failed = false;
  try {
    return await body(server);
  } catch (e) {
    failed = true;
    if (e instanceof Error) e.message += `\n--- chorus stderr (tail) ---\n${server.stderr().slice(-8192)}`;
    throw e;
  } finally {
    const r = await server.stop();
    if (!failed && (r.timedOut || r.code !== 0)) {
      // eslint-disable-next-line no-unsafe-finally
      throw new Error(
        `chorus did not exit cleanly after SIGTERM: code ${r.code} signal ${r.signal}` +
          `${r.timedOut ? ' (timed out, killed)' : ''}${r.alreadyExited ? ' (had already exited)' : ''}\n--- stderr ---\n${server.stderr()}`,
      );
    }
  }
}

// A free TCP port on 127.0.0.1, closed again: the process the test starts binds it a moment
// later (PostgreSQL, an FFmpeg listening for RTMP).
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A port free for both UDP and TCP on 127.0.0.1, found by binding both on it (bounded tries).
export async function freeRtcPort() {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcp = net.createServer();
    const ok = await new Promise((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise((resolve) => udp.close(resolve));
    if (ok) {
      await new Promise((resolve) => tcp.close(resolve));
      if (port >= 1024) return port;
    }
  }
  throw new Error('no port free for both UDP and TCP after 20 tries');
}

// withServer with --rtc-single-port on a free port (and `args`). A port that another
// process took between the check and the server's bind is retried with a new one.
export async function withSinglePortServer(args, body, options = {}) {
  for (let attempt = 0; ; attempt++) {
    const port = await freeRtcPort();
    try {
      return await withServer(['--rtc-single-port', String(port), ...args], body, options);
    } catch (e) {
      const lostRace = /could not start|exited with code|before it was ready/.test(String(e.message)) && /bind|in use/i.test(String(e.message));
      if (!lostRace || attempt >= 2) throw e;
    }
  }
}

// Temporary directories, removed when the test process exits.
const tempDirs = [];
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// A temporary directory removed when the test process exits.
export function tempDir(prefix = 'chorus-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

// Writes `content` (a string, or an object rendered as JSON) to a temporary file.
export function tempConfig(content, name = 'chorus.json') {
  const file = path.join(tempDir(), name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
