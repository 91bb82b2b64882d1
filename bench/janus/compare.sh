#!/usr/bin/env bash
# Chorus and Janus side by side on the `class` scenario (docs/performance.md, "Janus side by side"):
#
#   sudo bench/janus/compare.sh [SUBSCRIBERS] [DURATION_S]           (defaults 20, 10)
#   sudo bench/janus/compare.sh --ramp STEP MAX [DURATION_S]         (the ramp; default 10)
#
# 1. starts Janus (bench/janus/run-janus.sh, pinned with CHORUS_JANUS_CPU=$SERVER_CPU) in its
#    namespace, runs chorus-bench --target janus against it, stops it;
# 2. starts $CHORUS_BIN pinned to $SERVER_CPU, runs chorus-bench against it, stops it;
# 3. prints both reports and the ratios Chorus / Janus.
# With --ramp, both runs are ramps (--ramp-step STEP --ramp-max MAX, a window of DURATION_S
# per step) and step 3 prints both capacities and, per step both ran, the server CPU per
# delivered packet of each and the ratio Chorus / Janus.
# The generator runs on $CLIENT_CPU. Every process is stopped by its PID; every wait is
# bounded (chorus-bench runs under `timeout`). Root required (Janus's network namespace).
#
# Environment: CHORUS_BIN (default build/chorus), CHORUS_BENCH (default chorus-bench next to
# CHORUS_BIN), SERVER_CPU (0), CLIENT_CPU (1), CHORUS_PORT (18080), COMPARE_FLOOR (1: measure
# the floor in each run, --floor --server-cpu $SERVER_CPU; 0: no floor), OUT (a directory for
# the JSON files; default a new one under /tmp).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

MODE=single
if [ "${1:-}" = --ramp ]; then
  MODE=ramp
  STEP="${2:-}"
  MAX="${3:-}"
  D="${4:-10}"
  [[ "$STEP" =~ ^[1-9][0-9]*$ && "$MAX" =~ ^[1-9][0-9]*$ ]] ||
    { echo "usage: compare.sh --ramp STEP MAX [DURATION_S]" >&2; exit 2; }
  [ "$MAX" -ge "$STEP" ] || { echo "compare: MAX must be at least STEP" >&2; exit 2; }
  N="$MAX"
else
  N="${1:-20}"
  D="${2:-10}"
fi
CHORUS_BIN="${CHORUS_BIN:-build/chorus}"
CHORUS_BENCH="${CHORUS_BENCH:-$(dirname "$CHORUS_BIN")/chorus-bench}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
CHORUS_PORT="${CHORUS_PORT:-18080}"
COMPARE_FLOOR="${COMPARE_FLOOR:-1}"
OUT="${OUT:-$(mktemp -d /tmp/chorus-compare.XXXXXX)}"
mkdir -p "$OUT"
# setup + warm-up + window + floor + teardown, with room to spare (per step for the ramp,
# plus the pause between steps and the setup of every step's subscribers)
if [ "$MODE" = ramp ]; then
  STEPS=$((MAX / STEP))
  BENCH_TIMEOUT=$((STEPS * (D + 60) + STEPS * MAX / 5 + 60))
else
  BENCH_TIMEOUT=$((D + 120 + N / 5))
fi

die() { echo "compare: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (Janus runs in a network namespace)"
# What the runs need, installed as the README's commands install it (idempotent and quick
# when present): Debian's packages, the npm modules (run-janus.sh's readiness probe uses
# `ws`), and the binaries when the default build/ is used and they are missing.
# shellcheck source=scripts/setup.sh
source "$repo/scripts/setup.sh"
if [ ! -x "$CHORUS_BIN" ] || [ ! -x "$CHORUS_BENCH" ]; then
  if [ "$CHORUS_BIN" = build/chorus ]; then
    echo "compare: building Chorus first (scripts/setup.sh)" >&2
    chorus_setup_and_build >&2 || die "the build failed (see above)"
  fi
else
  chorus_setup >&2 || die "setting up the machine failed (see above)"
fi
[ -x "$CHORUS_BIN" ] || die "no server binary at $CHORUS_BIN (build it: ./scripts/setup.sh)"
[ -x "$CHORUS_BENCH" ] || die "no chorus-bench at $CHORUS_BENCH (build it: ./scripts/setup.sh)"

floor_args=()
[ "$COMPARE_FLOOR" = 1 ] && floor_args=(--floor --server-cpu "$SERVER_CPU")
# What each run measures, and the name of its JSON file in $OUT (janus$SUFFIX.json, ...).
if [ "$MODE" = ramp ]; then
  run_args=(--scenario class --ramp-step "$STEP" --ramp-max "$MAX" --duration-s "$D")
  SUFFIX=-ramp
else
  run_args=(--scenario class --subscribers "$N" --duration-s "$D")
  SUFFIX=""
fi

# The server's start and stop (chorus_server_start / chorus_server_stop: by its PID, bounded).
# shellcheck source=bench/lib/server.sh
source "$repo/bench/lib/server.sh"
cleanup() {
  chorus_server_stop >/dev/null 2>&1 || true
  "$here/run-janus.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg); server on CPU $SERVER_CPU, generator on CPU $CLIENT_CPU"
if [ "$MODE" = ramp ]; then
  echo "== class ramp: 1 publisher (audio + 1 Mbit/s video), +$STEP subscribers per step up to $MAX, ${D} s window per step; JSON and plots in $OUT"
else
  echo "== class: 1 publisher (audio + 1 Mbit/s video), $N subscribers, ${D} s window; JSON in $OUT"
fi

# ---- Janus -------------------------------------------------------------------------------
"$here/run-janus.sh" stop >/dev/null 2>&1 || true # a fresh Janus (memory per consumer)
line="$(CHORUS_JANUS_CPU="$SERVER_CPU" "$here/run-janus.sh" start)" || die "janus did not start"
JANUS_PID="${line##* pid }"
JANUS_URL="$(echo "$line" | awk '{print $3}')"
echo "== janus pid $JANUS_PID at $JANUS_URL (affinity $(taskset -pc "$JANUS_PID" | awk '{print $NF}'))"
set +e
timeout -k 5 "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPU" "$CHORUS_BENCH" --target janus \
  --url "$JANUS_URL" "${run_args[@]}" \
  --server-pid "$JANUS_PID" "${floor_args[@]}" --json "$OUT/janus$SUFFIX.json"
janus_rc=$?
set -e
"$here/run-janus.sh" stop
echo "== janus run exit status $janus_rc"
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- Chorus ------------------------------------------------------------------------------
chorus_server_start "$OUT/chorus.log" taskset -c "$SERVER_CPU" "$CHORUS_BIN" \
  --listen "127.0.0.1:$CHORUS_PORT" --log-level warn || die "chorus did not start (its log is above)"
echo "== chorus pid $CHORUS_SERVER_PID at ws://127.0.0.1:$CHORUS_PORT ($CHORUS_BIN, affinity $(taskset -pc "$CHORUS_SERVER_PID" | awk '{print $NF}'))"
set +e
timeout -k 5 "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPU" "$CHORUS_BENCH" \
  --url "ws://127.0.0.1:$CHORUS_PORT" "${run_args[@]}" \
  --server-pid "$CHORUS_SERVER_PID" "${floor_args[@]}" --json "$OUT/chorus$SUFFIX.json"
chorus_rc=$?
set -e
chorus_server_stop || true # (it says so when SIGTERM was not enough)
echo "== chorus run exit status $chorus_rc"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- ratios ------------------------------------------------------------------------------
[ -s "$OUT/janus$SUFFIX.json" ] && [ -s "$OUT/chorus$SUFFIX.json" ] || die "a run wrote no JSON"
if [ "$MODE" = ramp ]; then
  node -e '
const fs = require("fs");
const j = JSON.parse(fs.readFileSync(process.argv[1])), c = JSON.parse(fs.readFileSync(process.argv[2]));
const fmt = (v, d) => (v === undefined || v === null || Number.isNaN(v)) ? "-" : Number(v).toFixed(d);
const pad = (s, n) => String(s).padStart(n);
const cap = (r) => r.capacitySubscribers === null ? "none" : r.capacitySubscribers + " subscribers";
console.log("\ncapacity (last good step): Janus " + cap(j) + " (stopped: " + j.stopReason + ")");
console.log("                           Chorus " + cap(c) + " (stopped: " + c.stopReason + ")");
console.log("\nserver CPU us per delivered packet (p99 ms, loss %) per step:");
console.log(pad("subscribers", 11) + pad("Janus us", 11) + pad("Chorus us", 11) + pad("Chorus/Janus", 14) +
            pad("Janus p99", 11) + pad("Chorus p99", 12) + pad("Janus loss", 12) + pad("Chorus loss", 13) +
            pad("step J/C", 11));
const byN = new Map(c.steps.map((s) => [s.subscribers, s]));
const verdict = (s) => s ? (s.good ? "good" : "stop") : "-";
for (const js of j.steps) {
  const cs = byN.get(js.subscribers);
  const a = js.serverCpuUsPerPacket, b = cs ? cs.serverCpuUsPerPacket : undefined;
  const ratio = (typeof a === "number" && typeof b === "number" && a !== 0) ? (b / a).toFixed(3) : "-";
  console.log(pad(js.subscribers, 11) + pad(fmt(a, 2), 11) + pad(fmt(b, 2), 11) + pad(ratio, 14) +
              pad(fmt(js.latencyP99Ms, 3), 11) + pad(fmt(cs && cs.latencyP99Ms, 3), 12) +
              pad(fmt(js.lossPercent, 3), 12) + pad(fmt(cs && cs.lossPercent, 3), 13) +
              pad(verdict(js) + "/" + verdict(cs), 11));
}
for (const cs of c.steps)
  if (!j.steps.some((s) => s.subscribers === cs.subscribers))
    console.log(pad(cs.subscribers, 11) + pad("-", 11) + pad(fmt(cs.serverCpuUsPerPacket, 2), 11) + pad("-", 14) +
                pad("-", 11) + pad(fmt(cs.latencyP99Ms, 3), 12) + pad("-", 12) + pad(fmt(cs.lossPercent, 3), 13) +
                pad("-/" + verdict(cs), 11));
console.log("\n(target: " + j.target + " / " + c.target + "; ok: janus " + j.ok + ", chorus " + c.ok +
            "; Chorus/Janus < 1: Chorus spends less CPU per delivered packet at that step)");
' "$OUT/janus$SUFFIX.json" "$OUT/chorus$SUFFIX.json"
  [ "$janus_rc" = 0 ] && [ "$chorus_rc" = 0 ]
  exit
fi
node -e '
const fs = require("fs");
const j = JSON.parse(fs.readFileSync(process.argv[1])), c = JSON.parse(fs.readFileSync(process.argv[2]));
const rows = [
  ["delivered packets/s", (r) => r.delivered.packetsPerSec, 1],
  ["loss %", (r) => r.loss.percent, 3],
  ["latency p50 ms", (r) => r.latencyMs.p50, 3],
  ["latency p99 ms", (r) => r.latencyMs.p99, 3],
  ["latency max ms", (r) => r.latencyMs.max, 3],
  ["server CPU %", (r) => r.server.cpuPercent, 1],
  ["server CPU us per delivered packet", (r) => r.server.cpuUsPerPacket, 2],
  ["ratio to floor", (r) => r.server.cpuPerPacketRatioToFloor, 2],
  ["server RSS MiB", (r) => r.server.rssKiB / 1024, 1],
  ["server memory per consumer KiB", (r) => r.server.memoryPerConsumerKiB, 1],
  ["generator CPU %", (r) => r.client.cpuPercent, 1],
];
const fmt = (v, d) => (v === undefined || v === null || Number.isNaN(v)) ? "-" : Number(v).toFixed(d);
const pad = (s, n) => String(s).padStart(n);
console.log("\n" + "".padEnd(36) + pad("Janus", 12) + pad("Chorus", 12) + pad("Chorus/Janus", 14));
for (const [name, get, d] of rows) {
  let a, b;
  try { a = get(j); } catch { a = undefined; }
  try { b = get(c); } catch { b = undefined; }
  const ratio = (typeof a === "number" && typeof b === "number" && a !== 0) ? (b / a).toFixed(3) : "-";
  console.log(name.padEnd(36) + pad(fmt(a, d), 12) + pad(fmt(b, d), 12) + pad(ratio, 14));
}
console.log("\n(ok: janus " + j.ok + ", chorus " + c.ok + "; Chorus/Janus < 1 on CPU per packet and p99 is better for Chorus, > 1 on packets/s)");
' "$OUT/janus.json" "$OUT/chorus.json"
[ "$janus_rc" = 0 ] && [ "$chorus_rc" = 0 ]
