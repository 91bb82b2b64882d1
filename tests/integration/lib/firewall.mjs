// A firewall inside the test's own network namespace (scripts/netns-run.sh): nftables rules
// on the output hook, which on loopback sees every packet of both sides once. Made and
// removed by the test; nothing outside the namespace is touched.

import { execFileSync } from 'node:child_process';

const TABLE = 'chorus_test_firewall';

// Installs `rules` (nft rule statements, one per line) in an output chain of its own table.
export function installFirewall(rules) {
  removeFirewall();
  const script = `table inet ${TABLE} {\n  chain out {\n    type filter hook output priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n}\n`;
  execFileSync('nft', ['-f', '-'], { input: script, timeout: 5000 });
}

export function removeFirewall() {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', TABLE], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // none yet
  }
}

// The packets each rule's counter has seen, in rule order (0 for a rule without one).
// (A rule of two negated matches, "udp dport != A udp sport != A", dropped packets to A
// here, on nftables 1.0.6: write such exceptions as accept rules before a drop.)
export function firewallCounters() {
  const out = JSON.parse(execFileSync('nft', ['-j', 'list', 'table', 'inet', TABLE], { timeout: 5000 }).toString());
  return out.nftables.filter((e) => e.rule).map((e) => e.rule.expr.find((x) => x.counter)?.counter.packets ?? 0);
}
