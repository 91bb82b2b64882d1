#!/usr/bin/env bash
# Join storms against server builds in the same minutes (docs/performance.md, "Join
# storm"): each round runs every build once, in an order that rotates from round to round,
# each run a fresh server on CPU 0 (the limits raised: bench/lib/server.sh) and
# chorus-bench --scenario storm on CPU 1. Prints one line per run: the build, subscribers
# with audio and video, within 3 s, the storm's seconds, first audio and video p50/p99, the
# server's CPU per join.
# usage: bench/storm.sh [--rounds N] NAME=SERVER_BINARY... -- CHORUS_BENCH_ARGS...
#   e.g. bench/storm.sh before=/tmp/before/build/chorus after=build/chorus -- \
#          --subscribers 1000 --subscriber-role viewer --threads 200 --decrypt-sample 10
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="${CHORUS_BENCH:-$ROOT/build/chorus-bench}"
rounds=1
builds=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --) shift; break ;;
    *=*) builds+=("$1"); shift ;;
    *) echo "bench/storm.sh: unexpected '$1' (NAME=BINARY expected before --)" >&2; exit 2 ;;
  esac
done
if [[ ${#builds[@]} -eq 0 || ! "$rounds" =~ ^[0-9]+$ ]]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
for b in "${builds[@]}" "bench=$BENCH"; do
  [[ -x "${b#*=}" ]] || { echo "bench/storm.sh: ${b#*=} is not an executable (build it first)" >&2; exit 1; }
done
# shellcheck source=bench/lib/server.sh
source "$ROOT/bench/lib/server.sh"
work="$(mktemp -d /tmp/chorus-storm.XXXXXX)"
trap 'chorus_server_stop || true; rm -rf "$work"' EXIT
chorus_bench_config "$work/config.json"

port=${CHORUS_STORM_PORT:-18900}
n=${#builds[@]}
for round in $(seq 1 "$rounds"); do
  for j in $(seq 0 $((n - 1))); do
    b=${builds[$(((j + round) % n))]}
    name=${b%%=*}
    bin=${b#*=}
    port=$((port + 2))
    rc=0
    if chorus_server_start "$work/server.log" taskset -c 0 "$bin" --listen "127.0.0.1:$port" \
      --log-level warn --rtc-single-port $((port + 1)) --config "$work/config.json"; then
      timeout 600 taskset -c 1 "$BENCH" --url "ws://127.0.0.1:$port" --server-pid "$CHORUS_SERVER_PID" \
        --scenario storm --duration-s 2 --json "$work/run.json" "$@" >"$work/bench.log" 2>&1 || rc=$?
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
      const r = require(process.argv[1]), s = r.storm || {}, m = s.firstMedia || {};
      const f = (x, d) => (typeof x === "number" ? x.toFixed(d) : "-");
      console.log(`${process.argv[2]} ${process.argv[3]} media ${s.withMedia}/${s.subscribers} within3s ${s.within3s} ` +
        `storm ${f(s.seconds, 2)} s p50 ${f(m.p50Ms, 0)} p99 ${f(m.p99Ms, 0)} ms cpu/join ${f(s.serverCpuMsPerJoin, 2)} ms`);
    ' "$work/run.json" "$(date -u +%H:%M:%S)" "$name"
  done
done
