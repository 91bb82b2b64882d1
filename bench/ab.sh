#!/usr/bin/env bash
# Compares server builds in the same minutes (docs/performance.md): each round runs every
# build once, in an order that rotates from round to round, each run a fresh server on CPU 0
# and chorus-bench on CPU 1 with the floor measured in the same run. Prints one line per run:
# the build's name, us of server CPU per delivered packet, the ratio to the floor, loss, p99;
# then a summary (each build's mean and median; the others against the first, per round).
# usage: bench/ab.sh [--rounds N] [--range] NAME=SERVER_BINARY... -- CHORUS_BENCH_ARGS...
#   e.g. bench/ab.sh --rounds 8 base=build-nopgo/chorus pgo=build/chorus -- \
#          --scenario class --subscribers 20 --pace-factor 2.5
# --range: the servers use a port range instead of one shared port.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="${CHORUS_BENCH:-$ROOT/build/chorus-bench}"
rounds=3
range=0
builds=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --range) range=1; shift ;;
    --) shift; break ;;
    *=*) builds+=("$1"); shift ;;
    *) echo "bench/ab.sh: unexpected '$1' (NAME=BINARY expected before --)" >&2; exit 2 ;;
  esac
done
if [[ ${#builds[@]} -eq 0 || ! "$rounds" =~ ^[0-9]+$ ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
for b in "${builds[@]}" "bench=$BENCH"; do
  [[ -x "${b#*=}" ]] || { echo "bench/ab.sh: ${b#*=} is not an executable (build it first)" >&2; exit 1; }
done
command -v taskset >/dev/null || { echo "bench/ab.sh: needs taskset (util-linux)" >&2; exit 1; }
command -v timeout >/dev/null || { echo "bench/ab.sh: needs timeout (coreutils)" >&2; exit 1; }
command -v node >/dev/null || { echo "bench/ab.sh: needs node (scripts/setup.sh installs it)" >&2; exit 1; }
# shellcheck source=bench/lib/server.sh
source "$ROOT/bench/lib/server.sh"
work="$(mktemp -d /tmp/chorus-ab.XXXXXX)"
trap 'chorus_server_stop || true; rm -rf "$work"' EXIT
chorus_bench_config "$work/config.json"

port=${CHORUS_AB_PORT:-18800}
n=${#builds[@]}
for round in $(seq 1 "$rounds"); do
  echo "round $round" >>"$work/runs.txt"
  for j in $(seq 0 $((n - 1))); do
    b=${builds[$(((j + round) % n))]}
    name=${b%%=*}
    bin=${b#*=}
    port=$((port + 2))
    rtc=(--rtc-single-port $((port + 1)))
    [[ $range -eq 1 ]] && rtc=()
    rc=0
    if chorus_server_start "$work/server.log" taskset -c 0 "$bin" --listen "127.0.0.1:$port" \
      --log-level warn "${rtc[@]}" --config "$work/config.json"; then
      # (bounded: a class of 1000 takes about a minute; a hung run is killed and reported)
      timeout 600 taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$port" --server-pid "$CHORUS_SERVER_PID" --floor \
        --server-cpu 0 --busy-poll --duration-s 10 --json "$work/run.json" "$@" >"$work/bench.log" 2>&1 || rc=$?
    else
      rc=1
      cp "$work/server.log" "$work/bench.log"
    fi
    chorus_server_stop || true
    if [[ $rc -ne 0 ]]; then
      echo "$(date -u +%H:%M:%S) $name failed:"; tail -5 "$work/bench.log"
      continue
    fi
    node -e '
      const r = require(process.argv[1]), s = r.server || {};
      const f = (x, d) => (typeof x === "number" ? x.toFixed(d) : "-");
      console.log(`${process.argv[2]} ${process.argv[3]} us ${f(s.cpuUsPerPacket, 2)} ratio ${f(s.cpuPerPacketRatioToFloor, 2)} loss ${f(r.loss?.percent, 2)} p99 ${f(r.latencyMs?.p99, 2)}`);
    ' "$work/run.json" "$(date -u +%H:%M:%S)" "$name" | tee -a "$work/runs.txt"
  done
done
# The summary: each build's mean and median, and every other build against the first
# named, round by round (the same minutes): in how many rounds it was lower, and the median
# of its change.
node -e '
  const fs = require("fs");
  const names = process.argv.slice(2);
  const runs = {}; // name -> [{round, us, ratio}]
  let round = 0;
  for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
    const r = /^round (\d+)$/.exec(line);
    if (r) { round = Number(r[1]); continue; }
    const m = /^\S+ (\S+) us ([\d.]+) ratio ([\d.]+|-)/.exec(line);
    if (m) (runs[m[1]] ??= []).push({ round, us: Number(m[2]), ratio: Number(m[3]) });
  }
  const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
  console.log("summary (us per delivered packet):");
  for (const n of names) {
    const v = runs[n] ?? [];
    if (!v.length) { console.log(`  ${n}: no run succeeded`); continue; }
    const ratios = v.map((x) => x.ratio).filter(Number.isFinite);
    console.log(`  ${n}: ${v.length} runs, mean ${mean(v.map((x) => x.us)).toFixed(2)}, median ${median(v.map((x) => x.us)).toFixed(2)}` +
      (ratios.length ? `, ratio to the floor mean ${mean(ratios).toFixed(2)}x` : ""));
  }
  const base = names[0];
  for (const n of names.slice(1)) {
    const changes = [];
    for (const x of runs[n] ?? []) {
      const b = (runs[base] ?? []).find((y) => y.round === x.round);
      if (b) changes.push(x.us / b.us - 1);
    }
    if (!changes.length) continue;
    const lower = changes.filter((c) => c < 0).length;
    console.log(`  ${n} against ${base}: lower in ${lower} of ${changes.length} rounds, median change ${(100 * median(changes)).toFixed(1)} %`);
  }
' "$work/runs.txt" "${builds[@]%%=*}"
