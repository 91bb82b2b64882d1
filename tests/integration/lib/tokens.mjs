// JWTs for tests, signed with Node's own crypto (independent of the server's code):
// HS256 with a secret, RS256 and ES256 with a generated key pair.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { tempDir } from './server.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

export const SECRET = 'a test secret of at least thirty-two bytes!';

// Signs `claims` (exp defaults to an hour from now) with `alg` and `key` (a secret for
// HS256, a private KeyObject otherwise). `header` patches the JOSE header.
export function sign(claims, { alg = 'HS256', key = SECRET, header = {}, ttlS = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { exp: now + ttlS, iat: now, ...claims };
  const input = `${b64url(JSON.stringify({ alg, typ: 'JWT', ...header }))}.${b64url(JSON.stringify(body))}`;
  let sig;
  if (alg === 'HS256') sig = crypto.createHmac('sha256', key).update(input).digest();
  else if (alg === 'RS256') sig = crypto.sign('sha256', Buffer.from(input), key);
  else if (alg === 'ES256') sig = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'none') sig = Buffer.alloc(0);
  return `${input}.${b64url(sig)}`;
}

// Writes the HS256 secret to a file; returns its path.
export function secretFile(secret = SECRET) {
  const file = path.join(tempDir('chorus-auth-'), 'secret');
  fs.writeFileSync(file, secret);
  return file;
}

// The server arguments of mode jwt with HS256.
export const jwtArgs = (extra = []) => ['--auth-mode', 'jwt', '--auth-hs256-secret-file', secretFile(), ...extra];
