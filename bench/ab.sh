#!/usr/bin/env bash
# Compares server builds in the same minutes (docs/performance.md): each round runs every
# build once, in an order that rotates from round to round, each run a fresh server on CPU 0
# and chorus-bench on CPU 1 with the floor measured in the same run. Prints one line per run:
# the build's name, us of server CPU per delivered packet, the ratio to the floor, loss, p99;
# then a summary (each build's mean and median; the others against the first, per round).
# With --scenario storm the figure is the server's CPU per join instead (no floor, a window
# of 2 s), and the line also says how many had audio and video within 3 s and the p99.
# usage: bench/ab.sh [--rounds N] [--range] NAME=SERVER_BINARY... -- CHORUS_BENCH_ARGS...
#   e.g. bench/ab.sh --rounds 8 base=build-nopgo/chorus pgo=build/chorus -- \
#          --scenario class --subscribers 20 --pace-factor 2.5
#        bench/ab.sh before=/tmp/before/build/chorus after=build/chorus -- --scenario storm \
#          --subscribers 1000 --subscriber-role viewer --threads 200 --decrypt-sample 10
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

storm=0
for a in "$@"; do [[ "$a" == storm ]] && storm=1; done
measure=(--floor --server-cpu 0 --busy-poll --duration-s 10)
[[ $storm -eq 1 ]] && measure=(--duration-s 2)
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
    rm -f "$work/run.json"
    if chorus_server_start "$work/server.log" taskset -c 0 "$bin" --listen "127.0.0.1:$port" \
      --log-level warn "${rtc[@]}" --config "$work/config.json"; then
      # (bounded: a class of 1000 takes about a minute; a hung run is killed and reported)
      timeout 600 taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$port" --server-pid "$CHORUS_SERVER_PID" \
        "${measure[@]}" --json "$work/run.json" "$@" >"$work/bench.log" 2>&1 || rc=$?
    else
      rc=1
      cp "$work/server.log" "$work/bench.log"
    fi
    chorus_server_stop || true
    # A storm's report stands even when not every subscriber kept all its media (the bench
    # then exits non-zero): the storm's own figures say how many got theirs.
    if [[ $rc -ne 0 && ( $storm -eq 0 || ! -s "$work/run.json" ) ]]; then
      echo "$(date -u +%H:%M:%S) $name failed:"; tail -5 "$work/bench.log"
      continue
    fi
    node -e '
      const r = require(process.argv[1]), s = r.server || {}, st = r.storm;
      const f = (x, d) => (typeof x === "number" ? x.toFixed(d) : "-");
      if (st) {
        const m = st.firstMedia || {};
        console.log(`${process.argv[2]} ${process.argv[3]} ms/join ${f(st.serverCpuMsPerJoin, 2)} joins alone ${f(st.setupCpuMsPerJoin, 2)} ` +
          `media ${st.withMedia}/${st.subscribers} within3s ${st.within3s} storm ${f(st.seconds, 2)} s p50 ${f(m.p50Ms, 0)} p99 ${f(m.p99Ms, 0)} ms`);
      } else {
        console.log(`${process.argv[2]} ${process.argv[3]} us ${f(s.cpuUsPerPacket, 2)} ratio ${f(s.cpuPerPacketRatioToFloor, 2)} loss ${f(r.loss?.percent, 2)} p99 ${f(r.latencyMs?.p99, 2)}`);
      }
    ' "$work/run.json" "$(date -u +%H:%M:%S)" "$name" | tee -a "$work/runs.txt"
  done
done
# The summary: each build's mean and median, and every other build against the first
# named, round by round (the same minutes): in how many rounds it was lower, and the median
# of its change.
node -e '
  const fs = require("fs");
  const names = process.argv.slice(2);
  const runs = {}; // name -> [{round, us, ratio}] (us: the figure, per packet or per join)
  let unit = "us per delivered packet";
  let round = 0;
  for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
    const r = /^round (\d+)$/.exec(line);
    if (r) { round = Number(r[1]); continue; }
    const m = /^\S+ (\S+) us ([\d.]+) ratio ([\d.]+|-)/.exec(line) || /^\S+ (\S+) ms\/join ([\d.]+)()/.exec(line);
    if (m) (runs[m[1]] ??= []).push({ round, us: Number(m[2]), ratio: m[3] ? Number(m[3]) : NaN });
    if (m && !m[3]) unit = "ms of server CPU per join";
  }
  const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
  console.log(`summary (${unit}):`);
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
