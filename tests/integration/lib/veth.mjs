// A routable media address inside the test's own network namespace (scripts/netns-run.sh):
// a veth pair with 192.0.2.1/24 (TEST-NET-1) on one end and a default route through it.
// Firefox gathers no ICE candidate on loopback, nor any without a default route
// (shared/guide/testing.md, "Firefox"); with this it offers 192.0.2.1 and reaches a server
// started with `--rtc-ip 192.0.2.1`. Nothing is ever sent to the gateway (192.0.2.2): both
// ends are local. Made and removed by the test; refused outside a namespace of its own.

import { execFileSync } from 'node:child_process';

export const MEDIA_IP = '192.0.2.1';
const LINK = 'v0';
const PEER = 'v1';
const GATEWAY = '192.0.2.2';

const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });

// Whether this process runs in a namespace made for the test: no link but loopback (and
// this file's pair). A host's namespace has others; the pair and its default route are
// never made there.
export function inOwnNetns() {
  try {
    return JSON.parse(ip('-j', 'link', 'show')).every((l) => [LINK, PEER, 'lo'].includes(l.ifname));
  } catch {
    return false;
  }
}

function hasMediaAddress() {
  try {
    return JSON.parse(ip('-j', 'addr', 'show', 'dev', LINK))
      .some((l) => l.addr_info?.some((a) => a.family === 'inet' && a.local === MEDIA_IP));
  } catch {
    return false; // no such link
  }
}

// Makes the veth pair, MEDIA_IP and the default route; a second call finds them made.
export function addMediaNetwork() {
  if (!inOwnNetns()) throw new Error('not in a network namespace of its own: run under scripts/netns-run.sh');
  if (!hasMediaAddress()) {
    removeMediaNetwork();
    ip('link', 'add', LINK, 'type', 'veth', 'peer', 'name', PEER);
    ip('addr', 'add', `${MEDIA_IP}/24`, 'dev', LINK);
    ip('link', 'set', LINK, 'up');
    ip('link', 'set', PEER, 'up');
  }
  ip('route', 'replace', 'default', 'via', GATEWAY, 'dev', LINK);
  return MEDIA_IP;
}

// A second address on the media link, for a relay in front of the server (an impaired
// link, lib/impaired_link.mjs): Firefox reaches it as it reaches MEDIA_IP. Idempotent.
export const RELAY_IP = '192.0.2.3';
export function addRelayAddress() {
  addMediaNetwork();
  const has = JSON.parse(ip('-j', 'addr', 'show', 'dev', LINK))
    .some((l) => l.addr_info?.some((a) => a.family === 'inet' && a.local === RELAY_IP));
  if (!has) ip('addr', 'add', `${RELAY_IP}/24`, 'dev', LINK);
  return RELAY_IP;
}

// Removes the pair (its addresses and the default route go with it); nothing if absent.
export function removeMediaNetwork() {
  if (!inOwnNetns()) return;
  try {
    execFileSync('ip', ['link', 'del', LINK], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // none
  }
}
