// The command line and the configuration file: --help, and invalid values that must fail
// fast (non-zero exit within 2 s) with a message naming the offending option.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { httpGet } from './lib/http.mjs';
import { REPO_ROOT, runChorus, tempConfig, tempDir, withServer } from './lib/server.mjs';

const T = { timeout: 60000 };
const FAIL_FAST_MS = 2000;

const FLAGS = ['--config', '--listen', '--rtc-ip', '--announced-ip', '--rtc-ports', '--log-level', '--help'];

test('--help exits 0 and lists every flag', T, async () => {
  const r = await runChorus(['--help']);
  assert.equal(r.timedOut, false, 'chorus --help did not exit');
  assert.equal(r.code, 0, `exit code ${r.code}\n${r.stderr}`);
  const text = r.stdout + r.stderr;
  for (const flag of FLAGS) assert.ok(text.includes(flag), `--help does not mention ${flag}:\n${text}`);
  assert.ok(!text.includes('chorus listening on'), '--help must not start the server');
});

// Each case: the arguments, and the text the error message must contain.
function failsFast(name, args, mustMention) {
  test(`fails fast: ${name}`, T, async () => {
    const r = await runChorus(args, { timeoutMs: FAIL_FAST_MS });
    const text = r.stdout + r.stderr;
    assert.equal(r.timedOut, false, `chorus ${args.join(' ')} still running after ${FAIL_FAST_MS} ms:\n${text}`);
    assert.notEqual(r.code, 0, `chorus ${args.join(' ')} exited 0:\n${text}`);
    assert.equal(r.signal, null, `chorus ${args.join(' ')} died of ${r.signal}:\n${text}`);
    assert.ok(!text.includes('chorus listening on'), `chorus ${args.join(' ')} started listening:\n${text}`);
    for (const m of [mustMention].flat()) {
      assert.ok(r.stderr.includes(m), `the error message of chorus ${args.join(' ')} does not mention '${m}':\n${text}`);
    }
  });
}

const config = (content, name) => tempConfig(content, name);

failsFast('--rtc-ports MIN > MAX', ['--rtc-ports', '50000-40000'], '--rtc-ports');
failsFast('--rtc-ports not a range', ['--rtc-ports', 'lots'], '--rtc-ports');
failsFast('--listen nonsense', ['--listen', 'nonsense'], '--listen');
failsFast('--listen port out of range', ['--listen', '127.0.0.1:70000'], '--listen');
failsFast('--listen without a value', ['--listen'], '--listen');
failsFast('--log-level loud', ['--log-level', 'loud'], '--log-level');
failsFast('--rtc-ip not an address', ['--rtc-ip', 'here'], '--rtc-ip');
failsFast('unknown flag', ['--bogus-flag'], '--bogus-flag');
failsFast('--config of a missing file', ['--config', '/nonexistent.json'], '--config');
failsFast('--config without a value', ['--config'], '--config');
{
  const file = config('{"listen": "127.0.0.1:0", ', 'truncated.json');
  failsFast('config file with invalid JSON', ['--config', file], ['--config', path.basename(file)]);
}
failsFast('config file that is not an object', ['--config', config('[1, 2]', 'array.json')], '--config');
failsFast(
  'signaling.maxMessageBytes negative',
  ['--config', config({ signaling: { maxMessageBytes: -1 } })],
  'signaling.maxMessageBytes',
);
failsFast(
  'signaling.idleTimeoutMs a string',
  ['--config', config({ signaling: { idleTimeoutMs: '30s' } })],
  'signaling.idleTimeoutMs',
);
failsFast(
  'mediaCodecs with an unsupported codec',
  ['--config', config({ mediaCodecs: [{ kind: 'video', mimeType: 'video/H265', clockRate: 90000 }] })],
  'mediaCodecs',
);
failsFast('mediaCodecs empty', ['--config', config({ mediaCodecs: [] })], 'mediaCodecs');
failsFast('unknown top-level key', ['--config', config({ bogus: 1 })], 'bogus');
failsFast('unknown nested key', ['--config', config({ limits: { maxRoomz: 5 } })], 'limits.maxRoomz');
failsFast('rtc.ports reversed', ['--config', config({ rtc: { ports: '50000-40000' } })], 'rtc.ports');
failsFast('logLevel unknown', ['--config', config({ logLevel: 'loud' })], 'logLevel');

test('a valid config file is applied, flags override it', T, async () => {
  const dir = tempDir();
  const file = path.join(dir, 'ok.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      listen: '127.0.0.1:0',
      logLevel: 'warn',
      rtc: { ip: '127.0.0.1', ports: '41000-41999' },
      signaling: { maxMessageBytes: 65536, idleTimeoutMs: 30000 },
      limits: { maxRooms: 10, maxPeersPerRoom: 10 },
      mediaCodecs: [
        { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
        { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
      ],
    }),
  );
  // `listen` from the file (no --listen flag): any free port.
  await withServer(['--config', file], async (server) => {
    assert.ok(server.port > 0);
    const res = await httpGet(`${server.url}/healthz`);
    assert.equal(res.status, 200);
  }, { listen: false });
  // A flag overrides the file's value (--log-level is applied over logLevel).
  await withServer(['--config', file, '--log-level', 'debug', '--listen', '127.0.0.1:0'], async (server) => {
    assert.ok(server.port > 0);
  });
});

test('conf/chorus.json, when present, starts the server', T, async (t) => {
  const file = path.join(REPO_ROOT, 'conf', 'chorus.json');
  if (!fs.existsSync(file)) {
    t.skip('conf/chorus.json not written yet');
    return;
  }
  await withServer(['--config', file, '--listen', '127.0.0.1:0'], async (server) => {
    const res = await httpGet(`${server.url}/healthz`);
    assert.equal(res.status, 200);
  });
});
